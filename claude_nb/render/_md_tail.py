"""Open-tail stabilization: make half-written inline syntax look like what it is becoming.

Runs as a core rule between the block and inline phases, only when the env carries the
TAIL marker, and only on the inline token that holds the document's last line. It edits
that token's *content* (never the source), so block structure and the final HTML are
untouched: the committed text is always parsed without this rule.

    **bold te          -> **bold te**        (unmatched openers get their closers)
    `code sp           -> `code sp`
    [text](http://exa  -> text
    ![alt](http://ex   -> (nothing)
"""

from __future__ import annotations

import re

from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.balance_pairs import processDelimiters

TAIL = "cnb_tail"
"""Env key present only while rendering a stream's open tail."""

_PARTIAL_LINK = re.compile(r"(!?)\[([^\[\]]*)\]\([^)]*\Z")
_PARTIAL_IMAGE = re.compile(r"!\[[^\[\]]*\]?\Z")
_BACKTICKS = re.compile(r"`+")


def stabilize_tail(state: StateCore) -> None:
    """Core rule: rewrite the content of the inline token that ends the document."""
    if TAIL not in state.env:
        return
    src = state.src
    line_count = src.count("\n") + (not src.endswith("\n"))
    for token in reversed(state.tokens):
        if token.type == "inline":
            if token.map is not None and token.map[1] >= line_count:
                token.content = close_open_inline(token.content, state)
            return


def close_open_inline(content: str, state: StateCore) -> str:
    """`content` with its unfinished code span, link, image or emphasis completed."""
    body = content.rstrip()
    trailing = content[len(body) :]
    code_closer = _unclosed_code_span(body)
    if code_closer:
        body += code_closer
    else:
        body = _PARTIAL_LINK.sub(lambda m: "" if m.group(1) else m.group(2), body)
        body = _PARTIAL_IMAGE.sub("", body).rstrip()
        if body.endswith("\\") and (len(body) - len(body.rstrip("\\"))) % 2:
            body = body[:-1]  # a lone trailing backslash would escape our closer
    return body + _emphasis_closers(body, state) + trailing


def _unclosed_code_span(text: str) -> str:
    """The backtick run that closes the first code span left open, or ''."""
    pos = 0
    while True:
        run = _BACKTICKS.search(text, pos)
        if run is None:
            return ""
        start, end = run.span()
        escaped = start
        while escaped and text[escaped - 1] == "\\":
            escaped -= 1
        if (start - escaped) % 2:  # the first backtick is escaped
            start += 1
            if start == end:
                pos = end
                continue
        ticks = text[start:end]
        closing = re.compile(rf"(?<!`){ticks}(?!`)").search(text, end)
        if closing is None:
            return ticks
        pos = closing.end()


def _emphasis_closers(text: str, state: StateCore) -> str:
    """Closers for delimiters that can only open and found no partner, innermost first.

    Uses markdown-it's own tokenizer and pairing, so code spans, links and escapes are
    respected exactly; a scratch env keeps footnote counters of the real parse intact.
    """
    if not any(marker in text for marker in "*_~"):
        return ""
    scratch = {"references": state.env.get("references", {})}
    inline = StateInline(text, state.md, scratch, [])
    state.md.inline.tokenize(inline)
    processDelimiters(inline, inline.delimiters)
    closers = []
    for delim in reversed(inline.delimiters):
        if delim.open and not delim.close and delim.end < 0:
            marker = chr(delim.marker)
            closers.append(marker * 2 if marker == "~" else marker)
    return "".join(closers)
