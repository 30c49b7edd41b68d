"""`--error` / `--fix`: the notebook's last exception with the cell that raised it.

A `post_run_cell` hook (installed at `%load_ext`) records each failing cell's execution
count, raw source and exception; without it (the error came before the extension was
loaded) IPython's `sys.last_value` is used, with the cell source found through the
traceback's first notebook frame.
"""

from __future__ import annotations

import linecache
import sys
from dataclasses import dataclass
from typing import Any

from .exceptions import exception_text, strip_ansi
from .items import ContextItem

__all__ = ["FIX_PROMPT", "ErrorRecorder", "FailedCell", "error_item", "last_error"]

FIX_PROMPT = ("The cell above failed. Explain the cause in a sentence or two, then give the "
              "corrected cell as one complete Python code block.")


@dataclass(frozen=True)
class FailedCell:
    exception: BaseException
    source: str
    execution_count: int | None


class ErrorRecorder:
    """Keeps the last failing cell (a `post_run_cell` callback; prompt cells excluded)."""

    def __init__(self) -> None:
        self.last: FailedCell | None = None
        self.listeners: list[Any] = []

    def __call__(self, result: Any) -> None:
        exc = result.error_in_exec or result.error_before_exec
        source = getattr(result.info, "raw_cell", "") or ""
        if exc is None or source.lstrip().startswith(("%%claude", "%claude")):
            return
        self.last = FailedCell(exc, source, result.execution_count)
        for listener in list(self.listeners):
            listener(self.last)


def _source_from_traceback(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if "/IPython/core/" not in filename.replace("\\", "/"):
            return "".join(linecache.getlines(filename))
        tb = tb.tb_next
    return ""


def last_error(recorder: ErrorRecorder | None) -> FailedCell | None:
    exc = getattr(sys, "last_value", None)
    recorded = recorder.last if recorder is not None else None
    if recorded is not None and (exc is None or exc is recorded.exception):
        return recorded
    if exc is None:
        return recorder.last if recorder is not None else None
    return FailedCell(exc, _source_from_traceback(exc), None)


def error_item(failed: FailedCell) -> ContextItem:
    exc = failed.exception
    tb, cut = exception_text(exc)
    label = f"In [{failed.execution_count}]" if failed.execution_count else "The failing cell"
    source = failed.source.rstrip() or "(source not found)"
    text = (f"{label} raised {type(exc).__qualname__}: {strip_ansi(str(exc))}\n\n"
            f"Cell source:\n```python\n{source}\n```\n\nTraceback:\n```\n{tb}\n```")
    return ContextItem(name="last error", kind="error", text=text, truncated=cut,
                       note=type(exc).__qualname__)
