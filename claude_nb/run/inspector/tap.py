"""The tap: an httpx2 transport that copies the wire into an `EventLog`, changing nothing.

`TapTransport` wraps the transport the SDK talks through, passes every request and every
response byte on unchanged, and hands a copy of each `text/event-stream` body to the
incremental SSE parser (`claude_nb.protocol.sse`); a non-stream body (an HTTP error) becomes
one record. `tapped_client` / `tapped_http_client` build the SDK's default client around it.
"""

from __future__ import annotations

import socket
import sys
import time
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import httpx2

from ...protocol.sse import MALFORMED, Cut, Frame, FrameParser, describe, loads
from .log import EventLog, Exchange

__all__ = ["TapTransport", "tapped_client", "tapped_http_client"]

_BODY_CAP = 1 << 20  # bytes of a non-stream body kept for its one record
# An error body the SDK closes unread (it does before a retry) is read by the tap when it is
# this small and comes this fast, so the log still shows its error type.
_DRAIN_BYTES, _DRAIN_SECONDS = 64 * 1024, 0.25


class _BodyParser:
    """A non-stream body (an error, or a non-streaming Message): one frame at its end."""

    def __init__(self, is_error: bool, keep_raw: bool) -> None:
        self.is_error, self.keep_raw = is_error, keep_raw
        self._parts: list[bytes] = []
        self._kept = self._size = 0

    def cut(self, data: bytes) -> list[Cut | Frame]:
        self._size += len(data)
        if self._kept < _BODY_CAP:
            self._parts.append(data)
            self._kept += len(data)
        return []

    def cut_end(self) -> list[Cut | Frame]:
        body = b"".join(self._parts)
        parsed = loads(body)
        described = describe(parsed, None)
        kind, _, detail = described or (MALFORMED if parsed is None else "body", None, None)
        if self.is_error:
            kind = "error"
        raw = body.decode("utf-8", "replace") if self.keep_raw else None
        return [Frame(kind, None, detail, self._size, raw)]


class _Inflate:
    """gzip / deflate content-encoding, undone on the tap's copy of the body."""

    def __init__(self, encoding: str) -> None:
        wbits = zlib.MAX_WBITS | 32 if encoding == "gzip" else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._raw_deflate = encoding == "deflate"

    def decode(self, data: bytes) -> bytes:
        try:
            return self._z.decompress(data)
        except zlib.error:
            if not self._raw_deflate:
                raise
            self._raw_deflate = False  # "deflate" sent without its zlib header
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._z.decompress(data)

    def flush(self) -> bytes:
        return self._z.flush()



# ------------------------------------------------------------ the tap

class _Recorder:
    """Writes one exchange's frames into the log as the body streams."""

    def __init__(self, log: EventLog, number: int, response: httpx2.Response) -> None:
        self.log, self.number = log, number
        self.exchange = log.exchanges[number]
        content_type = response.headers.get("content-type", "")
        self.sse = content_type.split(";")[0].strip().lower() == "text/event-stream"
        self.parser: FrameParser | _BodyParser = (
            FrameParser(log.keep_raw) if self.sse
            else _BodyParser(response.status_code >= 400, log.keep_raw))
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        self.inflate = _Inflate(encoding) if encoding in ("gzip", "deflate") else None
        self.broken: str | None = None
        if encoding not in ("identity", "gzip", "deflate", ""):
            self.broken = self.exchange.note = f"content-encoding {encoding} not decoded"
        length = response.headers.get("content-length", "")
        self.drain = (not self.sse and response.status_code >= 400 and length.isdigit()
                      and int(length) <= _DRAIN_BYTES)

    def _t(self, now: float) -> float:
        return now - (self.log.request_sent_at or now)

    def arrived(self, chunk: bytes, now: float) -> None:
        if chunk and self.exchange.first_byte is None:
            self.exchange.first_byte = self._t(now)
        self.exchange.bytes += len(chunk)

    def take(self, chunk: bytes, now: float) -> None:
        if self.broken is None:
            self._record(self._cut, chunk, now)

    def end(self, now: float, how: str) -> None:
        if self.exchange.end is not None:
            return
        inflate = self.inflate
        if inflate is not None:
            self._record(lambda _: self.parser.cut(inflate.flush()), b"", now)
        self._record(lambda _: self.parser.cut_end(), b"", now)
        self.exchange.ended, self.exchange.end = self._t(now), how

    def _cut(self, chunk: bytes) -> Sequence[Cut | Frame]:
        return self.parser.cut(self.inflate.decode(chunk) if self.inflate else chunk)

    def _record(self, step: Callable[[bytes], Sequence[Cut | Frame]], data: bytes,
                now: float) -> None:
        """The tap must never break the stream it watches: a failure stops only the tap."""
        if self.broken is not None:
            return
        try:
            cuts = step(data)
        except Exception as exc:  # noted in the log, not raised
            self.broken = self.exchange.note = f"tap failed: {type(exc).__name__}: {exc}"
            return
        if cuts:
            t, number = self._t(now), self.number
            self.log._pending.extend([(t, number, cut) for cut in cuts])


class _TapStream(httpx2.AsyncByteStream):
    """The response body, passed through chunk by chunk; each chunk is parsed after it
    has been handed on, so the consumer never waits for the tap."""

    def __init__(self, inner: httpx2.AsyncByteStream, recorder: _Recorder) -> None:
        self._inner, self._recorder = inner, recorder
        self._started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._started = True
        recorder, pending, now = self._recorder, None, 0.0
        how = "closed"  # unless the body ends or fails: the consumer stopped reading
        try:
            async for chunk in self._inner:
                now = time.monotonic()
                recorder.arrived(chunk, now)
                pending = chunk
                yield chunk
                pending = None
                recorder.take(chunk, now)
            how = "eof"
        except Exception as exc:
            how = f"error: {type(exc).__name__}"
            raise
        finally:
            if pending is not None:
                recorder.take(pending, now)
            recorder.end(time.monotonic(), how)

    async def aclose(self) -> None:
        try:
            if not self._started and self._recorder.drain:
                await self._drain()
        finally:
            self._recorder.end(time.monotonic(), "closed")
            await self._inner.aclose()

    async def _drain(self) -> None:
        """Read a small error body the consumer closes unread, within a short deadline."""
        self._started = True
        with anyio.move_on_after(_DRAIN_SECONDS):
            try:
                async for chunk in self._inner:
                    now = time.monotonic()
                    self._recorder.arrived(chunk, now)
                    self._recorder.take(chunk, now)
            except Exception:  # the body was being thrown away anyway
                pass


class TapTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that records the wire timeline into `log`, changing nothing.

    `inner` does the real work (default: the transport the SDK would make itself).
    Requests pass through untouched; responses come back with the same status, headers and
    extensions and a body that yields the very same chunks.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None, *,
                 log: EventLog) -> None:
        self.inner = inner if inner is not None else _sdk_transport()
        self.log = log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        log = self.log
        sent = time.monotonic()
        if log.request_sent_at is None:
            log.request_sent_at = sent
        number = len(log.exchanges)
        exchange = Exchange(request.method, request.url.path, sent - log.request_sent_at)
        log.exchanges.append(exchange)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            exchange.ended = time.monotonic() - log.request_sent_at
            exchange.end = f"error: {type(exc).__name__}"
            raise
        exchange.headers = time.monotonic() - log.request_sent_at
        exchange.status = response.status_code
        exchange.request_id = response.headers.get("request-id")
        exchange.content_type = response.headers.get("content-type")
        if not isinstance(response.stream, httpx2.AsyncByteStream):
            return response  # nothing to read asynchronously: nothing to tap
        body = _TapStream(response.stream, _Recorder(log, number, response))
        return httpx2.Response(response.status_code, headers=response.headers, stream=body,
                               extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# ------------------------------------------------------------ clients

def _keepalive_socket_options() -> list[tuple[int, int, int | bool]]:
    """The TCP keep-alive options of the SDK's default client (`DefaultAsyncHttpxClient`)."""
    options: list[tuple[int, int, int | bool]] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)]
    interval = getattr(socket, "TCP_KEEPINTVL", None)
    if interval is not None:
        options.append((socket.IPPROTO_TCP, interval, 60))
    elif sys.platform == "darwin":
        options.append((socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPALIVE", 0x10), 60))
    for name, value in (("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        option = getattr(socket, name, None)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


def _sdk_transport(proxy: str | httpx2.Proxy | None = None) -> httpx2.AsyncHTTPTransport:
    import anthropic

    return httpx2.AsyncHTTPTransport(proxy=proxy, limits=anthropic.DEFAULT_CONNECTION_LIMITS,
                                     socket_options=_keepalive_socket_options())


_SDK_DEFAULT: Any = object()  # "the timeout the SDK's default client has"


def tapped_http_client(log: EventLog, *, transport: httpx2.AsyncBaseTransport | None = None,
                       timeout: Any = _SDK_DEFAULT) -> httpx2.AsyncClient:
    """The SDK's default async HTTP client, with every transport wrapped in a tap.

    Mirrors `anthropic.DefaultAsyncHttpxClient`: its timeout, connection limits,
    `follow_redirects=True`, TCP keep-alive options, and proxies from the environment
    (`HTTPS_PROXY`, `NO_PROXY`...), each proxy transport tapped too. A `transport` given
    replaces all of that (it is tapped and used for every URL).
    """
    import anthropic
    from anthropic._utils._httpx import (
        get_environment_proxies,  # what the SDK itself uses
    )

    mounts: dict[str, httpx2.AsyncBaseTransport | None] = {}
    if transport is None:
        mounts = {key: None if proxy is None else TapTransport(_sdk_transport(proxy), log=log)
                  for key, proxy in get_environment_proxies().items()}
    return anthropic.DefaultAsyncHttpxClient(
        transport=TapTransport(transport, log=log), mounts=mounts,
        timeout=anthropic.DEFAULT_TIMEOUT if timeout is _SDK_DEFAULT else timeout)


def tapped_client(log: EventLog, *, transport: httpx2.AsyncBaseTransport | None = None,
                  **client_kwargs: Any) -> Any:
    """An `anthropic.AsyncAnthropic(**client_kwargs)` whose HTTP goes through a tap into `log`.

    Behaves like the client the same kwargs make without a tap (see `tapped_http_client`;
    the client's own `timeout`, if given, applies to every request as usual).
    """
    import anthropic

    timeout = client_kwargs.get("timeout", _SDK_DEFAULT)
    if not isinstance(timeout, (int, float, httpx2.Timeout, type(None))):
        timeout = _SDK_DEFAULT  # e.g. anthropic.NOT_GIVEN
    http_client = tapped_http_client(log, transport=transport, timeout=timeout)
    return anthropic.AsyncAnthropic(http_client=http_client, **client_kwargs)
