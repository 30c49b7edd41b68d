"""Structured output shown as a collapsible tree (parsing the answer is
`claude_nb.protocol.jsonanswer`)."""

from __future__ import annotations

import json
from typing import Any

from .sanitize import escape

__all__ = ["tree_html"]

_MAX_ITEMS = 200


def _leaf(value: Any) -> str:
    kind = "null" if value is None else type(value).__name__
    text = escape(json.dumps(value, ensure_ascii=False))
    return f'<span class="cnb-jt-{escape(kind)}">{text}</span>'


def tree_html(value: Any, *, depth: int = 0) -> str:
    """Nested `<details>` for objects and arrays (open near the top), escaped leaves."""
    if isinstance(value, dict):
        items = list(value.items())
        label = f"{{…}} {len(items)} key{'s' if len(items) != 1 else ''}"
        rows = [f'<li><span class="cnb-jt-key">{escape(str(k))}</span>: '
                f'{tree_html(v, depth=depth + 1)}</li>'
                for k, v in items[:_MAX_ITEMS]]
    elif isinstance(value, list):
        label = f"[…] {len(value)} item{'s' if len(value) != 1 else ''}"
        rows = [f"<li>{tree_html(v, depth=depth + 1)}</li>" for v in value[:_MAX_ITEMS]]
    else:
        return _leaf(value)
    more = len(value) - _MAX_ITEMS
    if more > 0:
        rows.append(f'<li class="cnb-muted">… {more} more</li>')
    opened = " open" if depth < 2 else ""
    return (f'<details class="cnb-jt"{opened}><summary>{escape(label)}</summary>'
            f'<ul>{"".join(rows)}</ul></details>')
