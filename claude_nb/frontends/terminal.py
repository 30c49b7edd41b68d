"""The terminal renderer: plain IPython prints text as it streams; Ctrl-C stops cleanly."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from ..protocol.events import Failed, Notice, Retrying, Stopped, ToolChanged
from ..protocol.blocks import (
    ThinkingBlock,
    ToolUseBlock,
)
from ..protocol.changes import (
    BlockDelta,
    BlockFinished,
    BlockStarted,
)
from ..run.session import Conversation, Reply

__all__ = ["Interrupted", "count_text", "print_history", "stream_to_terminal"]


def _safe(text: str) -> str:
    """Drop terminal control sequences a model could use to rewrite the screen."""
    return "".join(ch for ch in text if ch in "\n\t" or (ch >= " " and ch != "\x7f"))


def _write(out: TextIO, text: str) -> None:
    out.write(_safe(text))
    out.flush()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C / kernel interrupt stopped the reply: one line instead of a traceback through
    claude_nb's internals; still a KeyboardInterrupt, so Run All stops."""

    def _render_traceback_(self) -> list[str]:
        return ["KeyboardInterrupt: the reply was stopped; the partial answer is kept."]


def stream_to_terminal(reply: Reply, out: TextIO | None = None) -> None:
    """Iterate the reply on this thread (the sync twin) and print as it arrives; Ctrl-C
    (which the reply turns into a clean stop) ends in `Interrupted`."""
    out = out or sys.stdout
    try:
        for event in reply:
            _print_event(event, out)
            if isinstance(event, ToolChanged) and event.status == "awaiting_approval":
                reply.approve(event.block.id, _ask(event, out))
    except KeyboardInterrupt:
        raise Interrupted from None
    finally:
        out.write("\n")
        out.flush()


def _print_event(event: Any, out: TextIO) -> None:
    if isinstance(event, BlockStarted):
        if isinstance(event.block, ThinkingBlock):
            _write(out, "\n[thinking] ")
        elif isinstance(event.block, ToolUseBlock):
            _write(out, f"\n[{event.block.type}: {event.block.name}] ")
    elif isinstance(event, BlockDelta) and event.kind in ("text", "thinking", "input_json"):
        _write(out, event.text)
    elif isinstance(event, BlockFinished) and isinstance(event.block, ThinkingBlock):
        _write(out, "\n[/thinking]\n")
    elif isinstance(event, ToolChanged) and event.outcome is not None:
        _write(out, f"\n[{event.block.name} → {event.status}] {_short(event.outcome.content)}\n")
    elif isinstance(event, Retrying):
        _write(out, f"\n[{event.error.title}; retrying in {event.delay:.0f} s]\n")
    elif isinstance(event, Notice):
        _write(out, f"[note: {event.text}]\n")
    elif isinstance(event, Failed):
        err = event.error
        rid = f" (request id {err.request_id})" if err.request_id else ""
        _write(out, f"\n\n✖ {err.title}: {err.message}{rid}\n")
        if err.hint:
            _write(out, f"  {err.hint}\n")
    elif isinstance(event, Stopped):
        _write(out, "\n\n■ stopped — the partial answer is kept in the conversation.\n")


def _ask(event: ToolChanged, out: TextIO) -> bool:
    """Approve a `confirm=True` tool at the prompt; anything but yes denies."""
    args = _safe(json.dumps(event.block.input, ensure_ascii=False))
    _write(out, f"\nRun tool {event.block.name}({args})? [y/N] ")
    try:
        return input().strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _short(content: Any, limit: int = 300) -> str:
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def print_history(conversation: Conversation, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for message in conversation.messages:
        content = message["content"]
        parts = [content] if isinstance(content, str) else [
            b.get("text", f"[{b.get('type')}]") for b in content]
        _write(out, f"{message['role']}: {' '.join(parts)}\n")


def count_text(tokens: int, *, demo: bool) -> str:
    """The `--count` result, saying who counted: the API, or the demo backend's estimate."""
    if demo:
        return (f"~{tokens:,} input tokens (the offline demo backend's estimate, about 4 "
                "characters a token, not counted by the API; not sent)")
    return f"{tokens:,} input tokens (counted by the API, not sent)"
