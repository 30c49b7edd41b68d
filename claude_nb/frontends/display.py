"""Showing a reply in a notebook: a live view while it streams, static output after.

At the end the live widget is replaced (display update) by static `text/html` +
`text/markdown` + `text/plain` and closed, so a saved notebook renders without a kernel, on
GitHub and in nbconvert, and carries no widget state. The output's metadata carries the turn's
provenance record (`persist.provenance`), from which a fresh kernel can resume.
"""

from __future__ import annotations

import asyncio
from typing import Any

from IPython.display import display

from ..persist import provenance
from ..protocol.errors import ClaudeNBError
from ..protocol.events import ToolChanged
from ..protocol.redact import redact
from ..render import errorcards, exports, jsontree, static, timeline
from ..run.interrupt import interrupt_stops
from ..run.session import Conversation, Reply
from .actions import Actions, insert_cell, reply_actions
from .presenter import Presenter
from .terminal import count_text
from .view import LiveView

__all__ = [
    "show_count",
    "show_error",
    "show_history",
    "show_notice",
    "static_bundle",
    "stream_live",
]

# How long a running view waits for its first message before telling the user that this
# frontend can't deliver clicks while a cell runs (kernel interrupt is the way then).
HELLO_GRACE = 2.0


def static_bundle(reply: Reply) -> dict[str, str]:
    """The final, kernel-free rendering of a reply (what the notebook saves: key-shaped
    strings and the key in use are redacted, also inside tool results)."""
    demo = bool(reply.backend and reply.backend.demo)
    if reply.data is not None:  # a parsed JSON answer: the tree instead of the raw text
        dump = getattr(reply.data, "model_dump", None)  # a --schema pydantic model instance
        data = dump(mode="json") if callable(dump) else reply.data
        tree = f'<div class="cnb-json-answer">{jsontree.tree_html(data)}</div>'
        html = static.wrap_static(tree + static.reply_footer_html(reply, demo=demo))
    else:
        html = static.reply_html(reply, demo=demo, standalone=True)
    bundle = {"text/html": html, "text/markdown": exports.reply_markdown(reply),
              "text/plain": exports.reply_plain(reply)}
    log = getattr(reply, "events_log", None)
    if log is not None:
        bundle["text/html"] += static.wrap_static(timeline.timeline_html(log))
        bundle["text/plain"] += "\n\n" + timeline.timeline_text(log)
    key = reply.backend.api_key if reply.backend else None
    return {mime: redact(text, key) for mime, text in bundle.items()}


async def stream_live(reply: Reply, *, insert_cells: bool = False) -> None:
    """Run `reply` on the current loop, showing it live, then leave static output."""
    view = LiveView(insert_cells=insert_cells)
    handle = display(view, display_id=True)
    presenter = Presenter(view.push, demo=False).attach(reply)
    view.on_action(Actions({**reply_actions(lambda: reply), "insert_cell": insert_cell}))
    loop = asyncio.get_running_loop()
    grace = HELLO_GRACE if kernel_delivers_clicks() else 0.0
    watch = loop.call_later(grace, _maybe_interrupt_only, view, reply)
    reply.subscribe(lambda e: _approval_needs_a_frontend(e, view, reply, loop))
    try:
        with interrupt_stops(reply.stop):
            await reply.run()
    finally:
        watch.cancel()
        presenter.close()
        if handle is not None:
            handle.update(static_bundle(reply), raw=True,
                          metadata={provenance.KEY: provenance.record(reply)})
        view.close()


def _approval_needs_a_frontend(event: Any, view: LiveView, reply: Reply,
                               loop: asyncio.AbstractEventLoop) -> None:
    """A `confirm=True` tool waits for Approve/Deny; with no frontend that can click
    (headless runs), deny it after the grace period instead of hanging."""
    if isinstance(event, ToolChanged) and event.status == "awaiting_approval":
        def deny_if_unreachable() -> None:
            if not view.heard_from_frontend:
                reply.approve(event.block.id, False)
        loop.call_later(HELLO_GRACE, deny_if_unreachable)


def kernel_delivers_clicks() -> bool:
    """ipykernel >= 7.4 handles widget messages while a cell awaits; older kernels and other
    kernels (Colab's) deliver them only after the cell: the Stop button says so at once."""
    try:
        import ipykernel
    except ImportError:
        return False
    parts = [int(p) for p in ipykernel.__version__.split(".")[:2] if p.isdigit()]
    return tuple(parts) >= (7, 4)


def _maybe_interrupt_only(view: LiveView, reply: Reply) -> None:
    if reply.running and not view.heard_from_frontend:
        view.push({"op": "state", "running": True, "stop": "interrupt"})


def show_error(error: ClaudeNBError) -> None:
    html = errorcards.error_card(error)
    display({"text/html": static.wrap_static(html),
             "text/plain": f"{error.title}: {error.message}"}, raw=True)


def show_notice(text: str) -> None:
    display({"text/html": static.wrap_static(errorcards.notice_html(text)), "text/plain": text},
            raw=True)


def show_count(tokens: int, *, demo: bool = False) -> None:
    show_notice(count_text(tokens, demo=demo))


# A history longer than this (HTML characters) or with more turns shows collapsed.
HISTORY_OPEN_CHARS = 20_000
HISTORY_OPEN_TURNS = 4


def show_history(conversation: Conversation) -> None:
    """The conversation so far; a long one collapsed behind a one-line size summary."""
    html = static.history_html(conversation)
    turns = len(conversation.replies)
    plain = exports.history_plain(conversation)
    if not turns:
        show_notice("The conversation is empty.")
        return
    summary = (f"Conversation so far: {turns} turn{'s' if turns != 1 else ''}, "
               f"{_size(len(plain))} of text")
    if len(html) > HISTORY_OPEN_CHARS or turns > HISTORY_OPEN_TURNS:
        html = (f'<details class="cnb-history"><summary>{summary} (click to show)</summary>'
                f"{html}</details>")
        plain = f"{summary}\n\n{plain}"
    display({"text/html": html, "text/plain": plain}, raw=True)


def _size(chars: int) -> str:
    return f"{chars / 1000:.1f} KB" if chars >= 1000 else f"{chars} characters"
