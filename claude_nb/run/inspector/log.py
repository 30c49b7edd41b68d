"""The event inspector's log: one `EventRecord` per frame, one `Exchange` per HTTP request.

The tap (`tap.py`) appends frames cut from the wire; they are decoded into records when the
log is read (from any thread), so streaming stays cheap. `summary()` gives the numbers, JSON
lines save and load a log; `claude_nb.render.timeline` draws it as a table.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ...protocol.sse import Cut, Frame, decode

__all__ = ["EventLog", "EventRecord", "Exchange"]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One frame of a stream (or the whole body of a non-stream response).

    `type`: the `event:` field, else the JSON `type`; `"malformed"` for a frame that is not
    an event with a JSON object (bad JSON, no data, stray lines, cut off at the end of the
    body), `"comment"` for a block of `:` lines only. `index`: the content block index.
    `delta`: the delta type of a `content_block_delta` (`text_delta`...), or the error type
    of an `error` (`overloaded_error`, `rate_limit_error`...). `size`: bytes the frame took
    on the wire, line ends and the blank line included. `raw`: the frame's text, kept only
    when the log has `keep_raw`. `request`: which of the log's exchanges it came in.
    """

    t: float
    type: str
    index: int | None
    delta: str | None
    size: int
    raw: str | None = None
    request: int = 0


@dataclass
class Exchange:
    """One HTTP request and its response; times are seconds since the log's t = 0.

    `end`: `"eof"` (body read to its end), `"closed"` (the consumer closed it early, e.g. a
    Stop, or the SDK raising on `event: error`), `"error: <exception class>"`.
    """

    method: str
    path: str
    sent: float
    headers: float | None = None
    first_byte: float | None = None
    ended: float | None = None
    end: str | None = None
    status: int | None = None
    request_id: str | None = None
    content_type: str | None = None
    bytes: int = 0
    note: str | None = None  # what the tap could not do (an unknown content-encoding...)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)



def _exchange_summary(e: Exchange, events: int) -> dict[str, Any]:
    def since(t: float | None) -> float | None:
        return None if t is None else _ms(t - e.sent)

    return {"method": e.method, "path": e.path, "status": e.status, "request_id": e.request_id,
            "sent_ms": _ms(e.sent), "headers_ms": since(e.headers),
            "ttfb_ms": since(e.first_byte), "duration_ms": since(e.ended), "end": e.end,
            "bytes": e.bytes, "note": e.note, "events": events}



class EventLog:
    """The wire timeline of one or more requests: `records` in arrival order, `exchanges`.

    Iterating, `len()` and indexing go over the records. `request_sent_at` is the
    `time.monotonic()` of the first request (t = 0); `status` and `request_id` are those of
    the latest exchange. While a body streams the tap only cuts it into frames; they are
    decoded into records when the log is read (from any thread), so streaming stays cheap.
    """

    def __init__(self, keep_raw: bool = False, *, records: Iterable[EventRecord] = (),
                 exchanges: Iterable[Exchange] = (),
                 request_sent_at: float | None = None) -> None:
        self.keep_raw = keep_raw
        self.exchanges: list[Exchange] = list(exchanges)
        self.request_sent_at = request_sent_at
        self._records: list[EventRecord] = list(records)
        self._pending: list[tuple[float, int, Cut | Frame]] = []  # appended by the tap
        self._lock = threading.Lock()

    @property
    def records(self) -> list[EventRecord]:
        if self._pending:
            with self._lock:
                batch = self._pending[:len(self._pending)]
                del self._pending[:len(batch)]
                keep = self.keep_raw
                for t, n, cut in batch:
                    f = cut if isinstance(cut, Frame) else decode(cut, keep)
                    self._records.append(
                        EventRecord(t, f.type, f.index, f.delta, f.size, f.raw, n))
        return self._records

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EventLog):
            return NotImplemented
        return (self.keep_raw, self.request_sent_at, self.exchanges, self.records) == (
            other.keep_raw, other.request_sent_at, other.exchanges, other.records)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"EventLog({len(self)} records, {len(self.exchanges)} exchanges, "
                f"status={self.status}, keep_raw={self.keep_raw})")

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EventRecord]:
        return iter(self.records)

    def __getitem__(self, i: int) -> EventRecord:
        return self.records[i]

    @property
    def status(self) -> int | None:
        return self.exchanges[-1].status if self.exchanges else None

    @property
    def request_id(self) -> str | None:
        return self.exchanges[-1].request_id if self.exchanges else None

    @property
    def types(self) -> list[str]:
        return [r.type for r in self.records]

    # ---- numbers

    def gaps(self, records: list[EventRecord] | None = None) -> list[float | None]:
        """Seconds since the previous record of the same exchange (None for its first)."""
        last: dict[int, float] = {}
        out: list[float | None] = []
        for r in self.records if records is None else records:
            prev = last.get(r.request)
            out.append(None if prev is None else r.t - prev)
            last[r.request] = r.t
        return out

    def summary(self) -> dict[str, Any]:
        """Counts per type, times in ms since the first request was sent, gaps, bytes.

        `headers_ms`: the first response's headers; `ttfb_ms`: the first body byte of any
        response; `first_event_ms`: the first record; `duration_ms`: the last thing seen
        (a record, or a body's end). `gap_ms`: between consecutive records of one exchange.
        """
        records, exchanges = list(self.records), list(self.exchanges)
        counts: dict[str, int] = {}
        for r in records:
            counts[r.type] = counts.get(r.type, 0) + 1
        gaps = sorted(g for g in self.gaps(records) if g is not None)
        first_bytes = [e.first_byte for e in exchanges if e.first_byte is not None]
        moments = [r.t for r in records[-1:]] + [
            t for e in exchanges for t in (e.sent, e.headers, e.first_byte, e.ended)
            if t is not None]
        return {
            "requests": len(exchanges),
            "status": self.status,
            "request_id": self.request_id,
            "end": exchanges[-1].end if exchanges else None,
            "events": len(records),
            "counts": counts,
            "headers_ms": _ms(exchanges[0].headers) if exchanges else None,
            "ttfb_ms": _ms(min(first_bytes)) if first_bytes else None,
            "first_event_ms": _ms(records[0].t) if records else None,
            "duration_ms": _ms(max(moments)) if moments else None,
            "gap_ms": {
                "p50": _ms(_percentile(gaps, 0.5)) if gaps else None,
                "p95": _ms(_percentile(gaps, 0.95)) if gaps else None,
                "max": _ms(gaps[-1]) if gaps else None,
            },
            "bytes": sum(e.bytes for e in exchanges),
            "per_request": [_exchange_summary(e, sum(r.request == i for r in records))
                            for i, e in enumerate(exchanges)],
        }

    # ---- JSON lines

    def to_jsonl(self) -> str:
        """A `{"kind": "log"}` line, one `"request"` line per exchange, one `"event"` per record."""
        lines = [{"kind": "log", "keep_raw": self.keep_raw,
                  "request_sent_at": self.request_sent_at}]
        lines += [{"kind": "request", **asdict(e)} for e in self.exchanges]
        lines += [{"kind": "event", **asdict(r)} for r in self.records]
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)

    def write_jsonl(self, path: str | Path) -> None:
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")

    @classmethod
    def from_jsonl(cls, text: str) -> EventLog:
        log = cls()
        for line in text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            kind = item.pop("kind")
            if kind == "log":
                log.keep_raw, log.request_sent_at = item["keep_raw"], item["request_sent_at"]
            elif kind == "request":
                log.exchanges.append(Exchange(**item))
            elif kind == "event":
                log.records.append(EventRecord(**item))
        return log

