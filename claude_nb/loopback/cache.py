"""Prompt-cache accounting, as the Messages API reports it in `usage`.

A request is read as a sequence of cacheable blocks in the API's order (tools, system,
then each message's content blocks). A breakpoint is a block with `cache_control`, or, with
the top-level `cache_control`, the last block of the request. For each breakpoint the server
looks back up to 20 block boundaries for the longest prefix already cached: those tokens are
a cache *read*; the tokens from there up to the last breakpoint are a cache *write* (split by
TTL, 1 h entries before 5 min ones); the rest is plain input. A prefix shorter than the
model's minimum is not cached. Entries expire after their TTL; a read refreshes one.
Token counts are the loopback's usual ~chars/4 estimate, so the three kinds add up to the
whole request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .sse import Json

__all__ = ["MIN_CACHEABLE_TOKENS", "CacheUsage", "PromptCache", "breakpoint_error"]

MIN_CACHEABLE_TOKENS = 1024
_LOOKBACK = 20  # block boundaries the API checks behind each breakpoint
_MAX_BREAKPOINTS = 4
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class CacheUsage:
    """The usage fields a response reports for one request."""

    input_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_creation_5m + self.cache_creation_1h

    def usage(self) -> Json:
        """As in `message_start.message.usage` (without `output_tokens`)."""
        return {"input_tokens": self.input_tokens,
                "cache_creation_input_tokens": self.cache_creation_input_tokens,
                "cache_read_input_tokens": self.cache_read_input_tokens,
                "cache_creation": {"ephemeral_5m_input_tokens": self.cache_creation_5m,
                                   "ephemeral_1h_input_tokens": self.cache_creation_1h}}


def _message_units(messages: list[Any]) -> list[Any]:
    """Message blocks in order; the API drops everything before the last `compaction`
    block (the summary stands in for it), so those count neither as input nor as prefix."""
    units: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        role = message.get("role") if isinstance(message, dict) else None
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else (
                content or []):
            if isinstance(block, dict) and block.get("type") == "compaction":
                units.clear()
            units.append({"role": role, **block} if isinstance(block, dict) else block)
    return units


def _units(body: Json) -> Iterator[Any]:
    """The request's cacheable blocks, in prefix order."""
    yield from body.get("tools") or []
    system = body.get("system")
    if isinstance(system, str) and system:
        yield {"type": "text", "text": system}
    elif isinstance(system, list):
        yield from system
    yield from _message_units(list(body.get("messages") or []))


def _marker(unit: Any) -> str | None:
    """The TTL of a block's own `cache_control`, or None when it has none."""
    control = unit.get("cache_control") if isinstance(unit, dict) else None
    if not isinstance(control, dict):
        return None
    return str(control.get("ttl") or "5m")


def _plain(unit: Any) -> Any:
    """The block as the cache sees it: its marker does not change the prefix."""
    if isinstance(unit, dict) and "cache_control" in unit:
        return {k: v for k, v in unit.items() if k != "cache_control"}
    return unit


def _top_level_ttl(body: Json) -> str | None:
    control = body.get("cache_control")
    return str(control.get("ttl") or "5m") if isinstance(control, dict) else None


def breakpoint_error(body: Json) -> str | None:
    """The API's 400 for more than four cache breakpoints, or a bad TTL."""
    ttls = [t for t in map(_marker, _units(body)) if t is not None]
    top = _top_level_ttl(body)
    if top is not None:
        ttls.append(top)
    bad = next((t for t in ttls if t not in _TTL_SECONDS), None)
    if bad is not None:
        return f"cache_control.ttl: Input should be '5m' or '1h' (got {bad!r})"
    if len(ttls) > _MAX_BREAKPOINTS:
        return (f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {len(ttls)}.")
    return None


class PromptCache:
    """The server's cache: prefix fingerprints with expiry times, shared by all requests."""

    def __init__(self, min_tokens: int = MIN_CACHEABLE_TOKENS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_tokens = min_tokens
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}  # fingerprint -> (expires, ttl)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def account(self, body: Json) -> CacheUsage:
        """Look the request's prefixes up, store its breakpoints, and report the usage."""
        units = list(_units(body))
        tokens, keys = [0], []
        digest = hashlib.sha256(str(body.get("model")).encode())
        for unit in units:
            text = json.dumps(_plain(unit), sort_keys=True, ensure_ascii=False)
            tokens.append(tokens[-1] + max(1, len(text) // 4))
            digest.update(text.encode())
            keys.append(digest.copy().hexdigest())
        breakpoints = [(i + 1, ttl) for i, u in enumerate(units) if (ttl := _marker(u))]
        top = _top_level_ttl(body)
        if top is not None and units:
            breakpoints.append((len(units), top))
        breakpoints.sort()
        total = tokens[-1]
        if not breakpoints:
            return CacheUsage(input_tokens=max(1, total))
        with self._lock:
            hit = self._longest_hit(keys, [b for b, _ in breakpoints])
            written = self._write(keys, tokens, breakpoints, hit)
        read = tokens[hit]
        return CacheUsage(input_tokens=max(0, total - read - written["5m"] - written["1h"]),
                          cache_read_input_tokens=read,
                          cache_creation_5m=written["5m"], cache_creation_1h=written["1h"])

    def _longest_hit(self, keys: list[str], breakpoints: list[int]) -> int:
        """Blocks covered by the longest live cached prefix (0 = a miss); refreshes it."""
        now = self._clock()
        best = 0
        for end in breakpoints:
            for n in range(end, max(0, end - _LOOKBACK) - 1, -1):
                entry = self._entries.get(keys[n - 1]) if n else None
                if entry is not None and entry[0] > now:
                    best = max(best, n)
                    break
        if best:
            ttl = self._entries[keys[best - 1]][1]
            self._entries[keys[best - 1]] = (now + _TTL_SECONDS[ttl], ttl)
        return best

    def _write(self, keys: list[str], tokens: list[int], breakpoints: list[tuple[int, str]],
               hit: int) -> dict[str, int]:
        """Store each breakpoint past the hit; tokens written per TTL."""
        now = self._clock()
        written = {"5m": 0, "1h": 0}
        start = hit
        for end, ttl in breakpoints:
            if end <= start or tokens[end] < self.min_tokens:
                continue
            self._entries[keys[end - 1]] = (now + _TTL_SECONDS[ttl], ttl)
            written[ttl] += tokens[end] - tokens[start]
            start = end
        return written
