"""Conversations survive the kernel (issue 15), end to end with real kernels and the loopback:
a notebook with three %%claude turns (thinking, a tool call, plain) is executed and saved; a
fresh kernel resumes it and the next request carries every earlier turn, accepted by the
loopback's validation; the saved outputs carry secret-free provenance; the sanitized
nbconvert HTML shows no CSS text and reads well."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from claude_nb.loopback import text_turn, transcript
from claude_nb.persist.provenance import KEY
from kernel_support import kernel, run

SECRET_FRAGMENT = "SECRET-0123456789"  # of the `api` fixture's key
KEY_SHAPED = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"

TOOL = ("def get_weather(location: str, unit: str = 'celsius') -> str:\n"
        "    '''Weather for a place.'''\n"
        f"    return f'sunny in {{location}} (token {KEY_SHAPED})'")


def valid(server: Any) -> None:
    assert [r.error for r in server.requests if r.error] == []


@pytest.fixture
def saved(api: Any, tmp_path: Path) -> Path:
    """The three-turn notebook, executed against the loopback and saved."""
    from nbclient import NotebookClient

    api.enqueue(transcript("thinking"), transcript("tool_use"), text_turn("It is sunny."),
                text_turn("You are welcome."))
    cells = ["%load_ext claude_nb", "%%claude -t 2048\nwhat is 27*453?", TOOL,
             "%%claude --tools get_weather\nweather in San Francisco?",
             f"%%claude\nthanks! (my key is {KEY_SHAPED})"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    path = tmp_path / "that.ipynb"
    nbformat.write(nb, path)
    valid(api)
    return path


def records(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text())
    return [o["metadata"][KEY] for c in nb["cells"] for o in c.get("outputs", [])
            if KEY in o.get("metadata", {})]


def test_resume_in_a_fresh_kernel_sends_every_earlier_turn(api: Any, saved: Path) -> None:
    history = api.requests[-1].body["messages"] + [
        {"role": "assistant", "content": [{"type": "text", "text": "You are welcome."}]}]
    with kernel() as (_, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        ex = run(kc, f"%claude --resume {saved}")
        assert ex.error is None
        notice = ex.outputs[0]["data"]["text/plain"]
        assert notice.startswith("Resumed 3 turns (8 messages) from that.ipynb")
        api.enqueue(text_turn("Still here."))
        assert run(kc, "%%claude\none more").error is None
    sent = api.requests[-1].body["messages"]
    valid(api)  # alternation, tool pairs and thinking signatures all accepted
    assert len(sent) == len(history) + 1 == 9
    assert sent[-1]["content"] == [{"type": "text", "text": "one more"}]
    thinking = sent[1]["content"][0]
    assert thinking["type"] == "thinking" and thinking == history[1]["content"][0]
    # byte-identical, except key-shaped strings (in the tool result and the last prompt)
    assert sent[:4] == history[:4] and sent[5] == history[5] and sent[7] == history[7]
    assert sent[4]["content"][0]["type"] == "tool_result"
    assert "sunny in San Francisco, CA (token sk-ant-…)" in str(sent[4])
    assert KEY_SHAPED not in str(sent[6])
    assert [m["role"] for m in sent] == ["user", "assistant"] * 4 + ["user"]


def test_auto_resume_on_the_first_cell_of_a_fresh_kernel(api: Any, saved: Path) -> None:
    with kernel() as (_, kc):
        run(kc, "%load_ext claude_nb")
        run(kc, f"__vsc_ipynb_file__ = {str(saved)!r}\n%config Claude.auto_resume = True")
        api.enqueue(text_turn("Again."), text_turn("And again."))
        ex = run(kc, "%%claude\ncontinue")
        assert ex.error is None
        assert "Resumed 3 turns" in ex.outputs[0]["data"]["text/plain"]
        assert len(api.requests[-1].body["messages"]) == 9
        ex = run(kc, "%%claude\nand on")  # only the first cell resumes
        assert len(api.requests[-1].body["messages"]) == 11
        assert not any("Resumed" in str(o.get("data")) for o in ex.outputs)
    valid(api)


def test_resume_says_why_not(api: Any, tmp_path: Path) -> None:
    with kernel() as (_, kc):
        run(kc, "%load_ext claude_nb")
        ex = run(kc, f"%claude --resume {tmp_path / 'missing.ipynb'}")
        assert ex.error is not None  # the cell fails, with one card saying why
        shown = "".join(o["data"].get("text/plain", "") for o in ex.outputs)
        assert "No notebook at" in shown and "missing.ipynb" in shown
        ex = run(kc, "%claude --resume")  # a plain kernel: nobody says which notebook
        shown = "".join(o["data"].get("text/plain", "") for o in ex.outputs)
        assert "cannot tell which notebook" in shown and "--resume path/to" in shown


def test_saved_outputs_carry_provenance_without_secrets(saved: Path) -> None:
    found = records(saved)
    assert [r["status"] for r in found] == ["done"] * 3
    think, tool, _ = found
    assert think["request"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert tool["request"]["tools"] == ["get_weather"] and len(tool["requests"]) == 2
    assert all(r["request_id"] for rec in found for r in rec["requests"])
    assert think["messages"][1]["content"][0]["signature"]
    nb = json.loads(saved.read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    # everything saved but the cell sources (which quote the key-shaped string)
    text = json.dumps(outputs, ensure_ascii=False)
    assert "sunny in San Francisco, CA (token sk-ant-…)" in text
    assert SECRET_FRAGMENT not in text and KEY_SHAPED not in text
    assert "AbCdEfGhIjKlMnOpQrStUv" not in text


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(page: str) -> str:
    """What a reader sees in an nbconvert page's body (no head, styles or scripts)."""
    body = page[page.index("<body"):]
    body = re.sub(r"(?s)<(style|script)\b.*?</\1>", "", body)
    parser = _Text()
    parser.feed(body)
    return html.unescape("".join(parser.parts))


def test_sanitized_nbconvert_shows_no_css_and_reads_well(saved: Path) -> None:
    """`jupyter nbconvert --to html --sanitize-html`, the command itself."""
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--sanitize-html",
                    str(saved)], check=True, capture_output=True, timeout=120)
    text = visible_text(saved.with_suffix(".html").read_text(encoding="utf-8"))
    assert ".cnb-" not in text and "{" not in text.split("%%claude")[-1].replace(
        "{location}", "")
    assert "27 * 453 = 12,231" in text  # the thinking turn's answer
    assert "Thought for" in text  # the thinking card's summary
    assert "get_weather" in text and "sunny in San Francisco" in text  # the tool card
    assert "It is sunny." in text and "You are welcome." in text


# ---------------------------------------------------------------- a real Jupyter server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str, token: str, method: str = "GET", body: Any = None) -> Any:
    request = urllib.request.Request(
        url, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.mark.slow
def test_resume_finds_this_notebook_through_the_jupyter_server(api: Any, saved: Path,
                                                               tmp_path: Path) -> None:
    """What JupyterLab and Notebook 7 do: the server starts the notebook's kernel for a
    session; `%claude --resume` (no path) asks the server which notebook that kernel runs
    for, and resumes from its cells before the resume cell."""
    from jupyter_client import BlockingKernelClient

    root = tmp_path / "root"
    (root / "work").mkdir(parents=True)
    nb = nbformat.read(saved, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("%claude --resume"))
    nb.cells.append(nbformat.v4.new_code_cell("%%claude\nlater, not resumed"))
    nb.cells[-1].outputs = nb.cells[4].outputs  # a turn after the resume cell is left out
    nbformat.write(nb, root / "work" / "before.ipynb")
    port, token = _free_port(), "t0k3n-for-this-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}"] + (["--allow-root"] if os.getuid() == 0 else []),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    kc = None
    try:
        for _ in range(300):
            try:
                _api(f"{base}/api/status", token)
                break
            except OSError:
                time.sleep(0.1)
        session = _api(f"{base}/api/sessions", token, "POST", {
            "path": "work/before.ipynb", "type": "notebook", "name": "",
            "kernel": {"name": "python3"}})
        # renamed while its kernel runs, as JupyterLab does it: JPY_SESSION_NAME is stale now
        _api(f"{base}/api/contents/work/before.ipynb", token, "PATCH",
             {"path": "work/renamed.ipynb"})
        _api(f"{base}/api/sessions/{session['id']}", token, "PATCH",
             {"path": "work/renamed.ipynb"})
        kc = BlockingKernelClient(connection_file=str(
            tmp_path / "runtime" / f"kernel-{session['kernel']['id']}.json"))
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        assert run(kc, "%load_ext claude_nb").error is None
        ex = run(kc, "%claude --resume")
        assert ex.error is None, ex.error
        assert ex.outputs[0]["data"]["text/plain"].startswith(
            "Resumed 3 turns (8 messages) from renamed.ipynb")
        api.enqueue(text_turn("Found it."))
        assert run(kc, "%%claude\nmore").error is None
        assert len(api.requests[-1].body["messages"]) == 9
    finally:
        if kc is not None:
            kc.stop_channels()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    valid(api)
