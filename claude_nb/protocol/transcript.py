"""The UI-neutral transcript: SDK stream events in, blocks and change values out.

`Turn.apply(event, now)` is the one translation of the wire format, shared by the sync and
async run paths. It is pure (time is passed in), accepts the SDK's pydantic events or any
object with the same attributes (unknown events arrive as loose objects), and never raises
on an event or block type it does not know: those become `UnknownBlock`s or `UnknownEvent`
changes that renderers show as neutral cards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from . import throughput

__all__ = [
    "Block", "TextBlock", "ThinkingBlock", "RedactedThinkingBlock", "ToolUseBlock",
    "ServerToolUseBlock", "ServerToolResultBlock", "CompactionBlock", "FallbackBlock",
    "UnknownBlock", "Usage", "Turn",
    "Change", "TurnStarted", "BlockStarted", "BlockDelta", "BlockFinished", "UsageUpdated",
    "TurnFinished", "UnknownEvent",
]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access: SDK models, loose objects and plain dicts look alike here."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


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


def _plain(obj: Any) -> Any:
    """A JSON-able copy of an SDK object (used once per block start, never per delta)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    dump = getattr(obj, "to_dict", None) or getattr(obj, "model_dump", None)
    if dump is not None:
        try:
            return dump()
        except TypeError:
            pass
    if hasattr(obj, "__dict__"):
        return {k: _plain(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


# ---------------------------------------------------------------- blocks


@dataclass(eq=False)
class Block:
    """One content block of an assistant turn, in the order the API numbered them."""

    index: int
    type: str
    done: bool = False
    started_at: float = 0.0
    finished_at: float | None = None

    def to_param(self) -> dict[str, Any] | None:
        """The block as sent back to the API, or None when it must not be (incomplete)."""
        return None


@dataclass(eq=False)
class TextBlock(Block):
    text: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)

    def to_param(self) -> dict[str, Any] | None:
        # The API rejects empty and whitespace-only text blocks.
        return {"type": "text", "text": self.text} if self.text.strip() else None


@dataclass(eq=False)
class ThinkingBlock(Block):
    thinking: str = ""
    signature: str = ""

    def to_param(self) -> dict[str, Any] | None:
        # The API rejects thinking sent back without its signature (it arrives last).
        if not self.signature:
            return None
        return {"type": "thinking", "thinking": self.thinking, "signature": self.signature}


@dataclass(eq=False)
class RedactedThinkingBlock(Block):
    data: str = ""

    def to_param(self) -> dict[str, Any] | None:
        return {"type": "redacted_thinking", "data": self.data}


@dataclass(eq=False)
class ToolUseBlock(Block):
    """A client tool call; `input_json` grows while streaming, `input` is set once parsed."""

    id: str = ""
    name: str = ""
    input_json: str = ""
    input: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def parse_input(self) -> None:
        """Parse the streamed JSON; leaves `input` None when it is cut or malformed."""
        try:
            value = json.loads(self.input_json) if self.input_json.strip() else {}
        except ValueError:
            return
        if isinstance(value, dict):
            self.input = value

    def to_param(self) -> dict[str, Any] | None:
        if not self.done or self.input is None:
            return None
        return {"type": self.type, "id": self.id, "name": self.name, "input": self.input}


@dataclass(eq=False)
class ServerToolUseBlock(ToolUseBlock):
    """A server tool call (web search, code execution...): the API runs it, not us."""


@dataclass(eq=False)
class ServerToolResultBlock(Block):
    """`web_search_tool_result` and its siblings: the whole content arrives at start."""

    tool_use_id: str = ""
    content: Any = None

    @property
    def is_error(self) -> bool:
        kind = self.content.get("type", "") if isinstance(self.content, dict) else ""
        return str(kind).endswith("_error")

    def to_param(self) -> dict[str, Any] | None:
        return {"type": self.type, "tool_use_id": self.tool_use_id, "content": self.content}


@dataclass(eq=False)
class CompactionBlock(Block):
    """The server's summary of the conversation before it (context management).

    It replaces what it summarizes, so it goes back in the history verbatim; `content` None
    means the compaction failed (the API treats such a block as a no-op).
    """

    content: str | None = None
    encrypted_content: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # signature, tool_changes: verbatim

    def to_param(self) -> dict[str, Any] | None:
        if not self.done:
            return None
        return {"type": "compaction", "content": self.content,
                "encrypted_content": self.encrypted_content, **self.extra}


@dataclass(eq=False)
class FallbackBlock(Block):
    """Where one model's output gives way to another's: `from_model` declined."""

    from_model: str = ""
    to_model: str = ""
    trigger: dict[str, Any] = field(default_factory=dict)

    def to_param(self) -> dict[str, Any] | None:
        return {"type": "fallback", "from": {"model": self.from_model},
                "to": {"model": self.to_model}, "trigger": self.trigger}


@dataclass(eq=False)
class UnknownBlock(Block):
    """A block type this version does not know: shown neutrally, never sent back."""

    raw: dict[str, Any] = field(default_factory=dict)
    deltas: list[dict[str, Any]] = field(default_factory=list)


_TOOL_RESULT_SUFFIX = "_tool_result"


def _new_block(index: int, cb: Any, now: float) -> Block:
    """Block factory: one row per block family, unknown types fall through to UnknownBlock."""
    btype = str(_get(cb, "type", "unknown"))
    base: dict[str, Any] = {"index": index, "type": btype, "started_at": now}
    if btype == "text":
        cits = [_plain(c) for c in (_get(cb, "citations") or [])]
        return TextBlock(**base, text=_get(cb, "text", "") or "", citations=cits)
    if btype == "thinking":
        return ThinkingBlock(**base, thinking=_get(cb, "thinking", "") or "",
                             signature=_get(cb, "signature", "") or "")
    if btype == "redacted_thinking":
        return RedactedThinkingBlock(**base, data=_get(cb, "data", "") or "")
    if btype in ("tool_use", "server_tool_use", "mcp_tool_use"):
        cls = ToolUseBlock if btype == "tool_use" else ServerToolUseBlock
        start_input = _plain(_get(cb, "input")) or {}
        extra = {k: v for k, v in (_plain(cb) or {}).items()
                 if k not in ("type", "id", "name", "input")}
        block = cls(**base, id=_get(cb, "id", "") or "", name=_get(cb, "name", "") or "",
                    extra=extra)
        if start_input:  # some producers send the whole input at start, no deltas
            block.input_json = json.dumps(start_input)
        return block
    if btype == "compaction":
        extra = {k: v for k, v in (_plain(cb) or {}).items()
                 if k in ("signature", "tool_changes") and v is not None}
        return CompactionBlock(**base, content=_get(cb, "content"),
                               encrypted_content=_get(cb, "encrypted_content"), extra=extra)
    if btype == "fallback":
        raw = _plain(cb) or {}
        return FallbackBlock(**base, from_model=str((raw.get("from") or {}).get("model", "")),
                             to_model=str((raw.get("to") or {}).get("model", "")),
                             trigger=raw.get("trigger") or {})
    if btype.endswith(_TOOL_RESULT_SUFFIX) or btype == "container_upload":
        return ServerToolResultBlock(**base, tool_use_id=_get(cb, "tool_use_id", "") or "",
                                     content=_plain(_get(cb, "content")))
    return UnknownBlock(**base, raw=_plain(cb) or {})


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
            value = _get(usage, name)
            if isinstance(value, int):
                setattr(self, name, value)
        hour = _get(_get(usage, "cache_creation"), "ephemeral_1h_input_tokens")
        if isinstance(hour, int):
            self.cache_creation_1h = hour
        stu = _plain(_get(usage, "server_tool_use"))
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


# ---------------------------------------------------------------- changes


@dataclass(frozen=True)
class TurnStarted:
    message_id: str
    model: str


@dataclass(frozen=True)
class BlockStarted:
    block: Block


@dataclass(frozen=True)
class BlockDelta:
    """`kind` is text | thinking | input_json | citation | signature | compaction | unknown."""

    block: Block
    kind: str
    text: str = ""


@dataclass(frozen=True)
class BlockFinished:
    block: Block


@dataclass(frozen=True)
class UsageUpdated:
    usage: Usage


@dataclass(frozen=True)
class TurnFinished:
    stop_reason: str | None
    stop_sequence: str | None = None


@dataclass(frozen=True)
class UnknownEvent:
    type: str
    raw: dict[str, Any]


Change = (TurnStarted | BlockStarted | BlockDelta | BlockFinished | UsageUpdated
          | TurnFinished | UnknownEvent)


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
        etype = _get(event, "type")
        handler = _HANDLERS.get(etype) if isinstance(etype, str) else None
        if handler is None:
            if etype == "ping":
                return []
            unknown = UnknownEvent(str(etype), _plain(event) or {})
            self.unknown_events.append(unknown)
            return [unknown]
        return handler(self, event, now)

    def _on_message_start(self, event: Any, now: float) -> list[Change]:
        msg = _get(event, "message")
        self.message_id = _get(msg, "id", "") or ""
        self.model = _get(msg, "model", "") or ""
        self.usage.update(_get(msg, "usage"))
        changes: list[Change] = [TurnStarted(self.message_id, self.model), UsageUpdated(self.usage)]
        for cb in _get(msg, "content") or []:  # normally empty; honour it when not
            changes.extend(self._start_block(len(self.blocks), cb, now))
        return changes

    def _on_block_start(self, event: Any, now: float) -> list[Change]:
        return self._start_block(int(_get(event, "index", len(self.blocks))),
                                 _get(event, "content_block"), now)

    def _start_block(self, index: int, cb: Any, now: float) -> list[Change]:
        block = _new_block(index, cb, now)
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
        index = int(_get(event, "index", -1))
        block = self._by_index.get(index)
        if block is None:  # delta for a block never started: make a neutral one
            block = UnknownBlock(index=index, type="unknown", started_at=now)
            self._by_index[index] = block
            self.blocks.append(block)
        return block

    def _on_block_delta(self, event: Any, now: float) -> list[Change]:
        block = self._block_for(event, now)
        delta = _get(event, "delta")
        dtype = _get(delta, "type")
        fn = _DELTAS.get((type(block), dtype)) if isinstance(dtype, str) else None
        if fn is None:
            if isinstance(block, UnknownBlock):
                block.deltas.append(_plain(delta) or {})
            return [BlockDelta(block, "unknown", json.dumps(_plain(delta), default=str))]
        return fn(self, block, delta, now)

    def _first_token(self, now: float) -> None:
        if self.first_token_at is None:
            self.first_token_at = now

    def _delta_text(self, block: TextBlock, delta: Any, now: float) -> list[Change]:
        text = _get(delta, "text", "") or ""
        _grow(block, "text", text)
        self._first_token(now)
        return [BlockDelta(block, "text", text)]

    def _delta_citation(self, block: TextBlock, delta: Any, now: float) -> list[Change]:
        citation = _plain(_get(delta, "citation")) or {}
        block.citations.append(citation)
        return [BlockDelta(block, "citation", json.dumps(citation, default=str))]

    def _delta_thinking(self, block: ThinkingBlock, delta: Any, now: float) -> list[Change]:
        text = _get(delta, "thinking", "") or ""
        _grow(block, "thinking", text)
        self._first_token(now)
        return [BlockDelta(block, "thinking", text)]

    def _delta_signature(self, block: ThinkingBlock, delta: Any, now: float) -> list[Change]:
        block.signature = _get(delta, "signature", "") or ""
        return [BlockDelta(block, "signature", "")]

    def _delta_compaction(self, block: CompactionBlock, delta: Any, now: float) -> list[Change]:
        """A summary may arrive in pieces: both fields are appended."""
        text = _get(delta, "content")
        if isinstance(text, str):
            block.content = (block.content or "") + text
        state = _get(delta, "encrypted_content")
        if isinstance(state, str):
            block.encrypted_content = (block.encrypted_content or "") + state
        return [BlockDelta(block, "compaction", text or "")]

    def _delta_json(self, block: ToolUseBlock, delta: Any, now: float) -> list[Change]:
        text = _get(delta, "partial_json", "") or ""
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
        delta = _get(event, "delta")
        self.stop_reason = _get(delta, "stop_reason") or self.stop_reason
        self.stop_sequence = _get(delta, "stop_sequence") or self.stop_sequence
        details = _get(delta, "stop_details")
        if details is not None:
            self.stop_details = _plain(details)
        self.usage.update(_get(event, "usage"))
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
                      if p["type"].endswith(_TOOL_RESULT_SUFFIX)}
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
