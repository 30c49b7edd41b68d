"""A local stand-in for `POST /v1/messages`, served over real HTTP on a daemon thread.

The real SDK talks to it unmodified (`base_url=server.base_url`). It validates requests like
the API, answers from a FIFO of scripted responses or else from `auto_reply`, and records
every request and, for streams, each frame written and when the client went away, so tests
can check that a Stop really closes the connection.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from .script import (
    DROP, Drop, HttpError, Pause, Response, Stream, Turn, as_stream, echo_reply, estimate_tokens,
    http_error, new_id,
)
from .batches import Batches
from .cache import PromptCache, breakpoint_error
from .compaction import beta_error, compacting
from .models_api import MODELS, capability_error, find_model, list_page
from ..protocol.sse import parse_frame
from .sse import Json, assemble
from .validate import COUNT_TOKENS_RULES, validate

__all__ = ["LoopbackServer", "RequestRecord", "StreamRecord"]

T = TypeVar("T")

_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})
_POLL = 0.01  # seconds between checks for server shutdown (keeps stop() quick)

# The HTTP status a non-streaming request gets when its turn holds an `error` event.
_STATUS_FOR_ERROR = {
    "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
    "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
    "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529,
}


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


class _Watch:
    """Notices, while a response is written, that the client closed or reset its socket."""

    def __init__(self, sock: socket.socket, closing: threading.Event,
                 on_gone: Callable[[float], None]) -> None:
        self.stop = threading.Event()  # set on disconnect or server shutdown: stop writing
        self._sock, self._closing, self._on_gone = sock, closing, on_gone
        self._wake, self._waker = socket.socketpair()  # ends the watch without a poll delay
        self._thread = threading.Thread(target=self._run, daemon=True, name="loopback-watch")

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._waker.send(b"x")
        self._thread.join()
        self._wake.close()
        self._waker.close()

    def gone(self) -> None:
        self._on_gone(time.monotonic())
        self.stop.set()

    def check(self) -> bool:
        """Look at the socket now (right before each frame): True when writing must stop."""
        if _at_eof(self._sock):
            self.gone()
        return self.stop.is_set()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                readable, _, _ = select.select([self._sock, self._wake], [], [], _POLL)
            except (OSError, ValueError):
                readable = [self._sock]
            if self._wake in readable:
                return
            if _at_eof(self._sock):
                self.gone()
                return
            if readable:  # the client sent bytes and is still there: don't spin
                time.sleep(_POLL)
        self.stop.set()


def _at_eof(sock: socket.socket) -> bool:
    """Whether the client has closed or reset the socket; never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and not sock.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], loopback: LoopbackServer) -> None:
        super().__init__(address, _Handler)
        self.loopback = loopback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each frame leaves at once; no 40 ms delayed-ACK stalls
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines are recorded instead, and headers are never printed."""

    def handle(self) -> None:
        """A client that resets its connection (e.g. closing a stream early) is no error here."""
        with suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_POST(self) -> None:
        loop = self.server.loopback
        record = RequestRecord(self.path, _safe_headers(self.headers.items()), time.monotonic())
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        with loop._changing():
            loop.requests.append(record)
        if self._batches("POST", record, raw):
            return
        route = _ROUTES.get(urlsplit(self.path).path)
        if route is None:
            return self._error(record, 404, "not_found_error", f"Not Found: {self.path}")
        try:
            record.body = json.loads(raw)
        except ValueError:
            return self._error(record, 400, "invalid_request_error",
                               "There was an error parsing the body of your request as JSON")
        route(self, record)

    def do_GET(self) -> None:
        """The Models API: `/v1/models` (paginated) and `/v1/models/{id}`."""
        loop = self.server.loopback
        record = RequestRecord(self.path, _safe_headers(self.headers.items()), time.monotonic())
        with loop._changing():
            loop.requests.append(record)
        if self._batches("GET", record, b""):
            return
        url = urlsplit(self.path)
        if not loop.models:  # a gateway without the Models API
            return self._error(record, 404, "not_found_error", f"Not Found: {self.path}")
        if url.path == "/v1/models":
            status, body = list_page(dict(parse_qsl(url.query)), loop.models)
            if status != 200:
                return self._error(record, status, body["type"], body["message"])
            return self._send(record, 200, json.dumps(body).encode())
        if url.path.startswith("/v1/models/"):
            model_id = unquote(url.path.removeprefix("/v1/models/"))
            model = find_model(model_id, loop.models)
            if model is None:
                return self._error(record, 404, "not_found_error", f"model: {model_id}")
            return self._send(record, 200, json.dumps(model).encode())
        self._error(record, 404, "not_found_error", f"Not Found: {self.path}")

    def _batches(self, method: str, record: RequestRecord, raw: bytes) -> bool:
        """The Message Batches routes (loopback/batches.py); False when not one of them."""
        url = urlsplit(self.path)
        answer = self.server.loopback.batches.handle(method, url.path,
                                                     dict(parse_qsl(url.query)), raw)
        if answer is None:
            return False
        status, body, headers = answer
        if status != 200:
            record.error = json.loads(body)["error"]["message"]
        self._send(record, status, body, headers)
        return True

    def _messages(self, record: RequestRecord) -> None:
        loop = self.server.loopback
        error = (validate(record.body) or capability_error(record.body, loop.models)
                 or breakpoint_error(record.body) or beta_error(record.body, record.headers)
                 or loop._top_level_cache_error(record.body))
        if error:
            return self._error(record, 400, "invalid_request_error", error)
        usage = loop.cache.account(record.body)
        record.usage = usage.usage()
        response = loop._next_response(record.body)
        if isinstance(response, Turn) and "input_tokens" not in response.usage:
            response = compacting(replace(response, usage={**record.usage, **response.usage}),
                                  record.body, estimate_tokens(record.body))
        response = as_stream(response)
        if isinstance(response, HttpError):
            return self._send(record, response.status, response.body, response.headers,
                              response.reason)
        if record.body.get("stream"):
            return self._stream(record, response)
        self._message(record, response)

    def _count_tokens(self, record: RequestRecord) -> None:
        error = validate(record.body, COUNT_TOKENS_RULES)
        if error:
            return self._error(record, 400, "invalid_request_error", error)
        self._send(record, 200, json.dumps({"input_tokens": estimate_tokens(record.body)}).encode())

    def _message(self, record: RequestRecord, stream: Stream) -> None:
        """Non-streaming: the Message the frames add up to; timing faults do not apply."""
        if DROP in stream.steps:
            return self._drop()
        result = assemble(stream.frames)
        if result.get("type") == "error":
            kind, message = result["error"]["type"], result["error"]["message"]
            return self._error(record, _STATUS_FOR_ERROR.get(kind, 500), kind, message)
        self._send(record, 200, json.dumps(result, ensure_ascii=False).encode())

    def _stream(self, record: RequestRecord, stream: Stream) -> None:
        """Records are updated before the bytes leave, so a client never sees ahead of them."""
        loop = self.server.loopback
        written = StreamRecord(time.monotonic())
        with loop._changing():
            record.status, record.stream = 200, written
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", new_id("req_011C"))
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        with _Watch(self.connection, loop._closing, lambda t: loop._gone(written, t)) as watch:
            outcome = self._write_steps(stream, written, watch)
        with loop._changing():
            written.complete = outcome == "done"
            written.finished_at = time.monotonic()
        if outcome == "done":
            with suppress(OSError):
                self.wfile.write(b"0\r\n\r\n")
        elif outcome == "drop":
            self._drop()
        else:
            self.close_connection = True

    def _write_steps(self, stream: Stream, written: StreamRecord, watch: _Watch) -> str:
        """Write frames one chunk each until the end ("done"), a "drop", or a "stop"."""
        loop = self.server.loopback
        for step in stream.steps:
            if isinstance(step, Drop):
                return "drop"
            if isinstance(step, Pause):
                if watch.stop.wait(step.seconds):
                    return "stop"
                continue
            if written.events and stream.delay and watch.stop.wait(stream.delay):
                return "stop"
            if watch.check():
                return "stop"
            with loop._changing():
                written.events.append(parse_frame(step)[0] or "")
                written.written_at.append(time.monotonic())
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
            except OSError:
                with loop._changing():
                    written.events.pop()
                    written.written_at.pop()
                watch.gone()
                return "stop"
        return "done"

    def _drop(self) -> None:
        """Close the socket mid-body, as a broken connection does."""
        self.close_connection = True
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _error(self, record: RequestRecord, status: int, kind: str, message: str) -> None:
        record.error = message
        error = http_error(status, kind, message)
        self._send(record, status, error.body, error.headers)

    def _send(self, record: RequestRecord, status: int, body: bytes,
              headers: Mapping[str, str] | None = None, reason: str | None = None) -> None:
        with self.server.loopback._changing():
            record.status = status
        headers = {"content-type": "application/json", **(headers or {})}
        headers.setdefault("request-id", new_id("req_011C"))
        self.send_response(status, reason)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_ROUTES: dict[str, Callable[[_Handler, RequestRecord], None]] = {
    "/v1/messages": _Handler._messages,
    "/v1/messages/count_tokens": _Handler._count_tokens,
}


def _safe_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): "[redacted]" if k.lower() in _SECRET_HEADERS else v for k, v in headers}


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
        self._httpd: _HTTPServer | None = None
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
        self._httpd = _HTTPServer(self._address, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(_POLL,),
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
