"""Load faults for many-request tests: per-request latency and rate-limit storms.

    srv.auto_reply = slow(echo_reply, 0.05)      # every answer takes 50 ms more
    srv.enqueue(*rate_limit_storm(200))          # the next 200 requests get a 429
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from .script import HttpError, Response, http_error
from .sse import Json

__all__ = ["rate_limit_storm", "slow"]


def slow(reply: Callable[[Json], Response], seconds: float) -> Callable[[Json], Response]:
    """`reply`, answering each request `seconds` later (on the server's request thread, so
    concurrent requests wait side by side, as they do at the API)."""
    def answer(request: Json) -> Response:
        time.sleep(seconds)
        return reply(request)
    return answer


def rate_limit_storm(n: int, retry_after: float = 0.02) -> list[HttpError]:
    """`n` 429 rate_limit_error answers as the API sends them: `retry-after` (whole seconds,
    at least 1) and `retry-after-ms`, and the `anthropic-ratelimit-requests-*` headers."""
    reset = (datetime.now(timezone.utc) + timedelta(seconds=retry_after)).isoformat()
    headers = {"retry-after": str(max(1, round(retry_after))),
               "retry-after-ms": str(round(retry_after * 1000)),
               "anthropic-ratelimit-requests-limit": "50",
               "anthropic-ratelimit-requests-remaining": "0",
               "anthropic-ratelimit-requests-reset": reset.replace("+00:00", "Z")}
    return [http_error(429, "rate_limit_error", "Number of requests has exceeded your per-minute "
                       "rate limit", headers) for _ in range(n)]
