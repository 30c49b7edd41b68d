"""claude_nb.render.sanitize: escape, clean (nh3 allowlist), safe_url, data_image_src, TeX links.

Also home of the XSS corpus loader and the HTML auditor that tests/test_cards.py reuses.
"""

from __future__ import annotations

import base64
import re
import time
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from claude_nb.render.sanitize import (
    ID_PREFIX, clean, data_image_src, defang_autolinks, defuse_tex_links, escape, safe_url,
)

CORPUS = Path(__file__).with_name("xss_payloads.txt")
_ESCAPE = re.compile(r"\\(\\|n|t|r|0|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")
_SIMPLE = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _decode(line: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return _SIMPLE.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(one, line)


def load_payloads() -> list[str]:
    """The corpus: one payload per line, `#` comments, escapes as the file header says."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [_decode(line) for line in lines if line.strip() and not line.startswith("#")]


PAYLOADS = load_payloads()

# ---------------------------------------------------------------- the auditor

FORBIDDEN_TAGS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "style", "form", "base", "meta", "link", "video", "audio", "source", "picture",
    "template", "textarea", "button", "select", "noscript", "xmp", "body", "html", "head",
})
URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "srcset",
                       "background", "poster", "data", "cite", "longdesc", "ping", "lowsrc",
                       "dynsrc", "srcdoc"})
LINK_SCHEMES = ("http:", "https:", "mailto:")
SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:")  # a URL without one is relative: harmless
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+\Z")
TEXT_ALIGN = re.compile(r"text-align: ?(left|center|right);?\Z")
RAW_FORBIDDEN = re.compile(
    r"<(script|iframe|object|embed|svg|math|style|form|base|meta|link)\b", re.I)
TEX_LINK = re.compile(r"\\(?:href|url)\s*\{([^{}]*)\}")


def _url_key(value: str) -> str:
    """A (decoded) URL as a browser reads its scheme: no whitespace or control characters."""
    return "".join(ch for ch in value
                   if not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"))).lower()


_NOT_TYPESET = frozenset({"pre", "code"})  # math renderers skip these (MathJax skipHtmlTags)


class _Audit(HTMLParser):
    def __init__(self, allow_data_img: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.allow_data_img = allow_data_img
        self.problems: list[str] = []
        self.code_depth = 0
        self.text: list[str] = []  # text a math renderer could typeset

    def handle_data(self, data: str) -> None:
        if not self.code_depth:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in _NOT_TYPESET and self.code_depth:
            self.code_depth -= 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.code_depth += tag in _NOT_TYPESET
        if tag == "img":
            ok = (self.allow_data_img and DATA_IMAGE.match(found.get("src") or "")
                  and set(found) <= {"src", "alt", "class"})
            if not ok:
                self.problems.append(f"img {found}")
        elif tag in FORBIDDEN_TAGS:
            self.problems.append(f"tag <{tag}>")
        if tag == "input" and (found.get("type") != "checkbox" or "disabled" not in found):
            self.problems.append(f"input {found}")
        for name, value in attrs:
            self._attribute(tag, name, value or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def _attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self.problems.append(f"handler {name}= on <{tag}>")
        elif name == "style" and not TEXT_ALIGN.match(value):
            self.problems.append(f"style {value!r}")
        elif name == "href" and tag == "a":
            scheme = SCHEME.match(_url_key(value))
            if scheme and scheme.group(0) not in LINK_SCHEMES:
                self.problems.append(f"href {value!r}")
        elif name in URL_ATTRS and not (tag == "img" and name == "src"):
            self.problems.append(f"url attribute {name}={value!r} on <{tag}>")


def audit(fragment: str, *, allow_data_img: bool = False) -> list[str]:
    """Everything that could run script or load a remote resource in `fragment`."""
    parser = _Audit(allow_data_img)
    parser.feed(fragment)
    parser.close()
    problems = parser.problems
    raw = RAW_FORBIDDEN.search(fragment)
    if raw:
        problems.append(f"raw tag {raw.group(0)!r}")
    for m in TEX_LINK.finditer("".join(parser.text)):
        target = _url_key(m.group(1))
        if re.match(r"(javascript|vbscript|data|file):", target):
            problems.append(f"tex link {m.group(0)!r}")
    return problems


# ---------------------------------------------------------------- escape


def test_escape_text_and_attribute_characters() -> None:
    assert escape("<a href=\"x\" title='y'>&</a>") == (
        "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;&lt;/a&gt;")


def test_corpus_is_big_and_decodes_escapes() -> None:
    assert len(PAYLOADS) >= 60
    assert "[click](java\tscript:alert(1))" in PAYLOADS
    assert any("\n" in p for p in PAYLOADS)
    assert "$\\href{javascript:alert(1)}{click}$" in PAYLOADS
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in PAYLOADS


# ---------------------------------------------------------------- clean: the allowlist


def test_clean_keeps_markdown_structure() -> None:
    src = ("<h2>T</h2><p><em>a</em> <strong>b</strong> <del>c</del> <code>d</code></p>"
           "<pre><code class=\"language-py\" data-lang=\"py\">x</code></pre>"
           "<ul><li>i</li></ul><ol start=\"3\"><li>j</li></ol><blockquote>q</blockquote>"
           "<hr><p>x<br>y<sup>1</sup><sub>2</sub></p>"
           "<details open><summary>s</summary>d</details>")
    assert clean(src) == src.replace("<details open>", '<details open="">')


def test_clean_table_alignment_exact_values_only() -> None:
    out = clean('<table><thead><tr><th style="text-align:right" colspan="2">a</th>'
                '<th style="color:red">b</th><th style="text-align:right;color:red">c</th>'
                '<th align="center">d</th><th align="javascript:x">e</th></tr></thead></table>')
    assert 'style="text-align:right"' in out and 'colspan="2"' in out
    assert "color" not in out and 'align="center"' in out and "javascript" not in out


def test_clean_links_rel_target_and_schemes() -> None:
    out = clean('<a href="https://ok.example/" target="_top" rel="opener">x</a>')
    assert out == ('<a href="https://ok.example/" target="_blank" '
                   'rel="noopener noreferrer nofollow">x</a>')
    assert 'href="mailto:a@example.com"' in clean('<a href="mailto:a@example.com">m</a>')
    for bad in ("javascript:alert(1)", "vbscript:x", "data:text/html,x", "file:///etc",
                "ftp://x", "relative.html", "/api/kernels", "//attacker.example/"):
        assert "href" not in clean(f'<a href="{bad}">x</a>'), bad


def test_clean_fragment_links_are_prefixed_and_stay_in_page() -> None:
    out = clean('<sup><a href="#fn1" id="fnref1">1</a></sup><li id="fn1">n</li>')
    assert f'href="#{ID_PREFIX}fn1"' in out and f'id="{ID_PREFIX}fnref1"' in out
    assert f'id="{ID_PREFIX}fn1"' in out and "target" not in out
    assert clean(f'<a href="#{ID_PREFIX}x">x</a>').count(ID_PREFIX) == 1


def test_clean_task_list_checkbox_is_disabled() -> None:
    out = clean('<li><input type="checkbox" checked> done</li><input type="text" value="v">')
    inputs = re.findall(r"<input([^>]*)>", out)  # attribute order is not stable in nh3
    assert [sorted(re.findall(r'(\w+)="([^"]*)"', attrs)) for attrs in inputs] == [
        [("checked", ""), ("disabled", ""), ("type", "checkbox")],
        [("disabled", ""), ("type", "checkbox")],  # any input becomes an inert checkbox
    ]


def test_clean_keeps_only_inline_raster_images() -> None:
    png = '<img src="data:image/png;base64,iVBORw0KGgo=" alt="a">'
    assert clean(png + '<img src="x" onerror="y">') == png
    for src in ("https://attacker.example/?q=secret", "data:image/svg+xml;base64,PHN2Zz4=",
                "javascript:alert(1)", " data:image/png;base64,AAAA", "//attacker.example/"):
        assert clean(f'<p><img src="{src}" alt="a">t</p>') == "<p>t</p>", src


def test_clean_drops_style_handlers_and_unknown_data_attributes() -> None:
    out = clean('<p style="color:red" data-cnb-action="approve" data-cnb-id="t" '
                'data-lang="py" onclick="x">t</p>')
    assert out == '<p data-lang="py">t</p>'


def test_clean_never_links_to_data_urls() -> None:
    for href in ("data:text/html,x", " DATA:text/html,x", "data:image/png;base64,AAAA"):
        assert "href" not in clean(f'<a href="{href}">x</a>'), href


def test_clean_drops_script_and_style_content() -> None:
    assert clean("<script>alert(1)</script><style>p{}</style><p>ok</p>") == "<p>ok</p>"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_corpus(payload: str) -> None:
    out = clean(payload)
    assert audit(out) == []
    assert all(v.startswith(ID_PREFIX) for v in re.findall(r'\bid="([^"]*)"', out))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_is_idempotent_on_corpus(payload: str) -> None:
    once = clean(payload)
    assert clean(once) == once


def test_clean_cost_on_4kb_fragment() -> None:
    fragment = _markdown_like_html(4096)
    clean(fragment)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        clean(fragment)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 0.005, f"clean() took {per_call * 1000:.2f} ms per 4 KB"


def _markdown_like_html(size: int) -> str:
    unit = ('<h2 id="s">Section</h2><p>Some <strong>bold</strong> and <em>em</em> text with a '
            '<a href="https://example.com/page?q=1">link</a> and <code>code()</code>.</p>'
            '<pre><code class="language-python">def f(x):\n    return x &lt; 2\n</code></pre>'
            '<ul><li>one</li><li>two <a href="#fn1">1</a></li></ul>'
            '<table><thead><tr><th style="text-align:right">a</th><th>b</th></tr></thead>'
            '<tbody><tr><td style="text-align:right">1</td><td>2</td></tr></tbody></table>')
    return (unit * (size // len(unit) + 1))[:size]


# ---------------------------------------------------------------- TeX links


@pytest.mark.parametrize("src", [
    r"\href{javascript:alert(1)}{x}", r"\href{JavaScript:alert(1)}{x}",
    r"\url{vbscript:x}", "\\href{java\tscript:alert(1)}{x}",
    r"\href{jav&#x09;ascript:alert(1)}{x}", r"\href { data:text/html,x}{x}",
])
def test_defuse_tex_links_bad_targets(src: str) -> None:
    out = defuse_tex_links(src)
    assert "{#}" in out and "script:" not in out.lower().replace("\t", "")


@pytest.mark.parametrize("src", [
    r"\href{https://ok.example/}{x}", r"\url{http://ok.example}", r"\href{#sec}{x}",
    r"\href{mailto:a@example.com}{x}", "no tex at all",
])
def test_defuse_tex_links_keeps_safe_targets(src: str) -> None:
    assert defuse_tex_links(src) == src


def test_clean_defuses_tex_links_in_text() -> None:
    assert clean(r"<p>$\href{javascript:alert(1)}{x}$</p>") == r"<p>$\href{#}{x}$</p>"


# ---------------------------------------------------------------- safe_url


@pytest.mark.parametrize("url", [
    "https://example.com/", "http://example.com/a?b=1&c=2#frag", "https://例え.jp/パス",
    "https://[::1]:8888/x", "HTTPS://EXAMPLE.COM/",
])
def test_safe_url_accepts(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize("url", [
    None, 42, "", "javascript:alert(1)", "JAVASCRIPT:alert(1)", " https://example.com/",
    "java\tscript:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd",
    "ftp://example.com/", "//example.com/", "/relative", "https://user:pw@example.com/",
    "https://trusted.example@attacker.example/", "https://example.com:99999/",
    "https://example.com/\x00", "https://example.com/a b", "https://example.com/\u202etxt",
    "https://example.com/\u200b", 'https://example.com/"onmouseover=x',
    "https://example.com/<script>", "https:\\\\example.com", "https:///path-only",
    "https://" + "a" * 9000,
])
def test_safe_url_rejects(url: object) -> None:
    assert safe_url(url) is None


# ---------------------------------------------------------------- data_image_src

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def test_data_image_src_accepts_checked_images() -> None:
    assert data_image_src("image/png", PNG) == f"data:image/png;base64,{PNG}"
    wrapped = PNG[:10] + "\n" + PNG[10:]
    assert data_image_src("image/png", wrapped) == f"data:image/png;base64,{PNG}"
    assert data_image_src("image/gif", b"GIF89a....").startswith("data:image/gif;base64,")
    assert data_image_src("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ") is not None
    assert data_image_src("image/jpeg", b"\xff\xd8\xff\xe0") is not None


@pytest.mark.parametrize("mime,data", [
    ("image/svg+xml", base64.b64encode(b"<svg onload=alert(1)>").decode()),
    ("text/html", PNG), ("image/png", "not base64 !"), ("image/png", "PHNjcmlwdD4="),
    ("image/png", PNG + '"><script>'), ("image/jpeg", PNG), ("image/webp", b"RIFFxxxxAVI "),
    ("image/png", 12345),
])
def test_data_image_src_rejects(mime: str, data: object) -> None:
    assert data_image_src(mime, data) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- the auditor itself


@pytest.mark.parametrize("bad", [
    "<script>x</script>", '<a href="javascript:x">x</a>', '<a href=" JaVa\tScript:x">x</a>',
    '<p onclick="x">', '<img src="https://attacker.example/x.png">', "<svg></svg>",
    '<p style="color:red">', '<a href="data:text/html,x">', r"\href{javascript:x}{y}",
    '<img src="data:image/png;base64,AAAA">',
])
def test_audit_catches(bad: str) -> None:
    assert audit(bad) != []


def test_audit_allows_our_data_images_only_when_asked() -> None:
    img = f'<img class="cnb-output-image" src="data:image/png;base64,{PNG}" alt="x">'
    assert audit(img, allow_data_img=True) == []
    assert audit(img) != []


# ---------------------------------------------------------------- text a front end autolinks

# JupyterLab 4.6 rendermime `webLinkRegex` (stream and error output become links with it).
_LAB_AUTOLINK = re.compile(
    r"(?:[a-zA-Z][a-zA-Z0-9+.\-]{2,40}://|data:|www\.)[^\s\x00-\x20\x7f-\x9f\"]{2,}"
    r"[^\s\x00-\x20\x7f-\x9f\"'(){}\[\],:;.!?]")


def test_defang_autolinks_leaves_no_live_link_but_http() -> None:
    for payload in PAYLOADS:
        for m in _LAB_AUTOLINK.finditer(defang_autolinks(payload)):
            assert re.match(r"(https?://|www\.)", m.group(0), re.I), (payload, m.group(0))
    assert defang_autolinks("see https://ok.example/a and http://b.example") == (
        "see https://ok.example/a and http://b.example")
    assert defang_autolinks("javascript://%0aalert%281%29") == "javascript\u200b://%0aalert%281%29"
    assert defang_autolinks("metadata: x, \x1b[31mred") == "metadata: x, [31mred"
    assert "\u200b" in defang_autolinks("DATA:text/html,x")
