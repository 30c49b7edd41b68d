"""The public surface stays small and complete: every name in `__all__` exists, and the
package imports without IPython or a kernel."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import claude_nb

MODULES = ["claude_nb", "claude_nb.protocol.transcript", "claude_nb.protocol.blocks",
           "claude_nb.protocol.changes", "claude_nb.run.session",
           "claude_nb.protocol.events", "claude_nb.protocol.errors", "claude_nb.render.markdown",
           "claude_nb.render.blocks", "claude_nb.render.static", "claude_nb.render.exports",
           "claude_nb.render.sanitize", "claude_nb.protocol.tooltypes", "claude_nb.run.toolschema",
           "claude_nb.run.toolrun", "claude_nb.run.toolresults", "claude_nb.run.toolnames",
           "claude_nb.run.inspector", "claude_nb.protocol.sse", "claude_nb.render.timeline",
           "claude_nb.loopback", "claude_nb.frontends.chat", "claude_nb.frontends.view",
           "claude_nb.frontends.viewops", "claude_nb.frontends.actions",
           "claude_nb.frontends.presenter", "claude_nb.frontends.display",
           "claude_nb.frontends.magic", "claude_nb.bulk", "claude_nb.loopback.batches"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


def test_top_level_surface_is_small() -> None:
    assert set(claude_nb.__all__) == {
        "Conversation", "Reply", "Tool", "tool", "ClaudeNBError", "set_api_key", "Chat", "map",
        "__version__", "load_ipython_extension", "unload_ipython_extension"}


def test_importing_the_package_does_not_import_ipython() -> None:
    code = "import sys, claude_nb; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
