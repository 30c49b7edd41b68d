"""Exceptions: type, message and traceback, ANSI colour codes stripped (IPython colours its
tracebacks; the model should read text, not escape sequences)."""

from __future__ import annotations

import re
import traceback
from typing import Any

from .items import Rendered

__all__ = ["RENDERERS", "exception_text", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
MAX_TRACEBACK = 12_000  # characters; the end of a traceback matters most


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _is_ipython(filename: str) -> bool:
    return "/IPython/core/" in filename.replace("\\", "/")


def exception_text(exc: BaseException) -> tuple[str, bool]:
    """`Type: message` and the traceback; a long traceback keeps its end."""
    start = exc.__traceback__
    while start is not None and _is_ipython(start.tb_frame.f_code.co_filename):
        start = start.tb_next  # IPython's own run_code frame says nothing about the error
    tb = "".join(traceback.format_exception(type(exc), exc, start))  # None: only IPython's
    tb = strip_ansi(tb).rstrip()
    cut = len(tb) > MAX_TRACEBACK
    if cut:
        tb = "…[start of traceback cut]\n" + tb[-MAX_TRACEBACK:]
    return tb, cut


def render_exception(exc: BaseException) -> Rendered:
    tb, cut = exception_text(exc)
    head = f"{type(exc).__qualname__}: {strip_ansi(str(exc))}"
    return Rendered("exception", f"Exception {head}\nTraceback:\n{tb}", truncated=cut,
                    note=type(exc).__qualname__)


RENDERERS: list[tuple[Any, Any]] = [(BaseException, render_exception)]
