"""The context preview card: "Context: N items · ~T tokens", collapsed, listing each item
that went with the prompt (name, kind, size, truncated, sent as written, what was redacted).

It reads items by duck type (`claude_nb.context.items.ContextItem`'s fields), so the renderer
layer does not import the context package. Every string is notebook data: escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .html import card, el, esc, title

__all__ = ["ASK_ID", "ask_button_html", "context_card_html", "context_card_text"]


class Item(Protocol):
    """What the card reads of an item (`ContextItem` has these, read-only)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def literal(self) -> bool: ...
    @property
    def note(self) -> str: ...
    @property
    def redactions(self) -> tuple[str, ...]: ...
    @property
    def budget_cut(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def tokens(self) -> int: ...


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _status(item: Item) -> list[str]:
    parts = []
    if item.literal:
        parts.append("sent as written (not a variable; nothing is evaluated)")
    if item.budget_cut:
        parts.append(f"truncated by the context budget ({item.budget_cut:,} characters cut)")
    elif item.truncated:
        parts.append("truncated")
    if item.redactions:
        counts: dict[str, int] = {}
        for what in item.redactions:
            counts[what] = counts.get(what, 0) + 1
        parts.append("redacted: " + ", ".join(f"{w}" + (f" ×{n}" if n > 1 else "")
                                              for w, n in counts.items()))
    return parts


def _summary(items: Sequence[Item], tokens: int, counted: int | None) -> str:
    n = len(items)
    total = f"{counted:,} tokens (counted by the API, not sent)" if counted is not None \
        else f"~{tokens:,} tokens"
    return f"Context: {n} item{'s' * (n != 1)} · {total}"


def context_card_text(items: Sequence[Item], tokens: int, counted: int | None = None,
                      prompt_redactions: Sequence[str] = ()) -> str:
    """The card as plain text (terminal IPython, text/plain of the output)."""
    lines = [_summary(items, tokens, counted)]
    for item in items:
        status = "; ".join(_status(item))
        lines.append(f"  {item.name} · {item.kind} · {_size(item.size)}"
                     + (f" · {item.note}" if item.note else "") + (f" · {status}" if status
                                                                   else ""))
    if prompt_redactions:
        lines.append("  prompt · redacted: " + ", ".join(prompt_redactions))
    return "\n".join(lines)


def context_card_html(items: Sequence[Item], tokens: int, counted: int | None = None,
                      prompt_redactions: Sequence[str] = ()) -> str:
    """A collapsed card with one row per item (every cell escaped)."""
    head = el("tr", "".join(el("th", esc(h)) for h in ("name", "kind", "size", "~tokens",
                                                         "details")))
    rows = []
    for item in items:
        details = "; ".join(([item.note] if item.note else []) + _status(item))
        attrs: dict[str, Any] = {"data_truncated": "true" if item.truncated else None,
                                 "data_literal": "true" if item.literal else None,
                                 "data_redacted": "true" if item.redactions else None}
        rows.append(el("tr", "".join(el("td", esc(v)) for v in (
            item.name, item.kind, _size(item.size),
            "—" if item.literal else f"{item.tokens:,}", details)), class_="cnb-context-item",
            **attrs))
    if prompt_redactions:
        rows.append(el("tr", "".join(el("td", esc(v)) for v in (
            "prompt", "text", "", "", "redacted: " + ", ".join(prompt_redactions))),
            class_="cnb-context-item", data_redacted="true"))
    body = el("table", el("thead", head) + el("tbody", "".join(rows)), class_="cnb-context-table")
    return card("cnb-context", title(_summary(items, tokens, counted)), body)


ASK_ID = "ask-claude"


def ask_button_html(error_line: str) -> str:
    """The small row under a failing cell's traceback: an "Ask Claude" button (an `approve`
    action on `ASK_ID`, which the live view already sends) and what it would send."""
    button = el("button", "Ask Claude", type="button", class_="cnb-btn cnb-primary",
                data_cnb_action="approve", data_cnb_id=ASK_ID,
                title="Send this cell, the exception and its traceback to Claude, asking "
                      "for the cause and a fix")
    return el("div", button + " " + el("span", esc(error_line), class_="cnb-card-sub"),
              class_="cnb-actions cnb-ask-error")
