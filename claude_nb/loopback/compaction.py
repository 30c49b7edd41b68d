"""Server-side context management: `compaction` and `fallback` blocks, and their beta rules.

`Compaction` and `Fallback` are scripted blocks shaped like the API's streams (the SDK's own
recorded fixtures): a compaction block starts empty and gets its summary in one
`compaction_delta`; a fallback block arrives whole at start with no deltas. `compacting`
answers a request whose `context_management` asks for `compact_20260112` and whose input
has reached the trigger with a compaction block before the reply, as the API does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .script import Turn
from .sse import Json

__all__ = [
    "COMPACT_BETA",
    "DEFAULT_TRIGGER",
    "Compaction",
    "Fallback",
    "beta_error",
    "compact_trigger",
    "compacting",
    "refusal_details",
]

COMPACT_BETA = "compact-2026-01-12"
DEFAULT_TRIGGER = 150_000  # input tokens, the API's default `trigger`
_FAKE_ENCRYPTED = "EpwBCioIDxgCEAEYASJAbG9vcGJhY2stY29tcGFjdGlvbi1ub3QtcmVhbA=="


@dataclass(frozen=True)
class Compaction:
    """A `compaction` block: `content` is the summary, `encrypted_content` opaque state."""

    content: str | None
    encrypted_content: str = _FAKE_ENCRYPTED

    @property
    def content_block(self) -> Json:
        return {"type": "compaction", "content": None, "encrypted_content": None}

    def deltas(self, chunk: int) -> list[Json]:
        return [{"type": "compaction_delta", "content": self.content,
                 "encrypted_content": self.encrypted_content}]


@dataclass(frozen=True)
class Fallback:
    """A `fallback` block: `from_model` declined (a refusal), `to_model` answers after it."""

    from_model: str
    to_model: str
    category: str | None = None

    @property
    def content_block(self) -> Json:
        return {"type": "fallback", "from": {"model": self.from_model},
                "to": {"model": self.to_model},
                "trigger": {"type": "refusal", "category": self.category}}

    def deltas(self, chunk: int) -> list[Json]:
        return []


def refusal_details(category: str | None, explanation: str | None) -> Json:
    """`stop_details` of a refusal (`stop_reason: "refusal"`)."""
    return {"type": "refusal", "category": category, "explanation": explanation}


def _betas(headers: Mapping[str, str]) -> set[str]:
    return {b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()}


def beta_error(body: Json, headers: Mapping[str, str]) -> str | None:
    """The 400 for compaction fields sent without the beta header that enables them."""
    if COMPACT_BETA in _betas(headers):
        return None
    if compact_trigger(body) is not None:
        return (f"context_management.edits.0.type: 'compact_20260112' requires the "
                f"'anthropic-beta: {COMPACT_BETA}' header")
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for k, block in enumerate(content if isinstance(content, list) else []):
            if isinstance(block, dict) and block.get("type") == "compaction":
                return (f"messages.{i}.content.{k}: 'compaction' blocks require the "
                        f"'anthropic-beta: {COMPACT_BETA}' header")
    return None


def compact_trigger(body: Json) -> int | None:
    """The input-token threshold of a `compact_20260112` edit, or None without one."""
    config = body.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    for edit in edits or []:
        if isinstance(edit, dict) and edit.get("type") == "compact_20260112":
            trigger = edit.get("trigger")
            value = trigger.get("value") if isinstance(trigger, dict) else None
            return int(value) if isinstance(value, int) else DEFAULT_TRIGGER
    return None


def _text(message: Json) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or []
                    if isinstance(b, dict) and b.get("type") == "text")


@dataclass(frozen=True)
class _Summary:
    """What a compaction keeps of the conversation it replaces (the loopback's stand-in)."""

    turns: int
    words: list[str] = field(default_factory=list)

    def text(self) -> str:
        topics = ", ".join(self.words[:8]) or "nothing in particular"
        return (f"Summary of the {self.turns} earlier messages (loopback stand-in, no model "
                f"ran): the user asked about {topics}.")


def compacting(turn: Turn, body: Json, input_tokens: int) -> Turn:
    """`turn` preceded by a compaction block when the request's trigger is reached."""
    trigger = compact_trigger(body)
    if trigger is None or input_tokens < trigger:
        return turn
    messages = body.get("messages") or []
    words = [w for m in messages if m.get("role") == "user" for w in _text(m).split()[:2]]
    summary = _Summary(len(messages), words)
    return replace(turn, blocks=[Compaction(summary.text()), *turn.blocks])
