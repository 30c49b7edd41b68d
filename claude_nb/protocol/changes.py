"""What one stream event changed in a turn: the values `Turn.apply` returns.

Every sink (live view, terminal, saved output) reads these and nothing of the wire format.
They hold the live block (not a copy), so a sink sees its whole state so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .blocks import Block

if TYPE_CHECKING:
    from .transcript import Usage

__all__ = [
    "Change", "TurnStarted", "BlockStarted", "BlockDelta", "BlockFinished", "UsageUpdated",
    "TurnFinished", "UnknownEvent",
]


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
