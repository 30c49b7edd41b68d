"""How a map's state reads: one progress line, and a small HTML summary (live and saved).

Everything from items or the model (texts, errors) is escaped here; this is the only
place bulk output becomes HTML.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..render.sanitize import escape

if TYPE_CHECKING:
    from .items import ItemResult
    from .job import Tally

__all__ = ["progress_line", "summary_html"]

# Inline styles, no `<style>` block: sanitizers that drop tags keep their text (nbconvert
# --sanitize-html would show the CSS), while unstyled this still reads as a line and tables.
_CELL = 'style="padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #ddd"'
_BAR = ('style="display:flex;width:24em;max-width:100%;height:6px;background:#eee;'
        'border-radius:3px"')


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def progress_line(t: Tally, status: str, demo: bool = False) -> str:
    """`412/1000 done · 3 failed · 16 in flight · 569 queued · 52,113 tok · $0.41 · 9.8/s ·
    ETA 1 min 0 s` — the terminal line and the text/plain summary."""
    elapsed = (t.finished or time.monotonic()) - t.started
    parts = [f"{t.done}/{t.total} done"]
    if t.failed:
        parts.append(f"{t.failed} failed")
    if t.in_flight:
        parts.append(f"{t.in_flight} in flight")
    if t.queued and status == "running":
        parts.append(f"{t.queued} queued")
    if t.reused:
        parts.append(f"{t.reused} from the state file")
    parts.append(f"{t.input_tokens + t.output_tokens:,} tokens")
    if t.cost:
        parts.append(f"${t.cost:,.4f}")
    if t.rate:
        parts.append(f"{t.rate:.3g}/s")
    if status == "running" and t.eta is not None:
        parts.append(f"ETA {_duration(t.eta)}")
    parts.append(_duration(elapsed))
    if status not in ("running", "done"):
        parts.append(status)
    if t.note:
        parts.append(t.note)
    if demo:
        parts.append("demo backend (not Claude)")
    return " · ".join(parts)


def summary_html(t: Tally, status: str, items: list[ItemResult], demo: bool = False,
                 footer: str = "", rows: int = 5) -> str:
    """The progress bar, the line, the first errors and (when finished) the first answers."""
    ok = 100 * t.done / t.total if t.total else 100
    bad = 100 * t.failed / t.total if t.total else 0
    bar = (f'<div {_BAR}><div style="width:{ok:.1f}%;background:#4a8"></div>'
           f'<div style="width:{bad:.1f}%;background:#c55"></div></div>')
    line = escape(progress_line(t, status, demo))
    html = ['<div class="cnb-map" style="margin:4px 0">', bar, f"<div>{line}</div>"]
    failures = [i for i in items if i.error][:rows]
    if failures:
        html.append(f"<table><tr><th {_CELL}>item</th><th {_CELL}>error</th></tr>")
        html += [f"<tr><td {_CELL}>{escape(repr(i.label))}</td>"
                 f'<td {_CELL}><span style="color:#b33">{escape(i.error or "")}</span></td></tr>'
                 for i in failures]
        html.append("</table>")
    if status != "running":
        shown = [i for i in items if i.status == "done"][:rows]
        if shown:
            html.append(f"<table><tr><th {_CELL}>item</th><th {_CELL}>answer</th></tr>")
            html += [f"<tr><td {_CELL}>{escape(repr(i.label))}</td>"
                     f"<td {_CELL}>{escape(_short(i.text))}</td></tr>" for i in shown]
            html.append("</table>")
    if footer:
        html.append(f'<div style="color:#777">{escape(footer)}</div>')
    html.append("</div>")
    return "".join(html)


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"
