"""One Messages request per prompt, the same for parallel and batch mode, and its content key.

The key is a hash of what is sent (model, system, schema, tools, the prompt, limits), so a
result stored under it answers the same request again, after an edit only changed prompts
are missing, and two equal prompts are sent once. The key is also the batch `custom_id`.

Prompt caching: the shared prefix (tools, then system with the JSON instruction) gets one
`cache_control` marker, so every item after the first reads it from the cache (when it is
long enough for the model to cache at all). The marker is not part of the key.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..protocol.errors import ClaudeNBError
from ..protocol.jsonanswer import parse_final
from ..protocol.options import Options

__all__ = ["ItemRequest", "build_requests", "parse_answer"]

_EPHEMERAL = {"type": "ephemeral"}


@dataclass(frozen=True)
class ItemRequest:
    key: str  # 64 hex chars: the content key and the batch custom_id
    params: dict[str, Any]  # `messages.create` keyword arguments, without `stream`


def _key(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _mark_prefix(base: dict[str, Any]) -> dict[str, Any]:
    """Put a cache marker on the last block shared by every item (system, else the tools)."""
    marked = copy.deepcopy(base)
    if isinstance(marked.get("system"), str):
        marked["system"] = [{"type": "text", "text": marked["system"],
                             "cache_control": _EPHEMERAL}]
    elif marked.get("tools"):
        marked["tools"][-1]["cache_control"] = _EPHEMERAL
    return marked


def build_requests(prompts: list[str], options: Options, cache_prefix: bool = True,
                   ) -> list[ItemRequest]:
    """The request for each prompt; the shared part (incl. a pydantic schema) is built once."""
    base = options.request([])
    base.pop("messages")
    sent = _mark_prefix(base) if cache_prefix else base
    out = []
    for prompt in prompts:
        messages = [{"role": "user", "content": prompt}]
        out.append(ItemRequest(_key({**base, "messages": messages}),
                               {**sent, "messages": messages}))
    return out


def parse_answer(text: str, options: Options) -> tuple[Any, str | None]:
    """(data, error) for a JSON / schema answer; (None, None) when no JSON was asked."""
    if not (options.json or options.schema is not None):
        return None, None
    try:
        return parse_final(text, options.schema), None
    except ClaudeNBError as exc:
        return None, exc.message
