"""The offline demo backend: the loopback server with scripted, clearly labelled answers.

Used when no API key is set (or `CLAUDE_NB_BACKEND=demo`). Every answer says it is a demo;
nothing pretends to be a model. Streams are paced like a real one so Stop can be tried.
"""

from __future__ import annotations

from typing import Any

from .loopback import LoopbackServer, Response, echo_reply

__all__ = ["make_demo_server", "demo_reply", "DEMO_MODEL"]

DEMO_MODEL = "demo (offline)"


def demo_reply(request: dict[str, Any]) -> Response:
    """Answer any prompt with a short explanation of demo mode and an echo of the prompt."""
    turn = echo_reply(request)
    return turn.stream().with_delay(0.02)


def make_demo_server() -> LoopbackServer:
    return LoopbackServer(auto_reply=demo_reply)
