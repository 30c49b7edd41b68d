"""Session events: what the run loop adds to the transcript's changes.

A `Reply` yields transcript changes (`claude_nb.protocol.transcript`) interleaved with these values,
in order; renderers dispatch on the type. All are frozen and carry references, not copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ClaudeNBError
from .status import ToolStatus
from .blocks import ToolUseBlock
from .changes import Change
from .transcript import Turn

if TYPE_CHECKING:
    from .tooltypes import ToolOutcome

__all__ = ["TurnBegan", "Retrying", "ToolChanged", "Notice", "Failed", "Stopped", "Finished",
           "Event"]


@dataclass(frozen=True)
class TurnBegan:
    """An API request starts (the first of a reply, or the next one of a tool loop)."""

    turn: Turn
    iteration: int


@dataclass(frozen=True)
class Retrying:
    """A retryable failure; the loop waits `delay` seconds before attempt `attempt`."""

    error: ClaudeNBError
    attempt: int
    of: int
    delay: float


@dataclass(frozen=True)
class ToolChanged:
    """A client tool call changed state (awaiting_approval, running, then one of
    `TOOL_ENDINGS`); `status` is the `ToolStatus` its card shows."""

    block: ToolUseBlock
    status: ToolStatus
    outcome: ToolOutcome | None = None
    started_at: float | None = None


@dataclass(frozen=True)
class Notice:
    """Something the user should know about the request, e.g. a setting converted to the
    form the model accepts; shown once, above the answer."""

    text: str


@dataclass(frozen=True)
class Failed:
    error: ClaudeNBError


@dataclass(frozen=True)
class Stopped:
    """`reason` is "user" (Stop button / stop()) or "interrupt" (kernel interrupt, Ctrl-C)."""

    reason: str


@dataclass(frozen=True)
class Finished:
    """The reply is over, whatever the outcome; always the last event."""

    status: str  # done | stopped | failed
    data: Any = None


Event = Change | TurnBegan | Retrying | ToolChanged | Notice | Failed | Stopped | Finished
