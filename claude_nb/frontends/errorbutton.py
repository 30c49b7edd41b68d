"""The "Ask Claude" button under a failing cell's traceback (after `%load_ext claude_nb`;
`%config Claude.error_button = False` turns it off).

The failing-cell hook shows a small live view holding one row: the button and the error's
one-line summary. The click arrives as an `approve` action on the button's id (so the
browser side needs nothing new); it sends the failing cell, the exception and its traceback
with the `--fix` prompt on the magic's conversation, and the answer streams into the same
view, which becomes static output when it ends (like a `%%claude` cell). The click may
arrive on a subshell thread: everything hops to the kernel's loop first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from IPython.display import display

from ..context.compose import compose
from ..context.errors import FIX_PROMPT, FailedCell, error_item
from ..context.exceptions import strip_ansi
from ..render.contextcard import ASK_ID, ask_button_html, context_card_html
from ..render.static import wrap_static
from ..render.errorcards import notice_html
from ..run.session import Reply
from .actions import Actions, reply_actions
from .nbcontext import context_text
from .presenter import Presenter
from .view import LiveView

__all__ = ["ErrorButton", "show_error_button"]


class ErrorButton:
    """One failing cell's button and, after the click, its answer."""

    def __init__(self, magics: Any, failed: FailedCell, loop: asyncio.AbstractEventLoop) -> None:
        self.magics = magics
        self.failed = failed
        self.loop = loop
        self.reply: Reply | None = None
        self.busy_shown = False
        exc = failed.exception
        summary = strip_ansi(f"{type(exc).__qualname__}: {exc}")
        self.button = ask_button_html(summary[:200])
        self.view = LiveView()
        self.view.push({"op": "block", "id": "ask", "kind": "notice", "html": self.button})
        stop = reply_actions(lambda: self.reply)["stop"]
        self.view.on_action(Actions({"approve": self._approve, "stop": stop},
                                    hop=lambda h, m: loop.call_soon_threadsafe(h, m)))
        bundle = self.view._repr_mimebundle_()
        data = dict((bundle[0] if isinstance(bundle, tuple) else bundle) or {})
        data["text/plain"] = f"[Ask Claude] {summary[:200]}  (%claude --fix asks the same)"
        self.handle = display(data, raw=True, display_id=True)

    def _approve(self, msg: Any) -> None:
        if msg.get("id") != ASK_ID or self.reply is not None:
            return
        if any(r.running for r in self.magics.conversation.replies):  # one turn at a time
            self.view.push({"op": "block", "id": "ask", "kind": "notice", "html": self.button})
            self.view.push({"op": "block", "id": "busy", "kind": "notice", "html": notice_html(
                "Claude is still answering another cell: ask again when it has finished.")})
            self.busy_shown = True
            return
        if self.busy_shown:
            self.view.push({"op": "remove", "id": "busy"})
        cfg = self.magics.config_obj
        composed = compose(FIX_PROMPT, None, attachments=[error_item(self.failed)],
                           budget=cfg.context_budget)
        self.reply = reply = self.magics.conversation.send(composed.prompt)
        card = context_card_html(composed.items, composed.tokens)
        self.view.push({"op": "block", "id": "context", "kind": "notice", "html": card})
        Presenter(self.view.push, prefix="a.").attach(reply)
        self.loop.create_task(self._run(reply, card, context_text(composed) or ""))

    async def _run(self, reply: Reply, card: str, card_text: str) -> None:
        """Stream the answer, then leave static output: the context card and the reply."""
        from .display import static_bundle

        await reply.run()
        self.magics.last_reply = reply
        if self.handle is not None:
            bundle = static_bundle(reply)
            bundle["text/html"] = wrap_static(card) + bundle["text/html"]
            bundle["text/plain"] = f"{card_text}\n\n{bundle['text/plain']}"
            self.handle.update(bundle, raw=True)
        self.view.close()


def show_error_button(magics: Any, failed: FailedCell) -> ErrorButton | None:
    """Show the button for `failed` when the setting allows and a kernel loop can run the
    answer (a terminal IPython gets none: `%claude --fix` is the way there)."""
    if not magics.config_obj.error_button or isinstance(failed.exception, KeyboardInterrupt):
        return None
    if getattr(magics.shell, "kernel", None) is None:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return ErrorButton(magics, failed, loop)
