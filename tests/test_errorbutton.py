"""The Ask-Claude button's Python side, with a real IPython shell and the loopback server: a
click (the browser's `approve` message) sends the recorded failing cell with the fix prompt
and streams into the button's view; while another turn runs, the click waits instead."""

from __future__ import annotations

import asyncio
from typing import Any


from claude_nb.frontends.errorbutton import ErrorButton
from claude_nb.loopback import text_turn
from claude_nb.render.contextcard import ASK_ID

CLICK = {"type": "approve", "id": ASK_ID}


def blocks(button: ErrorButton) -> dict[str, str]:
    return {b["id"]: b["html"] for b in button.view.snapshot()["blocks"]}


async def until(check: Any, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError


def test_a_click_waits_for_a_running_turn_then_sends_the_error(api: Any, shell: Any) -> None:
    shell.run_cell("{'a': 1}['b']", store_history=True)
    magics = shell.magics_manager.registry["ClaudeMagics"]
    failed = magics.errors.last
    assert failed is not None and "KeyError" in type(failed.exception).__name__

    async def scenario() -> None:
        button = ErrorButton(magics, failed, asyncio.get_running_loop())
        assert 'data-cnb-action="approve"' in blocks(button)["ask"]
        api.enqueue(text_turn("tick " * 300, chunk=5).stream().with_delay(0.01),
                    text_turn("Use .get('b').\n\n```python\n{'a': 1}.get('b')\n```"))
        other = magics.conversation.send("count slowly")
        running = asyncio.ensure_future(other.run())
        await until(lambda: other.running)
        button.view.receive(CLICK)
        await asyncio.sleep(0.05)
        assert button.reply is None and "still answering another cell" in blocks(button)["busy"]
        other.stop()
        await running
        button.view.receive(CLICK)
        await until(lambda: button.reply is not None and button.reply.status == "done")
        await until(lambda: button.view.comm is None or not blocks(button))
    asyncio.run(scenario())
    sent = api.requests[-1].body["messages"][-1]["content"]
    assert "raised KeyError: 'b'" in sent[0]["text"] and "{'a': 1}['b']" in sent[0]["text"]
    assert "corrected cell" in sent[-1]["text"]
    assert magics.last_reply is not None and "get('b')" in magics.last_reply.text
