"""Tool lists: the API `tools` parameter, finding a tool by name, `--tools f,g` lookup."""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol.tooltypes import Tool, ToolDefinitionError
from .toolschema import as_tool, is_sdk_tool

__all__ = ["find", "resolve_names", "tools_param"]


def tools_param(tools: Iterable[Tool | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The API `tools` list: `Tool`s as definitions, dicts (server tools) as they are."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in tools:
        param = t.param() if isinstance(t, Tool) else dict(t)
        name = param.get("name")
        if name in seen:
            raise ToolDefinitionError(f"two tools are named {name!r}; tool names must be unique")
        seen.add(name)  # type: ignore[arg-type]
        out.append(param)
    return out


def find(tools: Iterable[Any], name: str) -> Tool | None:
    """The `Tool` called `name`, or None (server tool dicts are never returned)."""
    return next((t for t in tools if isinstance(t, Tool) and t.name == name), None)


def resolve_names(names: str, namespace: Mapping[str, Any],
                  hidden: Mapping[str, Any] | None = None) -> list[Tool]:
    """Tools for a `--tools f,g` option: names separated by commas or spaces, looked up in
    `namespace` (dotted names like `mod.f` follow attributes; a list or tuple of tools
    expands). Raises `ToolDefinitionError` naming every missing name, with a near miss
    among the user's own tools and functions (never what the host put in the namespace:
    `hidden`, e.g. IPython's `user_ns_hidden` with its `open`, `exit`, `get_ipython`)."""
    wanted = [n for n in re.split(r"[,\s]+", names.strip()) if n]
    missing = [n for n in wanted if _lookup(n, namespace) is _MISSING]
    if missing:
        host = hidden or {}
        known = [k for k, v in namespace.items()
                 if not k.startswith("_") and host.get(k, _MISSING) is not v and _could_be_tool(v)]
        hints = {n: difflib.get_close_matches(n.split(".")[0], known, n=1) for n in missing}
        listed = ", ".join(n + (f" (did you mean {h[0]!r}?)" if h else "")
                           for n, h in hints.items())
        raise ToolDefinitionError(
            f"unknown tool name(s): {listed}; define them in the notebook first")
    tools: list[Tool] = []
    for n in wanted:
        obj = _lookup(n, namespace)
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        for item in items:
            try:
                t = as_tool(item)
            except TypeError as e:
                raise ToolDefinitionError(f"{n!r} is not a tool: {e}") from None
            same = find(tools, t.name)
            if same is None:
                tools.append(t)
            elif same.fn is not t.fn:
                raise ToolDefinitionError(f"two different tools are named {t.name!r}")
    return tools


_MISSING = object()


def _could_be_tool(value: Any) -> bool:
    """A tool, or a Python function (not a class, an instance or a builtin), or a list of them."""
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_could_be_tool(v) for v in value)
    while isinstance(value, functools.partial):
        value = value.func
    return isinstance(value, Tool) or is_sdk_tool(value) or inspect.isfunction(value)


def _lookup(dotted: str, namespace: Mapping[str, Any]) -> Any:
    head, *rest = dotted.split(".")
    obj = namespace.get(head, _MISSING)
    for attr in rest:
        if obj is _MISSING:
            break
        obj = getattr(obj, attr, _MISSING)
    return obj

