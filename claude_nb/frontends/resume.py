"""`%claude --resume [PATH]` and `Claude.auto_resume`: continue a conversation saved in a notebook.

The saved outputs of `%%claude` cells carry each turn's provenance record; resuming reads them
in cell order up to the current cell (found by the frontend's cell id, else by its source)
and rebuilds the conversation, so the next `%%claude` sends every earlier turn. Without PATH
the notebook is the one this kernel runs for, where the frontend says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..persist.notebook import NotebookNotFound, find_notebook, read_records
from ..persist.restore import RestoreError, restore
from ..protocol.errors import ConfigError

__all__ = ["add_options", "apply"]


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--resume", nargs="?", const="", metavar="PATH",
                        help="rebuild the conversation from a saved notebook's %%claude "
                             "outputs (default: this notebook), up to this cell")


def _current_cell(shell: Any) -> tuple[str | None, str | None]:
    """The running cell's id (JupyterLab, Notebook 7 and VS Code send it) and raw source."""
    kernel = getattr(shell, "kernel", None)
    parent = kernel.get_parent() if kernel is not None and hasattr(kernel, "get_parent") else {}
    cell_id = ((parent or {}).get("metadata") or {}).get("cellId")
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or [None]
    return (str(cell_id) if cell_id else None), raw[-1]


def resume(magics: Any, path: str | None) -> str:
    """Restore `magics.conversation` from the notebook at `path` (None: this notebook); the
    sentence to show. Raises ConfigError saying why it could not."""
    shell = magics.shell
    had = sum(1 for r in magics.conversation.replies if r.status != "pending")
    try:
        target = Path(path).expanduser() if path else find_notebook(shell.user_ns)
        cell_id, source = _current_cell(shell)
        records, found_here = read_records(target, cell_id=cell_id, source=source)
        count = restore(magics.conversation, records)
    except (NotebookNotFound, RestoreError) as exc:
        raise ConfigError(str(exc), title="Nothing resumed",
                          hint="Save the notebook first (its outputs hold the turns), or "
                               "give the path: `%claude --resume path/to/notebook.ipynb`."
                          ) from None
    used = [r for r in records if r.get("messages")]
    magics._system = used[-1].get("system") if used else None
    if not count:
        return (f"No %%claude turns saved in {target.name} before this cell: the "
                "conversation starts fresh.")
    messages = len(magics.conversation.messages)
    replaced = f" (it replaces the {had} turn{'s' * (had != 1)} this kernel had)" if had else ""
    unsaved = ("" if found_here or path else " This cell is not in the saved file yet, so "
               "every saved turn was taken: save the notebook to resume up to here.")
    return (f"Resumed {count} turn{'s' * (count != 1)} ({messages} messages) from "
            f"{target.name}: the next %%claude continues that conversation{replaced}.{unsaved}")


def apply(magics: Any, args: argparse.Namespace) -> str | None:
    """Run `--resume`, or `auto_resume` on the first `%%claude` of a fresh kernel; the notice
    to show, or None."""
    if args.resume is not None:
        magics.resume_tried = True
        return resume(magics, args.resume or None)
    fresh = not magics.conversation.replies and not getattr(magics, "resume_tried", False)
    if not (magics.config_obj.auto_resume and fresh and not args.new):
        return None
    magics.resume_tried = True
    try:
        note = resume(magics, None)
    except ConfigError as err:
        return f"auto_resume: {err.message} Starting a new conversation."
    return note if magics.conversation.replies else None
