"""`Conversation.save(path)` / `Conversation.load(path)`: a conversation as a JSON file.

The file is versioned: `{"format": "claude_nb.conversation", "version": 1, "options": {...},
"turns": [record, ...]}`, each turn the same provenance record a saved notebook output
carries, so a file and a notebook restore through one path. Tools are saved by name only
(they are code): pass them again to `load(path, tools=[...])`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .provenance import KEY, VERSION, record, scrub, versions
from .restore import RestoreError, restore

if TYPE_CHECKING:
    from ..run.session import Conversation

__all__ = ["FORMAT", "dump", "load", "request_body", "save"]

FORMAT = f"{KEY}.conversation"

_OPTIONS = ("model", "system", "max_tokens", "thinking", "temperature", "web_search")


def dump(conv: Conversation, secret: str | None = None) -> dict[str, Any]:
    """The conversation as a JSON-safe document (secrets redacted)."""
    opts = conv.options
    options: dict[str, Any] = {name: getattr(opts, name) for name in _OPTIONS}
    options["tools"] = [t.name for t in opts.tools]
    turns = [record(r, secret) for r in conv.replies if r.status != "pending"]
    return scrub({"format": FORMAT, "version": VERSION, **versions(),
                  "options": options, "turns": turns}, secret)


def request_body(conv: Conversation) -> dict[str, Any]:
    """The conversation as a Messages API request body (the "API JSON" export): model,
    options, tool schemas and the history, as the next request would send them, redacted."""
    return dict(scrub(conv.options.request(list(conv.messages))))


def save(conv: Conversation, path: str | os.PathLike[str], secret: str | None = None) -> Path:
    """Write the conversation to `path` (JSON, UTF-8); returns the path."""
    target = Path(path)
    target.write_text(json.dumps(dump(conv, secret), indent=1, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    return target


def load(path: str | os.PathLike[str], **options: Any) -> Conversation:
    """A `Conversation` rebuilt from a file `save` wrote; `options` (e.g. `tools=[f]`,
    `model=`) override the saved ones."""
    from ..run.session import Conversation

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RestoreError(f"{path} is not a claude_nb conversation file")
    if not isinstance(doc.get("version"), int) or doc["version"] > VERSION:
        raise RestoreError(f"{path} has format version {doc.get('version')!r}; this "
                           f"claude_nb reads up to {VERSION}: upgrade claude_nb")
    saved = {k: v for k, v in (doc.get("options") or {}).items() if k in _OPTIONS}
    conv = Conversation(**{**{k: v for k, v in saved.items() if v is not None}, **options})
    restore(conv, doc.get("turns") or [])
    return conv
