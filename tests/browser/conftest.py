"""Real-browser harness: a private JupyterLab server + headless Chromium (design.md §9).

Fixtures
--------
``jupyter_server`` (session)  -> :class:`JupyterServer`: ``.url``, ``.root`` (notebook dir),
                                 ``.notebook(name, cells) -> str`` writes a notebook, returns
                                 its path relative to the root.
``loopback`` (session)        -> the :class:`claude_nb.loopback.LoopbackServer` every kernel of
                                 the Jupyter server talks to (``ANTHROPIC_BASE_URL`` and a test
                                 key are in the server's environment, so kernels inherit them).
``srv`` (function)            -> ``loopback`` with its queue and request log emptied.
``browser`` (session)         -> playwright ``Browser`` (Debian chromium, headless).
``lab`` / ``nb7`` (function)  -> :class:`NotebookUI` on a fresh page, for JupyterLab and
                                 Notebook 7; ``.open(path)``, ``.run_all()``, ``.wait_done()``,
                                 ``.run_cell(i)``, ``.output(i)``, ``.set_theme(name)``,
                                 ``.screenshot(target, name)``, ``.assert_no_console_errors()``.

Example::

    def test_hello(jupyter_server, lab):
        path = jupyter_server.notebook("hello.ipynb", ["print('hi')"])
        lab.open(path)
        lab.run_all()
        lab.wait_done()
        assert "hi" in lab.output(0).inner_text()
        lab.assert_no_console_errors()

Everything (config, data, runtime, IPython dir, settings) lives in a tmp dir; the kernel is
``sys.executable``, so the tests use whatever environment runs pytest.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CNB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEST_KEY = "sk-test-browser-0123456789"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# Lab settings written into the isolated user-settings dir (shared by Lab and Notebook 7).
SETTINGS = {
    # every cell stays in the DOM, so outputs of cells out of view can be read
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/themes": {"theme": "JupyterLab Light", "adaptive-theme": False},
}
# Console noise from the host applications, not from claude_nb (the Notebook 7.6 ones also
# appear on a plain notebook without any widget).
BENIGN_CONSOLE = (
    "favicon",
    "Failed to load resource: the server responded with a status of 404",
    "Cannot read properties of undefined (reading 'schema')",  # Notebook 7.6 settings load
    "Command 'filebrowser:open-path' not registered",  # Notebook 7.6, sometimes
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return int(r.status)


@dataclass
class JupyterServer:
    url: str
    root: Path
    log: Path

    def notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells under the server root; return its relative path."""
        import nbformat

        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(src) for src in cells],
            metadata={"kernelspec": KERNELSPEC},
        )
        nbformat.write(nb, self.root / name)
        return name

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _isolated_env(base: Path, api_url: str) -> dict[str, str]:
    env = dict(os.environ)
    # kernels reach the Messages API stand-in in this pytest process, never the real API
    env["ANTHROPIC_BASE_URL"] = api_url
    env["ANTHROPIC_API_KEY"] = TEST_KEY
    env.pop("CLAUDE_NB_BACKEND", None)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_PATH"):
        env.pop(var, None)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    kernel_dir = base / "data" / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNELSPEC["display_name"],
        "language": "python",
        "metadata": {"debugger": False},
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec))
    for plugin, values in SETTINGS.items():
        pkg, name = plugin.rsplit("/", 1)
        target = base / "config" / "lab" / "user-settings" / pkg / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    return env


@pytest.fixture(scope="session")
def loopback() -> Iterator[Any]:
    from claude_nb.loopback import LoopbackServer

    with LoopbackServer() as server:
        yield server


@pytest.fixture
def srv(loopback: Any) -> Any:
    """The session's loopback server, emptied: no queued responses, no recorded requests."""
    with loopback._changing():
        loopback._queue.clear()
        loopback.requests.clear()
    return loopback


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory, loopback: Any) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("jupyter")
    root = base / "notebooks"
    root.mkdir()
    env = _isolated_env(base, loopback.base_url)
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited:\n{log.read_text()[-3000:]}")
            try:
                if _get(url + "/api/status") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab not ready after 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield JupyterServer(url=url, root=root, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pw = sync_api.sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
    finally:
        pw.stop()


class NotebookUI:
    """One browser page showing one notebook in JupyterLab (``ui="lab"``) or Notebook 7."""

    def __init__(self, page: Any, server: JupyterServer, ui: str) -> None:
        self.page = page
        self.server = server
        self.ui = ui
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)

    def _on_console(self, msg: Any) -> None:
        if msg.type == "error" and not any(b in msg.text for b in BENIGN_CONSOLE):
            self.console_errors.append(msg.text)

    def _on_pageerror(self, exc: Any) -> None:
        text = f"pageerror: {exc}\n{exc.stack or ''}"
        if not any(b in text for b in BENIGN_CONSOLE):
            self.console_errors.append(text[:800])

    def open(self, path: str, timeout: float = 60) -> None:
        """Open a notebook and wait until its kernel is idle."""
        if self.ui == "lab":
            self.page.goto(f"{self.server.url}/lab/tree/{path}?reset")
        else:
            self.page.goto(f"{self.server.url}/notebooks/{path}")
        self.page.wait_for_function(
            """() => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                const k = w && w.sessionContext && w.sessionContext.session
                          && w.sessionContext.session.kernel;
                return !!(k && k.status === 'idle' && w.content && w.content.widgets.length);
            }""",
            timeout=timeout * 1000,
        )

    def _execute(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Start a notebook command; completion is awaited by :meth:`wait_done`."""
        self.page.evaluate(
            """([command, args]) => {
                window.__cnbDone = false;
                window.__cnbError = null;
                window.jupyterapp.commands.execute(command, args)
                    .then(() => { window.__cnbDone = true; })
                    .catch((e) => { window.__cnbError = String(e); window.__cnbDone = true; });
            }""",
            [command, args or {}],
        )

    def run_all(self) -> None:
        self._execute("notebook:run-all-cells")

    def run_cell(self, index: int) -> None:
        self.page.evaluate(
            "(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index
        )
        self._execute("notebook:run-cell")

    def wait_done(self, timeout: float = 30) -> None:
        """Wait until the last run command finished and the kernel is idle."""
        self.page.wait_for_function(
            """() => {
                const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
                return window.__cnbDone === true && k.status === 'idle';
            }""",
            timeout=timeout * 1000,
        )
        error = self.page.evaluate("() => window.__cnbError")
        assert error is None, error

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Any:
        return self.cell(index).locator(".jp-OutputArea")

    def view(self, index: int) -> Any:
        """The LiveView root inside a cell's output."""
        return self.output(index).locator(".cnb-root")

    def set_theme(self, theme: str) -> None:
        """'JupyterLab Light' or 'JupyterLab Dark' (persisted in the isolated settings)."""
        self.page.evaluate(
            "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
        )
        self.page.wait_for_function(
            "(theme) => document.body.dataset.jpThemeName === theme", arg=theme, timeout=15000
        )
        self.page.wait_for_timeout(300)  # let the theme's CSS variables apply and repaint

    def screenshot(self, target: Any, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        target.screenshot(path=str(path))
        return path

    def assert_no_console_errors(self) -> None:
        assert self.console_errors == [], self.console_errors


def _ui(browser: Any, server: JupyterServer, ui: str) -> Iterator[NotebookUI]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        yield NotebookUI(page, server, ui)
    finally:
        context.close()
        server.shutdown_kernels()


@pytest.fixture
def lab(browser: Any, jupyter_server: JupyterServer) -> Iterator[NotebookUI]:
    yield from _ui(browser, jupyter_server, "lab")


@pytest.fixture
def nb7(browser: Any, jupyter_server: JupyterServer) -> Iterator[NotebookUI]:
    yield from _ui(browser, jupyter_server, "notebook")
