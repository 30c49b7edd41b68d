"""claude_nb: stream Claude into Jupyter, with a Stop button that really closes the stream."""

from __future__ import annotations

from typing import Any

from .run.backend import set_api_key
from .protocol.errors import ClaudeNBError
from .run.session import Conversation, Reply
from .protocol.tooltypes import Tool
from .run.toolschema import tool

__version__ = "0.1.0"

__all__ = ["Conversation", "Reply", "Tool", "tool", "ClaudeNBError", "set_api_key", "Chat",
           "map", "__version__", "load_ipython_extension", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    """`claude_nb.Chat` without importing widgets (and IPython) for plain scripts;
    `claude_nb.map` (many prompts at once) loaded on first use."""
    if name == "Chat":
        from .frontends.chat import Chat

        return Chat
    if name == "map":
        from .bulk import map

        return map
    raise AttributeError(f"module 'claude_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext claude_nb`: register `%%claude` / `%claude`."""
    from .frontends.magic import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .frontends.magic import unload

    unload(ipython)
