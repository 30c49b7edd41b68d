"""Model capabilities from the Models API, and fitting a request to them before it is sent.

`client.models.list()` is asked once per kernel and API endpoint; where the endpoint is
missing (a gateway, an old proxy) or unreachable, nothing is known and requests go out as
written. Only requests that use something some models lack (thinking, effort, compaction,
structured output, web search, images, PDFs) look a model up, so a plain conversation makes
no extra request; a model already known is warned about when deprecated.

`fit(kwargs, info)` converts what can be converted, with a notice (a thinking budget on a
model that only thinks adaptively, and the reverse), and raises `ConfigError` naming the model
and the capability for what cannot be sent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ..protocol.errors import ConfigError
from ..protocol.options import thinking_param

__all__ = ["cached_info", "catalog_sync", "day", "deprecation_warning", "fit", "lookup",
           "needs_capabilities", "remember", "windows"]

# base_url -> {model id or alias: ModelInfo, or None when the endpoint does not know it};
# an empty dict means "the endpoint has no Models API".
_CATALOGS: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


def _key(client: Any) -> str:
    return str(getattr(client, "base_url", ""))


def remember(client: Any, models: Iterable[Any] | None) -> dict[str, Any]:
    """Store a listing for the client's endpoint (None: the endpoint is missing)."""
    catalog = {m.id: m for m in models or ()}
    with _lock:
        _CATALOGS[_key(client)] = catalog
    return catalog


def _missing(exc: Exception) -> bool:
    """A 404/403/405 means the endpoint is not there for us: remember that, quietly."""
    return getattr(exc, "status_code", None) in (403, 404, 405)


async def lookup(client: Any, model: str) -> Any | None:
    """The model's `ModelInfo`, or None when the Models API cannot say."""
    key = _key(client)
    with _lock:
        catalog = _CATALOGS.get(key)
    if catalog is None:
        try:
            catalog = remember(client, [m async for m in client.models.list(limit=1000)])
        except Exception as exc:  # the request goes out as written
            if _missing(exc):
                remember(client, None)
            return None
    if model in catalog or not catalog:
        return catalog.get(model)
    try:  # an alias or a model the listing left out
        info = await client.models.retrieve(model)
    except Exception as exc:
        if not _missing(exc):
            return None
        info = None  # unknown here: not asked again
    with _lock:
        catalog[model] = info
    return info


def catalog_sync(client: Any, refresh: bool = False) -> list[Any] | None:
    """Every model the endpoint lists (sync client), or None where the endpoint is missing.
    Other failures raise: asked for explicitly (`--models`), they are worth a message."""
    with _lock:
        catalog = None if refresh else _CATALOGS.get(_key(client))
    if catalog is None:
        try:
            catalog = remember(client, list(client.models.list(limit=1000)))
        except Exception as exc:
            if not _missing(exc):
                raise
            remember(client, None)
            return None
    listed = {id(m): m for m in catalog.values() if m is not None}  # aliases once
    return list(listed.values()) or None


def cached_info(base_url: str, model: str) -> Any | None:
    """What is already known about `model` at `base_url` (no request)."""
    with _lock:
        return _CATALOGS.get(base_url, {}).get(model)


def windows() -> dict[str, int]:
    """Every known model's context window (`max_input_tokens`), by id."""
    with _lock:
        infos = [i for catalog in _CATALOGS.values() for i in catalog.values() if i]
    return {i.id: i.max_input_tokens for i in infos if getattr(i, "max_input_tokens", None)}


def day(value: Any) -> str:
    """A datetime from the Models API as YYYY-MM-DD."""
    return value.date().isoformat() if hasattr(value, "date") else str(value or "")


def deprecation_warning(info: Any) -> str | None:
    """One line for a deprecated (or retired) model, with its retirement date."""
    lifecycle = getattr(info, "lifecycle", "active")
    if lifecycle == "active":
        return None
    if lifecycle == "retired":
        return f"{info.id} is retired: requests naming it fail."
    when = f" on {day(info.retires_at)}" if info.retires_at is not None else ""
    return f"{info.id} is deprecated and retires{when}; move to a newer model."


def _inputs(kwargs: dict[str, Any]) -> set[str]:
    """Content kinds some models do not read: "image", "pdf" (in any message)."""
    kinds = set()
    for message in kwargs.get("messages") or []:
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "image":
                kinds.add("image")
            elif kind == "document" and (block.get("source") or {}).get(
                    "media_type") == "application/pdf":
                kinds.add("pdf")
    return kinds


def _web_search(kwargs: dict[str, Any]) -> bool:
    return any(str(t.get("type", "")).startswith("web_search")
               for t in kwargs.get("tools") or [] if isinstance(t, dict))


def needs_capabilities(kwargs: dict[str, Any]) -> bool:
    """Whether the request uses a field or input some models do not take."""
    config = kwargs.get("output_config") or {}
    return bool(kwargs.get("thinking") or config.get("effort") or config.get("format")
                or (kwargs.get("extra_body") or {}).get("context_management")
                or _web_search(kwargs) or _inputs(kwargs))


def _supported(node: Any, name: str) -> bool:
    entry = getattr(node, name, None)
    return bool(entry is not None and getattr(entry, "supported", False))


def fit(kwargs: dict[str, Any], info: Any | None) -> tuple[dict[str, Any], list[str]]:
    """`kwargs` made acceptable to the model described by `info`, and notices of what changed.

    Raises `ConfigError` for a field the model cannot take in any form.
    """
    caps = getattr(info, "capabilities", None)
    if info is None or caps is None:
        return kwargs, []
    notices: list[str] = []
    kwargs = dict(kwargs)
    name = str(kwargs.get("model") or info.id)  # as the user wrote it (an alias, maybe)
    thinking = kwargs.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") != "disabled":
        kwargs["thinking"], note = _fit_thinking(thinking, caps.thinking, name, kwargs)
        notices += [note] if note else []
    effort = (kwargs.get("output_config") or {}).get("effort")
    if effort is not None:
        if not caps.effort.supported:
            raise _unsupported(name, "effort (output_config.effort)")
        if not _supported(caps.effort, effort):
            levels = [e for e in ("low", "medium", "high", "xhigh", "max")
                      if _supported(caps.effort, e)]
            raise _unsupported(name, f"effort {effort!r}", f"It accepts: {', '.join(levels)}.")
    edits = ((kwargs.get("extra_body") or {}).get("context_management") or {}).get("edits", [])
    for edit in edits:
        if not _supported(caps.context_management, edit["type"]):
            raise _unsupported(name, f"server-side compaction ({edit['type']})",
                               "Switch it off with `Claude.compact = False`.")
    _check_inputs(kwargs, caps, name)
    return kwargs, notices


def _check_inputs(kwargs: dict[str, Any], caps: Any, name: str) -> None:
    """Structured output, the web search tool, images and PDFs, where the model says no."""
    if (kwargs.get("output_config") or {}).get("format") and not _supported(
            caps, "structured_outputs"):
        raise _unsupported(name, "structured outputs (--json / --schema)")
    if _web_search(kwargs) and not _supported(caps.server_tools, "web_search"):
        raise _unsupported(name, "the web search tool")
    kinds = _inputs(kwargs)
    if "image" in kinds and not _supported(caps, "image_input"):
        raise _unsupported(name, "image input")
    if "pdf" in kinds and not _supported(caps, "pdf_input"):
        raise _unsupported(name, "PDF input")


def _fit_thinking(thinking: dict[str, Any], caps: Any, name: str,
                  kwargs: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    kind, types = str(thinking.get("type")), caps.types
    if _supported(types, kind):
        return thinking, None
    if kind == "enabled" and _supported(types, "adaptive"):
        return thinking_param("adaptive"), (
            f"{name} accepts only adaptive thinking: sent thinking adaptive instead of a "
            f"{thinking.get('budget_tokens')}-token budget (the model decides how much to "
            "think; `--effort` steers it).")
    if kind == "adaptive" and _supported(types, "enabled"):
        budget = max(1024, min(16_000, int(kwargs.get("max_tokens", 8192)) // 2))
        if budget >= int(kwargs.get("max_tokens", 8192)):
            raise _unsupported(name, "adaptive thinking",
                               "Its thinking budget needs max_tokens above 1024.")
        return thinking_param(budget), (
            f"{name} does not take adaptive thinking: sent a {budget:,}-token thinking "
            "budget instead.")
    raise _unsupported(name, "extended thinking")


def _unsupported(model: str, capability: str, more: str = "") -> ConfigError:
    hint = f"{more} " if more else ""
    return ConfigError(f"{model} does not support {capability}.",
                       title="Not sent: the model lacks this capability",
                       hint=hint + "`%claude --models` lists what each model supports.")
