"""What `map` is given and what it gives back: prompts made from items, one result per item.

A prompt is a template or a function. In a template only `{x}` (the item) or, for a
DataFrame, `{column}` names are filled in; every other brace stays as written, so JSON
examples in a prompt need no escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..protocol.errors import ConfigError

__all__ = ["ItemResult", "Usage4", "render_prompts"]

_NAME = re.compile(r"\{(\w+)\}")

Usage4 = dict[str, int]  # input, output, cache read, cache write token counts
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens",
                "cache_creation_input_tokens")


@dataclass
class ItemResult:
    """One item's outcome. `status`: done | failed | pending | stopped | expired | canceled.

    `text` is kept even when `data` could not be parsed or validated (then `error` says why).
    """

    label: Any
    prompt: str
    status: str = "pending"
    text: str = ""
    data: Any = None
    usage: Usage4 = field(default_factory=dict)
    cost: float | None = None
    error: str | None = None
    stop_reason: str | None = None
    model: str | None = None
    batch_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "done" and self.error is None

    def __repr__(self) -> str:
        shown = self.error if self.error else self.text
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"<ItemResult {self.label!r} {self.status}: {shown!r}>"


def _fill(template: str, values: dict[str, Any]) -> str:
    return _NAME.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                     template)


def _check_names(template: str, allowed: list[str]) -> None:
    unknown = sorted({n for n in _NAME.findall(template) if n not in allowed})
    if unknown:
        names = ", ".join(f"{{{n}}}" for n in allowed[:20])
        raise ConfigError(
            f"The prompt names {', '.join(f'{{{n}}}' for n in unknown)}, which is not "
            f"available here; it can use {names}.", title="Unknown name in the prompt",
            hint="Pass a function (item -> prompt) to build prompts freely.")


def render_prompts(prompt: str | Callable[[Any], str], items: Any) -> tuple[list[Any], list[str]]:
    """Labels (the input's index, or positions) and one prompt string per item, in order."""
    import sys

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(items, pd.DataFrame):
        labels = list(items.index)
        if callable(prompt):
            texts = [prompt(row) for _, row in items.iterrows()]
        else:
            columns = [str(c) for c in items.columns]
            _check_names(prompt, columns)
            used = [c for c in items.columns if f"{{{c}}}" in prompt]
            texts = [_fill(prompt, dict(zip(map(str, used), row)))
                     for row in items[used].itertuples(index=False, name=None)]
    else:
        if pd is not None and isinstance(items, pd.Series):
            labels, values = list(items.index), list(items.tolist())
        else:
            values = list(items)
            labels = list(range(len(values)))
        if callable(prompt):
            texts = [prompt(v) for v in values]
        else:
            _check_names(prompt, ["x"])
            texts = [_fill(prompt, {"x": v}) for v in values]
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()), None)
    if bad is not None:
        raise ConfigError(f"The prompt for item {labels[bad]!r} is empty or not a string.",
                          title="Nothing to send")
    return labels, texts
