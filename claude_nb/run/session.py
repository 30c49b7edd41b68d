"""The run loop and the library's Python API: `Conversation.send(prompt) -> Reply`.

One async implementation (`Reply.run`) owns the SDK stream and its closing: a Stop cancels the
task on its own event loop, which closes the HTTP connection at once (closing a stream from
another thread does nothing while the server is silent). The sync twin (`for event in reply`,
`reply.wait()`) runs that same coroutine on a private loop thread and hands events over a
queue, so plain scripts, pytest and terminal IPython share the one translation path.

History stays valid after any ending: only blocks the API accepts back are kept, a tool call
left without a result gets an `is_error` "stopped" result (sent with the next prompt), and a
reply that produced nothing for history is rolled back whole.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import weakref
from typing import Any, AsyncIterator, Callable, Iterator

from . import backend as _backend
from ..protocol.errors import (APIError, ClaudeNBError, ConfigError, classify, quotes_secret,
                     redact_secret)
from ..protocol.events import Event, Failed, Finished, Retrying, Stopped, ToolStatus, TurnBegan
from ..protocol.options import Options
from .tools import Tool, ToolOutcome, as_tool, run_tool
from ..protocol.transcript import TextBlock, ToolUseBlock, Turn

__all__ = ["Conversation", "Reply"]

Listener = Callable[[Event], None]
_STOPPED_RESULT = "Stopped by the user before this tool ran to completion."


class _StopRequested(Exception):
    """Internal: unwinds the loop after `stop()` cancelled it."""


class Reply:
    """One prompt's answer: one API turn, or several in a tool loop.

    Iterate it (sync or async) for events, `await` it, call `wait()`, or `stop()` it from any
    thread. Read `text`, `turns`, `usage`, `stop_reason`, `ttfb`, `tokens_per_second` after.
    """

    def __init__(self, conversation: "Conversation", prompt: Any, options: Options) -> None:
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
            self._loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(allowed))

    @property
    def running(self) -> bool:
        return self.status == "running"

    # ---- the loop

    async def run(self) -> "Reply":
        """Run the reply to its end on the current event loop. Never raises for API errors."""
        if self.status != "pending":
            raise RuntimeError("a Reply runs once; use conversation.send() again")
        self.status = "running"
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started.set()
        conv = self.conversation
        base = self.history_start = len(conv.messages)
        self._carry_before = list(conv._carry)
        pending = conv._opening_messages(self.prompt)
        try:
            if self._stop_reason:
                raise _StopRequested
            await self._loop_turns(pending)
            self.status = "done"
            if self.options.json or self.options.schema is not None:
                from ..render.jsontree import parse_final

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
        await self.conversation._release(self._clients_used)
        self._emit(Finished(self.status))
        # Nothing follows Finished: let go of listeners, so a reply kept in the history does
        # not keep its closed view, presenter and their HTML alive (one per turn).
        self._listeners.clear()
        self._done.set()
        return self

    def __await__(self) -> Any:
        return self.run().__await__()

    async def _loop_turns(self, pending: list[dict[str, Any]]) -> None:
        conv, opts = self.conversation, self.options
        prefill = (opts.prefill or "").rstrip()  # the API rejects trailing whitespace here
        for iteration in range(opts.max_iterations):
            request = conv.messages + pending
            if prefill and iteration == 0:
                request = request + [{"role": "assistant", "content": prefill}]
            turn = await self._stream_turn(request, iteration, prefill if iteration == 0 else "")
            content = turn.content_params()
            self._kept = turn
            if content:
                pending.append({"role": "assistant", "content": content})
            if turn.stop_reason == "pause_turn" and content:
                continue  # the server paused a long server-tool turn: resume it as is
            calls = turn.tool_uses if turn.stop_reason == "tool_use" else []
            if not calls:
                return
            results = await self._run_tools(calls)
            pending.append({"role": "user", "content": results})
        raise ConfigError(f"The tool loop reached its cap of {opts.max_iterations} requests.",
                          title="Tool loop stopped",
                          hint="Raise it with `max_iterations=` or `%config Claude.max_iterations`.")

    async def _stream_turn(self, messages: list[dict[str, Any]], iteration: int,
                           prefill: str = "") -> Turn:
        opts = self.options
        kwargs = opts.request(messages)
        for attempt in range(opts.max_retries + 1):
            self.backend = _backend.resolve()
            client = self.conversation._client(self.backend, opts, self.events_log)
            self._clients_used.append(client)
            turn = Turn(requested_at=time.monotonic(), prefill=prefill)
            self.turns.append(turn)
            self._emit(TurnBegan(turn, iteration))
            try:
                stream = await client.messages.create(stream=True, **kwargs)
                async with stream:
                    async for event in stream:
                        for change in turn.apply(event, time.monotonic()):
                            self._emit(change)
                for change in turn.close(time.monotonic()):
                    self._emit(change)
                return turn
            except Exception as exc:
                key = self.backend.api_key  # never quoted back in what the user sees
                error = redact_secret(classify(exc), key)
                if prefill and isinstance(error, APIError) and error.status == 400:
                    error.hint = ("The API rejected the request; with a prefill this usually "
                                  "means this model or setting (e.g. extended thinking) does "
                                  "not accept an assistant prefill. Drop --prefill.")
                delay = _retry_delay(error, attempt, opts)
                if delay is None or turn.first_event_at is not None:
                    raise error from (None if quotes_secret(exc, key) else exc)
                self.turns.pop()  # nothing arrived: the attempt leaves no trace but a notice
                self._emit(Retrying(error, attempt + 1, opts.max_retries, delay))
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _run_tools(self, calls: list[ToolUseBlock]) -> list[dict[str, Any]]:
        """Run the requested tools concurrently; every call gets exactly one result."""
        results = await asyncio.gather(*(self._run_one(b) for b in calls))
        return list(results)

    async def _run_one(self, block: ToolUseBlock) -> dict[str, Any]:
        tool = self.conversation.find_tool(block.name, self.options)
        started = time.monotonic()
        try:
            if tool is None:
                outcome = ToolOutcome(content=f"No tool named {block.name!r} is available.",
                                      is_error=True, display=None, elapsed=0.0)
            elif tool.confirm and not await self._ask_approval(block):
                outcome = ToolOutcome(content="The user denied running this tool.",
                                      is_error=True, display=None, elapsed=0.0)
            else:
                self._emit(ToolStatus(block, "running", started_at=started))
                outcome = await run_tool(tool, block.input or {})
        except asyncio.CancelledError:
            outcome = ToolOutcome(content=_STOPPED_RESULT, is_error=True, display=None,
                                  elapsed=time.monotonic() - started)
            self.tool_outcomes[block.id] = outcome
            self._emit(ToolStatus(block, "stopped", outcome))
            raise
        self.tool_outcomes[block.id] = outcome
        self._emit(ToolStatus(block, "error" if outcome.is_error else "done", outcome))
        return outcome.result_param(block.id)

    async def _ask_approval(self, block: ToolUseBlock) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._approvals[block.id] = fut
        self._emit(ToolStatus(block, "awaiting_approval"))
        try:
            return await fut
        finally:
            self._approvals.pop(block.id, None)

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
        self.conversation._commit(base, pending, self.tool_outcomes)

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

    def wait(self) -> "Reply":
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
        return self.turn.tokens_per_second if self.turn else None

    @property
    def message(self) -> dict[str, Any]:
        """The final assistant message as API content (what history keeps)."""
        return {"role": "assistant",
                "content": [p for t in self.turns for p in t.content_params()]}

    def __repr__(self) -> str:
        return f"<Reply {self.status} turns={len(self.turns)} chars={len(self.text)}>"


_ssl_lock = threading.Lock()
_ssl_cache: dict[tuple[str, str], Any] = {}


def _ssl_context() -> Any:
    """One TLS context per process (per SSL_CERT_FILE / SSL_CERT_DIR): building one loads the
    CA bundle, 0.1-0.4 s, which a fresh client per reply would otherwise pay every time."""
    import os

    import httpx2

    key = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _ssl_lock:
        if key not in _ssl_cache:
            _ssl_cache[key] = httpx2.create_ssl_context()
        return _ssl_cache[key]


def _retry_delay(error: ClaudeNBError, attempt: int, opts: Options) -> float | None:
    """Seconds to wait before retrying, or None when not retrying (capped retry-after)."""
    if attempt >= opts.max_retries:
        return None
    if isinstance(error, APIError):
        if not error.retryable:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= opts.retry_cap else None
    elif type(error).__name__ != "ConnectionLost":
        return None
    return min(opts.retry_cap, 0.5 * 2 ** attempt)


class Conversation:
    """A conversation with Claude: options, tools, and a history that stays valid.

    `send(prompt)` returns a `Reply`; nothing runs until it is awaited, iterated or waited on.
    """

    def __init__(self, model: str | None = None, *, system: str | None = None,
                 max_tokens: int | None = None, thinking: int | None = None,
                 temperature: float | None = None, tools: Any = (), web_search: bool = False,
                 client: Any = None, options: Options | None = None, keep_alive: bool = False,
                 **more: Any) -> None:
        base = options or Options()
        self.options = base.merge(model=model, system=system, max_tokens=max_tokens,
                                  thinking=thinking, temperature=temperature,
                                  tools=tuple(as_tool(t) for t in tools) or None,
                                  web_search=web_search or None, **more)
        self.messages: list[dict[str, Any]] = []
        self.replies: list[Reply] = []
        self._carry: list[dict[str, Any]] = []  # tool results owed to the last assistant turn
        self._user_client = client
        self.keep_alive = keep_alive
        self._clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, Any]]" = \
            weakref.WeakKeyDictionary()

    def send(self, prompt: Any, **overrides: Any) -> Reply:
        """Prepare a reply to `prompt` (str or API content blocks)."""
        if isinstance(prompt, str) and not prompt.strip():
            raise ConfigError("The prompt is empty.", title="Nothing to send")
        if "tools" in overrides and overrides["tools"] is not None:
            overrides["tools"] = tuple(as_tool(t) for t in overrides["tools"])
        reply = Reply(self, prompt, self.options.merge(**overrides))
        self.replies.append(reply)
        return reply

    def reset(self) -> None:
        """Start afresh: forget the history (options and tools stay)."""
        self.messages.clear()
        self.replies.clear()
        self._carry.clear()

    async def count_tokens(self, reply: Reply) -> int:
        """Input tokens the reply's request would use (history included), without sending
        it; the reply is withdrawn from the conversation."""
        if reply in self.replies:
            self.replies.remove(reply)
        opts = reply.options
        kwargs = opts.request(self.messages + self._opening_messages(reply.prompt))
        kwargs.pop("max_tokens", None)
        for name in ("temperature", "stream"):
            kwargs.pop(name, None)
        backend = _backend.resolve()
        client = self._client(backend, opts)
        try:
            result = await client.messages.count_tokens(**kwargs)
        except Exception as exc:
            cause = None if quotes_secret(exc, backend.api_key) else exc
            raise redact_secret(classify(exc), backend.api_key) from cause
        finally:
            await self._release([client])
        return int(result.input_tokens)

    def rewind(self, reply: Reply) -> None:
        """Forget `reply` and everything after it (to regenerate an answer)."""
        if reply not in self.replies:
            return
        del self.messages[reply.history_start:]
        self._carry = list(reply._carry_before)
        del self.replies[self.replies.index(reply):]

    def find_tool(self, name: str, options: Options) -> Tool | None:
        return next((t for t in options.tools if t.name == name), None)

    # ---- history

    def _opening_messages(self, prompt: Any) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = list(self._carry)
        if isinstance(prompt, str):
            content.append({"type": "text", "text": prompt})
        else:
            content.extend(prompt)
        return [{"role": "user", "content": content}]

    def _commit(self, base: int, pending: list[dict[str, Any]],
                outcomes: dict[str, ToolOutcome]) -> None:
        """Append a reply's messages; owe a "stopped" result to unanswered tool calls."""
        del self.messages[base:]
        if not pending or len(pending) == 1:
            return  # nothing came back: roll the prompt back too (carry stays owed)
        if pending[-1]["role"] == "user":
            pending.pop()  # tool results whose answer never came: owe them again below
        self._carry = []
        last = pending[-1]
        calls = [b for b in last["content"] if b.get("type") == "tool_use"]
        for call in calls:
            outcome = outcomes.get(call["id"])
            text = outcome.content if outcome is not None else _STOPPED_RESULT
            self._carry.append({"type": "tool_result", "tool_use_id": call["id"],
                                "content": text, "is_error": True if outcome is None
                                else outcome.is_error})
        self.messages.extend(pending)

    # ---- clients

    def _client(self, backend: _backend.Backend, opts: Options, log: Any = None) -> Any:
        """An AsyncAnthropic for this loop: kept per loop when `keep_alive` (a kernel's
        long-lived loop reuses its connections), else fresh and closed after the reply.
        With an event `log`, a fresh client whose transport taps the wire into it."""
        if log is not None:
            import httpx2

            from .inspector import tapped_client

            return tapped_client(log, api_key=backend.api_key, base_url=backend.base_url,
                                 max_retries=0,
                                 timeout=httpx2.Timeout(opts.read_timeout, connect=10.0))
        if self._user_client is not None:
            return self._user_client
        loop = asyncio.get_running_loop()
        key = (backend.base_url, backend.api_key, opts.read_timeout)
        cached = self._clients.get(loop)
        if cached is not None and cached[0] == key:
            return cached[1]
        import anthropic
        import httpx2

        timeout = httpx2.Timeout(opts.read_timeout, connect=10.0)
        client = anthropic.AsyncAnthropic(
            api_key=backend.api_key, base_url=backend.base_url, max_retries=0, timeout=timeout,
            http_client=anthropic.DefaultAsyncHttpxClient(verify=_ssl_context(), timeout=timeout))
        if self.keep_alive:
            self._clients[loop] = (key, client)
        return client

    async def aclose(self) -> None:
        """Close the HTTP client kept for reuse on this loop (`keep_alive`), if any."""
        cached = self._clients.pop(asyncio.get_running_loop(), None)
        if cached is not None:
            await cached[1].close()

    async def _release(self, clients: list[Any]) -> None:
        """Close the clients a reply made that are not kept for reuse."""
        kept = {id(c) for _, c in self._clients.values()}
        for client in clients:
            if client is not self._user_client and id(client) not in kept:
                await client.close()
        clients.clear()
