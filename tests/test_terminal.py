"""Terminal IPython: `%%claude` prints the text as it streams; Ctrl-C stops it cleanly."""

from __future__ import annotations

import _thread
import threading
from typing import Any


from claude_nb.loopback import http_error_file, text_turn, transcript


def test_streams_text_to_the_terminal(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(transcript("thinking"))
    result = shell.run_cell("%%claude -t 2048\nwhat is 27*453?")
    assert result.error_in_exec is None
    out = capsys.readouterr().out
    assert "[thinking]" in out and "27 * 453 = 12,231" in out


def test_control_sequences_are_not_printed(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(text_turn("safe \x1b[2J\x1b]0;pwned\x07 text"))
    shell.run_cell("%claude hi")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "safe" in out and "text" in out


def test_ctrl_c_stops_cleanly_and_keeps_the_partial_answer(api: Any, shell: Any,
                                                           capsys: Any) -> None:
    api.enqueue(text_turn("tick " * 400, chunk=5).stream().with_delay(0.01))
    threading.Timer(0.5, _thread.interrupt_main).start()
    result = shell.run_cell("%%claude\ncount slowly")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    out = capsys.readouterr().out
    assert "tick" in out and "stopped" in out
    assert api.wait_disconnect(5).events_after_disconnect == 0
    magics = shell.magics_manager.registry["ClaudeMagics"]
    kept = magics.conversation.messages[-1]["content"][0]["text"]
    assert kept.startswith("tick") and kept in out
    api.enqueue(text_turn("next answer"))
    assert shell.run_cell("%claude next").error_in_exec is None
    assert api.requests[-1].error is None


def test_errors_print_one_clear_message(api: Any, shell: Any, capsys: Any) -> None:
    api.enqueue(http_error_file("401_authentication_error"))
    result = shell.run_cell("%claude hi")
    assert result.error_in_exec is not None
    captured = capsys.readouterr()
    assert "Authentication failed" in captured.out + captured.err
    assert "ANTHROPIC_API_KEY" in captured.out + captured.err
    assert "sk-test" not in captured.out + captured.err


def test_unknown_tool_name_suggests_only_the_users_functions(shell: Any, capsys: Any) -> None:
    """`--tools opn` must not offer IPython's own `open` (nor exit, quit, get_ipython); a
    near miss of a function defined in the session is still suggested."""
    shell.run_cell('def calc(expr: str) -> str:\n    """Evaluate."""\n    return expr\n')
    capsys.readouterr()
    for name in ("opn", "exitt", "get_ipythn"):
        result = shell.run_cell(f"%%claude --tools {name}\nhi")
        assert result.error_in_exec is not None
        out = "".join(capsys.readouterr())
        assert f"unknown tool name(s): {name}" in out and "did you mean" not in out, out
    shell.run_cell("%%claude --tools calx\nhi")
    assert "calx (did you mean 'calc'?)" in "".join(capsys.readouterr())
