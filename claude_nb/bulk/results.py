"""`MapResult`: the items' results in input order, and the run that fills them.

One async implementation (`_run`) drives either runner. `await result` runs it on the
current loop (a kernel keeps serving widget clicks); `wait()` runs it on a private loop
thread while this thread waits, so a kernel interrupt or Ctrl-C stops it cleanly. Stopping
keeps every answer (they are already in the state file); in batch mode it only stops the
waiting, and `cancel()` cancels the batch at the API.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, overload

from ..protocol.errors import ClaudeNBError, classify
from ..run import backend as _backend
from ..run.interrupt import interrupt_stops
from .batches import cancel_batches, run_batches
from .items import USAGE_FIELDS, ItemResult
from .job import Job
from .parallel import run_parallel
from .progress import Progress
from .summary import progress_line, summary_html

__all__ = ["MapResult"]


class MapResult(Sequence[ItemResult]):
    """Results of `claude_nb.map`, one per item, in input order.

    `status`: pending | running | done | stopped | waiting (a batch runs on at the API) |
    failed (the run could not go on; `error` says why). Items: `.text`, `.data`, `.error`,
    `.usage`, `.cost`, `.status`. `to_pandas()` aligns them with the input's index.
    """

    def __init__(self, job: Job, *, batch: bool, concurrency: int,
                 limits: tuple[int, int], progress: bool) -> None:
        self.job = job
        self.batch = batch
        self.concurrency = concurrency
        self.limits = limits
        self.show_progress = progress
        self.status = "pending"
        self.error: ClaudeNBError | None = None
        self.footer = ""
        self._backend: _backend.Backend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stop_reason: str | None = None
        self._started = threading.Event()

    # ---- reading

    @property
    def items(self) -> list[ItemResult]:
        return self.job.results

    @overload
    def __getitem__(self, index: int) -> ItemResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[ItemResult]: ...

    def __getitem__(self, index: int | slice) -> ItemResult | list[ItemResult]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ItemResult]:
        return iter(self.items)

    @property
    def texts(self) -> list[str]:
        return [i.text for i in self.items]

    @property
    def data(self) -> list[Any]:
        return [i.data for i in self.items]

    @property
    def errors(self) -> list[ItemResult]:
        return [i for i in self.items if i.error]

    @property
    def cost(self) -> float | None:
        """USD of the answers (a prompt given twice was sent, and paid, once)."""
        first = [self.items[ix[0]] for ix in self.job.by_key.values()]
        costs = [i.cost for i in first if i.cost is not None]
        return sum(costs) if costs else None

    @property
    def batch_ids(self) -> list[str]:
        return list(self.job.tally.batch_ids)

    def to_pandas(self) -> Any:
        """A DataFrame indexed like the input: text, data, status, error, tokens, cost."""
        import pandas as pd  # type: ignore[import-untyped]

        columns = ["text", "data", "status", "error", *USAGE_FIELDS, "cost", "stop_reason"]
        rows = [[i.text, i.data, i.status, i.error, *(i.usage.get(f, 0) for f in USAGE_FIELDS),
                 i.cost, i.stop_reason] for i in self.items]
        index = self.job.index if self.job.index is not None else [i.label for i in self.items]
        return pd.DataFrame(rows, index=index, columns=columns)

    def __repr__(self) -> str:
        return f"<MapResult {len(self)} items: {progress_line(self.job.tally, self.status)}>"

    def _repr_html_(self) -> str:
        return summary_html(self.job.tally, self.status, self.items, self.job.demo, self.footer)

    # ---- running

    def __await__(self) -> Any:
        return self._await().__await__()

    async def _await(self) -> MapResult:
        if self.status != "pending":
            return self
        progress = self._progress(clickable=True)
        try:
            with interrupt_stops(self.stop):
                await self._run()
        finally:
            self._finish(progress)
        return self

    def wait(self) -> MapResult:
        """Run to the end here (blocking); Ctrl-C / a kernel interrupt stops it cleanly."""
        if self.status != "pending":
            return self
        progress = self._progress(clickable=False)
        ended = threading.Event()

        def run() -> None:
            try:
                asyncio.run(self._run())
            finally:
                ended.set()
        thread = threading.Thread(target=run, daemon=True, name="claude_nb-map")
        thread.start()
        try:
            while not ended.is_set():
                try:  # (an interrupted Thread.join can report a live thread as ended)
                    ended.wait(0.1)
                except KeyboardInterrupt:
                    self._started.wait(5)
                    self.stop("interrupt")
            thread.join()
        finally:
            self._finish(progress)
        return self

    def _progress(self, clickable: bool) -> Progress:
        return Progress(self.job, self.batch, stop=self.stop, cancel=self._cancel_running,
                        show=self.show_progress, clickable=clickable)

    async def _run(self) -> None:
        self.status = "running"
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started.set()
        self.job.tally.started = time.monotonic()
        try:
            self._backend = _backend.resolve()
            self.job.demo = self._backend.demo
            if self._stop_reason:
                raise asyncio.CancelledError
            if self.batch:
                await run_batches(self.job, self._backend, self.limits)
            else:
                await run_parallel(self.job, self._backend, self.concurrency)
            self.status = "done"
        except asyncio.CancelledError:
            if not self._stop_reason:
                raise
            self.status = "waiting" if self.batch and self.job.tally.batch_ids else "stopped"
        except Exception as exc:
            self.error, self.status = classify(exc), "failed"
        finally:
            self.job.tally.finished = time.monotonic()
            self.job.tally.in_flight = 0

    def _finish(self, progress: Progress) -> None:
        missing = sum(i.status == "pending" for i in self.items)
        if self.status == "waiting":
            self.job.mark_unfinished("pending", "The batch is still running.")
            ids = ", ".join(self.batch_ids)
            self.footer = (f"Batch {ids} keeps running at the API (it is already paid for). "
                           "Run the same map again to collect its results, or call .cancel() "
                           "on this result to cancel it.")
        elif self.status == "stopped":
            self.job.mark_unfinished("stopped", "Stopped before it was answered.")
            self.footer = (f"Stopped: the answers so far are kept; running the same map "
                           f"again sends only the {missing} missing.")
        elif self.status == "failed" and self.error is not None:
            self.job.mark_unfinished("failed", self.error.message)
            self.footer = f"{self.error.title}: {self.error.message}"
        progress.close(self.status, self.footer)

    # ---- controlling

    def stop(self, reason: str = "user") -> None:
        """Stop sending (parallel) or stop waiting (batch); safe from any thread."""
        if self._stop_reason or self.status not in ("pending", "running"):
            return
        self._stop_reason = reason
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)

    def _cancel_running(self) -> None:
        """The widget's "Cancel batch": cancel at the API and keep polling for what remains."""
        loop, backend, ids = self._loop, self._backend, self.batch_ids
        if loop is not None and backend is not None and ids:
            asyncio.run_coroutine_threadsafe(cancel_batches(ids, backend), loop)

    def cancel(self) -> None:
        """Cancel this map's batches at the API (answers already made are kept and can be
        collected by running the same map again)."""
        if not self.batch_ids:
            return
        if self.status == "running":
            return self._cancel_running()
        backend = self._backend or _backend.resolve()
        errors: list[Exception] = []

        def run() -> None:  # a thread: this one may be inside a running loop (a kernel)
            try:
                asyncio.run(cancel_batches(self.batch_ids, backend))
            except Exception as exc:
                errors.append(exc)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join()
        if errors:
            raise classify(errors[0]) from None
