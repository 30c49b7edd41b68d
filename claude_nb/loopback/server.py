"""A local stand-in for `POST /v1/messages`, served over real HTTP on a daemon thread.

The real SDK talks to it unmodified (`base_url=server.base_url`). It validates requests like
the API, answers from a FIFO of scripted responses or else from `auto_reply`, and records
every request and, for streams, each frame written and when the client went away, so tests
can check that a Stop really closes the connection. This module holds the server's state and
its life (start, stop, the response queue, waiting); `handler.py` serves the HTTP side,
`records.py` the records, `disconnect.py` the watch for a client that went away.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .batches import Batches
from .cache import PromptCache
from .disconnect import POLL
from .handler import HTTPServer
from .models_api import MODELS
from .records import RequestRecord, StreamRecord
from .script import Response, echo_reply
from .sse import Json

__all__ = ["LoopbackServer"]

T = TypeVar("T")


class LoopbackServer:
    """`POST /v1/messages` (+ `count_tokens`) on 127.0.0.1, a free port, a daemon thread.

    `enqueue()` scripted responses (raw SSE bodies, `Turn`s, `Stream`s with faults,
    `HttpError`s); when the queue is empty, `auto_reply(request_json)` answers.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 auto_reply: Callable[[Json], Response] = echo_reply,
                 cache_min_tokens: int = 1024) -> None:
        self.auto_reply = auto_reply
        self.cache = PromptCache(cache_min_tokens)  # usage of Turns that don't set input_tokens
        self.models: list[Json] = list(MODELS)  # what /v1/models serves (empty: a 404, as
        # behind a gateway without the endpoint)
        self.top_level_cache = True  # False: reject top-level cache_control, as some gateways
        self.requests: list[RequestRecord] = []
        self.batches = Batches(self)  # the Message Batches API's state and knobs
        self._address = (host, port)
        self._queue: deque[Response] = deque()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the loopback server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def pending(self) -> int:
        """Scripted responses not yet served."""
        return len(self._queue)

    def start(self) -> LoopbackServer:
        self._closing.clear()
        self._httpd = HTTPServer(self._address, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(POLL,),
                                        daemon=True, name="loopback-server")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end stalled streams, release the port."""
        if self._httpd is None or self._thread is None:
            return
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(self, *responses: Response) -> None:
        with self._changed:
            self._queue.extend(responses)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Block until `predicate()` is truthy (re-checked on every recorded change)."""
        with self._changed:
            result = self._changed.wait_for(predicate, timeout)
        if not result:
            raise TimeoutError(f"loopback: condition not met within {timeout} s")
        return result

    def wait_disconnect(self, timeout: float = 5.0) -> StreamRecord:
        """The first streamed response whose client has gone (waits for one)."""
        def gone() -> StreamRecord | None:
            return next((r.stream for r in self.requests
                         if r.stream and r.stream.disconnected_at is not None), None)
        return self.wait_for(gone, timeout)

    def _top_level_cache_error(self, body: Json) -> str | None:
        if self.top_level_cache or "cache_control" not in body:
            return None
        return "cache_control: Extra inputs are not permitted"

    def _next_response(self, body: Json) -> Response:
        with self._changed:
            if self._queue:
                return self._queue.popleft()
        return self.auto_reply(body)

    def _gone(self, written: StreamRecord, at: float) -> None:
        with self._changing():
            if written.disconnected_at is None:
                written.disconnected_at = at

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Mutate records under the lock and wake `wait_for` callers."""
        with self._changed:
            yield
            self._changed.notify_all()
