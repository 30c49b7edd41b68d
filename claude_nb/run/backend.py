"""Where requests go: the real API when a key is set, else the labelled offline demo.

Resolved on every request, so a key set later (environment, `set_api_key()`, the widget's key
field) switches to the real API without a restart. The key lives only in this process's
memory and the environment; it is never rendered, stored in widget state or logged.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Backend", "resolve", "set_api_key", "demo_server"]

_lock = threading.Lock()
_key: str | None = None
_demo: Any = None


@dataclass(frozen=True)
class Backend:
    base_url: str | None
    demo: bool
    api_key: str = field(repr=False, default="")

    def __repr__(self) -> str:  # never show the key, even by accident
        return f"Backend(base_url={self.base_url!r}, demo={self.demo})"


def set_api_key(key: str | None = None) -> None:
    """Use this key for the real API from now on; asks with getpass when not given."""
    global _key
    if key is None:
        import getpass

        key = getpass.getpass("Anthropic API key (not echoed, not saved): ")
    _key = key.strip() or None


def demo_server() -> Any:
    """The in-process loopback server that answers in demo mode (started once)."""
    global _demo
    with _lock:
        if _demo is None:
            from ..demo.backend import make_demo_server

            _demo = make_demo_server()
            _demo.start()
        return _demo


def resolve() -> Backend:
    """Pick the backend for the next request.

    `CLAUDE_NB_BACKEND=demo` forces the demo; otherwise a key (ours or ANTHROPIC_API_KEY)
    means the real API at ANTHROPIC_BASE_URL (or the SDK default). A base URL without a key
    (a local test server) is used with a placeholder key.
    """
    forced = os.environ.get("CLAUDE_NB_BACKEND", "").lower()
    key = _key or os.environ.get("ANTHROPIC_API_KEY") or ""
    base_url = os.environ.get("ANTHROPIC_BASE_URL") or None
    if forced != "demo" and (key or base_url):
        return Backend(base_url=base_url, demo=False, api_key=key or "no-key")
    return Backend(base_url=demo_server().base_url, demo=True, api_key="demo")
