"""Batch mode: the Message Batches API (half price, results within 24 h).

Missing items are split over the API's per-batch limits, submitted, and each batch id is
written to the state file right after it is created, before any waiting; then the batches
are polled with a growing interval (0.5 s up to a minute) and their JSONL results decoded.
A batch already in the state file for some of these items is polled, not submitted again,
so a `map` called after an interrupt, a kernel restart or a closed laptop picks it up.
Cancelling the waiting task leaves the batches running (they are already paid for);
`cancel_batches` cancels them at the API.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..protocol.errors import (
    APIError,
    ConnectionLost,
    StreamStalled,
    classify,
    redact_secret,
)
from ..run.backend import Backend
from ..run.client import new_client
from .job import Job, answer_record
from .requests import ItemRequest

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_REQUESTS", "cancel_batches", "run_batches", "split"]

MAX_BATCH_REQUESTS = 100_000  # the API's per-batch limits
MAX_BATCH_BYTES = 256 * 1024 * 1024
_ENVELOPE = len(b'{"requests":[]}')
FIRST_POLL, MAX_POLL = 0.5, 60.0


def request_param(request: ItemRequest) -> dict[str, Any]:
    return {"custom_id": request.key, "params": request.params}


def split(requests: list[ItemRequest], max_requests: int = MAX_BATCH_REQUESTS,
          max_bytes: int = MAX_BATCH_BYTES) -> tuple[list[list[ItemRequest]], list[ItemRequest]]:
    """Consecutive groups within both limits (request count and JSON body size), and the
    requests too large for any batch on their own."""
    groups: list[list[ItemRequest]] = [[]]
    size = _ENVELOPE
    too_large = []
    for request in requests:
        n = len(json.dumps(request_param(request), ensure_ascii=False).encode()) + 1
        if n + _ENVELOPE > max_bytes:
            too_large.append(request)
            continue
        if len(groups[-1]) >= max_requests or size + n > max_bytes:
            groups.append([])
            size = _ENVELOPE
        groups[-1].append(request)
        size += n
    return [g for g in groups if g], too_large


class _Poll:
    def __init__(self, job: Job, backend: Backend, limits: tuple[int, int]) -> None:
        self.job, self.backend, self.limits = job, backend, limits
        self.open: dict[str, list[str]] = {}
        self.client: Any = None

    async def run(self) -> None:
        self.client = new_client(self.backend, self.job.options.read_timeout)
        try:
            await self.submit_missing()
            await self.wait()
        finally:
            await self.client.close()

    async def submit_missing(self) -> None:
        missing = self.job.missing()
        keys = {r.key for r in missing}
        self.open = self.job.store.open_batches(keys)
        covered = {k for ks in self.open.values() for k in ks}
        groups, too_large = split([r for r in missing if r.key not in covered], *self.limits)
        for request in too_large:
            self.job.failed(request.key, "failed", "The request is larger than a batch may be "
                            f"({MAX_BATCH_BYTES // 2**20} MB); send it in parallel mode.")
        for group in groups:
            batch = await self.call(self.client.messages.batches.create,
                                    requests=[request_param(r) for r in group])
            self.job.store.add_batch(batch.id, [r.key for r in group])  # before any waiting
            self.open[batch.id] = [r.key for r in group]
        self.job.tally.batch_ids = list(self.open)
        self.job.tally.in_flight = sum(len(self.job.by_key.get(k, ())) for ks in self.open.values()
                                       for k in ks if k in keys)
        self.job.on_change()

    async def wait(self) -> None:
        delay = FIRST_POLL
        while self.open:
            for batch_id in list(self.open):
                try:
                    batch = await self.call(self.client.messages.batches.retrieve, batch_id)
                except APIError as error:
                    if error.status != 404:
                        raise
                    self.collected(batch_id, "failed", "The batch is gone (not found): it "
                                   "expired, was archived, or belongs to another workspace.")
                    continue
                if batch.processing_status == "ended":
                    await self.collect(batch_id)
                else:
                    counts = batch.request_counts
                    self.job.tally.note = (f"batch {batch_id}: {batch.processing_status}, "
                                           f"{counts.processing} processing")
                    self.job.on_change()
            if self.open:
                await asyncio.sleep(delay)
                delay = min(MAX_POLL, delay * 1.5)
        self.job.tally.note = ""

    async def collect(self, batch_id: str) -> None:
        results = await self.call(self.client.messages.batches.results, batch_id)
        answers, failures = [], []
        async for line in results:
            result = line.result
            if result.type == "succeeded":
                answers.append(answer_record(line.custom_id, result.message, batch=True))
            elif result.type == "errored":
                error = result.error.error
                failures.append((line.custom_id, "failed", f"{error.type}: {error.message}"))
            else:
                failures.append((line.custom_id, result.type, f"The batch request {result.type}."))
        self.job.answered(answers)
        for key, status, message in failures:
            self.job.failed(key, status, message, batch_id)
        self.collected(batch_id)

    def collected(self, batch_id: str, status: str = "", error: str = "") -> None:
        keys = self.open.pop(batch_id)
        if status:
            for key in keys:
                self.job.failed(key, status, error, batch_id)
        self.job.store.mark_collected(batch_id)
        self.job.tally.in_flight = max(0, self.job.tally.in_flight - sum(
            len(self.job.by_key.get(k, ())) for k in keys))
        self.job.on_change()

    async def call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """One API call, retried on connection loss and retryable statuses (polls go on)."""
        for attempt in range(6):
            try:
                return await method(*args, **kwargs)
            except Exception as exc:
                error = redact_secret(classify(exc), self.backend.api_key)
                transient = isinstance(error, (ConnectionLost, StreamStalled)) or (
                    isinstance(error, APIError) and error.retryable)
                if not transient or attempt == 5:
                    raise error from None
                wait = error.retry_after if isinstance(error, APIError) else None
                await asyncio.sleep(min(MAX_POLL, wait or 2.0 ** attempt))
        raise AssertionError("unreachable")


async def run_batches(job: Job, backend: Backend,
                      limits: tuple[int, int] = (MAX_BATCH_REQUESTS, MAX_BATCH_BYTES)) -> None:
    """Submit what is missing (or pick up batches already submitted) and wait for results."""
    await _Poll(job, backend, limits).run()


async def cancel_batches(batch_ids: list[str], backend: Backend) -> None:
    """Ask the API to cancel these batches (answers already made are still returned)."""
    client = new_client(backend, 30.0)
    try:
        for batch_id in batch_ids:
            await client.messages.batches.cancel(batch_id)
    finally:
        await client.close()
