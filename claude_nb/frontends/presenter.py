"""Events → view ops: the live rendering of a reply, coalesced like rich's `Live`.

Text and thinking stream through `StreamingMarkdown` (committed HTML is sent once, only the
open tail is re-sent); tool input streams as raw text; every card comes from `render/` (its one
escaping path). Deltas are buffered and flushed at most every `interval` seconds, and always
at block ends and at the end of the reply, so a fast stream costs a bounded number of updates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ..protocol.events import Failed, Finished, Notice, Retrying, Stopped, ToolChanged, TurnBegan
from ..protocol.blocks import (
    Block,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)
from ..protocol.changes import (
    BlockDelta,
    BlockFinished,
    BlockStarted,
    TurnFinished,
    UnknownEvent,
)
from ..protocol import jsonanswer
from ..render import apicards, blocks, errorcards, jsontree, static
from ..render.markdown import Patch, StreamingMarkdown
from ..render.sanitize import clean
from ..run.session import Reply
from .viewops import ViewOp

__all__ = ["Presenter"]

Sink = Callable[[ViewOp], None]
# Delta kinds shown as they stream; citation and signature deltas only change the final card.
_STREAMED = frozenset({"text", "thinking", "input_json"})


class _Stream:
    """A streaming Markdown area of one block, with its not-yet-sent text."""

    __slots__ = ("md", "pending", "text")

    def __init__(self) -> None:
        self.md = StreamingMarkdown()
        self.pending: list[str] = []
        self.text = ""  # kept only for JSON answers, which are re-parsed whole


class Presenter:
    """Listener for `Reply.subscribe`: turns events into ops for a sink (`LiveView.push`)."""

    def __init__(self, sink: Sink, *, prefix: str = "", demo: bool = False,
                 interval: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` decides when `interval` has passed (like rich's ``get_time``); the timer
        that flushes a quiet stream runs on the event loop's own clock."""
        self.sink = sink
        self.prefix = prefix
        self.demo = demo
        self.interval = interval
        self.clock = clock
        self._turn_no = -1
        self._streams: dict[str, _Stream] = {}
        self._json_pending: dict[str, list[str]] = {}
        self._last_flush = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._reply: Reply | None = None
        self.json_mode = False
        self._text_ids: set[str] = set()
        self._pending_for: dict[Block, list[str]] = {}  # block → its not-yet-sent deltas
        self._handlers: dict[type, Callable[[Any], None]] = {
            TurnBegan: self._on_turn_began, BlockStarted: self._on_block_started,
            BlockDelta: self._on_delta, BlockFinished: self._on_block_finished,
            TurnFinished: lambda e: self.flush(), ToolChanged: self._on_tool_status,
            Retrying: self._on_retrying, Failed: self._on_failed, Stopped: self._on_stopped,
            Finished: self._on_finished, UnknownEvent: self._on_unknown_event,
            Notice: self._on_notice,
        }

    def attach(self, reply: Reply) -> Presenter:
        self._reply = reply
        self.json_mode = bool(reply.options.json or reply.options.schema is not None)
        reply.subscribe(self)
        return self

    def __call__(self, event: Any) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # ---- ids

    def _id(self, block: Block) -> str:
        return f"{self.prefix}t{self._turn_no}b{block.index}"

    # ---- handlers

    def _on_turn_began(self, event: TurnBegan) -> None:
        self.flush()
        self._turn_no += 1
        backend = getattr(self._reply, "backend", None)
        self.demo = self.demo or bool(backend and backend.demo)
        if self._turn_no == 0:
            self.sink({"op": "state", "running": True, "stop": "button", "demo": self.demo})

    def _on_block_started(self, event: BlockStarted) -> None:
        block = event.block
        bid = self._id(block)
        self.sink({"op": "block", "id": bid, "kind": blocks.kind_of(block),
                   "html": blocks.live_block_html(block)})
        if isinstance(block, (TextBlock, ThinkingBlock)):
            self._streams[bid] = _Stream()
            self._pending_for[block] = self._streams[bid].pending
            if isinstance(block, TextBlock):
                self._text_ids.add(bid)
        elif isinstance(block, ToolUseBlock):
            self._json_pending[bid] = self._pending_for[block] = []

    def _on_delta(self, event: BlockDelta) -> None:
        # The hot path (one call per SDK delta): a dict hit and a list append.
        target = self._pending_for.get(event.block)
        if target is None or event.kind not in _STREAMED:
            return
        target.append(event.text)
        if self._timer is None:
            self._schedule()

    def _on_block_finished(self, event: BlockFinished) -> None:
        block = event.block
        bid = self._id(block)
        stream = self._streams.pop(bid, None)
        self._json_pending.pop(bid, None)
        self._pending_for.pop(block, None)
        if isinstance(block, TextBlock) and stream is not None and not block.citations:
            self._send_md(bid, stream, final=True)  # the committed HTML is already there
            return
        if isinstance(block, TextBlock) and self.json_mode:
            return
        self.sink({"op": "final", "id": bid, "html": blocks.block_html(block)})

    def _on_tool_status(self, event: ToolChanged) -> None:
        block = event.block
        self.sink({"op": "final", "id": self._id(block),
                   "html": blocks.tool_card_html(block, event.status, event.outcome,
                                                started_at=event.started_at)})

    def _on_retrying(self, event: Retrying) -> None:
        self.sink({"op": "block", "id": f"{self.prefix}retry{event.attempt}", "kind": "notice",
                   "html": errorcards.retry_html(event.error, event.attempt, event.of,
                                                 event.delay)})

    def _on_notice(self, event: Notice) -> None:
        self.sink({"op": "block", "id": f"{self.prefix}n{time.monotonic_ns()}", "kind": "notice",
                   "html": apicards.notice_html(event.text)})

    def _on_failed(self, event: Failed) -> None:
        self.flush()
        self.sink({"op": "block", "id": f"{self.prefix}error", "kind": "error",
                   "html": errorcards.error_card(event.error)})

    def _on_stopped(self, event: Stopped) -> None:
        self.flush()

    def _on_unknown_event(self, event: UnknownEvent) -> None:
        self.sink({"op": "block", "id": f"{self.prefix}u{time.monotonic_ns()}", "kind": "unknown",
                   "html": errorcards.unknown_event_html(event.type, event.raw)})

    def _on_finished(self, event: Finished) -> None:
        self.flush()
        reply = self._reply
        if reply is not None and reply.status == "done" and not any(
                type(b) is not TextBlock or b.text.strip() for t in reply.turns for b in t.blocks):
            self.sink({"op": "block", "id": f"{self.prefix}empty", "kind": "notice",
                       "html": errorcards.empty_notice_html()})
        if self._reply is not None:
            self.sink({"op": "block", "id": f"{self.prefix}footer", "kind": "footer",
                       "html": static.reply_footer_html(self._reply, demo=self.demo)})
        self.sink({"op": "state", "running": False, "stop": "none", "demo": self.demo})

    # ---- coalescing

    def _schedule(self) -> None:
        now = self.clock()
        if now - self._last_flush >= self.interval:
            self.flush()
            return
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (sync consumer): the next delta or block end flushes
            self._timer = loop.call_later(self.interval, self._timed_flush)

    def _timed_flush(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """Send everything buffered: Markdown patches and raw tool-input text."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_flush = self.clock()
        for bid, stream in self._streams.items():
            if stream.pending:
                self._send_md(bid, stream, final=False)
        for bid, parts in self._json_pending.items():
            if parts:
                self.sink({"op": "json", "id": bid, "text": "".join(parts)})
                parts.clear()

    def _send_md(self, bid: str, stream: _Stream, *, final: bool) -> None:
        text = "".join(stream.pending)
        stream.pending.clear()
        if self.json_mode and bid in self._text_ids:
            stream.text += text
            tree = jsontree.tree_html(jsonanswer.parse_partial(stream.text))
            self.sink({"op": "final", "id": bid,
                       "html": f'<div class="cnb-json-answer">{tree}</div>'})
            return
        patch = stream.md.feed(text) if text else None
        if final:
            done = stream.md.finish()
            patch = done if patch is None else _merge(patch, done)
        if patch is None:
            return
        # A second layer over the renderer's own escaping, as for static output.
        self.sink({"op": "md", "id": bid, "commit": clean(patch.commit) if patch.commit else "",
                   "tail": clean(patch.tail) if patch.tail else "",
                   "replace": None if patch.replace is None else clean(patch.replace)})

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _merge(first: Patch, second: Patch) -> Patch:
    """Combine two consecutive patches into one op's worth."""
    if second.replace is not None:
        return second
    return type(second)(commit=first.commit + second.commit, tail=second.tail,
                        replace=first.replace)
