"""The UI-neutral transcript: SDK stream events in, blocks and change values out.

`Turn.apply(event, now)` is the one translation of the wire format, shared by the sync and
async run paths. It is pure (time is passed in), accepts the SDK's pydantic events or any
object with the same attributes (unknown events arrive as loose objects), and never raises
on an event or block type it does not know: those become `UnknownBlock`s or `UnknownEvent`
changes that renderers show as neutral cards.

The block values are in `protocol/blocks.py`, the change values in `protocol/changes.py`;
this module holds the turn, its usage, and the event -> handler and (block, delta) ->
handler tables that `apply` dispatches through (one dict lookup per event and per delta).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import throughput
from .blocks import (
    TOOL_RESULT_SUFFIX, Block, CompactionBlock, FallbackBlock, RedactedThinkingBlock,
    ServerToolUseBlock, TextBlock, ThinkingBlock, ToolUseBlock, UnknownBlock, field_of,
    new_block, plain,
)
from .changes import (
    BlockDelta, BlockFinished, BlockStarted, Change, TurnFinished, TurnStarted, UnknownEvent,
    UsageUpdated,
)

__all__ = ["Turn", "Usage"]


def _grow(obj: Any, name: str, text: str) -> None:
    """`obj.<name> += text` without copying the whole string on every delta (quadratic: 1.4 s
    of memcpy for a 500 KB answer in 20-char deltas). With the attribute emptied first the
    local is the only reference, so CPython extends the string in place."""
    value = getattr(obj, name)
    setattr(obj, name, "")
    try:
        value += text
    finally:
        setattr(obj, name, value)


# ---------------------------------------------------------------- usage


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_creation_1h: int = 0  # of the cache writes, those kept for 1 h (the rest: 5 min)
    server_tool_use: dict[str, int] = field(default_factory=dict)

    def update(self, usage: Any) -> None:
        """Fold in a usage object; message_delta counts are cumulative, so assign, not add."""
        if usage is None:
            return
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                     "cache_creation_input_tokens"):
            value = field_of(usage, name)
            if isinstance(value, int):
                setattr(self, name, value)
        hour = field_of(field_of(usage, "cache_creation"), "ephemeral_1h_input_tokens")
        if isinstance(hour, int):
            self.cache_creation_1h = hour
        stu = plain(field_of(usage, "server_tool_use"))
        if isinstance(stu, dict):
            self.server_tool_use = {k: v for k, v in stu.items() if isinstance(v, int)}

    def add(self, other: Usage) -> None:
        """Sum across the turns of one tool loop."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens
        self.cache_creation_1h += other.cache_creation_1h
        for k, v in other.server_tool_use.items():
            self.server_tool_use[k] = self.server_tool_use.get(k, 0) + v


# ---------------------------------------------------------------- turn


@dataclass(eq=False)
class Turn:
    """One assistant message as it streams: blocks, usage, stop reason and timings.

    Times are seconds on any monotonic clock, supplied by the caller.
    """

    requested_at: float = 0.0
    message_id: str = ""
    model: str = ""
    blocks: list[Block] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    stop_reason: str | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    first_event_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    ended: bool = False  # message_stop seen
    prefill: str = ""  # assistant prefill: the first text block continues it
    request_id: str = ""  # the response's `request-id` header (set by the run loop)
    unknown_events: list[UnknownEvent] = field(default_factory=list)  # shown, never sent
    notes: list[str] = field(default_factory=list)  # about its request, e.g. a setting
    # converted to the form the model accepts (shown with the footer)
    _by_index: dict[int, Block] = field(default_factory=dict, repr=False)

    # ---- applying events

    def apply(self, event: Any, now: float) -> list[Change]:
        """Fold one stream event into the turn and say what changed."""
        if self.first_event_at is None:
            self.first_event_at = now
        etype = field_of(event, "type")
        handler = _HANDLERS.get(etype) if isinstance(etype, str) else None
        if handler is None:
            if etype == "ping":
                return []
            unknown = UnknownEvent(str(etype), plain(event) or {})
            self.unknown_events.append(unknown)
            return [unknown]
        return handler(self, event, now)

    def _on_message_start(self, event: Any, now: float) -> list[Change]:
        msg = field_of(event, "message")
        self.message_id = field_of(msg, "id", "") or ""
        self.model = field_of(msg, "model", "") or ""
        self.usage.update(field_of(msg, "usage"))
        changes: list[Change] = [TurnStarted(self.message_id, self.model), UsageUpdated(self.usage)]
        for cb in field_of(msg, "content") or []:  # normally empty; honour it when not
            changes.extend(self._start_block(len(self.blocks), cb, now))
        return changes

    def _on_block_start(self, event: Any, now: float) -> list[Change]:
        return self._start_block(int(field_of(event, "index", len(self.blocks))),
                                 field_of(event, "content_block"), now)

    def _start_block(self, index: int, cb: Any, now: float) -> list[Change]:
        block = new_block(index, cb, now)
        if index in self._by_index:  # a repeated index: keep both, never lose content
            index = max(self._by_index) + 1
            block.index = index
        self._by_index[index] = block
        self.blocks.append(block)
        changes: list[Change] = [BlockStarted(block)]
        if isinstance(block, TextBlock) and self.prefill:
            block.text = self.prefill + block.text
            self.prefill = ""
        if isinstance(block, TextBlock) and block.text:
            self._first_token(now)
            changes.append(BlockDelta(block, "text", block.text))
        return changes

    def _block_for(self, event: Any, now: float) -> Block:
        index = int(field_of(event, "index", -1))
        block = self._by_index.get(index)
        if block is None:  # delta for a block never started: make a neutral one
            block = UnknownBlock(index=index, type="unknown", started_at=now)
            self._by_index[index] = block
            self.blocks.append(block)
        return block

    def _on_block_delta(self, event: Any, now: float) -> list[Change]:
        block = self._block_for(event, now)
        delta = field_of(event, "delta")
        dtype = field_of(delta, "type")
        fn = _DELTAS.get((type(block), dtype)) if isinstance(dtype, str) else None
        if fn is None:
            if isinstance(block, UnknownBlock):
                block.deltas.append(plain(delta) or {})
            return [BlockDelta(block, "unknown", json.dumps(plain(delta), default=str))]
        return fn(self, block, delta, now)

    def _first_token(self, now: float) -> None:
        if self.first_token_at is None:
            self.first_token_at = now

    def _delta_text(self, block: TextBlock, delta: Any, now: float) -> list[Change]:
        text = field_of(delta, "text", "") or ""
        _grow(block, "text", text)
        self._first_token(now)
        return [BlockDelta(block, "text", text)]

    def _delta_citation(self, block: TextBlock, delta: Any, now: float) -> list[Change]:
        citation = plain(field_of(delta, "citation")) or {}
        block.citations.append(citation)
        return [BlockDelta(block, "citation", json.dumps(citation, default=str))]

    def _delta_thinking(self, block: ThinkingBlock, delta: Any, now: float) -> list[Change]:
        text = field_of(delta, "thinking", "") or ""
        _grow(block, "thinking", text)
        self._first_token(now)
        return [BlockDelta(block, "thinking", text)]

    def _delta_signature(self, block: ThinkingBlock, delta: Any, now: float) -> list[Change]:
        block.signature = field_of(delta, "signature", "") or ""
        return [BlockDelta(block, "signature", "")]

    def _delta_compaction(self, block: CompactionBlock, delta: Any, now: float) -> list[Change]:
        """A summary may arrive in pieces: both fields are appended."""
        text = field_of(delta, "content")
        if isinstance(text, str):
            block.content = (block.content or "") + text
        state = field_of(delta, "encrypted_content")
        if isinstance(state, str):
            block.encrypted_content = (block.encrypted_content or "") + state
        return [BlockDelta(block, "compaction", text or "")]

    def _delta_json(self, block: ToolUseBlock, delta: Any, now: float) -> list[Change]:
        text = field_of(delta, "partial_json", "") or ""
        _grow(block, "input_json", text)
        self._first_token(now)
        return [BlockDelta(block, "input_json", text)]

    def _on_block_stop(self, event: Any, now: float) -> list[Change]:
        block = self._block_for(event, now)
        return self._finish_block(block, now)

    def _finish_block(self, block: Block, now: float) -> list[Change]:
        if block.done:
            return []
        if isinstance(block, ToolUseBlock):
            block.parse_input()
        block.done = True
        block.finished_at = now
        return [BlockFinished(block)]

    def _on_message_delta(self, event: Any, now: float) -> list[Change]:
        delta = field_of(event, "delta")
        self.stop_reason = field_of(delta, "stop_reason") or self.stop_reason
        self.stop_sequence = field_of(delta, "stop_sequence") or self.stop_sequence
        details = field_of(delta, "stop_details")
        if details is not None:
            self.stop_details = plain(details)
        self.usage.update(field_of(event, "usage"))
        return [UsageUpdated(self.usage)]

    def _on_message_stop(self, event: Any, now: float) -> list[Change]:
        self.ended = True
        return self.close(now)

    # ---- ending

    def close(self, now: float) -> list[Change]:
        """End the turn (message_stop, a stop, an error): open blocks end as they are.

        A block cut without `content_block_stop` (max_tokens inside a tool input) is marked
        done but keeps `input=None`, so it is never sent back half-parsed.
        """
        if self.finished_at is not None:
            return []
        changes: list[Change] = []
        for block in self.blocks:
            if not block.done:
                cut = isinstance(block, ToolUseBlock) and not self.ended
                changes.extend(self._finish_block(block, now))
                if isinstance(block, ToolUseBlock) and (cut or self.stop_reason == "max_tokens"):
                    block.input = None
        self.finished_at = now
        changes.append(TurnFinished(self.stop_reason, self.stop_sequence))
        return changes

    # ---- reading

    @property
    def truncated(self) -> bool:
        """The stream ended (or was stopped) before `message_stop`."""
        return self.finished_at is not None and not self.ended

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """Client tool calls that are complete and may be run."""
        return [b for b in self.blocks
                if type(b) is ToolUseBlock and b.done and b.input is not None]

    @property
    def ttfb(self) -> float | None:
        """Seconds from request to the first event (message_start)."""
        return None if self.first_event_at is None else self.first_event_at - self.requested_at

    @property
    def ttft(self) -> float | None:
        """Seconds from request to the first content delta."""
        return None if self.first_token_at is None else self.first_token_at - self.requested_at

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.requested_at

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens per second of generation (`protocol.throughput`)."""
        return throughput.tokens_per_second([self])

    def _after_fallback(self) -> list[Block]:
        """Blocks to send back: before the last `fallback` block only thinking and markers
        stay (the declined model's text and calls are not part of the answer)."""
        cut = max((i for i, b in enumerate(self.blocks) if isinstance(b, FallbackBlock)),
                  default=0)
        keep = (ThinkingBlock, RedactedThinkingBlock, CompactionBlock, FallbackBlock)
        return [b for b in self.blocks[:cut] if isinstance(b, keep)] + self.blocks[cut:]

    @property
    def fallback(self) -> FallbackBlock | None:
        """The last model hand-over in this turn, if any."""
        return next((b for b in reversed(self.blocks) if isinstance(b, FallbackBlock)), None)

    @property
    def refusal(self) -> dict[str, Any] | None:
        """`stop_details` of a refusal (`category`, `explanation`, either may be None)."""
        if self.stop_reason != "refusal":
            return None
        return self.stop_details or {"type": "refusal", "category": None, "explanation": None}

    def content_params(self) -> list[dict[str, Any]]:
        """The assistant content to keep in history: only blocks the API accepts back.

        A server tool call without its result is dropped with that result.
        """
        params = [p for b in self._after_fallback() if (p := b.to_param()) is not None]
        result_ids = {p["tool_use_id"] for p in params
                      if p["type"].endswith(TOOL_RESULT_SUFFIX)}
        calls = ("server_tool_use", "mcp_tool_use")
        return [p for p in params if not (p["type"] in calls and p["id"] not in result_ids)]


_HANDLERS = {
    "message_start": Turn._on_message_start,
    "content_block_start": Turn._on_block_start,
    "content_block_delta": Turn._on_block_delta,
    "content_block_stop": Turn._on_block_stop,
    "message_delta": Turn._on_message_delta,
    "message_stop": Turn._on_message_stop,
}

_DELTAS: dict[tuple[type[Block], str], Callable[[Turn, Any, Any, float], list[Change]]] = {
    (TextBlock, "text_delta"): Turn._delta_text,
    (TextBlock, "citations_delta"): Turn._delta_citation,
    (ThinkingBlock, "thinking_delta"): Turn._delta_thinking,
    (ThinkingBlock, "signature_delta"): Turn._delta_signature,
    (ToolUseBlock, "input_json_delta"): Turn._delta_json,
    (ServerToolUseBlock, "input_json_delta"): Turn._delta_json,
    (CompactionBlock, "compaction_delta"): Turn._delta_compaction,
}
