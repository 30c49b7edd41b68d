"""The real product end to end: `%%claude` and `Chat` in JupyterLab / Notebook 7, streaming
from the loopback Messages API server (running in this pytest process, so its clock is ours).

What a user sees while a turn streams (rendered Markdown), what stays afterwards (static HTML,
also after save and reload), and the Stop button: a click (or Esc) closes the HTTP stream —
measured from the click to the server seeing the client go away.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from claude_nb.loopback import Text, Turn, text_turn, transcript

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser

LOAD = "%load_ext claude_nb"
# 2000 words, streamed one word (6 chars) per delta every 20 ms: ~40 s unless stopped.
WORDS = " ".join(f"w{i:04d}" for i in range(2000)) + "."
WORD_CHUNK = 6
STOP_RUNS = 10
STOP_P95_LIMIT = 0.5  # s; the product target is 0.1 s (see the printed numbers)

MARKDOWN = """\
# Weather report

Three cities, one table.

- Paris is rainy
- Oslo is cold

| City | High | Rain |
|------|------|------|
| Paris | 18 | 2 mm |
| Oslo | 7 | 0 mm |

```python
def umbrella(mm):
    return mm > 0.5
```

""" + " ".join(["The forecast is uncertain beyond three days."] * 30) + "\n"


def slow_words() -> Any:
    return text_turn(WORDS, chunk=WORD_CHUNK).stream().with_delay(0.02)


def streamed_text(record: Any) -> str:
    """The text the server wrote before the client left (one word per content_block_delta)."""
    return WORDS[: WORD_CHUNK * record.events.count("content_block_delta")]


def no_error_output(output: Any) -> None:
    errors = output.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert "Error displaying widget" not in output.inner_text()


def save(ui: Any) -> None:
    ui.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    ui.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


# ------------------------------------------------------------------ Markdown, static, reload


def test_markdown_live_then_static_survives_save_and_reload(jupyter_server, lab, srv):
    srv.enqueue(text_turn(MARKDOWN, chunk=8).stream().with_delay(0.02))
    path = jupyter_server.notebook("md.ipynb", [LOAD, "%%claude\nWeather report please"])
    lab.open(path)
    lab.run_all()

    # while the cell runs: the live view shows rendered Markdown
    view = lab.view(1)
    view.locator("table").wait_for()
    view.locator(".cnb-md pre").first.wait_for()
    view.get_by_text("The forecast is uncertain").first.wait_for()
    assert view.get_by_role("button", name="Stop").is_visible()  # still streaming
    live = {
        "h1": view.locator("h1").inner_text(),
        "li": view.locator("li").all_inner_texts(),
        "table": view.locator("table").inner_text(),
        "code": view.locator(".cnb-md pre").first.inner_text(),
    }
    assert live["h1"] == "Weather report"
    assert live["li"] == ["Paris is rainy", "Oslo is cold"]
    assert "Oslo\t7\t0 mm" in live["table"]
    assert "return mm > 0.5" in live["code"]
    lab.wait_done(timeout=30)

    # after the turn: static HTML, no widget, same content
    out = lab.output(1)
    turn = out.locator(".cnb-turn")
    turn.wait_for()
    assert out.locator(".cnb-root").count() == 0
    assert out.locator(".jupyter-widgets").count() == 0

    def same_content() -> None:
        assert turn.locator("h1").inner_text() == live["h1"]
        assert turn.locator("li").all_inner_texts() == live["li"]
        assert turn.locator("table").inner_text() == live["table"]
        assert turn.locator("pre").first.inner_text().strip() == live["code"].strip()
        assert turn.get_by_text("The forecast is uncertain").count() == 1
        no_error_output(out)

    same_content()
    assert srv.requests[-1].error is None and srv.requests[-1].stream.complete

    # save, then check the file: static outputs only, no widget state
    save(lab)
    raw = (jupyter_server.root / path).read_text()
    nb = nbformat.reads(raw, as_version=4)  # joins multi-line strings
    outputs = nb["cells"][1]["outputs"]
    mimes = {m for o in outputs for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" not in mimes
    html = "".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "Weather report" in html and "<table>" in html and "umbrella" in html
    assert any("# Weather report" in o["data"].get("text/markdown", "") for o in outputs)
    assert "widgets" not in nb["metadata"]
    assert "widget-state" not in raw and "widget-view" not in raw

    # reload the page: the answer is still there, rendered, without a kernel round trip
    lab.open(path)
    out = lab.output(1)
    turn = out.locator(".cnb-turn")
    turn.wait_for()
    same_content()
    lab.assert_no_console_errors()


# ------------------------------------------------------------------------------- Stop


def _stop_chain(ui: Any, srv: Any, name: str, runs: int = STOP_RUNS) -> dict[str, Any]:
    """Run All over `runs` pairs of (`%%claude` slow, print); Stop each answer mid-stream.

    Returns click -> server-side disconnect latencies (s), measured from just before the
    click in this process ("latencies") and from the browser's click event ("from_event"). Checks after each stop: no error,
    the partial answer (a prefix of what was streamed) stays with a "stopped" footer, the
    queued print cell runs, and the next request carries the partial answer and is accepted.
    """
    srv.enqueue(*[slow_words() for _ in range(runs)])
    cells = [LOAD]
    for i in range(runs):
        cells += [f"%%claude\nCount slowly ({i})", f"print('after {i}')"]
    path = ui.server.notebook(f"stop-{name}.ipynb", cells)
    ui.open(path)
    _record_stop_clicks(ui)
    ui.run_all()
    latencies: list[float] = []
    from_event: list[float] = []
    fallbacks = 0
    partials: list[str] = []
    for i in range(runs):
        cell, after = 1 + 2 * i, 2 + 2 * i
        request = srv.wait_for(
            lambda i=i: len(srv.requests) > i and srv.requests[i].stream is not None
            and srv.requests[i].stream.events.count("content_block_delta") >= 15
            and srv.requests[i],
            timeout=30,
        )
        view = ui.view(cell)
        view.get_by_text("w0005").wait_for()  # the answer is visibly streaming
        stop = view.get_by_role("button", name="Stop")
        # activate the cell first: a mousedown in an inactive cell makes the notebook select
        # (and maybe scroll to) it, which moves the button away from under the mouse
        ui.page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }",
                         cell)
        clicked, fell_back = _click_stop(ui, stop, i)
        fallbacks += fell_back
        record = srv.wait_for(lambda request=request: request.stream.disconnected_at is not None
                              and request.stream,
                              timeout=5)
        latencies.append(record.disconnected_at - clicked)
        epoch = record.disconnected_at + (time.time() - time.monotonic())
        from_event.append(epoch - ui.page.evaluate("() => window.__cnbStopClicks.at(-1)") / 1000)
        assert record.events_after_disconnect == 0
        assert not record.complete

        ui.output(after).get_by_text(f"after {i}").wait_for(timeout=10_000)  # queued cell ran
        out = ui.output(cell)
        turn = out.locator(".cnb-turn")
        turn.wait_for()
        assert out.locator(".cnb-root").count() == 0
        no_error_output(out)
        partial = turn.locator(".cnb-text").inner_text().strip()
        assert partial and streamed_text(record).startswith(partial), (partial, streamed_text(record))
        assert "stopped" in turn.inner_text()
        partials.append(partial)

        # the request of this turn carries the previous stopped answer, and was accepted
        assert request.error is None and request.status == 200
        messages = request.body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * i + ["user"]
        if i:
            sent = "".join(b["text"] for b in messages[-2]["content"] if b["type"] == "text")
            assert sent.strip() == partials[i - 1]
    ui.wait_done(timeout=30)
    assert len(srv.requests) == runs
    ui.assert_no_console_errors()
    return {"latencies": latencies, "from_event": from_event, "fallbacks": fallbacks}


def _record_stop_clicks(ui: Any) -> None:
    """Record when the browser dispatches each click on a Stop button (epoch ms)."""
    ui.page.evaluate("""() => {
        window.__cnbStopClicks = [];
        document.addEventListener("click", (e) => {
            if (e.target.closest && e.target.closest(".cnb-stop-btn"))
                window.__cnbStopClicks.push(performance.timeOrigin + performance.now());
        }, true);
    }""")


def _click_stop(ui: Any, stop: Any, done: int) -> tuple[float, bool]:
    """Click Stop with a real mouse; return `time.monotonic()` taken just before the release
    (and whether the fallback click was needed).

    `hover()` waits until the button is stable and hit-testable and moves the mouse onto it;
    then a bare mouse down/up, so Playwright's own checks (~0.1 s, more under load) are not
    inside the measurement. If the streaming text moved the button in between, the click
    missed: fall back to a checked `click()`.
    """
    stop.hover()
    ui.page.mouse.down()
    clicked = time.monotonic()  # a click happens on release
    ui.page.mouse.up()
    count = "(n) => window.__cnbStopClicks.length > n"
    fell_back = False
    try:
        ui.page.wait_for_function(count, arg=done, timeout=1000)
    except PlaywrightTimeout:
        fell_back = True
        clicked = time.monotonic()
        stop.click()
        ui.page.wait_for_function(count, arg=done)
    assert ui.page.evaluate("() => window.__cnbStopClicks.length") == done + 1
    return clicked, fell_back


def _stats(samples: list[float]) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in samples)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, math.ceil(0.95 * len(ms)) - 1)], 1),
        "max_ms": round(ms[-1], 1),
        "samples_ms": [round(x * 1000, 1) for x in samples],
    }


def _report(name: str, measured: dict[str, Any], capsys: Any) -> dict[str, Any]:
    stats = _stats(measured["latencies"])
    stats["measured"] = ("time.monotonic() just before the mouse button is released over Stop "
                         "(Playwright, real input events; the click fires on release) -> the "
                         "loopback server sees the client close the socket (same process, same "
                         "clock)")
    stats["fallback_clicks"] = measured["fallbacks"]  # Playwright click() timed instead
    stats["from_click_event"] = _stats(measured["from_event"])
    stats["from_click_event"]["measured"] = (
        "the browser dispatching the click event (performance.timeOrigin + now()) -> server-side "
        "disconnect (wall clock of the same machine); excludes Playwright's own click overhead")
    event = stats["from_click_event"]
    with capsys.disabled():
        print(f"\nSTOP_LATENCY [{name}] p50={stats['p50_ms']:.0f}ms p95={stats['p95_ms']:.0f}ms "
              f"max={stats['max_ms']:.0f}ms n={stats['n']}  (from the click event: "
              f"p50={event['p50_ms']:.0f}ms p95={event['p95_ms']:.0f}ms max={event['max_ms']:.0f}ms)")
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "stop_latency.json"
    try:
        data = json.loads(target.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = stats
    target.write_text(json.dumps(data, indent=2) + "\n")
    return stats


def test_stop_closes_the_stream_jupyterlab(lab, srv, capsys):
    stats = _report("jupyterlab", _stop_chain(lab, srv, "jupyterlab"), capsys)
    assert stats["p95_ms"] <= STOP_P95_LIMIT * 1000, stats


def test_stop_closes_the_stream_notebook7(nb7, srv, capsys):
    stats = _report("notebook7", _stop_chain(nb7, srv, "notebook7"), capsys)
    assert stats["p95_ms"] <= STOP_P95_LIMIT * 1000, stats


def test_escape_inside_the_view_stops(jupyter_server, lab, srv):
    srv.enqueue(slow_words())
    path = jupyter_server.notebook("esc.ipynb", [LOAD, "%%claude\nCount slowly", "print('after')"])
    lab.open(path)
    lab.run_all()
    view = lab.view(1)
    view.get_by_text("w0005").wait_for()
    view.locator(".cnb-md").first.click()  # focus lands inside the view
    assert lab.page.evaluate("() => !!document.activeElement.closest('.cnb-root')")
    lab.page.keyboard.press("Escape")
    record = srv.wait_disconnect(timeout=5)
    assert record.events_after_disconnect == 0 and not record.complete
    lab.output(2).get_by_text("after").wait_for(timeout=10_000)
    lab.wait_done()
    turn = lab.output(1).locator(".cnb-turn")
    assert "stopped" in turn.inner_text()
    assert streamed_text(record).startswith(turn.locator(".cnb-text").inner_text().strip())
    no_error_output(lab.output(1))
    lab.assert_no_console_errors()


# ------------------------------------------------------------------------------- Chat


def test_chat_widget_streams_remembers_and_stops(jupyter_server, lab, srv):
    srv.enqueue(
        text_turn("## First answer\n\n| k | v |\n|---|---|\n| a | 1 |\n", chunk=5).stream().with_delay(0.01),
        text_turn("Second answer, **bold**.", chunk=5),
        slow_words(),
        text_turn("Fourth answer."),
    )
    path = jupyter_server.notebook(
        "chat.ipynb", ["from claude_nb import Chat\nc = Chat()\nc"])
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    view = lab.view(0)
    box = view.get_by_role("textbox", name="Message")

    def ask(text: str) -> None:
        box.click()
        lab.page.keyboard.type(text)
        lab.page.keyboard.press("Enter")

    ask("first question")
    view.locator("h2", has_text="First answer").wait_for()
    view.locator("table td", has_text="1").wait_for()
    expect_enabled(lab, box)
    ask("second question")
    view.locator("strong", has_text="bold").wait_for()
    expect_enabled(lab, box)
    messages = srv.requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"][0]["text"].startswith("## First answer")
    assert messages[2]["content"][0]["text"] == "second question"

    # Stop mid-stream in the chat: the stream closes, the partial answer stays
    ask("count slowly")
    view.get_by_text("w0005").wait_for()
    request = srv.requests[2]
    _record_stop_clicks(lab)
    clicked, _ = _click_stop(lab, view.get_by_role("button", name="Stop"), 0)
    record = srv.wait_for(lambda: request.stream.disconnected_at is not None and request.stream,
                          timeout=5)
    print(f"\nChat: Stop click -> server disconnect {(record.disconnected_at - clicked) * 1000:.0f} ms")
    assert record.events_after_disconnect == 0 and not record.complete
    expect_enabled(lab, box)
    assert view.get_by_role("button", name="Stop").is_hidden()

    ask("and now?")
    view.get_by_text("Fourth answer.").wait_for()
    messages = srv.requests[3].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3 + ["user"]
    partial = messages[5]["content"][0]["text"]
    assert partial.strip() and streamed_text(record).startswith(partial.strip())
    log = view.locator(".cnb-log").inner_text()
    assert partial.strip() in log and "stopped" in log  # the stopped answer stays, marked
    assert all(r.error is None for r in srv.requests)
    lab.assert_no_console_errors()


def expect_enabled(ui: Any, box: Any) -> None:
    """The composer is usable again (the reply ended)."""
    ui.page.wait_for_function("(el) => !el.disabled", arg=box.element_handle(), timeout=15_000)


# ------------------------------------------------------------------------ screenshots

WEATHER_TOOL = '''\
def get_weather(location: str) -> str:
    """Current weather for a city."""
    return f"{location}: 18 °C, light rain, wind 12 km/h"
'''
ANSWER = """\
### Weather in Paris

It is **18 °C** with light rain. Take an umbrella:

```python
def umbrella(mm):
    return mm > 0.5  # rain today
```

| Day | High | Rain |
|-----|------|------|
| Mon | 18 °C | 2 mm |
| Tue | 21 °C | 0 mm |
"""


def test_screenshots_thinking_and_tool_light_and_dark(jupyter_server, lab, srv):
    srv.enqueue(transcript("tool_use_with_thinking"), Turn([Text(ANSWER)]))
    path = jupyter_server.notebook(
        "cards.ipynb",
        [LOAD, WEATHER_TOOL, "%%claude --thinking 1024 --tools get_weather\nWeather in Paris?"],
    )
    lab.page.set_viewport_size({"width": 1100, "height": 1600})
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    out = lab.output(2)
    turn = out.locator(".cnb-turn")
    turn.wait_for()
    no_error_output(out)
    text = turn.inner_text()
    assert "get_weather" in text and "Weather in Paris" in text
    assert turn.locator(".cnb-thinking").count() == 1 and turn.locator(".cnb-tool").count() == 1
    # the tool really ran, and its result went back in the second request
    # (thinking asks the Models API for the model's capabilities first)
    sent = [r for r in srv.requests if r.path == "/v1/messages"]
    results = sent[1].body["messages"][-1]["content"]
    assert results[0]["type"] == "tool_result" and "18 °C" in str(results[0]["content"])
    assert all(r.error is None for r in srv.requests)
    # open the cards so the screenshot shows them
    turn.locator("details").evaluate_all("els => els.forEach(d => d.open = true)")
    shots: list[Path] = []
    try:
        for theme, name in [("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")]:
            lab.set_theme(theme)
            shots.append(lab.screenshot(out, f"e2e-answer-{name}"))
    finally:
        lab.set_theme("JupyterLab Light")
    assert all(p.stat().st_size > 10_000 for p in shots)
    lab.assert_no_console_errors()


def test_demo_chat_keeps_line_breaks_and_makes_the_readme_screenshot(jupyter_server, lab):
    """A real chat on the demo backend (the README's screenshot): a Shift+Enter message keeps
    its line break in the bubble, the calculator tool really runs, and the no-key note names
    the widget's own "API key…" button."""
    cell = ("import os\nos.environ['CLAUDE_NB_BACKEND'] = 'demo'\n"
            "from claude_nb import Chat\nfrom claude_nb.demo.examples import calculator\n"
            "chat = Chat(tools=[calculator])\nchat")
    path = jupyter_server.notebook("demo-chat.ipynb", [cell])
    lab.page.set_viewport_size({"width": 1000, "height": 1300})
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    view = lab.view(0)
    box = view.get_by_role("textbox", name="Message")
    box.click()
    lab.page.keyboard.type("Use the calculator, please:")
    lab.page.keyboard.press("Shift+Enter")
    lab.page.keyboard.type("what is 17 * 23 + sqrt(144)?")
    lab.page.keyboard.press("Enter")
    bubble = view.locator('[data-cnb-block="r1.user"]')
    bubble.wait_for()
    assert bubble.inner_text() == "Use the calculator, please:\nwhat is 17 * 23 + sqrt(144)?"
    view.locator("strong", has_text="403").wait_for(timeout=30_000)
    expect_enabled(lab, box)
    try:  # docs/img/chat-dark.png in the README is this screenshot
        lab.set_theme("JupyterLab Dark")
        shot = lab.screenshot(lab.output(0), "e2e-chat-demo-dark")
    finally:
        lab.set_theme("JupyterLab Light")
    assert shot.stat().st_size > 10_000
    box.click()
    lab.page.keyboard.type("Tell me a joke about penguins.")
    lab.page.keyboard.press("Enter")
    view.get_by_text("button (the key goes to the kernel once").wait_for(timeout=30_000)
    assert view.locator("strong", has_text="API key…").count() >= 1
    assert view.get_by_role("button", name="API key…").count() == 1
    expect_enabled(lab, box)
    no_error_output(lab.output(0))
    lab.assert_no_console_errors()
