"""The Models API (`GET /v1/models`, `GET /v1/models/{id}`) and the rules it implies.

The loopback's own catalogue, shaped like the API's `ModelInfo` (display name, context
window, max output, lifecycle with deprecation and retirement dates, and capabilities). The
same capabilities decide which request fields the server accepts, so a client that reads a
model's capabilities before sending is tested against the rules it read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .sse import Json

__all__ = ["MODELS", "capability_error", "find_model", "list_page"]

_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_THINKING_TYPES = ("enabled", "adaptive", "disabled", "between_tools")


def _support(value: bool) -> Json:
    return {"supported": value}


def _model(id: str, display_name: str, created_at: str, *, line: str, max_input: int,
           max_tokens: int, thinking: Sequence[str], efforts: Sequence[str] = (),
           compaction: bool = False, lifecycle: str = "active",
           deprecated_at: str | None = None, retires_at: str | None = None) -> Json:
    """One `ModelInfo` as the API returns it: every capability key present."""
    accepted = set(thinking) | {"disabled"}
    effort: Json = {e: _support(e in efforts) for e in _EFFORTS}
    return {
        "type": "model", "id": id, "display_name": display_name, "created_at": created_at,
        "line": line, "lifecycle": lifecycle, "deprecated_at": deprecated_at,
        "retires_at": retires_at, "max_input_tokens": max_input, "max_tokens": max_tokens,
        "capabilities": {
            "batch": _support(True), "citations": _support(True),
            "code_execution": _support(True), "image_input": _support(True),
            "pdf_input": _support(True), "structured_outputs": _support(True),
            "server_tools": {"supported": True, "web_search": _support(True),
                             "code_execution": _support(True)},
            "effort": {"supported": bool(efforts), **effort},
            "thinking": {"supported": bool(thinking),
                         "types": {t: _support(t in accepted) for t in _THINKING_TYPES}},
            "context_management": {
                "supported": compaction, "compact_20260112": _support(compaction),
                "clear_tool_uses_20250919": _support(compaction),
                "clear_thinking_20251015": _support(compaction)},
        },
    }


MODELS: tuple[Json, ...] = (  # newest first, as the API lists them
    _model("claude-opus-4-7", "Claude Opus 4.7", "2026-04-16T00:00:00Z", line="opus",
           max_input=1_000_000, max_tokens=128_000, thinking=("adaptive",),
           efforts=_EFFORTS, compaction=True),
    _model("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", line="sonnet",
           max_input=1_000_000, max_tokens=64_000, thinking=("enabled", "adaptive"),
           efforts=("low", "medium", "high", "max"), compaction=True),
    _model("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z",
           line="haiku", max_input=200_000, max_tokens=64_000, thinking=("enabled",)),
    _model("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z", line="opus",
           max_input=200_000, max_tokens=32_000, thinking=("enabled",),
           lifecycle="deprecated", deprecated_at="2026-06-01T00:00:00Z",
           retires_at="2027-01-05T00:00:00Z"),
)

_ALIASES = {"claude-haiku-4-5": "claude-haiku-4-5-20251001",
            "claude-opus-4-1": "claude-opus-4-1-20250805"}


def find_model(model_id: str, models: Sequence[Json] = MODELS) -> Json | None:
    """The catalogue entry for an id or alias (the API resolves aliases the same way)."""
    wanted = _ALIASES.get(model_id, model_id)
    return next((m for m in models if m["id"] == wanted), None)


def list_page(query: Mapping[str, str], models: Sequence[Json] = MODELS) -> tuple[int, Json]:
    """(status, body) of `GET /v1/models`: `limit` (1-1000, default 20) and an `after_id`
    or `before_id` cursor, answered as `{data, first_id, last_id, has_more}`."""
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        return 400, _error("limit: Input should be a valid integer")
    if not 1 <= limit <= 1000:
        return 400, _error("limit: Input should be between 1 and 1000")
    ids = [m["id"] for m in models]
    start, end = 0, len(ids)
    for key in ("after_id", "before_id"):
        cursor = query.get(key)
        if cursor is not None and cursor not in ids:
            return 400, _error(f"{key}: no model with id {cursor!r}")
    if "after_id" in query:
        start = ids.index(query["after_id"]) + 1
    if "before_id" in query:
        end = ids.index(query["before_id"])
        start = max(start, end - limit)
    page = list(models[start:min(end, start + limit)])
    more = start + len(page) < end if "before_id" not in query else start > 0
    return 200, {"data": page, "has_more": more,
                 "first_id": page[0]["id"] if page else None,
                 "last_id": page[-1]["id"] if page else None}


def _error(message: str) -> Json:
    return {"type": "invalid_request_error", "message": message}


def capability_error(body: Json, models: Sequence[Json] = MODELS) -> str | None:
    """The API's 400 message for a request field the named model does not accept.

    Values outside the API's enums fail for every model; otherwise models outside the
    catalogue (tests use made-up names) accept every field.
    """
    shape = _enum_error(body)
    model = find_model(str(body.get("model", "")), models)
    if shape is not None or model is None:
        return shape
    caps, name = model["capabilities"], model["id"]
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind is not None and not caps["thinking"]["types"].get(kind, {}).get("supported"):
        hint = (' Use "thinking.type.adaptive" and "output_config.effort" to control thinking'
                ' behavior.' if caps["thinking"]["types"]["adaptive"]["supported"] else "")
        return f'"thinking.type.{kind}" is not supported for this model ({name}).{hint}'
    output_config = body.get("output_config")
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    if effort is not None and not caps["effort"].get(effort, {}).get("supported"):
        return f'output_config.effort: "{effort}" is not supported for this model ({name}).'
    return _context_management_error(body.get("context_management"), caps, name)


def _enum_error(body: Json) -> str | None:
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking is not None and kind not in _THINKING_TYPES:
        tags = ", ".join(repr(t) for t in _THINKING_TYPES)
        return f"thinking: Input tag {kind!r} does not match any of the expected tags: {tags}"
    output_config = body.get("output_config")
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    if effort is not None and effort not in _EFFORTS:
        return ("output_config.effort: Input should be "
                + ", ".join(repr(e) for e in _EFFORTS[:-1]) + f" or {_EFFORTS[-1]!r}")
    return None


def _context_management_error(config: Any, caps: Json, name: str) -> str | None:
    if not isinstance(config, dict):
        return None
    for edit in config.get("edits") or []:
        kind = edit.get("type") if isinstance(edit, dict) else None
        if not caps["context_management"].get(kind, {}).get("supported"):
            return (f"context_management.edits: {kind!r} is not supported for this model "
                    f"({name}).")
    return None
