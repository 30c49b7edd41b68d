"""A Chat's turns reach the saved file in JupyterLab and Notebook 7 (issue 15): the turns are
typed in the box (comm messages; the replies run as tasks on the kernel loop, outside any
cell), the transcript output under the widget is replaced by `update_display` after each, the
live widget is not re-rendered (the same DOM node, the typed draft kept), and the browser's
save writes both turns' records and the static transcript."""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_nb.loopback import text_turn
from claude_nb.persist.provenance import KEY

pytestmark = pytest.mark.browser

WIDGET = "application/vnd.jupyter.widget-view+json"


def _save(ui: Any) -> None:
    ui.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    ui.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def _enabled(ui: Any, box: Any) -> None:
    ui.page.wait_for_function("(el) => !el.disabled", arg=box.element_handle(), timeout=15_000)


@pytest.mark.parametrize("ui_name", ["lab", "nb7"])
def test_chat_turns_typed_in_the_box_are_saved(jupyter_server: Any, srv: Any, ui_name: str,
                                               request: pytest.FixtureRequest) -> None:
    ui = request.getfixturevalue(ui_name)
    srv.enqueue(text_turn("First **answer**."), text_turn("Second answer."))
    path = jupyter_server.notebook(f"chat-saved-{ui_name}.ipynb",
                                   ["from claude_nb import Chat\nc = Chat()\nc"])
    ui.open(path)
    ui.run_all()
    ui.wait_done()
    out = ui.output(0)
    out.get_by_text("Chat transcript · no turns yet").wait_for()
    view = ui.view(0)
    view.evaluate("(el) => { el.__cnbMark = 'first render'; }")
    box = view.get_by_role("textbox", name="Message")

    for question, answer in [("first question", "First"), ("second question", "Second")]:
        box.click()
        ui.page.keyboard.type(question)
        ui.page.keyboard.press("Enter")
        view.get_by_text(answer + " answer", exact=False).first.wait_for()
        _enabled(ui, box)
    box.fill("a draft, not sent")
    summary = out.locator("details.cnb-chat-saved summary")
    summary.get_by_text("Chat transcript · 2 turns").wait_for()

    # the live widget was never re-rendered: same node, the draft still in the box
    assert view.evaluate("(el) => el.__cnbMark") == "first render"
    assert box.input_value() == "a draft, not sent"
    assert out.locator(".cnb-root").count() == 1  # one widget view, not a second one
    summary.click()
    assert "Second answer." in out.locator("details.cnb-chat-saved").inner_text()

    _save(ui)
    nb = json.loads((jupyter_server.root / path).read_text())
    outputs = nb["cells"][0]["outputs"]
    assert len(outputs) == 2 and WIDGET in outputs[0]["data"]
    turns = outputs[1]["metadata"][KEY]["turns"]
    assert [t["messages"][0]["content"][0]["text"] for t in turns] == [
        "first question", "second question"]
    assert all(t["requests"][0]["request_id"] for t in turns)
    html = "".join(outputs[1]["data"]["text/html"])
    assert "First <strong>answer</strong>." in html and "Second answer." in html
    assert "sk-test" not in json.dumps(outputs)  # the server's key, nowhere in the file
    assert [r.error for r in srv.requests if r.error] == []
    ui.assert_no_console_errors()
