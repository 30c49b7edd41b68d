"""Load: ten `Chat` widgets streaming at once on one event loop against one loopback server.

Each chat gets its own slow stream (the server answers by prompt), so cross-talk would show
as another chat's words in a conversation, its history or its view. A Stop on one chat must
close only that stream, promptly, while the others go on; closing a widget mid-stream must
close its stream too. Timings are printed; the only bounds asserted are generous ones.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import anthropic  # noqa: F401  (imported up front: the first import takes seconds, on the loop)

from claude_nb.frontends.chat import Chat
from claude_nb.loopback import RequestRecord, text_turn

N_CHATS = 10
WORDS = 240  # per answer; ~1.7 KB in 7-char deltas, 10 ms apart: ~2.5 s per stream
STOPPED, CLOSED = 3, 7
MARK = re.compile(r"\bc(\d+)w\d+\b")


def answer(i: int) -> str:
    lines = [" ".join(f"c{i}w{k}" for k in range(j, j + 12)) for j in range(0, WORDS, 12)]
    return "\n\n".join(lines)  # paragraphs, so the Markdown commits blocks as it streams


def prompt(i: int) -> str:
    return f"chat {i}: tell me your words"


def chat_of(record: RequestRecord) -> int:
    text = record.body["messages"][-1]["content"][-1]["text"]
    return int(re.match(r"chat (\d+):", text).group(1))  # type: ignore[union-attr]


def marks(text: str) -> set[int]:
    return {int(m) for m in MARK.findall(text)}


def test_ten_chats_stream_at_once_without_cross_talk(api: Any) -> None:
    api.auto_reply = lambda body: text_turn(
        answer(int(re.match(r"chat (\d+):", body["messages"][-1]["content"][-1]["text"])
                    .group(1))), chunk=7).stream().with_delay(0.01)  # type: ignore[union-attr]

    async def main() -> dict[str, float]:
        chats = [Chat() for _ in range(N_CHATS)]
        lag = 0.0
        ticking = True

        async def ticker() -> None:  # how late the loop runs a 10 ms timer while all stream
            nonlocal lag
            while ticking:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lag = max(lag, time.perf_counter() - t - 0.01)

        tick = asyncio.create_task(ticker())
        t0 = time.monotonic()
        for i, chat in enumerate(chats):
            chat.view.receive({"type": "send", "text": prompt(i)})
        # every stream is running and has sent some text
        await asyncio.to_thread(api.wait_for, lambda: len(api.requests) == N_CHATS and all(
            c.reply is not None and len(c.reply.text) > 100 for c in chats), 10)
        streams = {chat_of(r): r.stream for r in api.requests}
        start_lag, lag = lag, 0.0  # starting: ten AsyncAnthropic clients are built on the loop
        assert sorted(streams) == list(range(N_CHATS))

        stop_at = time.monotonic()
        chats[STOPPED].view.receive({"type": "stop"})
        await asyncio.to_thread(
            api.wait_for, lambda: streams[STOPPED].disconnected_at is not None, 5)
        stop_latency = streams[STOPPED].disconnected_at - stop_at  # type: ignore[operator]
        while chats[STOPPED].reply.running:  # type: ignore[union-attr]
            await asyncio.sleep(0.005)
        stopped_idle = time.monotonic() - stop_at
        others = [streams[i] for i in range(N_CHATS) if i != STOPPED]
        assert all(s.disconnected_at is None and not s.complete for s in others), \
            "a stop closed (or outlived) other streams"

        close_at = time.monotonic()
        chats[CLOSED].close()
        await asyncio.to_thread(
            api.wait_for, lambda: streams[CLOSED].disconnected_at is not None, 5)
        close_latency = streams[CLOSED].disconnected_at - close_at  # type: ignore[operator]

        for chat in chats:
            while chat.reply.status in ("pending", "running"):  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
                assert time.monotonic() - t0 < 60, "the chats did not finish"
        total = time.monotonic() - t0
        ticking = False
        await tick

        for i, chat in enumerate(chats):
            reply = chat.reply
            assert reply is not None
            full = answer(i)
            history = json.dumps(chat.conversation.messages)
            shown = json.dumps(chat.view.snapshot())
            if i in (STOPPED, CLOSED):
                assert reply.status == "stopped"
                assert 0 < len(reply.text) < len(full) and full.startswith(reply.text)
                assert streams[i].events_after_disconnect == 0
            else:
                assert reply.status == "done", (i, reply.status, reply.error)
                assert reply.text == full
                assert streams[i].complete and streams[i].disconnected_at is None
                assert f"c{i}w{WORDS - 1}" in shown
            assert marks(reply.text) == {i}, i
            assert marks(history) == {i}, i
            assert marks(shown) == {i}, i
            assert chat.conversation.messages[-1]["content"][0]["text"] == reply.text
            chat.view.close()
            for client in chat.conversation.clients.kept():  # kept per loop
                await client.close()
        return {"stop": stop_latency, "stopped_idle": stopped_idle, "close": close_latency,
                "total": total, "lag": lag, "start_lag": start_lag}

    t = asyncio.run(main())
    print(f"\n{N_CHATS} chats: all done in {t['total']:.2f} s; stop -> server saw disconnect "
          f"{t['stop'] * 1000:.1f} ms, reply stopped {t['stopped_idle'] * 1000:.1f} ms; "
          f"close() -> disconnect {t['close'] * 1000:.1f} ms; max event-loop lag while "
          f"starting {t['start_lag'] * 1000:.1f} ms, while streaming {t['lag'] * 1000:.1f} ms")
    assert t["stop"] < 2.0 and t["close"] < 2.0 and t["stopped_idle"] < 2.0
    assert t["lag"] < 2.0 and t["start_lag"] < 2.0


def test_closed_views_and_finished_replies_are_freed(api: Any, monkeypatch: Any) -> None:
    """Nothing keeps a finished `%%claude` turn's widget alive: not the reply kept in the
    history (its listeners), not anywidget's file watcher, not ipywidgets' registry (the
    view's Layout child). One leaked view per cell would keep its whole HTML for good."""
    import gc
    import weakref

    from ipywidgets.widgets.widget import _instances  # ipywidgets 8: every open widget

    import claude_nb.frontends.display as display
    from claude_nb import Conversation

    class Handle:
        def update(self, bundle: dict[str, str], raw: bool = False,
                   metadata: dict[str, Any] | None = None) -> None:
            self.bundle, self.metadata = bundle, metadata

    shown: list[weakref.ref[Any]] = []

    def fake_display(obj: Any, display_id: bool = False) -> Handle:
        shown.append(weakref.ref(obj))
        return Handle()

    monkeypatch.setattr(display, "display", fake_display)
    registered = len(_instances)
    api.enqueue(text_turn("first " * 2000, chunk=50), text_turn("second answer"))

    async def main() -> Conversation:
        conv = Conversation()
        await display.stream_live(conv.send("one"))
        await display.stream_live(conv.send("two"))
        return conv

    conv = asyncio.run(main())
    gc.collect()
    assert len(shown) == 2 and [ref() for ref in shown] == [None, None]
    assert len(_instances) == registered
    assert conv.replies[0].text == "first " * 2000  # the history itself is kept
