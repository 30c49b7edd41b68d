"""Structured output: parse (partial) JSON answers and show them as a collapsible tree.

While streaming, the text is parsed in jiter's partial mode (the parser the SDK itself uses
for tool input), so the tree grows as values arrive; at the end the text must parse whole.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..protocol.errors import OutputError
from .sanitize import escape

__all__ = ["parse_partial", "parse_final", "tree_html", "JSON_INSTRUCTION"]

JSON_INSTRUCTION = ("Respond with a single valid JSON value only: no prose before or after it "
                    "and no Markdown code fence.")

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)
_MAX_ITEMS = 200


def _unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_partial(text: str) -> Any:
    """The value so far, or None when nothing parses yet."""
    from jiter import from_json

    body = _unfenced(text).strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    if not body:
        return None
    try:
        return from_json(body.encode(), partial_mode="trailing-strings")
    except ValueError:
        return None


def parse_final(text: str, schema: Any = None) -> Any:
    """The answer as Python data; a pydantic model class as `schema` validates into it."""
    body = _unfenced(text).strip()
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise OutputError(f"The answer is not valid JSON ({exc}). The text is kept as it came.",
                          title="Invalid JSON answer",
                          hint="Run again, or lower the temperature / add a schema.") from None
    validate = getattr(schema, "model_validate", None)
    if validate is not None:
        try:
            return validate(value)
        except ValueError as exc:
            raise OutputError(f"The JSON does not match {schema.__name__}: {exc}",
                              title="JSON does not match the schema") from None
    return value


def _leaf(value: Any) -> str:
    kind = "null" if value is None else type(value).__name__
    return f'<span class="cnb-jt-{escape(kind)}">{escape(json.dumps(value, ensure_ascii=False))}</span>'


def tree_html(value: Any, *, depth: int = 0) -> str:
    """Nested `<details>` for objects and arrays (open near the top), escaped leaves."""
    if isinstance(value, dict):
        items = list(value.items())
        label = f"{{…}} {len(items)} key{'s' if len(items) != 1 else ''}"
        rows = [f'<li><span class="cnb-jt-key">{escape(str(k))}</span>: {tree_html(v, depth=depth + 1)}</li>'
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
