"""Fitting context to `Claude.context_budget` (tokens): the largest items are cut first, down
to a common cap, and each cut item says how much it lost (in its text and on the card).

Water-filling: find the largest per-item cap `c` such that the items' text, each cut to at
most `c` characters, fits; small items are never touched while a larger one can give.
Images are not cut; if they alone exceed the budget, the last ones are dropped and noted.
"""

from __future__ import annotations

from .items import ContextItem

__all__ = ["CHARS_PER_TOKEN", "DEFAULT_BUDGET", "fit"]

CHARS_PER_TOKEN = 4
DEFAULT_BUDGET = 20_000  # tokens: room for a few frames, cells and a traceback
MIN_KEEP = 200  # characters an item keeps however tight the budget


def _cap(sizes: list[int], room: int) -> int:
    """The largest cap c with sum(min(s, c)) <= room (sizes sorted ascending)."""
    remaining, left = room, len(sizes)
    for size in sizes:
        if size * left <= remaining:
            remaining -= size
            left -= 1
        else:
            return max(MIN_KEEP, remaining // left)
    return sizes[-1] if sizes else 0


def _cut(item: ContextItem, cap: int) -> ContextItem:
    if len(item.text) <= cap:
        return item
    lost = len(item.text) - cap
    text = item.text[:cap] + f"\n…[cut by the context budget: {lost:,} more characters]"
    return item.with_(text=text, truncated=True, budget_cut=lost)


def _drop_images(items: list[ContextItem], room_tokens: int) -> list[ContextItem]:
    out, used = [], 0
    for item in items:
        if item.images and used + item.image_token_estimate > room_tokens:
            out.append(item.with_(images=(), image_token_estimate=0, truncated=True,
                                  text=item.text + " [not attached: over the context budget]",
                                  note=(item.note + "; " if item.note else "")
                                  + "image dropped by the budget"))
            continue
        used += item.image_token_estimate
        out.append(item)
    return out


def fit(items: list[ContextItem], budget_tokens: int) -> list[ContextItem]:
    """The items cut to fit `budget_tokens` (inline and literal items are left alone)."""
    items = _drop_images(items, budget_tokens)
    image_tokens = sum(i.image_token_estimate for i in items)
    cuttable = [i for i in items if not i.inline and not i.literal]
    fixed = sum(len(i.text) for i in items if i.inline or i.literal)
    room = max(0, (budget_tokens - image_tokens) * CHARS_PER_TOKEN - fixed)
    if sum(len(i.text) for i in cuttable) <= room:
        return items
    cap = _cap(sorted(len(i.text) for i in cuttable), room)
    return [i if i.inline or i.literal else _cut(i, cap) for i in items]
