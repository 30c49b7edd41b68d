"""The browser's main-thread blocking while an answer streams: `%%claude` vs a naive loop.

    python benchmarks/bench_browser.py [--quick] [--runs N] [--size CHARS] [--chunk CHARS]
                                       [--delay S] [--cap S] [--before PATH]

A private JupyterLab server (isolated Jupyter dirs, as tests/browser/conftest.py starts it)
and headless Debian Chromium (/usr/bin/chromium through playwright's `executable_path`;
never `playwright install`). A LoopbackServer in this process streams a deterministic ~50 KB
Markdown answer (bench_markdown.answer, ending in a sentinel sentence) in ~2,666 deltas of
19 characters, as fast as it writes unless `--delay`. Each measurement opens the notebook
on a fresh page, runs the setup cell, then, in the page, a PerformanceObserver on 'longtask'
entries (buffered, only those starting after the run) records every main-thread task over
50 ms while the answer cell runs:

  claude    `%%claude` (live anywidget view, then static output)
  before    the same with the package at `--before PATH` (e.g. a git worktree of an older
            commit): its kernel runs this interpreter with PYTHONPATH=PATH
  naive     the baseline: a cell re-rendering the whole Markdown into a display handle per
            delta (`display(Markdown(text), display_id=True)` + `handle.update(Markdown(text))`)

Reported per run: blocking (the sum over long tasks of their time beyond 50 ms, which is
what Total Blocking Time counts) in all and in tasks that started before the sentinel was
seen (while streaming; the rest is `%%claude` swapping the live view for the static output),
total long-task time, the longest task, and the time from the run command to the sentinel
appearing in the cell's output in the DOM (polled every 100 ms). The naive loop is waited for at most `--cap` seconds ("not finished after N s");
its blocking counts what happened until then. Ratios are naive / claude of this same run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_markdown import answer  # noqa: E402  (the same realistic document)

from claude_nb.loopback import LoopbackServer, text_turn  # noqa: E402

CHROMIUM = os.environ.get("CNB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TEST_KEY = "sk-test-bench-0123456789"
SENTINEL = "Endofanswer zqxsentinel."
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/themes": {"theme": "JupyterLab Light", "adaptive-theme": False},
}
CLAUDE_CELLS = ["%load_ext claude_nb", "%%claude\nWrite a long answer."]
NAIVE_CELLS = [
    "import anthropic\nfrom IPython.display import Markdown, display",
    """\
client = anthropic.Anthropic(max_retries=0)
text = ""
handle = display(Markdown(text), display_id=True)
with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64000,
        messages=[{"role": "user", "content": "Write a long answer."}]) as stream:
    for delta in stream.text_stream:
        text += delta
        handle.update(Markdown(text))""",
]
# Installed before the answer cell runs; buffered entries from page load are filtered out.
OBSERVE = """() => {
    window.__cnbT0 = performance.now();
    window.__cnbTasks = [];
    window.__cnbDoneAt = null;
    new PerformanceObserver((list) => {
        for (const e of list.getEntries())
            if (e.startTime >= window.__cnbT0)
                window.__cnbTasks.push([e.startTime - window.__cnbT0, e.duration]);
    }).observe({type: 'longtask', buffered: true});
}"""
DONE = """(sentinel) => {
    const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
    const out = cell && cell.querySelector('.jp-OutputArea');
    if (out && out.textContent.includes(sentinel)) {
        if (window.__cnbDoneAt === null) window.__cnbDoneAt = performance.now();
        return true;
    }
    return false;
}"""
IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!(k && k.status === 'idle' && w.content && w.content.widgets.length
              && (window.__cnbRan === undefined || window.__cnbRan === true));
}"""
RUN_CELL = """(i) => {
    window.__cnbRan = false;
    const app = window.jupyterapp;
    app.shell.currentWidget.content.activeCellIndex = i;
    app.commands.execute('notebook:run-cell').then(() => { window.__cnbRan = true; });
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kernelspec(data: Path, name: str, pythonpath: str) -> None:
    """A kernel running this interpreter with `pythonpath` first (which claude_nb it imports)."""
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": name, "language": "python", "metadata": {"debugger": False},
            "env": {"PYTHONPATH": pythonpath}}
    (data / "kernels" / name).mkdir(parents=True)
    (data / "kernels" / name / "kernel.json").write_text(json.dumps(spec))


def start_lab(base: Path, api_url: str, before: str | None) -> tuple[subprocess.Popen[bytes], str]:
    """JupyterLab on a free port, every Jupyter/IPython dir under `base`; returns (process, url)."""
    env = dict(os.environ, ANTHROPIC_BASE_URL=api_url, ANTHROPIC_API_KEY=TEST_KEY,
               JUPYTER_PLATFORM_DIRS="1")
    env.pop("CLAUDE_NB_BACKEND", None)
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_PATH"):
        env.pop(var, None)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    _kernelspec(base / "data", "head", str(REPO))
    if before:
        _kernelspec(base / "data", "before", before)
    for plugin, values in SETTINGS.items():
        pkg, name = plugin.rsplit("/", 1)
        target = base / "config" / "lab" / "user-settings" / pkg / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    (base / "notebooks").mkdir()
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser",
           *(["--allow-root"] if os.geteuid() == 0 else []),
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={base / 'notebooks'}",
           "--LabApp.expose_app_in_browser=True"]
    log = (base / "server.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=base, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"jupyter lab did not start:\n{(base / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/api/status", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)


def write_notebook(root: Path, name: str, kernel: str, cells: list[str]) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src) for src in cells],
        metadata={"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"}})
    nbformat.write(nb, root / name)
    return name


def measure(browser: Any, url: str, path: str, cap: float) -> dict[str, Any]:
    """Open `path` on a fresh page, run cell 0, then observe long tasks while cell 1 runs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{url}/lab/tree/{path}?reset")
        page.wait_for_function(IDLE, timeout=120_000)
        page.evaluate(RUN_CELL, 0)
        page.wait_for_function(IDLE, timeout=120_000)
        page.wait_for_timeout(1000)  # let Lab settle (layout, lazy loads) before observing
        page.evaluate(OBSERVE)
        start = time.monotonic()
        page.evaluate(RUN_CELL, 1)
        finished = True
        try:
            page.wait_for_function(DONE, arg=SENTINEL, polling=100, timeout=cap * 1000)
            page.wait_for_function(IDLE, polling=100, timeout=cap * 1000)
        except Exception:  # playwright's TimeoutError: the baseline may not finish
            finished = False
        page.wait_for_timeout(500)  # the observer delivers entries asynchronously
        tasks, t0, done_at = page.evaluate(
            "() => [window.__cnbTasks, window.__cnbT0, window.__cnbDoneAt]")
        wall = time.monotonic() - start
    finally:
        context.close()
    durations = [d for _, d in tasks]
    end = (done_at - t0) if done_at is not None else float("inf")
    return {
        "finished": finished and done_at is not None,
        "done_s": (done_at - t0) / 1000 if done_at is not None else None,
        "wall_s": wall,
        "blocking_ms": sum(max(0.0, d - 50) for d in durations),
        "streaming_ms": sum(max(0.0, d - 50) for at, d in tasks if at < end),
        "longtask_ms": sum(durations),
        "longest_ms": max(durations, default=0.0),
        "tasks": len(durations),
        "timeline": [(round(at), round(d)) for at, d in tasks],
    }


def shutdown_kernels(url: str) -> None:
    with urllib.request.urlopen(url + "/api/sessions", timeout=10) as r:
        sessions = json.loads(r.read())
    for s in sessions:
        req = urllib.request.Request(f"{url}/api/sessions/{s['id']}", method="DELETE")
        urllib.request.urlopen(req, timeout=10).close()


def line(name: str, m: dict[str, Any], cap: float) -> str:
    done = f"done in {m['done_s']:.1f} s" if m["finished"] else f"not finished after {cap:.0f} s"
    return (f"  {name:<7} blocking {m['blocking_ms']:6.0f} ms ({m['streaming_ms']:5.0f} streaming)"
            f"   long tasks {m['longtask_ms']:8.0f} ms"
            f" ({m['tasks']:3d})   longest {m['longest_ms']:6.0f} ms   {done}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one run, naive wait capped at 30 s")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--size", type=int, default=50_000, help="answer size in characters")
    p.add_argument("--chunk", type=int, default=19, help="characters per text delta")
    p.add_argument("--delay", type=float, default=0.0025, help="seconds between streamed frames")
    p.add_argument("--cap", type=float, default=60.0, help="longest wait for the naive loop")
    p.add_argument("--verbose", action="store_true", help="print each run's long tasks")
    p.add_argument("--before", help="a checkout of an older claude_nb to measure as well")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.cap = 1, min(args.cap, 30.0)
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    text = answer(args.size).rstrip() + "\n\n" + SENTINEL + "\n"
    turn = text_turn(text, chunk=args.chunk)
    deltas = -(-len(text) // args.chunk)
    print(f"answer: {len(text):,} chars in {deltas:,} deltas of {args.chunk}, "
          f"delay {args.delay * 1000:g} ms; {args.runs} run(s); naive capped at {args.cap:.0f} s")
    modes = [("claude", "head", CLAUDE_CELLS)]
    if args.before:
        modes.append(("before", "before", CLAUDE_CELLS))
    modes.append(("naive", "head", NAIVE_CELLS))
    results: dict[str, list[dict[str, Any]]] = {m: [] for m, _, _ in modes}
    with tempfile.TemporaryDirectory(prefix="cnb-bench-browser-") as tmp, \
            LoopbackServer() as srv, sync_playwright() as pw:
        base = Path(tmp)
        lab, url = start_lab(base, srv.base_url, args.before)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for run in range(args.runs):
                print(f"run {run + 1}:", flush=True)
                for mode, kernel, cells in modes:
                    path = write_notebook(base / "notebooks", f"{mode}-{run}.ipynb", kernel, cells)
                    srv.enqueue(turn.stream().with_delay(args.delay))
                    m = measure(browser, url, path, args.cap if mode == "naive" else 180.0)
                    shutdown_kernels(url)
                    with srv._changing():
                        srv._queue.clear()
                    results[mode].append(m)
                    print(line(mode, m, args.cap), flush=True)
                    if args.verbose:
                        print("          (start ms, duration ms):", m["timeline"][:40])
        finally:
            browser.close()
            lab.terminate()
            try:
                lab.wait(15)
            except subprocess.TimeoutExpired:
                lab.kill()
    report(results, args.cap)
    return 0 if all(m["finished"] for m in results["claude"]) else 1


def report(results: dict[str, list[dict[str, Any]]], cap: float) -> None:
    def med(mode: str, key: str) -> float:
        return statistics.median(m[key] for m in results[mode])

    print("\nmedians:")
    for mode, ms in results.items():
        done = [m["done_s"] for m in ms if m["finished"]]
        when = (f"done in {statistics.median(done):.1f} s" if len(done) == len(ms)
                else f"{len(ms) - len(done)}/{len(ms)} not finished after {cap:.0f} s")
        print(f"  {mode:<7} blocking {med(mode, 'blocking_ms'):.0f} ms "
              f"({med(mode, 'streaming_ms'):.0f} ms while streaming), long tasks "
              f"{med(mode, 'longtask_ms'):.0f} ms, longest {med(mode, 'longest_ms'):.0f} ms, {when}")
    claude = max(med("claude", "blocking_ms"), 1.0)  # 0 ms of blocking: ratio against 1 ms
    print(f"\nblocking naive / %%claude: {med('naive', 'blocking_ms') / claude:.0f}x"
          f" (long-task time {med('naive', 'longtask_ms') / max(med('claude', 'longtask_ms'), 1.0):.0f}x)")
    if "before" in results:
        print(f"blocking %%claude HEAD / before: {med('claude', 'blocking_ms'):.0f} ms / "
              f"{med('before', 'blocking_ms'):.0f} ms; longest {med('claude', 'longest_ms'):.0f} ms"
              f" / {med('before', 'longest_ms'):.0f} ms")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
