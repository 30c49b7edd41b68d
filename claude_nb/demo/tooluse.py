"""Tools on the demo backend: which offered tool a prompt asks for, with what input (derived
from the tool's JSON schema and the prompt), and the answer after the results come back."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..loopback import Response, Text, ToolUse, Turn
from .ask import Ask
from .texts import DEMO_LABEL
from .turns import turn

__all__ = ["after_tools", "by_name", "calculator", "expression_in", "fill", "forced", "lookup",
           "numbers_in"]

_FUNCS = ("sqrt|log10|log2|log|exp|asin|acos|atan|sin|cos|tan|abs|round|floor|ceil|"
          "factorial|pi|tau")
_EXPR = re.compile(rf"(?:\d+(?:\.\d+)?|\b(?:{_FUNCS})\b|\*\*|[-+*/%^(),.]|[ \t])+")
_NUMBER_WORDS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
     "eleven", "twelve"])}
_NUMBER = r"-?\d+(?:\.\d+)?|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b"


def expression_in(prompt: str) -> str | None:
    """The longest arithmetic-looking run in the prompt, e.g. `17 * 23 + sqrt(144)`."""
    found = [m.group().strip(" ,.") for m in _EXPR.finditer(prompt)]
    found = [s for s in found if re.search(r"\d", s) and re.search(r"[-+*/%^]|\w\(", s)]
    return max(found, key=len) if found else None


def _parse_number(word: str) -> float:
    word = word.lower()
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    return float(word) if "." in word else int(word)


def numbers_in(prompt: str) -> list[float]:
    return [_parse_number(m.group()) for m in re.finditer(_NUMBER, prompt, re.IGNORECASE)]


def _elements_in(prompt: str) -> list[str]:
    from .examples import ELEMENTS

    lower = prompt.lower()
    hits = [(lower.find(row["name"].lower()), row["name"].lower()) for row in ELEMENTS
            if re.search(rf"\b{row['name'].lower()}\b", lower)]
    return [name for _, name in sorted(hits)]


def calculator(ask: Ask, m: re.Match[str]) -> Response | None:
    expr = expression_in(ask.prompt)
    if expr is None:
        return None
    return _tool_turn(ask, "I'll work that out with the `calculator` tool.",
                      [ToolUse("calculator", {"expression": expr})],
                      thinking="(Scripted demo thinking.) Arithmetic: use the calculator tool "
                               f"on `{expr}` rather than doing it in my head.")


def lookup(ask: Ask, m: re.Match[str]) -> Response | None:
    names = _elements_in(ask.prompt)
    if not names:
        return None
    weighs = re.search(r"heav|mass|weigh|light", ask.lower)
    inputs = [{"name": n, "field": "atomic_mass"} if weighs else {"name": n} for n in names]
    what = " and ".join(f"**{n}**" for n in names)
    return _tool_turn(ask, f"Let me look up {what} in the element table.",
                      [ToolUse("lookup", i) for i in inputs],
                      thinking="(Scripted demo thinking.) The `lookup` tool has these elements; "
                               "call it once per element, in parallel.")


def _tool_turn(ask: Ask, intro: str, calls: list[ToolUse], thinking: str) -> Turn:
    """The calls, after a labelled intro (none when JSON is asked for: the answer's text must
    be one JSON value, so the footer's demo badge labels it)."""
    lead = [] if ask.wants_json else [Text(f"{DEMO_LABEL}\n\n{intro}\n\n")]
    return turn(ask, [*lead, *calls], "tool_use", thinking)


def by_name(ask: Ask) -> Response | None:
    """Any other offered tool whose name (or a word of it) the prompt mentions."""
    for name, schema in ask.tools.items():
        words = [w for w in re.split(r"[_\-\s]+", name.lower()) if len(w) >= 3]
        if any(re.search(rf"\b{re.escape(w)}", ask.lower) for w in words):
            return _call(ask, name, schema, f"The prompt mentions `{name}`, which is offered")
    return None


def forced(ask: Ask) -> Response | None:
    """`tool_choice` {"type": "tool"} or {"type": "any"}: the API must call a tool; so does
    the demo (on the first request of a turn: after the results it answers)."""
    if ask.forced_tool is None or ask.results:
        return None
    name = ask.forced_tool
    return _call(ask, name, ask.tools[name], f"`tool_choice` requires a call to `{name}`")


def _call(ask: Ask, name: str, schema: Mapping[str, Any], why: str) -> Turn:
    call = ToolUse(name, fill(schema, ask.prompt, name))
    return _tool_turn(ask, f"I'll call the `{name}` tool for that (the demo script derived its "
                           "input from the tool's schema and your prompt).",
                      [call], thinking=f"(Scripted demo thinking.) {why}: call it.")


# ---------------------------------------------------------------- inputs from a schema

_EXPRESSION_NAMES = re.compile(r"expr|formula|equation|calc|math|arith", re.IGNORECASE)


def fill(schema: Mapping[str, Any], prompt: str, tool: str = "") -> dict[str, Any]:
    """A tool input from its JSON schema and the prompt: numbers next to a parameter's name
    ("6 sides") or else in order, quoted text, an arithmetic expression for an
    expression-like string, a proper noun after "in/for/of" or the request itself for other
    strings; optional parameters only when the prompt gives a value."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    numbers = numbers_in(prompt)
    named: dict[str, float] = {}
    for name in props:
        stem = re.escape(name.lower().rstrip("s"))
        m = re.search(rf"({_NUMBER})\s+(?:\w+\s+)?{stem}", prompt, re.IGNORECASE)
        if m and _type(props[name]) in ("integer", "number"):
            named[name] = _parse_number(m.group(1))
            if named[name] in numbers:
                numbers.remove(named[name])
    quoted = re.findall(r"[\"“'‘]([^\"”'’]+)[\"”'’]", prompt)
    expr = expression_in(prompt)
    strings = [n for n, spec in props.items() if _type(spec) == "string" and "enum" not in spec]
    out: dict[str, Any] = {}
    for name, spec in props.items():
        value = _value(name, spec, name in required, prompt, tool, named, numbers, quoted,
                       expr if (_EXPRESSION_NAMES.search(f"{name} {spec.get('description', '')}")
                                or len(strings) == 1) else None)
        if value is not None:
            out[name] = value
    return out


def _value(name: str, spec: Mapping[str, Any], need: bool, prompt: str, tool: str,
           named: dict[str, float], numbers: list[float], quoted: list[str],
           expr: str | None) -> Any:
    """One parameter's value (None: leave it out). Consumes `numbers` and `quoted`."""
    kind = _type(spec)
    if spec.get("enum"):
        mentioned = [v for v in spec["enum"] if str(v).lower() in prompt.lower()]
        return mentioned[0] if mentioned else (spec["enum"][0] if need else None)
    if kind in ("integer", "number"):
        got = named[name] if name in named else (numbers.pop(0) if numbers else None)
        if got is None and need:
            got = spec.get("default", spec.get("minimum", 1))
        return int(got) if got is not None and kind == "integer" else got
    if kind == "string":
        if quoted:
            return quoted.pop(0)
        if expr:
            return expr
        return _subject(prompt, tool) if need else None
    if kind == "boolean":
        return bool(re.search(rf"\b{re.escape(name)}\b", prompt, re.IGNORECASE)) if need else None
    if kind == "array":
        item = _type(spec.get("items") or {})
        if item in ("integer", "number"):
            values: list[Any] = [int(n) if item == "integer" else n for n in numbers]
        else:
            values = list(quoted) or [_subject(prompt, tool)]
        return values if values or need else None
    if kind == "object" and need:
        return fill(spec, prompt, tool)
    return None


def _type(spec: Mapping[str, Any]) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    for option in spec.get("anyOf") or []:  # Optional[X]
        if not kind and option.get("type") != "null":
            kind = option.get("type")
    return str(kind or "")


def _subject(prompt: str, tool: str) -> str:
    """What the request is about: without the sentence or phrase that asks for the tool,
    and a proper noun after "in/for/of/at" when there is one ("weather in Paris")."""
    sentences = re.split(r"(?<=[.!?])\s+", prompt.strip())
    words = [w for w in re.split(r"[_\-\s]+", tool.lower()) if len(w) >= 3]
    kept = [s for s in sentences if not any(w in s.lower() for w in words)] or sentences
    text = " ".join(kept)
    if tool:
        text = re.sub(rf"(?i)^\s*(?:please\s+)?(?:use|call|run|ask)\s+(?:the\s+)?`?"
                      rf"{re.escape(tool)}`?(?:\s+tool)?\s*(?:to|for|on|with|and)?\s*", "", text)
    noun = re.search(r"\b(?:in|for|of|at|about|on)\s+((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*)",
                     text)
    return noun.group(1) if noun else (text.strip(" ?.!") or prompt)


# ---------------------------------------------------------------- after tool results

def result_value(result: Mapping[str, Any]) -> Any:
    """A `tool_result`'s content as the value it encodes (its JSON, else its text)."""
    content = result.get("content", "")
    if isinstance(content, list):
        content = "\n".join(b.get("text", "") for b in content if b.get("type") == "text")
    try:
        return json.loads(content)
    except (TypeError, ValueError):
        return content


def after_tools(ask: Ask) -> Response:
    calls = {c.get("id"): c for c in ask.calls}
    pairs = [(calls.get(r.get("tool_use_id"), {}), r) for r in ask.results]
    lines: list[str] = []
    retry: list[ToolUse] = []
    masses: list[tuple[str, float]] = []
    for call, result in pairs:
        name, given = call.get("name", "?"), call.get("input") or {}
        value, failed = result_value(result), bool(result.get("is_error"))
        if failed and name == "calculator" and "^" in str(given.get("expression", "")):
            retry.append(ToolUse("calculator",
                                 {"expression": str(given["expression"]).replace("^", "**")}))
            lines.append(f"The calculator said: `{value}`. Python writes powers as `**`; "
                         "trying again.")
        elif failed:
            lines.append(f"The `{name}` tool reported an error: `{value}`. I can't give a "
                         "result without it.")
        elif name == "calculator":
            lines.append(f"`{given.get('expression')}` = **{_number(value)}** (computed by "
                         "your `calculator` tool).")
        elif name == "lookup" and isinstance(value, dict):
            if "atomic_mass" in value and len(value) == 2:
                masses.append((str(value.get("name")), float(value["atomic_mass"])))
            lines.append(_element_line(value))
        else:
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            lines.append(f"`{name}` returned `{shown[:300]}`.")
    if retry:
        return turn(ask, [Text("\n\n".join(lines) + "\n\n"), *retry], "tool_use")
    if len(masses) >= 2:
        (a, ma), (b, mb) = max(masses, key=lambda x: x[1]), min(masses, key=lambda x: x[1])
        lines.append(f"So a {a.lower()} atom is about **{ma / mb:.2f}×** as heavy as a "
                     f"{b.lower()} atom ({ma:g} u vs {mb:g} u).")
    lines.append("_(The demo backend wrote this sentence around your tool's real result.)_")
    return turn(ask, [Text("\n\n".join(lines) + "\n")])


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}" if abs(value) < 1e6 else f"{int(value):,}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _element_line(record: Mapping[str, Any]) -> str:
    fields = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in record.items() if k != "name")
    return f"**{record.get('name')}**: {fields}."
