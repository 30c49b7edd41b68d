"""Sending the cache request in the form the endpoint takes.

The API takes a top-level `cache_control` (it marks the last cacheable block itself). A
gateway or an older deployment that rejects it (400 naming `cache_control`) gets the same
request with markers on the last tool, the system prompt and the last message's last block
instead (three of the four allowed), and the endpoint is remembered so later requests go in
that form at once.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["block_markers", "create_stream"]

_BLOCK_FORM: set[str] = set()  # endpoints (base URLs) that reject the top-level form
_lock = threading.Lock()


def _marked(block: Any, control: dict[str, Any]) -> dict[str, Any]:
    if isinstance(block, str):
        return {"type": "text", "text": block, "cache_control": control}
    return {**block, "cache_control": control}


def block_markers(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the top-level `cache_control` moved onto blocks (history is not
    mutated: changed messages and lists are copies)."""
    control = kwargs.get("cache_control")
    if not isinstance(control, dict):
        return kwargs
    out = {k: v for k, v in kwargs.items() if k != "cache_control"}
    tools = out.get("tools")
    if tools:
        out["tools"] = [*tools[:-1], _marked(tools[-1], control)]
    system = out.get("system")
    if isinstance(system, str) and system:
        out["system"] = [_marked(system, control)]
    elif isinstance(system, list) and system:
        out["system"] = [*system[:-1], _marked(system[-1], control)]
    messages = list(out.get("messages") or [])
    if messages:
        last = messages[-1]
        content = last.get("content")
        blocks = [content] if isinstance(content, str) else list(content or [])
        if blocks:
            messages[-1] = {**last, "content": [*blocks[:-1], _marked(blocks[-1], control)]}
        out["messages"] = messages
    return out


def _rejects_top_level(exc: Exception, kwargs: dict[str, Any]) -> bool:
    return (getattr(exc, "status_code", None) == 400 and "cache_control" in kwargs
            and "cache_control" in str(getattr(exc, "message", exc)))


async def create_stream(client: Any, kwargs: dict[str, Any]) -> Any:
    """`client.messages.create(stream=True, **kwargs)`, in the cache form the endpoint takes."""
    endpoint = str(getattr(client, "base_url", ""))
    with _lock:
        blocks = endpoint in _BLOCK_FORM
    if blocks:
        return await client.messages.create(stream=True, **block_markers(kwargs))
    try:
        return await client.messages.create(stream=True, **kwargs)
    except Exception as exc:
        if not _rejects_top_level(exc, kwargs):
            raise
    with _lock:
        _BLOCK_FORM.add(endpoint)
    return await client.messages.create(stream=True, **block_markers(kwargs))
