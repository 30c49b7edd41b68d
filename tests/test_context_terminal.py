"""Notebook context in terminal IPython (the synchronous path): the card is printed as text
before the answer, `--error` finds the failing cell, no button is shown, and unloading the
extension removes the failing-cell hook."""

from __future__ import annotations

from typing import Any


from claude_nb.loopback import text_turn


def test_error_and_card_in_the_terminal(api: Any, shell: Any, capsys: Any) -> None:
    shell.run_cell("import numpy as np\nreadings = np.arange(12.0)", store_history=True)
    failed = shell.run_cell("readings.reshape(5, 5)", store_history=True)
    assert failed.error_in_exec is not None
    capsys.readouterr()
    api.enqueue(text_turn("12 values cannot fill 5 × 5."))
    result = shell.run_cell("%%claude --error\nWhy? See {readings}", store_history=True)
    assert result.error_in_exec is None
    out = capsys.readouterr().out
    assert out.index("Context: 2 items") < out.index("12 values cannot")
    assert "last error · error" in out and "readings · ndarray" in out
    sent = api.requests[-1].body["messages"][-1]["content"]
    assert "raised ValueError" in sent[0]["text"] and "readings.reshape(5, 5)" in sent[0]["text"]
    assert "shape (12), dtype float64" in sent[1]["text"]
    assert "widget" not in out  # no Ask-Claude button outside a kernel
    assert getattr(shell, "rl_next_input", None) is None  # only --fix offers a cell


def test_cells_render_outputs_by_type_and_never_the_environment(api: Any, shell: Any,
                                                                 capsys: Any) -> None:
    shell.run_cell("import os\nos.environ['DEPLOY_SECRET'] = 'env-value-98765'",
                   store_history=True)
    shell.run_cell("os.environ", store_history=True)
    shell.run_cell("list(range(3))", store_history=True)
    api.enqueue(text_turn("ok"))
    shell.run_cell("%%claude --cells 2\nWhat did I look at?", store_history=True)
    body = str(api.requests[-1].body)
    assert "env-value-98765" not in body and "environment variables are never sent" in body
    assert "[0, 1, 2]" in body


def test_unload_removes_the_failing_cell_hook(shell: Any) -> None:
    recorder = shell.magics_manager.registry["ClaudeMagics"].errors
    assert recorder in shell.events.callbacks["post_run_cell"]
    shell.run_cell("%unload_ext claude_nb")
    assert recorder not in shell.events.callbacks["post_run_cell"]


def test_a_syntax_error_is_attached_without_ipython_frames(api: Any, shell: Any) -> None:
    shell.run_cell("def f(:\n    pass", store_history=True)
    api.enqueue(text_turn("A colon too early."))
    shell.run_cell("%claude --fix", store_history=True)
    text = api.requests[-1].body["messages"][-1]["content"][0]["text"]
    assert "raised SyntaxError" in text and "def f(:" in text
    assert "interactiveshell.py" not in text and "compilerop.py" not in text


def test_fix_prefills_the_next_prompt_with_the_corrected_cell(api: Any, shell: Any,
                                                              capsys: Any) -> None:
    shell.run_cell("total = 10\nshare = total / 0", store_history=True)
    api.enqueue(text_turn("Division by zero.\n\n```python\nshare = total / 2\n```"))
    shell.run_cell("%claude --fix", store_history=True)
    assert shell.rl_next_input == "share = total / 2"
    assert "inserted below, not run" in capsys.readouterr().out
