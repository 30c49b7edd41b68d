"""Streaming Markdown cost: naive full re-render per delta vs `StreamingMarkdown`.

    python benchmarks/bench_markdown.py [--quick]

Builds deterministic, realistic answers (headings, paragraphs with inline markup, lists,
code fences, tables, quotes, math, footnotes) of ~50 KB and ~200 KB, feeds them in 20-char
deltas and prints, for each: whole-stream CPU (time.process_time), per-update CPU p50/p99
over the last 10 % of the answer (CPU, not wall time: other processes do not blur it), and bytes that would go to the browser (naive: the full HTML
on every update; incremental: commit + tail + replace of every patch), both per delta and
coalesced to every N-th delta (~20 Hz at 80 deltas/s). Naive at 200 KB would take minutes,
so it is timed on an evenly spaced sample of updates and extrapolated (marked "~").
Naive uses the same `render`, whose pygments cache spares it re-highlighting: a real naive
renderer would be slower still. Two single-block answers follow: a 50 KB code fence (one
open block, but its tail is built without parsing) and the known worst case, a 50 KB list:
one top-level block that stays open, and is re-parsed per update, until it ends.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claude_nb.render.markdown import StreamingMarkdown, render

DELTA = 20
COALESCE = 4  # 80 deltas/s shown at 20 Hz
NAIVE_SAMPLES = 120

WORDS = (
    "the model stream token render block parser notebook kernel widget output cell answer "
    "commit tail update latency budget browser frame python function value result cache "
    "delta text list table code fence heading quote footnote link image math line"
).split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    decorate = rng.random()
    if decorate < 0.2:
        i = rng.randrange(len(words))
        words[i] = f"**{words[i]}**"
    elif decorate < 0.35:
        i = rng.randrange(len(words))
        words[i] = f"`{words[i]}()`"
    elif decorate < 0.45:
        i = rng.randrange(len(words))
        words[i] = f"[{words[i]}](https://example.com/{words[i]})"
    elif decorate < 0.5:
        words.append("$x_i^2 + y$")
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))


def _code(rng: random.Random) -> str:
    lines = ["```python"]
    for n in range(rng.randint(5, 25)):
        name = rng.choice(WORDS)
        lines.append(f"def {name}_{n}(x, y={n}):\n    return [v * {n} for v in x if v > y]  # {name}")
    return "\n".join(lines + ["```"])


def _table(rng: random.Random) -> str:
    rows = ["| name | value | note |", "|---|---:|:---|"]
    rows += [f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} | {_sentence(rng)} |" for _ in range(rng.randint(3, 10))]
    return "\n".join(rows)


def _list(rng: random.Random) -> str:
    ordered = rng.random() < 0.5
    items = [f"{n + 1}. " if ordered else "- " for n in range(rng.randint(3, 8))]
    return "\n".join(marker + _sentence(rng) for marker in items)


def answer(size: int, seed: int = 7) -> str:
    """A deterministic Markdown answer of about `size` characters."""
    rng = random.Random(seed)
    parts = ["# Answer", _paragraph(rng)]
    kinds = [_paragraph] * 5 + [_code, _code, _table, _list, _list]
    footnote = 0
    while sum(len(p) + 2 for p in parts) < size:
        roll = rng.random()
        if roll < 0.06:
            parts.append(f"## {_sentence(rng)[:-1]}")
        elif roll < 0.09:
            parts.append("> " + _paragraph(rng))
        elif roll < 0.11:
            parts.append("$$\n\\sum_{i=1}^{n} x_i = " + str(rng.randint(1, 99)) + "\n$$")
        elif roll < 0.13:
            footnote += 1
            parts.append(_paragraph(rng) + f"[^{footnote}]")
        else:
            parts.append(rng.choice(kinds)(rng))
    parts += [f"[^{n}]: Footnote {n}: {_sentence(rng)}" for n in range(1, footnote + 1)]
    return "\n\n".join(parts) + "\n"


def one_list(size: int, seed: int = 3) -> str:
    """The worst case: one top-level list whose items hold code, so nothing commits."""
    rng = random.Random(seed)
    items = []
    while sum(len(item) for item in items) < size:
        code = "\n".join("  " + line for line in _code(rng).splitlines())
        items.append(f"- **Step {len(items) + 1}**: {_sentence(rng)}\n\n{code}\n")
    return "\n".join(items)


def one_fence(size: int, seed: int = 5) -> str:
    """A long code block (a whole file in one answer): one block, but a cheap one."""
    rng = random.Random(seed)
    lines = ["Here is the module:", "", "```python"]
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(_code(rng).split("\n", 1)[1].rsplit("\n", 1)[0])
    return "\n".join([*lines, "```", "", "That is all."]) + "\n"


def deltas(text: str) -> Iterator[str]:
    for start in range(0, len(text), DELTA):
        yield text[start : start + DELTA]


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def incremental(text: str, every: int) -> dict[str, Any]:
    """Feed all deltas; a patch is taken (and counted) every `every` deltas."""
    pieces = list(deltas(text))
    end_zone = int(len(pieces) * 0.9)
    stream = StreamingMarkdown()
    sent = 0
    late: list[float] = []
    buffered = ""
    cpu = time.process_time()
    for n, piece in enumerate(pieces):
        buffered += piece
        if (n + 1) % every and n + 1 < len(pieces):
            continue
        t = time.process_time()
        patch = stream.feed(buffered)
        if n >= end_zone:
            late.append(time.process_time() - t)
        buffered = ""
        sent += len(patch.commit) + len(patch.tail) + len(patch.replace or "")
    patch = stream.finish()
    sent += len(patch.commit) + len(patch.tail) + len(patch.replace or "")
    cpu = time.process_time() - cpu
    assert stream.html == render(text), "streamed HTML differs from render()"
    return {"cpu": cpu, "p50": _pct(late, 50), "p99": _pct(late, 99), "bytes": sent, "updates": len(pieces) // every}


def naive(text: str, every: int) -> dict[str, Any]:
    """Full render of all text so far per update; sampled (and extrapolated) when long."""
    prefixes = [len(text)] if not text else list(range(DELTA * every, len(text), DELTA * every)) + [len(text)]
    sample = prefixes
    if len(prefixes) > NAIVE_SAMPLES * 2:
        step = len(prefixes) / NAIVE_SAMPLES
        sample = [prefixes[int(i * step)] for i in range(NAIVE_SAMPLES)]
    cpu_sampled = 0.0
    bytes_sampled = 0
    late: list[float] = []
    for end in sample:
        t0 = time.process_time()
        html = render(text[:end])
        spent = time.process_time() - t0
        cpu_sampled += spent
        bytes_sampled += len(html)
        if end >= 0.9 * len(text):
            late.append(spent)
    scale = len(prefixes) / len(sample)
    return {
        "cpu": cpu_sampled * scale,
        "p50": _pct(late, 50),
        "p99": _pct(late, 99),
        "bytes": bytes_sampled * scale,
        "estimated": scale > 1,
    }


def main() -> None:
    quick = "--quick" in sys.argv
    documents = [("mixed", answer(50_000), (1, COALESCE))]
    if not quick:
        documents += [
            ("mixed", answer(200_000), (1, COALESCE)),
            ("one fence", one_fence(50_000), (COALESCE,)),
            ("one list", one_list(50_000), (COALESCE,)),
        ]
    print(f"deltas of {DELTA} chars; coalesced = one update per {COALESCE} deltas (~20 Hz at 80 deltas/s)")
    print("p50/p99: CPU per update over the last 10 % of the answer; '~' = extrapolated from a sample\n")
    header = f"{'answer':>14} {'mode':<22} {'CPU s':>9} {'p50 ms':>8} {'p99 ms':>8} {'MB sent':>9} {'x final':>8}"
    print(header)
    print("-" * len(header))
    results: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any], int]] = {}
    for kind, text, modes in documents:
        name = f"{kind} {len(text) // 1000}KB"
        final = len(render(text))
        for every in modes:
            label = "per delta" if every == 1 else "coalesced"
            nv = naive(text, every)
            inc = incremental(text, every)
            results[(name, every)] = (nv, inc, final)
            mark = "~" if nv["estimated"] else " "
            for row, r, m in ((f"naive {label}", nv, mark), (f"incremental {label}", inc, " ")):
                print(
                    f"{name:>14} {row:<22} {m}{r['cpu']:>8.2f} {r['p50'] * 1e3:>8.2f} "
                    f"{r['p99'] * 1e3:>8.2f} {m}{r['bytes'] / 1e6:>8.2f} {r['bytes'] / final:>8.1f}"
                )
            print(
                f"{'':>14} {'  ratio naive/incr.':<22} {nv['cpu'] / inc['cpu']:>9.0f}x {'':>17} "
                f"{nv['bytes'] / inc['bytes']:>9.0f}x"
            )
        print(f"{'':>14} final HTML {final / 1e3:.0f} KB\n")
    sys.exit(0 if _targets_met(results, "mixed 50KB" if quick else "mixed 201KB") else 1)


def _targets_met(results: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any], int]], name: str) -> bool:
    """The design targets, on the mixed answer: p99 per update at the end <= 5 ms, whole
    stream >= 40x less CPU than naive, bytes <= 3x the final HTML when coalesced."""
    naive_one, inc_one, _ = results[(name, 1)]
    _, inc_coalesced, final = results[(name, COALESCE)]
    checks = [
        (f"p99 per update at the end of {name} <= 5 ms", inc_one["p99"] <= 0.005),
        (f"whole-stream CPU >= 40x below naive ({name})", naive_one["cpu"] >= 40 * inc_one["cpu"]),
        (f"bytes <= 3x final HTML, coalesced ({name})", inc_coalesced["bytes"] <= 3 * final),
    ]
    for label, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {label}")
    return all(ok for _, ok in checks)


if __name__ == "__main__":
    main()
