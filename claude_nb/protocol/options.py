"""Request options: what one reply asks of the API, and how they become SDK arguments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .tooltypes import Tool, web_search_tool

__all__ = ["CACHE_CHOICES", "COMPACT_BETA", "DEFAULT_MODEL", "EFFORTS", "Options",
           "thinking_param"]

DEFAULT_MODEL = "claude-sonnet-4-6"
CACHE_CHOICES = ("5m", "1h", "off")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
COMPACT_BETA = "compact-2026-01-12"


def thinking_param(thinking: int | str) -> dict[str, Any]:
    """`thinking` as the API takes it: "adaptive" (the model decides) or a token budget."""
    if thinking == "adaptive":
        return {"type": "adaptive"}
    return {"type": "enabled", "budget_tokens": int(thinking)}


def _context_management(kwargs: dict[str, Any], compact: bool | int) -> None:
    """Server-side compaction, and history holding compaction blocks, need the beta header;
    both go through the SDK's `extra_*` arguments so the one `messages.create` path stays."""
    carries = any(isinstance(b, dict) and b.get("type") == "compaction"
                  for m in kwargs["messages"] if isinstance(m.get("content"), list)
                  for b in m["content"])
    if not (compact or carries):
        return
    kwargs["extra_headers"] = {**kwargs.get("extra_headers", {}), "anthropic-beta": COMPACT_BETA}
    if compact:
        edit: dict[str, Any] = {"type": "compact_20260112"}
        if compact is not True:
            edit["trigger"] = {"type": "input_tokens", "value": int(compact)}
        edits = [edit]
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}),
                                "context_management": {"edits": edits}}


@dataclass(frozen=True)
class Options:
    """Everything that shapes a request; `merge` applies per-reply overrides."""

    model: str = DEFAULT_MODEL
    system: str | None = None
    max_tokens: int = 8192
    thinking: int | str | None = None  # a budget in tokens, "adaptive", or None = off
    effort: str | None = None  # output_config.effort: low | medium | high | xhigh | max
    cache: str = "5m"  # prompt caching of the conversation prefix: "5m" | "1h" | "off"
    compact: bool | int = False  # server-side compaction (beta); an int: its trigger, in
    # input tokens (the API's default: 150,000)
    temperature: float | None = None
    tools: tuple[Tool, ...] = ()
    web_search: bool = False
    max_iterations: int = 10
    prefill: str | None = None
    json: bool = False  # structured output: the answer is one JSON value
    schema: Any = None  # a JSON schema dict or a pydantic model class (implies json)
    events: bool = False  # record the raw event timeline (claude_nb.run.inspector)
    read_timeout: float = 120.0
    max_retries: int = 2
    retry_cap: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    def merge(self, **overrides: Any) -> Options:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def request(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Keyword arguments for `messages.create(stream=True, ...)`."""
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens,
                                  "messages": messages}
        system = self.system
        if self.json or self.schema is not None:
            from .jsonanswer import JSON_INSTRUCTION

            system = f"{system}\n\n{JSON_INSTRUCTION}" if system else JSON_INSTRUCTION
            schema = self.json_schema()
            if schema is not None:
                kwargs["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        if system:
            kwargs["system"] = system
        if self.thinking:
            kwargs["thinking"] = thinking_param(self.thinking)
        if self.effort:
            kwargs["output_config"] = {**kwargs.get("output_config", {}), "effort": self.effort}
        if self.cache != "off":
            kwargs["cache_control"] = {"type": "ephemeral", "ttl": self.cache}
        if self.temperature is not None and not self.thinking:
            kwargs["temperature"] = self.temperature
        tools = [t.param() for t in self.tools]
        if self.web_search:
            tools.append(web_search_tool())
        if tools:
            kwargs["tools"] = tools
        kwargs.update(self.extra)
        _context_management(kwargs, self.compact)
        return kwargs

    def json_schema(self) -> dict[str, Any] | None:
        """The schema as a dict (a pydantic model class gives its JSON schema)."""
        to_schema = getattr(self.schema, "model_json_schema", None)
        return to_schema() if to_schema is not None else self.schema
