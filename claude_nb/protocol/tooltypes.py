"""Client tool values: a tool's definition, one call's outcome, the server web search tool.

Values only: deriving a `Tool` from a Python function (`claude_nb.run.toolschema`) and running
one (`claude_nb.run.toolrun`) belong to the run loop; options and events hold these values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .status import ToolStatus

__all__ = ["STOPPED_RESULT", "Tool", "ToolDefinitionError", "ToolOutcome", "check_name",
           "web_search_tool"]

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
STOPPED_RESULT = "Stopped by the user before this tool ran to completion."
"""The `tool_result` a call cancelled by Stop gets (now, or owed with the next prompt)."""


class ToolDefinitionError(ConfigError, ValueError):
    """A function cannot become a tool (bad name, no docstring, unschematisable type, unknown
    name in `--tools`, …). A `ConfigError`, so it renders as one card without a traceback."""

    title = "Tool definition"



@dataclass(frozen=True)
class Tool:
    """A client tool: the API definition plus the callable that runs it.

    `bind` turns a `tool_use` input dict into `(args, kwargs)` for `fn`, validating and
    coercing it against `fn`'s signature and raising `InvalidToolInput`; `tool()` sets it.
    A `Tool` built by hand without one calls `fn(**input)` as is.
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    fn: Callable[..., Any]
    confirm: bool = False
    timeout: float | None = 60.0
    bind: Callable[[Mapping[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        check_name(self.name)

    def param(self) -> dict[str, Any]:
        """The tool definition for the API's `tools` parameter."""
        return {"name": self.name, "description": self.description,
                "input_schema": self.input_schema}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (so a decorated function stays usable)."""
        return self.fn(*args, **kwargs)


def check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ToolDefinitionError(
            f"invalid tool name {name!r}: tool names must be 1-64 characters of letters, digits,"
            " '_' or '-' (pass name=... to choose one)"
        )


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call.

    `content` is sent back as the `tool_result` content (a str or a list of content
    blocks); `display` is what a UI shows: a str, JSON-able data, or a mimebundle dict
    (keys like "text/html", "image/png"). `elapsed` is in seconds. `status` says how the
    call ended (every sink shows it); left out, it is `error` or `done` from `is_error`.
    """

    content: str | list[dict[str, Any]]
    is_error: bool = False
    display: Any = None
    elapsed: float = 0.0
    status: ToolStatus = None  # type: ignore[assignment]  # None: derived in __post_init__

    def __post_init__(self) -> None:
        if self.status is None:
            status = ToolStatus.ERROR if self.is_error else ToolStatus.DONE
            object.__setattr__(self, "status", status)

    def result_param(self, tool_use_id: str) -> dict[str, Any]:
        """The `tool_result` block for the next user message."""
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id}
        if self.content != "":
            block["content"] = self.content
        if self.is_error:
            block["is_error"] = True
        return block


def web_search_tool(
    max_uses: int | None = None,
    *,
    allowed_domains: list[str] | None = None,
    blocked_domains: list[str] | None = None,
    user_location: Mapping[str, Any] | None = None,
    type: str = "web_search_20250305",
) -> dict[str, Any]:
    """The server-side web search tool definition (runs on Anthropic's side, not here).

    `type` picks the tool version; `web_search_20250305` works with every current model,
    the SDK also knows `web_search_20260209` and `web_search_20260318`.
    """
    param: dict[str, Any] = {"type": type, "name": "web_search"}
    if max_uses is not None:
        param["max_uses"] = max_uses
    if allowed_domains is not None:
        param["allowed_domains"] = list(allowed_domains)
    if blocked_domains is not None:
        param["blocked_domains"] = list(blocked_domains)
    if user_location is not None:
        param["user_location"] = dict(user_location)
    return param
