"""Scripted responses: turns built in Python, recorded transcripts, HTTP errors, faults.

Whatever is streamed becomes a `Stream`, a tuple of steps (raw frames, pauses, a dropped
connection). A fault is an edit of that tuple, so faults compose and apply alike to a
recorded transcript and to a turn built here.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .sse import Json, frame, http_error_bytes, split_frames

__all__ = [
    "Block", "Text", "Thinking", "RedactedThinking", "ToolUse", "ServerToolUse",
    "WebSearchResult", "RawBlock", "Turn", "text_turn", "Pause", "Drop", "DROP", "Stream",
    "GARBAGE_LINE", "BAD_JSON", "HttpError", "http_error", "http_error_file", "Response",
    "as_stream", "new_id", "estimate_tokens", "echo_reply", "FAKE_SIGNATURE",
]

FAKE_SIGNATURE = "EqQBCgIYAhIMbG9vcGJhY2stZmFrZS1zaWduYXR1cmUtbm90LXZlcmlmaWFibGU="
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """An id shaped like the API's (`msg_01…`, `toolu_01…`, `req_011C…`)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def _json_deltas(value: Mapping[str, Any], size: int) -> list[Json]:
    """Tool input as the API streams it: an empty first delta, then the compact JSON in pieces."""
    pieces = ["", *_chunks(json.dumps(value, separators=(",", ":")), size)]
    return [{"type": "input_json_delta", "partial_json": p} for p in pieces]


# ------------------------------------------------------------ content blocks

class Block(Protocol):
    """A content block: what `content_block_start` carries, then its deltas."""

    @property
    def content_block(self) -> Json: ...

    def deltas(self, chunk: int) -> list[Json]: ...


@dataclass(frozen=True)
class Text:
    text: str
    citations: Sequence[Mapping[str, Any]] = ()

    @property
    def content_block(self) -> Json:
        if self.citations:
            return {"citations": [], "type": "text", "text": ""}
        return {"type": "text", "text": ""}

    def deltas(self, chunk: int) -> list[Json]:
        cites = [{"type": "citations_delta", "citation": dict(c)} for c in self.citations]
        return [*cites, *({"type": "text_delta", "text": t} for t in _chunks(self.text, chunk))]


@dataclass(frozen=True)
class Thinking:
    """Empty `thinking` gives the `display: "omitted"` shape: only a signature delta."""

    thinking: str
    signature: str = FAKE_SIGNATURE

    @property
    def content_block(self) -> Json:
        return {"type": "thinking", "thinking": "", "signature": ""}

    def deltas(self, chunk: int) -> list[Json]:
        parts = [{"type": "thinking_delta", "thinking": t} for t in _chunks(self.thinking, chunk)]
        return [*parts, {"type": "signature_delta", "signature": self.signature}]


@dataclass(frozen=True)
class RedactedThinking:
    data: str = "EmwKAhgBEgxsb29wYmFjay1yZWRhY3RlZA=="

    @property
    def content_block(self) -> Json:
        return {"type": "redacted_thinking", "data": self.data}

    def deltas(self, chunk: int) -> list[Json]:
        return []


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: Mapping[str, Any]
    id: str = field(default_factory=lambda: new_id("toolu_01"))

    @property
    def content_block(self) -> Json:
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": {},
                "caller": {"type": "direct"}}

    def deltas(self, chunk: int) -> list[Json]:
        return _json_deltas(self.input, chunk)


@dataclass(frozen=True)
class ServerToolUse:
    name: str
    input: Mapping[str, Any]
    id: str = field(default_factory=lambda: new_id("srvtoolu_01"))

    @property
    def content_block(self) -> Json:
        return {"type": "server_tool_use", "id": self.id, "name": self.name, "input": {}}

    def deltas(self, chunk: int) -> list[Json]:
        return _json_deltas(self.input, chunk)


@dataclass(frozen=True)
class WebSearchResult:
    """`content` is a list of `web_search_result` dicts or a `web_search_tool_result_error`."""

    tool_use_id: str
    content: Any

    @property
    def content_block(self) -> Json:
        return {"type": "web_search_tool_result", "tool_use_id": self.tool_use_id,
                "content": self.content}

    def deltas(self, chunk: int) -> list[Json]:
        return []


@dataclass(frozen=True)
class RawBlock:
    """Any block as given, e.g. a type the SDK does not know yet."""

    content_block: Json
    raw_deltas: Sequence[Json] = ()

    def deltas(self, chunk: int) -> list[Json]:
        return list(self.raw_deltas)


# ------------------------------------------------------------ streams and faults

@dataclass(frozen=True)
class Pause:
    """Send nothing for `seconds`; None waits until the client leaves or the server stops."""

    seconds: float | None


@dataclass(frozen=True)
class Drop:
    """Close the socket without finishing the chunked body."""


DROP = Drop()
Step = bytes | Pause | Drop

GARBAGE_LINE = b"this line is not server-sent events\n\n"
BAD_JSON = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n\n'


@dataclass(frozen=True)
class Stream:
    """A 200 streamed body as steps; `delay` seconds pass between consecutive frames.

    Fault methods count `n` in frames (events) and return a new Stream, so they chain.
    """

    steps: tuple[Step, ...]
    delay: float = 0.0

    @property
    def frames(self) -> list[bytes]:
        return [s for s in self.steps if isinstance(s, bytes)]

    def _cut(self, n: int) -> int:
        """Index in `steps` just after the n-th frame."""
        seen = 0
        for i, step in enumerate(self.steps):
            if seen == n:
                return i
            seen += isinstance(step, bytes)
        if seen == n:
            return len(self.steps)
        raise ValueError(f"the stream has only {seen} frames, cannot cut after {n}")

    def with_delay(self, seconds: float) -> Stream:
        return replace(self, delay=seconds)

    def insert_after(self, n: int, *steps: Step) -> Stream:
        cut = self._cut(n)
        return replace(self, steps=self.steps[:cut] + steps + self.steps[cut:])

    def truncate_after(self, n: int, *tail: Step) -> Stream:
        return replace(self, steps=self.steps[:self._cut(n)] + tail)

    def error_after(self, n: int, error_type: str = "overloaded_error",
                    message: str = "Overloaded") -> Stream:
        """A 200 stream that breaks with `event: error`, as the API does when overloaded."""
        error = {"type": "error", "error": {"type": error_type, "message": message}}
        return self.truncate_after(n, frame(error))

    def drop_after(self, n: int) -> Stream:
        return self.truncate_after(n, DROP)

    def end_after(self, n: int) -> Stream:
        """Finish the body cleanly but early, without message_delta / message_stop."""
        return self.truncate_after(n)

    def stall_after(self, n: int, seconds: float | None = None) -> Stream:
        return self.insert_after(n, Pause(seconds))

    def unknown_after(self, n: int, event_type: str = "future_event") -> Stream:
        return self.insert_after(n, frame({"type": event_type, "detail": "from the future"}))

    def malformed_after(self, n: int, raw: bytes = GARBAGE_LINE) -> Stream:
        """Insert a broken frame: `GARBAGE_LINE` (ignored by SSE parsers) or `BAD_JSON`."""
        return self.insert_after(n, raw)


@dataclass(frozen=True)
class Turn:
    """An assistant turn built from blocks; text-like fields are streamed in `chunk`-char deltas.

    `usage` overrides the final usage (e.g. `{"output_tokens": 50, "server_tool_use": {...}}`);
    its `input_tokens` also goes into message_start. Output tokens default to ~chars/4.
    """

    blocks: Sequence[Block]
    stop_reason: str = "end_turn"
    stop_sequence: str | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    stop_details: Mapping[str, Any] | None = None  # a refusal's {type, category, explanation}
    model: str = "claude-loopback"
    id: str = field(default_factory=lambda: new_id("msg_01"))
    chunk: int = 20

    def events(self) -> list[Json]:
        body: list[Json] = []
        for index, block in enumerate(self.blocks):
            body.append({"type": "content_block_start", "index": index,
                         "content_block": block.content_block})
            if index == 0:
                body.append({"type": "ping"})
            body += [{"type": "content_block_delta", "index": index, "delta": d}
                     for d in block.deltas(self.chunk)]
            body.append({"type": "content_block_stop", "index": index})
        chars = sum(len(v) for e in body for k, v in e.get("delta", {}).items()
                    if k != "type" and isinstance(v, str))
        output_tokens = max(1, chars // 4)
        return [self._start(), *body, {
            "type": "message_delta",
            "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence,
                      **({"stop_details": dict(self.stop_details)} if self.stop_details else {})},
            "usage": {"output_tokens": output_tokens, **self.usage},
        }, {"type": "message_stop"}]

    def _start(self) -> Json:
        usage = {"input_tokens": self.usage.get("input_tokens", 25),
                 "cache_creation_input_tokens": self.usage.get("cache_creation_input_tokens", 0),
                 "cache_read_input_tokens": self.usage.get("cache_read_input_tokens", 0),
                 "output_tokens": 1}
        if "cache_creation" in self.usage:
            usage["cache_creation"] = self.usage["cache_creation"]
        return {"type": "message_start", "message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}

    def stream(self) -> Stream:
        return Stream(tuple(frame(e) for e in self.events()))


def text_turn(text: str, chunk: int = 20, **fields: Any) -> Turn:
    return Turn(blocks=[Text(text)], chunk=chunk, **fields)


# ------------------------------------------------------------ HTTP errors

@dataclass(frozen=True)
class HttpError:
    """A non-2xx answer sent instead of a stream."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    reason: str | None = None


def http_error(status: int, error_type: str, message: str,
               headers: Mapping[str, str] | None = None) -> HttpError:
    """An error shaped like the API's: `{"type":"error","error":{…},"request_id":"req_…"}`."""
    request_id = new_id("req_011C")
    body = {"type": "error", "error": {"type": error_type, "message": message},
            "request_id": request_id}
    return HttpError(status, json.dumps(body, separators=(",", ":")).encode(),
                     {"request-id": request_id, **(headers or {})})


def http_error_file(name: str) -> HttpError:
    """`transcripts/http_errors/<name>.http` (raw status line, headers, body)."""
    raw = http_error_bytes(name)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    _, status, reason = status_line.split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines)
    headers.pop("content-length", None)
    return HttpError(int(status), body, headers, reason)


# ------------------------------------------------------------ what the queue holds

Response = str | bytes | Turn | Stream | HttpError


def as_stream(response: Response) -> Stream | HttpError:
    """Raw SSE bodies and turns become Streams; Streams and HTTP errors pass through."""
    if isinstance(response, (str, bytes)):
        return Stream(tuple(split_frames(response)))
    if isinstance(response, Turn):
        return response.stream()
    return response


def estimate_tokens(request: Mapping[str, Any]) -> int:
    """A deterministic stand-in for token counting: ~chars/4 of messages, system and tools."""
    parts = [request.get(k) for k in ("messages", "system", "tools")]
    return max(1, len(json.dumps(parts, ensure_ascii=False)) // 4)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    lines = []
    for block in content or []:
        if block.get("type") == "text":
            lines.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            lines.append(f"[tool_result for {block.get('tool_use_id')}]")
    return "\n".join(lines)


def echo_reply(request: Mapping[str, Any]) -> Turn:
    """The default auto reply: an obviously fake Markdown answer quoting the last user message."""
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    said = _text_of(users[-1].get("content")) if users else ""
    quote = "\n".join(f"> {line}".rstrip() for line in said.splitlines()) or "> (nothing)"
    text = ("**Loopback reply**: an offline stand-in, not Claude.\n\nYou wrote:\n\n"
            f"{quote}\n\n_No model ran; this server only echoes._")
    # No usage here: the server fills in its prompt-cache accounting of the request.
    return text_turn(text, model=str(request.get("model", "claude-loopback")))
