"""JSON answers and prefills on the demo backend.

`--json` / `--schema` send a JSON instruction (and `output_config` with the schema): the demo
answers with one JSON value: with a schema, a valid instance of it (enum values the prompt
mentions, strings that say they are the demo's); without one, a small object that says it
is the demo's. A prefill that opens
JSON (`{"answer":`) is completed into valid JSON; any other prefill is followed by the
labelled answer on a new paragraph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..loopback import Text, Turn
from .ask import Ask
from .texts import DEMO_MODEL
from .tooluse import numbers_in, result_value
from .turns import turn

__all__ = ["DEMO_TEXT", "instance", "json_answer", "json_prefill_answer"]

DEMO_TEXT = "offline demo placeholder, not Claude's answer"
_FORMATS = {"date": "2026-01-01", "date-time": "2026-01-01T00:00:00Z", "time": "00:00:00",
            "email": "demo@example.org", "uri": "https://example.org/demo",
            "uuid": "00000000-0000-4000-8000-000000000000"}


def json_answer(ask: Ask) -> Turn:
    """One JSON value: an instance of the schema, or a small labelled object without one."""
    if ask.schema is not None:
        value = instance(ask.schema, ask.prompt, ask.schema)
    else:
        value = {"demo": True, "model": DEMO_MODEL, "note": DEMO_TEXT,
                 "prompt": ask.prompt[:200], "numbers_in_prompt": numbers_in(ask.prompt)}
        if ask.results:
            value["tool_results"] = [result_value(r) for r in ask.results]
    return _continue(ask, json.dumps(value, ensure_ascii=False, indent=2))


def json_prefill_answer(ask: Ask) -> Turn | None:
    """A prefill that starts JSON (`{`, `[`) is completed into valid JSON."""
    if not ask.prefill.lstrip().startswith(("{", "[")):
        return None
    opened = ask.prefill.rstrip()
    value = json.dumps(DEMO_TEXT)
    closers = _closers(opened)
    if opened.endswith((":", "[")):
        body = f" {value}"
    elif opened.endswith(("{", ",")) and closers.startswith("}"):
        body = f' "demo_note": {value}'
    elif opened.endswith(","):
        body = f" {value}"
    else:
        body = ""
    return _continue(ask, body + closers)


def _continue(ask: Ask, text: str) -> Turn:
    return turn(ask, [Text(text)], thinking="(Scripted demo thinking.) The request asks for "
                "JSON: answer with one JSON value, no prose.")


def _closers(text: str) -> str:
    """The brackets that close what `text` opened (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return ('"' if in_string else "") + "".join(reversed(stack))


def instance(schema: Mapping[str, Any], prompt: str, root: Mapping[str, Any],
             name: str = "") -> Any:
    """A value valid against `schema` (the subset pydantic and people write: types, enum,
    const, $ref, anyOf/oneOf, required, min/max, formats)."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {})
        return instance(target, prompt, root, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if str(v).lower() in prompt.lower()),
                    schema["enum"][0])
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
        if options:
            return instance(options[0], prompt, root, name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props: Mapping[str, Any] = schema.get("properties") or {}
        return {key: instance(spec, prompt, root, key) for key, spec in props.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [instance(schema.get("items") or {}, prompt, root, name) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema, name)


def _number(schema: Mapping[str, Any], kind: str) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = float(low) + (1 if "exclusiveMinimum" in schema else 0)
    if high is not None and value > float(high):
        value = float(high) - (1 if "exclusiveMaximum" in schema else 0)
    return int(value) if kind == "integer" else value


def _string(schema: Mapping[str, Any], name: str) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    text = f"demo {name}".strip() if name else "demo"
    if schema.get("pattern") and not re.fullmatch(schema["pattern"], text):
        text = ""  # the demo can't invent a match for an arbitrary pattern; say so below
    text = text or DEMO_TEXT
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text.ljust(low, ".")
    return text[:int(high)] if high is not None else text
