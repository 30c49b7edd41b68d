"""Errors the demo simulates when a prompt asks for one ("Simulate a rate limit.")."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping

from ..loopback import Pause, Response, Text, http_error
from .ask import Ask
from .texts import DEMO_LABEL
from .turns import answer, frames_until, turn

__all__ = ["RateLimit", "dropped", "http", "midstream_overloaded", "stalled"]


def midstream_overloaded(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer starts normally and streams a few words. Then the "
            "server reports that it is overloaded, in the middle of the stream, as the API "
            "sometimes does. What arrived before the error stays visible")
    stream = turn(ask, [Text(text)]).stream()
    # cut after the last text delta: no content_block_stop, message_delta or message_stop
    return stream.error_after(len(stream.frames) - 3, "overloaded_error", "Overloaded")


def http(status: int, kind: str, message: str,
         headers: Mapping[str, str] | None = None) -> Callable[[Ask, re.Match[str]], Response]:
    def build(ask: Ask, m: re.Match[str]) -> Response:
        return http_error(status, kind, f"{message} (simulated by the demo backend)", headers)
    build.__name__ = f"_http_{status}"
    return build


def dropped(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer streams for a moment, then the connection drops "
            "without a proper end, as a flaky network would do it. The text so far is kept")
    stream = turn(ask, [Text(text)]).stream()
    return stream.drop_after(len(stream.frames) - 3)


def stalled(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer stalls here for 15 seconds …\n\n… and then goes on. "
            "With a read timeout shorter than that (`%config Claude.read_timeout = 2`, or "
            "`Conversation(read_timeout=2)`) the client gives up and says the stream stalled; "
            "otherwise press Stop, or just wait.")
    stream = turn(ask, [Text(text)]).stream()
    return stream.insert_after(frames_until(stream, "15 seconds …"), Pause(15.0))


class RateLimit:
    """429 with `retry-after: 1` for the first request with this body; a retry gets through."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, ask: Ask, m: re.Match[str]) -> Response:
        key = json.dumps(ask.request.get("messages"), sort_keys=True)
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
        if first:
            return http_error(429, "rate_limit_error", "This request would exceed the rate "
                              "limit (simulated by the demo backend)", {"retry-after": "1"})
        return answer(ask, "The first attempt got **429 Too Many Requests** with "
                      "`retry-after: 1`; claude_nb waited that second (showing a notice) and "
                      "retried, and this retry got through. Retries are capped: "
                      "`%config Claude.max_retries` and `Claude.retry_cap`.")
