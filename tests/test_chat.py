"""Chat and LiveView on the Python side: replies run as tasks, the view's snapshot holds the
same content a browser would rebuild, history stays valid across stop/regenerate/new."""

from __future__ import annotations

import asyncio
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import typing_extensions

from claude_nb.frontends import viewops
from claude_nb.frontends.chat import Chat
from claude_nb.frontends.view import LiveView
from claude_nb.loopback import text_turn

VIEW_JS = Path(viewops.__file__).with_name("js") / "view.js"


def ts_type(t: Any) -> str:
    """A Python annotation of viewops written as view.js writes it in JSDoc."""
    names = {str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    origin, args = typing.get_origin(t), typing.get_args(t)
    if t == viewops.StopMode:
        return "StopMode"
    if t in names:
        return names[t]
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(ts_type(a) for a in args)
    if origin is list:
        return f"{ts_type(args[0])}[]"
    assert typing.is_typeddict(t), t
    return str(t.__name__)


def js_typedefs() -> dict[str, str]:
    """view.js's ``/** @typedef {...} Name */`` bodies by name, whitespace and `*` folded."""
    found = re.findall(r"@typedef \{(.*?)\} (\w+)\s*\*/", VIEW_JS.read_text(), re.S)
    return {name: " ".join(body.replace("*", " ").split()) for body, name in found}


def test_view_ops_and_actions_are_declared_alike_in_python_and_js() -> None:
    typedefs = js_typedefs()
    checked = 0
    for name in viewops.__all__:
        declared = getattr(viewops, name)
        if typing.is_typeddict(declared):
            hints = typing_extensions.get_type_hints(declared)  # NotRequired stripped on 3.10 too
            fields = ", ".join(f"{key}{'?' if key in declared.__optional_keys__ else ''}: "
                               f"{ts_type(hint)}" for key, hint in hints.items())
            assert typedefs[name] == "{ " + fields + " }", name
            checked += 1
        elif typing.get_origin(declared) in (Union, types.UnionType):  # ViewOp, Action
            assert typedefs[name] == " | ".join(a.__name__ for a in typing.get_args(declared))
            checked += 1
    assert checked >= 20
    stop_modes = typing.get_args(viewops.StopMode)
    assert typedefs["StopMode"] == " | ".join(json.dumps(a) for a in stop_modes)


def test_live_view_snapshot_folds_ops() -> None:
    view = LiveView()
    view.push({"op": "block", "id": "a", "kind": "text", "html": ""})
    view.push({"op": "md", "id": "a", "commit": "<p>one</p>", "tail": "<p>tw</p>", "replace": None})
    view.push({"op": "md", "id": "a", "commit": "<p>two</p>", "tail": "", "replace": None})
    view.push({"op": "block", "id": "b", "kind": "tool_use",
               "html": "<pre class='cnb-json-live'></pre>"})
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
        chat.view.receive({"type": "send", "text": "hi"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        chat.view.receive({"type": "send", "text": "again"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert [m["role"] for m in chat.conversation.messages] == ["user", "assistant"] * 2
        html = json.dumps(chat.view.snapshot())
        assert "<strong>there</strong>" in html and "Second answer." in html

        api.enqueue(text_turn("slow " * 500, chunk=5).stream().with_delay(0.01))
        chat.view.receive({"type": "send", "text": "slowly"})
        await asyncio.to_thread(api.wait_for, lambda: chat.reply and chat.reply.prompt == "slowly"
                                and chat.reply.text)
        chat.view.receive({"type": "stop"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert chat.reply.status == "stopped"
        assert (await asyncio.to_thread(api.wait_disconnect, 5)).events_after_disconnect == 0
        assert chat.conversation.messages[-1]["content"][0]["text"] == chat.reply.text

        api.enqueue(text_turn("regenerated"))
        chat.view.receive({"type": "regenerate"})
        await asyncio.sleep(0.05)
        await until_idle(chat)
        assert chat.reply.text == "regenerated"
        assert len(chat.conversation.messages) == 6
        assert api.requests[-1].body["messages"][-1]["content"][-1]["text"] == "slowly"

        downloads: list[dict[str, Any]] = []
        chat.view.send = lambda msg, *a: downloads.append(msg)  # type: ignore[method-assign]
        chat.view.receive({"type": "export", "format": "json"})
        chat.view.receive({"type": "export", "format": "md"})
        await asyncio.sleep(0.05)
        exported = json.loads(downloads[0]["content"])
        assert len(exported["messages"]) == 6 and "sk-test" not in downloads[0]["content"]
        assert "regenerated" in downloads[1]["content"] and "**You:**" in downloads[1]["content"]

        chat.view.receive({"type": "new"})
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
        chat.view.receive({"type": "set_key", "key": "sk-ant-TYPED-IN-KEY"})
        await asyncio.sleep(0.05)
        server.enqueue(text_turn("real answer"))
        chat.view.receive({"type": "send", "text": "hi"})
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
