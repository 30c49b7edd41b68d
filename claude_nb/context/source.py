"""Functions, classes and modules: their source when Python can find it (IPython keeps cell
sources in `linecache`, so notebook-defined functions work), else signature and docstring."""

from __future__ import annotations

import inspect
import types
from typing import Any

from .items import Rendered

__all__ = ["RENDERERS"]

MAX_SOURCE = 20_000


def _header(obj: Any) -> str:
    kind = "module" if inspect.ismodule(obj) else "class" if inspect.isclass(obj) else "function"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "?")
    module = getattr(obj, "__module__", None)
    where = f" (module {module})" if module and module not in ("__main__", name) else ""
    return f"{kind} {name}{where}"


def render_source(obj: Any) -> Rendered:
    header = _header(obj)
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError):
        text = ""
    if not text:
        try:
            signature = f"{getattr(obj, '__name__', '?')}{inspect.signature(obj)}"
        except (TypeError, ValueError):
            signature = ""
        doc = inspect.getdoc(obj) or ""
        body = "\n".join(p for p in (signature, doc and f'"""{doc}"""') if p)
        return Rendered("source", f"{header}, source not available\n{body}".rstrip(),
                        note="no source")
    cut = len(text) > MAX_SOURCE
    if cut:
        text = text[:MAX_SOURCE] + f"\n…[source cut: {len(text) - MAX_SOURCE:,} more characters]"
    return Rendered("source", f"{header}:\n```python\n{text.rstrip()}\n```", truncated=cut,
                    note=f"{text.count(chr(10)) + 1} lines")


RENDERERS: list[tuple[Any, Any]] = [
    (types.FunctionType, render_source), (types.MethodType, render_source),
    (types.ModuleType, render_source), (type, render_source),
    (types.BuiltinFunctionType, render_source),
]
