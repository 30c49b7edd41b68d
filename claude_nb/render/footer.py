"""The usage footer: model, tokens, cache, server tool use, timings, tokens/s and the stop
reason in words, for one turn or the turns of a tool loop (`Totals`).

Output tokens and tokens/s come from `protocol.throughput` (one computation for the footer,
`Reply` and `Turn`); after Stop the output count is a marked estimate, never the
placeholder count of `message_start`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..protocol.status import TurnEnding
from ..protocol.throughput import output_count, tokens_per_second
from ..protocol.transcript import (
    Turn,
    Usage,
)
from . import apicards
from . import html as h

__all__ = ["STOP_WORDS", "FooterSource", "Totals", "footer_html", "footer_text"]

STOP_WORDS: dict[str, str] = {
    "end_turn": "complete", "max_tokens": "cut at max_tokens",
    "stop_sequence": "stop sequence", "tool_use": "tool call",
    "pause_turn": "paused (pause_turn)", "refusal": "refused",
    "model_context_window_exceeded": "context window full", "stopped": "stopped by user",
    "interrupted": "interrupted", "truncated": "truncated (no message_stop)",
    "error": "ended by error",
}


@dataclass(frozen=True)
class Totals:
    """Footer figures for one turn or the turns of a tool loop."""

    model: str = ""
    usage: Usage = field(default_factory=Usage)
    ttft: float | None = None
    duration: float | None = None
    tokens_per_second: float | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    truncated: bool = False
    turns: int = 1
    cost_items: tuple[tuple[str, str], ...] = ()  # cost in USD, context-window fill
    refusal: str | None = None  # a refusal's category and explanation, in words
    notes: tuple[str, ...] = ()  # about the requests (a setting converted for the model)
    #: The output count was estimated from streamed text (stopped before `message_delta`):
    #: `estimated_output` holds the estimate, None when nothing streamed.
    output_estimated: bool = False
    estimated_output: int | None = None

    @classmethod
    def of(cls, turns: Turn | Sequence[Turn]) -> Totals:
        seq = [turns] if isinstance(turns, Turn) else list(turns)
        if not seq:
            return cls(turns=0)
        usage = Usage()
        for t in seq:
            usage.add(t.usage)
        first, last = seq[0], seq[-1]
        output = output_count(seq)
        duration = (last.finished_at - first.requested_at
                    if last.finished_at is not None else None)
        return cls(model=next((t.model for t in reversed(seq) if t.model), ""),
                   usage=usage, ttft=first.ttft, duration=duration,
                   tokens_per_second=tokens_per_second(seq),
                   stop_reason=last.stop_reason, stop_sequence=last.stop_sequence,
                   truncated=last.truncated, turns=len(seq),
                   cost_items=tuple(apicards.cost_items(seq)),
                   refusal=apicards.refusal_text(last.refusal) if last.refusal else None,
                   notes=tuple(n for t in seq for n in t.notes),
                   output_estimated=output.estimated,
                   estimated_output=output.tokens if output.estimated else None)


FooterSource = Turn | Sequence[Turn] | Totals


def _stop_key(t: Totals, stopped: bool | str, failed: bool) -> str | None:
    """How the reply ended: a `TurnEnding`, or the API's `stop_reason` as sent."""
    if stopped:
        return TurnEnding.INTERRUPTED if stopped == "interrupt" else TurnEnding.STOPPED
    if failed:
        return TurnEnding.ERROR
    if t.truncated:
        return TurnEnding.TRUNCATED
    return t.stop_reason


def _server_use_words(usage: Usage) -> str:
    words = {"web_search_requests": "web search", "web_fetch_requests": "web fetch"}
    out = []
    for key, count in usage.server_tool_use.items():
        if count:
            name = words.get(key, key.removesuffix("_requests").replace("_", " "))
            out.append(f"{count} {name}" + ("es" if name.endswith("h") else "s") * (count > 1))
    return ", ".join(out)


def _footer_items(t: Totals, *, demo: bool, stopped: bool | str,
                  failed: bool) -> list[tuple[str, str]]:
    """(css class, text) pairs; the texts are plain (escaped by the HTML writer)."""
    items: list[tuple[str, str]] = [("cnb-badge cnb-demo", "demo")] if demo else []
    if t.model:
        items.append(("cnb-model", t.model))
    if t.turns:
        items.extend(_usage_items(t))
    key = _stop_key(t, stopped, failed)
    if key is not None:
        words = STOP_WORDS.get(key, key)
        if key == "stop_sequence" and t.stop_sequence:
            words += f" “{t.stop_sequence}”"
        if key == "refusal" and t.refusal:
            words = t.refusal
        items.append((f"cnb-stop cnb-stop-{key if key in STOP_WORDS else 'other'}", words))
    return items


def _usage_items(t: Totals) -> list[tuple[str, str]]:
    u = t.usage
    items = [("cnb-tokens", f"in {u.input_tokens:,} · {_output_words(t)}")]
    cache = [f"{label} {n:,}" for label, n in (("cache read", u.cache_read_input_tokens),
                                               ("cache write", u.cache_creation_input_tokens)) if n]
    if cache:
        items.append(("cnb-cache", " · ".join(cache)))
    items.extend(t.cost_items)
    items.extend(("cnb-note", f"note: {n}") for n in t.notes)
    if server := _server_use_words(u):
        items.append(("cnb-server-use", server))
    # "first token" (TTFT: request → first content delta), named so it is not read as the
    # first byte (`Reply.ttfb`: request → message_start, which comes earlier).
    spans = (("first token", t.ttft), ("total", t.duration))
    timing = [f"{label} {h.seconds(v)}" for label, v in spans if v is not None]
    if t.tokens_per_second is not None:
        approx = "~" if t.output_estimated else ""
        timing.append(f"{approx}{t.tokens_per_second:.0f} tok/s")
    if timing:
        items.append(("cnb-timing", " · ".join(timing)))
    if t.turns > 1:
        items.append(("cnb-turns", f"{t.turns} turns"))
    return items


def _output_words(t: Totals) -> str:
    """Output tokens: the API's count, or a marked estimate (never message_start's 1)."""
    if not t.output_estimated:
        return f"out {t.usage.output_tokens:,}"
    if t.estimated_output is None:
        return "out unknown"  # the footer says how the turn ended (stopped, error)
    return f"out ~{t.estimated_output:,} (est.)"


def _totals(source: FooterSource) -> Totals:
    return source if isinstance(source, Totals) else Totals.of(source)


def footer_html(source: FooterSource, *, demo: bool = False, stopped: bool | str = False,
                failed: bool = False) -> str:
    """Model, tokens, cache, server tool use, TTFT, duration, tok/s and the stop reason in
    words. `stopped`: True / "user" (Stop) or "interrupt" (kernel interrupt)."""
    spans = [h.el("span", h.esc(text), class_=cls) for cls, text in
             _footer_items(_totals(source), demo=demo, stopped=stopped, failed=failed)]
    return h.el("div", " · ".join(spans), class_="cnb-footer")


def footer_text(source: FooterSource, *, demo: bool, stopped: bool | str,
                 failed: bool) -> str:
    items = _footer_items(_totals(source), demo=demo, stopped=stopped, failed=failed)
    return " · ".join(text for _, text in items)
