"""Live progress of a map: a widget in a notebook, a line in a terminal, lines in a log.

Redraws are coalesced like answers are: at most one per `INTERVAL` whatever the item rate,
with a trailing redraw so the last change always shows, and a final one at the end. In a
notebook the widget (summary, Stop, and in batch mode "Cancel batch") is replaced at the end
by static HTML, so a saved notebook keeps the summary without widget state.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

from .job import Job
from .summary import progress_line, summary_html

__all__ = ["Progress"]

INTERVAL = 0.1  # seconds between redraws (answers use 0.05; a summary needs fewer)
LOG_INTERVAL = 10.0  # a log (not a terminal) gets a line this often


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Progress:
    """Shows `job`'s tally; `stop()` and `cancel()` are what the buttons call."""

    def __init__(self, job: Job, batch: bool, stop: Callable[[], None],
                 cancel: Callable[[], None], show: bool = True,
                 clickable: bool = True) -> None:
        self.job, self.batch = job, batch
        self.status = "running"
        self.footer = ""
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._sink: _Sink | None = None
        if show:
            if _in_kernel():
                self._sink = _Widget(batch, stop, cancel, clickable)
            else:
                self._sink = _Line(sys.stderr.isatty())
        job.on_change = self.changed

    def changed(self) -> None:
        """Called on every change, on the runner's loop: redraw now or schedule one."""
        if self._sink is None:
            return
        now = time.monotonic()
        wait = self._last + self._sink.interval - now
        if wait <= 0:
            self.draw()
        elif self._timer is None:
            with contextlib.suppress(RuntimeError):  # no loop: the next change draws
                self._timer = asyncio.get_running_loop().call_later(wait, self.draw)

    def draw(self) -> None:
        self._timer = None
        self._last = time.monotonic()
        if self._sink is not None:
            self._sink.draw(self)

    def html(self) -> str:
        return summary_html(self.job.tally, self.status, self.job.results, self.job.demo,
                            self.footer)

    def line(self) -> str:
        return progress_line(self.job.tally, self.status, self.job.demo)

    def close(self, status: str, footer: str = "") -> None:
        """The final state: a static summary (notebook) or a last line (terminal)."""
        if self._timer is not None:
            self._timer.cancel()
        self.status, self.footer = status, footer
        self.job.on_change = lambda: None
        if self._sink is not None:
            self._sink.close(self)


_BUSY_HINT = ("<small>Interrupt the kernel (■) to stop; the answers so far are kept. "
              "<code>await claude_nb.map(…)</code> gives a Stop button that works while it "
              "runs.</small>")
_BUSY_HINT_BATCH = ("<small>Interrupt the kernel (■) to stop waiting: the batch keeps "
                    "running and running this cell again picks it up. "
                    "<code>await claude_nb.map(…)</code> gives Stop / Cancel batch buttons "
                    "that work while it waits.</small>")


class _Sink:
    interval = INTERVAL

    def draw(self, progress: Progress) -> None: ...

    def close(self, progress: Progress) -> None: ...


class _Line(_Sink):
    """A terminal rewrites one line; a log gets a line every LOG_INTERVAL seconds."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.interval = INTERVAL if tty else LOG_INTERVAL
        self.width = 0

    def draw(self, progress: Progress) -> None:
        line = "claude_nb.map: " + progress.line()
        if self.tty:
            sys.stderr.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self, progress: Progress) -> None:
        self.draw(progress)
        if self.tty:
            sys.stderr.write("\n")
        if progress.footer:
            sys.stderr.write(progress.footer + "\n")
        sys.stderr.flush()


class _Widget(_Sink):
    """ipywidgets HTML + buttons, shown where `map` was called, replaced by static HTML."""

    def __init__(self, batch: bool, stop: Callable[[], None], cancel: Callable[[], None],
                 clickable: bool) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.html = w.HTML()
        hint = w.HTML(_BUSY_HINT_BATCH if batch else _BUSY_HINT)
        self.stop = w.Button(description="Stop waiting" if batch else "Stop", icon="stop",
                             tooltip=("Stop waiting; the batch keeps running" if batch
                                      else "Cancel the requests in flight; keep the answers"))
        self.cancel = w.Button(description="Cancel batch", button_style="danger",
                               layout=w.Layout(display="" if batch else "none"))
        self.stop.on_click(lambda _b: stop())
        self.cancel.on_click(lambda _b: cancel())
        # A cell blocked in `map()` keeps the kernel from handling clicks: say what works.
        self.buttons = w.HBox([self.stop, self.cancel]) if clickable else hint
        self.box = w.VBox([self.html, self.buttons])
        self.handle: Any = display(self.box, display_id=True)

    def draw(self, progress: Progress) -> None:
        self.html.value = progress.html()

    def close(self, progress: Progress) -> None:
        html = progress.html()
        if self.handle is not None:
            plain = "\n".join(filter(None, [progress.line(), progress.footer]))
            self.handle.update({"text/html": html, "text/plain": plain}, raw=True)
        for widget in (self.stop, self.cancel, self.html, self.buttons, self.box):
            widget.close()
