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
