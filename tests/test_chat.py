"""Chat and LiveView on the Python side: replies run as tasks, the view's snapshot holds the
same content a browser would rebuild, history stays valid across stop/regenerate/new."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from claude_nb.frontends.chat import Chat
from claude_nb.loopback import text_turn
from claude_nb.frontends.view import LiveView


def test_live_view_snapshot_folds_ops() -> None:
    view = LiveView()
    view.push({"op": "block", "id": "a", "kind": "text", "html": ""})
    view.push({"op": "md", "id": "a", "commit": "<p>one</p>", "tail": "<p>tw</p>", "replace": None})
    view.push({"op": "md", "id": "a", "commit": "<p>two</p>", "tail": "", "replace": None})
    view.push({"op": "block", "id": "b", "kind": "tool_use", "html": "<pre class='cnb-json-live'></pre>"})
    view.push({"op": "json", "id": "b", "text": '{"x": '})
    view.push({"op": "json", "id": "b", "text": "1}"})
    view.push({"op": "md", "id": "a", "commit": "", "tail": "", "replace": "<p>ONE</p><p>two</p>"})
    snap = view.snapshot()
    assert snap["seq"] == 7
    blocks = {b["id"]: b for b in snap["blocks"]}
    assert blocks["a"]["md"] == {"committed": "<p>ONE</p><p>two</p>", "tail": ""}
    assert blocks["b"]["json"] == '{"x": 1}'
    view.push({"op": "final", "id": "b", "html": "<div>done</div>"})
    view.push({"op": "remove", "id": "a"})
    snap = view.snapshot()
    assert [b["id"] for b in snap["blocks"]] == ["b"] and snap["blocks"][0]["json"] is None
    view.close()


def run_chat(coro: Any) -> Any:
    return asyncio.run(coro)


async def until_idle(chat: Chat) -> None:
    for _ in range(500):
        if chat.reply is not None and not chat.reply.running and chat.reply.status != "pending":
            return
        await asyncio.sleep(0.01)
    raise TimeoutError


def test_chat_two_turns_stop_regenerate_new_export(api: Any) -> None:
    async def main() -> None:
        chat = Chat()
        api.enqueue(text_turn("Hello **there**."), text_turn("Second answer."))
        chat._on_action({"type": "send", "text": "hi"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        chat._on_action({"type": "send", "text": "again"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert [m["role"] for m in chat.conversation.messages] == ["user", "assistant"] * 2
        html = json.dumps(chat.view.snapshot())
        assert "<strong>there</strong>" in html and "Second answer." in html

        api.enqueue(text_turn("slow " * 500, chunk=5).stream().with_delay(0.01))
        chat._on_action({"type": "send", "text": "slowly"})
        await asyncio.to_thread(api.wait_for, lambda: chat.reply and chat.reply.prompt == "slowly"
                                and chat.reply.text)
        chat._on_action({"type": "stop"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert chat.reply.status == "stopped"
        assert (await asyncio.to_thread(api.wait_disconnect, 5)).events_after_disconnect == 0
        assert chat.conversation.messages[-1]["content"][0]["text"] == chat.reply.text

        api.enqueue(text_turn("regenerated"))
        chat._on_action({"type": "regenerate"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert chat.reply.text == "regenerated"
        assert len(chat.conversation.messages) == 6
        assert api.requests[-1].body["messages"][-1]["content"][-1]["text"] == "slowly"

        downloads: list[dict[str, Any]] = []
        chat.view.send = lambda msg, *a: downloads.append(msg)  # type: ignore[method-assign]
        chat._on_action({"type": "export", "format": "json"})
        chat._on_action({"type": "export", "format": "md"})
        await asyncio.sleep(0.05)
        exported = json.loads(downloads[0]["content"])
        assert len(exported["messages"]) == 6 and "sk-test" not in downloads[0]["content"]
        assert "regenerated" in downloads[1]["content"] and "**You:**" in downloads[1]["content"]

        chat._on_action({"type": "new"})
        await asyncio.sleep(0.05)
        assert chat.conversation.messages == [] and chat.view.snapshot()["blocks"] == []
        bundle = chat._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert "application/vnd.jupyter.widget-view+json" in data and "text/html" in data
        chat.close()
        await asyncio.sleep(0.05)  # let it release its HTTP client
        assert [r.error for r in api.requests if r.error] == []

    run_chat(main())


def test_key_field_switches_to_the_real_api_without_storing_the_key(
        server: Any, monkeypatch: Any) -> None:
    from claude_nb.run import backend

    monkeypatch.setattr(backend, "_key", None)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)  # "real" API = loopback here
    monkeypatch.setenv("CLAUDE_NB_BACKEND", "demo")
    monkeypatch.delenv("CLAUDE_NB_BACKEND")

    async def main() -> None:
        chat = Chat()
        chat._on_action({"type": "set_key", "key": "sk-ant-TYPED-IN-KEY"})
        await asyncio.sleep(0.05)
        server.enqueue(text_turn("real answer"))
        chat._on_action({"type": "send", "text": "hi"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert chat.reply.backend is not None and not chat.reply.backend.demo
        snapshot = json.dumps(chat.view.snapshot())
        assert "API key set" in snapshot and "TYPED-IN-KEY" not in snapshot
        assert "TYPED-IN-KEY" not in repr(chat.reply.backend)
        assert "TYPED-IN-KEY" not in json.dumps(chat.view.get_state(), default=str)
        chat.close()
        await asyncio.sleep(0.05)  # let the chat close its kept client

    try:
        run_chat(main())
    finally:
        backend._key = None
