"""Static documents: a whole turn, reply or conversation as HTML for saved notebooks and
nbconvert (blocks in order, text runs merged, citations numbered across the turn, the error
card, the footer), plus the scoped stylesheet for pages that embed it (the HTML export).

Saved outputs carry no `<style>`: sanitizers that drop or escape tags keep their text
(`nbconvert --sanitize-html` showed the CSS above every answer; GitHub strips it), so a saved
output is plain semantic HTML (`<details>`/`<summary>` cards, `<pre>`, lists, a footer line)
that reads well unstyled, and in a live session the widget's stylesheet, which carries these
`.cnb-static` rules too (`view.LiveView._css`), styles every saved output on the page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..protocol.status import ReplyStatus
from ..protocol.blocks import (
    Block,
    ServerToolResultBlock,
    TextBlock,
)
from ..protocol.transcript import Turn
from . import html as h
from .blocks import HTML_RENDERERS, text_run_html
from .context import Ctx, Renderer, ToolView, lookup
from .errorcards import empty_notice_html, error_card, unknown_event_html
from .footer import footer_html
from .stylesheet import static_css

__all__ = [
    "Doc", "history_html", "prompt_text", "render_blocks", "reply_doc", "reply_footer_html",
    "reply_html", "static_style", "turn_html", "user_html", "wrap_static",
]


def static_style(html: str | None = None) -> str:
    """The `<style>` for a static output holding `html` (`stylesheet.static_css`: scoped
    under `.cnb-static`, only the rules its classes use; None: every rule)."""
    return f"<style>{static_css(html)}</style>"


def wrap_static(html: str) -> str:
    """Safe card HTML as a standalone static output (no `<style>`: see the module doc)."""
    return h.el("div", html, class_="cnb-turn cnb-static")


def _runs(blocks: Sequence[Block]) -> Iterator[tuple[bool, list[Any]]]:
    """Consecutive text blocks grouped; every other block alone."""
    for is_text, group in itertools.groupby(blocks, key=lambda b: type(b) is TextBlock):
        if is_text:
            yield True, list(group)
        else:
            yield from ((False, [b]) for b in group)


def render_blocks(turns: Sequence[Turn], ctx: Ctx, run: Callable[[list[Any], Ctx], str],
                   table: Mapping[type[Block], Renderer]) -> list[str]:
    parts = []
    for turn in turns:
        for is_text, group in _runs(turn.blocks):
            if not is_text:
                parts.append(lookup(table, group[0])(group[0], ctx))
            elif any(b.text.strip() for b in group):
                parts.append(run(group, ctx))
    return parts


@dataclass(frozen=True)
class Doc:
    """What a static rendering of one or more turns needs."""

    turns: Sequence[Turn]
    footer: bool = True
    demo: bool = False
    stopped: bool | str = False
    error: Any = None
    tools: Mapping[str, ToolView] | None = None

    def ctx(self) -> Ctx:
        results = {b.tool_use_id: b for t in self.turns for b in t.blocks
                   if isinstance(b, ServerToolResultBlock)}
        ended = bool(self.stopped) or self.error is not None or all(
            t.finished_at is not None for t in self.turns)
        return Ctx(tools=self.tools or {}, results=results, ended=ended)

    @property
    def answered_empty(self) -> bool:
        """An answer that ended normally with nothing to show (callers check the blocks)."""
        return bool(self.turns) and self.error is None and not self.stopped

    def footer_flags(self) -> dict[str, Any]:
        return {"demo": self.demo, "stopped": self.stopped, "failed": self.error is not None}


def _doc_html(doc: Doc, standalone: bool) -> str:
    parts: list[str] = []
    blocks = render_blocks(doc.turns, doc.ctx(), text_run_html, HTML_RENDERERS)
    parts += blocks
    parts += [unknown_event_html(u.type, u.raw) for t in doc.turns for u in t.unknown_events]
    if not blocks and doc.answered_empty:
        parts.append(empty_notice_html())
    if doc.error is not None:
        parts.append(error_card(doc.error))
    if doc.footer:
        parts.append(footer_html(list(doc.turns), **doc.footer_flags()))
    if not standalone:
        return h.el("div", "".join(parts), class_="cnb-turn")
    return wrap_static("".join(parts))


def turn_html(turn: Turn, *, footer: bool = True, demo: bool = False,
              stopped: bool | str = False, error: Any = None, standalone: bool = False,
              tools: Mapping[str, ToolView] | None = None) -> str:
    """The static HTML of a whole turn in `<div class="cnb-turn">`: blocks in order (text
    runs merged, citations numbered across the turn), then the error card, then the footer.

    `error`: an exception, a mapping / object with title, message, request_id, hint, or a
    message string (never HTML). `tools`: tool_use id → `ToolView`. `standalone` makes it a
    saved output of its own (the class `cnb-static`, which the stylesheets scope to).
    """
    return _doc_html(Doc([turn], footer, demo, stopped, error, tools), standalone)


def reply_doc(reply: Any, *, footer: bool = True, demo: bool = False) -> Doc:
    """A `claude_nb.run.session.Reply`: all its turns, tool results, stop and error."""
    tools = {tid: ToolView.from_outcome(o.status, o) for tid, o in reply.tool_outcomes.items()}
    stopped = (reply.stop_reason_user or True) if reply.status == ReplyStatus.STOPPED else False
    return Doc(list(reply.turns), footer, demo, stopped, reply.error, tools)


def reply_html(reply: Any, *, demo: bool = False, standalone: bool = False,
               footer: bool = True) -> str:
    """Static HTML of a whole reply (every turn of a tool loop, one footer with totals)."""
    return _doc_html(reply_doc(reply, footer=footer, demo=demo), standalone)


def reply_footer_html(reply: Any, *, demo: bool = False) -> str:
    doc = reply_doc(reply, demo=demo)
    return footer_html(list(doc.turns), **doc.footer_flags())


def prompt_text(prompt: Any) -> str:
    """A user prompt (str or API content blocks) as text."""
    if isinstance(prompt, str):
        return prompt
    parts = []
    for block in prompt if isinstance(prompt, list) else [prompt]:
        kind = block.get("type") if isinstance(block, Mapping) else None
        parts.append(str(block.get("text", "")) if kind == "text" else f"[{kind or 'content'}]")
    return "\n".join(parts)


def user_html(prompt: Any) -> str:
    """The user's prompt as shown above its reply (escaped, never Markdown)."""
    return h.el("div", h.esc(prompt_text(prompt)), class_="cnb-user")


def history_html(conversation: Any) -> str:
    """Every prompt and reply of a `Conversation`, as one standalone static output."""
    parts = []
    for reply in conversation.replies:
        parts.append(user_html(reply.prompt))
        parts.append(reply_html(reply, demo=bool(getattr(reply.backend, "demo", False))))
    return wrap_static("".join(parts))
