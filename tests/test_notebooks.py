"""The tutorial notebooks run top to bottom, without a key, in an environment built like Binder's.

The slow test builds a fresh virtual environment from `binder/requirements.txt` plus
`binder/postBuild` (once per session), installs a kernelspec for it in an isolated Jupyter
data dir, executes every `notebooks/*.ipynb` with nbclient and no ANTHROPIC_API_KEY, and
compares with the committed outputs in substance: per code cell, the same kinds of output
(output type + MIME types; widget views and volatile details ignored), so the same cells
succeed and fail. Re-run `python notebooks/build.py` after changing a notebook or the demo.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))
KERNEL = "claude-nb-binder"
IGNORED_MIMES = {"application/vnd.jupyter.widget-view+json",
                 "application/vnd.jupyter.widget-state+json"}
PARALLEL = 4          # notebooks executed at once (they mostly wait on paced demo streams)
CELL_TIMEOUT = 120    # seconds


def test_the_tutorials_are_all_there() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01-quickstart", "02-streaming", "03-thinking", "04-tools", "05-chat-widget",
        "06-stop-and-errors", "07-python-api", "08-notebook-context",
        "09-many-prompts"]


# ---------------------------------------------------------------- fast checks, no kernel

def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOK_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebooks_match_their_sources_in_build_py() -> None:
    build = _build_module()
    assert sorted(build.NOTEBOOKS) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        committed = nbformat.read(path, as_version=4)
        expected = build.notebook(build.NOTEBOOKS[path.stem])
        assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in committed.cells] \
            == [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in expected.cells], (
            f"{path.name} differs from notebooks/build.py: run `python notebooks/build.py "
            f"{path.stem[:2]}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_carry_labelled_demo_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "demo backend" in nb.cells[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), f"{path.name} was saved without running it"
    for cell in code:
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert bool(errors) == tagged, f"{path.name}: {cell.source[:60]!r}"
        for out in cell.outputs:
            html = out.get("data", {}).get("text/html", "")
            if 'class="cnb-footer"' in html:  # every reply's footer carries the demo badge
                assert "cnb-badge cnb-demo" in html, f"{path.name}: {cell.source[:60]!r}"
            assert "sk-ant-" not in str(out)


# ---------------------------------------------------------------- the Binder environment

def _run(cmd: list[str], log: Path, **kw: Any) -> None:
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT, timeout=600, **kw)


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A venv from binder/requirements.txt + binder/postBuild, and its kernelspec's dir."""
    root = tmp_path_factory.mktemp("binder")
    venv, data_dir, log = root / "venv", root / "jupyter", root / "build.log"
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["JUPYTER_DATA_DIR"] = str(data_dir)
    python = str(venv / "bin" / "python")
    try:
        _run([sys.executable, "-m", "venv", str(venv)], log)
        _run([python, "-m", "pip", "install", "-q", "--no-compile", "-r",
              str(REPO / "binder" / "requirements.txt")], log, env=env)
        _run(["bash", str(REPO / "binder" / "postBuild")], log, env=env, cwd=REPO)
        _run([python, "-m", "ipykernel", "install", "--user", "--name", KERNEL,
              "--display-name", "claude_nb (Binder)"], log, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        tail = log.read_text()[-3000:] if log.exists() else ""
        message = f"could not build the Binder environment: {exc}\n{tail}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # the kernel must import the installed package, not this checkout
    check = subprocess.run([python, "-c", "import claude_nb; print(claude_nb.__file__)"],
                           capture_output=True, text=True, env=env, cwd=NOTEBOOK_DIR)
    assert check.returncode == 0 and str(venv) in check.stdout, check.stdout + check.stderr
    return {"kernels": data_dir / "kernels", "seconds": time.perf_counter() - started}


def _kinds(cell: Any) -> set[tuple[str, ...]]:
    """What a cell showed, in substance: output types, MIME types, stream names, errors."""
    kinds: set[tuple[str, ...]] = set()
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            kinds.add((kind, out["name"]))
        elif kind == "error":
            kinds.add((kind, out["ename"]))
        else:
            mimes = set(out.get("data", {})) - IGNORED_MIMES
            kinds.update((kind, m) for m in mimes)
    return kinds


async def _execute(path: Path, kernels: Path, gate: asyncio.Semaphore) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                            record_timing=False, store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    async with gate:
        started = time.perf_counter()
        await client.async_execute(cleanup_kc=True)  # shut the kernel down, close its sockets
        return nb, time.perf_counter() - started


@pytest.fixture(scope="session")
def executed(binder_env: dict[str, Any]) -> dict[str, Any]:
    """Every notebook executed in the Binder kernel (a few at once): name -> (nb, s) or error."""
    saved = {k: os.environ.pop(k) for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                            "ANTHROPIC_BASE_URL", "CLAUDE_NB_BACKEND",
                                            "PYTHONPATH") if k in os.environ}
    try:
        async def run_all() -> list[Any]:
            gate = asyncio.Semaphore(PARALLEL)
            return await asyncio.gather(*(_execute(p, binder_env["kernels"], gate)
                                          for p in NOTEBOOKS), return_exceptions=True)
        started = time.perf_counter()
        results = asyncio.run(run_all())
        print(f"\nBinder venv built in {binder_env['seconds']:.0f} s; notebooks executed in "
              f"{time.perf_counter() - started:.0f} s")
    finally:
        os.environ.update(saved)
    return {p.stem: r for p, r in zip(NOTEBOOKS, results)}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_binder_env_like_its_committed_outputs(
        path: Path, executed: dict[str, Any]) -> None:
    result = executed[path.stem]
    if isinstance(result, BaseException):
        raise AssertionError(f"{path.name} failed to run top to bottom: {result}") from result
    fresh, _ = result
    committed = nbformat.read(path, as_version=4)
    pairs = [(old, new) for old, new in zip(committed.cells, fresh.cells)
             if old.cell_type == "code"]
    for number, (old, new) in enumerate(pairs, 1):
        assert _kinds(new) == _kinds(old), (
            f"{path.name}, code cell {number} ({old.source.splitlines()[0][:50]!r}): the "
            f"committed outputs are stale. Re-executed: {sorted(_kinds(new))}; committed: "
            f"{sorted(_kinds(old))}. Run `python notebooks/build.py {path.stem[:2]}`.")
