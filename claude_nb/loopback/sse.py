"""The Messages API wire format: SSE frames, the Message they add up to, the reference files.

Everything the loopback server streams is a list of raw frames, so a recorded transcript and
a turn built in Python go through the same writer, the same fault injection and the same
non-streaming assembly.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from ..protocol.sse import parse_frame

__all__ = [
    "TRANSCRIPTS", "frame", "split_frames", "assemble",
    "transcript", "transcript_names", "http_error_bytes", "http_error_names",
]

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
"""The reference streams and HTTP error replies, shipped inside the package (never read from
outside it, so an installed wheel works anywhere)."""

Json = dict[str, Any]


def frame(data: Mapping[str, Any], event: str | None = None) -> bytes:
    """One frame, `event: <type>\\ndata: <json>\\n\\n`, compact JSON except ping like the API."""
    name = event or str(data["type"])
    if name == "ping":
        text = json.dumps(data)
    else:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {text}\n\n".encode()


def split_frames(body: str | bytes) -> list[bytes]:
    """Cut a raw SSE body into frames, each keeping its blank-line terminator."""
    raw = body.encode() if isinstance(body, str) else body
    return [part + b"\n\n" for part in raw.split(b"\n\n") if part.strip()]


# ------------------------------------------------------------ non-streaming assembly

def _add(key: str) -> Callable[[Json, Json], None]:
    def apply(block: Json, delta: Json) -> None:
        block[key] = block.get(key, "") + delta[key]
    return apply


def _signature(block: Json, delta: Json) -> None:
    block["signature"] = delta["signature"]


def _partial_json(block: Json, delta: Json) -> None:
    block["_partial_json"] = block.get("_partial_json", "") + delta["partial_json"]


def _citation(block: Json, delta: Json) -> None:
    block.setdefault("citations", []).append(delta["citation"])


def _compaction(block: Json, delta: Json) -> None:
    """The summary may come in pieces; each piece of opaque state is appended too."""
    for key in ("content", "encrypted_content"):
        if delta.get(key) is not None:
            block[key] = (block.get(key) or "") + delta[key]


_DELTAS: dict[str, Callable[[Json, Json], None]] = {
    "text_delta": _add("text"),
    "thinking_delta": _add("thinking"),
    "signature_delta": _signature,
    "input_json_delta": _partial_json,
    "citations_delta": _citation,
    "compaction_delta": _compaction,
}


def _close_block(block: Json) -> None:
    """Parse the streamed tool input; input cut off by max_tokens stays `{}`."""
    partial = block.pop("_partial_json", None)
    if partial is not None:
        with suppress(ValueError):
            block["input"] = json.loads(partial or "{}")


def _on_message_start(message: Json, data: Json) -> None:
    message.update(copy.deepcopy(data["message"]))


def _on_block_start(message: Json, data: Json) -> None:
    message["content"].append(copy.deepcopy(data["content_block"]))


def _on_block_delta(message: Json, data: Json) -> None:
    apply = _DELTAS.get(data["delta"]["type"])
    if apply is not None:
        apply(message["content"][data["index"]], data["delta"])


def _on_block_stop(message: Json, data: Json) -> None:
    _close_block(message["content"][data["index"]])


def _on_message_delta(message: Json, data: Json) -> None:
    message.update(data["delta"])
    message["usage"].update(data.get("usage", {}))


_EVENTS: dict[str, Callable[[Json, Json], None]] = {
    "message_start": _on_message_start,
    "content_block_start": _on_block_start,
    "content_block_delta": _on_block_delta,
    "content_block_stop": _on_block_stop,
    "message_delta": _on_message_delta,
}


def assemble(frames: Iterable[bytes]) -> Json:
    """The Message a non-streaming request gets for these frames, or the `error` event's data."""
    message: Json = {}
    for raw in frames:
        _, data = parse_frame(raw)
        if not isinstance(data, dict):
            continue
        if data.get("type") == "error":
            return data
        handler = _EVENTS.get(str(data.get("type")))
        if handler is not None:
            handler(message, data)
    for block in message.get("content", []):
        _close_block(block)
    return message


# ------------------------------------------------------------ reference files

def transcript(name: str) -> str:
    """The exact SSE body of `transcripts/<name>.sse`."""
    return (TRANSCRIPTS / f"{name}.sse").read_text(encoding="utf-8")


def transcript_names() -> list[str]:
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.sse"))


def http_error_bytes(name: str) -> bytes:
    """The raw HTTP response of `transcripts/http_errors/<name>.http`."""
    return (TRANSCRIPTS / "http_errors" / f"{name}.http").read_bytes()


def http_error_names() -> list[str]:
    return sorted(p.stem for p in (TRANSCRIPTS / "http_errors").glob("*.http"))
