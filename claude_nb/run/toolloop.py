"""The tool loop: one reply's requests, from the first to the last.

Stream a turn (retrying failures that left no trace), and when it stopped for `tool_use`, run
the requested tools concurrently, send their results and stream the next turn, up to
`max_iterations` requests. A `pause_turn` (a long server-tool turn) is resumed as is.
Everything here runs inside `Reply.run`, on the reply's own event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from ..protocol.errors import (
    APIError,
    ConfigError,
    classify,
    quotes_secret,
    redact_secret,
)
from ..protocol.events import Notice, Retrying, ToolChanged, TurnBegan
from ..protocol.status import ToolStatus
from ..protocol.blocks import ToolUseBlock
from ..protocol.transcript import Turn
from . import backend as _backend
from . import models
from .cachemarkers import create_stream
from .retry import retry_delay
from .toolrun import run_call

if TYPE_CHECKING:
    from .session import Reply

__all__ = ["run_turns"]


async def run_turns(reply: Reply, pending: list[dict[str, Any]]) -> None:
    """Request, stream, run tools, repeat; `pending` collects the messages the reply adds."""
    conv, opts = reply.conversation, reply.options
    prefill = (opts.prefill or "").rstrip()  # the API rejects trailing whitespace here
    for iteration in range(opts.max_iterations):
        request = conv.messages + pending
        if prefill and iteration == 0:
            request = request + [{"role": "assistant", "content": prefill}]
        turn = await _stream_turn(reply, request, iteration, prefill if iteration == 0 else "")
        content = turn.content_params()
        reply._kept = turn
        if content:
            pending.append({"role": "assistant", "content": content})
        if turn.stop_reason == "pause_turn" and content:
            continue  # the server paused a long server-tool turn: resume it as is
        calls = turn.tool_uses if turn.stop_reason == "tool_use" else []
        if not calls:
            return
        results = await _run_tools(reply, calls)
        pending.append({"role": "user", "content": results})
    raise ConfigError(f"The tool loop reached its cap of {opts.max_iterations} requests.",
                      title="Tool loop stopped",
                      hint="Raise it with `max_iterations=` or `%config Claude.max_iterations`.")


async def _stream_turn(reply: Reply, messages: list[dict[str, Any]], iteration: int,
                       prefill: str = "") -> Turn:
    opts = reply.options
    kwargs, fitted = opts.request(messages), False
    notes: list[str] = []
    for attempt in range(opts.max_retries + 1):
        reply.backend = _backend.resolve()
        client = reply.conversation.clients.get(reply.backend, opts.read_timeout,
                                                reply.events_log)
        reply._clients_used.append(client)
        if not fitted:
            kwargs, notes = await _fit(reply, client, kwargs)
            fitted = True
        turn = Turn(requested_at=time.monotonic(), prefill=prefill,
                    notes=notes if iteration == 0 else [])
        reply.turns.append(turn)
        reply._emit(TurnBegan(turn, iteration))
        for text in turn.notes if attempt == 0 else []:
            reply._emit(Notice(text))
        try:
            stream = await create_stream(client, kwargs)
            turn.request_id = stream.response.headers.get("request-id", "")
            async with stream:
                async for event in stream:
                    for change in turn.apply(event, time.monotonic()):
                        reply._emit(change)
            for change in turn.close(time.monotonic()):
                reply._emit(change)
            return turn
        except Exception as exc:
            key = reply.backend.api_key  # never quoted back in what the user sees
            error = redact_secret(classify(exc), key)
            if prefill and isinstance(error, APIError) and error.status == 400:
                error.hint = ("The API rejected the request; with a prefill this usually "
                              "means this model or setting (e.g. extended thinking) does "
                              "not accept an assistant prefill. Drop --prefill.")
            delay = retry_delay(error, attempt, retries=opts.max_retries, cap=opts.retry_cap)
            if delay is None or turn.first_event_at is not None:
                raise error from (None if quotes_secret(exc, key) else exc)
            reply.turns.pop()  # nothing arrived: the attempt leaves no trace but a notice
            reply._emit(Retrying(error, attempt + 1, opts.max_retries, delay))
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def _fit(reply: Reply, client: Any,
               kwargs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The request fitted to the model's capabilities (what cannot be sent fails here), with
    notices of conversions and of a deprecated model. The Models API is asked only when the
    request needs it (bypassing an `--events` tap, which records the stream alone)."""
    model = str(kwargs["model"])
    if not models.needs_capabilities(kwargs):
        info = models.cached_info(str(getattr(client, "base_url", "")), model)
    else:
        if reply.events_log is not None and reply.backend is not None:
            client = reply.conversation.clients.get(reply.backend, reply.options.read_timeout)
            reply._clients_used.append(client)
        info = await models.lookup(client, model)
    kwargs, notices = models.fit(kwargs, info)
    warning = models.deprecation_warning(info) if info is not None else None
    return kwargs, [*notices, *([warning] if warning else [])]


async def _run_tools(reply: Reply, calls: list[ToolUseBlock]) -> list[dict[str, Any]]:
    """Run the requested tools concurrently; every call gets exactly one result."""
    conv = reply.conversation

    async def approve(block: ToolUseBlock) -> bool:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        reply._approvals[block.id] = fut
        reply._emit(ToolChanged(block, ToolStatus.AWAITING_APPROVAL))
        try:
            return await fut
        finally:
            reply._approvals.pop(block.id, None)

    results = await asyncio.gather(*(
        run_call(conv.find_tool(b.name, reply.options), b, reply.tool_outcomes, reply._emit,
                 approve)
        for b in calls))
    return list(results)
