"""The demo's answers to tutorial prompts, web search, and everything else (the fallback)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..loopback import Response, ServerToolUse, Text, Turn, WebSearchResult
from ..loopback.script import Block
from .ask import Ask
from .texts import CAPITALS, DEMO_LABEL, KEY_HOWTO
from .tooluse import numbers_in
from .turns import answer, quote, turn

__all__ = ["capital", "fallback", "prime", "text", "web_search"]


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
    return turn(ask, blocks, thinking="(Scripted demo thinking.) The web search tool is "
                 "offered: search first, then answer with citations.",
                 server_tool_use={"web_search_requests": 1})


def capital(ask: Ask, m: re.Match[str]) -> Response:
    country = m.group(1)
    city = CAPITALS.get(country.lower())
    if city is None:
        known = ", ".join(sorted(c.title() for c in CAPITALS))
        return answer(ask, f"The demo's little table has no entry for {country.title()}. "
                      f"It knows: {known}.")
    return answer(ask, f"The capital of {country.title()} is **{city}**.")


def prime(ask: Ask, m: re.Match[str]) -> Response:
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


def text(markdown: str, thinking: str | None = None) -> Callable[[Ask, re.Match[str]], Response]:
    def build(ask: Ask, m: re.Match[str]) -> Response:
        return answer(ask, markdown.format(n=ask.user_turns), thinking=thinking)
    return build


def fallback(ask: Ask) -> Turn:
    extra = ""
    if ask.tools:
        names = ", ".join(f"`{n}`" for n in ask.tools)
        extra = (f"\n\nTools offered: {names}. The demo calls one when the prompt names it "
                 "(or, for `calculator`, contains arithmetic; for `lookup`, an element), or when "
                 "`tool_choice` requires one.")
    return answer(ask, "No API key is set, so claude_nb's **offline demo backend** answered. "
                  "It has scripted answers for the tutorial notebooks' prompts; anything else "
                  f"gets this note. It received:\n\n{quote(ask.prompt)}{extra}\n\n{KEY_HOWTO}")
