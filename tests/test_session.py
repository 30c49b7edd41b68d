"""The Python API against the loopback server: real SDK, real HTTP, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from claude_nb.protocol.errors import APIError, ConnectionLost, StreamError, StreamStalled
from claude_nb.protocol.events import Failed, Finished, Retrying, ToolChanged, TurnBegan
from claude_nb.loopback import (Text, ToolUse, Turn as ScriptTurn, http_error,
                                http_error_file, text_turn, transcript)
from claude_nb.run.session import Conversation
from claude_nb.protocol.changes import BlockDelta


def valid(server: Any) -> None:
    """Every request the server saw was accepted by its API-like validation."""
    assert [r.error for r in server.requests if r.error] == []


def test_sync_iteration_streams_events_in_order(api: Any) -> None:
    api.enqueue(text_turn("Hello there, general Kenobi.", chunk=5))
    reply = Conversation().send("hi")
    events = list(reply)
    assert isinstance(events[0], TurnBegan) and isinstance(events[-1], Finished)
    deltas = "".join(e.text for e in events if isinstance(e, BlockDelta) and e.kind == "text")
    assert deltas == "Hello there, general Kenobi." == reply.text
    assert reply.status == "done" and reply.stop_reason == "end_turn"
    assert reply.usage.output_tokens > 0 and reply.ttfb is not None and reply.ttfb > 0
    assert reply.tokens_per_second is not None


def test_async_await_and_async_iteration(api: Any) -> None:
    api.enqueue(text_turn("one"), text_turn("two"))
    conv = Conversation()

    async def main() -> list[str]:
        first = await conv.send("a")
        kinds = [type(e).__name__ async for e in conv.send("b")]
        return [first.text, kinds[-1]]

    assert asyncio.run(main()) == ["one", "Finished"]
    assert [m["role"] for m in conv.messages] == ["user", "assistant"] * 2


def test_multi_turn_history_is_sent(api: Any) -> None:
    api.enqueue(transcript("thinking"), text_turn("ok"))
    conv = Conversation(thinking=2048)
    conv.send("what is 27*453?").wait()
    conv.send("and again?").wait()
    sent = api.requests[-1].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assistant = sent["messages"][1]["content"]
    assert assistant[0]["type"] == "thinking" and assistant[0]["signature"]
    valid(api)


def test_stop_from_another_thread_closes_the_stream(api: Any) -> None:
    api.enqueue(text_turn("word " * 400, chunk=5).stream().with_delay(0.01))
    conv = Conversation()
    reply = conv.send("slow please")
    got: list[str] = []

    def consume() -> None:
        for event in reply:
            if isinstance(event, BlockDelta):
                got.append(event.text)

    thread = threading.Thread(target=consume)
    thread.start()
    api.wait_for(lambda: len(got) > 5)
    t0 = time.monotonic()
    reply.stop()
    record = api.wait_disconnect(timeout=5)
    assert record.disconnected_at is not None and time.monotonic() - t0 < 2
    assert record.events_after_disconnect == 0
    thread.join(5)
    assert reply.status == "stopped" and reply.stop_reason == "stopped"
    assert reply.text == "".join(got) and reply.text
    assert conv.messages[-1] == {"role": "assistant",
                                 "content": [{"type": "text", "text": reply.text}]}
    api.enqueue(text_turn("next"))
    assert conv.send("continue").wait().text == "next"
    valid(api)


def test_stop_during_a_silent_stall_is_immediate(api: Any) -> None:
    api.enqueue(text_turn("before the stall, ").stream().stall_after(4, seconds=30))
    reply = Conversation().send("x")

    async def main() -> None:
        task = asyncio.ensure_future(reply.run())
        await asyncio.to_thread(api.wait_for, lambda: reply.text)
        t0 = time.monotonic()
        reply.stop()
        await task
        assert time.monotonic() - t0 < 1.0

    asyncio.run(main())
    assert reply.status == "stopped" and reply.text.startswith("before")


def test_stop_before_anything_arrived_rolls_the_prompt_back(api: Any) -> None:
    api.enqueue(text_turn("late").stream().stall_after(0, seconds=30))
    conv = Conversation()
    reply = conv.send("x")

    async def main() -> None:
        task = asyncio.ensure_future(reply.run())
        await asyncio.to_thread(api.wait_for, lambda: api.requests)
        reply.stop()
        await task

    asyncio.run(main())
    assert reply.status == "stopped" and conv.messages == []
    api.enqueue(text_turn("fresh"))
    assert conv.send("again").wait().text == "fresh"
    valid(api)


@pytest.mark.parametrize("name", ["400_invalid_request_error", "401_authentication_error",
                                  "403_permission_error", "404_not_found_error",
                                  "413_request_too_large", "402_billing_error"])
def test_http_errors_become_values(api: Any, name: str) -> None:
    api.enqueue(http_error_file(name))
    conv = Conversation()
    reply = conv.send("x").wait()
    assert reply.status == "failed" and isinstance(reply.error, APIError)
    assert reply.error.status == int(name[:3]) and reply.error.request_id
    assert reply.error.hint and "sk-test" not in (reply.error.message + reply.error.hint)
    assert conv.messages == []


def test_retryable_errors_are_retried_then_succeed(api: Any) -> None:
    api.enqueue(http_error_file("529_overloaded_error"), http_error(500, "api_error", "boom"),
                text_turn("finally"))
    events = list(Conversation(max_retries=2).send("x"))
    retries = [e for e in events if isinstance(e, Retrying)]
    assert [r.attempt for r in retries] == [1, 2]
    assert events[-1].status == "done"
    assert len(api.requests) == 3


def test_retry_after_is_obeyed_up_to_the_cap(api: Any) -> None:
    api.enqueue(http_error(429, "rate_limit_error", "slow down", headers={"retry-after": "1"}),
                text_turn("ok"))
    t0 = time.monotonic()
    reply = Conversation(retry_cap=5).send("x").wait()
    assert reply.text == "ok" and time.monotonic() - t0 >= 0.9
    api.enqueue(http_error(429, "rate_limit_error", "later", headers={"retry-after": "3600"}))
    t0 = time.monotonic()
    reply = Conversation(retry_cap=5).send("x").wait()
    assert reply.status == "failed" and reply.error.retry_after == 3600
    assert time.monotonic() - t0 < 2


def test_midstream_error_keeps_partial_text(api: Any) -> None:
    api.enqueue(text_turn("partial answer that breaks", chunk=4).stream().error_after(6))
    conv = Conversation()
    reply = conv.send("x").wait()
    assert isinstance(reply.error, StreamError) and reply.error.type == "overloaded_error"
    assert reply.text and "partial answer that breaks".startswith(reply.text)
    assert conv.messages[-1]["content"][0]["text"] == reply.text
    api.enqueue(text_turn("recovered"))
    assert conv.send("again").wait().text == "recovered"
    valid(api)


def test_dropped_connection_and_stall(api: Any) -> None:
    api.enqueue(text_turn("dropping soon", chunk=3).stream().drop_after(5))
    reply = Conversation().send("x").wait()
    assert isinstance(reply.error, ConnectionLost) and reply.text
    api.enqueue(text_turn("stalling", chunk=3).stream().stall_after(4, seconds=5))
    reply = Conversation(read_timeout=0.5).send("x").wait()
    assert isinstance(reply.error, StreamStalled) and reply.text


def test_stream_without_message_stop_is_truncated(api: Any) -> None:
    api.enqueue(text_turn("cut short here", chunk=3).stream().end_after(5))
    reply = Conversation().send("x").wait()
    assert reply.status == "done" and reply.stop_reason == "truncated" and reply.text


def test_tool_loop_runs_python_functions(api: Any) -> None:
    from claude_nb.demo.examples import calculator, lookup

    api.enqueue(ScriptTurn([Text("Let me compute."), ToolUse("calculator", {"expression": "6*7"}),
                            ToolUse("lookup", {"name": "helium"})], stop_reason="tool_use"),
                text_turn("It is 42."))
    conv = Conversation(tools=[calculator, lookup])
    events = list(conv.send("what is 6*7?"))
    statuses = [(e.block.name, e.status) for e in events if isinstance(e, ToolChanged)]
    assert ("calculator", "done") in statuses and ("lookup", "done") in statuses
    second = api.requests[-1].body
    assert [t["name"] for t in second["tools"]] == ["calculator", "lookup"]
    results = second["messages"][2]["content"]
    assert results[0]["type"] == "tool_result" and "42" in str(results[0]["content"])
    assert conv.replies[-1].text.endswith("It is 42.")
    valid(api)


def test_stop_while_a_tool_runs_leaves_a_valid_history(api: Any) -> None:
    from claude_nb.demo.examples import wait

    api.enqueue(ScriptTurn([ToolUse("wait", {"seconds": 30})], stop_reason="tool_use"))
    conv = Conversation(tools=[wait])
    reply = conv.send("wait a while")
    statuses: list[str] = []
    reply.subscribe(lambda e: statuses.append(e.status) if isinstance(e, ToolChanged) else None)

    async def main() -> None:
        task = asyncio.ensure_future(reply.run())
        while "running" not in statuses:
            await asyncio.sleep(0.02)
        reply.stop()
        await task

    asyncio.run(main())
    assert reply.status == "stopped" and statuses == ["running", "stopped"]
    api.enqueue(text_turn("ok"))
    conv.send("never mind").wait()
    last_user = api.requests[-1].body["messages"][-1]["content"]
    assert last_user[0]["type"] == "tool_result" and last_user[0]["is_error"] is True
    valid(api)


def test_failed_events_are_emitted(api: Any) -> None:
    api.enqueue(http_error_file("401_authentication_error"))
    events = list(Conversation().send("x"))
    assert any(isinstance(e, Failed) for e in events) and events[-1].status == "failed"


def test_sync_iteration_ctrl_c_stops_and_reraises(api: Any) -> None:
    import _thread

    api.enqueue(text_turn("tick " * 500, chunk=5).stream().with_delay(0.01))
    reply = Conversation().send("x")
    timer = threading.Timer(0.4, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in reply:
            pass
    assert reply.status == "stopped" and reply.stop_reason_user == "interrupt" and reply.text
    assert api.wait_disconnect(5).events_after_disconnect == 0


def test_confirm_tools_wait_for_approval(api: Any) -> None:
    from claude_nb.run.toolschema import tool

    calls: list[str] = []

    @tool(confirm=True)
    def delete_rows(table: str) -> str:
        """Delete all rows of a table.

        Args:
            table: the table name
        """
        calls.append(table)
        return f"deleted {table}"

    api.enqueue(Turn_with_tool("delete_rows", {"table": "users"}), text_turn("denied, ok"),
                Turn_with_tool("delete_rows", {"table": "logs"}), text_turn("done"))
    conv = Conversation(tools=[delete_rows])
    for answer in (False, True):
        reply = conv.send("clean up")
        reply.subscribe(lambda e, reply=reply, answer=answer: reply.approve(e.block.id, answer)
                        if isinstance(e, ToolChanged) and e.status == "awaiting_approval"
                        else None)
        reply.wait()
    assert calls == ["logs"]
    first_result = api.requests[1].body["messages"][-1]["content"][0]
    assert first_result["is_error"] is True and "denied" in first_result["content"]
    valid(api)


def Turn_with_tool(name: str, args: dict[str, Any]) -> Any:
    return ScriptTurn([ToolUse(name, args)], stop_reason="tool_use")


def test_spend_limit_429_is_not_retried(api: Any) -> None:
    api.enqueue(http_error_file("429_enforced_spend_limit"), text_turn("never"))
    reply = Conversation(max_retries=2).send("x").wait()
    assert reply.status == "failed" and reply.error.error_code == "enforced_spend_limit_reached"
    assert len(api.requests) == 1
