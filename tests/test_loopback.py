"""The loopback Messages API, consumed by the real anthropic SDK over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import copy
import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx2
import pytest
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from claude_nb.loopback import (
    BAD_JSON, FAKE_SIGNATURE, GARBAGE_LINE, LoopbackServer, RawBlock, RedactedThinking,
    ServerToolUse, Text, Thinking, ToolUse, Turn, WebSearchResult, http_error, http_error_file,
    http_error_names, text_turn, transcript, transcript_names, validate,
)

REQUEST: dict[str, Any] = {
    "model": "claude-test", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hi"}],
}

# transcript -> (stop_reason, block types) of the final message
TRANSCRIPTS = {
    "citations_document": ("end_turn", ["text"]),
    "compaction": ("end_turn", ["compaction", "text"]),
    "fallback": ("end_turn", ["fallback", "text"]),
    "max_tokens": ("max_tokens", ["text"]),
    "pause_turn": ("pause_turn", ["server_tool_use"]),
    "redacted_thinking": ("end_turn", ["thinking", "redacted_thinking", "text"]),
    "refusal": ("refusal", ["text"]),
    "stop_sequence": ("stop_sequence", ["text"]),
    "text": ("end_turn", ["text"]),
    "thinking": ("end_turn", ["thinking", "text"]),
    "thinking_omitted": ("end_turn", ["thinking", "text"]),
    "tool_use": ("tool_use", ["text", "tool_use"]),
    "tool_use_max_tokens_truncated": ("max_tokens", ["text", "tool_use"]),
    "tool_use_parallel": ("tool_use", ["text", "tool_use", "tool_use"]),
    "tool_use_with_thinking": ("tool_use", ["thinking", "tool_use"]),
    "unknown_event_type": ("end_turn", ["text"]),
    "web_search": ("end_turn", ["text", "server_tool_use", "web_search_tool_result", "text",
                                "text"]),
    "web_search_error_result": ("end_turn", ["server_tool_use", "web_search_tool_result",
                                             "text"]),
}
BETA_TRANSCRIPTS = {"compaction", "fallback"}  # block types only the beta types model
ERROR_TRANSCRIPTS = {"midstream_error_overloaded": "overloaded_error",
                     "error_before_content": "api_error"}

HTTP_ERRORS = {
    "400_invalid_request_error": anthropic.BadRequestError,
    "401_authentication_error": anthropic.AuthenticationError,
    "402_billing_error": anthropic.PaymentRequiredError,
    "403_permission_error": anthropic.PermissionDeniedError,
    "404_not_found_error": anthropic.NotFoundError,
    "413_request_too_large": anthropic.ContentTooLargeError,
    "429_enforced_spend_limit": anthropic.EnforcedSpendLimitReachedError,
    "429_rate_limit_error": anthropic.RateLimitError,
    "500_api_error": anthropic.InternalServerError,
    "529_overloaded_error": anthropic.OverloadedError,
}


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def client(srv: LoopbackServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=srv.base_url, api_key="test-key", max_retries=0) as c:
        yield c


def post(srv: LoopbackServer, body: Any,
         path: str = "/v1/messages") -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP POST, to see exactly what the server sends."""
    url = urlsplit(srv.base_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


# ------------------------------------------------------------ transcripts through the SDK

def test_every_shared_transcript_is_covered() -> None:
    assert set(transcript_names()) == set(TRANSCRIPTS) | set(ERROR_TRANSCRIPTS)
    assert set(http_error_names()) == set(HTTP_ERRORS)


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_sdk_consumes_transcript(srv: LoopbackServer, client: anthropic.Anthropic,
                                 name: str) -> None:
    stop_reason, types = TRANSCRIPTS[name]
    srv.enqueue(transcript(name), transcript(name), transcript(name))
    api: Any = client.beta.messages if name in BETA_TRANSCRIPTS else client.messages

    with api.stream(**REQUEST) as stream:
        streamed = stream.get_final_message()
    raw_types = [event.type for event in api.create(**REQUEST, stream=True)]
    created = api.create(**REQUEST)

    assert streamed.stop_reason == created.stop_reason == stop_reason
    assert [b.type for b in streamed.content] == [b.type for b in created.content] == types
    sent = srv.requests[0].stream
    assert sent is not None and sent.complete
    assert raw_types == [e for e in sent.events if e != "ping"]
    if name != "tool_use_max_tokens_truncated":  # the SDK parses the cut-off partial JSON
        assert streamed.model_dump() == created.model_dump()


def test_transcript_text_and_tool_input(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(transcript("text"), transcript("tool_use"))
    assert client.messages.create(**REQUEST).content[0].text == "Hello! How can I help you today?"
    with client.messages.stream(**REQUEST) as stream:
        tool = stream.get_final_message().content[1]
    assert tool.type == "tool_use"
    assert tool.input == {"location": "San Francisco, CA", "unit": "fahrenheit"}


@pytest.mark.parametrize("name", sorted(ERROR_TRANSCRIPTS))
def test_error_event_raises_status_error(srv: LoopbackServer, client: anthropic.Anthropic,
                                         name: str) -> None:
    srv.enqueue(transcript(name))
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(**REQUEST) as stream:
            stream.get_final_message()
    assert info.value.status_code == 200
    assert info.value.type == ERROR_TRANSCRIPTS[name]


def test_streams_a_transcript_byte_for_byte(srv: LoopbackServer) -> None:
    srv.enqueue(transcript("web_search"))
    status, headers, body = post(srv, {**REQUEST, "stream": True})
    assert status == 200
    assert body == transcript("web_search").encode()
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["request-id"].startswith("req_")


# ------------------------------------------------------------ turns built in Python

def every_block_turn() -> Turn:
    search = ServerToolUse("web_search", {"query": "loopback servers"})
    results = [{"type": "web_search_result", "title": "Loopback", "url": "https://example.com/",
                "encrypted_content": "RW5j", "page_age": None}]
    citation = {"type": "web_search_result_location", "cited_text": "Loopback is local.",
                "url": "https://example.com/", "title": "Loopback", "encrypted_index": "RW5j"}
    return Turn(
        blocks=[Thinking("Let me think about this carefully. " * 3), RedactedThinking(),
                Text("Searching **now**."), search, WebSearchResult(search.id, results),
                Text("It is local.", citations=[citation]),
                ToolUse("get_weather", {"location": "Paris", "unit": "celsius"})],
        stop_reason="tool_use", chunk=7,
        usage={"input_tokens": 42,
               "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}},
    )


def test_built_turn_streams_every_block_type(srv: LoopbackServer,
                                             client: anthropic.Anthropic) -> None:
    turn = every_block_turn()
    srv.enqueue(turn, turn)
    with client.messages.stream(**REQUEST) as stream:
        deltas = [e.delta for e in stream if e.type == "content_block_delta"]
        message = stream.get_final_message()

    assert [b.type for b in message.content] == [
        "thinking", "redacted_thinking", "text", "server_tool_use", "web_search_tool_result",
        "text", "tool_use"]
    thinking, _, _, search, result, cited, tool = message.content
    assert thinking.thinking == "Let me think about this carefully. " * 3
    assert thinking.signature == FAKE_SIGNATURE
    assert search.input == {"query": "loopback servers"} and result.tool_use_id == search.id
    assert cited.citations[0].cited_text == "Loopback is local."
    assert tool.input == {"location": "Paris", "unit": "celsius"}
    assert message.stop_reason == "tool_use" and message.usage.input_tokens == 42
    assert message.usage.server_tool_use.web_search_requests == 1
    assert max(len(d.text) for d in deltas if d.type == "text_delta") <= 7
    assert next(d.partial_json for d in deltas if d.type == "input_json_delta") == ""
    assert client.messages.create(**REQUEST).model_dump() == message.model_dump()


def test_built_frames_match_the_wire_format() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    frames = every_block_turn().stream().frames
    output_tokens = None
    for raw in frames:
        match = re.fullmatch(rb"event: (\w+)\ndata: (.+)\n\n", raw)
        assert match, raw
        data = json.loads(match[2])
        assert data["type"] == match[1].decode()
        compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        assert match[2] == (b'{"type": "ping"}' if data["type"] == "ping" else compact)
        if data["type"] != "ping":  # the SDK drops pings before validating
            adapter.validate_python(data)
        if data["type"] == "message_delta":
            output_tokens = data["usage"]["output_tokens"]
    assert frames[2] == b'event: ping\ndata: {"type": "ping"}\n\n'
    assert output_tokens and output_tokens > 1


def test_unknown_block_type_reaches_the_sdk(srv: LoopbackServer,
                                            client: anthropic.Anthropic) -> None:
    srv.enqueue(Turn(blocks=[RawBlock({"type": "hologram", "frames": 3}), Text("ok")]))
    with client.messages.stream(**REQUEST) as stream:
        message = stream.get_final_message()
    assert [b.type for b in message.content] == ["hologram", "text"]


def test_queue_is_fifo_then_auto_reply(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    first = client.messages.create(**{**REQUEST, "messages": [
        {"role": "user", "content": "What is 2+2?\nAnswer briefly."}]})
    assert "> What is 2+2?\n> Answer briefly." in first.content[0].text
    assert "not Claude" in first.content[0].text and first.model == "claude-test"

    srv.auto_reply = lambda body: text_turn(f"custom reply for {body['model']}")
    srv.enqueue(text_turn("one"), text_turn("two"))
    assert srv.pending == 2
    texts = [client.messages.create(**REQUEST).content[0].text for _ in range(3)]
    assert texts == ["one", "two", "custom reply for claude-test"]


def test_count_tokens_is_deterministic(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    short = client.messages.count_tokens(model="m", messages=REQUEST["messages"])
    long = client.messages.count_tokens(
        model="m", messages=[{"role": "user", "content": "word " * 400}])
    assert short.input_tokens == client.messages.count_tokens(
        model="m", messages=REQUEST["messages"]).input_tokens
    assert 0 < short.input_tokens < long.input_tokens
    status, _, body = post(srv, {"model": "m"}, "/v1/messages/count_tokens")
    assert status == 400 and json.loads(body)["error"]["message"] == "messages: Field required"


def test_records_requests_without_the_key(srv: LoopbackServer,
                                          client: anthropic.Anthropic) -> None:
    client.messages.create(**REQUEST)
    record = srv.requests[-1]
    assert record.path == "/v1/messages" and record.status == 200 and record.error is None
    assert record.body["messages"] == REQUEST["messages"]
    assert "anthropic-version" in record.headers
    assert record.headers["authorization"] == "[redacted]"
    assert "test-key" not in repr(srv.requests)
    status, _, _ = post(srv, REQUEST, "/v1/nowhere")
    assert status == 404 and srv.requests[-1].status == 404


# ------------------------------------------------------------ HTTP errors

@pytest.mark.parametrize("name", sorted(HTTP_ERRORS))
def test_http_error_files_give_the_sdk_exception(srv: LoopbackServer,
                                                 client: anthropic.Anthropic, name: str) -> None:
    srv.enqueue(http_error_file(name))
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(**REQUEST)
    assert type(info.value) is HTTP_ERRORS[name]
    assert info.value.status_code == int(name[:3])
    assert info.value.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"


def test_built_http_error_with_retry_after(srv: LoopbackServer,
                                           client: anthropic.Anthropic) -> None:
    srv.enqueue(http_error(429, "rate_limit_error", "Slow down.", headers={"retry-after": "12"}))
    with pytest.raises(anthropic.RateLimitError) as info, client.messages.stream(**REQUEST):
        pass
    error = info.value
    assert error.response.headers["retry-after"] == "12"
    assert isinstance(error.body, dict) and error.body["error"]["message"] == "Slow down."
    assert error.body["request_id"] == error.request_id


def test_sdk_retries_an_overloaded_answer(srv: LoopbackServer) -> None:
    srv.enqueue(http_error_file("529_overloaded_error"), text_turn("after retry"))
    with anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=1) as retrying:
        message = retrying.messages.create(
            **REQUEST, extra_headers={"x-test": "1"}, timeout=5)
    assert message.content[0].text == "after retry"
    assert [r.status for r in srv.requests] == [529, 200]


# ------------------------------------------------------------ faults

def test_error_event_mid_stream(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("partial answer here", chunk=4).stream().error_after(5),
                text_turn("x").stream().error_after(1))
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(**REQUEST) as stream:
            for _ in stream:
                pass
    assert info.value.status_code == 200 and info.value.type == "overloaded_error"
    assert stream.current_message_snapshot.content[0].text == "partial "
    with pytest.raises(anthropic.OverloadedError):  # non-streaming: an HTTP 529
        client.messages.create(**REQUEST)


def test_dropped_connection_raises(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("dropped").stream().drop_after(3), text_turn("x").stream().drop_after(2))
    with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
        with client.messages.stream(**REQUEST) as stream:
            stream.get_final_message()
    sent = srv.requests[0].stream
    assert sent is not None and len(sent.events) == 3 and not sent.complete
    assert sent.disconnected_at is None  # the server hung up, not the client
    with pytest.raises(anthropic.APIConnectionError):  # no response at all: wrapped, retryable
        client.messages.create(**REQUEST)


def test_end_without_message_stop(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("cut short").stream().end_after(4))
    with client.messages.stream(**REQUEST) as stream:
        message = stream.get_final_message()
    assert message.stop_reason is None and message.content[0].text == "cut short"


def test_unknown_event_and_garbage_line_are_ignored(srv: LoopbackServer,
                                                    client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("still fine").stream().unknown_after(3).malformed_after(4))
    with client.messages.stream(**REQUEST) as stream:
        assert stream.get_final_text() == "still fine"
    sent = srv.requests[0].stream
    assert sent is not None and sent.events[3:5] == ["future_event", ""]


def test_invalid_json_frame_raises(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("x").stream().malformed_after(3, BAD_JSON))
    with pytest.raises(ValueError), client.messages.stream(**REQUEST) as stream:
        stream.get_final_message()


def test_delay_and_timed_stall(srv: LoopbackServer, client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("slow").stream().with_delay(0.05).stall_after(2, 0.3))
    start = time.monotonic()
    with client.messages.stream(**REQUEST) as stream:
        assert stream.get_final_text() == "slow"
    assert 0.3 + 6 * 0.05 <= time.monotonic() - start < 2


def test_fault_position_must_exist() -> None:
    with pytest.raises(ValueError):
        text_turn("x").stream().drop_after(99)
    assert GARBAGE_LINE.endswith(b"\n\n")


# ------------------------------------------------------------ disconnects

def test_closing_a_slow_stream_is_seen_at_once(srv: LoopbackServer,
                                               client: anthropic.Anthropic) -> None:
    srv.enqueue(text_turn("z" * 400, chunk=10).stream().with_delay(0.1))
    with client.messages.stream(**REQUEST) as stream:
        events = iter(stream)
        assert [next(events).type, next(events).type] == ["message_start",
                                                           "content_block_start"]
    closed_at = time.monotonic()
    sent = srv.wait_disconnect(timeout=2)
    assert sent.disconnected_at is not None and sent.disconnected_at - closed_at < 0.25
    assert sent.events_after_disconnect == 0
    assert len(sent.events) <= 3 and not sent.complete


def test_cancelling_an_async_stream_during_a_stall(srv: LoopbackServer) -> None:
    srv.enqueue(text_turn("never finished").stream().stall_after(3))

    async def run() -> float:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k",
                                            max_retries=0) as client:
            async def consume() -> None:
                async with client.messages.stream(**REQUEST) as stream:
                    async for _ in stream:
                        pass
            task = asyncio.create_task(consume())
            await asyncio.to_thread(srv.wait_for, lambda: srv.requests and srv.requests[0].stream
                                    and len(srv.requests[0].stream.events) == 3)
            await asyncio.sleep(0.05)
            task.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            return cancelled_at

    cancelled_at = asyncio.run(run())
    sent = srv.wait_disconnect(timeout=2)
    assert sent.disconnected_at is not None and sent.disconnected_at - cancelled_at < 0.25
    assert sent.events == ["message_start", "content_block_start", "ping"]
    assert sent.events_after_disconnect == 0


def test_stop_ends_an_endless_stall() -> None:
    server = LoopbackServer().start()
    server.enqueue(text_turn("x").stream().stall_after(1))
    with anthropic.Anthropic(base_url=server.base_url, api_key="k", max_retries=0) as client:
        with client.messages.stream(**REQUEST) as stream:
            next(iter(stream))
            started = time.monotonic()
            server.stop()
            with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
                stream.get_final_message()
    assert time.monotonic() - started < 1


def test_concurrent_streams(srv: LoopbackServer) -> None:
    for i in range(4):
        srv.enqueue(text_turn(f"answer {i} " * 10, chunk=10).stream().with_delay(0.05))
    ready = threading.Barrier(4)

    def run(_: int) -> str:
        with anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            ready.wait(timeout=5)
            with c.messages.stream(**REQUEST) as stream:
                return stream.get_final_text()

    with ThreadPoolExecutor(4) as pool:
        texts = sorted(pool.map(run, range(4)))
    assert texts == [f"answer {i} " * 10 for i in range(4)]
    streams = [r.stream for r in srv.requests if r.stream is not None]
    assert len(streams) == 4
    # every stream started before any finished: they were served side by side
    assert max(s.started_at for s in streams) < min(s.finished_at or 0 for s in streams)


# ------------------------------------------------------------ validation

def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


TOOL_USE = {"type": "tool_use", "id": "toolu_A", "name": "f", "input": {}}
RESULT_A = {"type": "tool_result", "tool_use_id": "toolu_A", "content": "42"}
RESULT_B = {"type": "tool_result", "tool_use_id": "toolu_B", "content": "42"}
THINKING = {"type": "thinking", "thinking": "hmm", "signature": FAKE_SIGNATURE}


def image(media_type: str, data: bytes) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": base64.b64encode(data).decode()}}


def body(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 2048, "messages": list(messages), **fields}


def without(field: str) -> dict[str, Any]:
    request = body(user("hi"))
    del request[field]
    return request


INVALID = {
    "missing model": (without("model"), "model: Field required"),
    "missing max_tokens": (without("max_tokens"), "max_tokens: Field required"),
    "missing messages": (without("messages"), "messages: Field required"),
    "zero max_tokens": (body(user("hi"), max_tokens=0), "greater than or equal to 1"),
    "no messages": (body(), "at least one message"),
    "bad role": (body({"role": "system", "content": "hi"}), "'user' or 'assistant'"),
    "assistant first": (body(assistant("hi"), user("hi")), 'first message must use the "user"'),
    "two users": (body(user("a"), user("b")), 'multiple "user" roles in a row'),
    "two assistants": (body(user("a"), assistant("b"), assistant("c")),
                       'multiple "assistant" roles in a row'),
    "tool_use unanswered": (body(user("a"), assistant([TOOL_USE]), user("ok")),
                            "`tool_use` ids were found without `tool_result`"),
    "tool_use last": (body(user("a"), assistant([{"type": "text", "text": "x"}, TOOL_USE])),
                      "toolu_A"),
    "stray tool_result": (body(user("a"), assistant("b"), user([RESULT_A])),
                          "unexpected `tool_use_id`"),
    "wrong tool_result": (body(user("a"), assistant([TOOL_USE]), user([RESULT_A, RESULT_B])),
                          "unexpected `tool_use_id` found in `tool_result` blocks: toolu_B"),
    "empty assistant list": (body(user("a"), assistant([]), user("b")), "non-empty content"),
    "empty assistant string": (body(user("a"), assistant(""), user("b")), "non-empty content"),
    "empty user": (body(user("")), "non-empty content"),
    "empty final assistant string": (body(user("a"), assistant("")), "must be non-empty"),
    "empty text block": (body(user([{"type": "text", "text": ""}])), "must be non-empty"),
    "blank text block": (body(user([{"type": "text", "text": " \n"}])), "non-whitespace"),
    "thinking without signature": (
        body(user("a"), assistant([{"type": "thinking", "thinking": "hmm"}, TOOL_USE]),
             user([RESULT_A])), "signature: Field required"),
    "thinking with empty signature": (
        body(user("a"), assistant([{**THINKING, "signature": ""}, TOOL_USE]), user([RESULT_A])),
        "Invalid `signature`"),
    "prefill trailing space": (body(user("a"), assistant("The answer is ")),
                               "trailing whitespace"),
    "prefill block trailing newline": (
        body(user("a"), assistant([{"type": "text", "text": "Answer:\n"}])),
        "trailing whitespace"),
    "small thinking budget": (body(user("a"), thinking={"type": "enabled", "budget_tokens": 500}),
                              "budget_tokens: Input should be greater than or equal to 1024"),
    "budget not below max_tokens": (
        body(user("a"), thinking={"type": "enabled", "budget_tokens": 2048}),
        "`max_tokens` must be greater than `thinking.budget_tokens`"),
    "image bytes of another type": (body(user([image("image/webp", b"RIFF\0\0\0\0AVI LIST")])),
                                    "the image data does not match it"),
    "svg image": (body(user([image("image/svg+xml", b"<svg/>")])), "Input should be 'image/jpeg'"),
}

VALID = {
    "tool loop with thinking": body(
        user("weather?"), assistant([THINKING, {"type": "text", "text": "Checking."}, TOOL_USE]),
        user([RESULT_A, {"type": "text", "text": "and be brief"}]),
        thinking={"type": "enabled", "budget_tokens": 1024}),
    "parallel tools": body(
        user("a"), assistant([TOOL_USE, {**TOOL_USE, "id": "toolu_B"}]),
        user([RESULT_B, RESULT_A]), assistant("Both done."), user("thanks")),
    "server tools need no result": body(
        user("a"), assistant([{"type": "server_tool_use", "id": "srvtoolu_1",
                               "name": "web_search", "input": {"query": "q"}},
                              {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                               "content": []}]), user("b")),
    "prefill": body(user("a"), assistant("The answer is")),
    "images": body(user([image("image/png", b"\x89PNG\r\n\x1a\n"),
                         image("image/webp", b"RIFF\0\0\0\0WEBPVP8 "),
                         {"type": "text", "text": "what are these?"}])),
    "empty prefill list": body(user("a"), assistant([])),
    "redacted thinking": body(user("a"), assistant([{"type": "redacted_thinking", "data": "x"},
                                                    {"type": "text", "text": "hi"}]), user("b")),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_rejects_invalid_requests(srv: LoopbackServer, case: str) -> None:
    request, message = INVALID[case]
    srv.enqueue(text_turn("kept for the next valid request"))
    status, headers, raw = post(srv, request)
    error = json.loads(raw)
    assert status == 400, error
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]
    assert error["request_id"] == headers["request-id"]
    assert srv.requests[-1].error == error["error"]["message"]
    assert srv.pending == 1


@pytest.mark.parametrize("case", sorted(VALID))
def test_accepts_valid_requests(srv: LoopbackServer, client: anthropic.Anthropic,
                                case: str) -> None:
    request = copy.deepcopy(VALID[case])
    assert validate(request) is None
    assert client.messages.create(**request).content[0].type == "text"


def test_sdk_sees_validation_errors_as_bad_request(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="roles must alternate"):
        with client.messages.stream(**body(user("a"), user("b"))):
            pass


# ------------------------------------------------------------ command line

def test_python_m_prints_the_url_and_serves() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "claude_nb.loopback", "--delay", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with anthropic.Anthropic(base_url=url, api_key="k", max_retries=0) as client:
            text = client.messages.create(**REQUEST).content[0].text
        assert "Loopback reply" in text and "> Hi" in text
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
