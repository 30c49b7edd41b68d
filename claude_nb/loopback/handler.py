"""The loopback's HTTP handler: routing a request and writing its response.

POST `/v1/messages` (validated like the API, answered from the server's script, streamed
frame by frame or assembled into one Message), `/v1/messages/count_tokens`, GET the Models
API, and the Message Batches routes (loopback/batches.py). Every request is recorded first.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..protocol.sse import parse_frame
from .cache import breakpoint_error
from .compaction import beta_error, compacting
from .disconnect import Watch
from .models_api import capability_error, find_model, list_page
from .records import RequestRecord, StreamRecord, safe_headers
from .script import (
    DROP, Drop, HttpError, Pause, Stream, Turn, as_stream, estimate_tokens, http_error, new_id,
)
from .sse import assemble
from .validate import COUNT_TOKENS_RULES, validate

if TYPE_CHECKING:
    from .server import LoopbackServer

__all__ = ["HTTPServer", "Handler"]

# The HTTP status a non-streaming request gets when its turn holds an `error` event.
_STATUS_FOR_ERROR = {
    "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
    "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
    "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529,
}


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], loopback: LoopbackServer) -> None:
        super().__init__(address, Handler)
        self.loopback = loopback


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each frame leaves at once; no 40 ms delayed-ACK stalls
    server: HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines are recorded instead, and headers are never printed."""

    def handle(self) -> None:
        """A client that resets its connection (e.g. closing a stream early) is no error here."""
        with suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_POST(self) -> None:
        loop = self.server.loopback
        record = RequestRecord(self.path, safe_headers(self.headers.items()), time.monotonic())
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
        record = RequestRecord(self.path, safe_headers(self.headers.items()), time.monotonic())
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
        with Watch(self.connection, loop._closing, lambda t: loop._gone(written, t)) as watch:
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

    def _write_steps(self, stream: Stream, written: StreamRecord, watch: Watch) -> str:
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


_ROUTES: dict[str, Callable[[Handler, RequestRecord], None]] = {
    "/v1/messages": Handler._messages,
    "/v1/messages/count_tokens": Handler._count_tokens,
}
