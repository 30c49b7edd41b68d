"""The content blocks of an assistant turn, as values: one class per block family.

Each block knows the form it is sent back to the API in (`to_param`), or that it must not be
(incomplete, or unknown to this version). `new_block` builds one from a `content_block_start`
whatever its type: a type this version does not know becomes an `UnknownBlock`, shown as a
neutral card, never an error. The transcript (`protocol/transcript.py`) grows them per delta.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Block", "TextBlock", "ThinkingBlock", "RedactedThinkingBlock", "ToolUseBlock",
    "ServerToolUseBlock", "ServerToolResultBlock", "CompactionBlock", "FallbackBlock",
    "UnknownBlock", "TOOL_RESULT_SUFFIX", "new_block", "field_of", "plain",
]


def field_of(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access: SDK models, loose objects and plain dicts look alike here."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def plain(obj: Any) -> Any:
    """A JSON-able copy of an SDK object (used once per block start, never per delta)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    dump = getattr(obj, "to_dict", None) or getattr(obj, "model_dump", None)
    if dump is not None:
        try:
            return dump()
        except TypeError:
            pass
    if hasattr(obj, "__dict__"):
        return {k: plain(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


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


TOOL_RESULT_SUFFIX = "_tool_result"


def new_block(index: int, cb: Any, now: float) -> Block:
    """Block factory: one row per block family, unknown types fall through to UnknownBlock."""
    btype = str(field_of(cb, "type", "unknown"))
    base: dict[str, Any] = {"index": index, "type": btype, "started_at": now}
    if btype == "text":
        cits = [plain(c) for c in (field_of(cb, "citations") or [])]
        return TextBlock(**base, text=field_of(cb, "text", "") or "", citations=cits)
    if btype == "thinking":
        return ThinkingBlock(**base, thinking=field_of(cb, "thinking", "") or "",
                             signature=field_of(cb, "signature", "") or "")
    if btype == "redacted_thinking":
        return RedactedThinkingBlock(**base, data=field_of(cb, "data", "") or "")
    if btype in ("tool_use", "server_tool_use", "mcp_tool_use"):
        cls = ToolUseBlock if btype == "tool_use" else ServerToolUseBlock
        start_input = plain(field_of(cb, "input")) or {}
        extra = {k: v for k, v in (plain(cb) or {}).items()
                 if k not in ("type", "id", "name", "input")}
        block = cls(**base, id=field_of(cb, "id", "") or "", name=field_of(cb, "name", "") or "",
                    extra=extra)
        if start_input:  # some producers send the whole input at start, no deltas
            block.input_json = json.dumps(start_input)
        return block
    if btype == "compaction":
        extra = {k: v for k, v in (plain(cb) or {}).items()
                 if k in ("signature", "tool_changes") and v is not None}
        return CompactionBlock(**base, content=field_of(cb, "content"),
                               encrypted_content=field_of(cb, "encrypted_content"), extra=extra)
    if btype == "fallback":
        raw = plain(cb) or {}
        return FallbackBlock(**base, from_model=str((raw.get("from") or {}).get("model", "")),
                             to_model=str((raw.get("to") or {}).get("model", "")),
                             trigger=raw.get("trigger") or {})
    if btype.endswith(TOOL_RESULT_SUFFIX) or btype == "container_upload":
        return ServerToolResultBlock(**base, tool_use_id=field_of(cb, "tool_use_id", "") or "",
                                     content=plain(field_of(cb, "content")))
    return UnknownBlock(**base, raw=plain(cb) or {})
