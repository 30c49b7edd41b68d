"""The demo's rule tables and `DemoScript`, which answers a request with the first rule
that matches (see `backend.py` for the order)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..loopback import Response
from . import answers, errors, structured, tooluse
from . import context as nbctx
from .ask import Ask, read_request
from .texts import BIAS_VARIANCE, COMPREHENSION, COUNT, FOR_LOOP, GREETING, HEDGEHOG, STORY
from .turns import DELAY, paced

__all__ = ["ERROR_RULES", "RULES", "TOOL_RULES", "DemoScript", "Rule"]

Build = Callable[[Ask, "re.Match[str]"], "Response | None"]


@dataclass(frozen=True)
class Rule:
    """`pattern` is searched in the last user text (case-insensitive); `tool` must be offered.

    `example` is a prompt that the rule answers (the tutorials use these; tests check them).
    """

    name: str
    pattern: str
    build: Build
    example: str
    tool: str | None = None

    def match(self, ask: Ask) -> Response | None:
        if self.tool is not None and self.tool not in ask.tools:
            return None
        m = re.search(self.pattern, ask.prompt, re.IGNORECASE | re.DOTALL)
        return self.build(ask, m) if m else None


_SIM = r"\bsimulat\w*\b.*?"  # error rules need the word "simulate": no one hits one by chance

ERROR_RULES: tuple[Rule, ...] = (
    Rule("mid-stream overloaded error", _SIM + r"(overload|mid-?stream)",
         errors.midstream_overloaded, "Simulate an overloaded error in the middle of the answer."),
    Rule("HTTP 529 overloaded", _SIM + r"\b529\b",
         errors.http(529, "overloaded_error", "Overloaded"), "Simulate an HTTP 529."),
    Rule("HTTP 429, then a successful retry", _SIM + r"(rate.?limit|\b429\b)", errors.RateLimit(),
         "Simulate a rate limit."),
    Rule("HTTP 401", _SIM + r"(auth|\b401\b|bad key|invalid key)",
         errors.http(401, "authentication_error", "invalid x-api-key"),
         "Simulate an authentication error."),
    Rule("HTTP 400", _SIM + r"(invalid request|bad request|\b400\b)",
         errors.http(400, "invalid_request_error", "messages.0.content: the request is invalid"),
         "Simulate an invalid request."),
    Rule("HTTP 500", _SIM + r"(server error|internal|\b500\b)",
         errors.http(500, "api_error", "Internal server error"), "Simulate a server error."),
    Rule("dropped connection", _SIM + r"(drop|connection|network)", errors.dropped,
         "Simulate a dropped connection."),
    Rule("stalled stream", _SIM + r"(stall|timeout|time out|hang)", errors.stalled,
         "Simulate a stalled stream."),
)

TOOL_RULES: tuple[Rule, ...] = (
    Rule("calculator", r"calculat|\d\s*(?:[-+*/%^]|\*\*)\s*\d|sqrt|what is \d", tooluse.calculator,
         "What is 17 * 23 + sqrt(144)?", tool="calculator"),
    Rule("element lookup", r"[a-z]", tooluse.lookup,
         "How heavy is a gold atom compared with a silver atom?", tool="lookup"),
)

_CTX = nbctx.examples()
_CONTEXT = r'<context name="{}" kind="{}">'

RULES: tuple[Rule, ...] = (
    # notebook context (claude_nb.context): answers built from what the request carries
    Rule("fix the failing cell", _CONTEXT.format("last error", "error") + r".*corrected cell",
         nbctx.fix, _CTX["fix"]),
    Rule("explain the failing cell", _CONTEXT.format("last error", "error"), nbctx.error,
         _CTX["error"]),
    Rule("figure sent as an image", _CONTEXT.format('[^"]+', "image"), nbctx.figure,
         _CTX["figure"]),
    Rule("DataFrame summary", _CONTEXT.format('[^"]+', "DataFrame"), nbctx.dataframe,
         _CTX["dataframe"]),
    Rule("bias-variance table", r"bias.{0,3}variance", answers.text(BIAS_VARIANCE, thinking=(
        "(Scripted demo thinking.) A compact explanation with a table: define both terms, "
        "contrast underfitting and overfitting, give the error decomposition, end with a tiny "
        "code example.")), "Explain the bias–variance trade-off with a small table."),
    Rule("list comprehension", r"list comprehension", answers.text(COMPREHENSION),
         "What is a Python list comprehension? Show one example."),
    Rule("follow-up: as a for loop", r"for.?loop", answers.text(FOR_LOOP),
         "Now rewrite that example as a for loop."),
    Rule("hedgehog names", r"hedgehog", answers.text(HEDGEHOG),
         "Give three names for a pet hedgehog."),
    Rule("count to ten", r"count.*\b(ten|10)\b", answers.text(COUNT),
         "Count from one to ten in words."),
    Rule("prime check", r"\bprime\b|\bwhat about \d+", answers.prime,
         "Is 1001 a prime number? Think it through."),
    Rule("long story (for Stop)", r"long story|lighthouse", answers.text(STORY),
         "Tell me a long story about a lighthouse keeper."),
    Rule("capital city", r"capital of ([a-z]+)", answers.capital, "What is the capital of France?"),
    Rule("greeting", r"^\s*(hello|hi|hey)\b|what can you do", answers.text(GREETING),
         "Hello! What can you do?"),
)


class DemoScript:
    """The demo's `auto_reply`: request JSON in, a paced scripted response out.

    Holds the little state the demo has (which requests were already rate limited once), so
    each server gets its own. `delay` paces the events (tests use 0).
    """

    def __init__(self, delay: float = DELAY) -> None:
        self.delay = delay
        self.error_rules = tuple(
            Rule(r.name, r.pattern, errors.RateLimit(), r.example, r.tool)
            if isinstance(r.build, errors.RateLimit) else r for r in ERROR_RULES)

    def __call__(self, request: Mapping[str, Any]) -> Response:
        return paced(self.respond(read_request(request))[1], self.delay)

    def respond(self, ask: Ask) -> tuple[str, Response]:
        """(name of the rule that answered, its response)."""
        if ask.results:
            if ask.wants_json:  # --json/--schema with tools: the final answer is JSON too
                return "JSON answer after tool results", structured.json_answer(ask)
            return "after tool results", tooluse.after_tools(ask)
        for rule in self.error_rules:
            if (found := rule.match(ask)) is not None:
                return rule.name, found
        if ask.tools and not ask.no_tools:
            for rule in TOOL_RULES:
                if (found := rule.match(ask)) is not None:
                    return rule.name, found
            if (found := tooluse.by_name(ask)) is not None:
                return "tool named in the prompt", found
            if (found := tooluse.forced(ask)) is not None:
                return "tool_choice forces a call", found
        if (found := structured.json_prefill_answer(ask)) is not None:
            return "JSON prefill completed", found
        if ask.wants_json:
            return "JSON answer", structured.json_answer(ask)
        if ask.web_search:
            return "web search", answers.web_search(ask)
        for rule in RULES:
            if (found := rule.match(ask)) is not None:
                return rule.name, found
        return "fallback", answers.fallback(ask)
