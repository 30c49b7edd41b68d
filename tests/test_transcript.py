"""The transcript model folds every reference stream correctly, from dicts and SDK objects."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent

from claude_nb.protocol.blocks import (
    RedactedThinkingBlock, ServerToolResultBlock, ServerToolUseBlock, TextBlock, ThinkingBlock,
    ToolUseBlock, UnknownBlock,
)
from claude_nb.protocol.changes import BlockDelta, TurnFinished, UnknownEvent
from claude_nb.protocol.transcript import Turn
from support import sse_events, transcript_names


def fold(name: str, *, sdk: bool = False, upto: int | None = None) -> tuple[Turn, list[Any]]:
    from anthropic._models import construct_type

    turn = Turn(requested_at=0.0)
    changes: list[Any] = []
    events = sse_events(name)[:upto]
    for i, data in enumerate(events):
        if data.get("type") == "error":
            break
        event = construct_type(type_=RawMessageStreamEvent, value=data) if sdk else data
        changes += turn.apply(event, now=float(i + 1))
    changes += turn.close(now=float(len(events) + 1))
    return turn, changes


@pytest.mark.parametrize("sdk", [False, True], ids=["dict", "sdk"])
@pytest.mark.parametrize("name", transcript_names())
def test_every_transcript_folds_without_error(name: str, sdk: bool) -> None:
    turn, changes = fold(name, sdk=sdk)
    assert isinstance(changes[-1], TurnFinished)
    assert turn.finished_at is not None
    for p in turn.content_params():  # whatever is kept is API-shaped
        assert p["type"] and p["type"] != "unknown"


def test_text_and_usage() -> None:
    turn, _ = fold("text")
    expected = "".join(e["delta"]["text"] for e in sse_events("text")
                       if e["type"] == "content_block_delta")
    assert turn.text == expected
    assert turn.stop_reason == "end_turn" and turn.ended and not turn.truncated
    final = [e for e in sse_events("text") if e["type"] == "message_delta"][-1]
    assert turn.usage.output_tokens == final["usage"]["output_tokens"]
    assert turn.usage.input_tokens > 0
    assert turn.ttfb == 1.0 and turn.ttft is not None and turn.ttft > turn.ttfb
    assert turn.tokens_per_second is not None and turn.tokens_per_second > 0


def test_thinking_keeps_signature_and_sends_it_back() -> None:
    turn, _ = fold("thinking")
    thinking = [b for b in turn.blocks if isinstance(b, ThinkingBlock)]
    assert thinking and thinking[0].signature and thinking[0].thinking
    params = turn.content_params()
    assert params[0]["type"] == "thinking" and params[0]["signature"] == thinking[0].signature


def test_thinking_stopped_before_signature_is_not_sent_back() -> None:
    events = sse_events("thinking")
    sig_at = next(i for i, e in enumerate(events)
                  if e.get("delta", {}).get("type") == "signature_delta")
    turn, _ = fold("thinking", upto=sig_at)
    assert any(isinstance(b, ThinkingBlock) and b.thinking for b in turn.blocks)
    assert all(p["type"] != "thinking" for p in turn.content_params())
    assert turn.truncated


def test_omitted_and_redacted_thinking() -> None:
    turn, _ = fold("thinking_omitted")
    block = next(b for b in turn.blocks if isinstance(b, ThinkingBlock))
    assert block.thinking == "" and block.signature
    turn, _ = fold("redacted_thinking")
    red = next(b for b in turn.blocks if isinstance(b, RedactedThinkingBlock))
    assert red.data and {"type": "redacted_thinking", "data": red.data} in turn.content_params()


def test_tool_use_input_streams_and_parses() -> None:
    turn, changes = fold("tool_use")
    tool = turn.tool_uses[0]
    assert tool.name == "get_weather" and isinstance(tool.input, dict) and tool.input
    assert [c for c in changes if isinstance(c, BlockDelta) and c.kind == "input_json"]
    assert turn.stop_reason == "tool_use"
    turn, _ = fold("tool_use_parallel")
    assert len(turn.tool_uses) == 2


def test_tool_use_cut_by_max_tokens_is_never_sent_back() -> None:
    turn, _ = fold("tool_use_max_tokens_truncated")
    cut = [b for b in turn.blocks if isinstance(b, ToolUseBlock)]
    assert cut and cut[-1].input is None and cut[-1].done
    assert turn.tool_uses == []
    assert all(p["type"] != "tool_use" for p in turn.content_params())


def test_tool_use_stopped_mid_input_is_dropped() -> None:
    events = sse_events("tool_use")
    mid = next(i for i, e in enumerate(events)
               if e.get("delta", {}).get("type") == "input_json_delta"
               and e["delta"]["partial_json"]) + 1
    turn, _ = fold("tool_use", upto=mid)
    assert turn.tool_uses == [] and all(p["type"] != "tool_use" for p in turn.content_params())


def test_web_search_and_citations() -> None:
    turn, _ = fold("web_search")
    assert any(isinstance(b, ServerToolUseBlock) and b.input for b in turn.blocks)
    result = next(b for b in turn.blocks if isinstance(b, ServerToolResultBlock))
    assert isinstance(result.content, list) and not result.is_error
    assert any(isinstance(b, TextBlock) and b.citations for b in turn.blocks)
    assert turn.usage.server_tool_use.get("web_search_requests", 0) >= 1
    kinds = [p["type"] for p in turn.content_params()]
    assert "server_tool_use" in kinds and "web_search_tool_result" in kinds
    err, _ = fold("web_search_error_result")
    assert any(isinstance(b, ServerToolResultBlock) and b.is_error for b in err.blocks)


def test_server_tool_use_without_result_is_dropped() -> None:
    events = sse_events("web_search")
    cut = next(i for i, e in enumerate(events) if e.get("type") == "content_block_start"
               and e["content_block"]["type"] == "web_search_tool_result")
    turn, _ = fold("web_search", upto=cut)
    assert all(p["type"] != "server_tool_use" for p in turn.content_params())


def test_unknown_event_and_block_types_are_neutral() -> None:
    turn, changes = fold("unknown_event_type")
    assert any(isinstance(c, UnknownEvent) and c.type == "future_event" for c in changes)
    assert [u.type for u in turn.unknown_events] == ["future_event"]
    from claude_nb.render import static

    assert "future_event" in static.turn_html(turn)  # the saved output shows it too
    turn = Turn()
    turn.apply({"type": "content_block_start", "index": 0,
                "content_block": {"type": "hologram", "payload": {"x": 1}}}, 1.0)
    turn.apply({"type": "content_block_delta", "index": 0,
                "delta": {"type": "hologram_delta", "bits": "01"}}, 2.0)
    turn.apply({"type": "content_block_stop", "index": 0}, 3.0)
    block = turn.blocks[0]
    assert isinstance(block, UnknownBlock) and block.raw["payload"] == {"x": 1}
    assert block.deltas == [{"type": "hologram_delta", "bits": "01"}]
    assert turn.content_params() == []


def test_stop_reasons() -> None:
    for name, reason in [("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"),
                         ("refusal", "refusal"), ("pause_turn", "pause_turn")]:
        turn, _ = fold(name)
        assert turn.stop_reason == reason, name
    turn, _ = fold("refusal")
    assert turn.stop_details and turn.stop_details["type"] == "refusal"


def test_whitespace_only_text_is_not_kept() -> None:
    turn = Turn()
    turn.apply({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}, 1.0)
    turn.apply({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": "  \n"}}, 2.0)
    turn.close(3.0)
    assert turn.content_params() == []
