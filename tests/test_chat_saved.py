"""A Chat's turns are in the saved notebook (issue 15): a real kernel runs a notebook whose Chat
gets one turn from the widget (as the browser sends it) and one from the Python API, against
the loopback; nbclient saves it. The Chat's companion output, replaced by display id after each
turn, holds both turns' provenance records (no secrets) and a readable static transcript; the
widget's own output is left alone. `Chat.resume(path)` continues that conversation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from claude_nb.loopback import text_turn
from claude_nb.persist.notebook import NotebookNotFound, chat_transcripts, load_chat
from claude_nb.persist.provenance import KEY
from test_resume import visible_text

KEY_SHAPED = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"  # someone else's key, pasted in a prompt
SECRET_FRAGMENT = "SECRET-0123456789"  # of the `api` fixture's key
WIDGET = "application/vnd.jupyter.widget-view+json"

WAIT = ("import asyncio\n"
        "while chat.saved.turns_saved < {n}:\n"
        "    await asyncio.sleep(0.02)")
CELLS = [
    "from claude_nb import Chat\nchat = Chat()\nchat",
    # typed in the box: the comm message the browser sends, through the widget's one entry
    f"chat.view.receive({{'type': 'send', 'text': 'first question ({KEY_SHAPED})'}})\n"
    + WAIT.format(n=1),
    "chat.send('second question')\n" + WAIT.format(n=2),
]


@pytest.fixture
def saved(api: Any, tmp_path: Path) -> Path:
    from nbclient import NotebookClient

    api.enqueue(text_turn("First **answer**, echoing sk-test-SECRET-0123456789."),
                text_turn("Second answer."))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    path = tmp_path / "chat.ipynb"
    nbformat.write(nb, path)
    assert [r.error for r in api.requests if r.error] == []
    return path


def test_saved_notebook_holds_every_chat_turn(api: Any, saved: Path) -> None:
    nb = json.loads(saved.read_text())
    outputs = nb["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["display_data", "display_data"]
    widget, transcript = outputs
    assert WIDGET in widget["data"] and KEY not in widget.get("metadata", {})
    assert all(not c["outputs"] for c in nb["cells"][1:])  # nothing printed by the turns

    # the records of both turns, in order, the second sent with the first as history
    turns = transcript["metadata"][KEY]["turns"]
    assert [t["status"] for t in turns] == ["done", "done"]
    assert all(r["request_id"] for t in turns for r in t["requests"])
    assert turns[0]["messages"][1]["content"][0]["text"].startswith("First **answer**")
    assert turns[1]["messages"][0]["content"][0]["text"] == "second question"
    assert turns[1]["history_start"] == 2 and turns[1]["usage"]["output_tokens"] > 0
    assert len(api.requests[1].body["messages"]) == 3

    # a readable static transcript: collapsed, no stylesheet, both turns in every format
    html = "".join(transcript["data"]["text/html"])
    assert html.startswith('<details class="cnb-chat-saved"><summary>Chat transcript · 2 turns')
    assert "<style" not in html and "<script" not in html
    assert "First <strong>answer</strong>" in html and "Second answer." in html
    assert "second question" in html
    markdown = "".join(transcript["data"]["text/markdown"])
    assert "**You:**" in markdown and "First **answer**" in markdown
    assert "Second answer." in "".join(transcript["data"]["text/plain"])

    # no secrets anywhere in the outputs (the cell sources quote the key-shaped string)
    text = json.dumps([c["outputs"] for c in nb["cells"]], ensure_ascii=False)
    assert KEY_SHAPED not in text and SECRET_FRAGMENT not in text
    # (the box masks secrets in what is typed; the answer echoing the key is redacted)
    assert "first question ([redacted Anthropic API key])" in text
    assert "echoing [API key]." in text

    # `jupyter nbconvert --to html --sanitize-html`: the transcript reads, no CSS text
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--sanitize-html",
                    str(saved)], check=True, capture_output=True, timeout=120)
    page = visible_text(saved.with_suffix(".html").read_text(encoding="utf-8"))
    assert "Chat transcript · 2 turns" in page and ".cnb-" not in page
    assert "first question" in page and "First answer" in page and "Second answer." in page


def test_a_saved_chat_resumes(api: Any, saved: Path) -> None:
    from claude_nb.frontends.chat import Chat

    assert [len(t) for t in chat_transcripts(json.loads(saved.read_text()))] == [2]
    chat = Chat.resume(saved)
    try:
        shown = json.dumps(chat.view.snapshot(), ensure_ascii=False)
        assert "first question ([redacted" in shown and "Second answer." in shown
        assert len(chat.conversation.messages) == 4
    finally:
        chat.close()
    conv = load_chat(saved)
    api.enqueue(text_turn("Third answer."))
    assert conv.send("third question").wait().text == "Third answer."
    sent = api.requests[-1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant"] * 2 + ["user"]
    assert sent[3]["content"][0]["text"] == "Second answer."
    assert [r.error for r in api.requests if r.error] == []
    with pytest.raises(NotebookNotFound, match="not one at index 3"):
        load_chat(saved, index=3)
