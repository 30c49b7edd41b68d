"""The run loop and the library's Python API: `Conversation.send(prompt) -> Reply`.

One async implementation (`Reply.run`) owns the SDK stream and its closing: a Stop cancels the
task on its own event loop, which closes the HTTP connection at once (closing a stream from
another thread does nothing while the server is silent). The sync twin (`for event in reply`,
`reply.wait()`) runs that same coroutine on a private loop thread and hands events over a
queue, so plain scripts, pytest and terminal IPython share the one translation path.

The requests themselves (stream, retry, run tools, repeat) are `toolloop.run_turns`; what the
reply adds to the conversation is committed to its `History` (`history.py`) at every ending.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from ..protocol.errors import (
    ClaudeNBError,
    ConfigError,
    classify,
    quotes_secret,
    redact_secret,
)
from ..protocol.events import Event, Failed, Finished, Stopped
from ..protocol.options import Options
from ..protocol.throughput import tokens_per_second
from ..protocol.tooltypes import Tool, ToolOutcome
from ..protocol.transcript import Turn
from . import backend as _backend
from .client import ClientPool
from .history import History
from .toolloop import run_turns
from .toolschema import as_tool

__all__ = ["Conversation", "Reply"]

Listener = Callable[[Event], None]


class _StopRequested(Exception):
    """Internal: unwinds the loop after `stop()` cancelled it."""


class Reply:
    """One prompt's answer: one API turn, or several in a tool loop.

    Iterate it (sync or async) for events, `await` it, call `wait()`, or `stop()` it from any
    thread. Read `text`, `turns`, `usage`, `stop_reason`, `ttfb`, `tokens_per_second` after.
    """

    def __init__(self, conversation: Conversation, prompt: Any, options: Options) -> None:
        self.conversation = conversation
        self.prompt = prompt
        self.options = options
        self.turns: list[Turn] = []
        self.status = "pending"  # pending | running | done | stopped | failed
        self.error: ClaudeNBError | None = None
        self.data: Any = None  # the parsed value of a JSON (structured output) answer
        self.events_log: Any = None  # an inspector.EventLog when options.events
        if options.events:
            from .inspector import EventLog

            self.events_log = EventLog()
        self.stop_reason_user: str | None = None  # "user" | "interrupt" once stopped
        self.backend: _backend.Backend | None = None
        self.tool_outcomes: dict[str, ToolOutcome] = {}
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stop_reason: str | None = None
        self._approvals: dict[str, asyncio.Future[bool]] = {}
        self._kept: Turn | None = None  # the last turn already added to history
        self._clients_used: list[Any] = []
        self.history_start = 0
        self._carry_before: list[dict[str, Any]] = []
        self._started = threading.Event()
        self._done = threading.Event()

    # ---- observing

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for every event, on the loop that runs the reply."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
        return unsubscribe

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # ---- controlling

    def stop(self, reason: str = "user") -> None:
        """Close the stream and end the reply, keeping what arrived. Safe from any thread."""
        if self._done.is_set() or self._stop_reason:
            return
        self._stop_reason = reason
        loop, task = self._loop, self._task
        if loop is None or task is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            task.cancel()
        else:
            loop.call_soon_threadsafe(task.cancel)

    def approve(self, tool_use_id: str, allowed: bool = True) -> None:
        """Answer a `confirm=True` tool's approval request (thread-safe)."""
        fut = self._approvals.get(tool_use_id)
        if fut is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(_answer, fut, allowed)

    @property
    def running(self) -> bool:
        return self.status == "running"

    # ---- the loop

    async def run(self) -> Reply:
        """Run the reply to its end on the current event loop. Never raises for API errors."""
        if self.status != "pending":
            raise RuntimeError("a Reply runs once; use conversation.send() again")
        self.status = "running"
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started.set()
        conv = self.conversation
        base, self._carry_before = conv.history.mark()
        self.history_start = base
        pending = conv.history.opening(self.prompt)
        try:
            if self._stop_reason:
                raise _StopRequested
            await run_turns(self, pending)
            self.status = "done"
            if self.options.json or self.options.schema is not None:
                from ..protocol.jsonanswer import parse_final

                self.data = parse_final(self.text, self.options.schema)
        except (asyncio.CancelledError, _StopRequested):
            self._close_open_turn()
            self.status = "stopped"
            if not self._stop_reason:  # cancelled by someone else (kernel shutdown...)
                self._finish_history(base, pending)
                self._done.set()
                raise
            self.stop_reason_user = self._stop_reason
            self._emit(Stopped(self._stop_reason))
        except Exception as exc:  # every failure becomes a value and a card
            self._close_open_turn()
            self.error = classify(exc)
            self.status = "failed"
            self._emit(Failed(self.error))
        self._finish_history(base, pending)
        await self.conversation.clients.release(self._clients_used)
        self._emit(Finished(self.status))
        # Nothing follows Finished: let go of listeners, so a reply kept in the history does
        # not keep its closed view, presenter and their HTML alive (one per turn).
        self._listeners.clear()
        self._done.set()
        return self

    def __await__(self) -> Any:
        return self.run().__await__()

    def _close_open_turn(self) -> None:
        if self.turns:
            for change in self.turns[-1].close(time.monotonic()):
                self._emit(change)

    def _finish_history(self, base: int, pending: list[dict[str, Any]]) -> None:
        """Commit what this reply adds to the conversation, repaired to stay valid."""
        last = self.turn
        if last is not None and last is not self._kept:  # ended mid-stream: keep what came
            content = last.content_params()
            if content:
                pending.append({"role": "assistant", "content": content})
        self.conversation.history.commit(base, pending, self.tool_outcomes)

    # ---- sync and async iteration

    async def __aiter__(self) -> AsyncIterator[Event]:
        events: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(events.put_nowait)
        task = asyncio.ensure_future(self.run())
        try:
            while True:
                event = await events.get()
                yield event
                if isinstance(event, Finished):
                    break
        finally:
            unsubscribe()
            if not task.done():
                self.stop()
            await asyncio.gather(task, return_exceptions=True)

    def __iter__(self) -> Iterator[Event]:
        """Run on a private loop thread; Ctrl-C stops the stream cleanly, then re-raises."""
        events: queue.Queue[Event] = queue.Queue()
        self.subscribe(events.put)
        thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True,
                                  name="claude_nb-reply")
        thread.start()
        interrupted = False
        try:
            while True:
                try:
                    event = events.get(timeout=0.1)
                except queue.Empty:
                    if not thread.is_alive() and events.empty():
                        return
                    continue
                except KeyboardInterrupt:
                    interrupted = True
                    self._started.wait(5)
                    self.stop("interrupt")
                    continue
                yield event
                if isinstance(event, Finished):
                    return
        finally:
            if thread.is_alive():  # the consumer left early: close the stream first
                self._started.wait(5)
                self.stop("user")
                thread.join()
            if interrupted:
                raise KeyboardInterrupt

    def wait(self) -> Reply:
        """Run to the end synchronously (from a script or a thread without a running loop)."""
        for _ in self:
            pass
        return self

    # ---- reading

    @property
    def turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def text(self) -> str:
        """The answer's text across all turns (tool loops add text per turn)."""
        return "".join(t.text for t in self.turns)

    @property
    def usage(self) -> Any:
        from ..protocol.transcript import Usage

        total = Usage()
        for t in self.turns:
            total.add(t.usage)
        return total

    @property
    def stop_reason(self) -> str | None:
        if self.status == "stopped":
            return "stopped"
        last = self.turn
        if last is None:
            return None
        return last.stop_reason or ("truncated" if last.truncated else None)

    @property
    def ttfb(self) -> float | None:
        return self.turns[0].ttfb if self.turns else None

    @property
    def ttft(self) -> float | None:
        return self.turns[0].ttft if self.turns else None

    @property
    def tokens_per_second(self) -> float | None:
        """Over every turn, like `usage` and the footer (`protocol.throughput`)."""
        return tokens_per_second(self.turns)

    @property
    def message(self) -> dict[str, Any]:
        """The final assistant message as API content (what history keeps)."""
        return {"role": "assistant",
                "content": [p for t in self.turns for p in t.content_params()]}

    def __repr__(self) -> str:
        return f"<Reply {self.status} turns={len(self.turns)} chars={len(self.text)}>"


def _answer(fut: asyncio.Future[bool], allowed: bool) -> None:
    if not fut.done():  # a second click, or the reply already stopped
        fut.set_result(allowed)


class Conversation:
    """A conversation with Claude: options, tools, and a history that stays valid.

    `send(prompt)` returns a `Reply`; nothing runs until it is awaited, iterated or waited on.
    """

    def __init__(self, model: str | None = None, *, system: str | None = None,
                 max_tokens: int | None = None, thinking: int | str | None = None,
                 temperature: float | None = None, tools: Any = (), web_search: bool = False,
                 client: Any = None, options: Options | None = None, keep_alive: bool = False,
                 **more: Any) -> None:
        base = options or Options()
        self.options = base.merge(model=model, system=system, max_tokens=max_tokens,
                                  thinking=thinking, temperature=temperature,
                                  tools=tuple(as_tool(t) for t in tools) or None,
                                  web_search=web_search or None, **more)
        self.history = History()
        self.replies: list[Reply] = []
        self.clients = ClientPool(client, keep_alive)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation in the API's own format (what the next request sends)."""
        return self.history.messages

    def send(self, prompt: Any, **overrides: Any) -> Reply:
        """Prepare a reply to `prompt` (str or API content blocks)."""
        if isinstance(prompt, str) and not prompt.strip():
            raise ConfigError("The prompt is empty.", title="Nothing to send")
        if "tools" in overrides and overrides["tools"] is not None:
            overrides["tools"] = tuple(as_tool(t) for t in overrides["tools"])
        reply = Reply(self, prompt, self.options.merge(**overrides))
        self.replies.append(reply)
        return reply

    def usage(self) -> list[dict[str, Any]]:
        """One plain record per API request so far (model, tokens by kind, cost in USD,
        TTFT, tokens/s, context-window fill): `pandas.DataFrame(conv.usage())`."""
        from ..protocol.usage import usage_rows
        from .models import windows

        return usage_rows(self.replies, windows())

    def reset(self) -> None:
        """Start afresh: forget the history (options and tools stay)."""
        self.history.clear()
        self.replies.clear()

    async def count_tokens(self, reply: Reply) -> int:
        """Input tokens the reply's request would use (history included), without sending
        it; the reply is withdrawn from the conversation."""
        if reply in self.replies:
            self.replies.remove(reply)
        opts = reply.options
        kwargs = opts.request(self.messages + self.history.opening(reply.prompt))
        kwargs.pop("max_tokens", None)
        for name in ("temperature", "stream"):
            kwargs.pop(name, None)
        backend = _backend.resolve()
        client = self.clients.get(backend, opts.read_timeout)
        try:
            result = await client.messages.count_tokens(**kwargs)
        except Exception as exc:
            cause = None if quotes_secret(exc, backend.api_key) else exc
            raise redact_secret(classify(exc), backend.api_key) from cause
        finally:
            await self.clients.release([client])
        return int(result.input_tokens)

    def rewind(self, reply: Reply) -> None:
        """Forget `reply` and everything after it (to regenerate an answer)."""
        if reply not in self.replies:
            return
        self.history.rewind(reply.history_start, reply._carry_before)
        del self.replies[self.replies.index(reply):]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the conversation to a JSON file (versioned; secrets redacted, tools by
        name). `Conversation.load(path)` reads it back."""
        from ..persist.files import save

        return save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **options: Any) -> Conversation:
        """A conversation saved with `save`, ready to continue; `options` override the saved
        ones (pass `tools=[...]` again: tools are code, saved by name only)."""
        from ..persist.files import load

        return load(path, **options)

    def find_tool(self, name: str, options: Options) -> Tool | None:
        return next((t for t in options.tools if t.name == name), None)

    async def aclose(self) -> None:
        """Close the HTTP client kept for reuse on this loop (`keep_alive`), if any."""
        await self.clients.aclose()
