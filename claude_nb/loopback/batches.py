"""The Message Batches API on the loopback server: create, retrieve, list, cancel, results.

Shapes follow the installed SDK's `types/messages/message_batch*.py`. Every request in a
batch is answered when the batch is created, by the same queue / `auto_reply` that answers
`POST /v1/messages` (an `HttpError` there becomes an `errored` result), but the batch reports
`in_progress` until `delay` seconds have passed; `delay` is read on every retrieve, so a
test can hold a batch open and later let it end. `outcome(custom_id)` forces `expired`,
`canceled` or `errored` per item. Results come back in reverse request order, because the
API promises no order.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .cache import breakpoint_error
from .models_api import capability_error
from .script import HttpError, Turn, as_stream, new_id
from .sse import Json, assemble
from .validate import validate

if TYPE_CHECKING:
    from .server import LoopbackServer

__all__ = ["MAX_BYTES", "MAX_REQUESTS", "Batch", "Batches"]

MAX_REQUESTS = 100_000  # the API's per-batch limits
MAX_BYTES = 256 * 1024 * 1024
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PATH = re.compile(r"^/v1/messages/batches(?:/(?P<id>[^/?]+)(?:/(?P<action>results|cancel))?)?$")

Reply = tuple[int, bytes, dict[str, str]]  # status, body, extra headers


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def _error(status: int, kind: str, message: str) -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": message},
            "request_id": new_id("req_011C")}
    return status, json.dumps(body).encode(), {}


@dataclass
class Batch:
    """One created batch: its answers are decided at creation, revealed when it ends."""

    id: str
    created: float  # wall clock (time.time())
    results: dict[str, Json]  # custom_id -> result ({"type": "succeeded", "message": ...})
    cancel_at: float | None = None
    ended_at: float | None = None

    def status(self, delay: float, expiry: float) -> str:
        if self.ended_at is not None:
            return "ended"
        now = time.time()
        if self.cancel_at is not None or now >= self.created + min(delay, expiry):
            self.ended_at = now
            if self.cancel_at is not None:
                self.results = {k: {"type": "canceled"} for k in self.results}
            elif delay > expiry:
                self.results = {k: {"type": "expired"} for k in self.results}
            return "ended"
        return "in_progress"

    def counts(self, ended: bool) -> dict[str, int]:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if not ended:
            counts["processing"] = len(self.results)
            return counts
        for result in self.results.values():
            counts[result["type"]] += 1
        return counts


@dataclass
class Batches:
    """Batch state of one loopback server, and what tests configure about it.

    `delay`: seconds from creation until a batch ends (read on every retrieve);
    `expiry`: seconds after which an unfinished batch expires (24 h in the API);
    `outcome(custom_id, params)`: "expired" | "canceled" | "errored" forces an item's result;
    `max_requests` / `max_bytes`: the per-batch limits (lower them to test splitting).
    """

    server: LoopbackServer
    delay: float = 0.0
    expiry: float = 24 * 3600.0
    outcome: Callable[[str, Json], str | None] | None = None
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    created: list[Batch] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply | None:
        """Answer a batches request, or None when the path is not a batches path."""
        match = _PATH.match(path)
        if match is None:
            return None
        batch_id, action = match.group("id"), match.group("action")
        if batch_id is None:
            if method == "POST":
                return self._create(raw)
            return self._list(query) if method == "GET" else None
        with self._lock:
            batch = next((b for b in self.created if b.id == batch_id), None)
        if batch is None:
            return _error(404, "not_found_error", f"message batch {batch_id} not found")
        if action == "cancel" and method == "POST":
            if batch.status(self.delay, self.expiry) != "ended":
                batch.cancel_at = time.time()
            return 200, json.dumps(self._view(batch, "canceling")).encode(), {}
        if action == "results" and method == "GET":
            return self._results(batch)
        if action is None and method == "GET":
            return 200, json.dumps(self._view(batch)).encode(), {}
        return None

    def _create(self, raw: bytes) -> Reply:
        if len(raw) > self.max_bytes:
            return _error(413, "request_too_large",
                          f"Request exceeds the maximum size of {self.max_bytes} bytes")
        try:
            requests = json.loads(raw)["requests"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request_error", "requests: Field required")
        if not isinstance(requests, list) or not requests:
            return _error(400, "invalid_request_error",
                          "requests: List should have at least 1 item")
        if len(requests) > self.max_requests:
            return _error(400, "invalid_request_error",
                          f"requests: List should have at most {self.max_requests} items")
        ids = [r.get("custom_id") if isinstance(r, dict) else None for r in requests]
        bad = next((i for i in ids if not isinstance(i, str) or not _CUSTOM_ID.match(i)), None)
        if bad is not None or len(set(ids)) != len(ids):
            what = "must match ^[a-zA-Z0-9_-]{1,64}$" if bad is not None else "must be unique"
            return _error(400, "invalid_request_error", f"custom_id {bad!r}: {what}")
        results = {r["custom_id"]: self._answer(r["custom_id"], r.get("params")) for r in requests}
        batch = Batch(new_id("msgbatch_01"), time.time(), results)
        with self._lock:
            self.created.append(batch)
        return 200, json.dumps(self._view(batch)).encode(), {}

    def _answer(self, custom_id: str, params: Any) -> Json:
        forced = self.outcome(custom_id, params) if self.outcome else None
        if forced in ("expired", "canceled"):
            return {"type": forced}
        if forced == "errored":
            return _errored("api_error", "Internal server error")
        if not isinstance(params, dict):
            return _errored("invalid_request_error", "params: Field required")
        loop = self.server
        problem = (validate(params) or capability_error(params, loop.models)
                   or breakpoint_error(params)
                   or ("stream: batch requests cannot stream" if params.get("stream") else None))
        if problem:
            return _errored("invalid_request_error", problem)
        usage = loop.cache.account(params).usage()
        reply = loop._next_response(params)
        if isinstance(reply, Turn) and "input_tokens" not in reply.usage:
            reply = replace(reply, usage={**usage, **reply.usage})
        response = as_stream(reply)
        if isinstance(response, HttpError):
            error = json.loads(response.body or b"{}").get("error") or {}
            return _errored(error.get("type", "api_error"), error.get("message", "error"))
        message = assemble(response.frames)
        if message.get("type") == "error":
            return _errored(message["error"]["type"], message["error"]["message"])
        return {"type": "succeeded", "message": message}

    def _view(self, batch: Batch, status: str | None = None) -> Json:
        current = batch.status(self.delay, self.expiry)
        ended = current == "ended"
        if status == "canceling" and ended and batch.cancel_at is None:
            status = None
        return {
            "id": batch.id, "type": "message_batch",
            "processing_status": status if status and not ended else current,
            "request_counts": batch.counts(ended),
            "created_at": _time(batch.created),
            "expires_at": _time(batch.created + self.expiry),
            "ended_at": _time(batch.ended_at) if batch.ended_at else None,
            "cancel_initiated_at": _time(batch.cancel_at) if batch.cancel_at else None,
            "archived_at": None,
            "results_url": (f"{self.server.base_url}/v1/messages/batches/{batch.id}/results"
                            if ended else None),
        }

    def _results(self, batch: Batch) -> Reply:
        if batch.status(self.delay, self.expiry) != "ended":
            return _error(400, "invalid_request_error",
                          f"Message batch {batch.id} is still in progress.")
        lines = [json.dumps({"custom_id": k, "result": v}, ensure_ascii=False)
                 for k, v in reversed(batch.results.items())]
        return 200, ("\n".join(lines) + "\n").encode(), {"content-type": "application/binary"}

    def _list(self, query: dict[str, str]) -> Reply:
        with self._lock:
            newest_first = list(reversed(self.created))
        after = query.get("after_id")
        if after:
            ids = [b.id for b in newest_first]
            newest_first = newest_first[ids.index(after) + 1:] if after in ids else []
        limit = max(1, min(1000, int(query.get("limit") or 20)))
        page = newest_first[:limit]
        data = [self._view(b) for b in page]
        body = {"data": data, "has_more": len(newest_first) > limit,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}
        return 200, json.dumps(body).encode(), {}


def _errored(kind: str, message: str) -> Json:
    return {"type": "errored", "error": {"type": "error", "error": {"type": kind,
                                                                    "message": message}}}
