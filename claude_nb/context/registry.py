"""Choosing a context renderer by the value's type, like IPython's display formatters.

Renderers are registered by type or by qualified type name ("pandas.DataFrame",
"pandas.core.frame.DataFrame"), so optional libraries (pandas, polars, numpy, matplotlib,
PIL) are never imported here: a name is matched against each class of the value's MRO,
by its full `module.qualname` and by `top_package.Name`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .items import Rendered

__all__ = ["Renderer", "register", "render_value", "renderer_for"]

Renderer = Callable[[Any], "Rendered | str"]

_by_type: dict[type, Renderer] = {}
_by_name: dict[str, Renderer] = {}
_builtins_loaded = False


def register(type_or_name: type | str, fn: Renderer) -> None:
    """Render values of `type_or_name` (a class, or its qualified name) with `fn(value)`,
    which returns a `Rendered` or plain text. Later registrations win."""
    if isinstance(type_or_name, str):
        _by_name[type_or_name] = fn
    else:
        _by_type[type_or_name] = fn


def _names(cls: type) -> tuple[str, str]:
    module = getattr(cls, "__module__", "") or ""
    return f"{module}.{cls.__qualname__}", f"{module.partition('.')[0]}.{cls.__name__}"


def renderer_for(value: Any) -> Renderer | None:
    """The most specific renderer along the value's MRO (None: the generic one applies)."""
    _load_builtins()
    for cls in type(value).__mro__:
        fn = _by_type.get(cls)
        if fn is not None:
            return fn
        full, short = _names(cls)
        fn = _by_name.get(full) or _by_name.get(short)
        if fn is not None:
            return fn
    return None


def render_value(value: Any) -> Rendered:
    """Render any value: its registered renderer, else the generic size-capped one. A
    renderer that fails falls back to the generic rendering, noting why."""
    from .generic import render_generic

    fn = renderer_for(value)
    if fn is None:
        return render_generic(value)
    try:
        out = fn(value)
    except Exception as exc:  # a user's or a library's renderer must not break the prompt
        return replace(render_generic(value),
                       note=f"renderer failed ({type(exc).__name__}); generic text sent")
    return out if isinstance(out, Rendered) else Rendered("value", str(out))


def _load_builtins() -> None:
    """Register the bundled renderers once (they import nothing optional themselves)."""
    global _builtins_loaded
    if _builtins_loaded:
        return
    from . import arrays, exceptions, frames, images, source

    defaults: list[tuple[type | str, Renderer]] = [
        ("os._Environ", _environment), *frames.RENDERERS, *arrays.RENDERERS,
        *images.RENDERERS, *exceptions.RENDERERS,
        *source.RENDERERS]
    for key, fn in defaults:
        store: dict[Any, Renderer] = _by_name if isinstance(key, str) else _by_type
        store.setdefault(key, fn)  # a user's earlier registration wins
    _builtins_loaded = True  # after: a concurrent first call registers twice, harmlessly


def _environment(value: object) -> Rendered:
    """`{os.environ}`: environment variables hold keys; they are never read into context."""
    return Rendered("environment", "[redacted: environment variables are never sent]",
                    redactions=("environment variables",))
