"""The one place SDK clients are made: `new_client` for every request the package sends
(replies, token counting, batches, with or without the event inspector's tap),
`new_sync_client` for the few blocking calls (the `--models` listing), and `ClientPool`, the
per-conversation choice between the user's own client, a kept one and a fresh one."""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from .backend import Backend

if TYPE_CHECKING:
    from .inspector.log import EventLog

__all__ = ["ClientPool", "new_client", "new_sync_client"]

_ssl_lock = threading.Lock()
_ssl_cache: dict[tuple[str, str], Any] = {}


def _ssl_context() -> Any:
    """One TLS context per process (per SSL_CERT_FILE / SSL_CERT_DIR): building one loads the
    CA bundle, 0.1-0.4 s, which a fresh client per reply would otherwise pay every time."""
    import httpx2

    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _ssl_lock:
        if key not in _ssl_cache:
            _ssl_cache[key] = httpx2.create_ssl_context()
        return _ssl_cache[key]


def new_client(backend: Backend, read_timeout: float, log: EventLog | None = None) -> Any:
    """An `AsyncAnthropic` for `backend`: no SDK retries (the run loop retries itself), a
    read timeout, the shared TLS context; with an event `log`, its transport taps the wire."""
    import anthropic
    import httpx2

    timeout = httpx2.Timeout(read_timeout, connect=10.0)
    if log is not None:
        from .inspector.tap import tapped_client

        return tapped_client(log, api_key=backend.api_key, base_url=backend.base_url,
                             max_retries=0, timeout=timeout)
    return anthropic.AsyncAnthropic(
        api_key=backend.api_key, base_url=backend.base_url, max_retries=0, timeout=timeout,
        http_client=anthropic.DefaultAsyncHttpxClient(verify=_ssl_context(), timeout=timeout))


def new_sync_client(backend: Backend, read_timeout: float, *, max_retries: int = 0) -> Any:
    """A blocking `Anthropic` for `backend`, for calls outside any run loop (no loop retries
    them, so a caller may ask the SDK for `max_retries`); the same TLS context and timeout."""
    import anthropic
    import httpx2

    timeout = httpx2.Timeout(read_timeout, connect=10.0)
    return anthropic.Anthropic(
        api_key=backend.api_key, base_url=backend.base_url, max_retries=max_retries,
        timeout=timeout,
        http_client=anthropic.DefaultHttpxClient(verify=_ssl_context(), timeout=timeout))


class ClientPool:
    """A conversation's clients: the user's own if given; else one kept per event loop when
    `keep_alive` (a kernel's long-lived loop reuses its connections); else fresh per reply
    and closed after it. A reply with an event log always gets a fresh tapped client."""

    def __init__(self, user_client: Any = None, keep_alive: bool = False) -> None:
        self.user_client = user_client
        self.keep_alive = keep_alive
        self._kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]] = \
            weakref.WeakKeyDictionary()

    def get(self, backend: Backend, read_timeout: float, log: EventLog | None = None) -> Any:
        if log is not None:
            return new_client(backend, read_timeout, log)
        if self.user_client is not None:
            return self.user_client
        loop = asyncio.get_running_loop()
        key = (backend.base_url, backend.api_key, read_timeout)
        cached = self._kept.get(loop)
        if cached is not None and cached[0] == key:
            return cached[1]
        client = new_client(backend, read_timeout)
        if self.keep_alive:
            self._kept[loop] = (key, client)
        return client

    def kept(self) -> list[Any]:
        """The clients kept for reuse, one per event loop."""
        return [client for _, client in self._kept.values()]

    async def release(self, clients: list[Any]) -> None:
        """Close the clients a reply used that are not kept for reuse."""
        kept = {id(c) for c in self.kept()}
        for client in clients:
            if client is not self.user_client and id(client) not in kept:
                await client.close()
        clients.clear()

    async def aclose(self) -> None:
        """Close the client kept for this loop, if any."""
        cached = self._kept.pop(asyncio.get_running_loop(), None)
        if cached is not None:
            await cached[1].close()
