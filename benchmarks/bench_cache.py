"""Input cost of a 30-turn notebook conversation, with and without prompt caching.

    python benchmarks/bench_cache.py [--quick] [--turns N] [--context TOKENS] [--model ID]

A notebook conversation resends its whole history with every cell. This runs the same
`Conversation` (real SDK, real HTTP) twice against a LoopbackServer in this process: once with
caching on (the default: top-level `cache_control`, 5 min) and once with `cache="off"`. The
system prompt stands in for notebook context (a data frame summary, ~`--context` tokens);
each prompt is a typical short question and the loopback's echo answer adds ~100 tokens per
turn. The server's own usage accounting (plain input, cache writes 5 m / 1 h, cache reads;
a prefix shorter than 1024 tokens is not cached) gives the tokens; `protocol/pricing.py`
gives the USD. Printed: per-run token totals and input cost, and the cached/uncached ratio
(deterministic: no timing involved).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claude_nb.loopback import LoopbackServer
from claude_nb.protocol.pricing import cost
from claude_nb.protocol.transcript import Usage
from claude_nb.run.session import Conversation

QUESTIONS = ["How many rows and columns does df have?", "Which columns have missing values?",
             "Plot revenue by month.", "Why is March so high?", "Group by region and sum.",
             "Which region grew fastest?", "Fit a linear trend to revenue.",
             "What is the R squared?", "Show the residuals.", "Any outliers?"]


def _context(tokens: int) -> str:
    row = "| 2026-03-{d:02d} | north | 18,240.50 | 312 | 0.07 |\n"
    head = ("You help with pandas in a Jupyter notebook. The user's data frame `df`:\n\n"
            "| date | region | revenue | orders | discount |\n|---|---|---|---|---|\n")
    rows = "".join(row.format(d=d % 28 + 1) for d in range(tokens * 4 // len(row)))
    return head + rows


def run(turns: int, context: int, model: str, cache: str) -> tuple[Usage, float]:
    """The conversation's summed usage and its input-side cost in USD."""
    with LoopbackServer() as srv:
        os.environ["ANTHROPIC_BASE_URL"] = srv.base_url
        os.environ["ANTHROPIC_API_KEY"] = "sk-bench-not-a-key"
        conv = Conversation(model=model, system=_context(context), cache=cache)
        total = Usage()
        for i in range(turns):
            reply = conv.send(QUESTIONS[i % len(QUESTIONS)]).wait()
            if reply.status != "done":
                raise SystemExit(f"turn {i + 1} failed: {reply.error}")
            total.add(reply.usage)
    input_only = Usage(input_tokens=total.input_tokens,
                       cache_creation_input_tokens=total.cache_creation_input_tokens,
                       cache_creation_1h=total.cache_creation_1h,
                       cache_read_input_tokens=total.cache_read_input_tokens)
    usd = cost(input_only, model)
    if usd is None:
        raise SystemExit(f"no price for {model} in protocol/pricing.py")
    return total, usd


def _line(label: str, usage: Usage, usd: float) -> str:
    return (f"{label:<12} input {usage.input_tokens:>9,}  cache write "
            f"{usage.cache_creation_input_tokens:>8,}  cache read "
            f"{usage.cache_read_input_tokens:>9,}  input cost ${usd:.4f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--context", type=int, default=3000, help="tokens of notebook context")
    parser.add_argument("--model", default="claude-sonnet-4-6")
    parser.add_argument("--quick", action="store_true", help="15 turns instead of 30")
    args = parser.parse_args(argv)
    if args.quick:
        args.turns = min(args.turns, 15)
    cached, cached_usd = run(args.turns, args.context, args.model, "5m")
    plain, plain_usd = run(args.turns, args.context, args.model, "off")
    ratio = cached_usd / plain_usd
    print(f"{args.turns}-turn conversation, ~{args.context:,} tokens of notebook context, "
          f"{args.model} list prices")
    print(_line("cache 5m", cached, cached_usd))
    print(_line("cache off", plain, plain_usd))
    print(f"input cost with caching / without: {ratio:.3f} ({1 / ratio:.1f}x cheaper)")
    return {"turns": args.turns, "cached_usd": cached_usd, "uncached_usd": plain_usd,
            "ratio": ratio}


if __name__ == "__main__":
    main()
