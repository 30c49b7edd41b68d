"""When a failed request is tried again: one policy for the run loop and for `map`.

Retried: the API's retryable statuses (408, 409, 429, 5xx, 529) and a connection lost before
the first event; never a bad request, a stream error or a stall. A server's `retry-after` is
obeyed up to a cap (a longer wait fails at once, saying when); otherwise the wait doubles
from 0.5 s. `map` adds jitter so that many items failing together do not retry together.
"""

from __future__ import annotations

import random

from ..protocol.errors import APIError, ClaudeNBError, ConnectionLost

__all__ = ["retry_delay"]


def retry_delay(error: ClaudeNBError, retries_made: int, *, retries: int, cap: float,
                backoff_cap: float | None = None, jitter: bool = False) -> float | None:
    """Seconds to wait before the next try, or None when `error` is not retried (not
    retryable, `retries` already made, or a `retry-after` longer than `cap`). The backoff
    is capped at `backoff_cap` (default: `cap`); `jitter` scales it by 0.5-1."""
    if retries_made >= retries:
        return None
    if isinstance(error, APIError):
        if not error.retryable:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= cap else None
    elif not isinstance(error, ConnectionLost):
        return None
    delay = min(cap if backoff_cap is None else backoff_cap, 0.5 * 2 ** retries_made)
    return delay * (0.5 + random.random() / 2) if jitter else delay
