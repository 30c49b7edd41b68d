"""Building the demo's turns: the label first, thinking when asked, `max_tokens` honoured,
paced like a real stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..loopback import Response, Stream, Text, Thinking, Turn, estimate_tokens
from ..loopback.cache import PromptCache
from ..loopback.compaction import compacting
from ..loopback.script import Block
from ..protocol.sse import parse_frame
from .ask import Ask
from .texts import DEMO_LABEL, DEMO_MODEL, GENERIC_THINKING

__all__ = ["CHUNK", "DELAY", "answer", "frames_until", "paced", "quote", "turn"]

DELAY = 0.025  # seconds between events: visibly streaming, yet a whole tutorial runs fast
CHUNK = 20     # characters per text delta
_CACHE = PromptCache()  # the loopback's accounting: a repeated prefix is a cache read


def turn(ask: Ask, blocks: Sequence[Block], stop_reason: str = "end_turn",
         thinking: str | None = None, **usage: Any) -> Turn:
    """A demo turn: thinking first when the request enabled it, cut at max_tokens, and a
    compaction block first when the request's context management trigger is reached."""
    blocks = list(blocks)
    if ask.thinking and not ask.results:
        blocks.insert(0, Thinking(thinking or GENERIC_THINKING))
    blocks, stop_reason = _cut(blocks, ask.max_tokens, stop_reason)
    request = dict(ask.request)
    made = Turn(blocks=blocks, stop_reason=stop_reason, model=DEMO_MODEL, chunk=CHUNK,
                usage={**_CACHE.account(request).usage(), **usage})
    return compacting(made, request, estimate_tokens(request))


def _cut(blocks: list[Block], max_tokens: int, stop_reason: str) -> tuple[list[Block], str]:
    """Honour `max_tokens` (~4 characters a token) like the API: the answer stops mid-text."""
    budget = max_tokens * 4
    out: list[Block] = []
    for block in blocks:
        size = len(getattr(block, "text", "") or getattr(block, "thinking", ""))
        if isinstance(block, Text) and size > budget:
            out.append(Text(block.text[:max(budget, 1)], block.citations))
            return out, "max_tokens"
        budget -= size
        out.append(block)
    return out, stop_reason


def answer(ask: Ask, markdown: str, thinking: str | None = None) -> Turn:
    """A labelled Markdown answer. After a prefill it starts on a new paragraph, so the label
    is not glued onto the text the answer continues."""
    lead = "\n\n" if ask.prefill and not ask.prefill.endswith("\n\n") else ""
    return turn(ask, [Text(f"{lead}{DEMO_LABEL}\n\n{markdown.strip()}\n")], thinking=thinking)


def paced(response: Response, delay: float = DELAY) -> Response:
    """Turns become streams with `delay` between events; a scripted Stream gets `delay` too."""
    if isinstance(response, Turn):
        return response.stream().with_delay(delay)
    if isinstance(response, Stream):
        return response.with_delay(delay)
    return response


def quote(text: str, limit: int = 400) -> str:
    text = text if len(text) <= limit else text[:limit].rstrip() + " …"
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()) or "> (nothing)"


def frames_until(stream: Stream, marker: str) -> int:
    """How many frames it takes until the streamed text contains `marker`."""
    text = ""
    for count, raw in enumerate(stream.frames, 1):
        data = parse_frame(raw)[1] or {}
        text += (data.get("delta") or {}).get("text", "") if isinstance(data, dict) else ""
        if marker in text:
            return count
    return len(stream.frames)
