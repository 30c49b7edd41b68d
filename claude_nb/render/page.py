"""A conversation as one self-contained HTML page (the HTML export).

The saved-output HTML of every turn (`static.history_html`: cards, sanitised Markdown, the
footer) inside a page with the full card stylesheet in its head: no scripts, no external
resources (remote images are already click-to-open links), key-shaped strings redacted.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..protocol.redact import redact
from . import html as h
from .static import history_html, static_style

__all__ = ["conversation_page"]

_PAGE_CSS = ("body{max-width:54rem;margin:2rem auto;padding:0 1rem;"
             "font:15px/1.55 system-ui,-apple-system,'Segoe UI',sans-serif}"
             "h1{font-size:1.3em;margin:0}.cnb-page-meta{opacity:.7;font-size:.85em;"
             "margin:.2em 0 1.5em}.cnb-user{font-weight:600;white-space:pre-wrap;"
             "margin:1.4em 0 .4em;padding:.4em .7em;border-left:3px solid rgba(128,128,128,.5)}")


def conversation_page(conversation: Any, title: str = "Conversation with Claude") -> str:
    """The page's HTML (a complete document)."""
    model = getattr(getattr(conversation, "options", None), "model", "") or ""
    turns = sum(1 for r in conversation.replies if r.status != "pending")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{turns} turn{'s' * (turns != 1)} · {model} · exported {when} by claude_nb"
    body = (h.el("h1", h.esc(title)) + h.el("div", h.esc(meta), class_="cnb-page-meta")
            + history_html(conversation))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{h.esc(title)}</title>{static_style(body)}<style>{_PAGE_CSS}</style>"
            "</head>"
            f"<body>{body}</body></html>\n")
    return redact(page)
