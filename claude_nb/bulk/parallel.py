"""Parallel mode: many `messages.create` calls at once, polite to the API's rate limits.

A fixed pool of workers takes items in order. The pool's effective size (`Limiter.limit`)
halves on a 429/529 and grows back by one per success run; every worker waits while the
whole pool is paused, until `retry-after` (or the `anthropic-ratelimit-*-reset` time when a
`…-remaining` header reaches 0). Each item is retried on its own (rate limits, overload,
5xx, dropped connections); an item that still fails is recorded and the run goes on. An
error that no retry can fix for any item (bad key, unknown model, billing) ends the run.
Cancelling the task (Stop, kernel interrupt) closes the in-flight connections at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..protocol.errors import (
    APIError,
    ClaudeNBError,
    OutputError,
    classify,
    redact_secret,
)
from ..run.backend import Backend
from ..run.client import new_client
from ..run.retry import retry_delay
from ..run.session import Conversation
from .items import USAGE_FIELDS
from .job import Job, answer_record
from .requests import ItemRequest

__all__ = ["Limiter", "rate_limit_wait", "run_parallel"]

MAX_ATTEMPTS = 6  # per item, for failures of its own (5xx, dropped connections)
MAX_RATE_LIMITED = 40  # per item, for 429/529: the run slows down, the item is not to blame
MAX_WAIT = 120.0  # a longer retry-after fails the item (run it again later) instead
_FATAL_STATUS = frozenset({401, 402, 403, 404})
_RESET_HEADERS = (("requests", "anthropic-ratelimit-requests"),
                  ("tokens", "anthropic-ratelimit-tokens"),
                  ("input tokens", "anthropic-ratelimit-input-tokens"),
                  ("output tokens", "anthropic-ratelimit-output-tokens"))


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> tuple[float, str]:
    """Seconds to hold every request, and which limit ran out, from the ratelimit headers:
    a `…-remaining` of 0 means wait for its `…-reset` (RFC 3339). (0, "") when none did."""
    now = time.time() if now is None else now
    longest, which = 0.0, ""
    for name, prefix in _RESET_HEADERS:
        remaining, reset = headers.get(f"{prefix}-remaining"), headers.get(f"{prefix}-reset")
        if remaining is None or reset is None or remaining.strip() not in ("0", "0.0"):
            continue
        try:
            wait = datetime.fromisoformat(reset.replace("Z", "+00:00")).timestamp() - now
        except ValueError:
            continue
        if wait > longest:
            longest, which = wait, name
    return min(longest, MAX_WAIT), which


class Limiter:
    """How many workers may send now, and until when all must hold."""

    def __init__(self, concurrency: int) -> None:
        self.max = max(1, concurrency)
        self.limit = self.max
        self.resume_at = 0.0  # monotonic
        self._successes = 0

    async def gate(self, worker: int, new_item: bool = True,
                   needed: Callable[[], bool] = lambda: True) -> bool:
        """Wait until this worker may send: not paused, and for a new item, inside the
        current limit (a retry holds its item already: it only waits out the pause).
        False when, meanwhile, it is no longer `needed()` (no items left)."""
        while needed():
            hold = self.resume_at - time.monotonic()
            if hold <= 0 and (worker < self.limit or not new_item):
                return True
            await asyncio.sleep(hold if hold > 0 else 0.05 + 0.05 * random.random())
        return False

    def pause(self, seconds: float) -> None:
        self.resume_at = max(self.resume_at, time.monotonic() + seconds)

    def shrink(self) -> None:
        self.limit = max(1, self.limit // 2)
        self._successes = 0

    def success(self) -> None:
        self._successes += 1
        if self.limit < self.max and self._successes >= self.limit:
            self.limit += 1
            self._successes = 0


def _retry_after(error: ClaudeNBError, attempt: int, most: int) -> float | None:
    """Seconds before this item's next attempt (of `most`), or None when it should not be
    retried: the run loop's policy, with jitter and a 30 s backoff cap."""
    return retry_delay(error, attempt, retries=most - 1, cap=MAX_WAIT, backoff_cap=30.0,
                       jitter=True)


class _Run:
    def __init__(self, job: Job, backend: Backend, concurrency: int) -> None:
        self.job, self.backend = job, backend
        self.limiter = Limiter(concurrency)
        self.queue: list[ItemRequest] = job.missing()[::-1]  # pop() takes them in order
        self.fatal: ClaudeNBError | None = None
        self.client: Any = None

    async def run(self) -> None:
        self.client = new_client(self.backend, self.job.options.read_timeout)
        workers = [asyncio.ensure_future(self.worker(i)) for i in range(self.limiter.max)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self.client.close()
        if self.fatal is not None:
            for request in self.queue:
                self.job.failed(request.key, "failed", self.fatal.message)

    async def worker(self, index: int) -> None:
        while self.queue and self.fatal is None:
            if not await self.limiter.gate(index, needed=self.wanted):
                return
            request = self.queue.pop()
            self.job.tally.in_flight += 1
            self.job.on_change()
            try:
                await self.send(request, index)
            finally:
                self.job.tally.in_flight -= 1
                self.job.on_change()

    def wanted(self) -> bool:
        return bool(self.queue) and self.fatal is None

    async def send(self, request: ItemRequest, index: int) -> None:
        attempt = limited = 0
        while True:
            try:
                message = await (self.ask_with_tools(request) if self.job.options.tools
                                 else self.ask(request))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = redact_secret(classify(exc), self.backend.api_key)
                response = getattr(exc, "response", None)
                if response is not None:
                    self.hold_if_exhausted(response.headers)
                status = error.status if isinstance(error, APIError) else None
                if status in _FATAL_STATUS:
                    self.fatal = self.fatal or error
                    self.job.failed(request.key, "failed", error.message)
                    return
                rate_limited = status in (429, 529)
                delay = (_retry_after(error, limited, MAX_RATE_LIMITED) if rate_limited
                         else _retry_after(error, attempt, MAX_ATTEMPTS))
                if delay is None:
                    self.job.failed(request.key, "failed", f"{error.title}: {error.message}")
                    return
                if rate_limited:
                    limited += 1
                    self.limiter.shrink()
                    self.limiter.pause(delay)
                    self.note(f"paused {delay:.3g} s ({error.title})")
                    await self.limiter.gate(index, new_item=False)
                else:
                    attempt += 1
                    await asyncio.sleep(delay)
                continue
            self.limiter.success()
            if self.job.tally.note and self.limiter.resume_at < time.monotonic():
                self.job.tally.note = ""
            self.job.answered([answer_record(request.key, message, batch=False)])
            return

    async def ask(self, request: ItemRequest) -> Any:
        raw = await self.client.messages.with_raw_response.create(**request.params)
        self.hold_if_exhausted(raw.headers)
        return await raw.parse()

    async def ask_with_tools(self, request: ItemRequest) -> dict[str, Any]:
        """With Python tools: the run layer's tool loop, one fresh conversation per item."""
        options = self.job.options.merge(max_retries=0)
        reply = Conversation(client=self.client, options=options).send(
            request.params["messages"][0]["content"])
        await reply.run()
        if reply.status == "stopped":
            raise asyncio.CancelledError
        if reply.error is not None and not isinstance(reply.error, OutputError):
            raise reply.error  # (an answer whose JSON is invalid is judged by the job)
        usage = reply.usage
        return {"content": [{"type": "text", "text": reply.text}],
                "usage": {f: getattr(usage, f) for f in USAGE_FIELDS},
                "stop_reason": reply.stop_reason, "model": reply.turn.model if reply.turn else None}

    def hold_if_exhausted(self, headers: Mapping[str, str]) -> None:
        wait, which = rate_limit_wait(headers)
        if wait > 0:
            self.limiter.pause(wait)
            self.note(f"paused {wait:.3g} s ({which} rate limit reached)")

    def note(self, text: str) -> None:
        self.job.tally.note = text
        self.job.on_change()


async def run_parallel(job: Job, backend: Backend, concurrency: int) -> None:
    """Answer every missing item; returns when all are answered or failed. Cancel to stop."""
    await _Run(job, backend, concurrency).run()
