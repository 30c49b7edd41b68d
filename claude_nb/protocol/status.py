"""Typed states: how a tool call, a reply and a turn ended (or where they are).

Each state is decided once, where it happens (the run loop, `run_tool`), carried on the
value (`ToolOutcome.status`, `Reply.status`), and only *read* by the sinks: the live
presenter's cards, the saved static output and the exports show the same word because
they read the same field. The members are `str`s, so they serialize as their value and
compare equal to the plain strings used on the wire (`data-status="stopped"`).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["TOOL_ENDINGS", "ReplyStatus", "ToolStatus", "TurnEnding"]


class _StrEnum(str, Enum):
    """`str(member)` and f-strings give the value on every Python (`enum.StrEnum` is 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class ToolStatus(_StrEnum):
    """A client or server tool call, as its card's badge shows it."""

    WAITING = "waiting"  # input still streaming, or the call is queued
    AWAITING_APPROVAL = "awaiting_approval"  # a `confirm` tool waits for Run / Deny
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"  # the tool raised, its input was invalid, or no such tool
    TIMEOUT = "timeout"  # the tool's own time limit passed
    STOPPED = "stopped"  # Stop (or a kernel interrupt) cancelled it mid-run
    DENIED = "denied"  # the user clicked Deny
    INCOMPLETE = "incomplete"  # the input JSON never parsed (stream cut)
    NOT_RUN = "not_run"  # the turn ended before the call was run


#: How a run tool call can end (what a `ToolOutcome` holds).
TOOL_ENDINGS = (ToolStatus.DONE, ToolStatus.ERROR, ToolStatus.TIMEOUT, ToolStatus.STOPPED,
                ToolStatus.DENIED)


class ReplyStatus(_StrEnum):
    """A `Reply` from creation to its end (`Finished.status` is one of the last three)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


class TurnEnding(_StrEnum):
    """Why one API turn (one request/response) ended, as the footer says it: the API's
    `stop_reason` when it sent one, else what cut the turn short."""

    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"
    CONTEXT_WINDOW = "model_context_window_exceeded"
    STOPPED = "stopped"  # the Stop button / `Reply.stop()`
    INTERRUPTED = "interrupted"  # a kernel interrupt (Ctrl-C)
    TRUNCATED = "truncated"  # the stream ended without message_stop
    ERROR = "error"  # the request failed
