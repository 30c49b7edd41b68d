"""Prompt caching, model capabilities, effort and compaction through the Python API, against
the loopback server with the real SDK."""

from __future__ import annotations

from typing import Any

import pytest

from claude_nb.loopback import Text, Turn
from claude_nb.loopback.compaction import Compaction
from claude_nb.protocol.errors import ConfigError
from claude_nb.protocol.events import Failed, Notice
from claude_nb.protocol.pricing import cost
from claude_nb.protocol.blocks import CompactionBlock
from claude_nb.protocol.usage import totals
from claude_nb.run.session import Conversation

SYSTEM = "You help with pandas in a Jupyter notebook; answer briefly. " * 150  # ~2.3k tokens


def posts(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path == "/v1/messages"]


def test_every_request_carries_the_cache_marker_and_reads_the_cache(api: Any) -> None:
    conv = Conversation(system=SYSTEM)
    replies = [conv.send(p).wait() for p in ("rows?", "columns?", "dtypes?")]
    bodies = [r.body for r in posts(api)]
    assert [b["cache_control"] for b in bodies] == [{"type": "ephemeral", "ttl": "5m"}] * 3
    first, second, third = (r.turn.usage for r in replies if r.turn)
    assert first.cache_creation_input_tokens > 1024 and first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert third.cache_read_input_tokens == (second.cache_read_input_tokens
                                            + second.cache_creation_input_tokens)
    rows = conv.usage()
    assert [r["cache_read_tokens"] for r in rows] == [0, second.cache_read_input_tokens,
                                                      third.cache_read_input_tokens]
    assert rows[1]["cost_usd"] == pytest.approx(cost(second, "claude-sonnet-4-6"))
    assert rows[1]["cost_usd"] < rows[0]["cost_usd"]  # a read is cheaper than a write
    assert totals(rows)["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))


@pytest.mark.parametrize("ttl", ["1h", "off"])
def test_cache_ttl_and_off(api: Any, ttl: str) -> None:
    conv = Conversation(system=SYSTEM, cache=ttl)
    conv.send("a").wait()
    reply = conv.send("b").wait()
    bodies = [r.body for r in posts(api)]
    if ttl == "off":
        assert all("cache_control" not in b for b in bodies)
        assert reply.usage.cache_read_input_tokens == reply.usage.cache_creation_input_tokens == 0
    else:
        assert all(b["cache_control"] == {"type": "ephemeral", "ttl": "1h"} for b in bodies)
        assert reply.usage.cache_creation_1h == reply.usage.cache_creation_input_tokens > 0


def test_budget_on_an_adaptive_only_model_is_sent_adaptive_with_a_notice(api: Any) -> None:
    reply = Conversation(model="claude-opus-4-7", thinking=4000, max_tokens=16000).send("hi")
    events = list(reply)
    sent = posts(api)[-1].body
    assert sent["thinking"] == {"type": "adaptive"}
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "claude-opus-4-7 accepts only adaptive thinking" in notices[0]
    assert reply.status == "done"
    # the catalogue is asked once per endpoint, not per request
    Conversation(model="claude-opus-4-7", thinking="adaptive").send("again").wait()
    assert [r.path for r in api.requests].count("/v1/models?limit=1000") == 1


def test_adaptive_on_a_budget_only_model_becomes_a_budget(api: Any) -> None:
    reply = Conversation(model="claude-haiku-4-5", thinking="adaptive", max_tokens=8000)
    events = list(reply.send("hi"))
    assert posts(api)[-1].body["thinking"] == {"type": "enabled", "budget_tokens": 4000}
    assert any(isinstance(e, Notice) and "does not take adaptive" in e.text for e in events)


def test_effort_is_sent_as_output_config(api: Any) -> None:
    Conversation(effort="high").send("hi").wait()
    assert posts(api)[-1].body["output_config"] == {"effort": "high"}


def test_unsupported_feature_fails_before_sending(api: Any) -> None:
    reply = Conversation(model="claude-haiku-4-5", effort="high").send("hi")
    events = list(reply)
    failed = [e for e in events if isinstance(e, Failed)]
    assert reply.status == "failed" and isinstance(reply.error, ConfigError)
    assert "claude-haiku-4-5" in failed[0].error.message
    assert "effort" in failed[0].error.message
    assert posts(api) == []  # nothing went to /v1/messages


def test_without_a_models_endpoint_requests_go_as_written(api: Any) -> None:
    api.models = []
    reply = Conversation(model="claude-x-gateway", thinking=2048, effort="low").send("hi").wait()
    assert reply.status == "done"
    body = posts(api)[-1].body
    assert body["thinking"]["type"] == "enabled" and body["output_config"]["effort"] == "low"


def test_compaction_block_is_carried_in_the_next_request(api: Any) -> None:
    summary = "Earlier: the user loaded sales.csv and plotted monthly totals."
    api.enqueue(Turn([Compaction(summary), Text("March is highest.")]), Turn([Text("Yes.")]))
    conv = Conversation(compact=True)
    first = conv.send("which month is highest?").wait()
    block = first.turns[0].blocks[0]
    assert isinstance(block, CompactionBlock) and block.content == summary
    conv.send("sure?").wait()
    second = posts(api)[-1]
    carried = second.body["messages"][1]["content"][0]
    assert carried["type"] == "compaction" and carried["content"] == summary
    assert carried["encrypted_content"]
    assert second.body["context_management"] == {"edits": [{"type": "compact_20260112"}]}
    assert second.headers["anthropic-beta"] == "compact-2026-01-12"
    assert all(r.error is None for r in api.requests)


def test_history_with_compaction_keeps_the_beta_when_compact_is_off(api: Any) -> None:
    api.enqueue(Turn([Compaction("summary"), Text("ok")]), Turn([Text("fine")]))
    conv = Conversation(compact=True)
    conv.send("a").wait()
    conv.options = conv.options.merge(compact=False)
    assert conv.send("b").wait().status == "done"
    assert "context_management" not in posts(api)[-1].body
    assert posts(api)[-1].headers["anthropic-beta"] == "compact-2026-01-12"


def test_demo_backend_accounts_for_the_cache_and_lists_models() -> None:
    import anthropic

    from claude_nb.demo.backend import make_demo_server

    with make_demo_server(delay=0) as srv, anthropic.Anthropic(
            base_url=srv.base_url, api_key="demo", max_retries=0) as client:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "hello"}]
        usages = []
        for follow_up in ("more", "again"):
            reply = client.messages.create(model="claude-sonnet-4-6", max_tokens=500,
                                           system=SYSTEM, messages=messages,
                                           cache_control={"type": "ephemeral"})
            usages.append(reply.usage)
            messages += [{"role": "assistant", "content": reply.content},
                         {"role": "user", "content": follow_up}]
        assert usages[0].cache_creation_input_tokens > 1024
        assert usages[1].cache_read_input_tokens == usages[0].cache_creation_input_tokens
        listed = [m.id for m in client.models.list()]
        assert "claude-opus-4-7" in listed
        assert client.models.retrieve("claude-opus-4-7").capabilities is not None


def test_gateway_without_top_level_cache_control_gets_block_markers(api: Any) -> None:
    api.top_level_cache = False
    conv = Conversation(system=SYSTEM)
    conv.send("rows?").wait()
    second = conv.send("columns?").wait()
    assert second.status == "done"
    bodies = [r.body for r in posts(api)]
    assert [r.error is not None for r in posts(api)] == [True, False, False]  # learnt once
    for body in bodies[1:]:
        assert "cache_control" not in body
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}
        assert body["messages"][-1]["content"][-1]["cache_control"]["type"] == "ephemeral"
        assert all("cache_control" not in b for m in body["messages"][:-1]
                   for b in m["content"])  # history itself is never marked
    assert second.usage.cache_read_input_tokens > 0


def test_a_model_the_catalogue_lacks_is_asked_about_once(api: Any) -> None:
    for _ in range(2):
        assert Conversation(model="claude-custom-x", thinking=2048).send("hi").wait().status \
            == "done"
    asked = [r.path for r in api.requests if r.path.startswith("/v1/models")]
    assert asked == ["/v1/models?limit=1000", "/v1/models/claude-custom-x"]
    assert posts(api)[-1].body["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_deprecated_model_gets_a_one_line_warning(api: Any) -> None:
    reply = Conversation(model="claude-opus-4-1", thinking=2048).send("hi")
    notices = [e.text for e in reply if isinstance(e, Notice)]
    assert notices == ["claude-opus-4-1-20250805 is deprecated and retires on 2027-01-05; "
                       "move to a newer model."]
    assert reply.turns[0].notes == notices  # kept for the footer of the saved output
    # once the catalogue is known, a plain request to that model is warned about too
    plain = [e for e in Conversation(model="claude-opus-4-1").send("again")
             if isinstance(e, Notice)]
    assert len(plain) == 1


def test_demo_backend_compacts_when_the_trigger_is_reached() -> None:
    import anthropic

    from claude_nb.demo.backend import make_demo_server

    edits = {"edits": [{"type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 100}}]}
    with make_demo_server(delay=0) as srv, anthropic.Anthropic(
            base_url=srv.base_url, api_key="demo", max_retries=0) as client:
        reply = client.beta.messages.create(
            model="claude-sonnet-4-6", max_tokens=500, betas=["compact-2026-01-12"],
            messages=[{"role": "user", "content": "summarize " * 200}],
            context_management=edits)  # type: ignore[arg-type]
    assert reply.content[0].type == "compaction" and reply.content[0].content
    assert reply.content[1].type == "text"


def test_compact_with_a_trigger_is_compacted_by_the_server_and_carried(api: Any) -> None:
    conv = Conversation(compact=200)
    first = conv.send("Describe df. " + "The frame has many columns. " * 100).wait()
    sent = posts(api)[-1].body["context_management"]
    assert sent == {"edits": [{"type": "compact_20260112",
                               "trigger": {"type": "input_tokens", "value": 200}}]}
    assert isinstance(first.turns[0].blocks[0], CompactionBlock)
    conv.send("and then?").wait()
    assert posts(api)[-1].body["messages"][1]["content"][0]["type"] == "compaction"
    assert all(r.error is None for r in api.requests)


@pytest.mark.parametrize(("capability", "send", "words"), [
    ("structured_outputs", {"schema": {"type": "object"}}, "structured outputs"),
    ("image_input", {"prompt": [{"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "text", "text": "what is this?"}]}, "image input"),
])
def test_inputs_the_model_cannot_read_fail_before_sending(api: Any, capability: str,
                                                          send: dict[str, Any],
                                                          words: str) -> None:
    import copy

    limited = copy.deepcopy(api.models[1])
    limited["id"] = "claude-limited-1"
    limited["capabilities"][capability] = {"supported": False}
    api.models = [*api.models, limited]
    prompt = send.pop("prompt", "hi")
    reply = Conversation(model="claude-limited-1", **send).send(prompt).wait()
    assert reply.status == "failed" and isinstance(reply.error, ConfigError)
    assert reply.error.message.startswith(f"claude-limited-1 does not support {words}")
    assert posts(api) == []
