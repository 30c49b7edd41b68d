"""Kernel-side memory: peak and retained (tracemalloc) for a 1 MB answer and a 100-turn chat.

    python benchmarks/bench_memory.py [--quick] [--size CHARS] [--turns N]

The loopback server runs in a child process, so only the client side is traced (what a
kernel holds). Each path first runs the eight small answers (imports, lexers, caches), then:
`peak` is tracemalloc's peak above the level before the run, `retained` what is still
allocated after `gc.collect()` while the user-visible objects (conversation / chat) are
kept alive. Paths, for one answer of `--size` characters (default 1 MB, the Markdown
generator of bench_markdown.py, 20-char deltas):

  sdk raw       baseline: AsyncAnthropic `messages.create(stream=True)`, iterate the events,
                keep the text (the least any consumer keeps)
  sdk helper    baseline: `messages.stream()`, then `get_final_message()` (the SDK's snapshot)
  conversation  claude_nb `Conversation.send()` + `await reply` (transcript, history; no UI)
  %%claude      what the magic runs: `display.stream_live` (LiveView + Presenter, coalesced
                ops, static HTML/Markdown/plain bundle at the end, widget closed) with
                `display()` stubbed out
  Chat          the chat widget (LiveView kept: it shows the whole conversation)

and a `--turns`-turn conversation (default 100; ~4 KB answers) through sdk raw (history kept
as API messages), %%claude and Chat: retained after every tenth turn, growth per turn from a
least-squares line, and that growth divided by the conversation text added per turn.
The two shared render memos (bounded: see `_drop_memo`) are emptied before each figure and
what they held is shown apart, so `retained` minus `(memos)` is what the conversation keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any
from collections.abc import Awaitable, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MB = 1024 * 1024
MODEL = "claude-sonnet-4-6"
SMALL = 4000

SERVER = r'''
import sys, threading
sys.path.insert(0, {here!r})
sys.path.insert(0, {root!r})
from bench_markdown import answer
from claude_nb.loopback import LoopbackServer, text_turn

BIG = answer({size}, seed=11)
SMALL = [answer({small}, seed=100 + n) for n in range(8)]

def reply(body):
    text = body["messages"][-1]["content"][-1]["text"]
    if text.startswith("big"):
        return text_turn(BIG, chunk=20)
    return text_turn(SMALL[int(text.split()[1]) % len(SMALL)], chunk=20)

srv = LoopbackServer(auto_reply=reply).start()
print(srv.base_url, len(BIG), flush=True)
threading.Event().wait()
'''


def start_server(size: int) -> tuple[subprocess.Popen[str], str, int]:
    code = SERVER.format(here=str(HERE), root=str(HERE.parent), size=size, small=SMALL)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url, chars = proc.stdout.readline().split()
    return proc, url, int(chars)


# ---------------------------------------------------------------- the paths


class _Handle:
    """Stands in for the display handle `stream_live` updates with the static bundle."""

    bytes = 0

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        _Handle.bytes = sum(len(v) for v in bundle.values())


def _stub_display() -> None:
    import claude_nb.frontends.display as display

    display.display = lambda *a, **k: _Handle()  # type: ignore[assignment]


async def sdk_raw(prompt: str, history: list[dict[str, Any]] | None = None) -> Any:
    import anthropic

    client = anthropic.AsyncAnthropic(max_retries=0)
    messages = (history or []) + [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    parts: list[str] = []
    stream = await client.messages.create(model=MODEL, max_tokens=64000, stream=True,
                                          messages=messages)
    async with stream:
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)
    await client.close()
    text = "".join(parts)
    if history is not None:
        history[:] = messages + [{"role": "assistant", "content": [{"type": "text", "text": text}]}]
        return history
    return text


async def sdk_helper(prompt: str) -> Any:
    import anthropic

    client = anthropic.AsyncAnthropic(max_retries=0)
    async with client.messages.stream(
            model=MODEL, max_tokens=64000,
            messages=[{"role": "user", "content": [{"type": "text", "text": prompt}]}]) as s:
        async for _ in s:
            pass
        message = await s.get_final_message()
    await client.close()
    return message


async def conversation(prompt: str, conv: Any = None) -> Any:
    from claude_nb import Conversation

    conv = conv or Conversation(MODEL)
    await conv.send(prompt)
    return conv


async def magic(prompt: str, conv: Any = None) -> Any:
    from claude_nb import Conversation
    from claude_nb.frontends.display import stream_live

    conv = conv or Conversation(MODEL)
    await stream_live(conv.send(prompt), insert_cells=True)
    return conv


async def chat(prompt: str, widget: Any = None) -> Any:
    from claude_nb.frontends.chat import Chat

    widget = widget or Chat(MODEL)
    reply = widget.send(prompt)
    while reply.status in ("pending", "running"):
        await asyncio.sleep(0.005)
    assert reply.status == "done", reply.error
    return widget


# ---------------------------------------------------------------- measuring


def _now() -> int:
    return tracemalloc.get_traced_memory()[0]


def _drop_memo() -> int:
    """Empty the two render memos that spare the final static render a second pass, both
    bounded and shared by every conversation: the pygments one (`_md_engine._highlighted`,
    an lru_cache of 256 fences) and `markdown._RECENT` (the last finished documents' HTML,
    at most 8 and 8 M characters); returns the bytes they held."""
    from claude_nb.render import markdown
    from claude_nb.render._md_engine import _highlighted

    gc.collect()
    before = _now()
    _highlighted.cache_clear()
    getattr(markdown, "_RECENT", {}).clear()
    gc.collect()
    return before - _now()


async def measure(run: Callable[[], Awaitable[Any]]) -> tuple[float, float, float, float, Any]:
    """(peak MB, retained MB, of which render memos MB, seconds, kept object) of one run,
    above the level before it."""
    _drop_memo()
    tracemalloc.reset_peak()
    base = _now()
    t = time.perf_counter()
    kept = await run()
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] - base
    gc.collect()
    retained = _now() - base
    return peak / MB, retained / MB, _drop_memo() / MB, seconds, kept


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


async def big_answer(chars: int) -> list[tuple[str, float, float, float]]:
    paths: list[tuple[str, Callable[[str], Awaitable[Any]]]] = [
        ("sdk raw", sdk_raw), ("sdk helper", sdk_helper), ("conversation", conversation),
        ("%%claude", magic), ("Chat", chat)]
    rows = []
    for name, fn in paths:
        for k in range(8):  # warm: imports, lexers, regex caches (every small document)
            await fn(f"small {k}")
        peak, retained, memo, seconds, kept = await measure(lambda fn=fn: fn("big answer please"))
        rows.append((name, peak, retained, memo, seconds))
        del kept
    return rows


async def many_turns(turns: int) -> list[tuple[str, float, float, float]]:
    from claude_nb.loopback.script import estimate_tokens  # noqa: F401  (warm import)

    async def raw_turn(n: int, state: Any) -> Any:
        return await sdk_raw(f"turn {n} go on", state if state is not None else [])

    paths: list[tuple[str, Callable[[int, Any], Awaitable[Any]]]] = [
        ("sdk raw + history", raw_turn),
        ("%%claude", lambda n, s: magic(f"turn {n} go on", s)),
        ("Chat", lambda n, s: chat(f"turn {n} go on", s)),
    ]
    rows = []
    for name, fn in paths:
        for k in range(8):  # warm, as above
            await fn(k, None)
        _drop_memo()
        base = _now()
        state: Any = None
        xs: list[float] = []
        ys: list[float] = []
        memo = 0
        text_per_turn: list[int] = []
        for n in range(turns):
            before = _text_chars(state)
            state = await fn(n, state)
            text_per_turn.append(_text_chars(state) - before)
            if (n + 1) % max(1, turns // 10) == 0:
                memo += _drop_memo()  # bounded, shared: measured apart from the rest
                xs.append(n + 1)
                ys.append((_now() - base) / MB)
        growth = slope(xs, ys) * MB  # bytes per turn
        text = sum(text_per_turn) / len(text_per_turn)
        rows.append((name, ys[-1], growth / 1024, growth / text, memo / MB))
        del state
    return rows


def _text_chars(state: Any) -> int:
    """Characters of conversation text (prompts and answers) a state holds."""
    if state is None:
        return 0
    messages = state if isinstance(state, list) else getattr(
        state, "messages", None) or state.conversation.messages
    return sum(len(b.get("text", "")) for m in messages for b in m["content"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 KB answer, 30 turns")
    parser.add_argument("--size", type=int, help="answer size in characters (default 1 MB)")
    parser.add_argument("--turns", type=int, help="turns of the long conversation (default 100)")
    args = parser.parse_args()
    size = args.size or (200_000 if args.quick else 1_000_000)
    turns = args.turns or (30 if args.quick else 100)

    proc, url, chars = start_server(size)
    os.environ["ANTHROPIC_BASE_URL"] = url
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-bench-0000000000"
    os.environ.pop("CLAUDE_NB_BACKEND", None)
    _stub_display()
    try:
        tracemalloc.start()
        big = asyncio.run(big_answer(chars))
        many = asyncio.run(many_turns(turns))
    finally:
        tracemalloc.stop()
        proc.terminate()
        proc.wait()

    base_peak, base_kept = big[0][1], big[0][2]
    print(f"\nOne answer of {chars / MB:.2f} MB ({chars:,} chars, {chars // 20:,} deltas), "
          f"kernel side, tracemalloc (MB):")
    print(f"{'path':<14}{'peak':>8}{'x sdk':>8}{'retained':>10}{'x sdk':>8}"
          f"{'(memos)':>8}{'time s':>8}")
    for name, peak, kept, memo, seconds in big:
        print(f"{name:<14}{peak:>8.1f}{peak / base_peak:>7.1f}x{kept:>10.1f}"
              f"{kept / base_kept:>7.1f}x{memo:>8.1f}{seconds:>8.1f}")
    print(f"\n{turns}-turn conversation (~{SMALL / 1000:.0f} KB answers), memos apart:")
    print(f"{'path':<18}{'retained MB':>12}{'KB / turn':>11}{'x text / turn':>15}"
          f"{'memos MB':>10}")
    for name, kept, per_turn_kb, ratio, memo in many:
        print(f"{name:<18}{kept:>12.1f}{per_turn_kb:>11.1f}{ratio:>14.1f}x{memo:>10.1f}")
    print("\nx sdk: over the bare SDK consuming the same stream (`sdk raw`). retained: what is "
          "still\nallocated with the conversation / chat kept; (memos): part of it held by the "
          "two shared,\nbounded render memos (256 highlighted fences; the last <= 8 finished "
          "documents' HTML).\nx text / turn: retained growth per turn over the prompt + answer "
          "characters it adds.")


if __name__ == "__main__":
    main()
