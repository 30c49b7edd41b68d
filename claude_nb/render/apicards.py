"""Cards for what today's API adds to a turn: a compaction summary, a model fallback, a
refusal's reasons, notices about the request, and the footer's cost and context-window items.

Every string from the API or the model is escaped here (the summary is Markdown, rendered
through the one sanitising Markdown path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..protocol.pricing import cost
from ..protocol.blocks import CompactionBlock, FallbackBlock
from ..protocol.transcript import Turn
from ..protocol.usage import context_tokens
from ..run.models import windows
from . import html as h
from .context import Ctx

__all__ = ["compaction_html", "cost_items", "cost_words", "fallback_html", "notice_html",
           "plain_renderers", "refusal_text"]

_CATEGORIES = {"cyber": "cybersecurity", "bio": "biology", "frontier_llm": "AI model development",
               "reasoning_extraction": "reasoning extraction", "general_harms": "general harms"}


def compaction_html(block: CompactionBlock, ctx: Ctx) -> str:
    """"Earlier conversation summarized": the summary the server now keeps in its place."""
    if ctx.live and not block.done:
        return h.card("cnb-compaction", h.el("span", "", class_="cnb-spinner")
                      + h.title("Summarizing earlier conversation…"), details=False)
    if block.content is None:
        return h.card("cnb-compaction", h.title("Earlier conversation kept")
                      + h.sub("the server could not summarize it"), details=False)
    return h.card("cnb-compaction", h.title("Earlier conversation summarized")
                  + h.sub("the summary replaces it in what is sent"),
                  h.el("div", h.markdown_html(block.content), class_="cnb-md"))


def fallback_html(block: FallbackBlock, ctx: Ctx) -> str:
    """A one-line notice: the rest of the turn comes from another model."""
    reason = _category(block.trigger.get("category"))
    text = (f"Answered by {block.to_model or 'another model'} after "
            f"{block.from_model or 'the requested model'} declined"
            + (f" ({reason})" if reason else "") + ".")
    return h.el("div", h.esc(text), class_="cnb-notice cnb-fallback", role="status")


def _category(category: Any) -> str:
    return _CATEGORIES.get(str(category), str(category)) if category else ""


def refusal_text(details: dict[str, Any]) -> str | None:
    """"refused (cybersecurity): <explanation>" from a refusal's `stop_details`; None when
    they say nothing more than "refused"."""
    category = _category(details.get("category"))
    explanation = details.get("explanation")
    if not (category or explanation):
        return None
    return (f"refused{f' ({category})' if category else ''}"
            + (f": {explanation}" if explanation else ""))


def _compaction_plain(block: CompactionBlock, ctx: Ctx) -> str:
    if block.content is None:
        return "[earlier conversation kept: the server could not summarize it]"
    return f"[earlier conversation summarized]\n{block.content}"


def _fallback_plain(block: FallbackBlock, ctx: Ctx) -> str:
    return f"[answered by {block.to_model} after {block.from_model} declined]"


def plain_renderers() -> dict[type, Any]:
    """Plain-text renderers of the blocks above (saved text/plain and, escaped, Markdown)."""
    return {CompactionBlock: _compaction_plain, FallbackBlock: _fallback_plain}


def notice_html(text: str) -> str:
    """A neutral notice about the request (e.g. a setting converted for the model)."""
    return h.el("div", h.esc(text), class_="cnb-notice", role="status")


def cost_words(usd: float | None) -> str:
    if usd is None:
        return "cost unknown"
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def cost_items(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """Footer items: the turns' cost in USD ("cost unknown" for a model not priced) and how
    full the context window is after the last request (when the Models API told the window)."""
    counted = [t for t in turns if t.message_id]
    if not counted:
        return []
    window = windows().get(counted[-1].model)
    costs = [cost(t.usage, t.model) for t in counted]
    total = None if None in costs else sum(c for c in costs if c is not None)
    items = [("cnb-cost", cost_words(total))]
    if window:
        used = context_tokens(counted[-1])
        items.append(("cnb-context", f"context {used / window:.1%} of {window:,}"))
    return items
