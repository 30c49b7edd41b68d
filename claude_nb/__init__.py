"""claude_nb: stream Claude into Jupyter, with a Stop button that really closes the stream."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    """`%load_ext claude_nb`: register `%%claude` / `%claude`."""
    from .magic import load

    load(ipython)


def unload_ipython_extension(ipython):  # type: ignore[no-untyped-def]
    from .magic import unload

    unload(ipython)
