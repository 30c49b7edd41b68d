"""The `%claude --usage` and `%claude --models` tables, as escaped HTML and as plain text.

Both take plain values (usage rows from `protocol.usage`, `ModelInfo` objects from the Models
API), so the same figures reach the notebook, the terminal and a DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol.usage import totals
from ..run.models import day, deprecation_warning
from . import html as h
from .apicards import cost_words

__all__ = ["models_table", "usage_table"]

_USAGE_HEAD = ("#", "model", "input", "output", "cache write", "cache read", "cost",
               "TTFT", "tok/s")
_MODEL_HEAD = ("model", "name", "context", "max output", "thinking", "effort", "lifecycle")


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ""


def _usage_cells(row: Mapping[str, Any]) -> list[str]:
    ttft, speed = row.get("ttft_s"), row.get("tokens_per_s")
    return [str(row["prompt"]), str(row["model"]), _num(row["input_tokens"]),
            _num(row["output_tokens"]), _num(row["cache_write_tokens"]),
            _num(row["cache_read_tokens"]), cost_words(row["cost_usd"]),
            h.seconds(ttft) if ttft is not None else "", f"{speed:.0f}" if speed else ""]


def _total_cells(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    t = totals(rows)
    spent = cost_words(t["cost_usd"])
    if t["cost_usd"] is None and t["cost_known_usd"]:
        spent = f"{cost_words(t['cost_known_usd'])} + unknown"
    return ["total", f"{t['turns']} requests", _num(t["input_tokens"]), _num(t["output_tokens"]),
            _num(t["cache_write_tokens"]), _num(t["cache_read_tokens"]), spent, "", ""]


def _html_table(head: Sequence[str], body: Sequence[Sequence[str]], foot: Sequence[str] = (),
                cls: str = "") -> str:
    def row(cells: Sequence[str], tag: str) -> str:
        return h.el("tr", "".join(h.el(tag, h.esc(c)) for c in cells))
    parts = [h.el("thead", row(head, "th")), h.el("tbody", "".join(row(r, "td") for r in body))]
    if foot:
        parts.append(h.el("tfoot", row(foot, "th")))
    return h.el("table", "".join(parts), class_=f"cnb-table {cls}".strip())


def _text_table(head: Sequence[str], body: Sequence[Sequence[str]],
                foot: Sequence[str] = ()) -> str:
    lines = [list(head), *map(list, body), *([list(foot)] if foot else [])]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    if foot:
        out.insert(len(out) - 1, out[1])
    return "\n".join(out)


def usage_table(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(HTML, text) of the session's requests with a totals line (the sum of the rows)."""
    if not rows:
        text = "No requests yet in this conversation."
        return h.el("div", h.esc(text), class_="cnb-notice"), text
    body = [_usage_cells(r) for r in rows]
    foot = _total_cells(rows)
    return (h.el("div", _html_table(_USAGE_HEAD, body, foot, "cnb-usage"), class_="cnb-usage"),
            _text_table(_USAGE_HEAD, body, foot))


def _supported(caps: Any, group: str, names: Sequence[str], sub: str = "") -> str:
    node = getattr(caps, group, None)
    node = getattr(node, sub, None) if sub and node is not None else node
    return ", ".join(n for n in names if getattr(getattr(node, n, None), "supported", False))


def _lifecycle(info: Any) -> str:
    if info.lifecycle == "deprecated" and info.retires_at is not None:
        return f"deprecated, retires {day(info.retires_at)}"
    return str(info.lifecycle)


def _model_cells(info: Any) -> list[str]:
    caps = info.capabilities
    thinking = _supported(caps, "thinking", ("adaptive", "enabled"), "types") if caps else ""
    effort = _supported(caps, "effort", ("low", "medium", "high", "xhigh", "max")) if caps else ""
    return [info.id, info.display_name, _num(info.max_input_tokens), _num(info.max_tokens),
            thinking or "—", effort or "—", _lifecycle(info)]


def models_table(models: Sequence[Any]) -> tuple[str, str]:
    """(HTML, text) of what the Models API lists, then a warning line per deprecated model."""
    body = [_model_cells(m) for m in models]
    warnings = [w for m in models if (w := deprecation_warning(m))]
    notes_html = "".join(h.el("div", h.esc("⚠ " + w), class_="cnb-notice cnb-deprecated")
                         for w in warnings)
    html = h.el("div", _html_table(_MODEL_HEAD, body, cls="cnb-models") + notes_html,
                class_="cnb-models")
    text = "\n".join([_text_table(_MODEL_HEAD, body), *("! " + w for w in warnings)])
    return html, text
