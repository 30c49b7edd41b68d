"""The raw event timeline of a turn, observed on the wire.

The SDK drops `ping` frames and turns `event: error` into an exception, so the inspector
watches the bytes themselves: `TapTransport` wraps the httpx2 transport the SDK talks
through, passes every request and every response byte on unchanged, and hands a copy of
each `text/event-stream` body to an incremental SSE parser (`FrameParser`: `cut()` /
`cut_end()` find frames, `decode()` reads one; no I/O). An `EventLog` gets one
`EventRecord` per frame, one per non-stream body (an HTTP error), and one `Exchange` per
HTTP request (retries and tool-loop turns each add one).

    log = EventLog()
    client = tapped_client(log, api_key=..., base_url=..., max_retries=0)
    ...stream a turn with `client` as usual...
    display(HTML(log.html())); log.write_jsonl("turn.jsonl")

Times, all `time.monotonic()` based and kept relative to the moment the log's first request
was handed to the transport (`EventLog.request_sent_at`, t = 0; it includes connecting):

- `Exchange.headers`: the status line and headers arrived (the inner transport returned).
- `Exchange.first_byte`: the first byte of the body arrived. This is the TTFB the summary
  reports; the first complete frame's time is reported separately as `first_event_ms`.
- `EventRecord.t`: the chunk that completed the frame arrived.

Cost: a body chunk reaches the SDK before the tap looks at it (its time is taken on
arrival), so the tap adds no buffering and no latency; while the body streams the tap only
cuts frames out of it, and their JSON is decoded when the log is read. A chunk the consumer
never asked past (it stopped, or the SDK raised on `event: error`) is cut when the body is
closed; a small error body the SDK closes unread (before a retry) is read by the tap.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx2

from ..render.sanitize import escape

__all__ = ["EventRecord", "Exchange", "EventLog", "FrameParser", "Frame", "Cut", "decode",
           "TapTransport", "tapped_client", "tapped_http_client"]

MALFORMED = "malformed"
COMMENT = "comment"
HEAD_ROWS, TAIL_ROWS = 200, 50  # html() / text() show these many rows of a long log
_BODY_CAP = 1 << 20  # bytes of a non-stream body kept for its one record
# An error body the SDK closes unread (it does before a retry) is read by the tap when it is
# this small and comes this fast, so the log still shows its error type.
_DRAIN_BYTES, _DRAIN_SECONDS = 64 * 1024, 0.25

# The Messages API stream's event types; anything else is shown as unknown.
KNOWN_TYPES = frozenset({
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping", "error",
})


# ------------------------------------------------------------ values

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


@dataclass(frozen=True, slots=True)
class Frame:
    """What `FrameParser` makes of one frame; the tap adds the time."""

    type: str
    index: int | None
    delta: str | None
    size: int
    raw: str | None


# ------------------------------------------------------------ incremental parsing

def _describe(data: Any, event: str | None) -> tuple[str, int | None, str | None] | None:
    """(type, index, delta) of a frame's decoded JSON, None when it is not an event."""
    if not isinstance(data, dict):
        return None
    kind = event if event is not None else data.get("type")
    if not isinstance(kind, str):
        return None
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        index = None
    detail = data.get("delta") if "delta" in data else data.get("error")
    sub = detail.get("type") if isinstance(detail, dict) else None
    return kind, index, sub if isinstance(sub, str) else None


class Cut(NamedTuple):
    """A frame cut out of the body, not decoded yet: its lines, without their line ends.

    `complete` is False for what the end of the body left without a closing blank line.
    """

    lines: list[bytes]
    size: int
    complete: bool = True


def decode(cut: Cut, keep_raw: bool = False) -> Frame:
    """What a frame says: its type, content block index, delta or error type."""
    lines, size = cut.lines, cut.size
    raw = b"\n".join(lines).decode("utf-8", "replace") if keep_raw else None
    if not cut.complete:
        return Frame(MALFORMED, None, None, size, raw)
    event: bytes | None
    data: bytes | None
    if len(lines) == 2 and lines[0][:7] == b"event: " and lines[1][:6] == b"data: ":
        event, data = lines[0][7:], lines[1][6:]  # the API's shape: the fast path
    else:
        fields = _fields(lines)
        if fields is None:
            return Frame(COMMENT, None, None, size, raw)
        event, data = fields
    name = None if event is None else event.decode("utf-8", "replace")
    described = None if data is None else _describe(_loads(data), name)
    if described is None:
        return Frame(MALFORMED, None, None, size, raw)
    return Frame(*described, size, raw)


class FrameParser:
    """Server-sent events, fed in arbitrary chunks, out as `Frame`s.

    Lines may end in `\\n`, `\\r\\n` or `\\r` (also split across chunks); a blank line ends
    a frame; `data:` lines join with `\\n`; `:` lines are comments; unknown fields are
    ignored, as the SDK's decoder does. `feed()` returns the frames the chunk completed,
    `finish()` what the end of the body leaves (a frame cut off without its blank line is
    malformed). Sizes add up to the bytes fed (blank lines between frames count towards the
    next frame) and do not depend on how the body was cut into chunks.

    Each is two steps: `cut()` / `cut_end()` find the frames (cheap: what the tap does
    while the body streams) and `decode()` reads one (JSON: done when the log is read).
    """

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self._partial: list[bytes] = []  # the current line, not yet ended
        self._lines: list[bytes] = []  # the current frame's lines, without line ends
        self._size = 0  # bytes of the current frame's ended lines
        self._after_cr = False  # the last byte was "\r": a leading "\n" belongs to it
        self._guessed_lf = False  # ...and was already counted in the sizes
        self._crlf = False  # the last line seen ended in "\r\n"

    def feed(self, data: bytes) -> list[Frame]:
        return [decode(cut, self.keep_raw) for cut in self.cut(data)]

    def finish(self) -> list[Frame]:
        return [decode(cut, self.keep_raw) for cut in self.cut_end()]

    def cut(self, data: bytes) -> list[Cut]:
        if self._after_cr and data:  # settle the guess made when the last chunk ended in "\r"
            self._after_cr = False
            self._crlf = data[:1] == b"\n"
            self._size += self._crlf - self._guessed_lf
            data = data[self._crlf:]
        if not data:
            return []
        if b"\n" not in data and b"\r" not in data:
            self._partial.append(data)
            return []
        if self._partial:
            data = b"".join((*self._partial, data))
            self._partial.clear()
        if not self._lines and data[-2:] == b"\n\n" and b"\r" not in data:
            blocks = data.split(b"\n\n")
            if not blocks[-1]:
                return self._cut_blocks(blocks)
        lines = data.splitlines(keepends=True)
        if lines[-1][-1:] not in (b"\n", b"\r"):
            self._partial.append(lines.pop())
        last = len(lines) - 1 if data[-1:] == b"\r" else -1  # a "\r" ends the chunk
        cuts = []
        for i, line in enumerate(lines):
            size = len(line)
            if i == last:
                # Its "\n" may come next: count that "\n" now when the lines so far ended
                # in "\r\n", so sizes do not depend on where the chunks were cut.
                self._after_cr, self._guessed_lf = True, self._crlf
                size += self._crlf
            else:
                self._crlf = line[-2:] == b"\r\n"
            self._size += size
            content = line.rstrip(b"\r\n")
            if content:
                self._lines.append(content)
            elif self._lines:
                cuts.append(self._take())
        return cuts

    def _cut_blocks(self, blocks: list[bytes]) -> list[Cut]:
        """The common case: whole frames ending in "\\n\\n", no "\\r", none pending."""
        self._crlf = False
        cuts = []
        for block in blocks[:-1]:
            self._size += len(block) + 2
            self._lines += [line for line in block.split(b"\n") if line]
            if self._lines:
                cuts.append(self._take())
        return cuts

    def cut_end(self) -> list[Cut]:
        """The end of the body: a frame without its closing blank line is incomplete."""
        rest = b"".join(self._partial)
        self._partial.clear()
        if rest.strip():
            self._lines.append(rest)
        self._size += len(rest)
        return [self._take()._replace(complete=False)] if self._lines else []

    def _take(self) -> Cut:
        cut = Cut(self._lines, self._size)
        self._lines, self._size = [], 0
        return cut


def _fields(lines: list[bytes]) -> tuple[bytes | None, bytes | None] | None:
    """The `event` and joined `data` fields of a frame's lines; None for comments only."""
    event: bytes | None = None
    data: list[bytes] = []
    fields = 0
    for line in lines:
        if line[:1] == b":":
            continue
        fields += 1
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            event = value
        elif name == b"data":
            data.append(value)
    if not fields:
        return None
    return event, b"\n".join(data) if data else None


_DECODER = json.JSONDecoder()


def _loads(data: bytes) -> Any:
    """What `json.loads` makes of `data`, or None when it is not JSON; at half the cost."""
    try:
        text = data.decode()
        start = 0 if text[:1] == "{" else len(text) - len(text.lstrip(" \t\n\r"))
        value, end = _DECODER.raw_decode(text, start)
    except ValueError:  # bad UTF-8 or bad JSON
        return None
    return value if end == len(text) or not text[end:].strip(" \t\n\r") else None


class _BodyParser:
    """A non-stream body (an error, or a non-streaming Message): one frame at its end."""

    def __init__(self, is_error: bool, keep_raw: bool) -> None:
        self.is_error, self.keep_raw = is_error, keep_raw
        self._parts: list[bytes] = []
        self._kept = self._size = 0

    def cut(self, data: bytes) -> list[Cut | Frame]:
        self._size += len(data)
        if self._kept < _BODY_CAP:
            self._parts.append(data)
            self._kept += len(data)
        return []

    def cut_end(self) -> list[Cut | Frame]:
        body = b"".join(self._parts)
        parsed = _loads(body)
        described = _describe(parsed, None)
        kind, _, detail = described or (MALFORMED if parsed is None else "body", None, None)
        if self.is_error:
            kind = "error"
        raw = body.decode("utf-8", "replace") if self.keep_raw else None
        return [Frame(kind, None, detail, self._size, raw)]


class _Inflate:
    """gzip / deflate content-encoding, undone on the tap's copy of the body."""

    def __init__(self, encoding: str) -> None:
        wbits = zlib.MAX_WBITS | 32 if encoding == "gzip" else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)
        self._raw_deflate = encoding == "deflate"

    def decode(self, data: bytes) -> bytes:
        try:
            return self._z.decompress(data)
        except zlib.error:
            if not self._raw_deflate:
                raise
            self._raw_deflate = False  # "deflate" sent without its zlib header
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._z.decompress(data)

    def flush(self) -> bytes:
        return self._z.flush()


# ------------------------------------------------------------ the log

def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _kb(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB"


def _fmt(value: float | int | str | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"


def _exchange_summary(e: Exchange, events: int) -> dict[str, Any]:
    def since(t: float | None) -> float | None:
        return None if t is None else _ms(t - e.sent)

    return {"method": e.method, "path": e.path, "status": e.status, "request_id": e.request_id,
            "sent_ms": _ms(e.sent), "headers_ms": since(e.headers),
            "ttfb_ms": since(e.first_byte), "duration_ms": since(e.ended), "end": e.end,
            "bytes": e.bytes, "note": e.note, "events": events}


_ROW_CLASS = {"error": "cnb-ev-error", MALFORMED: "cnb-ev-malformed", "ping": "cnb-ev-quiet",
              COMMENT: "cnb-ev-quiet"}

CSS = """
.cnb-ev-log{font:12px/1.35 var(--jp-code-font-family,monospace)}
.cnb-ev-summary{margin:0 0 4px}
.cnb-ev-table{border-collapse:collapse}
.cnb-ev-table th,.cnb-ev-table td{padding:0 8px;text-align:left}
.cnb-ev-table td.cnb-ev-num{text-align:right}
.cnb-ev-quiet{opacity:.55}
.cnb-ev-error,.cnb-ev-malformed{color:var(--jp-error-color1,#c62828)}
.cnb-ev-unknown{font-style:italic}
.cnb-ev-request td,.cnb-ev-more td{font-style:italic;opacity:.75}
"""

_HEAD = ("#", "t ms", "gap ms", "type", "index", "delta", "size")


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

    # ---- rendering

    def _rows(self) -> list[tuple[str, Any]]:
        """("event", (i, record, gap)) rows, led by a ("request", (n, Exchange)) row for
        each exchange when there are several."""
        several = len(self.exchanges) > 1
        rows: list[tuple[str, Any]] = []
        announced = 0
        records = list(self.records)
        gaps = self.gaps(records)
        for i, (r, gap) in enumerate(zip(records, gaps, strict=True)):
            while several and announced <= r.request:
                rows.append(("request", (announced, self.exchanges[announced])))
                announced += 1
            rows.append(("event", (i, r, gap)))
        if several:
            rows += [("request", (n, e)) for n, e in enumerate(self.exchanges) if n >= announced]
        return rows

    @staticmethod
    def _collapsed(rows: list[Any]) -> tuple[list[Any], int, list[Any]]:
        if len(rows) <= HEAD_ROWS + TAIL_ROWS:
            return rows, 0, []
        return rows[:HEAD_ROWS], len(rows) - HEAD_ROWS - TAIL_ROWS, rows[-TAIL_ROWS:]

    @staticmethod
    def _cells(i: int, r: EventRecord, gap: float | None) -> tuple[str, ...]:
        return (str(i), _fmt(r.t * 1000), _fmt(None if gap is None else gap * 1000), r.type,
                _fmt(r.index), _fmt(r.delta), str(r.size))

    @staticmethod
    def _request_line(number: int, e: Exchange) -> str:
        took = None if e.headers is None else (e.headers - e.sent) * 1000
        return (f"request {number + 1}: {e.method} {e.path} → {_fmt(e.status)} "
                f"{e.request_id or ''} at {_fmt(e.sent * 1000, ' ms')}, headers after "
                f"{_fmt(took, ' ms')}, {e.end or 'open'}")

    def _summary_lines(self) -> list[str]:
        s = self.summary()
        gap = s["gap_ms"]
        return [
            f"{_fmt(s['status'])} {s['request_id'] or ''} · {s['events']} events · "
            f"{s['requests']} request(s) · {_kb(s['bytes'])} · {s['end'] or 'open'}",
            f"headers {_fmt(s['headers_ms'], ' ms')} · TTFB (first body byte) "
            f"{_fmt(s['ttfb_ms'], ' ms')} · first event {_fmt(s['first_event_ms'], ' ms')} · "
            f"duration {_fmt(s['duration_ms'], ' ms')}",
            f"gaps p50 {_fmt(gap['p50'], ' ms')} · p95 {_fmt(gap['p95'], ' ms')} · "
            f"max {_fmt(gap['max'], ' ms')}",
            " · ".join(f"{kind} {n}" for kind, n in s["counts"].items()),
            *(f"request {n + 1}: {e.note}" for n, e in enumerate(self.exchanges) if e.note),
        ]

    def html(self, style: bool = True) -> str:
        """A compact timeline table with the summary on top; every value escaped."""
        head, hidden, tail = self._collapsed(self._rows())
        out = [f"<style>{CSS}</style>" if style else "", '<div class="cnb-ev-log">',
               '<div class="cnb-ev-summary">',
               "<br>".join(escape(line) for line in self._summary_lines()), "</div>",
               '<table class="cnb-ev-table"><thead><tr>',
               "".join(f"<th>{escape(h)}</th>" for h in _HEAD), "</tr></thead><tbody>"]
        out += [self._html_row(row) for row in head]
        if hidden:
            out.append(f'<tr class="cnb-ev-more"><td colspan="{len(_HEAD)}">'
                       f"{escape(f'… {hidden} more')}</td></tr>")
        out += [self._html_row(row) for row in tail]
        out.append("</tbody></table></div>")
        return "".join(out)

    def _html_row(self, row: tuple[str, Any]) -> str:
        kind, value = row
        if kind == "request":
            return (f'<tr class="cnb-ev-request"><td colspan="{len(_HEAD)}">'
                    f"{escape(self._request_line(*value))}</td></tr>")
        i, r, gap = value
        css = _ROW_CLASS.get(r.type, "" if r.type in KNOWN_TYPES else "cnb-ev-unknown")
        classes = f"cnb-ev-row {css}".rstrip()
        cells = self._cells(i, r, gap)
        tds = "".join(
            f'<td class="cnb-ev-num">{escape(c)}</td>' if n in (0, 1, 2, 4, 6)
            else f"<td>{escape(c)}</td>" for n, c in enumerate(cells))
        return f'<tr class="{classes}">{tds}</tr>'

    def text(self) -> str:
        """The same as `html()`, as plain text for a terminal."""
        head, hidden, tail = self._collapsed(self._rows())
        widths = (5, 9, 8, 22, 5, 18, 7)
        lines = self._summary_lines()

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.rjust(w) if n in (0, 1, 2, 4, 6) else c.ljust(w)
                             for n, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        def render(row: tuple[str, Any]) -> str:
            kind, value = row
            return (f"  -- {self._request_line(*value)}" if kind == "request"
                    else line(self._cells(*value)))

        lines.append(line(_HEAD))
        lines += [render(row) for row in head]
        if hidden:
            lines.append(f"  … {hidden} more")
        lines += [render(row) for row in tail]
        return "\n".join(lines)


# ------------------------------------------------------------ the tap

class _Recorder:
    """Writes one exchange's frames into the log as the body streams."""

    def __init__(self, log: EventLog, number: int, response: httpx2.Response) -> None:
        self.log, self.number = log, number
        self.exchange = log.exchanges[number]
        content_type = response.headers.get("content-type", "")
        self.sse = content_type.split(";")[0].strip().lower() == "text/event-stream"
        self.parser: FrameParser | _BodyParser = (
            FrameParser(log.keep_raw) if self.sse
            else _BodyParser(response.status_code >= 400, log.keep_raw))
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        self.inflate = _Inflate(encoding) if encoding in ("gzip", "deflate") else None
        self.broken: str | None = None
        if encoding not in ("identity", "gzip", "deflate", ""):
            self.broken = self.exchange.note = f"content-encoding {encoding} not decoded"
        length = response.headers.get("content-length", "")
        self.drain = (not self.sse and response.status_code >= 400 and length.isdigit()
                      and int(length) <= _DRAIN_BYTES)

    def _t(self, now: float) -> float:
        return now - (self.log.request_sent_at or now)

    def arrived(self, chunk: bytes, now: float) -> None:
        if chunk and self.exchange.first_byte is None:
            self.exchange.first_byte = self._t(now)
        self.exchange.bytes += len(chunk)

    def take(self, chunk: bytes, now: float) -> None:
        if self.broken is None:
            self._record(self._cut, chunk, now)

    def end(self, now: float, how: str) -> None:
        if self.exchange.end is not None:
            return
        inflate = self.inflate
        if inflate is not None:
            self._record(lambda _: self.parser.cut(inflate.flush()), b"", now)
        self._record(lambda _: self.parser.cut_end(), b"", now)
        self.exchange.ended, self.exchange.end = self._t(now), how

    def _cut(self, chunk: bytes) -> Sequence[Cut | Frame]:
        return self.parser.cut(self.inflate.decode(chunk) if self.inflate else chunk)

    def _record(self, step: Callable[[bytes], Sequence[Cut | Frame]], data: bytes,
                now: float) -> None:
        """The tap must never break the stream it watches: a failure stops only the tap."""
        if self.broken is not None:
            return
        try:
            cuts = step(data)
        except Exception as exc:  # noted in the log, not raised
            self.broken = self.exchange.note = f"tap failed: {type(exc).__name__}: {exc}"
            return
        if cuts:
            t, number = self._t(now), self.number
            self.log._pending.extend([(t, number, cut) for cut in cuts])


class _TapStream(httpx2.AsyncByteStream):
    """The response body, passed through chunk by chunk; each chunk is parsed after it
    has been handed on, so the consumer never waits for the tap."""

    def __init__(self, inner: httpx2.AsyncByteStream, recorder: _Recorder) -> None:
        self._inner, self._recorder = inner, recorder
        self._started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._started = True
        recorder, pending, now = self._recorder, None, 0.0
        how = "closed"  # unless the body ends or fails: the consumer stopped reading
        try:
            async for chunk in self._inner:
                now = time.monotonic()
                recorder.arrived(chunk, now)
                pending = chunk
                yield chunk
                pending = None
                recorder.take(chunk, now)
            how = "eof"
        except Exception as exc:
            how = f"error: {type(exc).__name__}"
            raise
        finally:
            if pending is not None:
                recorder.take(pending, now)
            recorder.end(time.monotonic(), how)

    async def aclose(self) -> None:
        try:
            if not self._started and self._recorder.drain:
                await self._drain()
        finally:
            self._recorder.end(time.monotonic(), "closed")
            await self._inner.aclose()

    async def _drain(self) -> None:
        """Read a small error body the consumer closes unread, within a short deadline."""
        self._started = True
        with anyio.move_on_after(_DRAIN_SECONDS):
            try:
                async for chunk in self._inner:
                    now = time.monotonic()
                    self._recorder.arrived(chunk, now)
                    self._recorder.take(chunk, now)
            except Exception:  # the body was being thrown away anyway
                pass


class TapTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport that records the wire timeline into `log`, changing nothing.

    `inner` does the real work (default: the transport the SDK would make itself).
    Requests pass through untouched; responses come back with the same status, headers and
    extensions and a body that yields the very same chunks.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None, *,
                 log: EventLog) -> None:
        self.inner = inner if inner is not None else _sdk_transport()
        self.log = log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        log = self.log
        sent = time.monotonic()
        if log.request_sent_at is None:
            log.request_sent_at = sent
        number = len(log.exchanges)
        exchange = Exchange(request.method, request.url.path, sent - log.request_sent_at)
        log.exchanges.append(exchange)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            exchange.ended = time.monotonic() - log.request_sent_at
            exchange.end = f"error: {type(exc).__name__}"
            raise
        exchange.headers = time.monotonic() - log.request_sent_at
        exchange.status = response.status_code
        exchange.request_id = response.headers.get("request-id")
        exchange.content_type = response.headers.get("content-type")
        if not isinstance(response.stream, httpx2.AsyncByteStream):
            return response  # nothing to read asynchronously: nothing to tap
        body = _TapStream(response.stream, _Recorder(log, number, response))
        return httpx2.Response(response.status_code, headers=response.headers, stream=body,
                               extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# ------------------------------------------------------------ clients

def _keepalive_socket_options() -> list[tuple[int, int, int | bool]]:
    """The TCP keep-alive options of the SDK's default client (`DefaultAsyncHttpxClient`)."""
    options: list[tuple[int, int, int | bool]] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)]
    interval = getattr(socket, "TCP_KEEPINTVL", None)
    if interval is not None:
        options.append((socket.IPPROTO_TCP, interval, 60))
    elif sys.platform == "darwin":
        options.append((socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPALIVE", 0x10), 60))
    for name, value in (("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        option = getattr(socket, name, None)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


def _sdk_transport(proxy: str | httpx2.Proxy | None = None) -> httpx2.AsyncHTTPTransport:
    import anthropic

    return httpx2.AsyncHTTPTransport(proxy=proxy, limits=anthropic.DEFAULT_CONNECTION_LIMITS,
                                     socket_options=_keepalive_socket_options())


_SDK_DEFAULT: Any = object()  # "the timeout the SDK's default client has"


def tapped_http_client(log: EventLog, *, transport: httpx2.AsyncBaseTransport | None = None,
                       timeout: Any = _SDK_DEFAULT) -> httpx2.AsyncClient:
    """The SDK's default async HTTP client, with every transport wrapped in a tap.

    Mirrors `anthropic.DefaultAsyncHttpxClient`: its timeout, connection limits,
    `follow_redirects=True`, TCP keep-alive options, and proxies from the environment
    (`HTTPS_PROXY`, `NO_PROXY`...), each proxy transport tapped too. A `transport` given
    replaces all of that (it is tapped and used for every URL).
    """
    import anthropic
    from anthropic._utils._httpx import get_environment_proxies  # what the SDK itself uses

    mounts: dict[str, httpx2.AsyncBaseTransport | None] = {}
    if transport is None:
        mounts = {key: None if proxy is None else TapTransport(_sdk_transport(proxy), log=log)
                  for key, proxy in get_environment_proxies().items()}
    return anthropic.DefaultAsyncHttpxClient(
        transport=TapTransport(transport, log=log), mounts=mounts,
        timeout=anthropic.DEFAULT_TIMEOUT if timeout is _SDK_DEFAULT else timeout)


def tapped_client(log: EventLog, *, transport: httpx2.AsyncBaseTransport | None = None,
                  **client_kwargs: Any) -> Any:
    """An `anthropic.AsyncAnthropic(**client_kwargs)` whose HTTP goes through a tap into `log`.

    Behaves like the client the same kwargs make without a tap (see `tapped_http_client`;
    the client's own `timeout`, if given, applies to every request as usual).
    """
    import anthropic

    timeout = client_kwargs.get("timeout", _SDK_DEFAULT)
    if not isinstance(timeout, (int, float, httpx2.Timeout, type(None))):
        timeout = _SDK_DEFAULT  # e.g. anthropic.NOT_GIVEN
    http_client = tapped_http_client(log, transport=transport, timeout=timeout)
    return anthropic.AsyncAnthropic(http_client=http_client, **client_kwargs)
