"""Integrity after any stop: every reference transcript, stopped after EVERY event index, by
the Stop button (`reply.stop("user")`, async) and by Ctrl-C (a real KeyboardInterrupt in the
main thread while it iterates the sync twin); then one more turn. The loopback server's
API-like validation must accept that next request every time (alternation, tool_use /
tool_result pairing, thinking signatures, no empty assistant content), and the text kept in
history must be exactly the text streamed up to the stop.

A stop "after event k" is made by serving the transcript with an endless pause after frame k
(`Stream.stall_after(k)`) and stopping once the client has consumed those k events: the
number of changes the client must have emitted by then is computed offline by applying the
same frames to a fresh `transcript.Turn`.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from claude_nb.protocol.events import Finished, Stopped, ToolChanged, TurnBegan
from claude_nb.loopback import (LoopbackServer, Stream, Text, ToolUse, Turn as ScriptTurn,
                                as_stream, text_turn, transcript, transcript_names)
from claude_nb.protocol.sse import parse_frame
from claude_nb.run.session import Conversation
from claude_nb.run.toolschema import tool
from claude_nb.protocol.changes import BlockDelta
from claude_nb.protocol.transcript import Turn

# Deliberately broken streams (an `event: error`): covered in test_faults.py.
BROKEN = {"error_before_content", "midstream_error_overloaded"}
NAMES = [n for n in transcript_names() if n not in BROKEN]
WAIT = 30.0  # seconds any single wait may take before the walk is declared stuck


def get_weather(location: str, unit: str = "celsius") -> str:
    """Weather for a place."""
    return f"sunny in {location}"


def write_file(path: str, lines: list[str]) -> str:
    """Write lines to a file (never called: these turns are stopped before tools run)."""
    return "written"


def conversation_for(name: str) -> Conversation:
    """A conversation whose options match what the transcript was an answer to."""
    return Conversation(thinking=2048 if "thinking" in name else None,
                        tools=[get_weather, write_file] if "tool_use" in name else (),
                        web_search="web_search" in name or name == "pause_turn")


def expected_counts(stream: Stream) -> list[int]:
    """counts[k]: events a reply has emitted once its client consumed frames 0..k-1
    (TurnBegan plus every change those frames produce)."""
    turn, counts = Turn(), [1]
    for raw in stream.frames:
        _, data = parse_frame(raw)
        counts.append(counts[-1] + len(turn.apply(data, 0.0)))
    return counts


@dataclass
class Watch:
    """Listener state: events of the current turn, turns begun, text streamed per block."""

    turns: int = 0
    seen: int = 0
    blocks: list[Any] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)
    tool_running: bool = False

    def __call__(self, event: Any) -> None:
        if isinstance(event, TurnBegan):
            self.turns += 1
            self.seen = 0
        self.seen += 1
        if isinstance(event, BlockDelta) and event.kind == "text":
            if id(event.block) not in self.texts:
                self.blocks.append(event.block)
                self.texts[id(event.block)] = ""
            self.texts[id(event.block)] += event.text
        if isinstance(event, ToolChanged) and event.status == "running":
            self.tool_running = True

    def streamed(self) -> list[str]:
        """Text blocks the client received, in order, as the API would accept them back."""
        return [t for b in self.blocks if (t := self.texts[id(b)]).strip()]

    def reached(self, turn: int, count: int) -> bool:
        return self.turns == turn and self.seen >= count


def kept_texts(conv: Conversation) -> list[str]:
    return [b["text"] for m in conv.messages if m["role"] == "assistant"
            for b in m["content"] if b["type"] == "text"]


def served(srv: LoopbackServer, before: int, frames: int) -> bool:
    """The request after `before` is streaming and has written `frames` frames."""
    if len(srv.requests) <= before:
        return False
    record = srv.requests[-1].stream
    return record is not None and len(record.events) >= frames


def check_after_stop(srv: LoopbackServer, conv: Conversation, reply: Any, watch: Watch,
                     where: str) -> None:
    assert reply.status == "stopped", (where, reply.status, reply.error)
    assert kept_texts(conv) == watch.streamed(), where
    assert reply.text == "".join(watch.texts[id(b)] for b in watch.blocks), where
    gone = srv.wait_for(lambda: srv.requests[-1].stream
                        and srv.requests[-1].stream.disconnected_at is not None, WAIT)
    assert gone


async def next_turn_async(srv: LoopbackServer, conv: Conversation, where: str) -> None:
    srv.enqueue(text_turn("next answer"))
    nxt = await conv.send("next question")
    assert nxt.status == "done", (where, nxt.error)
    assert srv.requests[-1].error is None, (where, srv.requests[-1].error)
    assert conv.messages[-1]["content"] == [{"type": "text", "text": "next answer"}]


def next_turn_sync(srv: LoopbackServer, conv: Conversation, where: str) -> None:
    srv.enqueue(text_turn("next answer"))
    nxt = conv.send("next question").wait()
    assert nxt.status == "done", (where, nxt.error)
    assert srv.requests[-1].error is None, (where, srv.requests[-1].error)


# ---------------------------------------------------------------- the two ways to stop


def ctrl_c_now() -> None:
    """A real SIGINT to the main thread, as a terminal's Ctrl-C (it interrupts a blocking
    wait at once, unlike `_thread.interrupt_main`, which waits for the next bytecode)."""
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


async def stop_button(srv: LoopbackServer, conv: Conversation, prompt: str,
                      responses: list[Any], turn: int, count: int, frames: int,
                      until: Any = None) -> tuple[Any, Watch]:
    """Run a reply on this loop; click Stop once the client reached (turn, count)."""
    srv.enqueue(*responses)
    reply = conv.send(prompt)
    watch = Watch()
    reply.subscribe(watch)
    before = len(srv.requests) + turn - 1
    task = asyncio.ensure_future(reply.run())
    ready = until or (lambda: watch.reached(turn, count) and served(srv, before, frames))
    deadline = time.monotonic() + WAIT
    while not ready():
        assert not task.done(), "the reply ended before the stop point"
        assert time.monotonic() < deadline, ("stop point never reached", turn, count, watch)
        await asyncio.sleep(0.001)
    reply.stop("user")
    await task
    assert reply.stop_reason_user == "user"
    return reply, watch


def stop_interrupt(srv: LoopbackServer, conv: Conversation, prompt: str,
                   responses: list[Any], turn: int, count: int, frames: int) -> tuple[Any, Watch]:
    """Iterate the sync twin in the main thread; Ctrl-C once it consumed (turn, count)."""
    srv.enqueue(*responses)
    reply = conv.send(prompt)
    watch = Watch()
    before = len(srv.requests) + turn - 1
    stuck: list[str] = []

    def ctrl_c() -> None:
        deadline = time.monotonic() + WAIT
        while not (watch.reached(turn, count) and served(srv, before, frames)):
            if time.monotonic() > deadline:
                stuck.append(f"stop point never reached: {turn} {count} {watch}")
                break
            time.sleep(0.001)
        time.sleep(0.005)  # let the main thread get back into the iterator's wait
        ctrl_c_now()

    threading.Thread(target=ctrl_c, daemon=True).start()
    events: list[Any] = []
    with pytest.raises(KeyboardInterrupt):
        for event in reply:
            events.append(event)
            watch(event)  # counted as consumed by the main thread, not as emitted
    assert not stuck, stuck
    assert reply.stop_reason_user == "interrupt"
    assert isinstance(events[-1], Finished) and any(isinstance(e, Stopped) for e in events)
    return reply, watch


# ---------------------------------------------------------------- every transcript, every index


@pytest.mark.parametrize("name", NAMES)
def test_stop_button_at_every_event(api: Any, name: str) -> None:
    stream = as_stream(transcript(name))
    counts = expected_counts(stream)

    async def walk() -> None:
        for k in range(len(stream.frames) + 1):
            where = f"{name} stopped after event {k}"
            conv = conversation_for(name)
            reply, watch = await stop_button(api, conv, "q", [stream.stall_after(k)],
                                             1, counts[k], k)
            check_after_stop(api, conv, reply, watch, where)
            await next_turn_async(api, conv, where)

    asyncio.run(walk())


@pytest.mark.parametrize("name", NAMES)
def test_ctrl_c_at_every_event(api: Any, name: str) -> None:
    stream = as_stream(transcript(name))
    counts = expected_counts(stream)
    for k in range(len(stream.frames) + 1):
        where = f"{name} interrupted after event {k}"
        conv = conversation_for(name)
        reply, watch = stop_interrupt(api, conv, "q", [stream.stall_after(k)], 1, counts[k], k)
        check_after_stop(api, conv, reply, watch, where)
        next_turn_sync(api, conv, where)


# ---------------------------------------------------------------- a tool loop


def tool_turn() -> ScriptTurn:
    return ScriptTurn([Text("Let me compute that."),
                       ToolUse("calculator", {"expression": "6*7"}, id="toolu_01Calc")],
                      stop_reason="tool_use", chunk=6)


def answer_turn() -> ScriptTurn:
    return ScriptTurn([Text("6 times 7 is 42, the answer.")], chunk=6)


def test_tool_loop_stopped_everywhere(api: Any) -> None:
    """calculator tool: stop at every event of the tool_use turn, while the tool runs, and
    at every event of the answer turn; by button and by Ctrl-C."""
    from claude_nb.demo.examples import calculator

    first, second = tool_turn().stream(), answer_turn().stream()
    c1, c2 = expected_counts(first), expected_counts(second)
    points = ([(1, k, c1[k], [first.stall_after(k)]) for k in range(len(first.frames) + 1)]
              + [(2, k, c2[k], [first, second.stall_after(k)])
                 for k in range(len(second.frames) + 1)])

    def check_tool_history(conv: Conversation, turn: int, where: str) -> None:
        if turn == 2:  # the tool ran: its real result is owed (or already sent) to the model
            results = [b for m in conv.messages if m["role"] == "user" for b in m["content"]
                       if b["type"] == "tool_result"] + conv.history.carry
            assert results and "42" in str(results[0]["content"]), where
            assert not results[0].get("is_error"), where

    async def by_button() -> None:
        for turn, k, count, responses in points:
            where = f"button, turn {turn}, after event {k}"
            conv = Conversation(tools=[calculator])
            reply, watch = await stop_button(api, conv, "what is 6*7?", responses, turn,
                                             count, k)
            check_after_stop(api, conv, reply, watch, where)
            check_tool_history(conv, turn, where)
            await next_turn_async(api, conv, where)

    asyncio.run(by_button())
    for turn, k, count, responses in points:
        where = f"ctrl-c, turn {turn}, after event {k}"
        conv = Conversation(tools=[calculator])
        reply, watch = stop_interrupt(api, conv, "what is 6*7?", responses, turn, count, k)
        check_after_stop(api, conv, reply, watch, where)
        check_tool_history(conv, turn, where)
        next_turn_sync(api, conv, where)


def test_tool_loop_stopped_while_the_tool_runs(api: Any) -> None:
    """A calculator that takes its time: Stop / Ctrl-C while it runs; the call gets an
    is_error "stopped" result in the next request, which the server accepts."""
    from claude_nb.demo.examples import calculator as calc

    started = threading.Event()

    @tool(name="calculator")
    async def slow_calculator(expression: str) -> float:
        """Evaluate an arithmetic expression (slowly)."""
        started.set()
        await asyncio.sleep(30)
        return calc(expression)

    def check(conv: Conversation, reply: Any, where: str) -> None:
        assert reply.status == "stopped", where
        assert [o.is_error for o in reply.tool_outcomes.values()] == [True], where
        assert kept_texts(conv) == ["Let me compute that."], where
        assert conv.history.carry and conv.history.carry[0]["tool_use_id"] == "toolu_01Calc", where

    async def by_button() -> None:
        conv = Conversation(tools=[slow_calculator])
        reply, watch = await stop_button(api, conv, "6*7?", [tool_turn()], 1, 0, 0,
                                         until=lambda: started.is_set())
        assert watch.tool_running
        check(conv, reply, "button")
        await next_turn_async(api, conv, "button, tool running")
        sent = api.requests[-1].body["messages"][-1]["content"][0]
        assert sent["type"] == "tool_result" and sent["is_error"] is True

    asyncio.run(by_button())

    started.clear()
    conv = Conversation(tools=[slow_calculator])
    api.enqueue(tool_turn())
    reply = conv.send("6*7?")

    def ctrl_c() -> None:
        started.wait(WAIT)
        time.sleep(0.005)
        ctrl_c_now()

    threading.Thread(target=ctrl_c, daemon=True).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in reply:
            pass
    assert time.monotonic() - t0 < 5 and reply.stop_reason_user == "interrupt"
    check(conv, reply, "ctrl-c")
    next_turn_sync(api, conv, "ctrl-c, tool running")
