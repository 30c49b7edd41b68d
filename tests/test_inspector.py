"""The wire inspector: a tap on the SDK's transport, checked against the loopback server."""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import astuple
from typing import Any

import anthropic
import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_nb.protocol.sse import FrameParser
from claude_nb.render.timeline import timeline_html, timeline_text
from claude_nb.run.inspector import (EventLog, EventRecord, Exchange, TapTransport, tapped_client,
                                     tapped_http_client)
from claude_nb.loopback import (BAD_JSON, Stream, http_error, http_error_file, text_turn,
                                transcript, transcript_names)
from support import TRANSCRIPTS, sse_events

REQUEST: dict[str, Any] = {"model": "claude-loopback", "max_tokens": 64,
                           "messages": [{"role": "user", "content": "hi"}]}


async def _consume(client: Any) -> tuple[list[str], str | None]:
    """The SDK's event types, and the exception class that ended the stream, if any."""
    types: list[str] = []
    try:
        stream = await client.messages.create(stream=True, **REQUEST)
        async with stream:
            async for event in stream:
                types.append(event.type)
    except Exception as exc:
        return types, type(exc).__name__
    finally:
        await client.close()
    return types, None


def run(server: Any, response: Any, log: EventLog | None = None,
        **client_kwargs: Any) -> tuple[list[str], str | None]:
    """Stream one scripted response, through a tap into `log` when one is given."""
    server.enqueue(response)
    kwargs = {"api_key": "sk-test", "base_url": server.base_url, "max_retries": 0,
              **client_kwargs}
    client = tapped_client(log, **kwargs) if log is not None else anthropic.AsyncAnthropic(**kwargs)
    return asyncio.run(_consume(client))


def timeline(log: EventLog) -> list[tuple[str, int | None, str | None]]:
    return [(r.type, r.index, r.delta) for r in log]


# ------------------------------------------------------------ through the real SDK

def test_text_timeline_lists_every_frame_in_order(server: Any) -> None:
    log = EventLog()
    types, error = run(server, transcript("text"), log)
    assert error is None and "ping" not in types  # the SDK drops ping...
    assert timeline(log) == [  # ...the tap sees it
        ("message_start", None, None), ("content_block_start", 0, None), ("ping", None, None),
        ("content_block_delta", 0, "text_delta"), ("content_block_delta", 0, "text_delta"),
        ("content_block_delta", 0, "text_delta"), ("content_block_stop", 0, None),
        ("message_delta", None, None), ("message_stop", None, None),
    ]
    assert log.status == 200 and log.request_id and log.request_id.startswith("req_")
    assert log.exchanges[0].end == "eof" and log.exchanges[0].path == "/v1/messages"
    assert sum(r.size for r in log) == log.exchanges[0].bytes == len(
        (TRANSCRIPTS / "text.sse").read_bytes())
    assert all(r.raw is None for r in log)


FAULTS = {
    "midstream_error": text_turn("abc").stream().error_after(3),
    "garbage_line": text_turn("abc").stream().malformed_after(2),
    "bad_json": text_turn("abc").stream().malformed_after(2, BAD_JSON),
    "dropped": text_turn("abc").stream().drop_after(3),
    "ended_early": text_turn("abc").stream().end_after(4),
    "http_429": http_error(429, "rate_limit_error", "slow down"),
}


@pytest.mark.parametrize("name", [*transcript_names(), *FAULTS])
def test_the_sdk_sees_the_same_stream_with_and_without_the_tap(server: Any, name: str) -> None:
    response = FAULTS.get(name) or transcript(name)
    log = EventLog(keep_raw=True)
    assert run(server, response, log) == run(server, response)
    assert log.exchanges[0].status is not None


def test_unknown_event_type_is_shown(server: Any) -> None:
    log = EventLog()
    run(server, transcript("unknown_event_type"), log)
    assert "future_event" in log.types
    assert [e["type"] for e in sse_events("unknown_event_type")] == log.types


def test_midstream_error_is_logged_though_the_sdk_raises(server: Any) -> None:
    log = EventLog()
    types, error = run(server, text_turn("abc").stream().error_after(3), log)
    assert error == "APIStatusError" and types == ["message_start", "content_block_start"]
    assert log.types == ["message_start", "content_block_start", "ping", "error"]
    assert log[-1].delta == "overloaded_error" and log.status == 200


def test_http_429_is_logged_with_status_and_error_type(server: Any) -> None:
    response = http_error_file("429_rate_limit_error")
    log = EventLog(keep_raw=True)
    _, error = run(server, response, log)
    assert error == "RateLimitError"
    assert log.status == 429 and log.request_id == response.headers["request-id"]
    assert timeline(log) == [("error", None, "rate_limit_error")]
    assert log[0].size == len(response.body) and log[0].raw == response.body.decode()


def test_retries_become_exchanges(server: Any) -> None:
    server.enqueue(http_error(529, "overloaded_error", "busy", {"retry-after-ms": "5"}))
    log = EventLog()
    types, error = run(server, transcript("text"), log, max_retries=1)
    assert error is None and types[-1] == "message_stop"
    assert [e.status for e in log.exchanges] == [529, 200] and log.status == 200
    assert [r.request for r in log][:2] == [0, 1]
    assert log[0].delta == "overloaded_error"
    summary = log.summary()
    assert summary["requests"] == 2 and len(summary["per_request"]) == 2
    assert timeline_html(log).count('class="cnb-ev-request"') == 2
    assert "request 2: POST /v1/messages" in timeline_text(log)


def test_dropped_connection_ends_the_exchange_with_the_error(server: Any) -> None:
    log = EventLog()
    _, error = run(server, text_turn("abc").stream().drop_after(3), log)
    assert error in {"RemoteProtocolError", "ReadError"}
    assert log.types == ["message_start", "content_block_start", "ping"]
    assert log.exchanges[0].end == f"error: {error}"


def test_malformed_frames(server: Any) -> None:
    log = EventLog()
    _, error = run(server, text_turn("abc").stream().malformed_after(2), log)  # ignored by SDK
    assert error is None and log.types[2] == "malformed" and log.types[-1] == "message_stop"
    log = EventLog()
    _, error = run(server, text_turn("abc").stream().malformed_after(3, BAD_JSON), log)
    assert error is not None and log.types[3] == "malformed"  # the SDK raised on it


def test_tiny_chunks_parse_like_whole_frames(server: Any) -> None:
    body = (TRANSCRIPTS / "thinking.sse").read_bytes()
    pieces = tuple(body[i:i + 7] for i in range(0, len(body), 7))
    whole, tiny = EventLog(), EventLog()
    run(server, transcript("thinking"), whole)
    run(server, Stream(pieces, delay=0.0005), tiny)
    strip = [(r.type, r.index, r.delta, r.size) for r in whole]
    assert [(r.type, r.index, r.delta, r.size) for r in tiny] == strip


def test_the_log_can_be_read_while_the_body_streams(server: Any) -> None:
    server.enqueue(text_turn("one two three four five", chunk=4).stream().with_delay(0.01))
    log = EventLog()
    seen: list[list[str]] = []

    async def main() -> None:
        client = tapped_client(log, api_key="sk-test", base_url=server.base_url, max_retries=0)
        async with client:
            stream = await client.messages.create(stream=True, **REQUEST)
            async for _ in stream:
                seen.append(await asyncio.to_thread(lambda: log.types))  # another thread

    asyncio.run(main())
    final = log.types
    assert len(seen) > 3 and all(final[:len(s)] == s for s in seen)  # prefixes of the end
    assert 0 < len(seen[-1]) < len(final)  # read while the body was still coming


def test_non_streaming_response_is_one_record(server: Any) -> None:
    server.enqueue(text_turn("hello"))
    log = EventLog()

    async def main() -> str:
        client = tapped_client(log, api_key="sk-test", base_url=server.base_url, max_retries=0)
        async with client:
            message = await client.messages.create(**REQUEST)
        return message.content[0].text

    assert asyncio.run(main()) == "hello"
    assert timeline(log) == [("message", None, None)] and log.status == 200


def test_summary_numbers_are_consistent(server: Any) -> None:
    log = EventLog()
    run(server, text_turn("x" * 400, chunk=10).stream().with_delay(0.001), log)
    s = log.summary()
    assert sum(s["counts"].values()) == s["events"] == len(log) > 40
    assert all(g is None or g >= 0 for g in log.gaps())
    assert 0 <= s["gap_ms"]["p50"] <= s["gap_ms"]["p95"] <= s["gap_ms"]["max"]
    assert 0 <= s["headers_ms"] <= s["ttfb_ms"] <= s["first_event_ms"] <= s["duration_ms"]
    assert s["bytes"] == sum(r.size for r in log)
    assert [r.t for r in log] == sorted(r.t for r in log)
    assert s["status"] == 200 and s["end"] == "eof" and s["requests"] == 1


# ------------------------------------------------------------ a plugged transport

def _mock(chunks: list[bytes], headers: dict[str, str]) -> httpx2.MockTransport:
    async def body() -> Any:
        for chunk in chunks:
            yield chunk

    return httpx2.MockTransport(lambda request: httpx2.Response(200, headers=headers,
                                                                 content=body()))


def _fetch(transport: httpx2.AsyncBaseTransport, log: EventLog) -> list[bytes]:
    async def main() -> list[bytes]:
        async with tapped_http_client(log, transport=transport) as client, \
                client.stream("POST", "https://api.test/v1/messages") as response:
            return [chunk async for chunk in response.aiter_raw()]

    return asyncio.run(main())


def test_bytes_and_chunk_boundaries_pass_unchanged() -> None:
    body = (TRANSCRIPTS / "tool_use.sse").read_bytes()
    chunks = [body[i:i + 13] for i in range(0, len(body), 13)]
    log = EventLog()
    got = _fetch(_mock(chunks, {"content-type": "text/event-stream"}), log)
    assert got == chunks
    assert log.types == [e["type"] for e in sse_events("tool_use")]


def test_gzip_body_is_inflated_for_the_tap_only() -> None:
    body = (TRANSCRIPTS / "text.sse").read_bytes()
    packed = gzip.compress(body)
    log = EventLog()
    got = _fetch(_mock([packed[:50], packed[50:]], {"content-type": "text/event-stream",
                                                     "content-encoding": "gzip"}), log)
    assert b"".join(got) == packed
    assert log.types == [e["type"] for e in sse_events("text")]


def test_an_unknown_content_encoding_is_noted_not_parsed() -> None:
    log = EventLog()
    got = _fetch(_mock([b"\x00\x01"], {"content-type": "text/event-stream",
                                         "content-encoding": "br"}), log)
    assert got == [b"\x00\x01"] and len(log) == 0
    assert log.exchanges[0].note == "content-encoding br not decoded"
    assert "content-encoding br not decoded" in timeline_text(log)


def test_tapped_http_client_mirrors_the_sdk_default() -> None:
    default, tapped = anthropic.DefaultAsyncHttpxClient(), tapped_http_client(EventLog())
    assert tapped.follow_redirects is default.follow_redirects is True
    assert tapped.timeout == default.timeout
    asyncio.run(default.aclose())
    asyncio.run(tapped.aclose())


def test_transport_errors_before_headers_are_recorded() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    log = EventLog()
    with pytest.raises(httpx2.ConnectError):
        _fetch(httpx2.MockTransport(refuse), log)
    assert log.exchanges[0].end == "error: ConnectError" and log.status is None
    assert "error: ConnectError" in timeline_text(log)


def test_tap_transport_defaults_to_an_sdk_like_transport() -> None:
    tap = TapTransport(log=EventLog())
    assert isinstance(tap.inner, httpx2.AsyncHTTPTransport)
    asyncio.run(tap.aclose())


# ------------------------------------------------------------ the incremental parser

def _parse(chunks: list[bytes]) -> list[tuple[Any, ...]]:
    parser = FrameParser(keep_raw=True)
    frames = [f for chunk in chunks for f in parser.feed(chunk)] + parser.finish()
    return [astuple(f) for f in frames]


MULTILINE = (b'event: content_block_delta\ndata: {"type":"content_block_delta",\n'
             b'data: "index":3,"delta":{"type":"text_delta","text":"a\\nb"}}\n\n')
ODD = (b": keep-alive comment\n\n"  # a comment-only block
       b"event: message_start\n: a comment inside\nid: 7\nretry: 10\nfoo: bar\n"
       b'data:{"type":"message_start","message":{}}\n\n'
       b"\n\n"  # stray blank lines
       b"data: [not json]\n\n"
       b'event: ping\ndata: {"type": "ping"}\n\n'
       b'data: {"type":"message_stop"}\n\n'  # no event field: the JSON type
       b"event: x\n\n"  # no data
       b"data: 42\n\n"  # not an object
       b'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}')  # cut off


def _bodies() -> st.SearchStrategy[bytes]:
    names = st.sampled_from(["text", "thinking", "tool_use_parallel", "web_search",
                             "midstream_error_overloaded", "unknown_event_type"])
    base = st.one_of(names.map(lambda n: (TRANSCRIPTS / f"{n}.sse").read_bytes()),
                     st.just(MULTILINE + ODD))
    ending = st.sampled_from([b"\n", b"\r\n", b"\r"])
    return st.tuples(base, ending).map(lambda pair: pair[0].replace(b"\n", pair[1]))


@settings(max_examples=200, deadline=None)
@given(body=_bodies(), cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=40))
def test_any_chunking_parses_identically(body: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(body) + 1) for c in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert _parse(chunks) == _parse([body])


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_split_into_two_chunks_parses_identically(ending: bytes) -> None:
    body = ((TRANSCRIPTS / "text.sse").read_bytes() + MULTILINE + ODD).replace(b"\n", ending)
    whole = _parse([body])
    for k in range(len(body) + 1):
        assert _parse([body[:k], body[k:]]) == whole, k


def test_mixed_line_endings_keep_the_byte_count() -> None:
    body = b'event: ping\r\ndata: {"type":"ping"}\r\n\r' + b'event: ping\ndata: {"type":"ping"}\n\n'
    for k in range(len(body) + 1):
        frames = _parse([body[:k], body[k:]])
        assert [f[0] for f in frames] == ["ping", "ping"] and sum(f[3] for f in frames) == len(body)


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_parser_on_odd_input(ending: bytes) -> None:
    body = (MULTILINE + ODD).replace(b"\n", ending)
    frames = _parse([body[i:i + 1] for i in range(len(body))])  # one byte at a time
    assert [(f[0], f[1], f[2]) for f in frames] == [
        ("content_block_delta", 3, "text_delta"), ("comment", None, None),
        ("message_start", None, None), ("malformed", None, None), ("ping", None, None),
        ("message_stop", None, None), ("malformed", None, None), ("malformed", None, None),
        ("malformed", None, None),
    ]
    assert sum(f[3] for f in frames) == len(body)
    assert frames[-1][4].startswith("event: content_block_stop")  # raw of the cut frame


def test_parser_needs_a_blank_line_to_end_a_frame() -> None:
    parser = FrameParser()
    assert parser.feed(b'event: ping\ndata: {"type":"ping"}\n') == []
    assert [f.type for f in parser.feed(b"\n")] == ["ping"]
    assert parser.finish() == []


# ------------------------------------------------------------ output

def _synthetic(n: int, kind: str = "content_block_delta") -> EventLog:
    log = EventLog(request_sent_at=100.0)
    log.exchanges.append(Exchange("POST", "/v1/messages", 0.0, 0.01, 0.02, 0.02 + n / 1000,
                                  "eof", 200, "req_1", "text/event-stream", 50 * n))
    log.records.extend(EventRecord(0.02 + i / 1000, kind, 0, "text_delta", 50)
                       for i in range(n))
    return log


@pytest.mark.parametrize("keep_raw", [False, True])
def test_jsonl_round_trips(server: Any, tmp_path: Any, keep_raw: bool) -> None:
    server.enqueue(http_error(529, "overloaded_error", "busy", {"retry-after-ms": "5"}))
    log = EventLog(keep_raw=keep_raw)
    run(server, transcript("tool_use"), log, max_retries=1)
    assert EventLog.from_jsonl(log.to_jsonl()) == log
    log.write_jsonl(tmp_path / "log.jsonl")
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines[:3]] == ["log", "request", "request"]
    assert EventLog.from_jsonl((tmp_path / "log.jsonl").read_text()) == log
    assert all((r.raw is not None) is keep_raw for r in log)


def test_html_escapes_an_unknown_event_type_name(server: Any) -> None:
    evil = "<script>alert(1)</script>"
    log = EventLog(keep_raw=True)
    run(server, text_turn("hi").stream().unknown_after(2, evil), log)
    assert evil in log.types and evil in timeline_text(log)
    page = timeline_html(log)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="cnb-ev-row cnb-ev-unknown"' in page


def test_long_logs_collapse() -> None:
    log = _synthetic(1000)
    page = timeline_html(log)
    assert page.count('class="cnb-ev-row') == 250 and "… 750 more" in page
    assert "<td class=\"cnb-ev-num\">999</td>" in page  # the tail is shown
    text = timeline_text(log)
    assert "… 750 more" in text and len(text.splitlines()) == 4 + 1 + 250 + 1
    short = _synthetic(250)
    assert "cnb-ev-more\"" not in timeline_html(short)
    assert timeline_html(short).count('class="cnb-ev-row') == 250


def test_html_classes_are_prefixed() -> None:
    import re

    page = timeline_html(_synthetic(3))
    classes = {c for group in re.findall(r'class="([^"]*)"', page) for c in group.split()}
    assert classes and all(c.startswith("cnb-ev-") for c in classes)
