"""Noticing, while a response is written, that the client closed or reset its socket.

A Stop in the client closes the connection; the server must see that between frames (and
during pauses and stalls), stop writing, and record when, without blocking the writer.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["POLL", "Watch", "at_eof"]

POLL = 0.01  # seconds between checks for server shutdown (keeps stop() quick)


class Watch:
    """Notices, while a response is written, that the client closed or reset its socket."""

    def __init__(self, sock: socket.socket, closing: threading.Event,
                 on_gone: Callable[[float], None]) -> None:
        self.stop = threading.Event()  # set on disconnect or server shutdown: stop writing
        self._sock, self._closing, self._on_gone = sock, closing, on_gone
        self._wake, self._waker = socket.socketpair()  # ends the watch without a poll delay
        self._thread = threading.Thread(target=self._run, daemon=True, name="loopback-watch")

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._waker.send(b"x")
        self._thread.join()
        self._wake.close()
        self._waker.close()

    def gone(self) -> None:
        self._on_gone(time.monotonic())
        self.stop.set()

    def check(self) -> bool:
        """Look at the socket now (right before each frame): True when writing must stop."""
        if at_eof(self._sock):
            self.gone()
        return self.stop.is_set()

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                readable, _, _ = select.select([self._sock, self._wake], [], [], POLL)
            except (OSError, ValueError):
                readable = [self._sock]
            if self._wake in readable:
                return
            if at_eof(self._sock):
                self.gone()
                return
            if readable:  # the client sent bytes and is still there: don't spin
                time.sleep(POLL)
        self.stop.set()


def at_eof(sock: socket.socket) -> bool:
    """Whether the client has closed or reset the socket; never blocks."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and not sock.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True
