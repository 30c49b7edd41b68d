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


def _comm_of_button(kc: Any, description: str) -> str:
    """The comm id of the first Button widget opened with this label."""
    while True:
        msg = kc.get_iopub_msg(timeout=60)
        if msg["msg_type"] == "comm_open":
            state = msg["content"]["data"].get("state", {})
            if (state.get("_model_name"), state.get("description")) == ("ButtonModel",
                                                                         description):
                return str(msg["content"]["comm_id"])


def test_the_stop_button_of_an_awaited_map_keeps_the_answers(api: Any) -> None:
    from claude_nb.loopback import echo_reply
    from claude_nb.loopback.load import slow

    api.auto_reply = slow(echo_reply, 0.2)
    with kernel() as (_km, kc):
        msg_id = kc.execute("import claude_nb\n"
                            "r = await claude_nb.map('S {x}', list(range(40)), concurrency=2,"
                            " cache=False)")
        stop = _comm_of_button(kc, "Stop")
        api.wait_for(lambda: sum(r.status == 200 for r in api.requests) >= 4, timeout=60)
        click = kc.session.msg("comm_msg", {"comm_id": stop, "data": {
            "method": "custom", "content": {"event": "click"}}})
        kc.shell_channel.send(click)  # what the browser sends when Stop is clicked
        ex = collect(kc, msg_id, timeout=60)
        assert ex.error is None
        saved = "".join(d.get("text/plain", "") for d in ex.displays.values())
        assert "stopped" in saved and "missing" in saved
        report = run(kc, "print(r.status, sum(i.ok for i in r))").stream.split()
    assert report[0] == "stopped" and 4 <= int(report[1]) < 40
    assert len([r for r in api.requests if r.path == "/v1/messages"]) < 40


def test_a_blocking_map_shows_a_live_widget_then_a_static_summary(api: Any) -> None:
    with kernel() as (_km, kc):
        ex = run(kc, "import claude_nb\nr = claude_nb.map('S {x}', [1, 2], cache=False)",
                 timeout=120)
    assert ex.error is None
    live = [o["data"] for o in ex.outputs if "application/vnd.jupyter.widget-view+json"
            in o.get("data", {})]
    assert live  # the live widget came first, then the static summary replaced it
    final = "".join(d.get("text/plain", "") for d in ex.displays.values())
    assert final.startswith("2/2 done")


def test_cancel_batch_button_cancels_at_the_api_and_collects_what_remains(api: Any) -> None:
    api.batches.delay = 3600.0
    with kernel() as (_km, kc):
        msg_id = kc.execute("import claude_nb\n"
                            "r = await claude_nb.map('S {x}', list(range(5)), batch=True,"
                            " cache=False)")
        cancel = _comm_of_button(kc, "Cancel batch")
        api.wait_for(lambda: any("/v1/messages/batches/" in r.path for r in api.requests),
                     timeout=60)
        kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": cancel, "data": {
            "method": "custom", "content": {"event": "click"}}}))
        ex = collect(kc, msg_id, timeout=60)
        assert ex.error is None
        report = run(kc, "print(r.status, {i.status for i in r})").stream
    assert report.strip() == "done {'canceled'}"
    assert sum(r.path.endswith("/cancel") for r in api.requests) == 1
