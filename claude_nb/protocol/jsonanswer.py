"""Structured output as data: the instruction that asks for JSON, and parsing the answer.

While streaming, the text is parsed in jiter's partial mode (the parser the SDK itself uses
for tool input), so a view can grow as values arrive; at the end the text must parse whole.
Drawing the value is `claude_nb.render.jsontree`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import OutputError

__all__ = ["JSON_INSTRUCTION", "parse_final", "parse_partial"]

JSON_INSTRUCTION = ("Respond with a single valid JSON value only: no prose before or after it "
                    "and no Markdown code fence.")

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_partial(text: str) -> Any:
    """The value so far, or None when nothing parses yet."""
    from jiter import from_json

    body = _unfenced(text).strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    if not body:
        return None
    try:
        return from_json(body.encode(), partial_mode="trailing-strings")
    except ValueError:
        return None


def parse_final(text: str, schema: Any = None) -> Any:
    """The answer as Python data; a pydantic model class as `schema` validates into it."""
    body = _unfenced(text).strip()
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise OutputError(f"The answer is not valid JSON ({exc}). The text is kept as it came.",
                          title="Invalid JSON answer",
                          hint="Run again, or lower the temperature / add a schema.") from None
    validate = getattr(schema, "model_validate", None)
    if validate is not None:
        try:
            return validate(value)
        except ValueError as exc:
            raise OutputError(f"The JSON does not match {schema.__name__}: {exc}",
                              title="JSON does not match the schema") from None
    return value
