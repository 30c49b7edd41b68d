"""`claude_nb.map` in parallel mode: wall time against the ideal, kernel CPU per request.

    python benchmarks/bench_map.py [--quick] [--items N] [--latency S] [--concurrency C ...]

A LoopbackServer in this process answers every `POST /v1/messages` after `--latency`
seconds (default 50 ms, on its own request thread, so concurrent requests wait side by
side). A real IPython kernel (jupyter_client; ANTHROPIC_BASE_URL pointing here) runs, for
each concurrency:

  bare   the least a client can do: `asyncio.gather` over the same N requests with
         `AsyncAnthropic.messages.create` under an `asyncio.Semaphore(C)`, keeping the text
  map    `claude_nb.map(prompt, items, concurrency=C, cache=False)` (progress widget on)

Reported: wall time and its ratio to the ideal N / C x latency (the issue's bar: a small
multiple), kernel CPU (all threads, /proc utime+stime around the cell) per request, and
the CPU ratio map / bare of the same run. Then a 429 storm (a quarter of N requests
answered 429 with retry-after-ms 20 first): wall ratio and whether every item came back.
Wall times depend on machine load; CPU ratios much less.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from claude_nb.loopback import LoopbackServer, text_turn  # noqa: E402
from claude_nb.loopback.load import rate_limit_storm, slow  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

BARE = """
import asyncio, anthropic
async def _bare(n, c):
    client = anthropic.AsyncAnthropic(max_retries=0)
    gate = asyncio.Semaphore(c)
    async def one(i):
        async with gate:
            m = await client.messages.create(model="claude-sonnet-4-6", max_tokens=64,
                messages=[{"role": "user", "content": f"Label item {i}"}])
            return m.content[0].text
    texts = await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return texts
_texts = await _bare(@N@, @C@)
print(len(_texts))
"""

MAP = """
import claude_nb
_r = await claude_nb.map("Label item {x}", list(range(@N@)), max_tokens=64, concurrency=@C@,
                         cache=False)
print(sum(i.ok for i in _r))
"""


def cell(template: str, n: int, c: int) -> str:
    return template.replace("@N@", str(n)).replace("@C@", str(c))


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def execute(kc: Any, code: str, pid: int) -> tuple[float, float, str]:
    """(wall s, kernel CPU s, stdout) of one cell."""
    while True:
        try:
            kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            break
    cpu0, wall0 = proc_cpu(pid), time.perf_counter()
    msg_id = kc.execute(code)
    out = ""
    while True:
        msg = kc.get_iopub_msg(timeout=600)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out += content["text"]
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    return time.perf_counter() - wall0, proc_cpu(pid) - cpu0, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[16, 64])
    args = parser.parse_args()
    n = 200 if args.quick else args.items
    from jupyter_client.manager import start_new_kernel

    with LoopbackServer() as server:
        server.auto_reply = slow(lambda r: text_turn("label: ok", model=r["model"]),
                                 args.latency)
        env = {k: v for k, v in os.environ.items() if k != "CLAUDE_NB_BACKEND"}
        env.update(ANTHROPIC_BASE_URL=server.base_url, ANTHROPIC_API_KEY="sk-test-bench-01234")
        km, kc = start_new_kernel(kernel_name="python3", env=env)
        pid = km.provisioner.process.pid
        try:
            execute(kc, cell(BARE, 4, 2), pid)  # imports, TLS context, first connections
            execute(kc, cell(MAP, 4, 2), pid)
            print(f"{n} prompts, {args.latency * 1000:.0f} ms per request (loopback), "
                  "kernel CPU from /proc")
            print(f"{'mode':<6} {'C':>4} {'wall s':>8} {'ideal s':>8} {'wall/ideal':>10} "
                  f"{'CPU ms/req':>11} {'CPU map/bare':>13}  answers")
            for c in args.concurrency:
                ideal = n / c * args.latency
                wall_b, cpu_b, out_b = execute(kc, cell(BARE, n, c), pid)
                wall_m, cpu_m, out_m = execute(kc, cell(MAP, n, c), pid)
                for mode, wall, cpu, out in (("bare", wall_b, cpu_b, out_b),
                                             ("map", wall_m, cpu_m, out_m)):
                    ratio = f"{cpu_m / cpu_b:.2f}" if mode == "map" and cpu_b else ""
                    print(f"{mode:<6} {c:>4} {wall:>8.2f} {ideal:>8.2f} {wall / ideal:>10.2f} "
                          f"{cpu / n * 1000:>11.2f} {ratio:>13}  {out}")
            c = args.concurrency[0]
            server.enqueue(*rate_limit_storm(n // 4, retry_after=0.02))
            wall, cpu, out = execute(kc, cell(MAP, n, c), pid)
            sent = sum(r.path == "/v1/messages" and r.status == 429 for r in server.requests)
            print(f"429 storm ({sent} answered 429), C={c}: wall {wall:.2f} s = "
                  f"{wall / (n / c * args.latency):.2f}x ideal, CPU {cpu / n * 1000:.2f} ms/req, "
                  f"answers {out}/{n}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
