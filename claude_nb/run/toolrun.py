"""Running one tool call: approval, input validation, the call itself (sync functions on a
worker thread, so the event loop stays free for Stop), its timeout and its cancellation.

`run_call` takes one `tool_use` block to exactly one `ToolOutcome`, announcing each state as
a `ToolChanged` event; `run_tool` is the call proper, usable on its own.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..protocol import events
from ..protocol.status import ToolStatus
from ..protocol.tooltypes import STOPPED_RESULT, Tool, ToolOutcome
from ..protocol.blocks import ToolUseBlock
from .toolresults import convert_result, error_content, plain_text
from .toolschema import InvalidToolInput

__all__ = ["run_call", "run_tool"]


async def run_call(tool: Tool | None, block: ToolUseBlock, outcomes: dict[str, ToolOutcome],
                   emit: Callable[[events.Event], None],
                   approve: Callable[[ToolUseBlock], Awaitable[bool]]) -> dict[str, Any]:
    """Run one `tool_use` block; its outcome goes into `outcomes` (also when Stop cancels
    it, then re-raised) and its `tool_result` block is returned."""
    started = time.monotonic()
    try:
        if tool is None:
            outcome = ToolOutcome(content=f"No tool named {block.name!r} is available.",
                                  is_error=True, display=None, elapsed=0.0)
        elif tool.confirm and not await approve(block):
            outcome = ToolOutcome(content="The user denied running this tool.",
                                  is_error=True, display=None, elapsed=0.0,
                                  status=ToolStatus.DENIED)
        else:
            emit(events.ToolChanged(block, ToolStatus.RUNNING, started_at=started))
            outcome = await run_tool(tool, block.input or {})
    except asyncio.CancelledError:
        outcome = ToolOutcome(content=STOPPED_RESULT, is_error=True, display=None,
                              elapsed=time.monotonic() - started,
                              status=ToolStatus.STOPPED)
        outcomes[block.id] = outcome
        emit(events.ToolChanged(block, outcome.status, outcome))
        raise
    outcomes[block.id] = outcome
    emit(events.ToolChanged(block, outcome.status, outcome))
    return outcome.result_param(block.id)


class _Raised:
    """An exception raised by the tool itself (kept apart from our own timeout)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def run_tool(tool: Tool, input: Mapping[str, Any]) -> ToolOutcome:
    """Run `tool` on one `tool_use` input.

    Never raises for the tool's own failures (invalid input, exceptions, timeout): those
    become `is_error` outcomes with a short message for the model. Cancellation (Stop)
    propagates. A sync function keeps running on its worker thread after a timeout or a
    cancellation (Python threads cannot be killed); its result is then discarded.
    """
    start = time.perf_counter()

    def error(message: Any, status: ToolStatus = ToolStatus.ERROR) -> ToolOutcome:
        text = message if isinstance(message, str) else plain_text(message)
        return ToolOutcome(message, True, text, time.perf_counter() - start, status)

    if not isinstance(input, Mapping):
        return error(f"Invalid input for tool {tool.name!r}: expected a JSON object, "
                     f"got {input!r:.200}")
    try:
        args, kwargs = tool.bind(input) if tool.bind is not None else ((), dict(input))
    except InvalidToolInput as e:
        return error(str(e))

    try:
        result = await asyncio.wait_for(_call(tool.fn, args, kwargs), tool.timeout)
    except asyncio.TimeoutError:
        return error(f"Tool {tool.name!r} timed out after {tool.timeout:g} s",
                     ToolStatus.TIMEOUT)
    if isinstance(result, _Raised):
        return error(error_content(result.exc))
    try:
        content, display = convert_result(result)
    except Exception as e:  # a broken __str__ / _repr_html_ must not end the turn
        return error(f"Tool {tool.name!r} returned a value that could not be converted: "
                     f"{error_content(e)}")
    return ToolOutcome(content, False, display, time.perf_counter() - start)


async def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        if _is_async(fn):
            result = fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result
    except (Exception, SystemExit) as e:
        return _Raised(e)


def _is_async(fn: Any) -> bool:
    call = fn if inspect.isroutine(fn) or isinstance(fn, functools.partial) else type(fn).__call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)
