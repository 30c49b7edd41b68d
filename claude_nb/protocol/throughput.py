"""Output tokens and tokens/s: computed one way for the footer, `Reply` and `Turn`.

The API's output count arrives in `message_delta`, just before `message_stop`. A turn
stopped (or cut) before it still holds `message_start`'s placeholder count (often 1), so
that figure is never shown as the answer's size: the tokens are estimated from the streamed
characters instead, and flagged so every sink marks the figure as an estimate.

tokens/s is output tokens over generation time (first content delta → end of the turn),
summed over every turn of a reply: the footer shows the reply's summed usage, so its rate
must cover the same turns (tool run time and each request's wait are not generation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .transcript import Turn

__all__ = ["CHARS_PER_TOKEN", "OutputCount", "output_count", "tokens_per_second"]

#: Rough characters per token for English prose and code (estimates only).
CHARS_PER_TOKEN = 4.0

_STREAMED = ("text", "thinking", "input_json")


@dataclass(frozen=True)
class OutputCount:
    """Output tokens of one or more turns; `estimated`: at least one count was guessed
    from streamed characters; `tokens` is None when nothing is known (nothing streamed)."""

    tokens: int | None
    estimated: bool = False


def _streamed_chars(turn: Turn) -> int:
    chars = 0
    for block in turn.blocks:
        for name in _STREAMED:
            value = getattr(block, name, None)
            if isinstance(value, str):
                chars += len(value)
    return chars


def _turn_count(turn: Turn) -> OutputCount:
    if turn.stop_reason is not None or turn.finished_at is None:
        return OutputCount(turn.usage.output_tokens)  # message_delta's count (or still running)
    chars = _streamed_chars(turn)
    if not chars:
        return OutputCount(None, estimated=True)
    return OutputCount(max(1, round(chars / CHARS_PER_TOKEN)), estimated=True)


def output_count(turns: Sequence[Turn]) -> OutputCount:
    """The output tokens of `turns`, estimated where `message_delta` never came."""
    counts = [_turn_count(t) for t in turns]
    known = [c.tokens for c in counts if c.tokens is not None]
    estimated = any(c.estimated for c in counts)
    if not known and estimated:
        return OutputCount(None, estimated=True)
    return OutputCount(sum(known), estimated)


def tokens_per_second(turns: Sequence[Turn]) -> float | None:
    """Output tokens per second of generation across `turns` (None when unknown)."""
    span = sum(t.finished_at - t.first_token_at for t in turns
               if t.finished_at is not None and t.first_token_at is not None)
    count = output_count(turns)
    if span <= 0 or count.tokens is None:
        return None
    return count.tokens / span
