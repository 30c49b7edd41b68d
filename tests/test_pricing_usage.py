"""Compaction/fallback blocks and refusal details in the transcript; cost and usage rows."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic._models import construct_type
from anthropic.types.beta import BetaRawMessageStreamEvent
from support import sse_events

from claude_nb.protocol.pricing import PRICES, cost, price_for
from claude_nb.protocol.blocks import (
    CompactionBlock,
    FallbackBlock,
    TextBlock,
    UnknownBlock,
)
from claude_nb.protocol.transcript import (
    Turn,
    Usage,
)
from claude_nb.protocol.usage import totals, turn_row, usage_rows


def fold(name: str, beta: bool = True) -> Turn:
    turn = Turn()
    for i, data in enumerate(sse_events(name)):
        event = construct_type(type_=BetaRawMessageStreamEvent, value=data) if beta else data
        turn.apply(event, now=float(i + 1))
    turn.close(now=100.0)
    return turn


@pytest.mark.parametrize("beta", [True, False], ids=["beta-types", "dicts"])
def test_compaction_block_is_kept_and_sent_back(beta: bool) -> None:
    turn = fold("compaction", beta)
    block = turn.blocks[0]
    assert isinstance(block, CompactionBlock) and not isinstance(block, UnknownBlock)
    assert block.content is not None and block.content.startswith("The user loaded sales.csv")
    params = turn.content_params()
    assert params[0] == {"type": "compaction", "content": block.content,
                         "encrypted_content": "EpwBCioIDxgCEAEYASJA0pYXVlLWNvbXBhY3Rpb24tc3RhdGU="}
    assert params[1]["type"] == "text"


def test_compaction_summary_in_pieces_is_joined() -> None:
    turn = Turn()
    events: list[dict[str, Any]] = [
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "compaction", "content": None, "encrypted_content": None}},
        {"type": "content_block_delta", "index": 0, "delta": {
            "type": "compaction_delta", "content": "Earlier conversation ",
            "encrypted_content": "AAA"}},
        {"type": "content_block_delta", "index": 0, "delta": {
            "type": "compaction_delta", "content": "summarized.", "encrypted_content": "BBB"}},
        {"type": "content_block_stop", "index": 0},
    ]
    for event in events:
        turn.apply(event, 1.0)
    block = turn.blocks[0]
    assert isinstance(block, CompactionBlock)
    assert (block.content, block.encrypted_content) == ("Earlier conversation summarized.",
                                                        "AAABBB")


def test_fallback_block_and_what_goes_back() -> None:
    turn = fold("fallback")
    assert isinstance(turn.fallback, FallbackBlock)
    assert (turn.fallback.from_model, turn.fallback.to_model) == ("claude-opus-4-7",
                                                                 "claude-sonnet-4-6")
    assert [p["type"] for p in turn.content_params()] == ["fallback", "text"]
    # text the declining model wrote before the hand-over is not part of the answer
    turn.blocks.insert(0, TextBlock(index=9, type="text", text="Sure, here is", done=True))
    assert [p["type"] for p in turn.content_params()] == ["fallback", "text"]


def test_refusal_details() -> None:
    turn = Turn()
    turn.apply({"type": "message_delta", "delta": {
        "stop_reason": "refusal", "stop_details": {"type": "refusal", "category": "cyber",
                                                   "explanation": "Could enable malware."}},
        "usage": {"output_tokens": 3}}, 1.0)
    assert turn.refusal == {"type": "refusal", "category": "cyber",
                            "explanation": "Could enable malware."}
    assert fold("text").refusal is None and fold("refusal", beta=False).refusal is not None


def test_price_table_and_cost() -> None:
    assert price_for("claude-sonnet-4-6") == price_for("claude-sonnet-4-5-20250929")
    assert price_for("claude-opus-4-7") is None and price_for("gpt-4") is None
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000,
                  cache_creation_input_tokens=3_000_000, cache_creation_1h=1_000_000,
                  cache_read_input_tokens=10_000_000)
    # sonnet: 3 + 15 + 2M x 3.75 + 1M x 6 + 10M x 0.30
    assert cost(usage, "claude-sonnet-4-6") == pytest.approx(3 + 15 + 7.5 + 6 + 3)
    assert cost(usage, "claude-sonnet-4-6", batch=True) == pytest.approx((3 + 15 + 7.5 + 6 + 3) / 2)
    assert cost(usage, "claude-opus-4-7") is None
    for price in PRICES.values():
        assert price.cache_read < price.input < price.cache_write_5m < price.cache_write_1h


class _Reply:
    def __init__(self, *turns: Turn) -> None:
        self.turns = list(turns)


def _turn(model: str, **usage: int) -> Turn:
    turn = Turn(message_id="msg_x", model=model)
    turn.usage = Usage(**usage)
    return turn


def test_rows_and_totals() -> None:
    replies = [_Reply(_turn("claude-sonnet-4-6", input_tokens=10, output_tokens=5,
                            cache_creation_input_tokens=2000)),
               _Reply(_turn("claude-sonnet-4-6", input_tokens=20, output_tokens=7,
                            cache_read_input_tokens=2000),
                      _turn("claude-sonnet-4-6", input_tokens=30, output_tokens=9))]
    rows = usage_rows(replies, {"claude-sonnet-4-6": 200_000})
    assert [r["prompt"] for r in rows] == [1, 2, 2]
    assert rows[0]["context_fill"] == pytest.approx(2010 / 200_000)
    total = totals(rows)
    assert total["input_tokens"] == 60 and total["cache_read_tokens"] == 2000
    assert total["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))
    unknown = totals([*rows, turn_row(_turn("claude-opus-4-7", input_tokens=1), 3)])
    assert unknown["cost_usd"] is None and unknown["cost_known_usd"] == total["cost_usd"]
