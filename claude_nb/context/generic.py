"""Everything else: a readable, size-capped rendering of dicts, lists and other objects.

Containers are copied to a bounded shape first (at most `ITEMS` entries per level, `DEPTH`
levels, long strings and reprs cut), with values under secret-looking keys replaced by a
visible mark, then pretty-printed: the cost and the size are bounded by the caps, not by
the value.
"""

from __future__ import annotations

import pprint
import reprlib
from collections.abc import Mapping
from itertools import islice
from typing import Any

from ..protocol.redact import secret_name
from .items import Rendered

__all__ = ["INLINE_MAX", "render_generic"]

ITEMS, DEPTH, STRING, OTHER = 50, 4, 2_000, 1_000
MAX_TEXT = 8_000
INLINE_MAX = 200  # a one-line value this short goes into the prompt text itself
_SCALARS = (int, float, complex, bool, type(None))


class _Mark:
    """Prints as its text (no quotes) inside a pretty-printed container."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _State:
    def __init__(self) -> None:
        self.cut = False
        self.redacted: list[str] = []


_short = reprlib.Repr()
_short.maxother = _short.maxstring = OTHER


def _bounded(value: Any, depth: int, state: _State) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        if len(value) > STRING:
            state.cut = True
            return value[:STRING] + f"…[{len(value) - STRING:,} more characters]"
        return value
    if depth >= DEPTH and isinstance(value, (Mapping, list, tuple, set, frozenset)):
        state.cut = True
        return _Mark(f"<{type(value).__name__} of {len(value):,}>")
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in islice(value.items(), ITEMS):
            if isinstance(key, str) and secret_name(key):
                state.redacted.append(f"value of key {key!r}")
                out[key] = _Mark(f"[redacted value of {key!r}]")
            else:
                out[_bounded(key, depth + 1, state)] = _bounded(item, depth + 1, state)
        if len(value) > ITEMS:
            state.cut = True
            out[_Mark("…")] = _Mark(f"{len(value) - ITEMS:,} more items")
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_bounded(v, depth + 1, state) for v in islice(value, ITEMS)]
        if len(value) > ITEMS:
            state.cut = True
            items.append(_Mark(f"…{len(value) - ITEMS:,} more"))
        return tuple(items) if isinstance(value, tuple) else items
    text = _short.repr(value)
    state.cut |= text.endswith("...>") or "..." in text[-8:]
    return _Mark(text)


def render_generic(value: Any) -> Rendered:
    """A scalar or short string as is; containers pretty-printed within the caps; any other
    object by its repr (cut)."""
    state = _State()
    if isinstance(value, str):
        kind, text = "str", _bounded(value, 0, state)
    elif isinstance(value, _SCALARS):
        kind, text = type(value).__name__, str(value)
    else:
        kind = type(value).__name__
        shaped = _bounded(value, 0, state)
        text = pprint.pformat(shaped, width=100, sort_dicts=False) \
            if not isinstance(shaped, _Mark) else shaped.text
    if len(text) > MAX_TEXT:
        state.cut = True
        text = text[:MAX_TEXT] + f"\n…[{len(text) - MAX_TEXT:,} more characters]"
    size = f"{len(value):,} items" if isinstance(value, (Mapping, list, tuple, set,
                                                         frozenset)) else \
        f"{len(value):,} characters" if isinstance(value, str) and state.cut else ""
    return Rendered(kind, text, truncated=state.cut, note=size,
                    redactions=tuple(state.redacted))
