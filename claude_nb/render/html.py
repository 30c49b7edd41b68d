"""The HTML mini-DSL every card is written with, and the small formatters they share.

`el(tag, inner, **attrs)` writes one element: attribute values are escaped here, `inner`
must already be safe HTML. Text goes in through `esc` (escaped, TeX link targets defused:
a page's math renderer may typeset any text). Nothing here sees model HTML unescaped;
Markdown goes through `markdown_html` (the renderer, then `sanitize.clean`).

The HTML contract: these class names are stable. One stylesheet, `render/style.css`,
styles them in the widget and in saved outputs (`render/stylesheet.py`). Front ends act
only on `data-cnb-*` attributes, which `clean` strips from anything model-derived, so they
cannot be forged.

======================  ================================================================
`cnb-turn`              static output of a turn / reply; `cnb-static` when standalone
`cnb-card`              every card: `<details>` (head = `<summary>`) or `<div>` (head =
                        `.cnb-card-head`); plus the kind class below
`cnb-card-title`        the card's name; `cnb-card-sub` secondary text (query, preview)
`cnb-card-body`         the card's content; `cnb-label` a small heading inside it
`cnb-text`              a text block, or a run of consecutive text blocks
`cnb-md`                rendered (cleaned) Markdown; the target of `md` ops
`cnb-cite`              a citation reference `<sup>` in text
`cnb-sources`           numbered Sources list after cited text; `cnb-quote` a passage
`cnb-thinking`          thinking card; `cnb-thinking-live` while streaming,
                        `cnb-thinking-omitted` when the API omitted the text
`cnb-spinner`           activity indicator; `cnb-timer` elapsed time (with
                        `data-running` / `data-t0` (epoch s) the widget ticks it)
`cnb-redacted`          redacted thinking card
`cnb-tool`              tool-call card; `cnb-server-tool` for server tools
                        (`cnb-tool-kind` says "server tool")
`cnb-tool-input`        input area: `pre.cnb-json` (`cnb-json-live` while streaming,
                        `cnb-json-partial` + `.cnb-incomplete` if it never parsed)
`cnb-badge`             status badge with `data-status` and `cnb-status-<status>`
                        (`protocol.status.ToolStatus`: waiting, awaiting_approval,
                        running, done, error, timeout, stopped, denied, incomplete,
                        not_run), or other
`cnb-actions`           approve / deny buttons (`data-cnb-action`, `data-cnb-id`)
`cnb-tool-result`       result area; holds `cnb-result` (`cnb-result-error`), with
                        `cnb-output` (text `<pre>`), `cnb-output-html` (cleaned HTML),
                        `cnb-output-image` (`<img>`), `cnb-json`
`cnb-server-result`     server tool result card; `cnb-web-results` (web search list
                        `cnb-web-list`, `cnb-url`, `cnb-page-age`), `cnb-server-error`
`cnb-unknown`           unknown block / event card
`cnb-notice`            retry notice
`cnb-user`              a user prompt (history)
`cnb-context`           notebook-context card (`render/contextcard.py`): `cnb-context-table`
                        rows `cnb-context-item` (`data-truncated`, `data-literal`,
                        `data-redacted`); `cnb-ask-error` the Ask-Claude row
`cnb-footer`            usage line; items `cnb-model`, `cnb-tokens`, `cnb-cache`,
                        `cnb-server-use`, `cnb-timing`, `cnb-turns`, `cnb-stop` +
                        `cnb-stop-<reason>` (end_turn, max_tokens, stop_sequence,
                        tool_use, pause_turn, refusal, model_context_window_exceeded,
                        stopped, interrupted, truncated, error, other); `cnb-demo` badge
`cnb-error`             error card: `cnb-error-title`, `cnb-error-message`,
                        `cnb-error-hint`, `cnb-error-meta` (request id)
`cnb-muted`             secondary text
======================  ================================================================
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..protocol.blocks import Block
from .sanitize import clean, defuse_tex_links, escape

__all__ = [
    "attributes", "block_seconds", "card", "el", "esc", "json_pre", "json_text", "label",
    "link", "markdown_html", "seconds", "short", "sub", "timer", "title",
]

_PREVIEW_LIMIT = 120


def esc(text: str) -> str:
    """Text into HTML: escaped, TeX `\\href` / `\\url` targets defused first (a page's
    math renderer may typeset any text it finds, e.g. JupyterLab's MathJax in outputs)."""
    return escape(defuse_tex_links(text, markup=False))


def attributes(attrs: Mapping[str, object]) -> str:
    """` name="value"` pairs, escaped; True → bare attribute, None / False → left out."""
    out = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{esc(str(value))}"')
    return "".join(out)


def el(tag: str, inner: str = "", **attrs: object) -> str:
    """An element; `inner` must already be safe HTML. `class_` is written `class`, and
    other underscores in names become dashes (`data_status` → `data-status`)."""
    named = {("class" if k == "class_" else k.replace("_", "-")): v for k, v in attrs.items()}
    return f"<{tag}{attributes(named)}>{inner}</{tag}>"


def card(kind: str, head: str, body: str = "", *, details: bool = True,
          open: bool = False) -> str:
    """A card: `<details>` with its head as `<summary>`, or a `<div>` with a fixed head."""
    inner = el("div", body, class_="cnb-card-body") if body else ""
    if details:
        return el("details", el("summary", head) + inner, class_=f"cnb-card {kind}",
                   open=open)
    return el("div", el("div", head, class_="cnb-card-head") + inner,
               class_=f"cnb-card {kind}")


def title(text: str) -> str:
    return el("span", esc(text), class_="cnb-card-title")


def sub(text: str) -> str:
    """Secondary head text; the leading space keeps it apart from the title where no
    stylesheet applies (GitHub, nbconvert): flex layout ignores it."""
    return " " + el("span", esc(short(text)), class_="cnb-card-sub") if text else ""


def label(text: str) -> str:
    return el("div", esc(text), class_="cnb-label")


def short(text: str, limit: int = _PREVIEW_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def json_pre(value: Any, extra_class: str = "") -> str:
    return el("pre", esc(json_text(value)), class_=f"cnb-json {extra_class}".strip())


def seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    return f"{minutes} min {rest:02d} s"


def block_seconds(block: Block) -> float | None:
    if block.finished_at is None or not block.started_at:
        return None
    return max(0.0, block.finished_at - block.started_at)


def timer(started_monotonic: float | None) -> str:
    """A ticking elapsed-time span; `data-t0` is the start in epoch seconds (the widget's
    clock offset is computed against the kernel's `time.time()`)."""
    t0 = None
    if started_monotonic:
        t0 = f"{time.time() - (time.monotonic() - started_monotonic):.3f}"
    return el("span", "", class_="cnb-timer", data_running=True, data_t0=t0)


def markdown_html(text: str) -> str:
    """Model Markdown → safe HTML (the renderer escapes raw HTML; `clean` is the 2nd layer)."""
    from .markdown import render_once

    return clean(render_once(text)) if text else ""


def link(inner: str, url: str, **attrs: object) -> str:
    """A link we build: `url` must have passed `safe_url`."""
    return el("a", inner, href=url, target="_blank", rel="noopener noreferrer nofollow",
               **attrs)
