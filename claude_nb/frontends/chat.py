"""`Chat`: a chat widget over a `Conversation`, with Stop, regenerate, new and export.

The send handler only schedules the reply as a task on the kernel's event loop and returns,
so the kernel stays free for the Stop click (a handler that streamed itself would keep the
kernel busy and the click would queue behind it). Handlers may run on a kernel subshell
thread: everything hops to the loop with `call_soon_threadsafe`; the SDK stream is only ever
touched on its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ..render import errorcards, exports, static
from ..run.backend import set_api_key
from ..run.session import Conversation, Reply
from ..persist import provenance
from ..persist.notebook import load_chat
from . import nbcontext
from .actions import Actions, reply_actions
from .chatsaved import SavedTranscript
from .exporting import export, export_text
from .presenter import Presenter
from .view import LiveView
from .viewops import ExportAction, SendAction, SetKeyAction, ViewOp

__all__ = ["Chat"]


def _kernel_loop() -> asyncio.AbstractEventLoop:
    """The loop replies run on: the kernel's (running) loop, else a private one on a thread."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True, name="claude_nb-chat").start()
        return loop


class Chat:
    """A chat widget: `Chat(model=..., system=..., thinking=..., tools=[f, g])`, displayed."""

    def __init__(self, model: str | None = None, *, conversation: Conversation | None = None,
                 title: str = "Claude", **options: Any) -> None:
        self.conversation = conversation or Conversation(model, keep_alive=True, **options)
        self.view = LiveView(chat=True, title=title)
        self.reply: Reply | None = None
        self._loop = _kernel_loop()
        self._count = 0
        self._ids: dict[Reply, list[str]] = {}
        self._typed: dict[Reply, str] = {}  # what was typed, before `{name}` was rendered
        self.saved = SavedTranscript(self.conversation)  # the output the notebook keeps
        # Browser messages may arrive on a subshell thread: every handler runs on the loop.
        self.view.on_action(Actions(
            {**reply_actions(lambda: self.reply), "send": self._send,
             "regenerate": self._regenerate, "new": self._new, "export": self._export,
             "set_key": self._set_key},
            hop=self._loop.call_soon_threadsafe))
        self._show_restored()

    # ---- display

    @classmethod
    def resume(cls, path: str | Path, *, index: int = -1, **options: Any) -> Chat:
        """A Chat that continues a Chat saved in the notebook at `path` (the last one, or the
        `index`-th in cell order), from its saved transcript's records; `options` (e.g.
        `tools=[f]`, `thinking=`) as for `Chat(...)`: model and system come from the records."""
        return cls(conversation=load_chat(path, index=index, keep_alive=True, **options))

    def _ipython_display_(self) -> None:
        """In IPython: the live widget, then its saved transcript under it, replaced after
        every turn so the saved notebook holds them all (`chatsaved`; the widget's own output
        is never updated: that would re-render it and lose the typed text and scroll)."""
        from IPython.display import display

        bundle = self.view._repr_mimebundle_()
        data = dict((bundle[0] if isinstance(bundle, tuple) else bundle) or {})
        data["text/plain"] = "claude_nb.Chat (a live widget; its transcript is saved below)"
        display(data, raw=True)
        self.saved.show()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget, with the static conversation so far as the fallback and its
        turns' provenance records in the metadata (a later `--resume` reads them)."""
        bundle = self.view._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data or {})
        data["text/html"] = static.history_html(self.conversation)
        data["text/plain"] = exports.history_plain(self.conversation) or "claude_nb.Chat"
        metadata = dict(bundle[1] or {}) if isinstance(bundle, tuple) else {}
        metadata[provenance.KEY] = {"turns": [provenance.record(r)
                                              for r in self.conversation.replies
                                              if r.status not in ("pending", "running")]}
        return data, metadata

    def _show_restored(self) -> None:
        """The turns a given (e.g. loaded) conversation already has, as static cards."""
        for reply in self.conversation.replies:
            if reply.status in ("pending", "running"):
                continue
            self._count += 1
            ids = self._ids.setdefault(reply, [f"r{self._count}.user", f"r{self._count}.reply"])
            self.view.push({"op": "block", "id": ids[0], "kind": "user",
                            "html": static.user_html(reply.prompt)})
            self.view.push({"op": "block", "id": ids[1], "kind": "text",
                            "html": static.reply_html(reply)})

    def close(self) -> None:
        """Stop any running reply (closing its stream), close the widget, and release the
        kept HTTP client (its connections would otherwise stay open until garbage collection)."""
        if self.reply is not None:
            self.reply.stop("user")
        self.view.close()
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(
                lambda: self._loop.create_task(self.conversation.aclose()))

    # ---- Python-side actions (usable from code too)

    def send(self, text: str) -> Reply | None:
        """Ask from code as if typed in the box; returns the Reply (runs on the kernel loop)."""
        box: list[Reply | None] = []
        done = threading.Event()

        def start() -> None:
            box.append(self._start(text))
            done.set()

        if self._on_loop_thread():
            start()
        else:
            self._loop.call_soon_threadsafe(start)
            done.wait(5)
        return box[0] if box else None

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    # ---- handlers (on the loop)

    def _send(self, msg: SendAction) -> None:
        self._start(str(msg.get("text", "")))

    def _start(self, text: str) -> Reply | None:
        if not text.strip() or (self.reply is not None and self.reply.running):
            return None
        self._count += 1
        composed = nbcontext.compose_typed(text.strip())  # `{name}` works in the box too
        reply = self.conversation.send(composed.prompt)
        self._typed[reply] = text.strip()
        self.reply = reply
        prefix = f"r{self._count}."
        ids = self._ids.setdefault(reply, [])

        def sink(op: ViewOp) -> None:
            if op["op"] == "block":
                ids.append(op["id"])
            self.view.push(op)

        sink({"op": "block", "id": prefix + "user", "kind": "user",
              "html": static.user_html(composed.text)})
        card = nbcontext.context_html(composed)
        if card is not None:
            sink({"op": "block", "id": prefix + "context", "kind": "notice", "html": card})
        Presenter(sink, prefix=prefix).attach(reply)
        self._loop.create_task(self._run(reply))
        return reply

    async def _run(self, reply: Reply) -> None:
        try:
            await reply.run()
        finally:
            self.saved.update()

    def _regenerate(self, msg: object) -> None:
        last = self.conversation.replies[-1] if self.conversation.replies else None
        if last is None or last.running:
            return
        for bid in self._ids.pop(last, []):
            self.view.push({"op": "remove", "id": bid})
        self.conversation.rewind(last)
        self._start(self._typed.pop(last, str(last.prompt)))

    def _new(self, msg: object) -> None:
        if self.reply is not None:
            self.reply.stop("user")
        self.conversation.reset()
        self._ids.clear()
        self._typed.clear()
        self.view.push({"op": "clear"})
        self.saved.update()

    def _set_key(self, msg: SetKeyAction) -> None:
        """The widget's key field: use the real API from the next message on."""
        key = str(msg.get("key", "")).strip()
        if not key:
            return
        set_api_key(key)
        self._count += 1
        self.view.push({"op": "block", "id": f"n{self._count}", "kind": "notice",
                        "html": errorcards.notice_html("API key set for this session (not saved "
                                                  "in the notebook): next messages go to "
                                                  "the Anthropic API.")})

    def _export(self, msg: ExportAction) -> None:
        content, filename, mime = export_text(self.conversation, str(msg.get("format", "md")))
        self.view.push({"op": "download", "filename": filename, "mime": mime,
                        "content": content})

    def export(self, path: str | Path) -> Path:
        """Write the conversation to `path`: .md (Markdown), .json (the API request JSON) or
        .html (a self-contained page)."""
        return export(self.conversation, path)
