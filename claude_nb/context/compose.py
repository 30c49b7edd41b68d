"""A prompt with notebook context: `{name}` references rendered by type, attachments
(`--error`, `--cells`), redaction, the budget, and the API content that carries them.

Only references are resolved: `{name}`, `{name.attr}`, subscripts with a literal
(`{In[3]}`, `{Out[3]}`, `{config['a']}` on lists, tuples and dicts) and `{_}`. Nothing is
evaluated, so `{df.describe()}` stays as written and is flagged on the card. `{{` / `}}` are
literal braces. A short one-line value is written into the sentence; anything larger is
attached as a `<context>` block before the prompt (images as image blocks) and the
reference becomes its name in backticks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol.redact import redact_report, secret_name
from .budget import DEFAULT_BUDGET, fit
from .generic import INLINE_MAX
from .items import ContextItem
from .registry import render_value

__all__ = ["Composed", "compose"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]{1,200})\}")
_PATH = re.compile(r"\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*|\[(?:-?\d+|'[^'\]]*'|\"[^\"\]]*\")\])*)"
                   r"\s*\Z")
_STEP = re.compile(r"\.([A-Za-z_]\w*)|\[(-?\d+|'[^'\]]*'|\"[^\"\]]*\")\]")
_MISSING = object()


@dataclass(frozen=True)
class Composed:
    """What `Conversation.send` gets (`prompt`) and what the context card lists."""

    prompt: str | list[dict[str, Any]]
    text: str
    items: tuple[ContextItem, ...] = ()
    prompt_redactions: tuple[str, ...] = field(default=())

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.items if not i.literal)


def _resolve(expr: str, namespace: Mapping[str, Any]) -> tuple[str, list[str], Any]:
    """(canonical name, name segments, value or _MISSING) for a reference expression."""
    m = _PATH.match(expr)
    if m is None:
        return expr, [], _MISSING
    head, rest = m.group(1), m.group(2)
    value = namespace.get(head, _MISSING)
    segments = [head]
    for step in _STEP.finditer(rest):
        if value is _MISSING:
            break
        attr, key = step.group(1), step.group(2)
        if attr is not None:
            segments.append(attr)
            try:  # a property may raise anything; the reference then stays as written
                value = _MISSING if attr.startswith("_") else getattr(value, attr, _MISSING)
            except Exception:
                value = _MISSING
            continue
        index: Any = int(key) if key[0] not in "'\"" else key[1:-1]
        segments.append(str(index))
        try:
            value = value[index] if isinstance(value, (list, tuple, dict)) else _MISSING
        except (IndexError, KeyError, TypeError):
            value = _MISSING
    return head + rest.replace('"', "'"), segments, value  # one quoting style in names


def _item(name: str, segments: list[str], value: Any) -> ContextItem:
    secret = next((s for s in segments if secret_name(s)), None)
    if secret is not None:  # never rendered at all
        mark = f"value of {secret}"
        return ContextItem(name=name, kind=type(value).__name__, text=f"[redacted {mark}]",
                           redactions=(mark,), inline=True)
    item = ContextItem.of(name, render_value(value))
    return _redacted(item)


def _redacted(item: ContextItem) -> ContextItem:
    text, found = redact_report(item.text)
    return item.with_(text=text, redactions=item.redactions + tuple(found)) if found else item


def _block_text(item: ContextItem) -> str:
    return f'<context name="{item.name}" kind="{item.kind}">\n{item.text}\n</context>'


def compose(text: str, namespace: Mapping[str, Any] | None, *,
            attachments: list[ContextItem] | tuple[ContextItem, ...] = (),
            budget: int = DEFAULT_BUDGET) -> Composed:
    """Render the references in `text` (none when `namespace` is None) and the attachments
    into API content; a plain string when nothing is attached."""
    found: dict[str, ContextItem] = {}

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        expr = match.group(1)
        assert namespace is not None
        name, segments, value = _resolve(expr, namespace)
        if value is _MISSING:
            if re.match(r"\s*[A-Za-z_]", expr) and token not in found:
                found[token] = ContextItem(name=token, kind="as written", text=token,
                                           literal=True)
            return token
        if name not in found:
            item = _item(name, segments, value)
            short = not item.images and "\n" not in item.text and len(item.text) <= INLINE_MAX
            found[name] = item.with_(inline=True) if short else item
        item = found[name]
        return item.text if item.inline else f"`{name}`"

    body = _TOKEN.sub(sub, text) if namespace is not None else text
    body, prompt_found = redact_report(body)
    items = fit([_redacted(a) for a in attachments] + list(found.values()), budget)
    attached = [i for i in items if not i.inline and not i.literal]
    if not attached:
        return Composed(body, body, tuple(items), tuple(prompt_found))
    content: list[dict[str, Any]] = []
    for item in attached:
        content.append({"type": "text", "text": _block_text(item)})
        content.extend(item.images)
    if body.strip():
        content.append({"type": "text", "text": body})
    return Composed(content, body, tuple(items), tuple(prompt_found))
