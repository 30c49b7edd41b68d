"""The provenance record of one turn: what a saved output needs to be reproduced and resumed.

A `%%claude` cell's (or a Chat turn's) saved output carries this record in its output metadata
under `KEY` (documented in docs/provenance.md): the model, the request options that were sent
(tools by name), request and message ids, usage and cost, stop reason, wall-clock times,
the claude_nb and SDK versions, and the API-shaped messages the turn added to the history
(thinking signatures included), so a fresh kernel can rebuild a conversation the API accepts.

Every string goes through the one redactor (`protocol.redact`) on the way in, except the
opaque fields the API signs or encrypts (a thinking `signature`, `redacted_thinking.data`,
`encrypted_content`): they are model-made ciphertext, and changing them would invalidate the
resumed conversation.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any

from ..protocol.pricing import cost
from ..protocol.redact import redact

if TYPE_CHECKING:
    from ..run.session import Reply

__all__ = ["KEY", "VERSION", "record", "reply_span", "scrub", "versions"]

#: The output-metadata key (and the value of `format` in saved conversation files).
KEY = "claude_nb"
#: Bumped when a field changes meaning; readers accept records up to this version.
VERSION = 1

# block type -> its field the API signs or encrypts (kept verbatim)
_OPAQUE = {"thinking": "signature", "redacted_thinking": "data",
           "compaction": "encrypted_content"}


def _scrub_messages(messages: list[dict[str, Any]], secret: str | None) -> list[Any]:
    """Messages redacted; a thinking block whose text redaction changed is left out (its
    signature would no longer match, and the API accepts earlier turns without thinking)."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            kept = [b for b in content if not (
                isinstance(b, dict) and b.get("type") == "thinking"
                and redact(str(b.get("thinking", "")), secret) != b.get("thinking", ""))]
            message = {**message, "content": kept or content}
        out.append(scrub(message, secret))
    return out


def scrub(value: Any, secret: str | None = None) -> Any:
    """A JSON-safe copy of `value` with every string redacted (opaque API tokens kept)."""
    if isinstance(value, str):
        return redact(value, secret)
    if isinstance(value, dict):
        opaque = _OPAQUE.get(str(value.get("type")))
        return {str(k): (v if k == opaque and isinstance(v, str) else scrub(v, secret))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, secret) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    dump = getattr(value, "model_dump", None) or getattr(value, "to_dict", None)
    return scrub(dump() if callable(dump) else repr(value), secret)


@cache
def versions() -> dict[str, str]:
    """claude_nb's and the anthropic SDK's versions (the SDK's without importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    try:
        sdk = version("anthropic")
    except PackageNotFoundError:
        sdk = "unknown"
    return {"claude_nb": __version__, "anthropic": sdk}


def _iso(monotonic: float | None, now_wall: float, now_mono: float) -> str | None:
    """A `time.monotonic()` reading as an ISO 8601 UTC time (None stays None)."""
    if not monotonic:
        return None
    wall = now_wall - (now_mono - monotonic)
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="milliseconds")


def reply_span(reply: Reply) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages `reply` added to its conversation's history, and the tool results owed
    after it (sent with the next prompt). Later replies bound the span; the last reply's
    runs to the end of the history."""
    conv = reply.conversation
    history = conv.history
    replies = [r for r in conv.replies if r.status != "pending"]
    if reply not in replies:
        return [], []
    after = replies[replies.index(reply) + 1:]
    if after:
        return (history.messages[reply.history_start:after[0].history_start],
                list(after[0]._carry_before))
    return history.messages[reply.history_start:], list(history.carry)


def _sent_options(reply: Reply) -> dict[str, Any]:
    """The request as sent, minus the messages; tools by name (their schemas are code)."""
    sent = reply.options.request([])
    sent.pop("messages", None)
    tools = sent.get("tools")
    if tools:
        sent["tools"] = [t.get("name") or t.get("type") for t in tools]
    return sent


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _requests(reply: Reply) -> list[dict[str, Any]]:
    """One entry per API request of the reply (a tool loop makes several)."""
    return [{"request_id": t.request_id or None, "message_id": t.message_id or None,
             "model": t.model or None, "stop_reason": t.stop_reason, "usage": asdict(t.usage),
             "ttfb_s": _seconds(t.ttfb), "ttft_s": _seconds(t.ttft),
             "duration_s": _seconds(t.duration),
             "cost_usd": cost(t.usage, t.model or reply.options.model)} for t in reply.turns]


def _total_cost(requests: list[dict[str, Any]]) -> float | None:
    """The reply's cost in USD: the sum over its requests, None when no price is known."""
    known = [r["cost_usd"] for r in requests if r["cost_usd"] is not None]
    return round(sum(known), 8) if known else None


def _error(reply: Reply) -> dict[str, Any] | None:
    err = reply.error
    if err is None:
        return None
    return {"title": getattr(err, "title", None), "message": getattr(err, "message", str(err)),
            "request_id": getattr(err, "request_id", None)}


def record(reply: Reply, secret: str | None = None) -> dict[str, Any]:
    """The provenance record of a finished reply (JSON-safe, secrets redacted).

    The key the reply was sent with, and `secret` if given, are blanked wherever they
    appear; key-shaped strings always are.
    """
    used = getattr(reply.backend, "api_key", None)
    messages, carry = reply_span(reply)
    requests = _requests(reply)
    now_wall, now_mono = time.time(), time.monotonic()
    first = reply.turns[0] if reply.turns else None
    last = reply.turn
    ended = last.finished_at if last is not None else None
    answered = next((t.model for t in reversed(reply.turns) if t.model), None)
    body: dict[str, Any] = {
        "version": VERSION,
        **versions(),
        "model": answered or reply.options.model,
        "request": _sent_options(reply),
        "system": reply.options.system,
        "status": reply.status,
        "stop_reason": reply.stop_reason,
        "requests": requests,
        "usage": asdict(reply.usage),
        "cost_usd": _total_cost(requests),
        "started_at": _iso(first.requested_at if first else None, now_wall, now_mono),
        "finished_at": _iso(ended, now_wall, now_mono),
        "error": _error(reply),
        "history_start": reply.history_start,
        "messages": _scrub_messages(_scrub_messages(messages, used), secret),
        "carry": carry,
    }
    return scrub(scrub(body, used), secret)
