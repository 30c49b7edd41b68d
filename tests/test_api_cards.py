"""Chat carries the cache marker and shows cost; compaction, fallback and refusal render in
the live view, saved HTML, Markdown and plain text; the --usage and --models tables."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic

from claude_nb.frontends.chat import Chat
from claude_nb.loopback import Text, Turn
from claude_nb.loopback.compaction import Compaction, Fallback, refusal_details
from claude_nb.protocol.usage import totals
from claude_nb.render import exports, static, tables
from claude_nb.run.session import Conversation

SYSTEM = "You help with pandas in a Jupyter notebook; answer briefly. " * 150


async def _until_idle(chat: Chat) -> None:
    for _ in range(500):
        if chat.reply is not None and not chat.reply.running and chat.reply.status != "pending":
            return
        await asyncio.sleep(0.01)
    raise TimeoutError


def test_chat_requests_carry_the_cache_marker_and_the_footer_shows_cost(api: Any) -> None:
    async def main() -> str:
        chat = Chat(system=SYSTEM, cache="1h")
        for text in ("rows?", "columns?"):
            chat.view.receive({"type": "send", "text": text})
            await asyncio.sleep(0.05)
            await _until_idle(chat)
        return json.dumps(chat.view.snapshot())

    html = asyncio.run(main())
    posts = [r for r in api.requests if r.path == "/v1/messages"]
    assert [r.body["cache_control"] for r in posts] == [{"type": "ephemeral", "ttl": "1h"}] * 2
    read = posts[1].usage["cache_read_input_tokens"]
    assert read > 0 and f"cache read {read:,}" in html
    assert "cnb-cost" in html and "$0.0" in html


def _reply(api: Any, *turns: Turn, **options: Any) -> Any:
    api.enqueue(*turns)
    return Conversation(**options).send("question").wait()


def test_compaction_card_everywhere(api: Any) -> None:
    reply = _reply(api, Turn([Compaction("Loaded **sales.csv**; plotted totals."),
                              Text("March.")]))
    html = static.reply_html(reply)
    assert "Earlier conversation summarized" in html and "<strong>sales.csv</strong>" in html
    assert "Unknown block" not in html
    md, plain = exports.reply_markdown(reply), exports.reply_plain(reply)
    assert "earlier conversation summarized" in md and "sales.csv" in md
    assert "[earlier conversation summarized]\nLoaded **sales.csv**" in plain
    assert "unknown block type" not in plain


def test_compaction_summary_is_escaped(api: Any) -> None:
    reply = _reply(api, Turn([Compaction("<img src=x onerror=alert(1)>"), Text("ok")]))
    html = static.reply_html(reply)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_fallback_notice_and_refusal_explanation(api: Any) -> None:
    reply = _reply(api, Turn([Fallback("claude-opus-4-7", "claude-sonnet-4-6", "cyber"),
                              Text("Here is a safer approach.")]))
    expected = "Answered by claude-sonnet-4-6 after claude-opus-4-7 declined (cybersecurity)."
    assert expected in static.reply_html(reply)
    assert "[answered by claude-sonnet-4-6 after claude-opus-4-7 declined]" in \
        exports.reply_plain(reply)
    refused = _reply(api, Turn([Text("I can't help with that.")], stop_reason="refusal",
                               stop_details=refusal_details("bio", "Could enable harm.")))
    assert "refused (biology): Could enable harm." in static.reply_html(refused)
    assert "refused (biology): Could enable harm." in exports.reply_plain(refused)
    bare = _reply(api, Turn([Text("No.")], stop_reason="refusal"))
    assert ">refused</span>" in static.reply_html(bare)


def test_unpriced_model_says_cost_unknown(api: Any) -> None:
    reply = _reply(api, Turn([Text("hi")], model="claude-opus-4-7"), model="claude-opus-4-7")
    assert "cost unknown" in static.reply_html(reply)


def test_usage_table_totals_are_the_sum_of_rows(api: Any) -> None:
    conv = Conversation(system=SYSTEM)
    for prompt in ("a", "b", "c"):
        conv.send(prompt).wait()
    rows = conv.usage()
    html, text = tables.usage_table(rows)
    total = totals(rows)
    last = text.splitlines()[-1].split()
    assert last[0] == "total" and int(last[3].replace(",", "")) == total["input_tokens"]
    assert int(last[6].replace(",", "")) == total["cache_read_tokens"] > 0
    assert f"{total['cache_write_tokens']:,}" in html and "<tfoot>" in html


def test_models_table_from_the_api(api: Any) -> None:
    with anthropic.Anthropic(base_url=api.base_url, api_key="k") as client:
        listed = list(client.models.list())
    html, text = tables.models_table(listed)
    assert all(m.display_name in html and m.id in text for m in listed)
    assert "deprecated, retires 2027-01-05" in text
    assert text.count("! ") == 1 and "cnb-deprecated" in html
