"""`claude_nb.map` in real kernels: an interrupted batch survives a kernel restart.

The loopback server runs in the test process; the kernels reach it through
ANTHROPIC_BASE_URL. The batch is held open (a long processing delay) until the first kernel
has been interrupted and shut down; a fresh kernel then calls the same map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel_support import collect, kernel, run

CALL = ("import claude_nb\n"
        "r = claude_nb.map('Summarise {{x}}', [f'doc {{i}}' for i in range(30)], batch=True,"
        " cache={state!r})\n")
REPORT = "print(r.status, len(r.batch_ids), sum(i.ok for i in r), [i.text for i in r][:2])"


def batch_creates(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path == "/v1/messages/batches"]


def test_interrupt_while_waiting_then_a_fresh_kernel_collects_the_same_batch(
        api: Any, tmp_path: Path) -> None:
    api.batches.delay = 3600.0
    call = CALL.format(state=str(tmp_path / "state.jsonl"))
    with kernel() as (km, kc):
        msg_id = kc.execute(call)
        api.wait_for(lambda: batch_creates(api), timeout=120)
        api.wait_for(lambda: any("/v1/messages/batches/" in r.path for r in api.requests),
                     timeout=60)  # polling has begun: the batch id is in the state file
        km.interrupt_kernel()
        first = collect(kc, msg_id, timeout=60)
        assert first.error is None  # the interrupt stopped the waiting, no traceback
        saved = "".join(d.get("text/plain", "") for d in first.displays.values())
        assert "keeps running" in saved and ".cancel()" in saved
        report = run(kc, REPORT).stream
        assert report.startswith("waiting 1 0")
    assert (tmp_path / "state.jsonl").read_text().count('"batch"') >= 1

    api.batches.delay = 0.0  # the batch has ended meanwhile
    with kernel() as (_km, kc):
        second = run(kc, call, timeout=120)
        assert second.error is None
        report = run(kc, REPORT).stream
    assert report.startswith("done 1 30")
    assert "Summarise doc 0" in report and "Summarise doc 1" in report
    assert len(batch_creates(api)) == 1  # picked up, not resubmitted
    assert [r for r in api.requests if r.path == "/v1/messages"] == []
