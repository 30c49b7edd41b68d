"""The API key never shows: not in outputs, widget state (LiveView snapshot and traits), saved
notebooks, reprs, logs or error messages, also after a 401, also when a hostile or buggy
server quotes the key back in its error. `claude_nb.set_api_key()` takes the key without a
variable in the notebook (getpass) and the next request uses it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

import claude_nb
from claude_nb.run import backend
from claude_nb.frontends.chat import Chat
from claude_nb.frontends.display import static_bundle
from claude_nb.loopback import LoopbackServer, http_error, http_error_file, text_turn
from claude_nb.run.session import Conversation

SECRET = "sk-test-SECRET-0123456789"  # the `api` fixture's key
FRAGMENT = "SECRET-0123456789"        # no part of it either (a masked prefix is fine)


def echoing_401() -> Any:
    """A 401 whose message quotes the key, as some gateways and proxies do."""
    return http_error(401, "authentication_error",
                      f"invalid x-api-key: {SECRET} (Authorization: Bearer {SECRET})")


def assert_clean(text: str, where: str = "") -> None:
    assert FRAGMENT not in text, f"the API key leaked into {where}: ...{_around(text)}..."


def _around(text: str) -> str:
    i = text.find(FRAGMENT)
    return text[max(0, i - 80): i + 40]


def everything_about(reply: Any) -> str:
    """Every text a user can get from a reply: reprs, the error in all its forms, renderings."""
    parts = [repr(reply), reply.text, json.dumps(reply.message), repr(reply.options)]
    err = reply.error
    if err is not None:
        parts += [repr(err), str(err), err.title, err.message, err.hint or "",
                  "\n".join(err._render_traceback_()), repr(err.args)]
    parts += list(static_bundle(reply).values())
    return "\n".join(parts)


# ---------------------------------------------------------------- reprs, errors, logs


@pytest.mark.parametrize("failure", ["401_file", "401_echoing_the_key"])
def test_reprs_errors_and_debug_logs(api: LoopbackServer, caplog: pytest.LogCaptureFixture,
                                     failure: str) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "claude_nb"):
        caplog.set_level(logging.DEBUG, logger=name)
    api.enqueue(text_turn("A fine answer."),
                http_error_file("401_authentication_error") if failure == "401_file"
                else echoing_401())
    conv = Conversation()
    ok = conv.send("first").wait()
    bad = conv.send("second").wait()
    assert ok.status == "done" and bad.status == "failed" and bad.error.title.startswith("Auth")
    assert caplog.records, "debug logging was captured"
    logs = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert_clean(logs, "the debug logs")
    assert_clean(everything_about(ok), "a reply")
    assert_clean(everything_about(bad), "a failed reply")
    if failure == "401_echoing_the_key":
        assert "invalid x-api-key" in bad.error.message  # the rest of the message stays
    assert_clean(repr(conv) + repr(conv.messages) + repr(conv.options), "the conversation")
    assert_clean(repr(backend.resolve()) + str(backend.resolve()), "the backend")
    assert backend.resolve().api_key == SECRET  # ...which still has it, for the SDK


# ---------------------------------------------------------------- widget state


def test_widget_state_and_snapshot(api: LoopbackServer) -> None:
    async def main() -> None:
        chat = Chat()
        api.enqueue(text_turn("Hello from the chat."), echoing_401())
        for prompt in ("hi", "again"):
            before = chat.reply
            chat.view.receive({"type": "send", "text": prompt})
            deadline = time.monotonic() + 20
            while chat.reply is before or chat.reply.status in ("pending", "running"):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        assert chat.reply.status == "failed"
        snapshot = json.dumps(chat.view.snapshot())
        assert "cnb-error" in snapshot and "invalid x-api-key" in snapshot
        assert_clean(snapshot, "the LiveView snapshot")
        state = chat.view.get_state()
        assert_clean(json.dumps({k: v for k, v in state.items() if isinstance(v, (str, bool, int))})
                     + repr(state), "the widget's synced traits")
        assert_clean(json.dumps(chat._repr_mimebundle_(), default=str), "the chat's output")
        sent: list[Any] = []
        chat.view.send = lambda msg, *a: sent.append(msg)  # type: ignore[method-assign]
        chat.view.receive({"type": "export", "format": "json"})
        chat.view.receive({"type": "export", "format": "md"})
        await asyncio.sleep(0.05)
        assert len(sent) == 2
        assert_clean(json.dumps(sent), "the chat's exports")
        chat.close()
        await asyncio.sleep(0.05)  # let it release its HTTP client

    asyncio.run(main())


# ---------------------------------------------------------------- a saved notebook


def test_saved_notebook_has_no_key(api: LoopbackServer, tmp_path: Any) -> None:
    """Execute a notebook with nbclient (widget state stored, as headless runs do) and scan
    the whole .ipynb JSON."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "%load_ext claude_nb\n%config Claude.max_retries = 0",
        "%%claude\nSay hello",
        "%%claude -o bad\nAnd again",
        "from claude_nb.frontends.chat import Chat\nchat = Chat()\nchat",
        "import asyncio\nr = chat.send('hi from the chat')\n"
        "while r.status in ('pending', 'running'):\n    await asyncio.sleep(0.02)\nr",
        "import claude_nb.run.backend as b\nprint(repr(b.resolve()), repr(bad), repr(bad.error))\n"
        "chat.view.snapshot()",
        "bad.error",
        "%%claude --history",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    api.enqueue(text_turn("Hello from the loopback."), echoing_401(),
                text_turn("Hello from the chat."))
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    raw = path.read_text(encoding="utf-8")
    assert "Hello from the loopback." in raw and "Hello from the chat." in raw
    assert "invalid x-api-key" in raw and "cnb-error" in raw
    assert len(api.requests) == 3
    errors = [o for o in nb.cells[2].outputs if o["output_type"] == "error"]
    assert len(errors) == 1 and len(errors[0]["traceback"]) == 1  # one line, no wall
    cards = [o for o in nb.cells[2].outputs if o["output_type"] == "display_data"
             and "cnb-error" in o["data"].get("text/html", "")]
    assert len(cards) == 1 and "invalid x-api-key" in cards[0]["data"]["text/html"]
    assert "invalid x-api-key" not in errors[0]["traceback"][0]  # shown once, in the card
    printed = "".join(o.get("text", "") for o in nb.cells[5].outputs)
    assert "Backend(" in printed and "<Reply failed" in printed and "APIError(" in printed
    assert_clean(raw, "the saved notebook")


# ---------------------------------------------------------------- typing the key in


def test_set_api_key_prompts_with_getpass(server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import getpass

    typed = "sk-ant-typed-in-4242424242"
    prompts: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": prompts.append(prompt) or typed)
    monkeypatch.setattr(backend, "_key", None)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)  # no ANTHROPIC_API_KEY at all
    assert backend.resolve().api_key == "no-key"

    claude_nb.set_api_key()
    assert len(prompts) == 1 and "not saved" in prompts[0]
    resolved = backend.resolve()
    assert resolved.api_key == typed and not resolved.demo
    assert typed not in repr(resolved) + str(resolved)

    server.enqueue(text_turn("Keyed."))
    reply = Conversation().send("hi").wait()
    assert reply.text == "Keyed." and reply.backend.api_key == typed
    assert server.requests[-1].headers.get("authorization") == "[redacted]"  # sent, as Bearer
    assert typed not in everything_about(reply)
    out = capsys.readouterr()
    assert typed not in out.out + out.err  # nothing printed it

    claude_nb.set_api_key("  sk-ant-given-directly-000  ")  # given: no prompt, stripped
    assert len(prompts) == 1 and backend.resolve().api_key == "sk-ant-given-directly-000"
