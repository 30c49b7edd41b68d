"""Notebook context for prompts: `{name}` rendered by the value's type, the last error, the
last cells, redacted and fitted to a budget. Extend with `register(type_or_name, fn)`.

Sits beside the front ends (it reads live notebook objects); imports only `protocol`.
"""

from __future__ import annotations

from .items import ContextItem, Rendered
from .registry import register

__all__ = ["ContextItem", "Rendered", "register"]
