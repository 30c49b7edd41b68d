"""Citation numbering: one number per distinct cited source across a turn, and the marks
that carry those numbers through the Markdown renderer into `<sup>` links and a Sources list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..protocol.blocks import TextBlock
from . import html as h
from .sanitize import safe_url

__all__ = [
    "STRIP_MARKS", "Citations", "Source", "cite_numbers", "replace_marks", "sources_html",
    "with_marks",
]


@dataclass
class Source:
    """One distinct cited source; `url` already passed `safe_url` (or is None)."""

    number: int
    title: str
    url: str | None
    quotes: list[str] = field(default_factory=list)


class Citations:
    """Numbers cited sources across a turn: one number per distinct source (by URL, else by
    document), in order of first citation."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self._by_key: dict[tuple[Any, ...], Source] = {}
        self._listed = 0

    def number(self, citation: Mapping[str, Any]) -> int:
        url = safe_url(citation.get("url")) or safe_url(citation.get("source"))
        title = str(citation.get("title") or citation.get("document_title") or url
                    or _document_name(citation))
        key: tuple[Any, ...] = ("url", url) if url else (
            "doc", citation.get("type"), citation.get("document_index"), title)
        source = self._by_key.get(key)
        if source is None:
            source = Source(len(self.sources) + 1, title, url)
            self._by_key[key] = source
            self.sources.append(source)
        quote = str(citation.get("cited_text") or "").strip()
        if quote and quote not in source.quotes:
            source.quotes.append(quote)
        return source.number

    def take(self) -> list[Source]:
        """Sources numbered since the last `take` (for a Sources list after each text run)."""
        new = self.sources[self._listed:]
        self._listed = len(self.sources)
        return new


def _document_name(citation: Mapping[str, Any]) -> str:
    index = citation.get("document_index")
    return f"Document {index + 1}" if isinstance(index, int) else "Source"


# Citation marks travel through the Markdown renderer as private-use characters and are
# replaced after cleaning (only in text, never inside a tag).
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
STRIP_MARKS = {ord(MARK_OPEN): None, ord(MARK_CLOSE): None}
_MARK = re.compile(f"(<[^>]*>)|{MARK_OPEN}(\\d+){MARK_CLOSE}")


def cite_numbers(block: TextBlock, cites: Citations) -> list[int]:
    numbers = [cites.number(c) for c in block.citations if isinstance(c, Mapping)]
    return list(dict.fromkeys(numbers))


def with_marks(text: str, numbers: Sequence[int], mark: Callable[[int], str]) -> str:
    """Append citation marks at the end of the block's text, before trailing whitespace."""
    if not numbers:
        return text
    body = text.rstrip()
    return body + "".join(mark(n) for n in numbers) + text[len(body):]


def _cite_html(source: Source) -> str:
    label = f"[{source.number}]"
    inner = (h.link(label, source.url, title=source.title) if source.url
             else h.el("span", label, title=source.title))
    return h.el("sup", inner, class_="cnb-cite")


def replace_marks(fragment: str, cites: Citations) -> str:
    if MARK_OPEN not in fragment and MARK_CLOSE not in fragment:
        return fragment  # no citation marks: skip the per-tag regex callbacks

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:  # a tag: drop marks that landed in an attribute
            return match.group(1).translate(STRIP_MARKS)
        number = int(match.group(2))
        ok = 0 < number <= len(cites.sources)
        return _cite_html(cites.sources[number - 1]) if ok else ""

    return _MARK.sub(one, fragment).translate(STRIP_MARKS)


def sources_html(sources: Sequence[Source]) -> str:
    if not sources:
        return ""
    items = []
    for s in sources:
        title = (h.link(h.esc(s.title), s.url, class_="cnb-source-title") if s.url
                 else h.el("span", h.esc(s.title), class_="cnb-source-title"))
        quotes = "".join(h.el("blockquote", h.esc(q), class_="cnb-quote") for q in s.quotes)
        items.append(h.el("li", title + quotes, value=s.number))
    return h.el("div", h.label("Sources") + h.el("ol", "".join(items)), class_="cnb-sources")
