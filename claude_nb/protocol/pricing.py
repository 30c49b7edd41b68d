"""What a turn costs: one small table of list prices per model family, in USD per million
tokens. Update `PRICES` when prices change; a model not in it has an unknown cost (None),
never a guessed one.

Cache writes cost 1.25x input when kept 5 minutes and 2x when kept 1 hour; cache reads cost
0.1x input. The Batch API halves every price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["BATCH_DISCOUNT", "PRICES", "Price", "cost", "price_for"]

BATCH_DISCOUNT = 0.5


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    input: float
    output: float

    @property
    def cache_write_5m(self) -> float:
        return self.input * 1.25

    @property
    def cache_write_1h(self) -> float:
        return self.input * 2.0

    @property
    def cache_read(self) -> float:
        return self.input * 0.1


# Model id (without a date suffix) -> list price. Public list prices, December 2026.
PRICES: dict[str, Price] = {
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4-0": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
}

_DATED = re.compile(r"(.+?)(?:-\d{8}|-latest)?")


def price_for(model: str) -> Price | None:
    """The price of `model` (an id, alias or dated id), or None when it is not in the table."""
    match = _DATED.fullmatch(model or "")
    return PRICES.get(match.group(1)) if match else None


def cost(usage: Any, model: str, *, batch: bool = False) -> float | None:
    """USD for one turn's `usage` (a transcript `Usage`), or None when the price is unknown.

    Writes without a TTL breakdown count as 5 minute writes (the default TTL).
    """
    price = price_for(model)
    if price is None:
        return None
    written = int(getattr(usage, "cache_creation_input_tokens", 0) or 0)
    hour = min(written, int(getattr(usage, "cache_creation_1h", 0) or 0))
    total = (usage.input_tokens * price.input + usage.output_tokens * price.output
             + (written - hour) * price.cache_write_5m + hour * price.cache_write_1h
             + int(getattr(usage, "cache_read_input_tokens", 0) or 0) * price.cache_read)
    return total / 1e6 * (BATCH_DISCOUNT if batch else 1.0)
