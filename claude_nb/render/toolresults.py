"""A tool's result as HTML and as text: a string, a Jupyter mimebundle (richest part first,
as front ends choose: HTML cleaned, an image as a checked `data:` `<img>`, Markdown, JSON,
plain text) or other data as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocol.media import IMAGE_TYPES
from . import html as h
from .sanitize import clean, data_image_src

__all__ = ["tool_result_html", "tool_result_text"]


def _bundle_html_part(bundle: Mapping[str, Any]) -> str | None:
    html = bundle.get("text/html")
    return h.el("div", clean(html), class_="cnb-output-html") if isinstance(html, str) else None


def _bundle_image_part(bundle: Mapping[str, Any]) -> str | None:
    alt = bundle.get("text/plain")
    for mime in IMAGE_TYPES:
        src = data_image_src(mime, bundle[mime]) if mime in bundle else None
        if src is not None:  # built from decoded, checked bytes: only base64 characters
            return f'<img class="cnb-output-image" src="{src}"{h.attributes({"alt": alt})}>'
    return None


def _bundle_markdown_part(bundle: Mapping[str, Any]) -> str | None:
    text = bundle.get("text/markdown")
    return h.el("div", h.markdown_html(text), class_="cnb-md") if isinstance(text, str) else None


def _bundle_json_part(bundle: Mapping[str, Any]) -> str | None:
    return h.json_pre(bundle["application/json"]) if "application/json" in bundle else None


def _bundle_plain_part(bundle: Mapping[str, Any]) -> str | None:
    text = bundle.get("text/plain")
    return h.el("pre", h.esc(str(text)), class_="cnb-output") if text is not None else None


# Richest first, as Jupyter front ends choose.
_BUNDLE_PARTS = (_bundle_html_part, _bundle_image_part, _bundle_markdown_part,
                 _bundle_json_part, _bundle_plain_part)
_BUNDLE_KEYS = frozenset({"text/html", "text/markdown", "text/plain", "application/json",
                          *IMAGE_TYPES})


def _is_bundle(content: Any) -> bool:
    return (isinstance(content, Mapping) and bool(content)
            and all(isinstance(k, str) and "/" in k for k in content)
            and not _BUNDLE_KEYS.isdisjoint(content))


def _result_body(content: Any) -> str:
    if isinstance(content, str):
        return h.el("pre", h.esc(content), class_="cnb-output")
    if _is_bundle(content):
        for part in _BUNDLE_PARTS:
            html = part(content)
            if html is not None:
                return html
    return h.json_pre(content)


def tool_result_html(content: Any, is_error: bool = False) -> str:
    """A tool's result: text in `<pre>`, a mimebundle (`text/html` cleaned, an image as a
    checked `data:` `<img>`, Markdown rendered, plain text), or other data as JSON."""
    cls = "cnb-result cnb-result-error" if is_error else "cnb-result"
    return h.el("div", h.label("Error" if is_error else "Result") + _result_body(content),
               class_=cls)


def tool_result_text(content: Any) -> str:
    """Plain-text form of a tool result (for text/markdown and text/plain outputs)."""
    if isinstance(content, str):
        return content
    if _is_bundle(content):
        for key in ("text/plain", "text/markdown"):
            if isinstance(content.get(key), str):
                return str(content[key])
        return "[" + ", ".join(sorted(content)) + "]"
    return h.json_text(content)
