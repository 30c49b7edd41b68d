"""The public surface stays small and complete: every name in `__all__` exists, and the
package imports without IPython or a kernel."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import claude_nb

MODULES = ["claude_nb", "claude_nb.transcript", "claude_nb.session", "claude_nb.events",
           "claude_nb.errors", "claude_nb.markdown", "claude_nb.cards", "claude_nb.sanitize",
           "claude_nb.tools", "claude_nb.inspector", "claude_nb.loopback", "claude_nb.chat",
           "claude_nb.view", "claude_nb.presenter", "claude_nb.display", "claude_nb.magic"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


def test_top_level_surface_is_small() -> None:
    assert set(claude_nb.__all__) == {
        "Conversation", "Reply", "Tool", "tool", "ClaudeNBError", "set_api_key", "Chat",
        "__version__", "load_ipython_extension", "unload_ipython_extension"}


def test_importing_the_package_does_not_import_ipython() -> None:
    code = "import sys, claude_nb; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
