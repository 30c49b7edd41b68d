"""`%%claude` end to end in a real kernel vs the bare SDK consuming the same stream.

    python benchmarks/bench_e2e.py [--quick] [--runs N] [--size CHARS] [--profile]

A LoopbackServer in this process streams a deterministic ~200 KB Markdown answer (the
generator of bench_markdown.py: paragraphs, lists, code fences, tables, quotes, math,
footnotes; plus em dashes) in 20-char text deltas, as fast as it can write (~10,000
deltas). A real IPython kernel (jupyter_client; ANTHROPIC_BASE_URL pointing here, a test
key) runs, interleaved:

  bare      a cell consuming the stream with `anthropic.AsyncAnthropic` (the client kind the
            magic uses): `await client.messages.create(stream=True, ...)`, iterate the
            events, keep the text
  %%claude  the magic showing the same answer (live anywidget view, then static output)
  dense     %%claude with ~1 ms instead of 50 ms coalescing: at full speed that gives about
            the update count of a real stream (~80 deltas/s shown at 20 Hz)

Kernel CPU is read from outside, /proc/<kernel pid>/stat utime+stime (all threads), right
before the execute request and after its `idle`; the bare cell also measures itself
(time.process_time, getrusage(RUSAGE_SELF)) as a cross-check. iopub traffic is what this
client receives with the cell as parent: messages, bytes of JSON-serialized content (+
buffers), view ops (anywidget custom comm messages) and the busiest 3-s window, which is how
jupyter_server applies its iopub_msg_rate_limit (1000 msgs/s over 3 s; its byte limit only
counts `stream` output). Each mode runs once untimed (imports, caches), then `--runs` times
(default 3); medians are reported, and the ratio against the baseline of this same run (the
target of issue 3 is <= 2x). One more %%claude run is timed per phase inside the kernel
(time.thread_time around named calls); `--profile` adds a cProfile run.

Wall times and msgs/s depend on machine load; CPU ratios much less so.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import queue
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_markdown import answer  # noqa: E402  (the same realistic document)

from claude_nb.loopback import LoopbackServer, text_turn  # noqa: E402

DELTA = 20
TARGET = 2.0  # issue 3: %%claude CPU <= 2x the bare SDK's
RATE_LIMIT = 1000.0  # jupyter_server ZMQChannelsWebsocketConnection.iopub_msg_rate_limit
RATE_WINDOW = 3.0  # ... and its rate_limit_window
CELL_TIMEOUT = 180.0
TICK = os.sysconf("SC_CLK_TCK")

SETUP = r'''
import anthropic, resource, time

async def _bench_bare():
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = time.process_time()
    client = anthropic.AsyncAnthropic(max_retries=0)
    parts, events = [], 0
    stream = await client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64000, stream=True,
        messages=[{"role": "user", "content": "Write a long answer."}])
    async with stream:
        async for event in stream:
            events += 1
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)
    await client.close()
    cpu = time.process_time() - cpu0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    rusage = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return {"cpu": cpu, "rusage": rusage, "events": events, "chars": len("".join(parts))}
'''
BARE_CELL = "_bench_result = await _bench_bare()"
MAGIC_CELL = "%%claude --new\nWrite a long answer."

# Per-phase main-thread CPU inside the kernel (time.thread_time around the named calls; a few
# µs per call, unlike cProfile which inflates the SDK's many small calls several-fold).
PHASES_ON = r"""
import functools as _ft, importlib as _il, time as _t
_bench_phase, _bench_undo = {}, []
def _bench_wrap(module, owner, name, label):
    target = _il.import_module(module)
    target = getattr(target, owner) if owner else target
    orig = getattr(target, name, None)
    if orig is None:
        return
    if _il.import_module("inspect").iscoroutinefunction(orig):
        async def wrapper(*a, **k):
            t = _t.thread_time()
            try:
                return await orig(*a, **k)
            finally:
                _bench_phase[label] = _bench_phase.get(label, 0.0) + _t.thread_time() - t
    else:
        def wrapper(*a, **k):
            t = _t.thread_time()
            try:
                return orig(*a, **k)
            finally:
                _bench_phase[label] = _bench_phase.get(label, 0.0) + _t.thread_time() - t
    setattr(target, name, _ft.wraps(orig)(wrapper))
    _bench_undo.append((target, name, orig))
for _spec in [("claude_nb.frontends.display", None, "stream_live", "total"),
              ("claude_nb.protocol.transcript", "Turn", "apply", "apply"),
              ("claude_nb.frontends.presenter", "Presenter", "__call__", "presenter"),
              ("claude_nb.render.markdown", "StreamingMarkdown", "feed", "markdown"),
              ("claude_nb.render.markdown", "StreamingMarkdown", "finish", "markdown"),
              ("claude_nb.frontends.view", "LiveView", "push", "push"),
              ("claude_nb.frontends.display", None, "static_bundle", "static"),
              ("IPython.display", "DisplayHandle", "update", "update")]:
    _bench_wrap(*_spec)
"""
PHASES_OFF = """
for _target, _name, _orig in reversed(_bench_undo):
    setattr(_target, _name, _orig)
_bench_phase
"""
PHASE_ROWS = [
    ("SDK + asyncio + kernel (the rest of the main thread)", "rest"),
    ("transcript: Turn.apply", "apply"),
    ("presenter itself (buffering, coalescing, ops)", "presenter_own"),
    ("StreamingMarkdown.feed/finish", "markdown"),
    ("LiveView.push (fold + comm serialize/send)", "push"),
    ("static bundle (html + markdown + plain)", "static"),
    ("final display update (serialize + send)", "update"),
]

# Dense updates: the same full-speed stream, but flushed every ~1 ms instead of every 50 ms,
# which gives about the update count of a real stream (~80 deltas/s shown at 20 Hz).
DENSE_INTERVAL = 0.001
DENSE_ON = f"""
import functools as _ft, claude_nb.frontends.display as _bd
_bench_presenter = _bd.Presenter
_bd.Presenter = _ft.partial(_bench_presenter, interval={DENSE_INTERVAL})
"""
DENSE_OFF = "_bd.Presenter = _bench_presenter"

PROFILE_ON = "import cProfile as _cp, pstats as _ps, io as _io\n_bench_prof = _cp.Profile()\n_bench_prof.enable()"
PROFILE_OFF = r"""
_bench_prof.disable()
_buf = _io.StringIO()
_ps.Stats(_bench_prof, stream=_buf).strip_dirs().sort_stats("tottime").print_stats(25)
print(_buf.getvalue().split("\n\n", 1)[-1].rstrip())
"""


def proc_cpu(pid: int) -> float:
    """utime + stime of every thread of `pid`, in seconds (fields 14 and 15 of stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def drain(kc: Any) -> None:
    while True:
        try:
            kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            return


def execute(kc: Any, code: str, pid: int, **kw: Any) -> dict[str, Any]:
    """Run a cell; measure the kernel's CPU around it and count its iopub traffic."""
    drain(kc)
    cpu0, wall0 = proc_cpu(pid), time.perf_counter()
    msg_id = kc.execute(code, **kw)
    kinds: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    arrivals: list[float] = []
    nbytes = 0
    error = None
    stream = ""
    final: dict[str, Any] = {}
    deadline = time.monotonic() + CELL_TIMEOUT
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"cell did not finish within {CELL_TIMEOUT} s: {code[:40]!r}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status" and content["execution_state"] == "idle":
            break
        arrivals.append(time.perf_counter())
        kinds[kind] += 1
        nbytes += len(json.dumps(content)) + sum(len(b) for b in msg.get("buffers") or ())
        if kind == "comm_msg":
            data = content.get("data", {})
            if data.get("method") == "custom" and isinstance(data.get("content"), dict):
                ops[data["content"].get("op", "?")] += 1
        elif kind == "update_display_data":
            final = content["data"]
        elif kind == "stream":
            stream += content["text"]
        elif kind == "error":
            error = content
    wall = time.perf_counter() - wall0
    cpu = proc_cpu(pid) - cpu0
    reply = kc.get_shell_msg(timeout=CELL_TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=CELL_TIMEOUT)
    if error is not None:
        raise RuntimeError(f"cell failed: {error['ename']}: {error['evalue']}\n{code}")
    peak = max(sum(1 for t in arrivals[i:] if t - start < RATE_WINDOW)
               for i, start in enumerate(arrivals)) if arrivals else 0
    return {"cpu": cpu, "wall": wall, "msgs": sum(kinds.values()), "bytes": nbytes,
            "ops": sum(ops.values()), "op_kinds": dict(ops), "kinds": dict(kinds),
            "peak_rate": peak / RATE_WINDOW, "final": final, "stream": stream,
            "reply": reply["content"]}


def expression(result: dict[str, Any], name: str) -> Any:
    """A user_expression of the execute reply (plain Python literals only)."""
    value = result["reply"]["user_expressions"][name]
    if value.get("status") != "ok":
        raise RuntimeError(f"user expression {name}: {value}")
    return ast.literal_eval(value["data"]["text/plain"])


def bare_run(kc: Any, pid: int, srv: LoopbackServer, body: Any, text: str) -> dict[str, Any]:
    srv.enqueue(body)
    r = execute(kc, BARE_CELL, pid, user_expressions={"r": "_bench_result"})
    r["inner"] = expression(r, "r")
    assert r["inner"]["chars"] == len(text), "the bare SDK did not receive the whole answer"
    return r


def magic_run(kc: Any, pid: int, srv: LoopbackServer, body: Any, text: str) -> dict[str, Any]:
    srv.enqueue(body)
    r = execute(kc, MAGIC_CELL, pid)
    shown = r["final"].get("text/markdown", "")
    assert text.strip()[-200:] in shown, "the static output does not hold the whole answer"
    assert r["ops"] > 0, "no view ops were sent"
    return r


def dense_run(kc: Any, pid: int, srv: LoopbackServer, body: Any, text: str) -> dict[str, Any]:
    execute(kc, DENSE_ON, pid)
    try:
        return magic_run(kc, pid, srv, body, text)
    finally:
        execute(kc, DENSE_OFF, pid)


def phases_run(kc: Any, pid: int, srv: LoopbackServer, body: Any, text: str) -> dict[str, Any]:
    execute(kc, PHASES_ON, pid)
    try:
        r = magic_run(kc, pid, srv, body, text)
    finally:
        off = execute(kc, PHASES_OFF, pid, user_expressions={"p": "_bench_phase"})
    phases = expression(off, "p")
    inner = phases.get("markdown", 0.0) + phases.get("push", 0.0)
    phases["presenter_own"] = phases.get("presenter", 0.0) - inner
    phases["rest"] = phases.get("total", 0.0) - sum(
        phases.get(k, 0.0) for k in ("apply", "presenter", "static", "update"))
    phases["other_threads"] = r["cpu"] - phases.get("total", 0.0)
    r["phases"] = phases
    return r


def start_kernel(base_url: str) -> tuple[Any, Any]:
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_NB_BACKEND"}
    env.update(ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY="sk-test-bench-0123456789",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH")])))
    return start_new_kernel(kernel_name="python3", env=env)


def med(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="50 KB answer, 1 run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=200_000, help="answer size in characters")
    ap.add_argument("--profile", action="store_true",
                    help="also run %%claude once under cProfile in the kernel")
    args = ap.parse_args()
    if args.quick:
        args.size, args.runs = 50_000, 1

    # Claude's prose is rarely pure ASCII (em dashes, curly quotes): one such character makes
    # every Python string of the answer 2 bytes per char, which changes copying costs.
    text = answer(args.size).replace(" answer ", " answer \u2014 ")
    body = text_turn(text, chunk=DELTA).stream()  # built once, served every run
    print(f"answer: {len(text):,} chars in {-(-len(text) // DELTA):,} deltas of {DELTA}, streamed "
          f"as fast as the loopback server writes; {args.runs} timed run(s) per mode after one "
          f"warm-up, interleaved; medians\n")

    t_start = time.perf_counter()
    modes = {"bare": bare_run, "magic": magic_run, "dense": dense_run}
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    profile = ""
    with LoopbackServer() as srv:
        km, kc = start_kernel(srv.base_url)
        try:
            pid = km.provisioner.process.pid
            setup = execute(kc, "%load_ext claude_nb\n" + SETUP, pid)
            if setup["stream"].strip():
                print(setup["stream"])
            bare_run(kc, pid, srv, body, text)  # warm-up: imports, connection pools, caches
            magic_run(kc, pid, srv, body, text)
            for i in range(args.runs):
                for name, run in modes.items():
                    results[name].append(run(kc, pid, srv, body, text))
                print(f"  run {i + 1}: " + ", ".join(
                    f"{name} {rs[-1]['cpu']:.2f} s CPU" for name, rs in results.items()), flush=True)
            phased = phases_run(kc, pid, srv, body, text)
            if args.profile:
                execute(kc, PROFILE_ON, pid)
                magic_run(kc, pid, srv, body, text)
                profile = execute(kc, PROFILE_OFF, pid)["stream"]
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    report(results, phased)
    if profile:
        print("\ncProfile of one %%claude run inside the kernel (main thread; inflates small "
              "calls):\n")
        print(profile)
    print(f"\n(benchmark wall time {time.perf_counter() - t_start:.0f} s)")


def report(results: dict[str, list[dict[str, Any]]], phased: dict[str, Any]) -> None:
    bare, magic, dense = results["bare"], results["magic"], results["dense"]
    base = med(bare, "cpu")
    rows = [("bare SDK (AsyncAnthropic)", bare), ("%%claude", magic),
            (f"%%claude, {DENSE_INTERVAL * 1e3:.0f} ms coalescing", dense)]
    head = (f"{'mode':<28} {'CPU s':>6} {'x bare':>6} {'wall s':>6} {'iopub msgs':>10} "
            f"{'KB sent':>8} {'view ops':>8} {'msgs/s':>7} {'peak/s':>7}")
    print()
    print(head)
    print("-" * len(head))
    for name, rs in rows:
        print(f"{name:<28} {med(rs, 'cpu'):>6.2f} {med(rs, 'cpu') / base:>6.2f} "
              f"{med(rs, 'wall'):>6.2f} {med(rs, 'msgs'):>10.0f} {med(rs, 'bytes') / 1e3:>8.0f} "
              f"{med(rs, 'ops'):>8.0f} {statistics.median(r['msgs'] / r['wall'] for r in rs):>7.1f} "
              f"{med(rs, 'peak_rate'):>7.1f}")
    print("(CPU: kernel process, all threads, /proc utime+stime around the cell; msgs/s: iopub "
          "messages over the cell's wall time; peak/s: busiest 3-s window / 3 s, as "
          "jupyter_server rates it)")
    inner = [r["inner"] for r in bare]
    print(f"\nbare cell self-measured: process_time {statistics.median(i['cpu'] for i in inner):.2f} s, "
          f"getrusage(RUSAGE_SELF) {statistics.median(i['rusage'] for i in inner):.2f} s, "
          f"{inner[0]['events']:,} SSE events")
    print(f"%%claude iopub by type (last run): {magic[-1]['kinds']}")
    print(f"%%claude view ops by kind (last run): {magic[-1]['op_kinds']}")

    phases = phased["phases"]
    total = phased["cpu"]
    print(f"\nwhere one %%claude run spends kernel CPU ({total:.2f} s incl. timer overhead; "
          f"main thread via time.thread_time):")
    for label, key in PHASE_ROWS + [("other threads (iopub/zmq, heartbeat...)", "other_threads")]:
        if key in phases:
            print(f"  {label:<54} {phases[key]:>6.3f} s {phases[key] / total:>6.1%}")

    ratio = med(magic, "cpu") / base
    ratios = [m["cpu"] / b["cpu"] for b, m in zip(bare, magic)]
    verdict = "OK" if ratio <= TARGET else "ABOVE TARGET"
    print(f"\nratio %%claude CPU / bare SDK CPU: {ratio:.2f}x  (per run: "
          f"{', '.join(f'{x:.2f}' for x in ratios)}; target <= {TARGET:.0f}x: {verdict})")
    print(f"with ~1 ms coalescing ({med(dense, 'ops'):.0f} view ops): {med(dense, 'cpu') / base:.2f}x")
    peak = max(r["peak_rate"] for rs in (magic, dense) for r in rs)
    print(f"iopub rate: busiest {RATE_WINDOW:.0f}-s window {peak:.1f} msgs/s vs jupyter_server's "
          f"limit {RATE_LIMIT:.0f} msgs/s ({peak / RATE_LIMIT:.1%} of it)")


if __name__ == "__main__":
    main()
