"""`%%claude` in a real kernel against the loopback server: live view, static result,
interrupt closes the stream, errors are one-line cards."""

from __future__ import annotations

import time
from typing import Any

import pytest

from claude_nb.loopback import ToolUse, Turn, text_turn, transcript, http_error_file
from kernel_support import collect, kernel, run

SECRET = "sk-test-SECRET-0123456789"


@pytest.fixture
def k(api: Any) -> Any:
    with kernel() as (km, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        yield km, kc


def html_of(ex: Any) -> str:
    return "".join(d.get("text/html", "") for d in ex.displays.values())


def test_answer_streams_then_becomes_static(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(text_turn("Here:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- x\n- y\n\n"
                          "```python\nprint('hi')\n```\n"))
    ex = run(kc, "%%claude\nShow me a table")
    assert ex.error is None
    first = ex.outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in first  # the live view came first
    final = next(iter(ex.displays.values()))
    assert set(final) >= {"text/html", "text/markdown", "text/plain"}
    html = final["text/html"]
    assert "<table>" in html and "<li>" in html and "<pre" in html and "print" in html
    assert "| a | b |" in final["text/markdown"]


def test_second_cell_carries_the_first_exchange(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(text_turn("first answer"), text_turn("second answer"))
    run(kc, "%%claude\nfirst question")
    run(kc, "%%claude\nsecond question")
    messages = api.requests[-1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][0]["text"] == "first answer"


def test_thinking_and_tool_cards_in_static_output(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(transcript("thinking"))
    html = html_of(run(kc, "%%claude -t 2048\nthink"))
    assert "<details" in html and "cnb-thinking" in html and "27 * 453" in html
    run(kc, "def get_weather(location: str, unit: str = 'celsius') -> str:\n"
            "    '''Weather for a place.'''\n    return f'sunny in {location}'")
    api.enqueue(transcript("tool_use"), text_turn("It is sunny."))
    ex = run(kc, "%%claude --tools get_weather\nweather?")
    html = html_of(ex)
    assert "cnb-tool" in html and "get_weather" in html and "sunny in San Francisco" in html
    assert "It is sunny." in html
    sent = api.requests[-1].body["messages"][-1]["content"][0]
    assert sent["type"] == "tool_result" and "sunny in San Francisco" in str(sent["content"])


def test_interpolation_and_braces(api: Any, k: Any) -> None:
    _km, kc = k
    run(kc, "n_rows = 1234")
    api.enqueue(text_turn("ok"))
    ex = run(kc, "%%claude\nWe have {n_rows} rows; code: {'a': 1} and {{literal}} {missing}")
    assert ex.error is None
    text = api.requests[-1].body["messages"][-1]["content"][-1]["text"]
    assert text == "We have 1234 rows; code: {'a': 1} and {literal} {missing}"


def test_interrupt_closes_the_stream_and_keeps_partial_text(api: Any, k: Any) -> None:
    km, kc = k
    api.enqueue(text_turn("slow words " * 300, chunk=4).stream().with_delay(0.02))
    msg_id = kc.execute("%%claude -o r\ntell me slowly")
    api.wait_for(lambda: api.requests and api.requests[-1].stream
                 and len(api.requests[-1].stream.events) > 20, timeout=20)
    t0 = time.monotonic()
    km.interrupt_kernel()
    record = api.wait_disconnect(timeout=5)
    latency = record.disconnected_at - t0
    assert latency < 0.5, latency
    assert record.events_after_disconnect == 0
    ex = collect(kc, msg_id)
    assert ex.error is not None and ex.error["ename"] == "Interrupted"  # a KeyboardInterrupt
    assert len(ex.error["traceback"]) == 1
    final = next(iter(ex.displays.values()))
    assert "slow words" in final["text/html"] and "interrupted" in final["text/plain"].lower()
    assert run(kc, "print(r.status, len(r.text) > 0)").stream.strip() == "stopped True"
    api.enqueue(text_turn("after the interrupt"))
    assert run(kc, "%%claude\nnext").error is None
    assert [r.error for r in api.requests if r.error] == []


@pytest.mark.parametrize("name", ["401_authentication_error", "429_rate_limit_error",
                                  "529_overloaded_error"])
def test_errors_are_one_line_and_fail_the_cell(api: Any, k: Any, name: str) -> None:
    _km, kc = k
    for _ in range(3):
        api.enqueue(http_error_file(name))
    ex = run(kc, "%config Claude.retry_cap = 0.1\n%config Claude.max_retries = 0")
    ex = run(kc, "%%claude\nhello")
    assert ex.error is not None and len(ex.error["traceback"]) == 1
    html = html_of(ex)
    assert "cnb-error" in html and "req_" in html
    assert SECRET not in html and SECRET not in str(ex.error)


def test_json_magic_shows_a_tree_and_stores_data(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(text_turn('{"rows": 3, "cols": ["a", "b"]}', chunk=4))
    ex = run(kc, "%%claude --json -o data\ndescribe the table as JSON")
    assert ex.error is None
    assert "cnb-json-answer" in html_of(ex) and "cnb-jt" in html_of(ex)
    assert run(kc, "print(data['cols'])").stream.strip() == "['a', 'b']"


def test_events_magic_shows_the_timeline(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(text_turn("timed answer", chunk=3))
    html = html_of(run(kc, "%%claude --events\nhi"))
    assert "timed answer" in html and "message_start" in html and "ping" in html
    assert "TTFB" in html or "ttfb" in html.lower()


def test_line_magic_and_options_errors(api: Any, k: Any) -> None:
    _km, kc = k
    api.enqueue(text_turn("line answer"))
    ex = run(kc, "%claude -m claude-haiku-4-5 a quick question")
    assert ex.error is None and "line answer" in html_of(ex)
    assert api.requests[-1].body["model"] == "claude-haiku-4-5"
    ex = run(kc, "%%claude --max-tokens lots\nx")
    assert ex.error is not None and len(ex.error["traceback"]) == 1
    ex = run(kc, "%%claude --tools not_defined_anywhere\nx")
    assert ex.error is not None and "not_defined_anywhere" in html_of(ex) + str(ex.outputs)


def test_confirm_tool_is_denied_when_no_frontend_can_click(api: Any, k: Any) -> None:
    _km, kc = k
    run(kc, "from claude_nb import tool\n"
            "@tool(confirm=True)\n"
            "def drop_table(name: str) -> str:\n"
            "    '''Drop a table.'''\n"
            "    raise SystemExit('must not run')\n")
    api.enqueue(Turn([ToolUse("drop_table", {"name": "users"})], stop_reason="tool_use"),
                text_turn("Understood, not dropped."))
    ex = run(kc, "%%claude --tools drop_table\nclean up")
    assert ex.error is None and "Understood" in html_of(ex)
    result = api.requests[-1].body["messages"][-1]["content"][0]
    assert result["is_error"] is True and "denied" in result["content"]


def test_autoawait_off_falls_back_to_the_synchronous_path(api: Any, k: Any) -> None:
    _km, kc = k
    run(kc, "%autoawait off")
    api.enqueue(text_turn("printed, not awaited"))
    ex = run(kc, "%%claude\nhi")
    assert ex.error is None and "printed, not awaited" in ex.stream
    run(kc, "%autoawait on")
    api.enqueue(text_turn("live again"))
    assert "live again" in html_of(run(kc, "%%claude\nagain"))
