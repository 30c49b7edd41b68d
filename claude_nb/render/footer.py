"""The usage footer: model, tokens, cache, server tool use, timings, tokens/s and the stop
reason in words, for one turn or the turns of a tool loop (`Totals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..protocol.transcript import (
    Turn,
    Usage,
)
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

    @classmethod
    def of(cls, turns: Turn | Sequence[Turn]) -> Totals:
        seq = [turns] if isinstance(turns, Turn) else list(turns)
        if not seq:
            return cls(turns=0)
        usage = Usage()
        for t in seq:
            usage.add(t.usage)
        first, last = seq[0], seq[-1]
        span = sum(t.finished_at - t.first_token_at for t in seq
                   if t.finished_at is not None and t.first_token_at is not None)
        duration = (last.finished_at - first.requested_at
                    if last.finished_at is not None else None)
        return cls(model=next((t.model for t in reversed(seq) if t.model), ""),
                   usage=usage, ttft=first.ttft, duration=duration,
                   tokens_per_second=usage.output_tokens / span if span > 0 else None,
                   stop_reason=last.stop_reason, stop_sequence=last.stop_sequence,
                   truncated=last.truncated, turns=len(seq))


FooterSource = Turn | Sequence[Turn] | Totals


def _stop_key(t: Totals, stopped: bool | str, failed: bool) -> str | None:
    if stopped:
        return "interrupted" if stopped == "interrupt" else "stopped"
    if failed:
        return "error"
    if t.truncated:
        return "truncated"
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
        items.append((f"cnb-stop cnb-stop-{key if key in STOP_WORDS else 'other'}", words))
    return items


def _usage_items(t: Totals) -> list[tuple[str, str]]:
    u = t.usage
    items = [("cnb-tokens", f"in {u.input_tokens:,} · out {u.output_tokens:,}")]
    cache = [f"{label} {n:,}" for label, n in (("cache read", u.cache_read_input_tokens),
                                               ("cache write", u.cache_creation_input_tokens)) if n]
    if cache:
        items.append(("cnb-cache", " · ".join(cache)))
    if server := _server_use_words(u):
        items.append(("cnb-server-use", server))
    timing = [f"{label} {h.seconds(v)}" for label, v in (("TTFT", t.ttft), ("total", t.duration))
              if v is not None]
    if t.tokens_per_second is not None:
        timing.append(f"{t.tokens_per_second:.0f} tok/s")
    if timing:
        items.append(("cnb-timing", " · ".join(timing)))
    if t.turns > 1:
        items.append(("cnb-turns", f"{t.turns} turns"))
    return items


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
