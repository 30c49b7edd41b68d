"""The README's commands: the quick-start command starts JupyterLab as root and non-root,
the test command is the one `.ci/run` runs (a wheel, not an editable install), and the
Binder badge comes from the git remote, never a placeholder owner."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
MARK = "<!-- test-command: .ci/run runs the next bash block -->"


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, re.DOTALL)


def badge_module() -> Any:
    spec = importlib.util.spec_from_file_location("binder_badge", REPO / "binder" / "badge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quickstart_command_starts_jupyterlab_as_this_user(tmp_path: Path) -> None:
    """Run the documented `jupyter lab …` line (this machine's CI runs as root) with this
    environment's jupyter, headless, until the server says it is running."""
    first = bash_blocks(README)[0]
    lab = first[first.index(".venv/bin/jupyter lab "):]
    bindir = Path(sys.executable).parent
    port = free_port()
    cmd = (lab.replace(".venv/bin/", f"{bindir}/", 1)
           + f" --no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    proc = subprocess.Popen(["bash", "-c", cmd], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = ""
    try:
        deadline = time.monotonic() + 90
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
            if f":{port}/lab" in line:
                break
        assert f":{port}/lab" in seen, seen
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "--allow-root" not in seen or os.getuid() == 0


def test_test_command_installs_a_wheel_and_is_what_ci_runs() -> None:
    assert MARK in README
    command = bash_blocks(README[README.index(MARK):])[0]
    assert "pip wheel" in command and " -e " not in command and "[test]" in command
    assert command.rstrip().endswith("python -m pytest") and "PYTHONSAFEPATH=1" in command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert MARK in ci and "git clone" in ci


@pytest.mark.skipif(not os.environ.get("CLAUDE_NB_EXPECT_WHEEL"),
                    reason="set by .ci/run, which installs the package from a wheel")
def test_the_package_under_test_is_the_installed_wheel() -> None:
    import claude_nb

    installed = Path(claude_nb.__file__).resolve().parent
    assert installed != REPO / "claude_nb" and "site-packages" in installed.parts, installed
    assert (installed / "loopback" / "transcripts" / "thinking.sse").is_file()
    assert (installed / "frontends" / "js" / "view.js").is_file()


def test_binder_badge_has_no_placeholder_and_comes_from_the_remote(tmp_path: Path) -> None:
    assert "/OWNER/" not in README
    badge = badge_module()
    assert badge.github_repo("git@github.com:acme/claude_nb.git") == "acme/claude_nb"
    assert badge.github_repo("https://github.com/acme/claude-nb") == "acme/claude-nb"
    assert badge.github_repo("https://gitlab.com/acme/claude_nb.git") is None
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{badge.START}\nold\n{badge.END}\nrest\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin",
                    "git@github.com:acme/claude_nb.git"], check=True)
    assert badge.update_readme(badge.origin_repo(tmp_path), readme)
    text = readme.read_text(encoding="utf-8")
    assert "https://mybinder.org/v2/gh/acme/claude_nb/HEAD?urlpath=lab/tree/notebooks/" in text
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
