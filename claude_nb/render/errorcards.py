"""Error cards and one-line notices (retry countdown, empty answer, unknown event).

Everything is escaped; API keys are redacted (`protocol.redact`); long messages are cut.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol.redact import redact
from . import html as h

__all__ = [
    "EMPTY_ANSWER", "empty_notice_html", "error_card", "error_html", "error_info",
    "notice_html", "retry_html", "unknown_event_html",
]

EMPTY_ANSWER = "The answer was empty; it is not kept in the conversation."

_ERROR_MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class _ErrorInfo:
    title: str
    message: str
    request_id: str | None = None
    hint: str | None = None


def error_html(title: str, message: str, request_id: str | None = None,
               hint: str | None = None) -> str:
    """A one-screen error card; everything escaped, API keys redacted, long text cut."""
    message = redact(str(message))
    if len(message) > _ERROR_MESSAGE_LIMIT:
        rest = len(message) - _ERROR_MESSAGE_LIMIT
        message = message[:_ERROR_MESSAGE_LIMIT] + f"… ({rest:,} more characters)"
    parts = [h.el("div", h.esc(redact(str(title))), class_="cnb-error-title"),
             h.el("div", h.esc(message).replace("\n", "<br>"), class_="cnb-error-message")]
    if hint:
        parts.append(h.el("div", h.esc(redact(str(hint))), class_="cnb-error-hint"))
    if request_id:
        parts.append(h.el("div", "request id " + h.el("code", h.esc(str(request_id))),
                         class_="cnb-error-meta"))
    return h.el("div", "".join(parts), class_="cnb-error", role="alert")


def error_info(error: Any) -> _ErrorInfo:
    """A `ClaudeNBError` or other exception, a mapping or an object with title / message /
    request_id / hint, or a message string (never HTML)."""
    if isinstance(error, str):
        return _ErrorInfo("Error", error)
    get = error.get if isinstance(error, Mapping) else (lambda k: getattr(error, k, None))
    exc = isinstance(error, BaseException)
    title = get("title") or (type(error).__name__ if exc else "Error")
    message = get("message") or (str(error) if exc else "")
    request_id, hint = get("request_id"), get("hint")
    return _ErrorInfo(str(title), str(message), str(request_id) if request_id else None,
                      str(hint) if hint else None)


def error_card(error: Any) -> str:
    """The error card of an error value (see `error_info` for what it accepts)."""
    info = error_info(error)
    return error_html(info.title, info.message, info.request_id, info.hint)


def retry_html(error: Any, attempt: int, of: int, delay: float) -> str:
    """A notice that a failed request will be retried."""
    info = error_info(error)
    countdown = h.el("span", h.esc(h.seconds(delay)), class_="cnb-timer", data_running=True,
                    data_until=f"{time.time() + delay:.3f}")
    text = (f" (attempt {attempt} of {of}): "
            f"{redact(info.title)}: {redact(h.short(info.message, 300))}")
    return h.el("div", "Retrying in " + countdown + h.esc(text), class_="cnb-notice",
               role="status")


def notice_html(text: str) -> str:
    """A neutral one-line notice (escaped)."""
    return h.el("div", h.esc(text), class_="cnb-notice", role="status")


def empty_notice_html() -> str:
    """Said when an answer arrived without any content (no block, or only empty text)."""
    return h.el("div", h.esc(EMPTY_ANSWER), class_="cnb-notice cnb-empty", role="status")


def unknown_event_html(event_type: str, raw: Any) -> str:
    """A neutral card for a stream event type this version does not know."""
    return h.card("cnb-unknown", h.title("Unknown event") + h.sub(str(event_type)), h.json_pre(raw))
