"""A kernel interrupt (Ctrl-C) as a Stop: the one SIGINT handler a running reply or map uses.

While something is awaited on the main thread's event loop, SIGINT would otherwise raise
`KeyboardInterrupt` wherever the loop happens to be, tearing through it and leaving the HTTP
stream open. Here it calls `stop("interrupt")` instead, the same path as the Stop button, so
the stream is closed and the partial answer kept; the caller re-raises afterwards if it wants
"Run All" to stop too.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["interrupt_stops"]


@contextmanager
def interrupt_stops(stop: Callable[[str], object]) -> Iterator[None]:
    """While inside, SIGINT calls `stop("interrupt")` on the running loop. Does nothing off
    the main thread (signals reach only it) or where the loop has no signal handlers
    (Windows loops)."""
    loop = asyncio.get_running_loop()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(signal.SIGINT, stop, "interrupt")
    except (NotImplementedError, RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)
