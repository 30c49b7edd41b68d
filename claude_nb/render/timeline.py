"""The event inspector's timeline as HTML (a compact table, every value escaped) and as
plain text for a terminal: the summary on top, one row per frame, long logs collapsed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..protocol.sse import COMMENT, KNOWN_TYPES, MALFORMED
from .sanitize import escape

if TYPE_CHECKING:
    from ..run.inspector.log import EventLog, EventRecord, Exchange

__all__ = ["CSS", "timeline_html", "timeline_text"]

HEAD_ROWS, TAIL_ROWS = 200, 50  # html() / text() show these many rows of a long log


def _kb(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB"


def _fmt(value: float | str | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"



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


def _rows(log: EventLog) -> list[tuple[str, Any]]:
    """("event", (i, record, gap)) rows, led by a ("request", (n, Exchange)) row for
    each exchange when there are several."""
    several = len(log.exchanges) > 1
    rows: list[tuple[str, Any]] = []
    announced = 0
    records = list(log.records)
    gaps = log.gaps(records)
    for i, (r, gap) in enumerate(zip(records, gaps, strict=True)):
        while several and announced <= r.request:
            rows.append(("request", (announced, log.exchanges[announced])))
            announced += 1
        rows.append(("event", (i, r, gap)))
    if several:
        rows += [("request", (n, e)) for n, e in enumerate(log.exchanges) if n >= announced]
    return rows


def _collapsed(rows: list[Any]) -> tuple[list[Any], int, list[Any]]:
    if len(rows) <= HEAD_ROWS + TAIL_ROWS:
        return rows, 0, []
    return rows[:HEAD_ROWS], len(rows) - HEAD_ROWS - TAIL_ROWS, rows[-TAIL_ROWS:]


def _cells(i: int, r: EventRecord, gap: float | None) -> tuple[str, ...]:
    return (str(i), _fmt(r.t * 1000), _fmt(None if gap is None else gap * 1000), r.type,
            _fmt(r.index), _fmt(r.delta), str(r.size))


def _request_line(number: int, e: Exchange) -> str:
    took = None if e.headers is None else (e.headers - e.sent) * 1000
    return (f"request {number + 1}: {e.method} {e.path} → {_fmt(e.status)} "
            f"{e.request_id or ''} at {_fmt(e.sent * 1000, ' ms')}, headers after "
            f"{_fmt(took, ' ms')}, {e.end or 'open'}")


def _summary_lines(log: EventLog) -> list[str]:
    s = log.summary()
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
        *(f"request {n + 1}: {e.note}" for n, e in enumerate(log.exchanges) if e.note),
    ]


def timeline_html(log: EventLog, style: bool = True) -> str:
    """A compact timeline table with the summary on top; every value escaped."""
    head, hidden, tail = _collapsed(_rows(log))
    out = [f"<style>{CSS}</style>" if style else "", '<div class="cnb-ev-log">',
           '<div class="cnb-ev-summary">',
           "<br>".join(escape(line) for line in _summary_lines(log)), "</div>",
           '<table class="cnb-ev-table"><thead><tr>',
           "".join(f"<th>{escape(h)}</th>" for h in _HEAD), "</tr></thead><tbody>"]
    out += [_html_row(row) for row in head]
    if hidden:
        out.append(f'<tr class="cnb-ev-more"><td colspan="{len(_HEAD)}">'
                   f"{escape(f'… {hidden} more')}</td></tr>")
    out += [_html_row(row) for row in tail]
    out.append("</tbody></table></div>")
    return "".join(out)


def _html_row(row: tuple[str, Any]) -> str:
    kind, value = row
    if kind == "request":
        return (f'<tr class="cnb-ev-request"><td colspan="{len(_HEAD)}">'
                f"{escape(_request_line(*value))}</td></tr>")
    i, r, gap = value
    css = _ROW_CLASS.get(r.type, "" if r.type in KNOWN_TYPES else "cnb-ev-unknown")
    classes = f"cnb-ev-row {css}".rstrip()
    cells = _cells(i, r, gap)
    tds = "".join(
        f'<td class="cnb-ev-num">{escape(c)}</td>' if n in (0, 1, 2, 4, 6)
        else f"<td>{escape(c)}</td>" for n, c in enumerate(cells))
    return f'<tr class="{classes}">{tds}</tr>'


def timeline_text(log: EventLog) -> str:
    """The same as `timeline_html()`, as plain text for a terminal."""
    head, hidden, tail = _collapsed(_rows(log))
    widths = (5, 9, 8, 22, 5, 18, 7)
    lines = _summary_lines(log)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if n in (0, 1, 2, 4, 6) else c.ljust(w)
                         for n, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    def render(row: tuple[str, Any]) -> str:
        kind, value = row
        return (f"  -- {_request_line(*value)}" if kind == "request"
                else line(_cells(*value)))

    lines.append(line(_HEAD))
    lines += [render(row) for row in head]
    if hidden:
        lines.append(f"  … {hidden} more")
    lines += [render(row) for row in tail]
    return "\n".join(lines)
