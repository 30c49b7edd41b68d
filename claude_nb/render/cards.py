"""Card HTML for every block kind, and the static HTML / Markdown / plain text of a reply.

Every piece of model-derived data goes through `claude_nb.render.sanitize`: `escape` for text,
`markdown.render` + `clean` for Markdown, `safe_url` for links we build. Block kinds are
dispatched through tables (`_HTML`, `_MARKDOWN`, `_PLAIN`, `_KINDS`: block class → value);
a class missing from a table falls back along its MRO, ending at the neutral unknown card.

Live cards (`block_html(block, live=True)`, block not done) are skeletons that view ops
fill: `.cnb-md` receives `md` ops (empty: text arrives as deltas), `pre.cnb-json-live`
receives `json` ops (it holds the raw input JSON streamed so far); a `tool` / `final` op
replaces the whole card. Front ends act only on `data-cnb-*` attributes (approve / deny
buttons), which `clean` strips from anything model-derived, so they cannot be forged.

CSS classes (stable; js/view.css styles the widget, static.css saved outputs):

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
`cnb-badge`             status badge with `data-status` and `cnb-status-<status>`:
                        waiting, running, done, error, stopped, awaiting_approval,
                        denied, incomplete, not_run, other
`cnb-actions`           approve / deny buttons (`data-cnb-action`, `data-cnb-id`)
`cnb-tool-result`       result area; holds `cnb-result` (`cnb-result-error`), with
                        `cnb-output` (text `<pre>`), `cnb-output-html` (cleaned HTML),
                        `cnb-output-image` (`<img>`), `cnb-json`
`cnb-server-result`     server tool result card; `cnb-web-results` (web search list
                        `cnb-web-list`, `cnb-url`, `cnb-page-age`), `cnb-server-error`
`cnb-unknown`           unknown block / event card
`cnb-notice`            retry notice
`cnb-user`              a user prompt (history)
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

import functools
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .sanitize import clean, data_image_src, defuse_tex_links, escape, safe_url
from ..protocol.transcript import (
    Block, RedactedThinkingBlock, ServerToolResultBlock, ServerToolUseBlock, TextBlock,
    ThinkingBlock, ToolUseBlock, Turn, UnknownBlock, Usage,
)

__all__ = [
    "block_html", "live_block_html", "kind_of", "tool_card_html", "tool_result_html",
    "tool_result_text", "tool_status_html", "footer_html", "error_html", "error_card",
    "retry_html", "empty_notice_html", "unknown_event_html", "turn_html", "turn_markdown",
    "turn_plain", "reply_html", "reply_markdown", "reply_plain", "reply_footer_html", "history_html",
    "history_markdown", "user_html", "notice_html",
    "history_plain", "static_style", "wrap_static", "Citations", "Source", "ToolView",
    "Totals", "STATUS_LABELS", "STOP_WORDS",
]

STATUS_LABELS: dict[str, str] = {
    "waiting": "waiting", "running": "running", "done": "done", "error": "error",
    "stopped": "stopped", "awaiting_approval": "awaiting approval", "denied": "denied",
    "incomplete": "incomplete", "not_run": "not run", "timeout": "timed out",
}

STOP_WORDS: dict[str, str] = {
    "end_turn": "complete", "max_tokens": "cut at max_tokens",
    "stop_sequence": "stop sequence", "tool_use": "tool call",
    "pause_turn": "paused (pause_turn)", "refusal": "refused",
    "model_context_window_exceeded": "context window full", "stopped": "stopped by user",
    "interrupted": "interrupted", "truncated": "truncated (no message_stop)",
    "error": "ended by error",
}

EMPTY_ANSWER = "The answer was empty; it is not kept in the conversation."

# A server tool's input key worth showing beside its name.
_HINT_KEYS = {"web_search": "query", "web_fetch": "url"}

_SERVER_ERROR_WORDS = {
    "max_uses_exceeded": "the tool's use limit for this request was reached",
    "too_many_requests": "rate limited",
    "invalid_input": "invalid input",
    "query_too_long": "query too long",
    "unavailable": "the service is unavailable",
}

_ERROR_MESSAGE_LIMIT = 2000
_PREVIEW_LIMIT = 120
_SECRET = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")


# ---------------------------------------------------------------- small helpers


def _esc(text: str) -> str:
    """Text into HTML: escaped, TeX `\\href` / `\\url` targets defused first (a page's
    math renderer may typeset any text it finds, e.g. JupyterLab's MathJax in outputs)."""
    return escape(defuse_tex_links(text, markup=False))


def _attrs(attrs: Mapping[str, object]) -> str:
    """` name="value"` pairs, escaped; True → bare attribute, None / False → left out."""
    out = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{_esc(str(value))}"')
    return "".join(out)


def _el(tag: str, inner: str = "", **attrs: object) -> str:
    """An element; `inner` must already be safe HTML. `class_` is written `class`, and
    other underscores in names become dashes (`data_status` → `data-status`)."""
    named = {("class" if k == "class_" else k.replace("_", "-")): v for k, v in attrs.items()}
    return f"<{tag}{_attrs(named)}>{inner}</{tag}>"


def _card(kind: str, head: str, body: str = "", *, details: bool = True,
          open: bool = False) -> str:
    """A card: `<details>` with its head as `<summary>`, or a `<div>` with a fixed head."""
    inner = _el("div", body, class_="cnb-card-body") if body else ""
    if details:
        return _el("details", _el("summary", head) + inner, class_=f"cnb-card {kind}",
                   open=open)
    return _el("div", _el("div", head, class_="cnb-card-head") + inner,
               class_=f"cnb-card {kind}")


def _title(text: str) -> str:
    return _el("span", _esc(text), class_="cnb-card-title")


def _sub(text: str) -> str:
    return _el("span", _esc(_short(text)), class_="cnb-card-sub") if text else ""


def _label(text: str) -> str:
    return _el("div", _esc(text), class_="cnb-label")


def _short(text: str, limit: int = _PREVIEW_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _json_pre(value: Any, extra_class: str = "") -> str:
    return _el("pre", _esc(_json_text(value)), class_=f"cnb-json {extra_class}".strip())


def _seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    minutes, rest = divmod(round(s), 60)
    return f"{minutes} min {rest:02d} s"


def _block_seconds(block: Block) -> float | None:
    if block.finished_at is None or not block.started_at:
        return None
    return max(0.0, block.finished_at - block.started_at)


def _timer(started_monotonic: float | None) -> str:
    """A ticking elapsed-time span; `data-t0` is the start in epoch seconds (the widget's
    clock offset is computed against the kernel's `time.time()`)."""
    t0 = None
    if started_monotonic:
        t0 = f"{time.time() - (time.monotonic() - started_monotonic):.3f}"
    return _el("span", "", class_="cnb-timer", data_running=True, data_t0=t0)


def _markdown_html(text: str) -> str:
    """Model Markdown → safe HTML (the renderer escapes raw HTML; `clean` is the 2nd layer)."""
    from .markdown import render_once

    return clean(render_once(text)) if text else ""


@functools.cache
def _static_css() -> str:
    return Path(__file__).with_name("static.css").read_text(encoding="utf-8")


def static_style() -> str:
    """The `<style>` for static outputs, scoped under `.cnb-turn.cnb-static`."""
    return f"<style>{_static_css()}</style>"


def wrap_static(html: str) -> str:
    """Safe card HTML as a standalone static output (scoped style included)."""
    return _el("div", static_style() + html, class_="cnb-turn cnb-static")


# ---------------------------------------------------------------- citations


@dataclass
class Source:
    """One distinct cited source; `url` already passed `safe_url` (or is None)."""

    number: int
    title: str
    url: str | None
    quotes: list[str] = field(default_factory=list)


class Citations:
    """Numbers cited sources across a turn: one number per distinct source (by URL, else by
    document), in order of first citation."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self._by_key: dict[tuple[Any, ...], Source] = {}
        self._listed = 0

    def number(self, citation: Mapping[str, Any]) -> int:
        url = safe_url(citation.get("url")) or safe_url(citation.get("source"))
        title = str(citation.get("title") or citation.get("document_title") or url
                    or _document_name(citation))
        key: tuple[Any, ...] = ("url", url) if url else (
            "doc", citation.get("type"), citation.get("document_index"), title)
        source = self._by_key.get(key)
        if source is None:
            source = Source(len(self.sources) + 1, title, url)
            self._by_key[key] = source
            self.sources.append(source)
        quote = str(citation.get("cited_text") or "").strip()
        if quote and quote not in source.quotes:
            source.quotes.append(quote)
        return source.number

    def take(self) -> list[Source]:
        """Sources numbered since the last `take` (for a Sources list after each text run)."""
        new = self.sources[self._listed:]
        self._listed = len(self.sources)
        return new


def _document_name(citation: Mapping[str, Any]) -> str:
    index = citation.get("document_index")
    return f"Document {index + 1}" if isinstance(index, int) else "Source"


# Citation marks travel through the Markdown renderer as private-use characters and are
# replaced after cleaning (only in text, never inside a tag).
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_STRIP_MARKS = {ord(_MARK_OPEN): None, ord(_MARK_CLOSE): None}
_MARK = re.compile(f"(<[^>]*>)|{_MARK_OPEN}(\\d+){_MARK_CLOSE}")


def _cite_numbers(block: TextBlock, cites: Citations) -> list[int]:
    numbers = [cites.number(c) for c in block.citations if isinstance(c, Mapping)]
    return list(dict.fromkeys(numbers))


def _with_marks(text: str, numbers: Sequence[int], mark: Callable[[int], str]) -> str:
    """Append citation marks at the end of the block's text, before trailing whitespace."""
    if not numbers:
        return text
    body = text.rstrip()
    return body + "".join(mark(n) for n in numbers) + text[len(body):]


def _link(inner: str, url: str, **attrs: object) -> str:
    """A link we build: `url` must have passed `safe_url`."""
    return _el("a", inner, href=url, target="_blank", rel="noopener noreferrer nofollow",
               **attrs)


def _cite_html(source: Source) -> str:
    label = f"[{source.number}]"
    inner = (_link(label, source.url, title=source.title) if source.url
             else _el("span", label, title=source.title))
    return _el("sup", inner, class_="cnb-cite")


def _replace_marks(fragment: str, cites: Citations) -> str:
    if _MARK_OPEN not in fragment and _MARK_CLOSE not in fragment:
        return fragment  # no citation marks: skip the per-tag regex callbacks

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:  # a tag: drop marks that landed in an attribute
            return match.group(1).translate(_STRIP_MARKS)
        number = int(match.group(2))
        ok = 0 < number <= len(cites.sources)
        return _cite_html(cites.sources[number - 1]) if ok else ""

    return _MARK.sub(one, fragment).translate(_STRIP_MARKS)


def _sources_html(sources: Sequence[Source]) -> str:
    if not sources:
        return ""
    items = []
    for s in sources:
        title = (_link(_esc(s.title), s.url, class_="cnb-source-title") if s.url
                 else _el("span", _esc(s.title), class_="cnb-source-title"))
        quotes = "".join(_el("blockquote", _esc(q), class_="cnb-quote") for q in s.quotes)
        items.append(_el("li", title + quotes, value=s.number))
    return _el("div", _label("Sources") + _el("ol", "".join(items)), class_="cnb-sources")


# ---------------------------------------------------------------- tool state


@dataclass(frozen=True)
class ToolView:
    """What the session knows about a tool call: status, timing and its rendered result.

    `result_html` must come from `tool_result_html` (it is inserted as is); `result_text`
    is its Markdown / plain-text counterpart. `started_at` (monotonic) makes a running
    card's timer tick from the right moment.
    """

    status: str = "waiting"
    elapsed: float | None = None
    result_html: str = ""
    result_text: str = ""
    started_at: float | None = None

    @classmethod
    def from_result(cls, content: Any, *, is_error: bool = False, status: str | None = None,
                    elapsed: float | None = None) -> ToolView:
        return cls(status or ("error" if is_error else "done"), elapsed,
                   tool_result_html(content, is_error), tool_result_text(content))

    @classmethod
    def from_outcome(cls, status: str, outcome: Any = None, *,
                     started_at: float | None = None) -> ToolView:
        """From a `claude_nb.run.tools.ToolOutcome` (or None while there is no result)."""
        if outcome is None:
            return cls(status, started_at=started_at)
        shown = outcome.display if outcome.display is not None else outcome.content
        return cls.from_result(shown, is_error=bool(outcome.is_error), status=status,
                               elapsed=outcome.elapsed)


def tool_status_html(status: str, elapsed: float | None = None, *,
                     started_at: float | None = None) -> str:
    """The status badge of a tool card, then its time: fixed (`elapsed`) or, while running,
    a ticking `cnb-timer`."""
    key = status if status in STATUS_LABELS else "other"
    badge = _el("span", _esc(STATUS_LABELS.get(status, status)),
                class_=f"cnb-badge cnb-status-{key}", data_status=key)
    if elapsed is not None:
        return badge + " " + _el("span", _seconds(elapsed), class_="cnb-timer")
    return badge + (" " + _timer(started_at) if status == "running" else "")


def _approval_html(tool_use_id: str) -> str:
    buttons = "".join(
        _el("button", label, type="button", class_=cls, data_cnb_action=action,
            data_cnb_id=tool_use_id)
        for action, label, cls in (("approve", "Run", "cnb-btn cnb-primary"),
                                   ("deny", "Deny", "cnb-btn")))
    return _el("div", buttons, class_="cnb-actions")


# ---------------------------------------------------------------- tool results

_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def _bundle_html_part(bundle: Mapping[str, Any]) -> str | None:
    html = bundle.get("text/html")
    return _el("div", clean(html), class_="cnb-output-html") if isinstance(html, str) else None


def _bundle_image_part(bundle: Mapping[str, Any]) -> str | None:
    alt = bundle.get("text/plain")
    for mime in _IMAGE_TYPES:
        src = data_image_src(mime, bundle[mime]) if mime in bundle else None
        if src is not None:  # built from decoded, checked bytes: only base64 characters
            return f'<img class="cnb-output-image" src="{src}"{_attrs({"alt": alt})}>'
    return None


def _bundle_markdown_part(bundle: Mapping[str, Any]) -> str | None:
    text = bundle.get("text/markdown")
    return _el("div", _markdown_html(text), class_="cnb-md") if isinstance(text, str) else None


def _bundle_json_part(bundle: Mapping[str, Any]) -> str | None:
    return _json_pre(bundle["application/json"]) if "application/json" in bundle else None


def _bundle_plain_part(bundle: Mapping[str, Any]) -> str | None:
    text = bundle.get("text/plain")
    return _el("pre", _esc(str(text)), class_="cnb-output") if text is not None else None


# Richest first, as Jupyter front ends choose.
_BUNDLE_PARTS = (_bundle_html_part, _bundle_image_part, _bundle_markdown_part,
                 _bundle_json_part, _bundle_plain_part)
_BUNDLE_KEYS = frozenset({"text/html", "text/markdown", "text/plain", "application/json",
                          *_IMAGE_TYPES})


def _is_bundle(content: Any) -> bool:
    return (isinstance(content, Mapping) and bool(content)
            and all(isinstance(k, str) and "/" in k for k in content)
            and not _BUNDLE_KEYS.isdisjoint(content))


def _result_body(content: Any) -> str:
    if isinstance(content, str):
        return _el("pre", _esc(content), class_="cnb-output")
    if _is_bundle(content):
        for part in _BUNDLE_PARTS:
            html = part(content)
            if html is not None:
                return html
    return _json_pre(content)


def tool_result_html(content: Any, is_error: bool = False) -> str:
    """A tool's result: text in `<pre>`, a mimebundle (`text/html` cleaned, an image as a
    checked `data:` `<img>`, Markdown rendered, plain text), or other data as JSON."""
    cls = "cnb-result cnb-result-error" if is_error else "cnb-result"
    return _el("div", _label("Error" if is_error else "Result") + _result_body(content),
               class_=cls)


def tool_result_text(content: Any) -> str:
    """Plain-text form of a tool result (for text/markdown and text/plain outputs)."""
    if isinstance(content, str):
        return content
    if _is_bundle(content):
        for key in ("text/plain", "text/markdown"):
            if isinstance(content.get(key), str):
                return str(content[key])
        return "[" + ", ".join(sorted(content)) + "]"
    return _json_text(content)


# ---------------------------------------------------------------- rendering context


@dataclass
class _Ctx:
    live: bool = False
    cites: Citations = field(default_factory=Citations)
    list_sources: bool = True
    tools: Mapping[str, ToolView] = field(default_factory=dict)
    results: Mapping[str, ServerToolResultBlock] | None = None  # None: turn not known
    ended: bool = False  # the turn is over (finished, stopped or failed)

    def tool_status(self, block: ToolUseBlock) -> ToolView:
        view = self.tools.get(block.id)
        if view is not None:
            return view
        if self.live and not block.done:
            server = isinstance(block, ServerToolUseBlock)
            return ToolView("running" if server else "waiting", started_at=block.started_at)
        if block.input is None:
            return ToolView("incomplete")
        if isinstance(block, ServerToolUseBlock):
            return ToolView(self._server_status(block))
        return ToolView("not_run" if self.ended else "waiting")

    def _server_status(self, block: ServerToolUseBlock) -> str:
        if self.results is None:
            return "done"
        result = self.results.get(block.id)
        if result is None:
            return "stopped" if self.ended else "running"
        return "error" if result.is_error else "done"


# ---------------------------------------------------------------- block cards (HTML)


def _text_html(block: TextBlock, ctx: _Ctx) -> str:
    return _text_run_html([block], ctx)


def _text_run_html(blocks: Sequence[TextBlock], ctx: _Ctx) -> str:
    """Consecutive text blocks render as one Markdown document (the API splits answers at
    citation boundaries, often mid-sentence), with citation marks at block ends."""
    if ctx.live and not all(b.done for b in blocks):
        return _el("div", _el("div", "", class_="cnb-md"), class_="cnb-text")
    parts = [_with_marks(b.text.translate(_STRIP_MARKS), _cite_numbers(b, ctx.cites),
                         lambda n: f"{_MARK_OPEN}{n}{_MARK_CLOSE}")
             for b in blocks]
    body = _replace_marks(_markdown_html("".join(parts)), ctx.cites)
    sources = _sources_html(ctx.cites.take()) if ctx.list_sources else ""
    return _el("div", _el("div", body, class_="cnb-md") + sources, class_="cnb-text")


def _thinking_html(block: ThinkingBlock, ctx: _Ctx) -> str:
    seconds = _block_seconds(block)
    took = _seconds(seconds) if seconds is not None else ""
    if ctx.live and not block.done:
        head = _el("span", "", class_="cnb-spinner") + _title("Thinking…") + _timer(
            block.started_at)
        return _card("cnb-thinking cnb-thinking-live", head, _el("div", "", class_="cnb-md"),
                     open=True)
    if not block.thinking and block.signature:
        return _card("cnb-thinking cnb-thinking-omitted",
                     _title("Thinking omitted by the API") + _sub(took), details=False)
    head = _title(f"Thought for {took}" if took else "Thinking")
    if block.thinking and not block.signature:  # stopped or cut: never sent back
        head += _sub("cut off, not sent back")
    return _card("cnb-thinking", head, _el("div", _markdown_html(block.thinking),
                                          class_="cnb-md"))


def _redacted_html(block: RedactedThinkingBlock, ctx: _Ctx) -> str:
    return _card("cnb-redacted", _title("Redacted thinking")
                 + _sub("encrypted, sent back unchanged"), details=False)


def _tool_input_html(block: ToolUseBlock, live: bool) -> str:
    if live:
        return _el("pre", _esc(block.input_json), class_="cnb-json cnb-json-live")
    if block.input is not None:
        return _json_pre(block.input)
    if not block.input_json:
        return ""
    return (_el("div", "incomplete: the input never parsed", class_="cnb-incomplete")
            + _el("pre", _esc(block.input_json), class_="cnb-json cnb-json-partial"))


def _tool_preview(block: ToolUseBlock) -> str:
    """The query / URL of a server tool, else the input as compact JSON."""
    if block.input is None:
        return ""
    key = _HINT_KEYS.get(block.name)
    value = block.input.get(key) if key else None
    if isinstance(value, str) and value:
        return f"“{value}”"
    return json.dumps(block.input, ensure_ascii=False, default=str) if block.input else ""


def _tool_html(block: ToolUseBlock, ctx: _Ctx) -> str:
    live = ctx.live and not block.done
    view = ctx.tool_status(block)
    server = isinstance(block, ServerToolUseBlock)
    head = ((_el("span", "server tool", class_="cnb-tool-kind") + " " if server else "")
            + _title(block.name or block.type) + _sub(_tool_preview(block)) + " "
            + tool_status_html(view.status, view.elapsed, started_at=view.started_at))
    approval = view.status == "awaiting_approval"
    body = ((_approval_html(block.id) if approval else "")
            + _el("div", _label("Input") + _tool_input_html(block, live), class_="cnb-tool-input")
            + _el("div", view.result_html, class_="cnb-tool-result"))
    return _card("cnb-tool cnb-server-tool" if server else "cnb-tool", head, body,
                 open=live or approval)


def _server_tool_name(block: ServerToolResultBlock) -> str:
    return block.type.removesuffix("_tool_result") or block.type


def _server_error_html(block: ServerToolResultBlock) -> str:
    code = str(block.content.get("error_code", "unknown"))
    words = _SERVER_ERROR_WORDS.get(code)
    head = (_title(f"{_server_tool_name(block)} error") + " " + _el("code", _esc(code))
            + (_sub(words) if words else ""))
    return _card("cnb-server-result cnb-server-error", head, details=False)


def _web_result_item(item: Any) -> str:
    if not isinstance(item, Mapping):
        return _el("li", _json_pre(item))
    url = safe_url(item.get("url"))
    title = _esc(str(item.get("title") or item.get("url") or "untitled"))
    link = _link(title, url) if url else title
    shown_url = _esc(str(item.get("url") or ""))
    age = item.get("page_age")
    return _el("li", link + " " + _el("span", shown_url, class_="cnb-url")
               + (" " + _el("span", _esc(str(age)), class_="cnb-page-age") if age else ""))


def _web_search_results_html(block: ServerToolResultBlock) -> str:
    items = block.content if isinstance(block.content, list) else [block.content]
    count = f"{len(items)} result" + ("" if len(items) == 1 else "s")
    body = _el("ol", "".join(_web_result_item(i) for i in items), class_="cnb-web-list")
    return _card("cnb-server-result cnb-web-results", _title("web_search") + _sub(count), body)


def _generic_server_result_html(block: ServerToolResultBlock) -> str:
    return _card("cnb-server-result", _title(block.type), _json_pre(block.content))


_SERVER_RESULTS: dict[str, Callable[[ServerToolResultBlock], str]] = {
    "web_search_tool_result": _web_search_results_html,
}


def _server_result_html(block: ServerToolResultBlock, ctx: _Ctx) -> str:
    if block.is_error:
        return _server_error_html(block)
    return _SERVER_RESULTS.get(block.type, _generic_server_result_html)(block)


def _unknown_html(block: Block, ctx: _Ctx) -> str:
    raw = block.raw if isinstance(block, UnknownBlock) else {"type": block.type}
    deltas = block.deltas if isinstance(block, UnknownBlock) else []
    data = {"block": raw, "deltas": deltas} if deltas else raw
    return _card("cnb-unknown", _title("Unknown block type") + _sub(block.type),
                 _json_pre(data))


_Renderer = Callable[[Any, _Ctx], str]

_HTML: dict[type[Block], _Renderer] = {
    TextBlock: _text_html,
    ThinkingBlock: _thinking_html,
    RedactedThinkingBlock: _redacted_html,
    ToolUseBlock: _tool_html,
    ServerToolUseBlock: _tool_html,
    ServerToolResultBlock: _server_result_html,
    UnknownBlock: _unknown_html,
    Block: _unknown_html,
}

_KINDS: dict[type[Block], str] = {
    TextBlock: "text", ThinkingBlock: "thinking", RedactedThinkingBlock: "redacted_thinking",
    ToolUseBlock: "tool_use", ServerToolUseBlock: "server_tool_use",
    ServerToolResultBlock: "server_tool_result", UnknownBlock: "unknown", Block: "unknown",
}


def _lookup(table: Mapping[type[Block], Any], block: Block) -> Any:
    return next(table[cls] for cls in type(block).__mro__ if cls in table)


def kind_of(block: Block) -> str:
    """The view-op `kind` of a block (docs/architecture.md)."""
    return str(_lookup(_KINDS, block))


def block_html(block: Block, *, live: bool = False, cites: Citations | None = None,
               tool: ToolView | None = None) -> str:
    """The card of one block: final, or (`live=True`, block not done) the skeleton that view
    ops fill. With `cites` shared across a turn, citation numbers continue and no Sources
    list is appended (the caller shows `cites.sources`); without, the block numbers its
    own and lists them. `tool` is the session's state of a tool call."""
    tools = {block.id: tool} if tool is not None and isinstance(block, ToolUseBlock) else {}
    ctx = _Ctx(live=live, cites=cites or Citations(), list_sources=cites is None, tools=tools)
    return str(_lookup(_HTML, block)(block, ctx))


def live_block_html(block: Block) -> str:
    return block_html(block, live=True)


def tool_card_html(block: ToolUseBlock, status: str, outcome: Any = None, *,
                   started_at: float | None = None) -> str:
    """A tool card for a session `ToolStatus` event (`outcome`: a `ToolOutcome` or None)."""
    return block_html(block, tool=ToolView.from_outcome(status, outcome, started_at=started_at))


# ---------------------------------------------------------------- footer


@dataclass(frozen=True)
class Totals:
    """Footer figures for one turn or the turns of a tool loop."""

    model: str = ""
    usage: Usage = field(default_factory=Usage)
    ttft: float | None = None
    duration: float | None = None
    tokens_per_second: float | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    truncated: bool = False
    turns: int = 1

    @classmethod
    def of(cls, turns: Turn | Sequence[Turn]) -> Totals:
        seq = [turns] if isinstance(turns, Turn) else list(turns)
        if not seq:
            return cls(turns=0)
        usage = Usage()
        for t in seq:
            usage.add(t.usage)
        first, last = seq[0], seq[-1]
        span = sum(t.finished_at - t.first_token_at for t in seq
                   if t.finished_at is not None and t.first_token_at is not None)
        duration = (last.finished_at - first.requested_at
                    if last.finished_at is not None else None)
        return cls(model=next((t.model for t in reversed(seq) if t.model), ""),
                   usage=usage, ttft=first.ttft, duration=duration,
                   tokens_per_second=usage.output_tokens / span if span > 0 else None,
                   stop_reason=last.stop_reason, stop_sequence=last.stop_sequence,
                   truncated=last.truncated, turns=len(seq))


FooterSource = Union[Turn, Sequence[Turn], Totals]


def _stop_key(t: Totals, stopped: bool | str, failed: bool) -> str | None:
    if stopped:
        return "interrupted" if stopped == "interrupt" else "stopped"
    if failed:
        return "error"
    if t.truncated:
        return "truncated"
    return t.stop_reason


def _server_use_words(usage: Usage) -> str:
    words = {"web_search_requests": "web search", "web_fetch_requests": "web fetch"}
    out = []
    for key, count in usage.server_tool_use.items():
        if count:
            name = words.get(key, key.removesuffix("_requests").replace("_", " "))
            out.append(f"{count} {name}" + ("es" if name.endswith("h") else "s") * (count > 1))
    return ", ".join(out)


def _footer_items(t: Totals, *, demo: bool, stopped: bool | str,
                  failed: bool) -> list[tuple[str, str]]:
    """(css class, text) pairs; the texts are plain (escaped by the HTML writer)."""
    items: list[tuple[str, str]] = [("cnb-badge cnb-demo", "demo")] if demo else []
    if t.model:
        items.append(("cnb-model", t.model))
    if t.turns:
        items.extend(_usage_items(t))
    key = _stop_key(t, stopped, failed)
    if key is not None:
        words = STOP_WORDS.get(key, key)
        if key == "stop_sequence" and t.stop_sequence:
            words += f" “{t.stop_sequence}”"
        items.append((f"cnb-stop cnb-stop-{key if key in STOP_WORDS else 'other'}", words))
    return items


def _usage_items(t: Totals) -> list[tuple[str, str]]:
    u = t.usage
    items = [("cnb-tokens", f"in {u.input_tokens:,} · out {u.output_tokens:,}")]
    cache = [f"{label} {n:,}" for label, n in (("cache read", u.cache_read_input_tokens),
                                               ("cache write", u.cache_creation_input_tokens)) if n]
    if cache:
        items.append(("cnb-cache", " · ".join(cache)))
    if server := _server_use_words(u):
        items.append(("cnb-server-use", server))
    timing = [f"{label} {_seconds(v)}" for label, v in (("TTFT", t.ttft), ("total", t.duration))
              if v is not None]
    if t.tokens_per_second is not None:
        timing.append(f"{t.tokens_per_second:.0f} tok/s")
    if timing:
        items.append(("cnb-timing", " · ".join(timing)))
    if t.turns > 1:
        items.append(("cnb-turns", f"{t.turns} turns"))
    return items


def _totals(source: FooterSource) -> Totals:
    return source if isinstance(source, Totals) else Totals.of(source)


def footer_html(source: FooterSource, *, demo: bool = False, stopped: bool | str = False,
                failed: bool = False) -> str:
    """Model, tokens, cache, server tool use, TTFT, duration, tok/s and the stop reason in
    words. `stopped`: True / "user" (Stop) or "interrupt" (kernel interrupt)."""
    spans = [_el("span", _esc(text), class_=cls) for cls, text in
             _footer_items(_totals(source), demo=demo, stopped=stopped, failed=failed)]
    return _el("div", " · ".join(spans), class_="cnb-footer")


def _footer_text(source: FooterSource, *, demo: bool, stopped: bool | str,
                 failed: bool) -> str:
    items = _footer_items(_totals(source), demo=demo, stopped=stopped, failed=failed)
    return " · ".join(text for _, text in items)


# ---------------------------------------------------------------- errors and notices


@dataclass(frozen=True)
class _ErrorInfo:
    title: str
    message: str
    request_id: str | None = None
    hint: str | None = None


def _redact(text: str) -> str:
    return _SECRET.sub("sk-ant-…", text)


def error_html(title: str, message: str, request_id: str | None = None,
               hint: str | None = None) -> str:
    """A one-screen error card; everything escaped, API keys redacted, long text cut."""
    message = _redact(str(message))
    if len(message) > _ERROR_MESSAGE_LIMIT:
        rest = len(message) - _ERROR_MESSAGE_LIMIT
        message = message[:_ERROR_MESSAGE_LIMIT] + f"… ({rest:,} more characters)"
    parts = [_el("div", _esc(_redact(str(title))), class_="cnb-error-title"),
             _el("div", _esc(message).replace("\n", "<br>"), class_="cnb-error-message")]
    if hint:
        parts.append(_el("div", _esc(_redact(str(hint))), class_="cnb-error-hint"))
    if request_id:
        parts.append(_el("div", "request id " + _el("code", _esc(str(request_id))),
                         class_="cnb-error-meta"))
    return _el("div", "".join(parts), class_="cnb-error", role="alert")


def _error_info(error: Any) -> _ErrorInfo:
    """A `ClaudeNBError` or other exception, a mapping or an object with title / message /
    request_id / hint, or a message string (never HTML)."""
    if isinstance(error, str):
        return _ErrorInfo("Error", error)
    get = error.get if isinstance(error, Mapping) else (lambda k: getattr(error, k, None))
    exc = isinstance(error, BaseException)
    title = get("title") or (type(error).__name__ if exc else "Error")
    message = get("message") or (str(error) if exc else "")
    request_id, hint = get("request_id"), get("hint")
    return _ErrorInfo(str(title), str(message), str(request_id) if request_id else None,
                      str(hint) if hint else None)


def error_card(error: Any) -> str:
    """The error card of an error value (see `_error_info` for what it accepts)."""
    info = _error_info(error)
    return error_html(info.title, info.message, info.request_id, info.hint)


def retry_html(error: Any, attempt: int, of: int, delay: float) -> str:
    """A notice that a failed request will be retried."""
    info = _error_info(error)
    countdown = _el("span", _esc(_seconds(delay)), class_="cnb-timer", data_running=True,
                    data_until=f"{time.time() + delay:.3f}")
    text = (f" (attempt {attempt} of {of}): "
            f"{_redact(info.title)}: {_redact(_short(info.message, 300))}")
    return _el("div", "Retrying in " + countdown + _esc(text), class_="cnb-notice",
               role="status")


def notice_html(text: str) -> str:
    """A neutral one-line notice (escaped)."""
    return _el("div", _esc(text), class_="cnb-notice", role="status")


def empty_notice_html() -> str:
    """Said when an answer arrived without any content (no block, or only empty text)."""
    return _el("div", _esc(EMPTY_ANSWER), class_="cnb-notice cnb-empty", role="status")


def unknown_event_html(event_type: str, raw: Any) -> str:
    """A neutral card for a stream event type this version does not know."""
    return _card("cnb-unknown", _title("Unknown event") + _sub(str(event_type)), _json_pre(raw))


# ---------------------------------------------------------------- whole turns and replies


def _runs(blocks: Sequence[Block]) -> Iterator[tuple[bool, list[Any]]]:
    """Consecutive text blocks grouped; every other block alone."""
    for is_text, group in itertools.groupby(blocks, key=lambda b: type(b) is TextBlock):
        if is_text:
            yield True, list(group)
        else:
            yield from ((False, [b]) for b in group)


def _render_blocks(turns: Sequence[Turn], ctx: _Ctx, run: Callable[[list[Any], _Ctx], str],
                   table: Mapping[type[Block], _Renderer]) -> list[str]:
    parts = []
    for turn in turns:
        for is_text, group in _runs(turn.blocks):
            if not is_text:
                parts.append(_lookup(table, group[0])(group[0], ctx))
            elif any(b.text.strip() for b in group):
                parts.append(run(group, ctx))
    return parts


@dataclass(frozen=True)
class _Doc:
    """What a static rendering of one or more turns needs."""

    turns: Sequence[Turn]
    footer: bool = True
    demo: bool = False
    stopped: bool | str = False
    error: Any = None
    tools: Mapping[str, ToolView] | None = None

    def ctx(self) -> _Ctx:
        results = {b.tool_use_id: b for t in self.turns for b in t.blocks
                   if isinstance(b, ServerToolResultBlock)}
        ended = bool(self.stopped) or self.error is not None or all(
            t.finished_at is not None for t in self.turns)
        return _Ctx(tools=self.tools or {}, results=results, ended=ended)

    @property
    def answered_empty(self) -> bool:
        """An answer that ended normally with nothing to show (callers check the blocks)."""
        return bool(self.turns) and self.error is None and not self.stopped

    def footer_flags(self) -> dict[str, Any]:
        return {"demo": self.demo, "stopped": self.stopped, "failed": self.error is not None}


def _doc_html(doc: _Doc, standalone: bool) -> str:
    parts = [static_style()] if standalone else []
    blocks = _render_blocks(doc.turns, doc.ctx(), _text_run_html, _HTML)
    parts += blocks
    parts += [unknown_event_html(u.type, u.raw) for t in doc.turns for u in t.unknown_events]
    if not blocks and doc.answered_empty:
        parts.append(empty_notice_html())
    if doc.error is not None:
        parts.append(error_card(doc.error))
    if doc.footer:
        parts.append(footer_html(list(doc.turns), **doc.footer_flags()))
    return _el("div", "".join(parts), class_="cnb-turn cnb-static" if standalone else "cnb-turn")


def turn_html(turn: Turn, *, footer: bool = True, demo: bool = False,
              stopped: bool | str = False, error: Any = None, standalone: bool = False,
              tools: Mapping[str, ToolView] | None = None) -> str:
    """The static HTML of a whole turn in `<div class="cnb-turn">`: blocks in order (text
    runs merged, citations numbered across the turn), then the error card, then the footer.

    `error`: an exception, a mapping / object with title, message, request_id, hint, or a
    message string (never HTML). `tools`: tool_use id → `ToolView`. `standalone` adds the
    scoped `<style>` for saved notebooks / nbconvert (and the class `cnb-static`).
    """
    return _doc_html(_Doc([turn], footer, demo, stopped, error, tools), standalone)


def _reply_doc(reply: Any, *, footer: bool = True, demo: bool = False) -> _Doc:
    """A `claude_nb.run.session.Reply`: all its turns, tool results, stop and error."""
    tools = {tid: ToolView.from_outcome(o.status, o) for tid, o in reply.tool_outcomes.items()}
    stopped = (reply.stop_reason_user or True) if reply.status == "stopped" else False
    return _Doc(list(reply.turns), footer, demo, stopped, reply.error, tools)


def reply_html(reply: Any, *, demo: bool = False, standalone: bool = False,
               footer: bool = True) -> str:
    """Static HTML of a whole reply (every turn of a tool loop, one footer with totals)."""
    return _doc_html(_reply_doc(reply, footer=footer, demo=demo), standalone)


def reply_footer_html(reply: Any, *, demo: bool = False) -> str:
    doc = _reply_doc(reply, demo=demo)
    return footer_html(list(doc.turns), **doc.footer_flags())


def _prompt_text(prompt: Any) -> str:
    """A user prompt (str or API content blocks) as text."""
    if isinstance(prompt, str):
        return prompt
    parts = []
    for block in prompt if isinstance(prompt, list) else [prompt]:
        kind = block.get("type") if isinstance(block, Mapping) else None
        parts.append(str(block.get("text", "")) if kind == "text" else f"[{kind or 'content'}]")
    return "\n".join(parts)


def user_html(prompt: Any) -> str:
    """The user's prompt as shown above its reply (escaped, never Markdown)."""
    return _el("div", _esc(_prompt_text(prompt)), class_="cnb-user")


def history_html(conversation: Any) -> str:
    """Every prompt and reply of a `Conversation`, as one standalone static output."""
    parts = []
    for reply in conversation.replies:
        parts.append(user_html(reply.prompt))
        parts.append(reply_html(reply, demo=bool(getattr(reply.backend, "demo", False))))
    return wrap_static("".join(parts))


def history_markdown(conversation: Any) -> str:
    """The conversation as a Markdown document (the chat's export)."""
    parts = []
    for reply in conversation.replies:
        parts.append("**You:**\n\n" + _prompt_text(reply.prompt))
        parts.append("**Claude:**\n\n" + reply_markdown(reply))
    return "\n\n---\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- Markdown output
#
# text/markdown outputs are rendered WITHOUT sanitising by front ends that pick them (raw
# HTML runs in a trusted session), so model Markdown is defanged first: outside code, `<`
# and `&` become entities (no raw HTML, no entity-spelled schemes), `![` loses its image
# meaning (no remote image loads), javascript: / vbscript: / data: / file: link
# destinations are broken with a zero-width space and TeX \href / \url targets defused.
# Fenced and indented code (found with markdown-it) and single-line code spans outside
# table-like lines stay verbatim.

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!|~$])")
_MD_BAD_SCHEME = re.compile(r"(?i)((?:\]\(|\]:)\s*)(javascript|vbscript|data|file)(?=\\?:)")
_ZWSP = "\u200b"
_STRIP_MD_MARKS = {0: None, 1: None}


@functools.cache
def _md_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _md_escape(text: str) -> str:
    """Model text as literal inline Markdown (one line, no syntax, no HTML, no TeX link)."""
    text = defuse_tex_links(" ".join(str(text).split()), markup=False)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("&", "&amp;").replace("<", "&lt;")


def _code_lines(tokens: Sequence[Any], lines: Sequence[str]) -> tuple[set[int], str | None]:
    """Line numbers holding code content, and the fence to append if one is left open."""
    code: set[int] = set()
    unclosed = None
    for tok in tokens:
        if tok.map is None or tok.type not in ("fence", "code_block"):
            continue
        start, end = tok.map
        if tok.type == "code_block":
            code.update(range(start, end))
            continue
        last = lines[end - 1].strip(" \t>") if end - 1 > start else ""
        closed = bool(last) and set(last) == {tok.markup[0]} and len(last) >= len(tok.markup)
        code.update(range(start + 1, end - 1 if closed else end))
        if not closed and end >= len(lines) and tok.level == 0:
            unclosed = tok.markup
    return code, unclosed


def _defang_inline(line: str) -> str:
    """Escape `<`, `&` and `![` outside single-line code spans."""
    if "<" not in line and "&" not in line and "![" not in line:
        return line  # the loop below would copy every character unchanged
    spans_ok = "|" not in line  # GFM tables split cells before code spans: no exemptions
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:  # `\<` and `\&` become the entity alone
            nxt = line[i + 1]
            out.append(_defang_char(nxt) if nxt in "<&" else line[i:i + 2])
            i += 2
        elif ch == "`" and spans_ok:
            run = n - i - len(line[i:].lstrip("`"))
            close = _closing_run(line, i + run, run)
            end = i + run if close is None else close + run
            out.append(line[i:end])
            i = end
        else:
            out.append(_defang_char(ch) + (_ZWSP if line.startswith("![", i) else ""))
            i += 1
    return "".join(out)


def _defang_char(ch: str) -> str:
    return {"<": "&lt;", "&": "&amp;"}.get(ch, ch)


def _closing_run(line: str, start: int, length: int) -> int | None:
    for m in re.finditer(r"`+", line[start:]):
        if len(m.group(0)) == length:
            return start + m.start()
    return None


def _defang_md(text: str) -> str:
    """Model Markdown made safe for renderers that allow raw HTML (see above)."""
    lines = text.split("\n")
    code, unclosed = _code_lines(_md_parser().parse(text), lines)
    out = "\n".join(line if i in code else _defang_inline(line) for i, line in enumerate(lines))
    out = _MD_BAD_SCHEME.sub(lambda m: m.group(1) + m.group(2) + _ZWSP, out)
    out = defuse_tex_links(out, markup=False)
    return out + (f"\n{unclosed}\n" if unclosed else "")


def _md_fence(text: str, info: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _md_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def _md_source(s: Source) -> str:
    title = _md_escape(s.title)
    link = f"[{title}]({_md_url(s.url)})" if s.url else title
    quotes = "".join(f"\n   > {_md_escape(q)}" for q in s.quotes)
    return f"{s.number}. {link}{quotes}"


def _text_run_md(blocks: Sequence[TextBlock], ctx: _Ctx) -> str:
    """Defang the run with control-character marks in it, then write them as `\\[n\\]`
    (escaped, so a mark can never become a link's text after defanging)."""
    parts = [_with_marks(b.text.translate(_STRIP_MD_MARKS), _cite_numbers(b, ctx.cites),
                         lambda n: f"\x00{n}\x01")
             for b in blocks]
    body = re.sub("\x00(\\d+)\x01", r"\\[\1\\]", _defang_md("".join(parts)))
    sources = ctx.cites.take()
    if sources:
        body += "\n\n**Sources**\n\n" + "\n".join(_md_source(s) for s in sources)
    return body


def _thinking_md(block: ThinkingBlock, ctx: _Ctx) -> str:
    seconds = _block_seconds(block)
    if not block.thinking and block.signature:
        return "> *Thinking omitted by the API*"
    head = f"> **Thought for {_seconds(seconds)}**" if seconds is not None else "> **Thinking**"
    return head + ("\n>\n" + _quote(_defang_md(block.thinking)) if block.thinking else "")


def _redacted_md(block: RedactedThinkingBlock, ctx: _Ctx) -> str:
    return "> *Redacted thinking (encrypted, sent back unchanged)*"


def _tool_md(block: ToolUseBlock, ctx: _Ctx) -> str:
    view = ctx.tool_status(block)
    kind = "Server tool" if isinstance(block, ServerToolUseBlock) else "Tool call"
    status = STATUS_LABELS.get(view.status, view.status)
    head = f"**{kind}: {_md_escape(block.name or block.type)}** ({_md_escape(status)})"
    data = (_json_text(block.input) if block.input is not None
            else block.input_json + "\n(incomplete: the input never parsed)")
    out = f"{head}\n\n{_md_fence(data, 'json')}"
    if view.result_text:
        out += f"\n\nResult:\n\n{_md_fence(view.result_text)}"
    return out


def _server_result_md(block: ServerToolResultBlock, ctx: _Ctx) -> str:
    name = _md_escape(_server_tool_name(block))
    if block.is_error:
        return f"*{name} error: {_md_escape(str(block.content.get('error_code', 'unknown')))}*"
    if block.type != "web_search_tool_result" or not isinstance(block.content, list):
        return f"*{_md_escape(block.type)}*\n\n{_md_fence(_json_text(block.content), 'json')}"
    lines = [f"*{name} results:*", ""]
    for item in block.content:
        item = item if isinstance(item, Mapping) else {"title": str(item)}
        url = safe_url(item.get("url"))
        title = _md_escape(str(item.get("title") or item.get("url") or "untitled"))
        link = f"[{title}]({_md_url(url)})" if url else title
        age = f" ({_md_escape(str(item['page_age']))})" if item.get("page_age") else ""
        lines.append(f"- {link}{age}")
    return "\n".join(lines)


def _unknown_md(block: Block, ctx: _Ctx) -> str:
    return f"*Unknown block type: {_md_escape(block.type)}*"


_MARKDOWN: dict[type[Block], _Renderer] = {
    TextBlock: lambda b, ctx: _text_run_md([b], ctx),
    ThinkingBlock: _thinking_md,
    RedactedThinkingBlock: _redacted_md,
    ToolUseBlock: _tool_md,
    ServerToolUseBlock: _tool_md,
    ServerToolResultBlock: _server_result_md,
    UnknownBlock: _unknown_md,
    Block: _unknown_md,
}


def _doc_markdown(doc: _Doc) -> str:
    parts = _render_blocks(doc.turns, doc.ctx(), _text_run_md, _MARKDOWN)
    if not parts and doc.answered_empty:
        parts.append("*" + _md_escape(EMPTY_ANSWER) + "*")
    if doc.error is not None:
        info = _error_info(doc.error)
        line = f"**{_md_escape(_redact(info.title))}:** {_md_escape(_redact(info.message))}"
        if info.request_id:
            line += f" (request id {_md_escape(info.request_id)})"
        parts.append(line)
    if doc.footer:
        parts.append("*" + _md_escape(_footer_text(list(doc.turns), **doc.footer_flags())) + "*")
    return "\n\n".join(p for p in parts if p)


def turn_markdown(turn: Turn, *, footer: bool = True, demo: bool = False,
                  stopped: bool | str = False, error: Any = None,
                  tools: Mapping[str, ToolView] | None = None) -> str:
    """text/markdown of a turn: the answer's Markdown (defanged, see above), thinking as a
    blockquote, tool calls as fenced JSON, sources, error and footer lines."""
    return _doc_markdown(_Doc([turn], footer, demo, stopped, error, tools))


def reply_markdown(reply: Any, *, demo: bool = False, footer: bool = True) -> str:
    return _doc_markdown(_reply_doc(reply, footer=footer, demo=demo))


# ---------------------------------------------------------------- plain text


def _text_run_plain(blocks: Sequence[TextBlock], ctx: _Ctx) -> str:
    text = "".join(_with_marks(b.text, _cite_numbers(b, ctx.cites), lambda n: f"[{n}]")
                   for b in blocks)
    sources = ctx.cites.take()
    if sources:
        text += "\n\nSources:\n" + "\n".join(
            f"[{s.number}] {s.title}" + (f" <{s.url}>" if s.url else "") for s in sources)
    return text


def _thinking_plain(block: ThinkingBlock, ctx: _Ctx) -> str:
    seconds = _block_seconds(block)
    if not block.thinking and block.signature:
        return "[thinking omitted by the API]"
    return f"[thought for {_seconds(seconds)}]" if seconds is not None else "[thinking]"


def _tool_plain(block: ToolUseBlock, ctx: _Ctx) -> str:
    view = ctx.tool_status(block)
    data = (json.dumps(block.input, ensure_ascii=False, default=str) if block.input is not None
            else block.input_json + " (incomplete)")
    out = f"[{block.type}: {block.name} {data}] ({STATUS_LABELS.get(view.status, view.status)})"
    return out + (f"\n{view.result_text}" if view.result_text else "")


def _server_result_plain(block: ServerToolResultBlock, ctx: _Ctx) -> str:
    if block.is_error:
        return f"[{_server_tool_name(block)} error: {block.content.get('error_code', 'unknown')}]"
    if block.type != "web_search_tool_result" or not isinstance(block.content, list):
        return f"[{block.type}]"
    items = [i for i in block.content if isinstance(i, Mapping)]
    return "[web_search results]\n" + "\n".join(
        f"- {i.get('title') or ''} <{i.get('url') or ''}>" for i in items)


def _unknown_plain(block: Block, ctx: _Ctx) -> str:
    return f"[unknown block type {block.type}]"


_PLAIN: dict[type[Block], _Renderer] = {
    TextBlock: lambda b, ctx: _text_run_plain([b], ctx),
    ThinkingBlock: _thinking_plain,
    RedactedThinkingBlock: lambda b, ctx: "[redacted thinking]",
    ToolUseBlock: _tool_plain,
    ServerToolUseBlock: _tool_plain,
    ServerToolResultBlock: _server_result_plain,
    UnknownBlock: _unknown_plain,
    Block: _unknown_plain,
}


def _doc_plain(doc: _Doc) -> str:
    parts = _render_blocks(doc.turns, doc.ctx(), _text_run_plain, _PLAIN)
    if not parts and doc.answered_empty:
        parts.append(EMPTY_ANSWER)
    if doc.error is not None:
        info = _error_info(doc.error)
        parts.append(f"Error: {_redact(info.title)}: {_redact(info.message)}"
                     + (f" (request id {info.request_id})" if info.request_id else ""))
    if doc.footer:
        parts.append(_footer_text(list(doc.turns), **doc.footer_flags()))
    return "\n\n".join(p for p in parts if p)


def turn_plain(turn: Turn, *, footer: bool = True, demo: bool = False,
               stopped: bool | str = False, error: Any = None,
               tools: Mapping[str, ToolView] | None = None) -> str:
    """text/plain of a turn: the answer verbatim, other blocks as bracketed one-liners."""
    return _doc_plain(_Doc([turn], footer, demo, stopped, error, tools))


def reply_plain(reply: Any, *, demo: bool = False, footer: bool = True) -> str:
    return _doc_plain(_reply_doc(reply, footer=footer, demo=demo))


def history_plain(conversation: Any) -> str:
    parts = []
    for reply in conversation.replies:
        parts.append("> " + _prompt_text(reply.prompt).replace("\n", "\n> "))
        parts.append(reply_plain(reply))
    return "\n\n".join(parts)
