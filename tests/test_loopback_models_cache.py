"""The loopback's Models API, prompt-cache accounting and context management, through the
real SDK over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_nb.loopback import LoopbackServer, Text, Turn
from claude_nb.loopback.compaction import (
    COMPACT_BETA,
    Compaction,
    Fallback,
    refusal_details,
)

LONG_SYSTEM = "You answer questions about the data frame df. " * 200  # ~2300 tokens


@pytest.fixture
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def client(srv: LoopbackServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=srv.base_url, api_key="test", max_retries=0) as c:
        yield c


def test_models_list_pages_like_the_api(client: anthropic.Anthropic,
                                        srv: LoopbackServer) -> None:
    first = client.models.list(limit=2)
    assert [m.id for m in first.data] == [m["id"] for m in srv.models[:2]]
    assert first.has_more and first.last_id == srv.models[1]["id"]
    assert [m.id for m in client.models.list(limit=2)] == [m["id"] for m in srv.models]
    rest = client.models.list(after_id=srv.models[1]["id"], limit=10)
    assert [m.id for m in rest.data] == [m["id"] for m in srv.models[2:]] and not rest.has_more
    assert [m.id for m in client.models.list(before_id=srv.models[2]["id"], limit=1).data] == \
        [srv.models[1]["id"]]


def test_model_info_has_capabilities_and_lifecycle(client: anthropic.Anthropic) -> None:
    opus = client.models.retrieve("claude-opus-4-7")
    assert opus.capabilities is not None
    types = opus.capabilities.thinking.types
    assert types.adaptive.supported and not types.enabled.supported
    assert opus.capabilities.effort.xhigh is not None and opus.capabilities.effort.xhigh.supported
    assert opus.max_input_tokens == 1_000_000 and opus.max_tokens == 128_000
    old = client.models.retrieve("claude-opus-4-1")  # an alias resolves to the dated id
    assert old.id == "claude-opus-4-1-20250805" and old.lifecycle == "deprecated"
    assert old.retires_at is not None and old.retires_at.year == 2027
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nope"):
        client.models.retrieve("claude-nope")


def test_no_models_endpoint_is_a_404(client: anthropic.Anthropic, srv: LoopbackServer) -> None:
    srv.models = []
    with pytest.raises(anthropic.NotFoundError):
        client.models.list()


def _ask(client: anthropic.Anthropic, messages: list[dict[str, Any]], **more: Any) -> Any:
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=200, system=LONG_SYSTEM,
                                  messages=messages, **more)


def test_repeated_prefix_is_a_cache_read(client: anthropic.Anthropic) -> None:
    """Turn 1 writes the prefix; turn 2 reads it and writes only what is new."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "How many rows?"}]
    first = _ask(client, messages, cache_control={"type": "ephemeral", "ttl": "1h"}).usage
    assert first.cache_read_input_tokens == 0 and first.cache_creation_input_tokens > 1024
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_1h_input_tokens == first.cache_creation_input_tokens
    messages += [{"role": "assistant", "content": "Ten."}, {"role": "user", "content": "Cols?"}]
    second = _ask(client, messages, cache_control={"type": "ephemeral"}).usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation is not None
    assert 0 < second.cache_creation.ephemeral_5m_input_tokens == second.cache_creation_input_tokens
    assert second.cache_creation_input_tokens < 50  # only the two new messages
    uncached = _ask(client, messages).usage  # no marker: everything is plain input
    assert uncached.cache_read_input_tokens == uncached.cache_creation_input_tokens == 0
    assert uncached.input_tokens == (second.input_tokens + second.cache_read_input_tokens
                                     + second.cache_creation_input_tokens)


def test_short_prefixes_and_other_models_are_not_cached(client: anthropic.Anthropic) -> None:
    short = client.messages.create(model="claude-sonnet-4-6", max_tokens=50,
                                   messages=[{"role": "user", "content": "hi"}],
                                   cache_control={"type": "ephemeral"}).usage
    assert short.cache_creation_input_tokens == 0 and short.input_tokens > 0
    messages = [{"role": "user", "content": "How many rows?"}]
    _ask(client, messages, cache_control={"type": "ephemeral"})
    other = client.messages.create(model="claude-opus-4-7", max_tokens=50, system=LONG_SYSTEM,
                                   messages=messages, cache_control={"type": "ephemeral"}).usage
    assert other.cache_read_input_tokens == 0 and other.cache_creation_input_tokens > 0


def test_block_markers_and_their_limit(client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}]
    kw: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 50, "system": system}
    first = client.messages.create(messages=[{"role": "user", "content": "a"}], **kw).usage
    second = client.messages.create(messages=[{"role": "user", "content": "b"}], **kw).usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens > 0
    marked = [{"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
              for i in range(4)]
    with pytest.raises(anthropic.BadRequestError, match="A maximum of 4 blocks"):
        client.messages.create(messages=[{"role": "user", "content": marked}],
                               cache_control={"type": "ephemeral"}, **kw)


def test_request_fields_follow_model_capabilities(client: anthropic.Anthropic) -> None:
    base: dict[str, Any] = {"max_tokens": 8000, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(anthropic.BadRequestError,
                       match=r"thinking\.type\.enabled.*claude-opus-4-7"):
        client.messages.create(model="claude-opus-4-7", thinking={"type": "enabled",
                                                                  "budget_tokens": 2000}, **base)
    client.messages.create(model="claude-opus-4-7", thinking={"type": "adaptive"},
                           output_config={"effort": "xhigh"}, **base)
    with pytest.raises(anthropic.BadRequestError, match=r"effort.*xhigh.*claude-sonnet-4-6"):
        client.messages.create(model="claude-sonnet-4-6", output_config={"effort": "xhigh"},
                               **base)
    with pytest.raises(anthropic.BadRequestError, match=r"adaptive.*claude-haiku-4-5"):
        client.messages.create(model="claude-haiku-4-5", thinking={"type": "adaptive"}, **base)


def test_compaction_needs_its_beta_and_round_trips(client: anthropic.Anthropic,
                                                   srv: LoopbackServer) -> None:
    edits = {"edits": [{"type": "compact_20260112",
                        "trigger": {"type": "input_tokens", "value": 50}}]}
    messages: list[dict[str, Any]] = [{"role": "user", "content": "word " * 400}]
    with pytest.raises(anthropic.BadRequestError, match=COMPACT_BETA):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=messages,
                               extra_body={"context_management": edits})
    reply = client.beta.messages.create(model="claude-sonnet-4-6", max_tokens=100,
                                        messages=messages, betas=[COMPACT_BETA],
                                        context_management=edits)  # type: ignore[arg-type]
    compaction = reply.content[0]
    assert compaction.type == "compaction" and compaction.content
    assert "Summary of the 1 earlier messages" in compaction.content
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                   for b in reply.content]},
                 {"role": "user", "content": "go on"}]
    with pytest.raises(anthropic.BadRequestError, match="'compaction' blocks require"):
        client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=messages)
    client.beta.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=messages,
                                betas=[COMPACT_BETA])
    assert srv.requests[-1].body["messages"][1]["content"][0]["type"] == "compaction"


def test_scripted_fallback_and_refusal_streams(client: anthropic.Anthropic,
                                               srv: LoopbackServer) -> None:
    srv.enqueue(
        Turn([Fallback("claude-opus-4-7", "claude-sonnet-4-6", "cyber"), Text("Here it is.")],
             model="claude-sonnet-4-6"),
        Turn([Text("I can't help with that.")], stop_reason="refusal",
             stop_details=refusal_details("cyber", "This could enable malware.")),
        Turn([Compaction("Earlier: rows and columns."), Text("Yes.")]),
    )
    request: dict[str, Any] = {"model": "m", "max_tokens": 100,
                               "messages": [{"role": "user", "content": "x"}]}
    with client.beta.messages.stream(**request) as stream:
        fallback = stream.get_final_message().content[0]
    assert fallback.type == "fallback" and fallback.to.model == "claude-sonnet-4-6"
    assert fallback.from_.model == "claude-opus-4-7" and fallback.trigger.category == "cyber"
    with client.messages.stream(**request) as stream:
        refused = stream.get_final_message()
    assert refused.stop_reason == "refusal" and refused.stop_details is not None
    assert refused.stop_details.explanation == "This could enable malware."
    with client.beta.messages.stream(**request) as stream:
        summary = stream.get_final_message().content[0]
    assert summary.type == "compaction" and summary.content == "Earlier: rows and columns."


def test_compaction_block_replaces_what_it_summarizes_in_the_input(
        client: anthropic.Anthropic) -> None:
    history: list[dict[str, Any]] = []
    for i in range(6):
        history += [{"role": "user", "content": f"question {i} " + "detail " * 300},
                    {"role": "assistant", "content": f"answer {i} " + "more " * 300}]
    ask = [*history, {"role": "user", "content": "and now?"}]
    full = client.messages.create(model="m", max_tokens=50, messages=ask).usage.input_tokens
    summary = {"type": "compaction", "content": "Six questions about details.",
               "encrypted_content": "EpwBstate"}
    compacted = [*history[:-1], {"role": "assistant", "content": [summary]},
                 {"role": "user", "content": "and now?"}]
    after = client.beta.messages.create(model="m", max_tokens=50, messages=compacted,
                                        betas=[COMPACT_BETA]).usage.input_tokens
    assert after < full / 20  # only the summary and the new question remain


def test_unknown_enum_values_fail_for_any_model(client: anthropic.Anthropic) -> None:
    base: dict[str, Any] = {"model": "claude-made-up", "max_tokens": 100,
                            "messages": [{"role": "user", "content": "hi"}]}
    bad_effort: Any = {"effort": "extreme"}
    with pytest.raises(anthropic.BadRequestError, match=r"output_config\.effort: Input should"):
        client.messages.create(output_config=bad_effort, **base)
    with pytest.raises(anthropic.BadRequestError, match="does not match any of the expected"):
        client.messages.create(thinking={"type": "sometimes"}, **base)  # type: ignore[misc]
    client.messages.create(thinking={"type": "adaptive"}, output_config={"effort": "max"}, **base)
