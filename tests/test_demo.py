"""The demo backend: every rule gives a valid stream that the real SDK consumes, labelled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_nb import Conversation

from claude_nb.run import backend
from claude_nb.demo.ask import read_request
from claude_nb.demo.backend import make_demo_server
from claude_nb.demo.rules import ERROR_RULES, RULES, TOOL_RULES, DemoScript
from claude_nb.demo.texts import DEMO_LABEL, DEMO_MODEL
from claude_nb.demo.tooluse import expression_in
from claude_nb.demo.examples import calculator, lookup
from claude_nb.loopback import HttpError, Stream, validate

MODEL = "claude-sonnet-4-6"
CALC_TOOL = {"name": "calculator", "description": "Evaluate arithmetic.",
             "input_schema": {"type": "object", "properties": {"expression": {"type": "string"}},
                              "required": ["expression"]}}
LOOKUP_TOOL = {"name": "lookup", "description": "Look up an element.",
               "input_schema": {"type": "object", "properties": {
                   "name": {"type": "string"}, "field": {"type": "string"}},
                   "required": ["name"]}}
TOOLS_FOR = {"calculator": [CALC_TOOL], "lookup": [LOOKUP_TOOL]}


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    """The demo script without pacing (pacing has its own test)."""
    with make_demo_server(delay=0.0) as srv:
        yield srv


@pytest.fixture
def fast(demo: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point Conversation at the unpaced demo server (as a plain base URL: not flagged demo)."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", demo.base_url)
    return demo


@pytest.fixture(scope="module")
def client(demo: Any) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=demo.base_url, api_key="demo", max_retries=0) as c:
        yield c


def request(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 4096,
            "messages": [{"role": "user", "content": prompt}], **extra}


def rule_name(prompt: str, **extra: Any) -> str:
    return DemoScript().respond(read_request(request(prompt, **extra)))[0]


def text_of(message: Any) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# ---------------------------------------------------------------- the rule tables

@pytest.mark.parametrize("rule", ERROR_RULES + TOOL_RULES + RULES, ids=lambda r: r.name)
def test_each_rule_answers_its_own_example(rule: Any) -> None:
    tools = TOOLS_FOR.get(rule.tool or "", [])
    assert rule_name(rule.example, **({"tools": tools} if tools else {})) == rule.name


@pytest.mark.parametrize("rule", TOOL_RULES + RULES, ids=lambda r: r.name)
def test_each_answer_is_a_valid_labelled_stream(rule: Any, client: anthropic.Anthropic) -> None:
    tools = TOOLS_FOR.get(rule.tool or "", [])
    with client.messages.stream(**request(rule.example, **({"tools": tools} if tools else {}))
                                ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert final.model == DEMO_MODEL
    assert DEMO_LABEL in text_of(final)
    assert final.stop_reason == ("tool_use" if rule.tool else "end_turn")
    assert final.usage.output_tokens > 1


def test_unknown_prompt_explains_demo_mode(client: anthropic.Anthropic) -> None:
    assert rule_name("Write a sonnet about tea.") == "fallback"
    with client.messages.stream(**request("Write a sonnet about tea.")) as stream:
        final = stream.get_final_message()
    text = text_of(final)
    assert text.startswith(DEMO_LABEL)
    assert "demo backend" in text and "ANTHROPIC_API_KEY" in text and "set_api_key" in text
    assert "**API key…** button" in text  # the chat widget's own way to set a key
    assert "> Write a sonnet about tea." in text  # what arrived is quoted back


def test_error_rules_need_the_word_simulate() -> None:
    assert rule_name("Why am I rate limited when the API is overloaded?") == "fallback"
    assert rule_name("Simulate a rate limit, please") == "HTTP 429, then a successful retry"


# ---------------------------------------------------------------- honouring the request

def test_thinking_enabled_adds_a_signed_thinking_block(client: anthropic.Anthropic) -> None:
    body = request("Is 1001 a prime number?", thinking={"type": "enabled", "budget_tokens": 1024})
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["thinking", "text"]
    assert final.content[0].signature and "1001" in final.content[0].thinking
    assert "7 × 11 × 13" in text_of(final)
    with client.messages.stream(**request("Is 1001 a prime number?")) as stream:
        assert [b.type for b in stream.get_final_message().content] == ["text"]


def test_max_tokens_cuts_a_long_answer(client: anthropic.Anthropic) -> None:
    body = request("Tell me a long story about a lighthouse keeper.", max_tokens=60)
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens"
    assert len(text_of(final)) <= 60 * 4


def test_multi_turn_answers_from_the_last_user_message(client: anthropic.Anthropic) -> None:
    body = request("x")
    body["messages"] = [
        {"role": "user", "content": "What is a Python list comprehension?"},
        {"role": "assistant", "content": "A compact loop."},
        {"role": "user", "content": "Now rewrite that example as a for loop."}]
    with client.messages.stream(**body) as stream:
        text = text_of(stream.get_final_message())
    assert "for n in range(10)" in text and "2 user" in text


def test_web_search_cites_example_urls(client: anthropic.Anthropic) -> None:
    body = request("What's new in Python 3.13?",
                   tools=[{"type": "web_search_20250305", "name": "web_search"}])
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds[:3] == ["text", "server_tool_use", "web_search_tool_result"]
    result = final.content[2]
    assert result.tool_use_id == final.content[1].id
    urls = [r.url for r in result.content]
    cites = [c for b in final.content if b.type == "text" for c in (b.citations or [])]
    assert cites and all(c.type == "web_search_result_location" for c in cites)
    assert {c.url for c in cites} <= set(urls)
    assert all(u.startswith(("https://example.org/", "https://example.com/")) for u in urls)
    assert final.usage.server_tool_use.web_search_requests == 1


# ---------------------------------------------------------------- tools round-trip

def test_tool_flow_round_trips_through_the_sdk(client: anthropic.Anthropic) -> None:
    body = request("What is 17 * 23 + sqrt(144)?", tools=[CALC_TOOL])
    first = client.messages.create(**body)
    assert first.stop_reason == "tool_use" and first.model == DEMO_MODEL
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "calculator" and call.input == {"expression": "17 * 23 + sqrt(144)"}
    value = calculator(**call.input)
    body["messages"] += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                       "content": json.dumps(value)}]}]
    assert validate(body) is None
    with client.messages.stream(**body) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    assert "**403**" in text_of(final)


def test_conversation_runs_the_tool_loop_on_the_demo_backend(fast: Any) -> None:
    reply = Conversation(tools=[calculator, lookup]).send(
        "How heavy is a gold atom compared with a silver atom?").wait()
    assert reply.error is None
    assert [t.stop_reason for t in reply.turns] == ["tool_use", "end_turn"]
    assert [b.name for b in reply.turns[0].tool_uses] == ["lookup", "lookup"]
    assert "1.83×" in reply.text  # 196.97 / 107.87, from the tool's real results


def test_a_tool_error_makes_the_demo_try_again(fast: Any) -> None:
    reply = Conversation(tools=[calculator]).send("What is 2 ^ 10?").wait()
    assert [t.stop_reason for t in reply.turns] == ["tool_use", "tool_use", "end_turn"]
    assert "**1024**" in reply.text


def test_an_offered_tool_named_in_the_prompt_is_called_with_inputs_from_the_prompt(
        fast: Any) -> None:
    def roll_dice(count: int, sides: int = 6) -> list[int]:
        """Roll dice.

        Args:
            count: How many dice.
            sides: Faces per die.
        """
        return [sides] * count

    reply = Conversation(tools=[roll_dice]).send("Roll 3 dice with 8 sides.").wait()
    call = reply.turns[0].tool_uses[0]
    assert (call.name, call.input) == ("roll_dice", {"count": 3, "sides": 8})
    assert "[8, 8, 8]" in reply.text


def test_expression_extraction() -> None:
    assert expression_in("What is 17 * 23 + sqrt(144)?") == "17 * 23 + sqrt(144)"
    assert expression_in("Use the calculator: what is 2 ** 32?") == "2 ** 32"
    assert expression_in("hello there") is None


# ---------------------------------------------------------------- errors on request

def test_error_rules_give_the_api_shapes() -> None:
    script = DemoScript()
    for rule in ERROR_RULES:
        response = script.respond(read_request(request(rule.example)))[1]
        assert isinstance(response, (Stream, HttpError)), rule.name
        if isinstance(response, HttpError):
            assert b"simulated by the demo backend" in response.body


@pytest.mark.parametrize("prompt, kind, title", [
    ("Simulate an overloaded error in the middle of the answer.", "StreamError", "overloaded"),
    ("Simulate an HTTP 529.", "APIError", "(529)"),
    ("Simulate a rate limit.", "APIError", "(429)"),
    ("Simulate an authentication error.", "APIError", "(401)"),
    ("Simulate an invalid request.", "APIError", "(400)"),
    ("Simulate a server error.", "APIError", "(500)"),
    ("Simulate a dropped connection.", "ConnectionLost", "Connection lost"),
    ("Simulate a stalled stream.", "StreamStalled", "stalled"),
])
def test_each_error_kind_reaches_the_reply(prompt: str, kind: str, title: str, fast: Any) -> None:
    reply = Conversation(max_retries=0, read_timeout=1).send(prompt).wait()
    assert reply.status == "failed"
    assert type(reply.error).__name__ == kind and title in reply.error.title


def test_rate_limit_is_retried_and_then_succeeds(fast: Any) -> None:
    from claude_nb.protocol.events import Retrying

    reply = Conversation(retry_cap=2).send("Simulate a rate limit, once more.")
    retries = [e for e in reply if isinstance(e, Retrying)]
    assert [(r.error.status, r.delay) for r in retries] == [(429, 1.0)]
    assert reply.status == "done" and "429" in reply.text


def test_midstream_error_keeps_the_partial_text(fast: Any) -> None:
    reply = Conversation().send("Simulate an overloaded error in the middle of the answer.").wait()
    assert reply.text.endswith("stays visible") and DEMO_LABEL in reply.text


# ---------------------------------------------------------------- pacing and the badge

def test_streams_are_paced_but_short() -> None:
    script = DemoScript()
    for rule in TOOL_RULES + RULES:
        tools = TOOLS_FOR.get(rule.tool or "", [])
        stream = script(request(rule.example, **({"tools": tools} if tools else {})))
        assert isinstance(stream, Stream)
        assert 0.015 <= stream.delay <= 0.04
        assert len(stream.frames) * stream.delay < 4.0, rule.name


def test_demo_mode_is_labelled_in_the_static_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_nb.frontends.display import static_bundle

    assert backend.resolve().demo
    reply = Conversation().send("What is the capital of France?").wait()
    assert reply.backend is not None and reply.backend.demo
    bundle = static_bundle(reply)
    assert "cnb-demo" in bundle["text/html"] and "Paris" in bundle["text/html"]
    assert DEMO_LABEL.strip("_") in bundle["text/plain"]


def test_a_key_set_later_switches_to_the_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend.resolve().demo
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    assert not backend.resolve().demo
    monkeypatch.setenv("CLAUDE_NB_BACKEND", "demo")
    assert backend.resolve().demo


def test_async_use_on_the_demo_backend(fast: Any) -> None:
    async def main() -> list[str]:
        replies = await asyncio.gather(*(Conversation().send(f"What is the capital of {c}?")
                                         for c in ("Peru", "Kenya")))
        return [r.text for r in replies]

    texts = asyncio.run(main())
    assert "Lima" in texts[0] and "Nairobi" in texts[1]
