"""The card stylesheet (`style.css`), one source for the live widget and saved outputs.

The widget loads the file as written (rules scoped under `.cnb-root`; its own
`js/view.css` adds the chrome and the `--cnb-*` colour variables). A saved output embeds
it in a `<style>`, rescoped to `.cnb-static` and minified, without the sections marked
`@live` (running indicators) or selectors of the widget's own structure (`.cnb-block`),
and with only the rules whose classes occur in that output: every saved cell carries what
it uses, so a plain answer costs far less than the whole sheet.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["live_css", "static_css"]

_FILE = Path(__file__).with_name("style.css")
_LIVE_ONLY = re.compile(r"/\* @live\b.*?/\* @end \*/", re.S)
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_SPACE = re.compile(r"\s+")
_AROUND = re.compile(r"\s*([{};,>])\s*")
_ZERO = re.compile(r"(?<=[:\s,(])0\.(?=\d)")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_CLASS = re.compile(r"cnb-[\w-]+")
_VAR = re.compile(r"--cnb-[\w-]+")
_SCOPE = frozenset({"cnb-static", "cnb-turn"})


@functools.cache
def live_css() -> str:
    """The stylesheet as written, for the widget."""
    return _FILE.read_text(encoding="utf-8")


def _minify(css: str) -> str:
    css = _AROUND.sub(r"\1", _SPACE.sub(" ", _COMMENT.sub("", css)))
    css = css.replace(";}", "}").replace(": ", ":")
    names: dict[str, str] = {}  # long variable names → --c0, --c1, …
    css = _VAR.sub(lambda m: names.setdefault(m.group(0), f"--c{len(names)}"), css)
    return _ZERO.sub(".", css).strip()


@functools.cache
def _static_rules() -> tuple[tuple[tuple[tuple[str, frozenset[str]], ...], str], ...]:
    """(selector, classes it needs) lists with their declarations, in order."""
    css = _minify(_LIVE_ONLY.sub("", live_css()).replace(".cnb-root ", ".cnb-static "))
    rules = []
    for selectors, body in _RULE.findall(css):
        kept = tuple((s, frozenset(_CLASS.findall(s)) - _SCOPE) for s in selectors.split(",")
                     if ".cnb-block" not in s)
        if kept:
            rules.append((kept, body))
    return tuple(rules)


def static_css(html: str | None = None) -> str:
    """The stylesheet for a saved output: only rules for classes that occur in `html`
    (all of them when `html` is None)."""
    present = None if html is None else set(_CLASS.findall(html))
    out = []
    for selectors, body in _static_rules():
        chosen = [s for s, need in selectors if present is None or need <= present]
        if chosen:
            out.append(f"{','.join(chosen)}{{{body}}}")
    return "".join(out)
