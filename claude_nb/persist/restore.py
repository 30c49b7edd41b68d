"""Provenance records back into a live `Conversation`: its history and its replies.

The history is the records' messages in order (each record holds exactly what its reply
added), plus the last record's owed tool results. Each record also becomes a finished `Reply`
whose turns are rebuilt by feeding the saved assistant content through `Turn.apply` (the one
translation path), so history views, exports, regenerate and the Chat show restored turns like
live ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..protocol.status import ToolStatus
from ..protocol.tooltypes import STOPPED_RESULT, ToolOutcome
from ..protocol.transcript import Turn
from .provenance import VERSION

if TYPE_CHECKING:
    from ..run.session import Conversation, Reply

__all__ = ["RestoreError", "restore", "turn_from_content"]


class RestoreError(ValueError):
    """A record this version cannot use (newer format, or not a claude_nb record)."""


def turn_from_content(content: list[dict[str, Any]], *, model: str = "",
                      stop_reason: str | None = None, usage: Mapping[str, Any] | None = None,
                      message_id: str = "", timings: Mapping[str, Any] | None = None) -> Turn:
    """A finished `Turn` from an assistant message's API content (`timings`: the record's
    `ttfb_s`, `ttft_s`, `duration_s`)."""
    timings = timings or {}
    turn = Turn()
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": message_id, "model": model, "content": []}}]
    for i, block in enumerate(content):
        events += [{"type": "content_block_start", "index": i, "content_block": block},
                   {"type": "content_block_stop", "index": i}]
    events += [{"type": "message_delta", "delta": {"stop_reason": stop_reason},
                "usage": dict(usage or {})}, {"type": "message_stop"}]
    for event in events:
        turn.apply(event, 0.0)
    # the timings measured when it ran (seconds from the request), else none at all
    turn.first_event_at = _number(timings.get("ttfb_s"))
    turn.first_token_at = _number(timings.get("ttft_s"))
    turn.finished_at = _number(timings.get("duration_s")) or 0.0
    return turn


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _prompt(message: Mapping[str, Any]) -> Any:
    """The prompt a reply was sent with: its opening message minus the owed tool results."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    blocks = [b for b in content or [] if b.get("type") != "tool_result"]
    if len(blocks) == 1 and blocks[0].get("type") == "text":
        return blocks[0].get("text", "")
    return blocks


def _outcomes(messages: Iterable[Mapping[str, Any]]) -> dict[str, ToolOutcome]:
    """Tool results sent within a reply, as outcomes its tool cards show."""
    found = {}
    for message in messages:
        if message.get("role") != "user" or not isinstance(message.get("content"), list):
            continue
        for block in message["content"]:
            if block.get("type") == "tool_result":
                content = block.get("content", "")
                is_error = bool(block.get("is_error"))
                status = (ToolStatus.STOPPED if content == STOPPED_RESULT else
                          ToolStatus.ERROR if is_error else ToolStatus.DONE)
                found[str(block.get("tool_use_id"))] = ToolOutcome(
                    content=content, is_error=is_error, status=status)
    return found


def _turns(rec: Mapping[str, Any], messages: list[dict[str, Any]]) -> list[Turn]:
    answers = [m for m in messages if m.get("role") == "assistant"]
    requests = [r for r in rec.get("requests") or [] if isinstance(r, Mapping)]
    turns = []
    for i, message in enumerate(answers):
        req = requests[i] if i < len(requests) else {}
        content = message["content"]
        turns.append(turn_from_content(
            [{"type": "text", "text": content}] if isinstance(content, str) else content,
            model=str(req.get("model") or rec.get("model") or ""),
            stop_reason=req.get("stop_reason"), usage=req.get("usage"),
            message_id=str(req.get("message_id") or ""), timings=req))
    return turns


def _check(rec: Any) -> Mapping[str, Any]:
    if not isinstance(rec, Mapping) or not isinstance(rec.get("messages"), list):
        raise RestoreError("not a claude_nb turn record")
    version = rec.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise RestoreError(f"record version {version!r} is newer than this claude_nb reads "
                           f"({VERSION}); upgrade claude_nb")
    return rec


def _reply(conv: Conversation, rec: Mapping[str, Any], carry_before: list[dict[str, Any]]
           ) -> Reply:
    from ..run.session import Reply

    messages = rec["messages"]
    reply = Reply(conv, _prompt(messages[0]) if messages else "", conv.options)
    reply.status = "done" if rec.get("status") in (None, "done") else str(rec["status"])
    if reply.status == "stopped":
        reply.stop_reason_user = "user"
    reply.turns = _turns(rec, messages)
    reply.tool_outcomes = _outcomes(messages)
    reply.history_start = len(conv.history.messages)
    reply._carry_before = carry_before
    return reply


def restore(conv: Conversation, records: Iterable[Any]) -> int:
    """Replace `conv`'s history and replies with those of `records` (in order); returns the
    number of turns restored (records that added nothing to the history are skipped)."""
    checked = [_check(r) for r in records]
    conv.reset()
    count = 0
    for rec in checked:
        if not rec["messages"]:
            continue
        reply = _reply(conv, rec, list(conv.history.carry))
        conv.history.messages.extend(rec["messages"])
        conv.history.carry = list(rec.get("carry") or [])
        conv.replies.append(reply)
        count += 1
    return count

