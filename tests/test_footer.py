"""The usage footer after Stop, and the names of its figures (issue 11, item 7).

A reply stopped after paragraphs had streamed never gets `message_delta`: its usage still
holds `message_start`'s placeholder output count (1). The footer must not show that as the
answer's size ("out 1 · 1 tok/s"): it shows a marked estimate from the streamed text. Its
latency is named "first token" so that it is not read as the first byte (`Reply.ttfb`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from claude_nb.frontends.presenter import Presenter
from claude_nb.loopback import text_turn
from claude_nb.protocol.throughput import CHARS_PER_TOKEN, output_count, tokens_per_second
from claude_nb.protocol.changes import BlockDelta
from claude_nb.render import exports, static
from claude_nb.run.session import Conversation

PARAGRAPHS = "\n\n".join(f"Paragraph {i}: " + "the hedgehog rolls on. " * 12 for i in range(40))


def _stopped_reply(api: Any) -> tuple[Any, list[dict[str, Any]]]:
    api.enqueue(text_turn(PARAGRAPHS, chunk=40).stream().with_delay(0.005))
    reply = Conversation().send("Write forty paragraphs.")
    ops: list[dict[str, Any]] = []
    Presenter(ops.append).attach(reply)
    deltas = 0

    def on_event(event: Any) -> None:
        nonlocal deltas
        if isinstance(event, BlockDelta):
            deltas += 1
            if deltas == 30:
                reply.stop()

    reply.subscribe(on_event)
    asyncio.run(reply.run())
    return reply, ops


def test_footer_after_stop_estimates_output_and_marks_it(api: Any) -> None:
    reply, ops = _stopped_reply(api)
    assert reply.status == "stopped" and len(reply.text) > 400
    assert reply.turn.usage.output_tokens == 1  # message_start's placeholder: never shown
    live = next(op["html"] for op in ops if op.get("id") == "footer")
    saved = static.reply_footer_html(reply)
    expected = round(len(reply.text) / CHARS_PER_TOKEN)
    markdown = exports.reply_markdown(reply).replace("\\", "")  # Markdown escapes ~ ( )
    for footer in (live, saved, markdown, exports.reply_plain(reply)):
        assert f"out ~{expected:,} (est.)" in footer, footer
        assert not re.search(r"out 1\b", footer), footer
        assert re.search(r"~\d+ tok/s", footer), footer
    assert output_count(reply.turns).estimated
    assert reply.tokens_per_second == tokens_per_second(reply.turns)
    assert reply.tokens_per_second is not None and reply.tokens_per_second > 1


def test_stopped_before_any_content_says_unknown(api: Any) -> None:
    api.enqueue(text_turn("never seen", chunk=5).stream().with_delay(0.2))
    reply = Conversation().send("x")
    reply.subscribe(lambda e: reply.stop() if type(e).__name__ == "TurnBegan" else None)
    asyncio.run(reply.run())
    footer = static.reply_footer_html(reply)
    assert reply.status == "stopped" and "out unknown" in footer and "tok/s" not in footer


def test_a_complete_answer_shows_the_api_count_and_first_token(api: Any) -> None:
    api.enqueue(text_turn("A short answer."))
    reply = Conversation().send("x").wait()
    footer = static.reply_footer_html(reply)
    assert f"out {reply.usage.output_tokens:,}</span>" in footer or (
        f"out {reply.usage.output_tokens:,} " in footer)
    assert "(est.)" not in footer and "~" not in footer
    assert "first token " in footer and "TTFT" not in footer
    assert reply.ttfb is not None and reply.ttft is not None and reply.ttfb <= reply.ttft


def test_tokens_per_second_is_one_figure_for_a_tool_loop(api: Any) -> None:
    from claude_nb.loopback import ToolUse, Turn as ScriptTurn
    from claude_nb.demo.examples import calculator

    api.enqueue(ScriptTurn([ToolUse("calculator", {"expression": "6*7"})],
                           stop_reason="tool_use"), text_turn("It is 42. " * 30))
    reply = Conversation(tools=[calculator]).send("6*7?").wait()
    assert len(reply.turns) == 2
    rate = reply.tokens_per_second
    assert rate == tokens_per_second(reply.turns) != reply.turns[-1].tokens_per_second
    assert f"{rate:.0f} tok/s" in static.reply_footer_html(reply)
