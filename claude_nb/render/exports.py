"""Markdown and plain-text exports of a turn, reply or conversation (the text/markdown and
text/plain parts of saved outputs, and the chat's export).

text/markdown outputs are rendered WITHOUT sanitising by front ends that pick them (raw
HTML runs in a trusted session), so model Markdown goes through `sanitize.defang_markdown`
first; names and titles are escaped as literal inline Markdown (`md_escape`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol.redact import redact
from ..protocol.blocks import (
    Block,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
)
from ..protocol.transcript import Turn
from . import apicards
from . import html as h
from .citations import Source, cite_numbers, with_marks
from .context import Ctx, Renderer, ToolView
from .errorcards import EMPTY_ANSWER, error_info
from .footer import footer_text
from .sanitize import defang_markdown, defuse_tex_links, safe_url
from .static import Doc, prompt_text, render_blocks, reply_doc
from .toolcards import STATUS_LABELS, server_tool_name

__all__ = [
    "MARKDOWN_RENDERERS", "PLAIN_RENDERERS", "history_markdown", "history_plain",
    "reply_markdown", "reply_plain", "turn_markdown", "turn_plain",
]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!|~$])")
_STRIP_MD_MARKS = {0: None, 1: None}


def _md_escape(text: str) -> str:
    """Model text as literal inline Markdown (one line, no syntax, no HTML, no TeX link)."""
    text = defuse_tex_links(" ".join(str(text).split()), markup=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("&", "&amp;").replace("<", "&lt;")


def _md_fence(text: str, info: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _md_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def _md_source(s: Source) -> str:
    title = _md_escape(s.title)
    link = f"[{title}]({_md_url(s.url)})" if s.url else title
    quotes = "".join(f"\n   > {_md_escape(q)}" for q in s.quotes)
    return f"{s.number}. {link}{quotes}"


def _text_run_md(blocks: Sequence[TextBlock], ctx: Ctx) -> str:
    """Defang the run with control-character marks in it, then write them as `\\[n\\]`
    (escaped, so a mark can never become a link's text after defanging)."""
    parts = [with_marks(b.text.translate(_STRIP_MD_MARKS), cite_numbers(b, ctx.cites),
                         lambda n: f"\x00{n}\x01")
             for b in blocks]
    body = re.sub("\x00(\\d+)\x01", r"\\[\1\\]", defang_markdown("".join(parts)))
    sources = ctx.cites.take()
    if sources:
        body += "\n\n**Sources**\n\n" + "\n".join(_md_source(s) for s in sources)
    return body


def _thinking_md(block: ThinkingBlock, ctx: Ctx) -> str:
    seconds = h.block_seconds(block)
    if not block.thinking and block.signature:
        return "> *Thinking omitted by the API*"
    head = f"> **Thought for {h.seconds(seconds)}**" if seconds is not None else "> **Thinking**"
    return head + ("\n>\n" + _quote(defang_markdown(block.thinking)) if block.thinking else "")


def _redacted_md(block: RedactedThinkingBlock, ctx: Ctx) -> str:
    return "> *Redacted thinking (encrypted, sent back unchanged)*"


def _tool_md(block: ToolUseBlock, ctx: Ctx) -> str:
    view = ctx.tool_status(block)
    kind = "Server tool" if isinstance(block, ServerToolUseBlock) else "Tool call"
    status = STATUS_LABELS.get(view.status, view.status)
    head = f"**{kind}: {_md_escape(block.name or block.type)}** ({_md_escape(status)})"
    data = (h.json_text(block.input) if block.input is not None
            else block.input_json + "\n(incomplete: the input never parsed)")
    out = f"{head}\n\n{_md_fence(data, 'json')}"
    if view.result_text:
        out += f"\n\nResult:\n\n{_md_fence(view.result_text)}"
    return out


def _server_result_md(block: ServerToolResultBlock, ctx: Ctx) -> str:
    name = _md_escape(server_tool_name(block))
    if block.is_error:
        return f"*{name} error: {_md_escape(str(block.content.get('error_code', 'unknown')))}*"
    if block.type != "web_search_tool_result" or not isinstance(block.content, list):
        return f"*{_md_escape(block.type)}*\n\n{_md_fence(h.json_text(block.content), 'json')}"
    lines = [f"*{name} results:*", ""]
    for item in block.content:
        item = item if isinstance(item, Mapping) else {"title": str(item)}
        url = safe_url(item.get("url"))
        title = _md_escape(str(item.get("title") or item.get("url") or "untitled"))
        link = f"[{title}]({_md_url(url)})" if url else title
        age = f" ({_md_escape(str(item['page_age']))})" if item.get("page_age") else ""
        lines.append(f"- {link}{age}")
    return "\n".join(lines)


def _unknown_md(block: Block, ctx: Ctx) -> str:
    return f"*Unknown block type: {_md_escape(block.type)}*"


MARKDOWN_RENDERERS: dict[type[Block], Renderer] = {
    TextBlock: lambda b, ctx: _text_run_md([b], ctx),
    ThinkingBlock: _thinking_md,
    RedactedThinkingBlock: _redacted_md,
    ToolUseBlock: _tool_md,
    ServerToolUseBlock: _tool_md,
    ServerToolResultBlock: _server_result_md,
    **{cls: (lambda f: lambda b, ctx: "*" + _md_escape(f(b, ctx)) + "*")(fn)
       for cls, fn in apicards.plain_renderers().items()},
    UnknownBlock: _unknown_md,
    Block: _unknown_md,
}


def _doc_markdown(doc: Doc) -> str:
    parts = render_blocks(doc.turns, doc.ctx(), _text_run_md, MARKDOWN_RENDERERS)
    if not parts and doc.answered_empty:
        parts.append("*" + _md_escape(EMPTY_ANSWER) + "*")
    if doc.error is not None:
        info = error_info(doc.error)
        line = f"**{_md_escape(redact(info.title))}:** {_md_escape(redact(info.message))}"
        if info.request_id:
            line += f" (request id {_md_escape(info.request_id)})"
        parts.append(line)
    if doc.footer:
        parts.append("*" + _md_escape(footer_text(list(doc.turns), **doc.footer_flags())) + "*")
    return "\n\n".join(p for p in parts if p)


def turn_markdown(turn: Turn, *, footer: bool = True, demo: bool = False,
                  stopped: bool | str = False, error: Any = None,
                  tools: Mapping[str, ToolView] | None = None) -> str:
    """text/markdown of a turn: the answer's Markdown (defanged, see above), thinking as a
    blockquote, tool calls as fenced JSON, sources, error and footer lines."""
    return _doc_markdown(Doc([turn], footer, demo, stopped, error, tools))


def reply_markdown(reply: Any, *, demo: bool = False, footer: bool = True) -> str:
    return _doc_markdown(reply_doc(reply, footer=footer, demo=demo))


# ---------------------------------------------------------------- plain text


def _text_run_plain(blocks: Sequence[TextBlock], ctx: Ctx) -> str:
    text = "".join(with_marks(b.text, cite_numbers(b, ctx.cites), lambda n: f"[{n}]")
                   for b in blocks)
    sources = ctx.cites.take()
    if sources:
        text += "\n\nSources:\n" + "\n".join(
            f"[{s.number}] {s.title}" + (f" <{s.url}>" if s.url else "") for s in sources)
    return text


def _thinking_plain(block: ThinkingBlock, ctx: Ctx) -> str:
    seconds = h.block_seconds(block)
    if not block.thinking and block.signature:
        return "[thinking omitted by the API]"
    return f"[thought for {h.seconds(seconds)}]" if seconds is not None else "[thinking]"


def _tool_plain(block: ToolUseBlock, ctx: Ctx) -> str:
    view = ctx.tool_status(block)
    data = (json.dumps(block.input, ensure_ascii=False, default=str) if block.input is not None
            else block.input_json + " (incomplete)")
    out = f"[{block.type}: {block.name} {data}] ({STATUS_LABELS.get(view.status, view.status)})"
    return out + (f"\n{view.result_text}" if view.result_text else "")


def _server_result_plain(block: ServerToolResultBlock, ctx: Ctx) -> str:
    if block.is_error:
        return f"[{server_tool_name(block)} error: {block.content.get('error_code', 'unknown')}]"
    if block.type != "web_search_tool_result" or not isinstance(block.content, list):
        return f"[{block.type}]"
    items = [i for i in block.content if isinstance(i, Mapping)]
    return "[web_search results]\n" + "\n".join(
        f"- {i.get('title') or ''} <{i.get('url') or ''}>" for i in items)


def _unknown_plain(block: Block, ctx: Ctx) -> str:
    return f"[unknown block type {block.type}]"


PLAIN_RENDERERS: dict[type[Block], Renderer] = {
    TextBlock: lambda b, ctx: _text_run_plain([b], ctx),
    ThinkingBlock: _thinking_plain,
    RedactedThinkingBlock: lambda b, ctx: "[redacted thinking]",
    ToolUseBlock: _tool_plain,
    ServerToolUseBlock: _tool_plain,
    ServerToolResultBlock: _server_result_plain,
    **apicards.plain_renderers(),
    UnknownBlock: _unknown_plain,
    Block: _unknown_plain,
}


def _doc_plain(doc: Doc) -> str:
    parts = render_blocks(doc.turns, doc.ctx(), _text_run_plain, PLAIN_RENDERERS)
    if not parts and doc.answered_empty:
        parts.append(EMPTY_ANSWER)
    if doc.error is not None:
        info = error_info(doc.error)
        parts.append(f"Error: {redact(info.title)}: {redact(info.message)}"
                     + (f" (request id {info.request_id})" if info.request_id else ""))
    if doc.footer:
        parts.append(footer_text(list(doc.turns), **doc.footer_flags()))
    return "\n\n".join(p for p in parts if p)


def turn_plain(turn: Turn, *, footer: bool = True, demo: bool = False,
               stopped: bool | str = False, error: Any = None,
               tools: Mapping[str, ToolView] | None = None) -> str:
    """text/plain of a turn: the answer verbatim, other blocks as bracketed one-liners."""
    return _doc_plain(Doc([turn], footer, demo, stopped, error, tools))


def reply_plain(reply: Any, *, demo: bool = False, footer: bool = True) -> str:
    return _doc_plain(reply_doc(reply, footer=footer, demo=demo))


def history_plain(conversation: Any) -> str:
    parts = []
    for reply in conversation.replies:
        parts.append("> " + prompt_text(reply.prompt).replace("\n", "\n> "))
        parts.append(reply_plain(reply))
    return "\n\n".join(parts)


def history_markdown(conversation: Any) -> str:
    """The conversation as a Markdown document (the chat's export)."""
    parts = []
    for reply in conversation.replies:
        parts.append("**You:**\n\n" + prompt_text(reply.prompt))
        parts.append("**Claude:**\n\n" + reply_markdown(reply))
    return "\n\n---\n\n".join(parts) + "\n"
