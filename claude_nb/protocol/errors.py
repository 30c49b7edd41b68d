"""Errors as values: one small hierarchy, and `classify` from whatever the SDK or network raised.

    ClaudeNBError              base: title, message, request_id, hint
     ├── ConfigError           bad options, no key, unknown tool names
     ├── APIError              an HTTP error response (status, type, retry_after)
     ├── StreamError           `event: error` inside a 200 stream (e.g. overloaded mid-answer)
     ├── ConnectionLost        the connection failed or dropped mid-body
     ├── StreamStalled         no byte within the read timeout
     └── OutputError           the answer arrived but can't be used as asked (e.g. invalid JSON)

Renderers turn any of these into one error card; IPython shows no traceback wall for them.
"""

from __future__ import annotations

from typing import Any

from .redact import redact

__all__ = [
    "ClaudeNBError", "ConfigError", "APIError", "StreamError", "ConnectionLost",
    "StreamStalled", "OutputError", "classify", "redact_secret", "quotes_secret",
    "RETRYABLE_STATUS",
]

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_NOT_RETRYABLE_CODES = frozenset({"enforced_spend_limit_reached"})

KEY_HINT = ("Set ANTHROPIC_API_KEY in the environment that starts Jupyter, or run "
            "`claude_nb.set_api_key()` to type it in without it appearing in the notebook.")

_HINTS: dict[int, str] = {
    400: "The request was rejected as invalid; the message above says which part.",
    401: "The API key was not accepted. " + KEY_HINT,
    402: "Billing: check the plan and credit balance of this API key's organization.",
    403: "This key is not allowed to do this (permissions or workspace limits).",
    404: "Not found: check the model name (`--model`, or `%config Claude.model`).",
    413: "The request is too large: shorten the prompt or start with `--new`.",
    429: "Rate or spend limit reached: wait a little, then run the cell again.",
    500: "The API had an internal error: try again shortly.",
    529: "The API is overloaded: try again shortly.",
}

_TITLES: dict[int, str] = {
    400: "Invalid request", 401: "Authentication failed", 402: "Billing problem",
    403: "Permission denied", 404: "Not found", 408: "Request timed out", 409: "Conflict",
    413: "Request too large", 429: "Rate limited", 500: "API error", 529: "API overloaded",
}


class ClaudeNBError(Exception):
    """Base of every error claude_nb shows; carries what an error card needs."""

    title = "Error"

    def __init__(self, message: str, *, title: str | None = None, request_id: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title:
            self.title = title
        self.request_id = request_id
        self.hint = hint

    def _render_traceback_(self) -> list[str]:
        """IPython: one short line instead of a traceback wall (the card says the rest).
        Secrets are redacted; making model text safe to display is the front end's job
        (the magic shows errors in a card and raises a fixed one-line `ErrorShown`)."""
        return [redact(f"claude_nb: {self.title}: {self.message}")]


class ConfigError(ClaudeNBError):
    title = "Configuration"


class APIError(ClaudeNBError):
    def __init__(self, message: str, *, status: int, type: str | None = None,
                 retry_after: float | None = None, error_code: str | None = None,
                 **kw: Any) -> None:
        kw.setdefault("title", f"{_TITLES.get(status, 'HTTP error')} ({status})")
        if "hint" not in kw:
            hint = _HINTS.get(status) or _HINTS.get(500 if status >= 500 else 400) or ""
            if retry_after is not None:  # say when: a capped retry-after fails at once
                hint = (f"The API asks to wait {_wait_words(retry_after)} (retry-after) "
                        "before the next request; run the cell again after that.")
            kw["hint"] = hint
        super().__init__(message, **kw)
        self.status = status
        self.type = type
        self.retry_after = retry_after
        self.error_code = error_code

    @property
    def retryable(self) -> bool:
        if self.error_code in _NOT_RETRYABLE_CODES:  # waiting won't lift a spend limit
            return False
        return self.status in RETRYABLE_STATUS or self.status >= 500


def _wait_words(seconds: float) -> str:
    """12 s, 3 min 20 s, 1 h 5 min: how long a retry-after asks to wait."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{max(seconds, 0):.3g} s" if seconds < 1 else f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


class StreamError(ClaudeNBError):
    title = "The stream reported an error"

    def __init__(self, message: str, *, type: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.type = type


class ConnectionLost(ClaudeNBError):
    title = "Connection lost"


class StreamStalled(ClaudeNBError):
    title = "The stream stalled"


class OutputError(ClaudeNBError):
    title = "Unusable answer"


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    raw = headers.get("retry-after-ms")
    try:
        if raw is not None:
            return float(raw) / 1000.0
        raw = headers.get("retry-after")
        return float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _status_error(exc: Any) -> ClaudeNBError:
    status = int(getattr(exc, "status_code", 0) or 0)
    body = getattr(exc, "body", None)
    err = body.get("error", body) if isinstance(body, dict) else {}
    err = err if isinstance(err, dict) else {}
    etype = getattr(exc, "type", None) or err.get("type")
    message = getattr(exc, "api_message", None) or err.get("message") or str(exc)
    request_id = getattr(exc, "request_id", None)
    response = getattr(exc, "response", None)
    if status == 200:  # `event: error` inside a stream that had started fine
        hint = _HINTS[529] if etype == "overloaded_error" else "Run the cell again to retry."
        return StreamError(str(message), type=etype, request_id=request_id, hint=hint,
                           title=f"The stream broke off: {etype or 'error'}")
    return APIError(str(message), status=status, type=etype, request_id=request_id,
                    retry_after=_retry_after(getattr(response, "headers", None)),
                    error_code=getattr(exc, "error_code", None))


def redact_secret(error: ClaudeNBError, secret: str | None) -> ClaudeNBError:
    """Blank out `secret` (the API key) wherever the error quotes it: a gateway or proxy may
    echo the key back in a 401's message, which would then reach cards, saved notebooks and
    the one-line traceback. Returns the same error."""
    for name in ("message", "title", "hint", "request_id"):
        value = getattr(error, name, None)
        if isinstance(value, str):
            setattr(error, name, redact(value, secret))
    error.args = tuple(redact(a, secret) if isinstance(a, str) else a for a in error.args)
    return error


def quotes_secret(exc: BaseException, secret: str | None) -> bool:
    """Whether an exception's text or body quotes `secret` (then don't chain it as a cause)."""
    if not secret or len(secret) < 8:
        return False
    return secret in f"{exc} {getattr(exc, 'body', '')!r} {getattr(exc, 'message', '')}"


def classify(exc: BaseException) -> ClaudeNBError:
    """Map an SDK / transport exception to our hierarchy (by type, never by message text)."""
    if isinstance(exc, ClaudeNBError):
        return exc
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, anthropic.APITimeoutError) or names & {"ReadTimeout", "TimeoutException"}:
        return StreamStalled(
            "No data arrived within the read timeout; the connection was closed.",
            hint="Run the cell again. The timeout is `%config Claude.read_timeout` (seconds).")
    if isinstance(exc, anthropic.APIConnectionError) or names & {
            "RemoteProtocolError", "ReadError", "NetworkError", "ConnectError",
            "TransportError", "ProtocolError"}:
        return ConnectionLost(
            f"The connection to the API failed or dropped ({type(exc).__name__}).",
            hint="Check the network (or ANTHROPIC_BASE_URL), then run the cell again.")
    if isinstance(exc, ValueError) and "json" in type(exc).__module__.lower():
        return ConnectionLost("The stream contained a malformed frame and was abandoned.",
                              hint="Run the cell again.")
    return ClaudeNBError(f"{type(exc).__name__}: {exc}", title="Unexpected error")
