"""What the loopback server records of each request, for tests to inspect.

Credentials never reach a record (`safe_headers`); a streamed response records each frame
written and when, and when the client went away, so a test can check that a Stop really
closed the connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .sse import Json

__all__ = ["RequestRecord", "StreamRecord", "safe_headers"]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})


@dataclass
class StreamRecord:
    """One streamed response: frames written and when, and the client's disconnect.

    Times are `time.monotonic()` seconds. `disconnected_at` is when the server first saw the
    client close or reset the socket (polled between frames, during delays and stalls).
    """

    started_at: float
    events: list[str] = field(default_factory=list)
    written_at: list[float] = field(default_factory=list)
    disconnected_at: float | None = None
    finished_at: float | None = None
    complete: bool = False

    @property
    def events_after_disconnect(self) -> int:
        """Frames whose write began after the disconnect was visible (should be 0)."""
        if self.disconnected_at is None:
            return 0
        return sum(t > self.disconnected_at for t in self.written_at)


@dataclass
class RequestRecord:
    """A received request; credentials in `headers` are redacted, never stored."""

    path: str
    headers: dict[str, str]
    received_at: float
    body: Any = None
    status: int | None = None
    error: str | None = None
    stream: StreamRecord | None = None
    usage: Json | None = None  # the prompt-cache accounting of a Messages request


def safe_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers as recorded: credentials replaced by a marker, never stored."""
    return {k.lower(): "[redacted]" if k.lower() in _SECRET_HEADERS else v for k, v in headers}
