"""A Messages request, read once into what the demo's rules look at."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Ask", "read_request"]


@dataclass
class Ask:
    """What the demo needs to know about a request."""

    request: Mapping[str, Any]
    prompt: str                                     # the last user text ("" if none)
    thinking: bool
    max_tokens: int
    tools: dict[str, Mapping[str, Any]]             # client tools: name -> input_schema
    web_search: bool
    user_turns: int                                 # user messages that carry text
    calls: list[Mapping[str, Any]] = field(default_factory=list)    # tool_use answered now
    results: list[Mapping[str, Any]] = field(default_factory=list)  # their tool_results
    prefill: str = ""           # the assistant text the answer must continue
    forced_tool: str | None = None   # tool_choice "tool" (that name) or "any" (the first)
    no_tools: bool = False      # tool_choice "none"
    schema: Mapping[str, Any] | None = None   # output_config's JSON schema
    wants_json: bool = False    # a schema, or a system prompt asking for JSON

    @property
    def lower(self) -> str:
        return self.prompt.lower()


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if b.get("type") == "text"]


def _blocks(content: Any, kind: str) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return []
    return [b for b in content or [] if b.get("type") == kind]


def _system_text(system: Any) -> str:
    return system if isinstance(system, str) else "\n".join(_texts(system))


def read_request(request: Mapping[str, Any]) -> Ask:
    messages = list(request.get("messages") or [])
    prefill = ""
    if messages and messages[-1].get("role") == "assistant":  # a prefill to continue
        prefill = "".join(_texts(messages[-1].get("content")))
        messages = messages[:-1]
    users = [m for m in messages if m.get("role") == "user"]
    with_text = [m for m in users if "".join(_texts(m.get("content"))).strip()]
    prompt = "\n".join(_texts(with_text[-1].get("content"))).strip() if with_text else ""
    tools: dict[str, Mapping[str, Any]] = {}
    web_search = False
    for tool in request.get("tools") or []:
        if str(tool.get("type", "")).startswith("web_search"):
            web_search = True
        elif tool.get("name"):
            tools[str(tool["name"])] = tool.get("input_schema") or {}
    thinking = (request.get("thinking") or {}).get("type") in ("enabled", "adaptive")
    ask = Ask(request, prompt, thinking, int(request.get("max_tokens") or 1024), tools,
              web_search, len(with_text), prefill=prefill)
    _read_tool_choice(ask, request.get("tool_choice") or {})
    fmt = (request.get("output_config") or {}).get("format") or {}
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), Mapping):
        ask.schema = fmt["schema"]
    ask.wants_json = ask.schema is not None or bool(
        re.search(r"\bJSON\b", _system_text(request.get("system"))))
    last = messages[-1] if messages else {}
    results = _blocks(last.get("content"), "tool_result") if last.get("role") == "user" else []
    if results and not "".join(_texts(last.get("content"))).strip() and len(messages) >= 2:
        ask.results = results
        ask.calls = _blocks(messages[-2].get("content"), "tool_use")
    return ask


def _read_tool_choice(ask: Ask, choice: Mapping[str, Any]) -> None:
    kind = choice.get("type")
    if kind == "none":
        ask.no_tools = True
    elif kind == "tool" and choice.get("name") in ask.tools:
        ask.forced_tool = str(choice["name"])
    elif kind == "any" and ask.tools:
        ask.forced_tool = next(iter(ask.tools))
