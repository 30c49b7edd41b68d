"""The one escaping / sanitising path for untrusted content.

Everything the model (or a web page, or a tool) produced reaches HTML through one of:

- `escape(text)`: text into HTML text or a double-quoted attribute value.
- `clean(html)`: HTML we did not write ourselves (the Markdown renderer's output, a user's
  `_repr_html_`) through nh3 (ammonia) with a strict allowlist.
- `safe_url(url)`: a URL we put into an `href` ourselves (web results, citations); the
  result must still go through `escape` when it is written into the attribute.
- `data_image_src(mime, data)`: a checked `data:` URL for an image a tool returned.
- `defuse_tex_links(text)`: TeX `\\href` / `\\url` with a dangerous target made inert
  (`clean` applies it; `render.html.esc` applies it to text before escaping).
- `defang_markdown(text)`: model Markdown for renderers that allow raw HTML (the
  text/markdown part of saved outputs): see the section below.
- `defang_autolinks(text)`: plain text that a front end autolinks (JupyterLab turns
  `scheme://…` and `data:…` in stream / error output into live links, `javascript://`
  included): other schemes than http(s) get a zero-width space so they stay text.

What `clean` guarantees (tests/test_sanitize.py checks it against tests/xss_payloads.txt):

- Only the tags in `TAGS` survive: what Markdown output needs, no `svg`, `math`, `iframe`,
  `object`, `embed`, `form`, `style`, `script`, `base`, `meta`, `link`. The content of
  `script`, `style`, `template`, `textarea`... is dropped with the tag.
- `img` survives only with an inline raster `src`
  (`data:image/png|jpeg|gif|webp;base64,...`), which loads nothing from the network;
  every other `img` is removed whole (no remote image ever loads: no exfiltration through
  image URLs; the Markdown renderer turns remote images into click-to-open links).
- Attributes: `class`, `title` and `id` on every allowed tag (`id` is prefixed `cnb-`,
  fragment links `#x` are rewritten to `#cnb-x` so footnotes keep working); `href` on `a`
  with the schemes http, https and mailto, or a `#fragment` (other relative URLs are
  dropped: they would resolve against the Jupyter server); `start` on `ol`;
  `colspan`/`rowspan` and `align` / `style="text-align: ..."` (exact values only) on table
  cells; `checked` on `input`, which is always made a disabled checkbox (task lists);
  `open` on `details`; the `data-*` names in `DATA_ATTRIBUTES`. No event handler, no other
  `style`.
- Every `a` gets `rel="noopener noreferrer nofollow"` and `target="_blank"` (except
  in-page `#fragment` links, which would otherwise open the notebook in a new tab).
- TeX `\\href{...}` / `\\url{...}` whose target is not http(s)/mailto is defused, in case a
  math renderer that trusts links typesets the output.

Tool results that carry an image (`{"image/png": base64}`) are turned into an
`<img src="data:image/...">` by `claude_nb.render.toolresults.tool_result_html` itself,
from bytes it decoded and checked (`data_image_src`), not through `clean`.

Front ends must not hang behaviour on anything that can come out of `clean`: act on
`data-cnb-*` attributes, which `clean` always removes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import nh3

from ..protocol.media import IMAGE_TYPES, sniff_image

__all__ = [
    "DATA_ATTRIBUTES",
    "ID_PREFIX",
    "TAGS",
    "clean",
    "data_image_src",
    "defang_autolinks",
    "defang_markdown",
    "defuse_tex_links",
    "escape",
    "safe_url",
]

ID_PREFIX = "cnb-"

TAGS = frozenset({
    "img", "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "u", "del", "s",
    "ins", "mark", "small", "abbr", "code", "pre", "kbd", "samp", "var", "span", "div",
    "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "table", "caption", "thead", "tbody",
    "tfoot", "tr", "th", "td", "a", "hr", "br", "sup", "sub", "section", "details",
    "summary", "input", "label",
})

#: `data-*` attributes allowed through `clean` (on any allowed tag). Extend deliberately.
DATA_ATTRIBUTES = frozenset({"data-lang"})

# Tags dropped together with their content (must stay disjoint from TAGS).
_DROP_WITH_CONTENT = frozenset({
    "script", "style", "template", "textarea", "noscript", "xmp", "iframe", "noembed",
    "noframes", "title", "object", "embed", "svg", "math", "select",
})

_ALIGN = frozenset({"left", "center", "right"})
_TEXT_ALIGN = frozenset(
    f"text-align{colon}{value}{end}"
    for colon in (":", ": ") for value in _ALIGN for end in ("", ";")
)
_CELL_VALUES = {"align": set(_ALIGN), "style": set(_TEXT_ALIGN)}

_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z",
                         re.IGNORECASE)
_SRC_LESS_IMG = re.compile(r'<img\b(?![^>]*\ssrc=")[^>]*>')


def _attribute(tag: str, name: str, value: str) -> str | None:
    """nh3 attribute filter: `data:` only as an inline raster image's `src`."""
    if name == "src":
        return value if tag == "img" and _DATA_IMAGE.match(value) else None
    if name == "href" and _url_key(value).startswith("data:"):
        return None
    return value


def _url_key(value: str) -> str:
    """A URL as a browser compares its scheme: no whitespace or control characters."""
    return "".join(ch for ch in value if not (ch.isspace() or unicodedata.category(ch)
                                              in ("Cc", "Cf"))).lower()


def _relative(url: str) -> str | None:
    """Relative URLs would resolve against the Jupyter server: keep only `#fragment`s."""
    return url if url.startswith("#") else None


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={
        "*": {"class", "title", "id", *DATA_ATTRIBUTES},
        "a": {"href"},
        "img": {"src", "alt"},
        "ol": {"start"},
        "th": {"colspan", "rowspan"},
        "td": {"colspan", "rowspan"},
        "input": {"checked"},
        "details": {"open"},
    },
    tag_attribute_values={
        "th": dict(_CELL_VALUES),
        "td": dict(_CELL_VALUES),
    },
    set_tag_attribute_values={"a": {"target": "_blank"},
                              "input": {"type": "checkbox", "disabled": ""}},
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto", "data"},  # data: narrowed by _attribute
    attribute_filter=_attribute,
    url_relative=_relative,
    id_prefix=ID_PREFIX,
    strip_comments=True,
)

# nh3 serialises canonically (double-quoted attributes, `<` and `>` escaped inside values),
# so these post-passes can match tags with simple patterns.
_FRAGMENT_LINK = re.compile(r'<a\b[^>]*\bhref="#[^"]*"[^>]*>')
_FRAGMENT_HREF = re.compile(r'\bhref="#(?!' + re.escape(ID_PREFIX) + ')')
_TEX_LINK = re.compile(r"(\\(?:href|url)\s*\{)([^{}<>]*)(\})")  # in HTML: never across a tag
_TEX_LINK_TEXT = re.compile(r"(\\(?:href|url)\s*\{)([^{}]*)(\})")
_TEX_SAFE_TARGET = re.compile(r"(?:https?|mailto):|[^a-z]")  # a scheme we allow, or none


def escape(text: str) -> str:
    """Text for an HTML text node or a double-quoted attribute value."""
    return html.escape(text, quote=True)


def clean(fragment: str) -> str:
    """Sanitise an HTML fragment with the allowlist described in the module docstring."""
    out = _CLEANER.clean(fragment)
    if "<img" in out:
        out = _SRC_LESS_IMG.sub("", out)
    if 'href="#' in out:
        out = _FRAGMENT_LINK.sub(_local_link, out)
    return defuse_tex_links(out)


def defuse_tex_links(text: str, *, markup: bool = True) -> str:
    """Replace the target of TeX `\\href{...}` / `\\url{...}` by `#` unless it is http(s),
    mailto or relative; the target is read the way a browser would (entities decoded,
    whitespace and control characters removed). `markup=True`: `text` is HTML (a target
    never spans a tag); False: plain text or Markdown source, before escaping."""
    if "\\href" not in text and "\\url" not in text:
        return text
    return (_TEX_LINK if markup else _TEX_LINK_TEXT).sub(_defuse_tex_link, text)


# What JupyterLab's text autolinker (rendermime `webLinkRegex`) starts a link at.
_AUTOLINK_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*(?=://)|data(?=:\S)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def defang_autolinks(text: str) -> str:
    """Plain text for an output a front end autolinks: a zero-width space after every URL
    scheme except http(s) (`javascript\u200b://…`, `data\u200b:…`), so no live link
    with another scheme can come of it; control characters (ANSI escapes) are dropped."""
    def one(match: re.Match[str]) -> str:
        scheme = match.group(0)
        return scheme if scheme.lower() in ("http", "https") else scheme + "\u200b"

    return _AUTOLINK_SCHEME.sub(one, _CONTROL.sub("", text))


def _local_link(match: re.Match[str]) -> str:
    tag = _FRAGMENT_HREF.sub(f'href="#{ID_PREFIX}', match.group(0))
    return tag.replace(' target="_blank"', "")


def _defuse_tex_link(match: re.Match[str]) -> str:
    """`\\href{javascript:...}` → `\\href{#}`; the target is compared the way a browser
    would read it (entities decoded, whitespace and control characters removed)."""
    target = _url_key(html.unescape(match.group(2)))
    if _TEX_SAFE_TARGET.match(target) or not target:
        return match.group(0)
    return f"{match.group(1)}#{match.group(3)}"


# ---------------------------------------------------------------- URLs

_URL_FORBIDDEN = frozenset('<>"\'`\\{}|^')


def safe_url(url: object) -> str | None:
    """The URL itself when it is safe to link to, else None.

    Safe means: a string, http or https, a host, no credentials (`https://bank@evil`),
    a valid port, no whitespace, control, format (bidi) or separator characters and none
    of ``<>"'`\\{}|^`` anywhere. The caller still escapes it into the attribute.
    """
    if not isinstance(url, str) or not url or len(url) > 8192:
        return None
    if any(ch in _URL_FORBIDDEN or unicodedata.category(ch)[0] in "CZ" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc:
        return None
    return url


# ---------------------------------------------------------------- Markdown for raw renderers
#
# text/markdown outputs are rendered WITHOUT sanitising by front ends that pick them (raw
# HTML runs in a trusted session), so model Markdown is defanged first: outside code, `<`
# and `&` become entities (no raw HTML, no entity-spelled schemes), `![` loses its image
# meaning (no remote image loads), javascript: / vbscript: / data: / file: link
# destinations are broken with a zero-width space and TeX \href / \url targets defused.
# Fenced and indented code (found with markdown-it) and single-line code spans outside
# table-like lines stay verbatim.

_MD_BAD_SCHEME = re.compile(r"(?i)((?:\]\(|\]:)\s*)(javascript|vbscript|data|file)(?=\\?:)")
_ZWSP = "\u200b"


@functools.cache
def _md_parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _code_lines(tokens: Sequence[Any], lines: Sequence[str]) -> tuple[set[int], str | None]:
    """Line numbers holding code content, and the fence to append if one is left open."""
    code: set[int] = set()
    unclosed = None
    for tok in tokens:
        if tok.map is None or tok.type not in ("fence", "code_block"):
            continue
        start, end = tok.map
        if tok.type == "code_block":
            code.update(range(start, end))
            continue
        last = lines[end - 1].strip(" \t>") if end - 1 > start else ""
        closed = bool(last) and set(last) == {tok.markup[0]} and len(last) >= len(tok.markup)
        code.update(range(start + 1, end - 1 if closed else end))
        if not closed and end >= len(lines) and tok.level == 0:
            unclosed = tok.markup
    return code, unclosed


def _defang_inline(line: str) -> str:
    """Escape `<`, `&` and `![` outside single-line code spans."""
    if "<" not in line and "&" not in line and "![" not in line:
        return line  # the loop below would copy every character unchanged
    spans_ok = "|" not in line  # GFM tables split cells before code spans: no exemptions
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:  # `\<` and `\&` become the entity alone
            nxt = line[i + 1]
            out.append(_defang_char(nxt) if nxt in "<&" else line[i:i + 2])
            i += 2
        elif ch == "`" and spans_ok:
            run = n - i - len(line[i:].lstrip("`"))
            close = _closing_run(line, i + run, run)
            end = i + run if close is None else close + run
            out.append(line[i:end])
            i = end
        else:
            out.append(_defang_char(ch) + (_ZWSP if line.startswith("![", i) else ""))
            i += 1
    return "".join(out)


def _defang_char(ch: str) -> str:
    return {"<": "&lt;", "&": "&amp;"}.get(ch, ch)


def _closing_run(line: str, start: int, length: int) -> int | None:
    for m in re.finditer(r"`+", line[start:]):
        if len(m.group(0)) == length:
            return start + m.start()
    return None


def defang_markdown(text: str) -> str:
    """Model Markdown made safe for renderers that allow raw HTML (see above)."""
    lines = text.split("\n")
    code, unclosed = _code_lines(_md_parser().parse(text), lines)
    out = "\n".join(line if i in code else _defang_inline(line) for i, line in enumerate(lines))
    out = _MD_BAD_SCHEME.sub(lambda m: m.group(1) + m.group(2) + _ZWSP, out)
    out = defuse_tex_links(out, markup=False)
    return out + (f"\n{unclosed}\n" if unclosed else "")


# ---------------------------------------------------------------- images we generate

def data_image_src(mime: str, data: str | bytes) -> str | None:
    """A `data:` URL for an image a tool returned, or None when it is not one.

    Only png, jpeg, gif and webp; `data` is base64 text (whitespace allowed, as Jupyter
    mimebundles wrap it) or raw bytes, and the decoded bytes must start with the format's
    magic number. The result contains only `[A-Za-z0-9+/=]` after the prefix.
    """
    if mime not in IMAGE_TYPES:
        return None
    if isinstance(data, bytes):
        raw = data
    elif isinstance(data, str):
        try:
            raw = base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        return None
    if sniff_image(raw) != mime:
        return None
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
