"""The one place `map` turns token counts into dollars (protocol/pricing's table; the Batch
API halves every price)."""

from __future__ import annotations

from types import SimpleNamespace

from ..protocol import pricing
from .items import USAGE_FIELDS

__all__ = ["item_cost"]


def item_cost(model: str, usage: dict[str, int], batch: bool) -> float | None:
    """USD for one answer, or None when no price is known for `model`."""
    counts = SimpleNamespace(**{f: int(usage.get(f, 0) or 0) for f in USAGE_FIELDS})
    return pricing.cost(counts, model, batch=batch)
