"""`LiveView`: the anywidget sink that shows a streaming turn (or a whole chat) in the browser.

Python holds the truth. Every op pushed gets an increasing ``seq`` and is folded into a
snapshot (blocks in order, each with its HTML plus the Markdown / raw-JSON text streamed
into it since); a view that opens (or reopens, or misses an op) says ``hello`` and gets
that snapshot. The op protocol is described in ``docs/architecture.md``; the browser side
is ``js/view.js``.

Thread safety: comm messages may be handled on a kernel subshell thread (JupyterLab 4.6
routes widget messages to subshells), so the snapshot is kept under a lock and sends happen
inside it, in ``seq`` order. Callbacks registered with :meth:`LiveView.on_action` may run on
that other thread: hop to the kernel's event loop (``loop.call_soon_threadsafe``) before
touching anything that is not thread safe. :meth:`LiveView.receive` is the one entry for
browser messages (the comm calls it; tests call it as a browser would).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..render import stylesheet
from .viewops import Action, DownloadOp, SnapshotBlock, SnapshotOp, ViewOp, ViewState

__all__ = ["LiveView"]


_JS = Path(__file__).with_name("js")  # the browser side, package data

Listener = Callable[[Action], object]


class LiveView(anywidget.AnyWidget):
    """Live view of a turn (``chat=False``) or of a chat (``chat=True``)."""

    # Source text, not Paths: for a file-path `_esm` / `_css`, anywidget 0.11 connects every
    # instance to the class's file-watcher signal for good, so each LiveView ever shown
    # (one per %%claude cell), closed or not, and its snapshot would never be freed.
    _esm = (_JS / "view.js").read_text(encoding="utf-8")
    # + the saved-output rules: once a view has rendered, the page styles every saved
    # output (`.cnb-static`, which carries no `<style>` of its own) too.
    _css = (stylesheet.live_css() + stylesheet.static_css()
            + (_JS / "view.css").read_text(encoding="utf-8"))

    chat = traitlets.Bool(False).tag(sync=True)
    insert_cells = traitlets.Bool(False).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    # Lets the browser find the per-model state shared by every view of this widget.
    _cnb_key = traitlets.Unicode().tag(sync=True)

    @traitlets.default("_cnb_key")
    def _default_key(self) -> str:
        return uuid.uuid4().hex

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()
        self._seq = 0
        self._blocks: dict[str, SnapshotBlock] = {}
        self._state: ViewState = {"running": False, "stop": "none", "demo": False}
        self._actions: list[Listener] = []
        # Set by the first browser message: proof that clicks reach this kernel right now.
        self.heard_from_frontend = False
        self.on_msg(self._on_msg)

    def close(self) -> None:
        """Close the widget and its `layout` child widget, which ipywidgets 8 would leave
        registered (alive, with an open comm) for the kernel's lifetime: one per view."""
        layout = self._trait_values.get("layout")
        super().close()
        if layout is not None:
            layout.close()

    def push(self, op: ViewOp | DownloadOp) -> None:
        """Send one view op (a copy gets the next ``seq``) and fold it into the snapshot.

        ``download`` ops are not part of the snapshot and carry no ``seq``.
        """
        with self._lock:
            if op["op"] == "download":
                self.send(op)
                return
            self._seq += 1
            self._fold(op)
            msg: dict[str, Any] = {**op, "seq": self._seq}
            if op["op"] == "state":
                msg["now"] = time.time()
            self.send(msg)

    def on_action(self, callback: Listener, remove: bool = False) -> None:
        """Call ``callback(msg)`` for every message from the browser except ``hello``.

        May be called on a kernel subshell thread, not the main one.
        """
        if remove:
            self._actions.remove(callback)
        else:
            self._actions.append(callback)

    def snapshot(self) -> SnapshotOp:
        """The ``snapshot`` op a (re)opening view receives."""
        with self._lock:
            return {
                "op": "snapshot",
                "seq": self._seq,
                "blocks": [b.copy() for b in self._blocks.values()],
                "state": self._state.copy(),
                "now": time.time(),
            }

    def receive(self, msg: Action) -> None:
        """Handle one message from the browser: ``hello`` is answered with a snapshot, every
        other action goes to the `on_action` callbacks. May run on a kernel subshell thread."""
        self.heard_from_frontend = True
        if msg["type"] == "hello":
            with self._lock:
                self.send(self.snapshot())
            return
        for callback in list(self._actions):
            callback(msg)

    def _fold(self, op: ViewOp) -> None:
        if op["op"] == "block":
            self._blocks[op["id"]] = {"id": op["id"], "kind": op["kind"], "html": op["html"],
                                      "md": None, "json": None}
        elif op["op"] == "clear":
            self._blocks.clear()
        elif op["op"] == "state":
            self._state["running"] = op["running"]
            if "stop" in op:
                self._state["stop"] = op["stop"]
            if "demo" in op:
                self._state["demo"] = op["demo"]
        elif (block := self._blocks.get(op["id"])) is None:
            return
        elif op["op"] == "md":
            committed = block["md"]["committed"] if block["md"] is not None else ""
            # Drop the old dict first (a snapshot may still hold it): then `committed` is
            # usually the string's only reference and grows in place, instead of copying all
            # committed HTML on every op (quadratic in a long answer's update count).
            block["md"] = None
            if op["replace"] is not None:
                committed = op["replace"]
            committed += op["commit"]
            block["md"] = {"committed": committed, "tail": op["tail"]}
        elif op["op"] == "json":
            block["json"] = (block["json"] or "") + op["text"]
        elif op["op"] == "final":
            block["html"], block["md"], block["json"] = op["html"], None, None
        elif op["op"] == "remove":
            del self._blocks[op["id"]]

    def _on_msg(self, _widget: object, content: object, _buffers: object) -> None:
        if isinstance(content, dict) and isinstance(content.get("type"), str):
            self.receive(content)  # type: ignore[arg-type]  # shape is the browser's (view.js)
