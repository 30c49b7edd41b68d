"""The configured markdown-it parser and renderer shared by `render` and the streamer.

Everything that decides what HTML a token becomes lives here, so the one-shot render and
the streaming render cannot drift apart: both parse with `MD` and turn tokens into HTML
with `render_tokens` and `render_footnotes`.

Env layout (the dict markdown-it threads through a parse):
    "references"        link reference definitions (markdown-it's own)
    "footnotes"         footnote ids and counts (mdit_py_plugins' own)
    FOOTNOTE_DEFS       label -> the tokens of its definition, last one wins
    TAIL                present only while rendering the open tail of a stream
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_block import StateBlock, fence
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.footnote.index import footnote_def
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from ._md_tail import TAIL, stabilize_tail
from .sanitize import defuse_tex_links

FOOTNOTE_DEFS = "cnb_footnote_defs"

LINK_REL = "noopener noreferrer nofollow"
# Larger code is shown escaped: some pygments lexers backtrack badly on hostile input.
HIGHLIGHT_MAX_CHARS = 100_000

_BAD_SCHEME = re.compile(r"(?:javascript|vbscript|file|data):")
_INLINE_IMAGE = re.compile(r"data:image/(?:gif|png|jpeg|webp)[;,]")
# Browsers drop ASCII whitespace and control characters inside a URL's scheme.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_CSS_LANG = re.compile(r"[A-Za-z0-9_+#.-]{1,40}")


def validate_link(url: str) -> bool:
    """markdown-it's `validateLink`, hardened against scheme obfuscation.

    The url arrives entity-decoded and percent-encoded. The check runs on the url
    percent-decoded, with every control character and space removed, lowercased, so
    `JaVa\\tScRiPt:` and friends are refused; among `data:` urls only inline raster
    images pass (and `_render_link_open` keeps those out of links).
    """
    probe = _URL_IGNORED.sub("", unquote(url)).lower()
    return bool(_INLINE_IMAGE.match(probe)) or not _BAD_SCHEME.match(probe)


# ---------------------------------------------------------------- code


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer | None:
    try:
        return get_lexer_by_name(lang, stripnl=False)
    except ClassNotFound:
        return None


_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _highlighted(code: str, lang: str) -> str | None:
    """Pygments HTML for `code`, memoised: a fence is highlighted once, not per update."""
    lexer = _lexer(lang.lower())
    if lexer is None or len(code) > HIGHLIGHT_MAX_CHARS:
        return None
    return highlight(code, lexer, _FORMATTER)


def code_html(code: str, lang: str, *, highlighted: bool) -> str:
    """`<pre class="highlight" data-lang=…><code class="language-…">`: the front end wraps
    each `<pre>` in its copy/insert tools (js/view.js), `data-lang` is the label to show,
    the copyable text is the `<code>` element's textContent; `highlight` scopes the
    pygments class CSS that Jupyter front ends and nbconvert already ship."""
    body = _highlighted(code, lang) if highlighted and lang else None
    if body is None:
        body = escapeHtml(code)
    label = f' data-lang="{escapeHtml(lang[:40])}"' if lang else ""
    css = f' class="language-{lang}"' if _CSS_LANG.fullmatch(lang) else ""
    return f'<pre class="highlight"{label}><code{css}>{body}</code></pre>\n'


def _fence_noting_closure(state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:
    """The stock fence rule, plus `meta["closed"]`: a stream commits a top-level fence as
    soon as its closing line arrives (markdown-it does not record whether it was seen)."""
    if not fence(state, startLine, endLine, silent):
        return False
    if not silent:
        token = state.tokens[-1]
        last = state.line - 1
        line = state.src[state.bMarks[last] + state.tShift[last] : state.eMarks[last]]
        token.meta["closed"] = (
            last > startLine
            and state.sCount[last] - state.blkIndent < 4
            and len(line.rstrip(" \t")) >= len(token.markup)
            and not line.rstrip(" \t").strip(token.markup[0])
        )
    return True


def fence_lang(info: str) -> str:
    """The language named by a fence's raw info string (its first word)."""
    words = unescapeAll(info).split(maxsplit=1)
    return words[0] if words else ""


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
    token = tokens[idx]
    # highlighted once, on commit
    return code_html(token.content, fence_lang(token.info), highlighted=TAIL not in env)


def _render_code_block(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                       env: EnvType) -> str:
    return code_html(tokens[idx].content, "", highlighted=False)


# ---------------------------------------------------------------- links and images


def _render_link_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                      env: EnvType) -> str:
    """Links open in a new tab, without referrer or opener; `validate_link` lets inline
    images through for `![]()`, but a link never points at a `data:` url."""
    token = tokens[idx]
    if _INLINE_IMAGE.match(str(token.attrGet("href") or "").lower()):
        token.attrSet("href", "")
    token.attrSet("rel", LINK_REL)
    token.attrSet("target", "_blank")
    return str(self.renderToken(tokens, idx, options, env))


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: EnvType) -> str:
    """Inline raster data: images render; anything else becomes a click-to-open link.

    A remote `<img>` would load by itself, so a prompt-injected image URL could carry
    data out of the notebook without a click.
    """
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    if _INLINE_IMAGE.match(src.lower()):
        return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}"{title_attr}>'
    label = "\U0001f5bc " + escapeHtml(alt or "image")
    inside_link = sum(t.nesting for t in tokens[:idx] if t.type in ("link_open", "link_close")) > 0
    if not src or inside_link:
        return f'<span class="cnb-img"{title_attr}>{label}</span>'
    return (
        f'<a class="cnb-img" href="{escapeHtml(src)}" rel="{LINK_REL}" target="_blank"'
        f"{title_attr}>{label}</a>"
    )


# ---------------------------------------------------------------- math


def _render_math_inline(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                        env: EnvType) -> str:
    return f'<span class="cnb-math">{escapeHtml(tokens[idx].content.strip())}</span>'


def _render_math_block(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict,
                       env: EnvType) -> str:
    token = tokens[idx]
    label = f'<span class="cnb-math-label">({escapeHtml(token.info)})</span>' if token.info else ""
    return f'<div class="cnb-math-block">{escapeHtml(token.content.strip())}{label}</div>\n'


def _open_math_in_tail(state: StateBlock, startLine: int, endLine: int, silent: bool) -> bool:
    """Tail only: a top-level `$$` whose closing `$$` has not arrived yet is shown as an
    open math block instead of a paragraph of dollar signs."""
    if (TAIL not in state.env or state.level or endLine != state.lineMax
            or state.is_code_block(startLine)):
        return False
    pos = state.bMarks[startLine] + state.tShift[startLine]
    if not state.src.startswith("$$", pos):
        return False
    if any(not state.src[state.bMarks[n] : state.eMarks[n]].strip()
           for n in range(startLine + 1, endLine)):
        return False  # dollarmath stops at a blank line: this will never be math
    if not silent:
        token = state.push("math_block", "math", 0)
        token.block = True
        token.content = state.src[pos + 2 : state.eMarks[endLine - 1]]
        token.markup = "$$"
        token.map = [startLine, endLine]
    state.line = endLine
    return True


# ---------------------------------------------------------------- footnotes


def _footnote_def_keeping_ids(state: StateBlock, startLine: int, endLine: int,
                               silent: bool) -> bool:
    """The plugin's definition rule resets a label's id to -1; a streamed document may
    already have numbered that label in committed text, so keep ids that are set.

    In a one-shot parse no id is set during the block phase, so nothing changes there.
    """
    if silent or not state.src.startswith("[^", state.bMarks[startLine] + state.tShift[startLine]):
        return footnote_def(state, startLine, endLine, silent)
    refs = state.env.setdefault("footnotes", {}).setdefault("refs", {})
    numbered = {label: n for label, n in refs.items() if n >= 0}
    found = footnote_def(state, startLine, endLine, silent)
    refs.update(numbered)
    return found


def _collect_footnote_defs(state: StateCore) -> None:
    """Move footnote definitions out of the token stream into the env.

    Replaces the plugin's `footnote_tail`, which builds the footer from the definitions
    of the current parse only; a stream parses its text in pieces, so definitions must
    outlive the parse that saw them. Same filtering logic as `footnote_tail`.
    """
    defs = state.env.setdefault(FOOTNOTE_DEFS, {})
    kept: list[Token] = []
    current: list[Token] = []
    label = ""
    inside = False
    for tok in state.tokens:
        if tok.type == "footnote_reference_open":
            inside, current, label = True, [], tok.meta["label"]
        elif tok.type == "footnote_reference_close":
            inside = False
            defs[label] = current
        elif inside:
            current.append(tok)
        else:
            kept.append(tok)
    state.tokens = kept


def render_footnotes(env: EnvType, *, live: bool = False) -> str:
    """The footnote footer for everything parsed into `env` (same tokens and order as the
    plugin's `footnote_tail`); empty when nothing referenced a footnote.

    `live` (a stream's tail) leaves out the trailing notes that have no text yet: they
    would be empty items, re-sent on every update. Numbers never change either way.
    """
    notes = env.get("footnotes", {}).get("list")
    defs = env.get(FOOTNOTE_DEFS, {})
    if notes and live:
        written = [n for n, note in notes.items() if "tokens" in note or note.get("label") in defs]
        notes = {n: note for n, note in notes.items() if written and n <= written[-1]}
    if not notes:
        return ""
    out = [Token("footnote_block_open", "", 1)]
    for i, note in notes.items():
        opening = Token("footnote_open", "", 1)
        opening.meta = {"id": i, "label": note.get("label")}
        out.append(opening)
        if "tokens" in note:
            para = Token("paragraph_open", "p", 1)
            para.block = True
            inline = Token("inline", "", 0)
            inline.children = note["tokens"]
            inline.content = note["content"]
            end = Token("paragraph_close", "p", -1)
            end.block = True
            out += [para, inline, end]
        elif "label" in note:
            out += defs.get(note["label"], [])
        last_paragraph = out.pop() if out[-1].type == "paragraph_close" else None
        for sub in range(max(note.get("count", 0), 1)):
            anchor = Token("footnote_anchor", "", 0)
            anchor.meta = {"id": i, "subId": sub, "label": note.get("label")}
            out.append(anchor)
        if last_paragraph is not None:
            out.append(last_paragraph)
        out.append(Token("footnote_close", "", -1))
    out.append(Token("footnote_block_close", "", -1))
    return render_tokens(out, env)


# ---------------------------------------------------------------- the instance


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = validate_link  # type: ignore[method-assign]
    tasklists_plugin(md)
    footnote_plugin(md, move_to_end=False, always_match_refs=True)
    md.block.ruler.at("footnote_def", _footnote_def_keeping_ids,
                      {"alt": ["paragraph", "reference"]})
    md.core.ruler.push("cnb_footnote_defs", _collect_footnote_defs)
    md.core.ruler.after("block", "cnb_stabilize_tail", stabilize_tail)
    # No digits or spaces next to inline `$`: "$5 and $10" stays prose, not math.
    dollarmath_plugin(md, allow_space=False, allow_digits=False, allow_blank_lines=False)
    md.block.ruler.after("math_block", "cnb_open_math", _open_math_in_tail)
    md.block.ruler.at("fence", _fence_noting_closure,
                      {"alt": ["paragraph", "reference", "blockquote", "list"]})
    for name, rule in (
        ("fence", _render_fence),
        ("code_block", _render_code_block),
        ("link_open", _render_link_open),
        ("image", _render_image),
        ("math_inline", _render_math_inline),
        ("math_block", _render_math_block),
        ("math_block_label", _render_math_block),
    ):
        md.add_render_rule(name, rule)
    return md


MD = _build()


def new_env() -> dict[str, Any]:
    return {"references": {}, FOOTNOTE_DEFS: {}}


def render_tokens(tokens: Sequence[Token], env: EnvType) -> str:
    """HTML for `tokens`. TeX `\\href{javascript:…}` / `\\url{…}` targets anywhere in the
    text become `#`, in case a math renderer that trusts links typesets the page later
    (the match never crosses a tag, so block-wise output stays byte-identical)."""
    return defuse_tex_links(MD.renderer.render(tokens, MD.options, env))
