"""Typed tool states: the live view and the saved output show the same status for every way
a tool call ends (done, error, timeout, stopped, denied), because both read
`ToolOutcome.status`, decided once by the run loop."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from claude_nb.frontends.presenter import Presenter
from claude_nb.loopback import ToolUse, text_turn
from claude_nb.loopback import Turn as ScriptTurn
from claude_nb.protocol.events import ToolChanged
from claude_nb.protocol.status import TOOL_ENDINGS, ToolStatus
from claude_nb.render import exports, static, toolcards
from claude_nb.run.session import Conversation, Reply
from claude_nb.run.toolschema import tool

_BADGE = re.compile(r'<span class="cnb-badge [^"]*" data-status="([^"]+)">([^<]*)</span>')


@tool(name="probe", timeout=0.2)
async def probe(mode: str) -> str:
    """Succeed, fail or take too long, as asked.

    Args:
        mode: ok, fail or slow
    """
    if mode == "fail":
        raise RuntimeError("probe failed")
    if mode == "slow":
        await asyncio.sleep(30)
    return "fine"


@tool(name="guarded", confirm=True)
def guarded(mode: str) -> str:
    """A tool that needs the user's approval.

    Args:
        mode: anything
    """
    return "ran"


def _badge(html: str) -> tuple[str, str]:
    found = _BADGE.findall(html)
    assert len(found) == 1, html
    return found[0]


def _run(api: Any, name: str, mode: str, *, stop: bool = False) -> tuple[Reply, list[dict]]:
    """One tool call through a live Presenter; returns the reply and the view ops."""
    api.enqueue(ScriptTurn([ToolUse(name, {"mode": mode})], stop_reason="tool_use"),
                text_turn("ok"))
    conv = Conversation(tools=[probe, guarded])
    reply = conv.send("go")
    ops: list[dict] = []
    Presenter(ops.append).attach(reply)

    def on_event(event: Any) -> None:
        if isinstance(event, ToolChanged) and event.status == "awaiting_approval":
            reply.approve(event.block.id, False)
        if stop and isinstance(event, ToolChanged) and event.status == "running":
            asyncio.get_running_loop().call_later(0.05, reply.stop)

    reply.subscribe(on_event)
    asyncio.run(reply.run())
    return reply, ops


@pytest.mark.parametrize("ending,name,mode,stop", [
    (ToolStatus.DONE, "probe", "ok", False),
    (ToolStatus.ERROR, "probe", "fail", False),
    (ToolStatus.TIMEOUT, "probe", "slow", False),
    (ToolStatus.STOPPED, "probe", "slow", True),
    (ToolStatus.DENIED, "guarded", "x", False),
])
def test_live_and_saved_tool_labels_agree(api: Any, ending: ToolStatus, name: str, mode: str,
                                          stop: bool) -> None:
    reply, ops = _run(api, name, mode, stop=stop)
    [outcome] = reply.tool_outcomes.values()
    assert outcome.status is ending
    tool_cards = [op["html"] for op in ops if op["op"] == "final" and "cnb-tool" in op["html"]]
    live = _badge(tool_cards[-1])
    saved = _badge(static.reply_html(reply, standalone=True))
    assert live == saved == (ending.value, toolcards.STATUS_LABELS[ending.value])
    exported = exports.reply_markdown(reply) + exports.reply_plain(reply)
    assert exported.count(f"({toolcards.STATUS_LABELS[ending.value]})") == 2


def test_every_ending_is_covered_and_labelled() -> None:
    assert set(TOOL_ENDINGS) == {ToolStatus.DONE, ToolStatus.ERROR, ToolStatus.TIMEOUT,
                                 ToolStatus.STOPPED, ToolStatus.DENIED}
    assert all(status.value in toolcards.STATUS_LABELS for status in ToolStatus)
    assert f"{ToolStatus.STOPPED}" == str(ToolStatus.STOPPED) == "stopped"
