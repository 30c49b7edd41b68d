"""Issue 8: prefill, structured output, the event inspector switch, token counting, and the
library used from a plain script (no IPython) — all against the loopback server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from typing import Any

import pydantic

from claude_nb.protocol.errors import OutputError
from claude_nb.loopback import Thinking, Text, Turn, http_error, text_turn
from claude_nb.run.session import Conversation


def test_prefill_is_sent_shown_and_kept(api: Any) -> None:
    api.enqueue(text_turn(" world!"))
    conv = Conversation()
    reply = conv.send("greet", prefill="Hello ").wait()
    assert api.requests[-1].body["messages"][-1] == {"role": "assistant", "content": "Hello"}
    assert reply.text == "Hello world!"
    assert conv.messages[-1]["content"] == [{"type": "text", "text": "Hello world!"}]
    api.enqueue(text_turn("ok"))
    conv.send("next").wait()
    assert api.requests[-1].error is None


def test_prefill_rejected_gets_a_clear_hint(api: Any) -> None:
    api.enqueue(http_error(400, "invalid_request_error",
                           "Prefill is not supported with extended thinking."))
    reply = Conversation(thinking=2048).send("x", prefill="{").wait()
    assert reply.status == "failed" and "prefill" in reply.error.hint.lower()


def test_json_answer_is_parsed(api: Any) -> None:
    api.enqueue(text_turn('```json\n{"name": "Ada", "langs": ["en", "fr"]}\n```', chunk=3))
    reply = Conversation().send("who?", json=True).wait()
    assert reply.data == {"name": "Ada", "langs": ["en", "fr"]}
    assert "JSON" in api.requests[-1].body["system"]


def test_schema_model_validates_and_is_sent(api: Any) -> None:
    class Person(pydantic.BaseModel):
        name: str
        age: int

    api.enqueue(text_turn('{"name": "Ada", "age": 36}'))
    reply = Conversation().send("who?", schema=Person).wait()
    assert reply.data == Person(name="Ada", age=36)
    fmt = api.requests[-1].body["output_config"]["format"]
    assert fmt["type"] == "json_schema" and fmt["schema"]["properties"]["age"]["type"] == "integer"


def test_invalid_json_is_a_clear_error_that_keeps_the_text(api: Any) -> None:
    api.enqueue(text_turn("Sorry, I can't do JSON today."))
    conv = Conversation()
    reply = conv.send("json", json=True).wait()
    assert isinstance(reply.error, OutputError) and reply.text.startswith("Sorry")
    assert conv.messages[-1]["content"][0]["text"] == reply.text


def test_events_switch_records_the_wire_timeline(api: Any) -> None:
    api.enqueue(Turn([Thinking("hmm"), Text("answer")]))
    reply = Conversation(thinking=2048).send("x", events=True).wait()
    types = reply.events_log.types
    assert types[0] == "message_start" and "ping" in types and types[-1] == "message_stop"
    summary = reply.events_log.summary()
    assert summary["ttfb_ms"] is not None and summary["ttfb_ms"] <= summary["duration_ms"]
    assert reply.text == "answer"


def test_count_tokens_does_not_send(api: Any) -> None:
    api.enqueue(text_turn("first"))
    conv = Conversation()
    conv.send("first").wait()
    count = asyncio.run(conv.count_tokens(conv.send("a long prompt " * 50)))
    assert count > 100 and api.requests[-1].path.endswith("/count_tokens")
    assert len(conv.replies) == 1 and len(conv.messages) == 2


SCRIPT = textwrap.dedent('''
    import asyncio, sys, threading
    from claude_nb import Conversation
    from claude_nb.protocol.changes import BlockDelta

    conv = Conversation()
    reply = conv.send("sync please").wait()
    print("SYNC", reply.status, reply.text, reply.usage.output_tokens > 0)

    async def main():
        r = await conv.send("async please")
        print("ASYNC", r.status, r.text, r.stop_reason)
        slow = conv.send("slow please")
        seen = []
        async for event in slow:
            if isinstance(event, BlockDelta):
                seen.append(event.text)
                if len(seen) == 3:
                    slow.stop()
        print("STOPPED", slow.status, slow.text == "".join(seen))
    asyncio.run(main())
    print("IPYTHON", "IPython" in sys.modules)
    ''')


def test_plain_script_without_ipython(api: Any) -> None:
    api.enqueue(text_turn("one"), text_turn("two"),
                text_turn("tick " * 300, chunk=5).stream().with_delay(0.01))
    env = {**os.environ, "PYTHONWARNINGS": "error::ResourceWarning"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "SYNC done one True" in out.stdout
    assert "ASYNC done two end_turn" in out.stdout
    assert "STOPPED stopped True" in out.stdout
    assert "IPYTHON False" in out.stdout  # the library works without IPython
    assert "sk-test" not in out.stdout + out.stderr
