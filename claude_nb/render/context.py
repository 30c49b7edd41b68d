"""What a block renderer knows beyond the block: the session's view of each tool call
(`ToolView`: status, timing, rendered result) and the rendering context `Ctx` (live or
static, citation numbering, tool views, server results, whether the turn has ended).

Tool statuses are `protocol.status.ToolStatus` values, decided by the run loop and read
here: the live cards and the saved output show the same word because they read one field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol.blocks import (
    Block,
    ServerToolResultBlock,
    ServerToolUseBlock,
    ToolUseBlock,
)
from .citations import Citations
from .toolresults import tool_result_html, tool_result_text

__all__ = ["Ctx", "Renderer", "ToolView", "lookup"]


@dataclass(frozen=True)
class ToolView:
    """What the session knows about a tool call: status, timing and its rendered result.

    `result_html` must come from `tool_result_html` (it is inserted as is); `result_text`
    is its Markdown / plain-text counterpart. `started_at` (monotonic) makes a running
    card's timer tick from the right moment.
    """

    status: str = "waiting"
    elapsed: float | None = None
    result_html: str = ""
    result_text: str = ""
    started_at: float | None = None

    @classmethod
    def from_result(cls, content: Any, *, is_error: bool = False, status: str | None = None,
                    elapsed: float | None = None) -> ToolView:
        return cls(status or ("error" if is_error else "done"), elapsed,
                   tool_result_html(content, is_error), tool_result_text(content))

    @classmethod
    def from_outcome(cls, status: str, outcome: Any = None, *,
                     started_at: float | None = None) -> ToolView:
        """From a `claude_nb.protocol.tooltypes.ToolOutcome` (or None while there is no result)."""
        if outcome is None:
            return cls(status, started_at=started_at)
        shown = outcome.display if outcome.display is not None else outcome.content
        return cls.from_result(shown, is_error=bool(outcome.is_error), status=status,
                               elapsed=outcome.elapsed)


@dataclass
class Ctx:
    live: bool = False
    cites: Citations = field(default_factory=Citations)
    list_sources: bool = True
    tools: Mapping[str, ToolView] = field(default_factory=dict)
    results: Mapping[str, ServerToolResultBlock] | None = None  # None: turn not known
    ended: bool = False  # the turn is over (finished, stopped or failed)

    def tool_status(self, block: ToolUseBlock) -> ToolView:
        view = self.tools.get(block.id)
        if view is not None:
            return view
        if self.live and not block.done:
            server = isinstance(block, ServerToolUseBlock)
            return ToolView("running" if server else "waiting", started_at=block.started_at)
        if block.input is None:
            return ToolView("incomplete")
        if isinstance(block, ServerToolUseBlock):
            return ToolView(self._server_status(block))
        return ToolView("not_run" if self.ended else "waiting")

    def _server_status(self, block: ServerToolUseBlock) -> str:
        if self.results is None:
            return "done"
        result = self.results.get(block.id)
        if result is None:
            return "stopped" if self.ended else "running"
        return "error" if result.is_error else "done"


Renderer = Callable[[Any, Ctx], str]


def lookup(table: Mapping[type[Block], Any], block: Block) -> Any:
    return next(table[cls] for cls in type(block).__mro__ if cls in table)
