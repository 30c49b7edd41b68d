"""Server-sent events of the Messages API, parsed once for every reader.

`FrameParser` is incremental (fed arbitrary chunks, no I/O): `cut()` / `cut_end()` find the
frames (cheap: what the event inspector's tap does while a body streams) and `decode()` reads
one into a `Frame` (type, content block index, delta or error type). `parse_frame()` reads a
whole frame's event name and JSON data (the loopback server, the demo and the tests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["COMMENT", "KNOWN_TYPES", "MALFORMED", "Cut", "Frame", "FrameParser", "decode",
           "describe", "loads", "parse_frame"]

MALFORMED = "malformed"
COMMENT = "comment"

# The Messages API stream's event types; anything else is shown as unknown.
KNOWN_TYPES = frozenset({
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping", "error",
})



@dataclass(frozen=True, slots=True)
class Frame:
    """What `FrameParser` makes of one frame; the tap adds the time."""

    type: str
    index: int | None
    delta: str | None
    size: int
    raw: str | None



def describe(data: Any, event: str | None) -> tuple[str, int | None, str | None] | None:
    """(type, index, delta) of a frame's decoded JSON, None when it is not an event."""
    if not isinstance(data, dict):
        return None
    kind = event if event is not None else data.get("type")
    if not isinstance(kind, str):
        return None
    index = data.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        index = None
    detail = data.get("delta") if "delta" in data else data.get("error")
    sub = detail.get("type") if isinstance(detail, dict) else None
    return kind, index, sub if isinstance(sub, str) else None


class Cut(NamedTuple):
    """A frame cut out of the body, not decoded yet: its lines, without their line ends.

    `complete` is False for what the end of the body left without a closing blank line.
    """

    lines: list[bytes]
    size: int
    complete: bool = True


def decode(cut: Cut, keep_raw: bool = False) -> Frame:
    """What a frame says: its type, content block index, delta or error type."""
    lines, size = cut.lines, cut.size
    raw = b"\n".join(lines).decode("utf-8", "replace") if keep_raw else None
    if not cut.complete:
        return Frame(MALFORMED, None, None, size, raw)
    event: bytes | None
    data: bytes | None
    if len(lines) == 2 and lines[0][:7] == b"event: " and lines[1][:6] == b"data: ":
        event, data = lines[0][7:], lines[1][6:]  # the API's shape: the fast path
    else:
        fields = _fields(lines)
        if fields is None:
            return Frame(COMMENT, None, None, size, raw)
        event, data = fields
    name = None if event is None else event.decode("utf-8", "replace")
    described = None if data is None else describe(loads(data), name)
    if described is None:
        return Frame(MALFORMED, None, None, size, raw)
    return Frame(*described, size, raw)


class FrameParser:
    """Server-sent events, fed in arbitrary chunks, out as `Frame`s.

    Lines may end in `\\n`, `\\r\\n` or `\\r` (also split across chunks); a blank line ends
    a frame; `data:` lines join with `\\n`; `:` lines are comments; unknown fields are
    ignored, as the SDK's decoder does. `feed()` returns the frames the chunk completed,
    `finish()` what the end of the body leaves (a frame cut off without its blank line is
    malformed). Sizes add up to the bytes fed (blank lines between frames count towards the
    next frame) and do not depend on how the body was cut into chunks.

    Each is two steps: `cut()` / `cut_end()` find the frames (cheap: what the tap does
    while the body streams) and `decode()` reads one (JSON: done when the log is read).
    """

    def __init__(self, keep_raw: bool = False) -> None:
        self.keep_raw = keep_raw
        self._partial: list[bytes] = []  # the current line, not yet ended
        self._lines: list[bytes] = []  # the current frame's lines, without line ends
        self._size = 0  # bytes of the current frame's ended lines
        self._after_cr = False  # the last byte was "\r": a leading "\n" belongs to it
        self._guessed_lf = False  # ...and was already counted in the sizes
        self._crlf = False  # the last line seen ended in "\r\n"

    def feed(self, data: bytes) -> list[Frame]:
        return [decode(cut, self.keep_raw) for cut in self.cut(data)]

    def finish(self) -> list[Frame]:
        return [decode(cut, self.keep_raw) for cut in self.cut_end()]

    def cut(self, data: bytes) -> list[Cut]:
        if self._after_cr and data:  # settle the guess made when the last chunk ended in "\r"
            self._after_cr = False
            self._crlf = data[:1] == b"\n"
            self._size += self._crlf - self._guessed_lf
            data = data[self._crlf:]
        if not data:
            return []
        if b"\n" not in data and b"\r" not in data:
            self._partial.append(data)
            return []
        if self._partial:
            data = b"".join((*self._partial, data))
            self._partial.clear()
        if not self._lines and data[-2:] == b"\n\n" and b"\r" not in data:
            blocks = data.split(b"\n\n")
            if not blocks[-1]:
                return self._cut_blocks(blocks)
        lines = data.splitlines(keepends=True)
        if lines[-1][-1:] not in (b"\n", b"\r"):
            self._partial.append(lines.pop())
        last = len(lines) - 1 if data[-1:] == b"\r" else -1  # a "\r" ends the chunk
        cuts = []
        for i, line in enumerate(lines):
            size = len(line)
            if i == last:
                # Its "\n" may come next: count that "\n" now when the lines so far ended
                # in "\r\n", so sizes do not depend on where the chunks were cut.
                self._after_cr, self._guessed_lf = True, self._crlf
                size += self._crlf
            else:
                self._crlf = line[-2:] == b"\r\n"
            self._size += size
            content = line.rstrip(b"\r\n")
            if content:
                self._lines.append(content)
            elif self._lines:
                cuts.append(self._take())
        return cuts

    def _cut_blocks(self, blocks: list[bytes]) -> list[Cut]:
        """The common case: whole frames ending in "\\n\\n", no "\\r", none pending."""
        self._crlf = False
        cuts = []
        for block in blocks[:-1]:
            self._size += len(block) + 2
            self._lines += [line for line in block.split(b"\n") if line]
            if self._lines:
                cuts.append(self._take())
        return cuts

    def cut_end(self) -> list[Cut]:
        """The end of the body: a frame without its closing blank line is incomplete."""
        rest = b"".join(self._partial)
        self._partial.clear()
        if rest.strip():
            self._lines.append(rest)
        self._size += len(rest)
        return [self._take()._replace(complete=False)] if self._lines else []

    def _take(self) -> Cut:
        cut = Cut(self._lines, self._size)
        self._lines, self._size = [], 0
        return cut


def _fields(lines: list[bytes]) -> tuple[bytes | None, bytes | None] | None:
    """The `event` and joined `data` fields of a frame's lines; None for comments only."""
    event: bytes | None = None
    data: list[bytes] = []
    fields = 0
    for line in lines:
        if line[:1] == b":":
            continue
        fields += 1
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            event = value
        elif name == b"data":
            data.append(value)
    if not fields:
        return None
    return event, b"\n".join(data) if data else None


_DECODER = json.JSONDecoder()


def loads(data: bytes) -> Any:
    """What `json.loads` makes of `data`, or None when it is not JSON; at half the cost."""
    try:
        text = data.decode()
        start = 0 if text[:1] == "{" else len(text) - len(text.lstrip(" \t\n\r"))
        value, end = _DECODER.raw_decode(text, start)
    except ValueError:  # bad UTF-8 or bad JSON
        return None
    return value if end == len(text) or not text[end:].strip(" \t\n\r") else None



def parse_frame(raw: bytes) -> tuple[str | None, Any]:
    """(event name, decoded data) of one whole frame; data is None when it is not JSON."""
    fields = _fields([line for line in raw.splitlines() if line])
    if fields is None:
        return None, None
    event, data = fields
    name = None if event is None else event.decode("utf-8", "replace")
    try:
        return name, json.loads(b"" if data is None else data.decode("utf-8", "replace"))
    except ValueError:
        return name, None
