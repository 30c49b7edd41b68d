"""LiveView in a real browser: JupyterLab 4 and Notebook 7, driven from notebook cells."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = pytest.mark.browser

PRELUDE = """\
import asyncio, html, time
from claude_nb.frontends.view import LiveView
def md_block(v, bid, commit, tail="", kind="text"):
    v.push({"op": "block", "id": bid, "kind": kind, "html": '<div class="cnb-md"></div>'})
    v.push({"op": "md", "id": bid, "commit": commit, "tail": tail, "replace": None})
"""

RENDER_CELL = (
    PRELUDE
    + """\
v = LiveView(insert_cells=True)
actions = []
v.on_action(actions.append)
display(v)
md_block(v, "t1", "<h2>Result</h2><p>Hello <strong>world</strong></p>", "<p>partial tail</p>")
v.push({"op": "md", "id": "t1", "commit": '<pre><code class="language-python">print(1)\\n</code></pre>',
        "tail": "<p>new tail</p>", "replace": None})
md_block(v, "t2", "<p>first</p>", "<p>gone</p>")
v.push({"op": "md", "id": "t2", "commit": "<p>after</p>", "tail": "", "replace": "<p>Replaced</p>"})
v.push({"op": "block", "id": "tool1", "kind": "tool_use",
        "html": '<div class="cnb-card"><div class="cnb-card-head">get_weather</div></div>'})
v.push({"op": "json", "id": "tool1", "text": '{"city": "Par'})
v.push({"op": "json", "id": "tool1", "text": '<b>is</b>"}'})
v.push({"op": "block", "id": "tool2", "kind": "tool_use", "html": "<p>running</p>"})
v.push({"op": "final", "id": "tool2",
        "html": '<span class="cnb-badge" data-status="done">done</span> <span class="tool2-final">ok</span>'})
v.push({"op": "block", "id": "gone", "kind": "notice", "html": "<p>temporary</p>"})
v.push({"op": "remove", "id": "gone"})
v.push({"op": "block", "id": "th", "kind": "thinking",
        "html": '<details class="cnb-card"><summary>Thinking <span class="cnb-timer" data-running>0.0 s</span>'
                '</summary><div class="cnb-card-body">deep thoughts</div></details>'})
v.push({"op": "block", "id": "ask", "kind": "tool_use", "html":
        f'<span class="cnb-timer" data-running data-t0="{time.time() - 100}"></span><div class="cnb-actions">'
        '<button data-cnb-action="approve" data-cnb-id="toolu_1">Allow</button>'
        '<button data-cnb-action="deny" data-cnb-id="toolu_1">Deny</button></div>'})
"""
)


def test_render_ops(jupyter_server, lab):
    path = jupyter_server.notebook(
        "render.ipynb",
        [
            RENDER_CELL,
            'v.push({"op": "final", "id": "th", "html": \'<details class="cnb-card"><summary>Thinking '
            '<span class="cnb-timer">2.0 s</span></summary><div class="cnb-card-body">deep thoughts'
            "</div></details>'})\nprint(actions)",
        ],
    )
    lab.open(path)
    lab.run_cell(0)
    lab.wait_done()
    view = lab.view(0)
    view.locator('[data-cnb-block="th"]').wait_for()

    t1 = view.locator('[data-cnb-block="t1"]')
    assert t1.locator(".cnb-md-c h2").inner_text() == "Result"
    assert t1.locator(".cnb-md-c strong").inner_text() == "world"
    assert t1.locator(".cnb-md-t").inner_text() == "new tail"
    assert t1.get_by_role("button", name="Copy").count() == 1
    t2 = view.locator('[data-cnb-block="t2"] .cnb-md-c')
    assert t2.inner_text().split() == ["Replaced", "after"]
    live = view.locator('[data-cnb-block="tool1"] pre.cnb-json-live')
    assert live.text_content() == '{"city": "Par<b>is</b>"}'
    assert live.locator("b").count() == 0  # raw JSON text, never HTML
    assert view.locator('[data-cnb-block="tool2"] .tool2-final').inner_text() == "ok"
    assert view.locator('[data-cnb-block="tool2"]').inner_text().count("running") == 0
    assert view.locator('[data-cnb-block="gone"]').count() == 0
    order = view.locator(".cnb-block").evaluate_all("els => els.map(e => e.dataset.cnbBlock)")
    assert order == ["t1", "t2", "tool1", "tool2", "th", "ask"]

    # live timer, counted by the browser's clock
    timer = view.locator("[data-cnb-block=\"th\"] .cnb-timer[data-running]")
    first = float(timer.inner_text().split()[0])
    lab.page.wait_for_function(
        "([el, v]) => parseFloat(el.textContent) >= v + 0.3", arg=[timer.element_handle(), first]
    )

    # copy (clipboard) and insert-as-cell (message to Python)
    lab.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    t1.get_by_role("button", name="Copy").click()
    assert lab.page.evaluate("() => navigator.clipboard.readText()") == "print(1)"
    t1.get_by_role("button", name="Insert as cell").click()
    # kernel-clock timer: started 100 s ago in Python
    assert re.fullmatch(r"1 min 4\d s", view.locator('[data-cnb-block="ask"] .cnb-timer').inner_text())
    view.get_by_role("button", name="Allow").click()
    assert view.get_by_role("button", name="Deny").is_disabled()

    # the user's open/closed choice of <details> survives a `final` op
    view.locator('[data-cnb-block="th"] summary').click()
    assert view.locator('[data-cnb-block="th"] details').get_attribute("open") is not None
    lab.run_cell(1)
    lab.wait_done()
    out = lab.output(1).inner_text()
    assert "[{'type': 'insert_cell', 'code': 'print(1)'}, {'type': 'approve', 'id': 'toolu_1'}]" in out
    assert view.locator('[data-cnb-block="th"] .cnb-timer').inner_text() == "2.0 s"
    assert view.locator('[data-cnb-block="th"] details').get_attribute("open") is not None
    lab.assert_no_console_errors()


def test_late_view_and_snapshot(jupyter_server, lab):
    path = jupyter_server.notebook(
        "late.ipynb",
        [
            PRELUDE
            + "v = LiveView()\nmd_block(v, 'a', '<p>pushed before display</p>')\n"
            "v.push({'op': 'json', 'id': 'a', 'text': '{\"k\": 1}'})\ndisplay(v)\n"
            "md_block(v, 'b', '<p>pushed right after display</p>', '<p>tail b</p>')",
            "display(v)",
            "v.push({'op': 'md', 'id': 'b', 'commit': '<p>to both views</p>', 'tail': '', 'replace': None})\n"
            "v._seq += 3  # simulate lost messages: the views must notice the gap and resync\n"
            "md_block(v, 'c', '<p>after a gap</p>')",
        ],
    )
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    first, second = lab.view(0), lab.view(1)
    for view in (first, second):
        view.locator('[data-cnb-block="c"]').wait_for()
    html = [v.locator(".cnb-log").inner_html() for v in (first, second)]
    assert html[0] == html[1]
    assert "pushed before display" in html[0] and "to both views" in html[0]
    assert "after a gap" in html[0] and '{"k": 1}' in html[0]
    assert first.locator(".cnb-md-t").first.inner_text() == ""

    # reload: models are restored from the kernel, views get everything from the snapshot
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab.page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty"
    )
    lab.open("late.ipynb")
    lab.view(0).locator('[data-cnb-block="c"]').wait_for()
    assert lab.view(0).locator(".cnb-log").inner_html() == html[0]
    lab.assert_no_console_errors()


STOP_CELL = (
    PRELUDE
    + """\
v = LiveView()
stopped = {}
v.on_action(lambda m: m["type"] == "stop" and stopped.setdefault("t", time.time()))
display(v)
v.push({"op": "state", "running": True, "stop": "button", "demo": False})
md_block(v, "t", "<p>streaming…</p>")
t0 = time.time()
while "t" not in stopped and time.time() - t0 < 20:
    await asyncio.sleep(0.01)
v.push({"op": "state", "running": False, "stop": "none", "demo": False})
print("STOP_RECEIVED", stopped.get("t"))
"""
)


def _stop_and_measure(ui, press):
    """Run STOP_CELL + a queued cell, trigger stop with `press()`, return click->Python latency."""
    ui.run_all()
    stop = ui.view(0).get_by_role("button", name="Stop")
    stop.wait_for()
    ui.page.wait_for_timeout(300)  # let the cell settle into its await loop
    clicked = time.time()
    press(stop)
    ui.output(1).get_by_text("NEXT_RAN").wait_for(timeout=5000)
    ended = time.time() - clicked
    ui.wait_done()
    received = float(re.search(r"STOP_RECEIVED ([\d.]+)", ui.output(0).inner_text()).group(1))
    assert stop.is_hidden()
    return received - clicked, ended


def test_stop_button_ends_awaiting_cell(jupyter_server, lab):
    path = jupyter_server.notebook("stop.ipynb", [STOP_CELL, "print('NEXT_RAN')"])
    lab.open(path)
    latency, ended = _stop_and_measure(lab, lambda stop: stop.click())
    print(f"\nJupyterLab: Stop click -> Python {latency * 1000:.0f} ms, -> next cell output {ended:.2f} s")
    assert latency < 1.0
    assert ended < 1.5
    lab.assert_no_console_errors()


def test_escape_inside_view_stops(jupyter_server, lab):
    path = jupyter_server.notebook("esc.ipynb", [STOP_CELL, "print('NEXT_RAN')"])
    lab.open(path)

    def press_escape(stop):
        lab.view(0).locator('[data-cnb-block="t"]').click()  # focus lands inside the view
        lab.page.keyboard.press("Escape")

    latency, ended = _stop_and_measure(lab, press_escape)
    assert latency < 1.0 and ended < 1.5
    lab.assert_no_console_errors()


def test_busy_kernel_hint(jupyter_server, lab):
    """A blocking cell can't receive the click: the view says so, and still streams."""
    path = jupyter_server.notebook(
        "busy.ipynb",
        [
            PRELUDE
            + "w = LiveView()\ndisplay(w)\n"
            "w.push({'op': 'state', 'running': True, 'stop': 'interrupt', 'demo': True})\n"
            "v = LiveView()\ndisplay(v)\n"
            "v.push({'op': 'state', 'running': True, 'stop': 'button', 'demo': False})\n"
            "md_block(v, 'live', '<p>visible while the kernel is blocked</p>')\n"
            "time.sleep(3.5)\n"
            "v.push({'op': 'state', 'running': False, 'stop': 'none', 'demo': False})",
        ],
    )
    lab.open(path)
    lab.run_all()
    views = lab.output(0).locator(".cnb-root")
    blocked = views.nth(1)
    blocked.get_by_text("visible while the kernel is blocked").wait_for()
    interrupt_stop = views.nth(0).get_by_role("button", name="Stop")
    assert "Kernel ▸ Interrupt" in interrupt_stop.get_attribute("title")
    assert views.nth(0).locator(".cnb-demo").is_visible()
    blocked.get_by_role("button", name="Stop").click()
    hint = blocked.get_by_role("status")
    hint.wait_for(timeout=3000)
    assert "use Kernel ▸ Interrupt (■)" in hint.inner_text()
    lab.wait_done()
    assert hint.is_hidden()
    lab.assert_no_console_errors()


CHAT_CELL = (
    PRELUDE
    + """\
v = LiveView(chat=True, title="Claude")
got = []
def handle(msg):
    got.append(msg["type"])
    if msg["type"] == "send":
        n = got.count("send")
        v.push({"op": "state", "running": True, "stop": "button", "demo": True})
        v.push({"op": "block", "id": f"u{n}", "kind": "user", "html": f"<p>{html.escape(msg['text'])}</p>"})
        md_block(v, f"a{n}", f"<p>Echo {n}: <em>{html.escape(msg['text'])}</em></p>")
        v.push({"op": "state", "running": False, "stop": "button", "demo": True})
    elif msg["type"] == "export":
        v.push({"op": "download", "filename": "chat." + msg["format"], "mime": "text/markdown",
                "content": "# exported\\n"})
    elif msg["type"] == "regenerate":
        n = got.count("regenerate")
        v.push({"op": "block", "id": f"r{n}", "kind": "text", "html": f"<p>regenerated {n}</p>" * 40})
    elif msg["type"] == "new":
        v.push({"op": "clear"})
v.on_action(handle)
display(v)
"""
)


def test_chat_send_export_new(jupyter_server, lab):
    path = jupyter_server.notebook("chat.ipynb", [CHAT_CELL, "print(got)"])
    lab.open(path)
    lab.run_cell(0)
    lab.wait_done()
    view = lab.view(0)
    box = view.get_by_role("textbox", name="Message")
    box.click()
    lab.page.keyboard.type("Hello <b>there</b> abc dd")  # notebook shortcuts must not fire
    lab.page.keyboard.press("Enter")
    view.get_by_text("Echo 1:").wait_for()
    assert view.locator('[data-cnb-block="u1"]').inner_text() == "Hello <b>there</b> abc dd"
    assert box.input_value() == ""
    assert lab.page.locator(".jp-Notebook .jp-Cell").count() == 2

    box.click()
    lab.page.keyboard.type("line1")
    lab.page.keyboard.press("Shift+Enter")
    lab.page.keyboard.type("line2")
    assert box.input_value() == "line1\nline2"
    view.get_by_role("button", name="Send").click()
    view.get_by_text("Echo 2:").wait_for()

    view.get_by_role("button", name="Export ▾").click()
    with lab.page.expect_download() as download:
        view.get_by_role("menuitem", name="Markdown").click()
    assert download.value.suggested_filename == "chat.md"
    # the conversation sticks to the bottom while it grows, unless the user scrolled up
    log = view.locator(".cnb-log")
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 40"
    view.get_by_role("button", name="Regenerate").click()
    view.get_by_text("regenerated 1").first.wait_for()
    lab.page.wait_for_function(at_bottom, arg=log.element_handle())
    log.evaluate("el => { el.scrollTop = 0; }")
    lab.page.wait_for_function("el => el.scrollTop === 0", arg=log.element_handle())
    lab.page.wait_for_timeout(100)  # the scroll event is delivered asynchronously
    view.get_by_role("button", name="Regenerate").click()
    view.get_by_text("regenerated 2").first.wait_for()
    lab.page.wait_for_timeout(100)
    assert log.evaluate("el => el.scrollTop") == 0
    view.get_by_role("button", name="New conversation").click()
    lab.page.wait_for_function(
        "(el) => el.querySelector('.cnb-log').children.length === 0", arg=view.element_handle()
    )
    lab.run_cell(1)
    lab.wait_done()
    assert "['send', 'send', 'export', 'regenerate', 'regenerate', 'new']" in lab.output(1).inner_text()
    lab.assert_no_console_errors()


SHOWCASE_CELL = (
    PRELUDE
    + """\
v = LiveView()
display(v)
v.push({"op": "state", "running": True, "stop": "button", "demo": True})
v.push({"op": "block", "id": "th", "kind": "thinking", "html":
    '<details class="cnb-card cnb-thinking" open><summary>Thought for 4.2 s</summary><div class="cnb-md">'
    '<p>The user wants the weather in Paris; I should call the tool, then summarise.</p></div></details>'})
v.push({"op": "block", "id": "tool", "kind": "tool_use", "html":
    '<details class="cnb-card cnb-tool" open><summary><span class="cnb-tool-kind">tool</span> '
    '<span class="cnb-tool-name">get_weather</span> <span class="cnb-tool-status cnb-status-done">done · '
    '<span class="cnb-elapsed">0.8 s</span></span></summary><div class="cnb-tool-input">'
    '<pre class="cnb-json">{\\n  "city": "Paris",\\n  "units": "metric"\\n}</pre></div>'
    '<div class="cnb-tool-result"><div class="cnb-result"><div class="cnb-result-label">Result</div>'
    '<pre class="cnb-output">18 °C, light rain, wind 12 km/h</pre></div></div></details>'})
v.push({"op": "block", "id": "tool2", "kind": "tool_use", "html":
    '<details class="cnb-card cnb-tool" open><summary><span class="cnb-tool-kind">tool</span> '
    '<span class="cnb-tool-name">run_shell</span> <span class="cnb-tool-status cnb-status-awaiting_approval">'
    'awaiting approval</span></summary><div class="cnb-tool-input"><pre class="cnb-json">{"cmd": "rm -rf build/"}'
    '</pre></div><div class="cnb-tool-result"><div class="cnb-actions">'
    '<button data-cnb-action="approve" data-cnb-id="tool2">Allow</button>'
    '<button data-cnb-action="deny" data-cnb-id="tool2">Deny</button></div></div></details>'})
v.push({"op": "block", "id": "tool3", "kind": "server_tool_use", "html":
    '<details class="cnb-card cnb-tool cnb-server-tool"><summary><span class="cnb-tool-kind">server tool</span> '
    '<span class="cnb-tool-name">web_search</span> <span class="cnb-tool-hint">“paris weather tomorrow”</span> '
    '<span class="cnb-tool-status cnb-status-running">running</span> '
    '<span class="cnb-timer" data-running>0.0 s</span></summary><div class="cnb-tool-input"></div></details>'})
v.push({"op": "block", "id": "web", "kind": "server_tool_result", "html":
    '<details class="cnb-card cnb-server-result cnb-web-results" open><summary><span class="cnb-tool-name">'
    'web_search</span> <span class="cnb-muted">2 results</span></summary><ol class="cnb-web-list">'
    '<li><a href="https://example.org/paris">Paris: 7-day forecast</a> <span class="cnb-url">'
    'https://example.org/paris</span> <span class="cnb-page-age">2 hours ago</span></li>'
    '<li><a href="https://example.org/fr">Météo France</a> <span class="cnb-url">https://example.org/fr</span>'
    '</li></ol></details>'})
v.push({"op": "block", "id": "text", "kind": "text", "html": '<div class="cnb-text"><div class="cnb-md"></div></div>'})
v.push({"op": "md", "id": "text", "replace": None, "commit": '''<h3>Weather in Paris</h3>
<p>It is <strong>18 °C</strong> with light rain<sup class="cnb-cite"><a href="https://example.org/paris">1</a></sup>.
Use <code>get_weather()</code> again tomorrow, or see <a href="https://example.org">the forecast</a>.</p>
<ul><li>Umbrella: yes</li><li>Jacket: a light one</li></ul>
<pre><code class="language-python"><span class="k">def</span> <span class="nf">umbrella</span><span class="p">(</span><span class="n">mm</span><span class="p">):</span>
    <span class="k">return</span> <span class="n">mm</span> <span class="o">&gt;</span> <span class="mf">0.5</span>  <span class="c1"># rain today</span>
</code></pre>
<table><thead><tr><th>Day</th><th>High</th><th>Rain</th></tr></thead>
<tbody><tr><td>Mon</td><td>18 °C</td><td>2 mm</td></tr><tr><td>Tue</td><td>21 °C</td><td>0 mm</td></tr></tbody></table>
<blockquote><p>Forecasts beyond three days are uncertain.</p></blockquote>''', "tail": "<p>Anything else you would like to kn</p>"})
v.push({"op": "block", "id": "notice", "kind": "notice", "html": "<p>Overloaded (529): retrying in 3 s…</p>"})
v.push({"op": "block", "id": "err", "kind": "error", "html":
    '<div class="cnb-error" role="alert"><div class="cnb-error-title">Stream interrupted</div>'
    '<div class="cnb-error-message">The connection dropped (RemoteProtocolError). The partial answer above '
    'was kept.</div><div class="cnb-error-hint">Run the cell again to retry.</div>'
    '<div class="cnb-error-meta">request id <code>req_011CXYZ</code></div></div>'})
v.push({"op": "block", "id": "foot", "kind": "footer", "html":
    '<div class="cnb-footer"><span class="cnb-model">claude-sonnet-4-5</span> · <span class="cnb-tokens">'
    '1,204 in · 388 out</span> · <span class="cnb-timing">first token 0.61 s · 3.9 s · 99 tok/s</span> · '
    '<span class="cnb-stop cnb-stop-end_turn">complete</span></div>'})
"""
)


def test_screenshots_light_and_dark(jupyter_server, lab):
    chat_cell = CHAT_CELL + (
        "handle({'type': 'send', 'text': 'What should I wear in Paris tomorrow?'})\n"
        "v.push({'op': 'state', 'running': True, 'stop': 'button', 'demo': True})"
    )
    path = jupyter_server.notebook("showcase.ipynb", [SHOWCASE_CELL, chat_cell])
    lab.page.set_viewport_size({"width": 1100, "height": 2200})  # whole outputs in view
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    lab.view(0).locator('[data-cnb-block="foot"]').wait_for()
    lab.view(1).get_by_text("Echo 1:").wait_for()
    shots = []
    try:
        for theme, name in [("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")]:
            lab.set_theme(theme)
            lab.view(0).locator('[data-cnb-block="text"] .cnb-code').hover()
            shots.append(lab.screenshot(lab.output(0), f"view-{name}"))
            shots.append(lab.screenshot(lab.output(1), f"chat-{name}"))
    finally:
        lab.set_theme("JupyterLab Light")
    assert all(p.stat().st_size > 10_000 for p in shots)
    lab.assert_no_console_errors()


def test_notebook7_render_and_stop(jupyter_server, nb7):
    path = jupyter_server.notebook(
        "nb7.ipynb", [RENDER_CELL.replace("insert_cells=True", ""), STOP_CELL, "print('NEXT_RAN')"]
    )
    nb7.open(path)
    nb7.run_cell(0)
    nb7.wait_done()
    view = nb7.view(0)
    view.locator('[data-cnb-block="th"]').wait_for()
    assert view.locator('[data-cnb-block="t1"] .cnb-md-c h2').inner_text() == "Result"
    assert view.locator('[data-cnb-block="tool1"] pre.cnb-json-live').text_content() == '{"city": "Par<b>is</b>"}'
    assert view.get_by_role("button", name="Copy").is_visible() is not None
    assert view.get_by_role("button", name="Insert as cell").is_hidden()

    nb7.run_cell(1)
    stop = nb7.view(1).get_by_role("button", name="Stop")
    stop.wait_for()
    nb7.page.wait_for_timeout(300)
    clicked = time.time()
    stop.click()
    nb7.output(1).get_by_text("STOP_RECEIVED").wait_for(timeout=5000)
    print(f"\nNotebook 7: Stop click -> cell output {time.time() - clicked:.2f} s")
    nb7.wait_done()
    nb7.assert_no_console_errors()
