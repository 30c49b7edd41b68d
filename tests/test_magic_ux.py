"""The magic's first-hour rough edges: help is output, errors show once, `?` ends questions,
an empty cell gives a hint, a long history collapses, Ctrl-C ends with one line."""

from __future__ import annotations

import _thread
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from claude_nb.loopback import http_error_file, text_turn
from kernel_support import kernel, run, shown


@pytest.fixture(scope="module")
def k() -> Iterator[Any]:
    """One kernel for this module; each test points it at its own loopback server."""
    with kernel() as (_km, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        yield kc


def point(kc: Any, api: Any) -> None:
    code = (f"import os; os.environ['ANTHROPIC_BASE_URL'] = {api.base_url!r}; "
            "os.environ['ANTHROPIC_API_KEY'] = 'sk-test-x'; "
            "os.environ.pop('CLAUDE_NB_BACKEND', None)")
    assert run(kc, code).error is None


def test_help_is_output_shown_once_and_the_cell_succeeds(k: Any) -> None:
    ex = run(k, "%%claude --help\n")
    assert ex.error is None
    out = shown(ex)
    assert out.count("usage: %%claude") == 1 and "--prefill" in out
    assert "cnb-error" not in out


def test_an_error_is_shown_once_in_the_card_and_the_cell_fails(api: Any, k: Any) -> None:
    point(k, api)
    api.enqueue(http_error_file("401_authentication_error"))
    ex = run(k, "%%claude\nhello")
    assert ex.error is not None and len(ex.error["traceback"]) == 1
    out = shown(ex)
    assert "cnb-error" in out
    assert out.count("Authentication failed") == 1, out
    assert "Authentication failed" not in ex.error["traceback"][0]


def test_bad_options_show_the_usage_once(k: Any) -> None:
    ex = run(k, "%%claude --max-tokens lots\nx")
    assert ex.error is not None and len(ex.error["traceback"]) == 1
    out = shown(ex)
    assert out.count("usage: %%claude") == 1 and "cnb-error" in out
    ex = run(k, "%%claude --tools not_defined_anywhere\nx")
    assert ex.error is not None and shown(ex).count("not_defined_anywhere") == 1


def test_empty_cell_gives_a_hint_not_the_history(api: Any, k: Any) -> None:
    point(k, api)
    api.enqueue(text_turn("A long answer. " * 400))
    run(k, "%%claude --new\nA long question " + "padding " * 300)
    for cell in ("%%claude\n", "%%claude\n   \n\t\n", "%claude"):
        ex = run(k, cell)
        assert ex.error is None
        plain = "".join(o.get("data", {}).get("text/plain", "") for o in ex.outputs)
        assert "Nothing sent" in plain and "A long answer" not in shown(ex)
        assert len(plain) < 300


def test_long_history_is_collapsed_with_a_size_summary(api: Any, k: Any) -> None:
    point(k, api)
    api.enqueue(*[text_turn(f"answer {i} " + "words " * 2000) for i in range(2)])
    run(k, "%%claude --new\nfirst <b>prompt</b> *not markdown*")
    run(k, "%%claude\nsecond")
    out = shown(run(k, "%claude --history"))
    assert "<details" in out and "Conversation so far: 2 turns" in out and "KB" in out
    assert "first &lt;b&gt;prompt&lt;/b&gt; *not markdown*" in out


def test_count_on_the_demo_backend_says_it_is_an_estimate(k: Any) -> None:
    run(k, "import os; os.environ.pop('ANTHROPIC_BASE_URL', None); "
           "os.environ.pop('ANTHROPIC_API_KEY', None); os.environ['CLAUDE_NB_BACKEND'] = 'demo'")
    out = shown(run(k, "%%claude --count\nHow many tokens is this?"))
    assert "estimate" in out and "demo" in out and "counted by the API" not in out.replace(
        "not counted by the API", "")


def test_question_mark_with_autoawait_off(api: Any, k: Any) -> None:
    point(k, api)
    run(k, "%autoawait off")
    try:
        api.enqueue(text_turn("Paris."))
        ex = run(k, "%claude What is the capital of France?")
        assert ex.error is None and "Paris." in ex.stream and "not found" not in ex.stream
        assert api.requests[-1].body["messages"][-1]["content"][-1]["text"].endswith("France?")
    finally:
        run(k, "%autoawait on")


def test_question_mark_in_terminal_ipython(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(text_turn("Paris."), text_turn("Tokyo."))
    result = shell.run_cell("%claude What is the capital of France?")
    assert result.error_in_exec is None
    out = capsys.readouterr().out
    assert "Paris." in out and "not found" not in out
    assert api.requests[-1].body["messages"][-1]["content"][-1]["text"] == (
        "What is the capital of France?")
    result = shell.run_cell("x = 1\n%claude -m claude-haiku-4-5 And Japan?\nprint(x)")
    assert result.error_in_exec is None and "Tokyo." in capsys.readouterr().out
    assert api.requests[-1].body["model"] == "claude-haiku-4-5"


def test_terminal_help_and_empty_prompt(shell: Any, capsys: Any) -> None:
    assert shell.run_cell("%claude --help").error_in_exec is None
    assert capsys.readouterr().out.count("usage: %%claude") == 1
    assert shell.run_cell("%%claude\n  \n").error_in_exec is None
    assert "Nothing sent" in capsys.readouterr().out


def test_terminal_error_is_printed_once(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(http_error_file("401_authentication_error"))
    result = shell.run_cell("%claude hi")
    assert result.error_in_exec is not None
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("Authentication failed") == 1


def test_ctrl_c_in_the_terminal_ends_with_one_line(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(text_turn("tick " * 400, chunk=5).stream().with_delay(0.01))
    threading.Timer(0.5, _thread.interrupt_main).start()
    result = shell.run_cell("%%claude\ncount slowly")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    out = capsys.readouterr().out
    tail = out[out.index("stopped"):]
    assert "Traceback" not in tail and "File " not in tail and "claude_nb/" not in tail
    assert tail.count("KeyboardInterrupt") == 1
    assert len([line for line in tail.splitlines() if line.strip()]) <= 2


def test_question_mark_on_a_line_among_other_code_in_a_kernel(api: Any, k: Any) -> None:
    point(k, api)
    api.enqueue(text_turn("Rome."))
    ex = run(k, "country = 'Italy'\n%claude What is the capital of {country}?")
    assert ex.error is None and "Rome." in ex.stream and "not found" not in ex.stream
    assert api.requests[-1].body["messages"][-1]["content"][-1]["text"].endswith("Italy?")
