"""Request options: what one reply asks of the API, and how they become SDK arguments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .tooltypes import Tool, web_search_tool

__all__ = ["Options", "DEFAULT_MODEL"]

DEFAULT_MODEL = "claude-sonnet-4-6"


@dataclass(frozen=True)
class Options:
    """Everything that shapes a request; `merge` applies per-reply overrides."""

    model: str = DEFAULT_MODEL
    system: str | None = None
    max_tokens: int = 8192
    thinking: int | None = None  # budget in tokens; None = off
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

    def merge(self, **overrides: Any) -> "Options":
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
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": int(self.thinking)}
        if self.temperature is not None and not self.thinking:
            kwargs["temperature"] = self.temperature
        tools = [t.param() for t in self.tools]
        if self.web_search:
            tools.append(web_search_tool())
        if tools:
            kwargs["tools"] = tools
        kwargs.update(self.extra)
        return kwargs

    def json_schema(self) -> dict[str, Any] | None:
        """The schema as a dict (a pydantic model class gives its JSON schema)."""
        to_schema = getattr(self.schema, "model_json_schema", None)
        return to_schema() if to_schema is not None else self.schema
