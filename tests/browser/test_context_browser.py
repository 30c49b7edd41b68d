"""The "Ask Claude" button under a failing cell's traceback, in JupyterLab: a click sends
the failing cell, the exception and its traceback to the loopback server, the answer
streams into the same output with the context card above it, and the output then becomes
static (with Copy buttons on the code block)."""

from __future__ import annotations

import pytest

from claude_nb.loopback import text_turn

pytestmark = pytest.mark.browser

FAILING = "def ratio(a, b):\n    return a / b\n\nratio(1, 0)"
FIX = "The divisor `b` is zero.\n\n```python\nratio(1, 1)\n```\n"


def test_ask_claude_button_sends_the_error_and_shows_the_fix(jupyter_server, lab, srv):
    path = jupyter_server.notebook("ask.ipynb", ["%load_ext claude_nb", FAILING])
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    out = lab.output(1)
    assert "ZeroDivisionError" in out.inner_text()
    button = lab.view(1).get_by_role("button", name="Ask Claude")
    button.wait_for()
    assert not srv.requests
    lab.screenshot(out, "ask-claude-button")
    srv.enqueue(text_turn(FIX, chunk=8).stream().with_delay(0.01))
    button.click()
    out.locator(".cnb-turn", has_text="The divisor").wait_for(timeout=20_000)  # static at the end
    sent = srv.requests[0].body["messages"][-1]["content"]
    assert "raised ZeroDivisionError: division by zero" in sent[0]["text"]
    assert FAILING in sent[0]["text"] and "return a / b" in sent[0]["text"]
    assert "corrected cell" in sent[-1]["text"]
    assert out.locator("pre", has_text="ratio(1, 1)").count() == 1
    assert srv.requests[0].error is None and len(srv.requests) == 1
    assert "Context: 1 item" in out.locator(".cnb-context").inner_text()  # kept in the output
    lab.screenshot(out, "ask-claude-fix")
    lab.assert_no_console_errors()


def test_the_button_click_disables_it_while_the_answer_streams(jupyter_server, lab, srv):
    path = jupyter_server.notebook("ask2.ipynb", ["%load_ext claude_nb", "[1, 2][5]"])
    lab.open(path)
    lab.run_all()
    lab.wait_done()
    view = lab.view(1)
    srv.enqueue(text_turn("Index 5 is past the end. " * 40, chunk=4).stream().with_delay(0.02))
    button = view.get_by_role("button", name="Ask Claude")
    button.click()
    view.locator(".cnb-context").wait_for()  # the context card arrives first
    assert "Context: 1 item" in view.locator(".cnb-context").inner_text()
    assert button.is_disabled() if button.count() else True
    lab.output(1).locator(".cnb-turn", has_text="past the end").wait_for(timeout=30_000)
    assert len(srv.requests) == 1 and "IndexError" in str(srv.requests[0].body)


def test_dataframe_question_card_on_the_demo_backend(jupyter_server, lab):
    """`{df}` on the demo backend: the card above the answer opens to list the item, its
    size and that it was truncated; the demo answer reads the summary back (the README's
    screenshot of the context card)."""
    setup = ("import os\nos.environ['CLAUDE_NB_BACKEND'] = 'demo'\n"
             "import numpy as np, pandas as pd\n"
             "rng = np.random.default_rng(0)\n"
             "df = pd.DataFrame({'station': rng.choice(['Oslo', 'Lima', 'Pune'], 100_000),\n"
             "                   'temp_c': rng.normal(15, 8, 100_000).round(1),\n"
             "                   'rain_mm': rng.gamma(0.6, 3, 100_000).round(1)})\n"
             "df.loc[rng.choice(100_000, 250, replace=False), 'rain_mm'] = np.nan\n"
             "api_key = 'not-shown-anywhere'")
    path = jupyter_server.notebook("ctx.ipynb", [
        "%load_ext claude_nb", setup,
        "%%claude\nWhich columns of {df} have missing values? (key: {api_key})"])
    lab.page.set_viewport_size({"width": 1000, "height": 1300})
    lab.open(path)
    lab.run_all()
    lab.wait_done(timeout=60)
    out = lab.output(2)
    out.locator(".cnb-turn", has_text="rain_mm").first.wait_for(timeout=30_000)
    card = out.locator("details.cnb-context")
    assert "Context: 2 items" in card.inner_text()
    card.locator("summary").click()
    rows = card.locator("tr.cnb-context-item")
    assert rows.count() == 2
    assert "100,000 × 3" in rows.nth(0).inner_text() and "truncated" in rows.nth(0).inner_text()
    assert "redacted: value of api_key" in rows.nth(1).inner_text()
    assert "not-shown-anywhere" not in out.inner_text()
    lab.screenshot(out, "context-card-dataframe")
    lab.assert_no_console_errors()
