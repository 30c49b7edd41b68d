"""What the wire inspector's tap costs: a ~200 KB answer streamed with and without it.

    python benchmarks/bench_inspector.py [--quick]

Three measurements, each tapped vs untapped in the same run, runs alternated, medians:

1. loopback: the real SDK (`messages.create(stream=True)`, every event iterated) against the
   in-process loopback server over TCP. Wall time (the server shares the GIL, as in tests)
   and the client thread's CPU time.
2. in memory: the same body served by an `httpx2.MockTransport` in 4 KB chunks, so only
   the client's work is measured (SDK parsing + pydantic vs SDK + tap): the worst case,
   as a real answer of this size takes minutes to arrive.
3. parser: `FrameParser.cut` over the body in 4 KB chunks (what the tap does while the
   body streams) and `decode` of every frame (done when the log is read), per frame.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anthropic
import httpx2

from claude_nb.protocol.sse import FrameParser, decode
from claude_nb.run.inspector import EventLog, tapped_client
from claude_nb.loopback import LoopbackServer, text_turn

ANSWER_BYTES = 200_000
DELTA = 20  # characters per text_delta, as the API streams
CHUNK = 4096
REQUEST: dict[str, Any] = {"model": "claude-loopback", "max_tokens": 64_000,
                           "messages": [{"role": "user", "content": "write a lot"}]}
WORDS = ("the model stream token render block parser notebook kernel widget output cell "
         "answer latency budget browser frame python function value result").split()


def answer() -> str:
    rng = random.Random(7)
    words: list[str] = []
    size = 0
    while size < ANSWER_BYTES:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:ANSWER_BYTES]


async def consume(client: Any) -> int:
    n = 0
    async with client:
        stream = await client.messages.create(stream=True, **REQUEST)
        async with stream:
            async for _ in stream:
                n += 1
    return n


def timed(make: Callable[[], Awaitable[int]]) -> tuple[float, float]:
    """(wall, CPU) seconds; CPU of this thread only: the client's, not the server's."""
    wall, cpu = time.perf_counter(), time.thread_time()
    asyncio.run(make())  # type: ignore[arg-type]
    return time.perf_counter() - wall, time.thread_time() - cpu


def compare(label: str, plain: Callable[[], Any], tapped: Callable[[], Any], runs: int) -> None:
    timed(plain), timed(tapped)  # warm up
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(runs):
        a.append(timed(plain))
        b.append(timed(tapped))
    for i, what in enumerate(("wall", "CPU")):
        pa = statistics.median(x[i] for x in a)
        pb = statistics.median(x[i] for x in b)
        print(f"{label:<10} {what:<4} untapped {pa * 1000:7.1f} ms   tapped {pb * 1000:7.1f} ms"
              f"   ratio {pb / pa:.2f}  ({(pb - pa) * 1000:+.1f} ms, medians of {runs})")


def main(quick: bool = False) -> None:
    runs = 3 if quick else 9
    turn = text_turn(answer(), chunk=DELTA)
    body = b"".join(turn.stream().frames)
    frames = len(turn.stream().frames)
    print(f"answer {ANSWER_BYTES // 1000} KB in {DELTA}-char deltas: {frames} frames, "
          f"{len(body) / 1e6:.2f} MB of SSE")

    with LoopbackServer() as server:
        kwargs = {"api_key": "sk-bench", "base_url": server.base_url, "max_retries": 0}

        def plain() -> Awaitable[int]:
            server.enqueue(turn)
            return consume(anthropic.AsyncAnthropic(**kwargs))

        def tapped() -> Awaitable[int]:
            server.enqueue(turn)
            return consume(tapped_client(EventLog(), **kwargs))

        compare("loopback", plain, tapped, runs)

    def mock() -> httpx2.MockTransport:
        async def chunks() -> Any:
            for i in range(0, len(body), CHUNK):
                yield body[i:i + CHUNK]

        return httpx2.MockTransport(lambda request: httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=chunks()))

    mkw = {"api_key": "sk-bench", "base_url": "http://bench.invalid", "max_retries": 0}
    compare("in memory",
            lambda: consume(anthropic.AsyncAnthropic(
                http_client=anthropic.DefaultAsyncHttpxClient(transport=mock()), **mkw)),
            lambda: consume(tapped_client(EventLog(), transport=mock(), **mkw)), runs)

    cut_best = decode_best = float("inf")
    for _ in range(runs):
        parser = FrameParser()
        start = time.perf_counter()
        cuts = [c for i in range(0, len(body), CHUNK) for c in parser.cut(body[i:i + CHUNK])]
        middle = time.perf_counter()
        decoded = [decode(c) for c in cuts]
        cut_best = min(cut_best, middle - start)
        decode_best = min(decode_best, time.perf_counter() - middle)
    assert len(decoded) == frames
    for what, best in (("cut", cut_best), ("decode", decode_best)):
        print(f"parser     {what:<6} {best * 1000:7.1f} ms for {frames} frames: "
              f"{best / frames * 1e6:.2f} µs/frame, {len(body) / best / 1e6:.0f} MB/s")

if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
