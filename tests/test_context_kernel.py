"""Notebook context in a real kernel against the loopback server: what each request carries
(`{df}`, `{fig}`, `--error`, `--fix`, `--cells`), that no secret is in any request, and the
preview card above the answer; the Ask-Claude button's presence and setting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from claude_nb.loopback import text_turn
from kernel_support import collect, kernel, run


@pytest.fixture
def k(api: Any) -> Any:
    with kernel() as (km, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        yield km, kc


def html_of(ex: Any) -> str:
    return "".join(d.get("text/html", "") for d in ex.displays.values()) + "".join(
        o["data"].get("text/html", "") for o in ex.outputs if "data" in o)


def sent(api: Any) -> list[dict[str, Any]]:
    return api.requests[-1].body["messages"][-1]["content"]


def test_dataframe_is_sent_as_shape_dtypes_and_a_few_rows(api: Any, k: Any) -> None:
    _, kc = k
    assert run(kc, "import numpy as np, pandas as pd\n"
                   "df = pd.DataFrame({'station': np.repeat(['Oslo', 'Lima'], 50_000),\n"
                   "                   'temp_c': np.linspace(-5, 30, 100_000),\n"
                   "                   'rain_mm': np.zeros(100_000)})").error is None
    api.enqueue(text_turn("Two stations."))
    ex = run(kc, "%%claude\nWhat is in {df}?")
    assert ex.error is None
    content = sent(api)
    context, question = content[0]["text"], content[-1]["text"]
    assert question == "What is in `df`?"
    assert "100,000 rows × 3 columns" in context
    for column in ("- station: ", "- temp_c: float64, 0 nulls", "- rain_mm: float64, 0 nulls"):
        assert column in context
    assert "| 0 | Oslo | -5.0 | 0.0 |" in context and "| 99999 | Lima | 30.0 | 0.0 |" in context
    assert len(json.dumps(api.requests[-1].body)) < 5_000  # a few KB for 100,000 rows
    html = html_of(ex)
    assert "Context: 1 item · ~" in html and ">df<" in html and "Two stations." in html


def test_figure_is_an_image_block_the_server_accepts(api: Any, k: Any) -> None:
    _, kc = k
    run(kc, "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 3, 2])")
    api.enqueue(text_turn("A line going up, then down."))
    ex = run(kc, "%%claude\nDescribe {fig}")
    assert ex.error is None and "A line going up" in html_of(ex)
    image = next(b for b in sent(api) if b["type"] == "image")
    assert image["source"]["media_type"] == "image/png"
    assert image["source"]["data"].startswith("iVBORw0KGgo")  # base64 of the PNG signature


def test_error_sends_the_failing_cell_exception_and_traceback(api: Any, k: Any) -> None:
    _, kc = k
    failing = run(kc, "def ratio(a, b):\n    return a / b\n\nratio(1, 0)")
    assert failing.error is not None
    api.enqueue(text_turn("b is zero."))
    ex = run(kc, "%%claude --error\nWhy?")
    assert ex.error is None
    text = sent(api)[0]["text"]
    assert "raised ZeroDivisionError: division by zero" in text
    assert "def ratio(a, b):\n    return a / b\n\nratio(1, 0)" in text
    assert "Traceback" in text and "return a / b" in text and "\x1b[" not in text
    assert "Context: 1 item" in html_of(ex) and "last error" in html_of(ex)


def test_fix_asks_for_the_cause_and_inserts_the_corrected_cell(api: Any, k: Any) -> None:
    _, kc = k
    run(kc, "[1, 2, 3][7]")
    api.enqueue(text_turn("The list has 3 items.\n\n```python\nitems = [1, 2, 3]\n"
                          "items[2]\n```\n\nIndexes start at 0."))
    msg_id = kc.execute("%claude --fix")
    ex = collect(kc, msg_id)
    assert ex.error is None
    content = sent(api)
    assert "IndexError" in content[0]["text"] and "[1, 2, 3][7]" in content[0]["text"]
    assert "corrected cell" in content[-1]["text"]
    reply = next(m for m in iter(lambda: kc.get_shell_msg(timeout=10), None)
                 if m["parent_header"].get("msg_id") == msg_id)
    payloads = reply["content"]["payload"]
    assert payloads == [{"source": "set_next_input", "text": "items = [1, 2, 3]\nitems[2]",
                         "replace": False}]
    assert "inserted below, not run" in html_of(ex)


def test_error_without_a_failure_is_one_clear_message(api: Any, k: Any) -> None:
    _, kc = k
    ex = run(kc, "%%claude --error\nWhy?")
    assert ex.error is not None and "No cell has failed yet" in html_of(ex)
    assert not api.requests


def test_cells_sends_the_previous_cells_in_order(api: Any, k: Any) -> None:
    _, kc = k
    run(kc, "first = 1")
    run(kc, "second = first + 1")
    run(kc, "second * 10")
    api.enqueue(text_turn("ok"))
    ex = run(kc, "%%claude --cells 2\nWhat did I do?")
    assert ex.error is None
    texts = [b["text"] for b in sent(api)[:-1]]
    assert len(texts) == 2
    assert "second = first + 1" in texts[0] and "second * 10" in texts[1] and "20" in texts[1]
    assert "first = 1" not in "".join(texts)
    counts = [int(t.split("In [")[1].split("]")[0]) for t in texts]
    assert counts == sorted(counts) and counts[1] == counts[0] + 1
    html = html_of(ex)
    assert "Context: 2 items" in html and f"In[{counts[0]}]" in html


SECRETS = {"anthropic": "sk-ant-api03-" + "Q" * 40, "aws": "AKIAIOSFODNN7EXAMPLE",
           "github": "ghp_" + "G7" * 18, "plain": "correct-horse-battery-staple",
           "env": "env-only-value-1234567"}


def test_no_secret_is_in_any_request_and_the_card_says_what_was_masked(api: Any,
                                                                         k: Any) -> None:
    _, kc = k
    run(kc, f"import os\nos.environ['MY_SERVICE_TOKEN'] = {SECRETS['env']!r}\n"
            f"api_key = {SECRETS['plain']!r}\n"
            f"settings = {{'region': 'eu', 'aws_key': {SECRETS['aws']!r}}}\n"
            f"notes = 'deploy with {SECRETS['anthropic']} and {SECRETS['github']}'")
    run(kc, f"db_password = {SECRETS['plain']!r}\nprint('set')")
    api.enqueue(text_turn("noted"))
    ex = run(kc, "%%claude --cells 2\nCheck {api_key}, {settings}, {notes} and {os.environ}")
    assert ex.error is None and api.requests
    body = json.dumps([r.body for r in api.requests])
    for secret in SECRETS.values():
        assert secret not in body
    assert "[redacted value of api_key]" in body and "[redacted Anthropic API key]" in body
    html = html_of(ex)
    for what in ("value of api_key", "value of key &#x27;aws_key&#x27;", "GitHub token",
                 "environment variables", "value of db_password"):
        assert what in html, what


def test_card_lists_every_item_and_count_shows_it_without_sending(api: Any, k: Any) -> None:
    _, kc = k
    run(kc, "import numpy as np\narr = np.arange(10_000)\nitems = {'a': 1}\nn = 3")
    api.enqueue(text_turn("ok"))
    ex = run(kc, "%%claude\n{arr} {items} {n} {arr.sum()}")
    html = html_of(ex)
    assert "Context: 4 items" in html
    for name in (">arr<", ">items<", ">n<", ">{arr.sum()}<", "sent as written"):
        assert name in html
    before = len(api.requests)
    ex = run(kc, "%%claude --count\nSize of {arr}?")
    assert ex.error is None and len(api.requests) == before + 1  # the count request only
    assert api.requests[-1].path.endswith("/count_tokens")
    assert "(counted by the API, not sent)" in html_of(ex)


def test_ask_claude_button_under_a_traceback_and_its_setting(api: Any, k: Any) -> None:
    _, kc = k
    ex = run(kc, "undefined_name + 1")
    assert ex.error is not None
    views = [o for o in ex.outputs if "application/vnd.jupyter.widget-view+json" in o["data"]]
    assert len(views) == 1
    run(kc, "%config Claude.error_button = False")
    ex = run(kc, "undefined_name + 1")
    assert not [o for o in ex.outputs if "application/vnd.jupyter.widget-view+json" in o["data"]]


def test_chat_box_interpolates_in_the_kernel(api: Any, k: Any) -> None:
    _, kc = k
    api.enqueue(text_turn("3 rows."))
    run(kc, "import pandas as pd\nfrom claude_nb import Chat\n"
            "frame = pd.DataFrame({'x': [1, 2, 3]})\nchat = Chat()\n"
            "reply = chat.send('How many rows in {frame}?')")
    ex = run(kc, "import asyncio\nwhile reply.status in ('pending', 'running'):\n"
                 "    await asyncio.sleep(0.05)\nprint(reply.status, reply.text)")
    assert ex.stream.strip() == "done 3 rows."
    content = sent(api)
    assert "pandas DataFrame: 3 rows × 1 columns" in content[0]["text"]
    assert content[-1]["text"] == "How many rows in `frame`?"
    ex = run(kc, "print(any(b.get('id') == 'r1.context' for b in chat.view.snapshot()['blocks']))")
    assert ex.stream.strip() == "True"


def test_history_references_and_the_budget(api: Any, k: Any) -> None:
    _, kc = k
    count = run(kc, "6 * 7").outputs[0]["execution_count"]
    run(kc, "words = ['word%d' % i for i in range(5000)]\nnotes = 'n' * 30_000")
    run(kc, "%config Claude.context_budget = 200")  # tokens: ~800 characters for both
    api.enqueue(text_turn("ok"))
    ex = run(kc, f"%%claude\nlast {{_}} and Out {{Out[{count}]}}; {{words}} {{notes}}")
    assert ex.error is None
    content = sent(api)
    assert content[-1]["text"] == "last 42 and Out 42; `words` `notes`"
    attached = "".join(b["text"] for b in content[:-1])
    assert attached.count("cut by the context budget") == 2 and len(attached) < 800 + 300
    html = html_of(ex)
    assert html.count("truncated by the context budget") == 2
