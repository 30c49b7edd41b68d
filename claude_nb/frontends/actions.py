"""Browser actions → handlers: the one dispatch every front end answers clicks through.

A front end registers one table (action type → handler) on its `LiveView`; the actions
every view of a running reply answers (Stop, Approve / Deny) come from `reply_actions`, so
the `%%claude` cell and `Chat` cannot drift apart. Messages may arrive on a kernel subshell
thread: a table that touches loop-bound state passes ``hop=loop.call_soon_threadsafe``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..run.session import Reply
from .viewops import Action, ActionType

__all__ = ["Actions", "Handler", "insert_cell", "reply_actions"]

Handler = Callable[[Any], None]  # gets the action message (a `viewops` TypedDict)


class Actions:
    """A `LiveView.on_action` callback that looks the message's ``type`` up in one table."""

    def __init__(self, table: Mapping[ActionType, Handler],
                 hop: Callable[[Handler, Action], object] | None = None) -> None:
        self.table = table
        self.hop = hop

    def __call__(self, msg: Action) -> None:
        handler = self.table.get(msg["type"])
        if handler is None:
            return
        if self.hop is None:
            handler(msg)
        else:
            self.hop(handler, msg)


def reply_actions(current: Callable[[], Reply | None]) -> dict[ActionType, Handler]:
    """Stop and Approve / Deny for whichever reply ``current()`` returns (both thread-safe)."""
    def stop(msg: Action) -> None:
        reply = current()
        if reply is not None:
            reply.stop("user")

    def approve(msg: Any) -> None:
        reply = current()
        if reply is not None:
            reply.approve(str(msg.get("id", "")), msg["type"] == "approve")

    return {"stop": stop, "approve": approve, "deny": approve}


def insert_cell(msg: Any) -> None:
    """Put a code block into a new cell below (IPython's set_next_input payload)."""
    from IPython import get_ipython

    code = str(msg.get("code", ""))
    shell = get_ipython()
    if shell is not None and code:
        shell.set_next_input(code, replace=False)
