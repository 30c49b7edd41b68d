"""Usage per API turn as plain records: tokens by kind, cost, speed, context-window fill.

One row per request (a tool loop makes several per prompt), as a dict of plain values, so
`pandas.DataFrame(rows)` needs nothing else. `%claude --usage` and the footer read the same
rows; `totals` sums them, so the table's last line is the sum of the lines above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .pricing import cost
from .transcript import Turn

__all__ = ["COLUMNS", "context_tokens", "totals", "turn_row", "usage_rows"]

COLUMNS = ("prompt", "model", "input_tokens", "output_tokens", "cache_write_tokens",
           "cache_read_tokens", "cost_usd", "ttft_s", "tokens_per_s", "context_fill")
_SUMMED = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def context_tokens(turn: Turn) -> int:
    """Tokens the request put in the context window: plain input plus cached input."""
    u = turn.usage
    return u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens


def turn_row(turn: Turn, prompt: int, max_input_tokens: int | None = None,
             *, batch: bool = False) -> dict[str, Any]:
    """One request's record; `max_input_tokens` (the model's window) gives `context_fill`."""
    u = turn.usage
    fill = context_tokens(turn) / max_input_tokens if max_input_tokens else None
    return {"prompt": prompt, "model": turn.model, "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens, "cache_write_tokens": u.cache_creation_input_tokens,
            "cache_read_tokens": u.cache_read_input_tokens,
            "cost_usd": cost(u, turn.model, batch=batch), "ttft_s": turn.ttft,
            "tokens_per_s": turn.tokens_per_second, "context_fill": fill}


def usage_rows(replies: Iterable[Any],
               windows: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Rows for every turn of `replies` (objects with `.turns`, e.g. a conversation's
    `replies`); `windows` maps a model id to its `max_input_tokens` when known."""
    windows = windows or {}
    return [turn_row(turn, number, windows.get(turn.model))
            for number, reply in enumerate(replies, 1) for turn in reply.turns
            if turn.message_id]


def totals(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Sums of the token columns and the cost; `cost_usd` is None when any row's is unknown,
    `cost_known_usd` the sum of the rows whose cost is known."""
    rows = list(rows)
    out: dict[str, Any] = {"turns": len(rows)}
    for name in _SUMMED:
        out[name] = sum(int(r[name]) for r in rows)
    known = [r["cost_usd"] for r in rows if r["cost_usd"] is not None]
    out["cost_known_usd"] = sum(known)
    out["cost_usd"] = out["cost_known_usd"] if len(known) == len(rows) else None
    return out
