"""A map's state while it runs: items, their requests, what is done, and the running tally.

Both runners (parallel, batches) report through `answered` / `failed`; the job turns stored
answers into `ItemResult`s (parsing JSON / validating a schema), keeps counts for the
progress display, and writes answers to the state file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol.options import Options
from .cost import item_cost
from .items import USAGE_FIELDS, ItemResult
from .requests import ItemRequest, parse_answer
from .store import Store

__all__ = ["Job", "Tally", "answer_record"]


@dataclass
class Tally:
    """What the progress display shows; updated only on the runner's loop."""

    total: int = 0
    done: int = 0  # answered (including answers whose JSON did not validate)
    failed: int = 0
    in_flight: int = 0
    reused: int = 0  # answered from the state file, not sent
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    note: str = ""  # e.g. "paused 12 s (rate limit)", "batch msgbatch_… in progress"
    batch_ids: list[str] = field(default_factory=list)

    @property
    def queued(self) -> int:
        return max(0, self.total - self.done - self.failed - self.in_flight)

    @property
    def rate(self) -> float:
        """Items answered per second in this run (not counting reused ones)."""
        elapsed = (self.finished or time.monotonic()) - self.started
        sent = self.done - self.reused
        return sent / elapsed if elapsed > 0 and sent > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        left = self.total - self.done - self.failed
        return left / rate if rate > 0 and left > 0 else None


def answer_record(key: str, message: Any, batch: bool) -> dict[str, Any]:
    """What the state file keeps of a Message (an SDK object or its dict)."""
    get = (lambda o, n: o.get(n)) if isinstance(message, dict) else getattr
    text = "".join(get(b, "text") or "" for b in get(message, "content") or []
                   if get(b, "type") == "text")
    usage = get(message, "usage")
    counts = {n: int(get(usage, n) or 0) for n in USAGE_FIELDS} if usage is not None else {}
    return {"answer": key, "text": text, "usage": counts, "batch": batch,
            "stop_reason": get(message, "stop_reason"), "model": get(message, "model")}


class Job:
    """Items, requests and results of one `map` call."""

    def __init__(self, labels: list[Any], prompts: list[str], requests: list[ItemRequest],
                 options: Options, store: Store) -> None:
        self.options = options
        self.store = store
        self.requests = requests
        self.results = [ItemResult(label, prompt) for label, prompt in zip(labels, prompts)]
        self.by_key: dict[str, list[int]] = {}
        for i, request in enumerate(requests):
            self.by_key.setdefault(request.key, []).append(i)
        self.tally = Tally(total=len(self.results))
        self.on_change: Callable[[], None] = lambda: None
        self.demo = False
        self.index: Any = None  # the input's pandas index, for `to_pandas()`
        for key in list(self.by_key):
            answer = store.answers.get(key)
            if answer is not None:
                self._apply(key, answer)
                self.tally.reused += len(self.by_key[key])

    def missing(self) -> list[ItemRequest]:
        """One request per distinct key that has no answer yet, in input order."""
        return [self.requests[ix[0]] for ix in self.by_key.values()
                if self.results[ix[0]].status != "done"]

    def answered(self, answers: list[dict[str, Any]]) -> None:
        """Store answers first (so an interrupt right after loses nothing), then show them."""
        self.store.add_answers(answers)
        for answer in answers:
            self._apply(answer["answer"], answer)
        self.on_change()

    def failed(self, key: str, status: str, error: str, batch_id: str | None = None) -> None:
        for i in self.by_key.get(key, []):
            item = self.results[i]
            if item.status in ("pending", "stopped"):
                self.tally.failed += 1
            item.status, item.error, item.batch_id = status, error, batch_id
        self.on_change()

    def _apply(self, key: str, answer: dict[str, Any]) -> None:
        text = answer.get("text", "")
        data, error = parse_answer(text, self.options)
        usage = answer.get("usage") or {}
        model = answer.get("model") or self.options.model
        cost = item_cost(model, usage, batch=bool(answer.get("batch")))
        for n, i in enumerate(self.by_key.get(key, [])):
            item = self.results[i]
            if item.status in ("failed", "expired", "canceled", "errored"):
                self.tally.failed -= 1
            if item.status != "done":
                self.tally.done += 1
                if n == 0:  # a duplicate prompt was sent once: count its tokens once
                    self.tally.input_tokens += sum(usage.get(f, 0) for f in USAGE_FIELDS
                                                   if f != "output_tokens")
                    self.tally.output_tokens += usage.get("output_tokens", 0)
                    self.tally.cost += cost or 0.0
            item.status, item.text, item.data, item.error = "done", text, data, error
            item.usage, item.cost, item.model = dict(usage), cost, model
            item.stop_reason = answer.get("stop_reason")

    def mark_unfinished(self, status: str, error: str | None = None) -> None:
        """After a stop: items still pending say so (they are sent again on the next run)."""
        for item in self.results:
            if item.status == "pending":
                item.status, item.error = status, error
