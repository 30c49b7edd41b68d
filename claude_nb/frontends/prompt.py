"""Prompt text from a cell: `{name}` interpolation of notebook variables, braces-safe.

Only `{name}` / `{name.attr}` where the name exists in the namespace is replaced; `{{` and
`}}` are literal braces; anything else in braces (code, JSON, f-strings) stays as written.
Nothing is evaluated, so a prompt can never run code or crash on braces.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = ["interpolate"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_MISSING = object()


def _lookup(path: str, namespace: Mapping[str, Any]) -> Any:
    head, *rest = path.split(".")
    value = namespace.get(head, _MISSING)
    for attr in rest:
        if value is _MISSING or attr.startswith("_"):
            return _MISSING
        value = getattr(value, attr, _MISSING)
    return value


def interpolate(text: str, namespace: Mapping[str, Any], *, limit: int = 200_000) -> str:
    """Replace known `{name}`s by `str(value)` (each capped at `limit` characters)."""

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = _lookup(match.group(1), namespace)
        if value is _MISSING:
            return token
        rendered = str(value)
        if len(rendered) > limit:
            rendered = rendered[:limit] + f"\n…[truncated {len(rendered) - limit} characters]"
        return rendered

    return _TOKEN.sub(sub, text)
