"""The presenter's op stream, read directly: deltas coalesced to at most one update per
`interval` (~20 a second), everything buffered flushed at block ends and at the end of the
reply, and the ops folded by a `LiveView` equal to the final rendering.

Events come from real replies (the SDK over HTTP against the loopback server). Time is the
presenter's `clock`, advanced by the test, so no assertion depends on the machine's speed;
the timer that flushes a quiet stream runs on a real event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from claude_nb.frontends.presenter import Presenter
from claude_nb.frontends.view import LiveView
from claude_nb.frontends.viewops import ViewOp
from claude_nb.loopback import Text, Thinking, Turn, text_turn
from claude_nb.protocol.events import Finished, TurnBegan
from claude_nb.protocol.blocks import TextBlock
from claude_nb.protocol.changes import (
    BlockDelta,
    BlockFinished,
    BlockStarted,
)
from claude_nb.render.markdown import render
from claude_nb.render.sanitize import clean
from claude_nb.run.session import Conversation

ANSWER = (
    "# Plan\n\nWe read the **data**, then:\n\n"
    + "".join(f"{i}. step {i} with `code_{i}` and *emphasis*\n" for i in range(1, 13))
    + "\n```python\nimport pandas as pd\ndf = pd.read_csv('x.csv')\nprint(df.describe())\n```\n\n"
    + "A closing paragraph that is long enough to arrive in many small deltas. " * 4
)
THOUGHT = "Let me think about the columns first, then the plot. " * 6


class Clock:
    """The presenter's clock: it moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A sink that keeps every op and folds it into a real `LiveView`."""

    def __init__(self) -> None:
        self.ops: list[dict[str, Any]] = []
        self.view = LiveView()

    def __call__(self, op: ViewOp) -> None:
        self.ops.append(dict(op))
        self.view.push(op)

    def md_ops(self, bid: str) -> list[dict[str, Any]]:
        return [op for op in self.ops if op["op"] == "md" and op["id"] == bid]

    def index(self, op_name: str, bid: str) -> int:
        return next(i for i, op in enumerate(self.ops) if op["op"] == op_name
                    and op.get("id") == bid)

    def block(self, bid: str) -> dict[str, Any]:
        return next(dict(b) for b in self.view.snapshot()["blocks"] if b["id"] == bid)


def record(api: Any, turn: Turn) -> list[Any]:
    """The events of one real reply, in order (sync iteration: no event loop is running)."""
    api.enqueue(turn)
    return list(Conversation(thinking=2048).send("go"))


def test_deltas_are_coalesced_to_one_update_per_interval(api: Any) -> None:
    events = record(api, text_turn(ANSWER, chunk=4))
    deltas = [e for e in events if isinstance(e, BlockDelta) and e.kind == "text"]
    assert len(deltas) > 150
    clock, out = Clock(), Recorder()
    interval, step = 1 / 16, 1 / 128  # binary fractions: the clock's sums are exact
    presenter = Presenter(out, interval=interval, clock=clock)
    for event in events:
        if isinstance(event, BlockDelta):
            clock.now += step  # 128 deltas a second
        presenter(event)

    streamed = out.md_ops("t0b0")[:-1]  # the last one is the block end's
    seconds = len(deltas) * step
    assert len(streamed) <= seconds / interval + 1  # at most one update per interval
    assert len(streamed) >= seconds / interval - 1  # and that many: the text keeps flowing
    md = out.block("t0b0")["md"]
    assert md["committed"] + md["tail"] == clean(render(ANSWER))
    out.view.close()


def test_within_one_interval_everything_waits_for_the_block_end(api: Any) -> None:
    events = record(api, text_turn(ANSWER, chunk=4))
    out = Recorder()
    presenter = Presenter(out, interval=0.05, clock=Clock())  # the clock never moves
    for event in events:
        sent = len(out.ops)
        presenter(event)
        if isinstance(event, BlockDelta):
            assert len(out.ops) == sent
        if isinstance(event, BlockFinished):
            assert [op["op"] for op in out.ops[sent:]] == ["md"]  # flushed by the block end
    md = out.block("t0b0")["md"]
    assert md["committed"] == clean(render(ANSWER)) and md["tail"] == ""
    assert [op["op"] for op in out.ops] == ["state", "block", "md", "state"]
    assert out.ops[-1] == {"op": "state", "running": False, "stop": "none", "demo": False}
    out.view.close()


def test_a_block_end_flushes_before_the_next_block_starts(api: Any) -> None:
    events = record(api, Turn([Thinking(THOUGHT), Text(ANSWER)], chunk=4))
    out = Recorder()
    presenter = Presenter(out, interval=0.05, clock=Clock())
    for event in events:
        presenter(event)
    thinking_final = out.index("final", "t0b0")
    assert thinking_final < out.index("block", "t0b1")
    assert not [i for i, op in enumerate(out.ops) if op.get("id") == "t0b0"
                and i > thinking_final]  # nothing of the thinking block after its end
    assert THOUGHT.strip().split(". ")[-1] in out.block("t0b0")["html"]
    md = out.block("t0b1")["md"]
    assert md["committed"] + md["tail"] == clean(render(ANSWER))


def test_a_stop_flushes_what_arrived(api: Any) -> None:
    api.enqueue(text_turn(ANSWER, chunk=4).stream().stall_after(40))
    reply = Conversation().send("go")
    out = Recorder()
    presenter = Presenter(out, interval=0.05, clock=Clock())
    seen = 0
    for event in reply:
        presenter(event)
        seen += isinstance(event, BlockDelta)
        if seen == 30:
            reply.stop("user")
            seen += 1
    assert reply.status == "stopped" and reply.text
    md = out.block("t0b0")["md"]
    assert md["committed"] + md["tail"] == clean(render(reply.text))
    assert out.ops[-1]["op"] == "state" and out.ops[-1]["running"] is False


def test_a_quiet_stream_is_flushed_by_the_loop_timer(api: Any) -> None:
    events = record(api, text_turn(ANSWER, chunk=4))
    began = [e for e in events if isinstance(e, (TurnBegan, BlockStarted))]
    deltas = [e for e in events if isinstance(e, BlockDelta)]
    rest = [e for e in events if e not in began and e not in deltas]
    out = Recorder()

    async def main() -> None:
        presenter = Presenter(out, interval=0.05, clock=Clock())
        for event in began + deltas:  # all within one interval of the turn's start
            presenter(event)
        assert out.md_ops("t0b0") == []
        await asyncio.sleep(0.2)  # the flush timer (due at 0.05) fires before this wakes
        assert len(out.md_ops("t0b0")) == 1
        for event in rest:
            presenter(event)

    asyncio.run(main())
    assert isinstance(rest[-1], Finished)
    md = out.block("t0b0")["md"]
    assert md["committed"] + md["tail"] == clean(render(ANSWER))


def test_an_attached_reply_streams_live_and_ends_with_footer_and_idle_state(api: Any) -> None:
    api.enqueue(Turn([Thinking(THOUGHT), Text(ANSWER)], chunk=4).stream().with_delay(0.001))
    out = Recorder()

    async def main() -> Any:
        reply = Conversation(thinking=2048).send("go")
        presenter = Presenter(out).attach(reply)
        await reply
        presenter.close()
        return reply

    reply = asyncio.run(main())
    assert reply.status == "done"
    assert out.ops[0] == {"op": "state", "running": True, "stop": "button", "demo": False}
    assert [op["op"] for op in out.ops[-2:]] == ["block", "state"]
    assert out.ops[-2]["id"] == "footer" and out.ops[-1]["running"] is False
    assert out.index("final", "t0b0") < out.index("block", "t0b1")
    text = next(b for b in reply.turns[0].blocks if isinstance(b, TextBlock))
    md = out.block("t0b1")["md"]
    assert md["committed"] + md["tail"] == clean(render(text.text))
    assert not [e for e in out.ops if e["op"] == "md" and e["id"] == "t0b0"
                and out.ops.index(e) > out.index("final", "t0b0")]
