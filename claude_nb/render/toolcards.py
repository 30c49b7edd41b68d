"""Tool-call cards (client and server tools: status badge, timer, input, result, approval
buttons) and server tool result cards (web search results, server tool errors).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ..protocol.blocks import (
    ServerToolResultBlock,
    ServerToolUseBlock,
    ToolUseBlock,
)
from . import html as h
from .context import Ctx
from .sanitize import safe_url

__all__ = [
    "STATUS_LABELS", "server_result_html", "server_tool_name", "tool_html", "tool_status_html",
]

STATUS_LABELS: dict[str, str] = {
    "waiting": "waiting", "running": "running", "done": "done", "error": "error",
    "stopped": "stopped", "awaiting_approval": "awaiting approval", "denied": "denied",
    "incomplete": "incomplete", "not_run": "not run", "timeout": "timed out",
}

# A server tool's input key worth showing beside its name.
_HINT_KEYS = {"web_search": "query", "web_fetch": "url"}

_SERVER_ERROR_WORDS = {
    "max_uses_exceeded": "the tool's use limit for this request was reached",
    "too_many_requests": "rate limited",
    "invalid_input": "invalid input",
    "query_too_long": "query too long",
    "unavailable": "the service is unavailable",
}

def tool_status_html(status: str, elapsed: float | None = None, *,
                     started_at: float | None = None) -> str:
    """The status badge of a tool card, then its time: fixed (`elapsed`) or, while running,
    a ticking `cnb-timer`."""
    key = status if status in STATUS_LABELS else "other"
    badge = h.el("span", h.esc(STATUS_LABELS.get(status, status)),
                class_=f"cnb-badge cnb-status-{key}", data_status=key)
    if elapsed is not None:
        return badge + " " + h.el("span", h.seconds(elapsed), class_="cnb-timer")
    return badge + (" " + h.timer(started_at) if status == "running" else "")


def _approval_html(tool_use_id: str) -> str:
    buttons = "".join(
        h.el("button", label, type="button", class_=cls, data_cnb_action=action,
            data_cnb_id=tool_use_id)
        for action, label, cls in (("approve", "Run", "cnb-btn cnb-primary"),
                                   ("deny", "Deny", "cnb-btn")))
    return h.el("div", buttons, class_="cnb-actions")


def _tool_input_html(block: ToolUseBlock, live: bool) -> str:
    if live:
        return h.el("pre", h.esc(block.input_json), class_="cnb-json cnb-json-live")
    if block.input is not None:
        return h.json_pre(block.input)
    if not block.input_json:
        return ""
    return (h.el("div", "incomplete: the input never parsed", class_="cnb-incomplete")
            + h.el("pre", h.esc(block.input_json), class_="cnb-json cnb-json-partial"))


def _tool_preview(block: ToolUseBlock) -> str:
    """The query / URL of a server tool, else the input as compact JSON."""
    if block.input is None:
        return ""
    key = _HINT_KEYS.get(block.name)
    value = block.input.get(key) if key else None
    if isinstance(value, str) and value:
        return f"“{value}”"
    return json.dumps(block.input, ensure_ascii=False, default=str) if block.input else ""


def tool_html(block: ToolUseBlock, ctx: Ctx) -> str:
    live = ctx.live and not block.done
    view = ctx.tool_status(block)
    server = isinstance(block, ServerToolUseBlock)
    head = ((h.el("span", "server tool", class_="cnb-tool-kind") + " " if server else "")
            + h.title(block.name or block.type) + h.sub(_tool_preview(block)) + " "
            + tool_status_html(view.status, view.elapsed, started_at=view.started_at))
    approval = view.status == "awaiting_approval"
    body = ((_approval_html(block.id) if approval else "")
            + h.el("div", h.label("Input") + _tool_input_html(block, live), class_="cnb-tool-input")
            + h.el("div", view.result_html, class_="cnb-tool-result"))
    return h.card("cnb-tool cnb-server-tool" if server else "cnb-tool", head, body,
                 open=live or approval)


def server_tool_name(block: ServerToolResultBlock) -> str:
    return block.type.removesuffix("_tool_result") or block.type


def _server_error_html(block: ServerToolResultBlock) -> str:
    code = str(block.content.get("error_code", "unknown"))
    words = _SERVER_ERROR_WORDS.get(code)
    head = (h.title(f"{server_tool_name(block)} error") + " " + h.el("code", h.esc(code))
            + (h.sub(words) if words else ""))
    return h.card("cnb-server-result cnb-server-error", head, details=False)


def _web_result_item(item: Any) -> str:
    if not isinstance(item, Mapping):
        return h.el("li", h.json_pre(item))
    url = safe_url(item.get("url"))
    title = h.esc(str(item.get("title") or item.get("url") or "untitled"))
    link = h.link(title, url) if url else title
    shown_url = h.esc(str(item.get("url") or ""))
    age = item.get("page_age")
    return h.el("li", link + " " + h.el("span", shown_url, class_="cnb-url")
               + (" " + h.el("span", h.esc(str(age)), class_="cnb-page-age") if age else ""))


def _web_search_results_html(block: ServerToolResultBlock) -> str:
    items = block.content if isinstance(block.content, list) else [block.content]
    count = f"{len(items)} result" + ("" if len(items) == 1 else "s")
    body = h.el("ol", "".join(_web_result_item(i) for i in items), class_="cnb-web-list")
    return h.card("cnb-server-result cnb-web-results", h.title("web_search") + h.sub(count), body)


def _generic_server_result_html(block: ServerToolResultBlock) -> str:
    return h.card("cnb-server-result", h.title(block.type), h.json_pre(block.content))


_SERVER_RESULTS: dict[str, Callable[[ServerToolResultBlock], str]] = {
    "web_search_tool_result": _web_search_results_html,
}


def server_result_html(block: ServerToolResultBlock, ctx: Ctx) -> str:
    if block.is_error:
        return _server_error_html(block)
    return _SERVER_RESULTS.get(block.type, _generic_server_result_html)(block)
