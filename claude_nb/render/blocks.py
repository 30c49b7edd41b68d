"""Block cards: one renderer per block type, chosen through a dispatch table (block class
→ renderer; a class missing from the table falls back along its MRO, ending at the neutral
unknown card).

Live cards (`block_html(block, live=True)`, block not done) are skeletons that view ops
fill: `.cnb-md` receives `md` ops (empty: text arrives as deltas), `pre.cnb-json-live`
receives `json` ops (the raw input JSON streamed so far); a `final` op replaces the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..protocol.blocks import (
    Block,
    CompactionBlock,
    FallbackBlock,
    RedactedThinkingBlock,
    ServerToolResultBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    UnknownBlock,
)
from . import html as h
from .apicards import compaction_html, fallback_html
from .citations import (
    MARK_CLOSE,
    MARK_OPEN,
    STRIP_MARKS,
    Citations,
    cite_numbers,
    replace_marks,
    sources_html,
    with_marks,
)
from .context import Ctx, Renderer, ToolView, lookup
from .toolcards import server_result_html, tool_html

__all__ = [
    "HTML_RENDERERS", "KINDS", "block_html", "kind_of", "live_block_html", "text_run_html",
    "tool_card_html",
]


def _text_html(block: TextBlock, ctx: Ctx) -> str:
    return text_run_html([block], ctx)


def text_run_html(blocks: Sequence[TextBlock], ctx: Ctx) -> str:
    """Consecutive text blocks render as one Markdown document (the API splits answers at
    citation boundaries, often mid-sentence), with citation marks at block ends."""
    if ctx.live and not all(b.done for b in blocks):
        return h.el("div", h.el("div", "", class_="cnb-md"), class_="cnb-text")
    parts = [with_marks(b.text.translate(STRIP_MARKS), cite_numbers(b, ctx.cites),
                         lambda n: f"{MARK_OPEN}{n}{MARK_CLOSE}")
             for b in blocks]
    body = replace_marks(h.markdown_html("".join(parts)), ctx.cites)
    sources = sources_html(ctx.cites.take()) if ctx.list_sources else ""
    return h.el("div", h.el("div", body, class_="cnb-md") + sources, class_="cnb-text")


def _thinking_html(block: ThinkingBlock, ctx: Ctx) -> str:
    seconds = h.block_seconds(block)
    took = h.seconds(seconds) if seconds is not None else ""
    if ctx.live and not block.done:
        head = h.el("span", "", class_="cnb-spinner") + h.title("Thinking…") + h.timer(
            block.started_at)
        return h.card("cnb-thinking cnb-thinking-live", head, h.el("div", "", class_="cnb-md"),
                     open=True)
    if not block.thinking and block.signature:
        return h.card("cnb-thinking cnb-thinking-omitted",
                     h.title("Thinking omitted by the API") + h.sub(took), details=False)
    head = h.title(f"Thought for {took}" if took else "Thinking")
    if block.thinking and not block.signature:  # stopped or cut: never sent back
        head += h.sub("cut off, not sent back")
    return h.card("cnb-thinking", head, h.el("div", h.markdown_html(block.thinking),
                                          class_="cnb-md"))


def _redacted_html(block: RedactedThinkingBlock, ctx: Ctx) -> str:
    return h.card("cnb-redacted", h.title("Redacted thinking")
                 + h.sub("encrypted, sent back unchanged"), details=False)


def _unknown_html(block: Block, ctx: Ctx) -> str:
    raw = block.raw if isinstance(block, UnknownBlock) else {"type": block.type}
    deltas = block.deltas if isinstance(block, UnknownBlock) else []
    data = {"block": raw, "deltas": deltas} if deltas else raw
    return h.card("cnb-unknown", h.title("Unknown block type") + h.sub(block.type),
                 h.json_pre(data))


HTML_RENDERERS: dict[type[Block], Renderer] = {
    TextBlock: _text_html,
    ThinkingBlock: _thinking_html,
    RedactedThinkingBlock: _redacted_html,
    ToolUseBlock: tool_html,
    ServerToolUseBlock: tool_html,
    ServerToolResultBlock: server_result_html,
    CompactionBlock: compaction_html,
    FallbackBlock: fallback_html,
    UnknownBlock: _unknown_html,
    Block: _unknown_html,
}

KINDS: dict[type[Block], str] = {
    TextBlock: "text", ThinkingBlock: "thinking", RedactedThinkingBlock: "redacted_thinking",
    ToolUseBlock: "tool_use", ServerToolUseBlock: "server_tool_use",
    ServerToolResultBlock: "server_tool_result", CompactionBlock: "compaction",
    FallbackBlock: "notice", UnknownBlock: "unknown", Block: "unknown",
}


def kind_of(block: Block) -> str:
    """The view-op `kind` of a block (docs/architecture.md)."""
    return str(lookup(KINDS, block))


def block_html(block: Block, *, live: bool = False, cites: Citations | None = None,
               tool: ToolView | None = None) -> str:
    """The card of one block: final, or (`live=True`, block not done) the skeleton that view
    ops fill. With `cites` shared across a turn, citation numbers continue and no Sources
    list is appended (the caller shows `cites.sources`); without, the block numbers its
    own and lists them. `tool` is the session's state of a tool call."""
    tools = {block.id: tool} if tool is not None and isinstance(block, ToolUseBlock) else {}
    ctx = Ctx(live=live, cites=cites or Citations(), list_sources=cites is None, tools=tools)
    return str(lookup(HTML_RENDERERS, block)(block, ctx))


def live_block_html(block: Block) -> str:
    return block_html(block, live=True)


def tool_card_html(block: ToolUseBlock, status: str, outcome: Any = None, *,
                   started_at: float | None = None) -> str:
    """A tool card for a session `ToolChanged` event (`outcome`: a `ToolOutcome` or None)."""
    return block_html(block, tool=ToolView.from_outcome(status, outcome, started_at=started_at))
