"""The offline demo backend: the loopback server with scripted, clearly labelled answers.

Used when no API key is set (or `CLAUDE_NB_BACKEND=demo`). It answers the tutorial notebooks'
prompts with realistic streams (Markdown with code and tables, thinking, calls to the offered
tools, web search with citations, errors on request) and any other prompt with a short note on
demo mode. Every answer says it is a demo and names `DEMO_MODEL` in `message_start`; nothing
pretends to be a model. Streams are paced like a real one (so Stop can be tried) but short.

How a request is answered (`DemoScript.__call__`, first match wins):

1. the last user message holds only `tool_result`s: a final turn that uses the results;
2. a prompt asking to *simulate* an error: that error (`ERROR_RULES`);
3. tools are offered and the prompt asks for one: a `tool_use` turn (`TOOL_RULES`);
4. the web search tool is offered: a search, results and a cited answer (example URLs);
5. a tutorial prompt: its scripted answer (`RULES`);
6. anything else: what demo mode is and how to set a key.

The request is honoured: extended thinking adds a thinking block (with a signature),
`max_tokens` cuts a long answer (`stop_reason: "max_tokens"`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..loopback import (
    LoopbackServer, Pause, Response, ServerToolUse, Stream, Text, Thinking, ToolUse, Turn,
    WebSearchResult, estimate_tokens, http_error,
)
from ..loopback.script import Block
from ..protocol.sse import parse_frame

__all__ = ["make_demo_server", "demo_reply", "DemoScript", "DEMO_MODEL", "DEMO_LABEL",
           "RULES", "ERROR_RULES", "TOOL_RULES"]

DEMO_MODEL = "demo (offline)"
DEMO_LABEL = "_Offline demo: a scripted answer from claude_nb, not Claude._"
DELAY = 0.025  # seconds between events: visibly streaming, yet a whole tutorial runs fast
CHUNK = 20     # characters per text delta

KEY_HOWTO = (
    "To talk to Claude, set a key and run the cell again (no restart needed):\n\n"
    "- `export ANTHROPIC_API_KEY=sk-ant-...` before starting Jupyter, or\n"
    "- `claude_nb.set_api_key()` in a cell (a password prompt; the key is not saved in the "
    "notebook).\n")


# ---------------------------------------------------------------- the request, read once

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


def read_request(request: Mapping[str, Any]) -> Ask:
    messages = list(request.get("messages") or [])
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
              web_search, len(with_text))
    last = messages[-1] if messages else {}
    results = _blocks(last.get("content"), "tool_result") if last.get("role") == "user" else []
    if results and not "".join(_texts(last.get("content"))).strip() and len(messages) >= 2:
        ask.results = results
        ask.calls = _blocks(messages[-2].get("content"), "tool_use")
    return ask


# ---------------------------------------------------------------- building answers

def _turn(ask: Ask, blocks: Sequence[Block], stop_reason: str = "end_turn",
          thinking: str | None = None, **usage: Any) -> Turn:
    """A demo turn: thinking first when the request enabled it, cut at max_tokens."""
    blocks = list(blocks)
    if ask.thinking and not ask.results:
        blocks.insert(0, Thinking(thinking or _GENERIC_THINKING))
    blocks, stop_reason = _cut(blocks, ask.max_tokens, stop_reason)
    return Turn(blocks=blocks, stop_reason=stop_reason, model=DEMO_MODEL, chunk=CHUNK,
                usage={"input_tokens": estimate_tokens(ask.request), **usage})


def _cut(blocks: list[Block], max_tokens: int, stop_reason: str) -> tuple[list[Block], str]:
    """Honour `max_tokens` (~4 characters a token) like the API: the answer stops mid-text."""
    budget = max_tokens * 4
    out: list[Block] = []
    for block in blocks:
        size = len(getattr(block, "text", "") or getattr(block, "thinking", ""))
        if isinstance(block, Text) and size > budget:
            out.append(Text(block.text[:max(budget, 1)], block.citations))
            return out, "max_tokens"
        budget -= size
        out.append(block)
    return out, stop_reason


def answer(ask: Ask, markdown: str, thinking: str | None = None) -> Turn:
    """A labelled Markdown answer."""
    return _turn(ask, [Text(f"{DEMO_LABEL}\n\n{markdown.strip()}\n")], thinking=thinking)


def paced(response: Response, delay: float = DELAY) -> Response:
    """Turns become streams with `delay` between events; a scripted Stream gets `delay` too."""
    if isinstance(response, Turn):
        return response.stream().with_delay(delay)
    if isinstance(response, Stream):
        return response.with_delay(delay)
    return response


def _quote(text: str, limit: int = 400) -> str:
    text = text if len(text) <= limit else text[:limit].rstrip() + " …"
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()) or "> (nothing)"


_GENERIC_THINKING = ("(Scripted demo thinking, not a model's.) The request enabled extended "
                     "thinking, so the demo backend streams this block first, with a "
                     "signature, the way the API does. Then the answer.")


# ---------------------------------------------------------------- errors on request

def _midstream_overloaded(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer starts normally and streams a few words. Then the "
            "server reports that it is overloaded, in the middle of the stream, as the API "
            "sometimes does. What arrived before the error stays visible")
    stream = _turn(ask, [Text(text)]).stream()
    # cut after the last text delta: no content_block_stop, message_delta or message_stop
    return stream.error_after(len(stream.frames) - 3, "overloaded_error", "Overloaded")


def _http(status: int, kind: str, message: str,
          headers: Mapping[str, str] | None = None) -> Callable[[Ask, re.Match[str]], Response]:
    def build(ask: Ask, m: re.Match[str]) -> Response:
        return http_error(status, kind, f"{message} (simulated by the demo backend)", headers)
    build.__name__ = f"_http_{status}"
    return build


def _dropped(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer streams for a moment, then the connection drops "
            "without a proper end, as a flaky network would do it. The text so far is kept")
    stream = _turn(ask, [Text(text)]).stream()
    return stream.drop_after(len(stream.frames) - 3)


def _stalled(ask: Ask, m: re.Match[str]) -> Response:
    text = (f"{DEMO_LABEL}\n\nThis answer stalls here for 15 seconds …\n\n… and then goes on. "
            "With a read timeout shorter than that (`%config Claude.read_timeout = 2`, or "
            "`Conversation(read_timeout=2)`) the client gives up and says the stream stalled; "
            "otherwise press Stop, or just wait.")
    stream = _turn(ask, [Text(text)]).stream()
    return stream.insert_after(_frames_until(stream, "15 seconds …"), Pause(15.0))


def _frames_until(stream: Stream, marker: str) -> int:
    """How many frames it takes until the streamed text contains `marker`."""
    text = ""
    for count, raw in enumerate(stream.frames, 1):
        data = parse_frame(raw)[1] or {}
        text += (data.get("delta") or {}).get("text", "") if isinstance(data, dict) else ""
        if marker in text:
            return count
    return len(stream.frames)


class _RateLimit:
    """429 with `retry-after: 1` for the first request with this body; a retry gets through."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, ask: Ask, m: re.Match[str]) -> Response:
        key = json.dumps(ask.request.get("messages"), sort_keys=True)
        with self._lock:
            first = key not in self._seen
            self._seen.add(key)
        if first:
            return http_error(429, "rate_limit_error", "This request would exceed the rate "
                              "limit (simulated by the demo backend)", {"retry-after": "1"})
        return answer(ask, "The first attempt got **429 Too Many Requests** with "
                      "`retry-after: 1`; claude_nb waited that second (showing a notice) and "
                      "retried, and this retry got through. Retries are capped: "
                      "`%config Claude.max_retries` and `Claude.retry_cap`.")


# ---------------------------------------------------------------- tools

_FUNCS = ("sqrt|log10|log2|log|exp|asin|acos|atan|sin|cos|tan|abs|round|floor|ceil|"
          "factorial|pi|tau")
_EXPR = re.compile(rf"(?:\d+(?:\.\d+)?|\b(?:{_FUNCS})\b|\*\*|[-+*/%^(),.]|[ \t])+")
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def expression_in(prompt: str) -> str | None:
    """The longest arithmetic-looking run in the prompt, e.g. `17 * 23 + sqrt(144)`."""
    found = [m.group().strip(" ,.") for m in _EXPR.finditer(prompt)]
    found = [s for s in found if re.search(r"\d", s) and re.search(r"[-+*/%^]|\w\(", s)]
    return max(found, key=len) if found else None


def numbers_in(prompt: str) -> list[float]:
    out: list[float] = []
    for m in re.finditer(r"-?\d+(?:\.\d+)?|\b[a-z]+\b", prompt.lower()):
        word = m.group()
        if word in _NUMBER_WORDS:
            out.append(_NUMBER_WORDS[word])
        elif word[-1].isdigit():
            out.append(float(word) if "." in word else int(word))
    return out


def _elements_in(prompt: str) -> list[str]:
    from .examples import ELEMENTS

    lower = prompt.lower()
    hits = [(lower.find(row["name"].lower()), row["name"].lower()) for row in ELEMENTS
            if re.search(rf"\b{row['name'].lower()}\b", lower)]
    return [name for _, name in sorted(hits)]


def _calculator(ask: Ask, m: re.Match[str]) -> Response | None:
    expr = expression_in(ask.prompt)
    if expr is None:
        return None
    return _tool_turn(ask, "I'll work that out with the `calculator` tool.",
                      [ToolUse("calculator", {"expression": expr})],
                      thinking="(Scripted demo thinking.) Arithmetic: use the calculator tool "
                               f"on `{expr}` rather than doing it in my head.")


def _lookup(ask: Ask, m: re.Match[str]) -> Response | None:
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
    return _turn(ask, [Text(f"{DEMO_LABEL}\n\n{intro}\n\n"), *calls], "tool_use", thinking)


def _fill(schema: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """Inputs from a JSON schema: numbers from the prompt in order, quoted text for strings."""
    numbers = numbers_in(prompt)
    quoted = re.findall(r"[\"“'‘]([^\"”'’]+)[\"”'’]", prompt)
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name, spec in props.items():
        kind = spec.get("type")
        if "enum" in spec and spec["enum"]:
            value: Any = spec["enum"][0]
        elif kind in ("integer", "number") and numbers:
            value = numbers.pop(0)
            value = int(value) if kind == "integer" else value
        elif kind == "string" and (quoted or name in required):
            value = quoted.pop(0) if quoted else prompt
        elif kind == "boolean" and name in required:
            value = False
        elif kind in ("integer", "number") and name in required:
            value = 1
        else:
            continue
        out[name] = value
    return out


def _by_name(ask: Ask) -> Response | None:
    """Any other offered tool whose name (or a word of it) the prompt mentions."""
    for name, schema in ask.tools.items():
        words = [w for w in re.split(r"[_\-\s]+", name.lower()) if len(w) >= 3]
        if any(re.search(rf"\b{re.escape(w)}", ask.lower) for w in words):
            return _tool_turn(ask, f"I'll call the `{name}` tool for that.",
                              [ToolUse(name, _fill(schema, ask.prompt))],
                              thinking=f"(Scripted demo thinking.) The prompt mentions "
                                       f"`{name}`, which is offered: call it.")
    return None


# ---------------------------------------------------------------- after tool results

def _result_value(result: Mapping[str, Any]) -> Any:
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
        value, failed = _result_value(result), bool(result.get("is_error"))
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
        return _turn(ask, [Text("\n\n".join(lines) + "\n\n"), *retry], "tool_use")
    if len(masses) >= 2:
        (a, ma), (b, mb) = max(masses, key=lambda x: x[1]), min(masses, key=lambda x: x[1])
        lines.append(f"So a {a.lower()} atom is about **{ma / mb:.2f}×** as heavy as a "
                     f"{b.lower()} atom ({ma:g} u vs {mb:g} u).")
    lines.append("_(The demo backend wrote this sentence around your tool's real result.)_")
    return _turn(ask, [Text("\n\n".join(lines) + "\n")])


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}" if abs(value) < 1e6 else f"{int(value):,}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _element_line(record: Mapping[str, Any]) -> str:
    fields = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in record.items() if k != "name")
    return f"**{record.get('name')}**: {fields}."


# ---------------------------------------------------------------- web search

def web_search(ask: Ask) -> Turn:
    topic = re.sub(r"\s+", " ", ask.prompt).strip(" ?.!")[:80] or "the question"
    srv = ServerToolUse("web_search", {"query": topic})
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")[:40] or "topic"
    pages = [
        {"title": f"{topic} — an overview (made-up demo page)",
         "url": f"https://example.org/demo/{slug}",
         "snippet": "Placeholder search results are invented by the demo backend."},
        {"title": "Why example.org? (made-up demo page)",
         "url": "https://example.com/demo/about-example-domains",
         "snippet": "example.org and example.com are reserved for documentation."},
    ]
    results = [{"type": "web_search_result", "title": p["title"], "url": p["url"],
                "encrypted_content": "RGVtbyBwYWdlOyBub3QgYSByZWFsIHNlYXJjaCByZXN1bHQ=",
                "page_age": None} for p in pages]

    def cite(page: Mapping[str, str]) -> dict[str, Any]:
        return {"type": "web_search_result_location", "cited_text": page["snippet"],
                "url": page["url"], "title": page["title"],
                "encrypted_index": "RGVtbyBjaXRhdGlvbiBpbmRleA=="}

    blocks: list[Block] = [
        Text(f"{DEMO_LABEL}\n\nI'll search the web for that.\n\n"),
        srv,
        WebSearchResult(srv.id, results),
        Text("The demo backend can't reach the web, so the results above are placeholders. "
             "What they show is the shape of a real answer: "),
        Text("every claim that comes from a page carries a citation", [cite(pages[0])]),
        Text(", and the links point to the pages the search returned, here "),
        Text("reserved example domains", [cite(pages[1])]),
        Text(". With an API key, the same cell searches for real.\n"),
    ]
    return _turn(ask, blocks, thinking="(Scripted demo thinking.) The web search tool is "
                 "offered: search first, then answer with citations.",
                 server_tool_use={"web_search_requests": 1})


# ---------------------------------------------------------------- tutorial answers

BIAS_VARIANCE = """\
The **bias–variance trade-off** names the two ways a model can miss:

| | high bias (underfitting) | high variance (overfitting) |
|---|---|---|
| training error | high | low |
| test error | high | high |
| typical cause | model too simple | model too flexible for the data |
| usual remedy | richer model, more features | more data, regularisation, simpler model |

The expected test error splits into **bias² + variance + noise**: making a model more
flexible lowers bias but raises variance, so the best model sits in between. A quick way to
see it is to fit polynomials of growing degree:

```python
import numpy as np

rng = np.random.default_rng(0)
x = np.linspace(0, 1, 30)
y = np.sin(2 * np.pi * x) + rng.normal(0, 0.2, x.size)
for degree in (1, 4, 12):          # 1 underfits, 12 overfits
    coeffs = np.polyfit(x, y, degree)
    print(degree, np.mean((np.polyval(coeffs, x) - y) ** 2))
```
"""

COMPREHENSION = """\
A **list comprehension** builds a list from an iterable in one expression:
`[expression for item in iterable if condition]`.

```python
squares = [n * n for n in range(10) if n % 2 == 0]
print(squares)  # [0, 4, 16, 36, 64]
```
"""

FOR_LOOP = """\
Following up on the previous turn (this request carried the whole conversation, {n} user
messages so far), here is the same example as a plain `for` loop:

```python
squares = []
for n in range(10):
    if n % 2 == 0:
        squares.append(n * n)
print(squares)  # [0, 4, 16, 36, 64]
```

The comprehension is shorter; the loop is easier to extend with more steps.
"""

HEDGEHOG = """\
Three names for a pet hedgehog:

1. **Sonic**: the obvious classic.
2. **Pokey**: honest about the quills.
3. **Mrs. Tiggy-Winkle**: after Beatrix Potter's washerwoman hedgehog.
"""

COUNT = "One, two, three, four, five, six, seven, eight, nine, ten."

STORY = """\
## The keeper of Gull Rock

Every evening at dusk, Maren climbed the hundred and twelve steps of the Gull Rock lighthouse,
counting them out loud the way her grandfather had taught her. At the top she wound the clock
that turned the lens, trimmed the wick, and wrote the weather in a book that nobody else read.

The ships never knew her name. They saw only the light: one long flash, two short, every
twenty seconds, the signature of Gull Rock written on the dark. Fishermen set their courses by
it, and the ferry captain raised his cap to it out of habit, even on the nights he could see
nothing else.

One November the storm came in sideways. The rain hit the glass so hard that the light seemed
to bend, and the wind found every crack in the old tower. Near midnight the clockwork jammed.
The lens stopped turning, and the light became a steady stare instead of a signal, which to a
ship in the storm meant *nothing* — or worse, the wrong rock.

Maren wedged her lantern between two gears and turned the lens by hand. One long, two short.
She counted under her breath, the way she counted the stairs, and kept counting while her arms
burned and the storm went on. At four in the morning the wind dropped. At six the sky went
grey, then silver, and she saw the ferry rounding the point, its deck lights still on, safe.

She never told anyone. In the weather book she wrote only: *Wind NW, gale. Clock jammed 23:50,
turned by hand. Visibility poor. All ships passed.* The next morning she oiled the gears,
fixed the spring, and climbed down the hundred and twelve steps to make her tea.

Years later a new keeper found the book and read that line, and understood what it meant.
He added one under it, in his own hand: *Thank you.*
"""

GREETING = """\
Hello! This is the **offline demo backend** answering, not Claude. It can show you how
claude_nb works — streaming Markdown, thinking and tool cards, the footer with tokens and
timings, and the **Stop** button — but its answers are scripted.

Try asking it to *use the calculator: what is 2 ** 32?* (when the chat has the `calculator`
tool), or to *explain the bias–variance trade-off with a small table*.
"""

CAPITALS = {"france": "Paris", "japan": "Tokyo", "kenya": "Nairobi", "peru": "Lima",
            "canada": "Ottawa", "italy": "Rome", "germany": "Berlin", "spain": "Madrid",
            "australia": "Canberra", "brazil": "Brasília", "india": "New Delhi",
            "egypt": "Cairo"}


def _capital(ask: Ask, m: re.Match[str]) -> Response:
    country = m.group(1)
    city = CAPITALS.get(country.lower())
    if city is None:
        known = ", ".join(sorted(c.title() for c in CAPITALS))
        return answer(ask, f"The demo's little table has no entry for {country.title()}. "
                      f"It knows: {known}.")
    return answer(ask, f"The capital of {country.title()} is **{city}**.")


def _prime(ask: Ask, m: re.Match[str]) -> Response:
    nums = [int(n) for n in numbers_in(ask.prompt) if isinstance(n, int) and 1 < n < 10**9]
    n = nums[0] if nums else 1001
    factor = next((p for p in range(2, int(n ** 0.5) + 1) if n % p == 0), None)
    steps = []
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31):
        if p * p > n:
            break
        steps.append(f"{n} ÷ {p} " + ("= " + str(n // p) + " exactly." if n % p == 0
                                       else "leaves a remainder."))
        if n % p == 0:
            break
    thinking = (f"(Scripted demo thinking, computed by the demo script.) Is {n} prime? Try the "
                f"primes up to √{n} ≈ {n ** 0.5:.1f}. " + " ".join(steps) +
                (f" So {n} = {factor} × {n // factor}." if factor else
                 f" No divisor up to √{n}, so it is prime."))
    if factor:
        text = (f"No: **{n} is not prime**. {n} = {factor} × {n // factor}"
                + (f" = {_factorize(n)}." if _factorize(n).count("×") > 1 else "."))
    else:
        text = f"Yes: **{n} is prime**; no prime up to √{n} ≈ {n ** 0.5:.1f} divides it."
    return answer(ask, text, thinking=thinking)


def _factorize(n: int) -> str:
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return " × ".join(map(str, out))


def _text(markdown: str, thinking: str | None = None) -> Callable[[Ask, re.Match[str]], Response]:
    def build(ask: Ask, m: re.Match[str]) -> Response:
        return answer(ask, markdown.format(n=ask.user_turns), thinking=thinking)
    return build


def fallback(ask: Ask) -> Turn:
    extra = ""
    if ask.tools:
        names = ", ".join(f"`{n}`" for n in ask.tools)
        extra = (f"\n\nTools offered: {names}. The demo calls one when the prompt names it "
                 "(or, for `calculator`, contains arithmetic; for `lookup`, an element).")
    return answer(ask, "No API key is set, so claude_nb's **offline demo backend** answered. "
                  "It has scripted answers for the tutorial notebooks' prompts; anything else "
                  f"gets this note. It received:\n\n{_quote(ask.prompt)}{extra}\n\n{KEY_HOWTO}")


# ---------------------------------------------------------------- the rule tables

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
    Rule("mid-stream overloaded error", _SIM + r"(overload|mid-?stream)", _midstream_overloaded,
         "Simulate an overloaded error in the middle of the answer."),
    Rule("HTTP 529 overloaded", _SIM + r"\b529\b", _http(529, "overloaded_error", "Overloaded"),
         "Simulate an HTTP 529."),
    Rule("HTTP 429, then a successful retry", _SIM + r"(rate.?limit|\b429\b)", _RateLimit(),
         "Simulate a rate limit."),
    Rule("HTTP 401", _SIM + r"(auth|\b401\b|bad key|invalid key)",
         _http(401, "authentication_error", "invalid x-api-key"),
         "Simulate an authentication error."),
    Rule("HTTP 400", _SIM + r"(invalid request|bad request|\b400\b)",
         _http(400, "invalid_request_error", "messages.0.content: the request is invalid"),
         "Simulate an invalid request."),
    Rule("HTTP 500", _SIM + r"(server error|internal|\b500\b)",
         _http(500, "api_error", "Internal server error"), "Simulate a server error."),
    Rule("dropped connection", _SIM + r"(drop|connection|network)", _dropped,
         "Simulate a dropped connection."),
    Rule("stalled stream", _SIM + r"(stall|timeout|time out|hang)", _stalled,
         "Simulate a stalled stream."),
)

TOOL_RULES: tuple[Rule, ...] = (
    Rule("calculator", r"calculat|\d\s*(?:[-+*/%^]|\*\*)\s*\d|sqrt|what is \d", _calculator,
         "What is 17 * 23 + sqrt(144)?", tool="calculator"),
    Rule("element lookup", r"[a-z]", _lookup,
         "How heavy is a gold atom compared with a silver atom?", tool="lookup"),
)

RULES: tuple[Rule, ...] = (
    Rule("bias-variance table", r"bias.{0,3}variance", _text(BIAS_VARIANCE, thinking=(
        "(Scripted demo thinking.) A compact explanation with a table: define both terms, "
        "contrast underfitting and overfitting, give the error decomposition, end with a tiny "
        "code example.")), "Explain the bias–variance trade-off with a small table."),
    Rule("list comprehension", r"list comprehension", _text(COMPREHENSION),
         "What is a Python list comprehension? Show one example."),
    Rule("follow-up: as a for loop", r"for.?loop", _text(FOR_LOOP),
         "Now rewrite that example as a for loop."),
    Rule("hedgehog names", r"hedgehog", _text(HEDGEHOG), "Give three names for a pet hedgehog."),
    Rule("count to ten", r"count.*\b(ten|10)\b", _text(COUNT), "Count from one to ten in words."),
    Rule("prime check", r"\bprime\b|\bwhat about \d+", _prime,
         "Is 1001 a prime number? Think it through."),
    Rule("long story (for Stop)", r"long story|lighthouse", _text(STORY),
         "Tell me a long story about a lighthouse keeper."),
    Rule("capital city", r"capital of ([a-z]+)", _capital, "What is the capital of France?"),
    Rule("greeting", r"^\s*(hello|hi|hey)\b|what can you do", _text(GREETING),
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
            Rule(r.name, r.pattern, _RateLimit(), r.example, r.tool)
            if isinstance(r.build, _RateLimit) else r for r in ERROR_RULES)

    def __call__(self, request: Mapping[str, Any]) -> Response:
        return paced(self.respond(read_request(request))[1], self.delay)

    def respond(self, ask: Ask) -> tuple[str, Response]:
        """(name of the rule that answered, its response)."""
        if ask.results:
            return "after tool results", after_tools(ask)
        for rule in self.error_rules:
            if (found := rule.match(ask)) is not None:
                return rule.name, found
        for rule in TOOL_RULES:
            if (found := rule.match(ask)) is not None:
                return rule.name, found
        if ask.tools and (found := _by_name(ask)) is not None:
            return "tool named in the prompt", found
        if ask.web_search:
            return "web search", web_search(ask)
        for rule in RULES:
            if (found := rule.match(ask)) is not None:
                return rule.name, found
        return "fallback", fallback(ask)


_default = DemoScript()


def demo_reply(request: Mapping[str, Any]) -> Response:
    """Answer one Messages request in demo mode (see the module docstring for the rules)."""
    return _default(request)


def make_demo_server(delay: float = DELAY) -> LoopbackServer:
    return LoopbackServer(auto_reply=DemoScript(delay))
