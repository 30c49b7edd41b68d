"""claude_nb.render.markdown: `render` and `StreamingMarkdown`.

The central property: however an answer is cut into deltas, the streamed HTML ends
byte-identical to `render(full_text)`. It is checked on every input of the CommonMark spec
and the markdown-it / plugin fixtures (tests/markdown_cases, see its README), whole, char by
char, line by line and at random cut points, and on generated documents built from the
constructs that broke naive streaming. Every patch is also applied to a simulated front end,
which must always show exactly `.html`.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it.utils import read_fixture_file

from claude_nb.render.markdown import Patch, StreamingMarkdown, render

CASES_DIR = Path(__file__).with_name("markdown_cases")
CASES = [
    pytest.param(text, id=f"{path.stem}:{line}")
    for path in sorted(CASES_DIR.glob("*.md"))
    if path.name != "README.md"
    for line, _title, text, _expected in read_fixture_file(path)
]
INPUTS = [param.values[0] for param in CASES]


class FrontEnd:
    """Applies patches the way the widget does: replace, append commit, swap tail."""

    def __init__(self) -> None:
        self.committed = ""
        self.tail = ""

    def apply(self, patch: Patch) -> None:
        if patch.replace is not None:
            self.committed = patch.replace
        self.committed += patch.commit
        self.tail = patch.tail

    @property
    def html(self) -> str:
        return self.committed + self.tail


def stream(pieces: Iterable[str]) -> tuple[str, list[Patch]]:
    """Feed `pieces`, finish; the final HTML (checked against the front end) and patches."""
    md = StreamingMarkdown()
    view = FrontEnd()
    patches = []
    for piece in pieces:
        patches.append(md.feed(piece))
        view.apply(patches[-1])
        assert view.html == md.html
    patches.append(md.finish())
    view.apply(patches[-1])
    assert view.html == md.html
    return md.html, patches


def cut(text: str, points: Iterable[int]) -> list[str]:
    bounds = [0, *sorted({p for p in points if 0 < p < len(text)}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def tails(text: str) -> list[str]:
    """The tail after each character of `text`."""
    md = StreamingMarkdown()
    return [md.feed(ch).tail for ch in text]


# ---------------------------------------------------------------- streaming == render


@pytest.mark.parametrize("text", CASES)
def test_fixture_streams_to_render(text: str) -> None:
    want = render(text)
    assert stream([text])[0] == want
    assert stream(text)[0] == want
    assert stream(text.splitlines(keepends=True))[0] == want


@settings(max_examples=400, deadline=None)
@given(text=st.sampled_from(INPUTS), points=st.lists(st.integers(1, 400), max_size=8))
def test_fixture_random_splits(text: str, points: list[int]) -> None:
    assert stream(cut(text, points))[0] == render(text)


# The constructs behind every rule in design.md §5, plus neighbours that interact with them.
LINES = [
    "", "", "", "foo", "bar *baz", "**strong** text", "Text after", "lazy line", "# head", "===",
    "---", "***", "- item", "  - nested", "1. one", "2) two", "10. ten", "+ plus", "- [ ] task",
    "> quote", ">", "> - q", "    code", "\t\tindent", "```", "```py", "~~~", "$$", "$$ x $$",
    "$$|x|$$", "\\$$", "a = $b$ c", "| a | b |", "|---|---|", "|-|-|", "--|--", "| 1 | 2 |",
    "# a | b", "a | b", "[foo]: /url", "[foo]: /url 'title", "'title'", '"t"', "[Foo]", "[foo][]",
    "[bar]", "[bar]: http://x.com", "  [foo]:", "  /u2", "[a", "b]: /u", "[^1]", "text[^1] more",
    "[^1]: note", "    continued note", "^[inline *n*]", "[^x][bar]", "[^2]: two", "[^1] and [^2]",
    "[^1]: x | y", "<div>", "<script>x</script>", "![img](http://e/i.png)", "`code", "``", "a\\",
    "<http://a.b>", "_x_ __y__", "~~s~~", "#", "##### h5 #####", "漢字 **太字", "emoji 👩‍👩‍👧 ok",
    "'multi", "line title'", "B[^1].",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=25),
    end=st.sampled_from(["", "\n", "\n\n"]),
    points=st.lists(st.integers(1, 600), max_size=40),
)
def test_generated_documents(lines: list[str], end: str, points: list[int]) -> None:
    text = "\n".join(lines) + end
    want = render(text)
    assert stream(cut(text, points))[0] == want
    assert stream(text)[0] == want


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.sampled_from(list("ab *_`[]()!#>-+|:$\n\\~^'=1.\t<")), max_size=80),
    points=st.lists(st.integers(1, 80), max_size=30),
)
def test_generated_character_soup(text: str, points: list[int]) -> None:
    assert stream(cut(text, points))[0] == render(text)


# ---------------------------------------------------------------- the hazards, by name


def commits(patches: list[Patch]) -> str:
    return "".join(p.commit for p in patches)


def test_reference_definition_after_its_use_replaces_committed_html() -> None:
    text = "See [the docs][d].\n\nMore text.\n\n[d]: https://example.com/docs\n\nThe end.\n"
    html, patches = stream(text)
    assert html == render(text)
    assert 'href="https://example.com/docs"' in html
    replaced = [p.replace for p in patches if p.replace is not None]
    assert len(replaced) == 1 and "[the docs][d]" not in replaced[0]


def test_reference_definition_before_its_use_needs_no_replace() -> None:
    text = "[d]: https://example.com\n\nSee [the docs][d].\n\nMore text.\n"
    html, patches = stream(text)
    assert html == render(text)
    assert all(p.replace is None for p in patches)


def test_unrelated_late_reference_definition_needs_no_replace() -> None:
    text = "Plain text.\n\nMore [text].\n\n[other]: https://example.com\n\nEnd.\n"
    html, patches = stream(text)
    assert html == render(text)
    assert all(p.replace is None for p in patches)


def test_reference_title_continuing_on_next_line() -> None:
    text = "[foo]: /url\n'the\ntitle'\n\n[foo]\n"
    assert stream(text)[0] == render(text) == '<p><a href="/url" title="the\ntitle" ' \
        'rel="noopener noreferrer nofollow" target="_blank">foo</a></p>\n'


def test_reference_title_may_still_continue_so_the_block_before_waits() -> None:
    """`'multi` looks like a paragraph until `line title'` closes the definition's title."""
    text = "- a\n\n[foo]: /url\n'multi\nline title'\n\n[foo]\n"
    html, _ = stream(text)
    assert html == render(text)
    assert 'title="multi\nline title"' in html and "<p>'multi" not in html


def test_footnote_referenced_again_after_its_definition_keeps_its_number() -> None:
    text = "A[^1].\n\n[^1]: note\n\nB[^1].\n"
    html, _ = stream(text)
    assert html == render(text)
    assert 'id="fnref1:1">[1:1]</a>' in html and 'id="fn2"' not in html


def test_loose_list_is_committed_only_once_it_ended() -> None:
    text = "- a\n- b\n\n- c\n\nafter\n"
    html, patches = stream(text)
    assert html == render(text)
    assert "<li>\n<p>a</p>\n</li>" in html
    assert commits(patches).count("<ul>") == 1


def test_setext_underline_turns_the_paragraph_into_a_heading() -> None:
    text = "Title\n===\n\nBody text.\n"
    html, patches = stream(text)
    assert html == render(text)
    assert html.startswith("<h1>Title</h1>")
    assert "<p>Title" not in commits(patches)


def test_lazy_blockquote_continuation() -> None:
    text = "> quoted\ncontinued lazily\n\nafter\n"
    html, patches = stream(text)
    assert html == render(text)
    assert "<p>quoted\ncontinued lazily</p>" in html
    assert commits(patches).count("<blockquote>") == 1


def test_table_before_its_delimiter_row_is_a_stable_paragraph() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n"
    html, patches = stream(text)
    assert html == render(text)
    assert "<table>" in html and "<p>| a" not in commits(patches)
    header_tails = tails("| a | b |")
    assert all(t.startswith("<p>|") for t in header_tails)


def test_heading_that_may_become_a_table_header_is_not_committed() -> None:
    text = "# x | y\n--|--\n1 | 2\n"
    html, patches = stream(text)
    assert html == render(text) and "<table>" in html
    assert "<h1>" not in commits(patches)


def test_footnotes_footer_never_renumbers() -> None:
    text = (
        "First[^a] and second[^b].\n\nThird^[inline note] and first again[^a].\n\n"
        "[^b]: Note B.\n\n[^a]: Note A.\n"
    )
    html, patches = stream(text)
    assert html == render(text)
    assert all(p.replace is None for p in patches)
    final = {"1": "Note A.", "2": "Note B.", "3": "inline note"}  # numbered by first reference
    for patch in patches:
        items = re.findall(r'<li id="fn(\d)" class="footnote-item"><p>([^<]*)', patch.tail)
        for number, shown in items:
            assert final[number].startswith(shown.strip())
    rule = html.index("<hr")
    assert html.index("Note A") < html.index("Note B") < html.index("inline note", rule)


def test_footer_leaves_out_trailing_notes_without_text_while_streaming() -> None:
    md = StreamingMarkdown()
    assert "footnotes" not in md.feed("One[^1] two[^2].\n\n").tail
    tail = md.feed("[^1]: Defined.\n\nMore").tail
    assert 'id="fn1"' in tail and 'id="fn2"' not in tail
    md.finish()
    assert 'id="fn2"' in md.html


def test_dollar_math_block_is_not_committed_while_it_can_still_close() -> None:
    text = "$$\nx = 1\n# inside the math\n$$\n\nafter\n"
    html, patches = stream(text)
    assert html == render(text)
    assert '<div class="cnb-math-block">x = 1\n# inside the math</div>' in html
    assert "<h1>" not in commits(patches)


def test_dollar_math_opened_inside_a_list_item_reaches_past_it() -> None:
    """In a list item dollarmath searches to the end of the document, not of the item."""
    text = "- $$\n  a\n# h\nb $$\n\nafter\n"
    html, patches = stream(text)
    assert html == render(text)
    assert '<li>\n<div class="cnb-math-block">a\n# h\nb</div>\n</li>' in html
    assert "<h1>" not in commits(patches)


def test_open_dollar_math_shows_as_open_math_block() -> None:
    assert tails("$$\n\\frac{a}{b}")[-1] == '<div class="cnb-math-block">\\frac{a}{b}</div>\n'
    text = "$$\n\\frac{a}{b}\n\nnot math\n"  # a blank line means it never closes
    assert stream(text)[0] == render(text) == "<p>$$\n\\frac{a}{b}</p>\n<p>not math</p>\n"


def test_unclosed_code_fence_streams_escaped_and_ends_highlighted() -> None:
    text = "```python\nx = '<b>'\nprint(x)\n"
    shown = tails(text)
    assert all('<span class="' not in t and "<b>" not in t for t in shown)
    assert "x = '&lt;b&gt;'" in shown[-1]
    html, _ = stream(text)
    assert html == render(text)
    assert """<span class="s1">'&lt;b&gt;'</span>""" in html


def test_long_open_fence_tail_is_the_escaped_code_so_far() -> None:
    opening = '<pre class="highlight" data-lang="python"><code class="language-python">'
    code = "".join(f"x{n} = {n} < {n + 1}\n" for n in range(400))
    md = StreamingMarkdown()
    md.feed("```python\n")
    for line in code.splitlines(keepends=True):
        tail = md.feed(line).tail
    assert tail == opening + code.replace("<", "&lt;") + "</code></pre>\n"
    assert md.feed("y = 1").tail == opening + code.replace("<", "&lt;") + "y = 1</code></pre>\n"
    for partial in ("`", "``", "```", "``` "):  # the closing fence being typed is not shown
        assert StreamingMarkdown().feed("```py\nx = 1\n" + partial).tail == (
            '<pre class="highlight" data-lang="py"><code class="language-py">x = 1\n</code></pre>\n'
        )


def test_closed_fence_is_committed_highlighted_at_once() -> None:
    md = StreamingMarkdown()
    md.feed("```python\nprint(1)\n")
    patch = md.feed("```\n")
    assert patch.commit.startswith('<pre class="highlight" data-lang="python">')
    assert '<span class="nb">print</span>' in patch.commit


@pytest.mark.parametrize(
    "text",
    [
        "漢字とかな **太字** の段落。\n\n次の段落 `コード`。\n",
        "Family: 👩‍👩‍👧‍👦 and flags 🇯🇵🇫🇷, skin tone 👍🏽.\n\n- 🧑‍💻 item\n",
        "עברית **מודגש** ועוד [קישור](https://example.com)\n\nالعربية *مائل*\n",
        "Combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0352\u0353 and \u1100\u1161\u11a8.\n",
        "Null \0 byte and CRLF\r\nline\rend\r\n\r\n- a\r\n- b\r",
    ],
    ids=["cjk", "emoji-zwj", "rtl", "combining", "crlf-null"],
)
def test_multibyte_text_split_anywhere(text: str) -> None:
    want = render(text)
    assert stream(text)[0] == want
    assert stream(cut(text, range(1, len(text), 3)))[0] == want
    assert stream(cut(text, range(2, len(text), 5)))[0] == want


def test_carriage_return_split_from_its_newline() -> None:
    assert stream(["a\r", "\nb\r", "\r", "\nc"])[0] == render("a\r\nb\r\r\nc")
    assert stream(["a\r"])[0] == render("a\r") == "<p>a</p>\n"


# ---------------------------------------------------------------- the open tail


@pytest.mark.parametrize(
    "partial, shown",
    [
        ("**bold te", "<p><strong>bold te</strong></p>\n"),
        ("**bold ", "<p><strong>bold</strong></p>\n"),
        ("_it **b", "<p><em>it <strong>b</strong></em></p>\n"),
        ("some `code sp", "<p>some <code>code sp</code></p>\n"),
        ("**a `code", "<p><strong>a <code>code</code></strong></p>\n"),
        ("~~strike", "<p><s>strike</s></p>\n"),
        ("see [the text](http://exa", "<p>see the text</p>\n"),
        ("see ![alt](http://exa", "<p>see</p>\n"),
        ("see ![al", "<p>see</p>\n"),
        ("# Head **bo", "<h1>Head <strong>bo</strong></h1>\n"),
        ("> quote *it", "<blockquote>\n<p>quote <em>it</em></p>\n</blockquote>\n"),
        ("- item **b", "<ul>\n<li>item <strong>b</strong></li>\n</ul>\n"),
        ("2*3 = 6", "<p>2*3 = 6</p>\n"),
        ("snake_case_na", "<p>snake_case_na</p>\n"),
        ("| a | b |", "<p>| a | b |</p>\n"),
        (
            "```py\nif a < b:",
            '<pre class="highlight" data-lang="py"><code class="language-py">'
            "if a &lt; b:</code></pre>\n",
        ),
        ("$$\nx^2 <", '<div class="cnb-math-block">x^2 &lt;</div>\n'),
        ("text <script>alert(1)</script", "<p>text &lt;script&gt;alert(1)&lt;/script</p>\n"),
    ],
)
def test_tail_completes_unfinished_syntax(partial: str, shown: str) -> None:
    assert StreamingMarkdown().feed(partial).tail == shown


def test_tail_stabilization_never_reaches_the_final_html() -> None:
    text = "**not closed and `not code [link](http://x\n"
    assert stream(text)[0] == render(text) == (
        "<p>**not closed and `not code [link](http://x</p>\n"
    )


def test_bold_does_not_flicker_while_typed() -> None:
    shown = tails("Some **bold words** here")
    opened = shown.index("<p>Some <strong>b</strong></p>\n")
    assert all("<strong>" in t for t in shown[opened:])


def test_update_cost_stays_bounded_as_the_answer_grows() -> None:
    """Only the open tail is re-parsed: at 100 KB the tail is still one block."""
    block = "A paragraph with **bold**, `code` and a [link](https://example.com). " * 5
    text = "\n\n".join(f"## Part {n}\n\n{block}\n\n- one\n- two" for n in range(280)) + "\n"
    md = StreamingMarkdown()
    biggest = max(len(md.feed(text[i : i + 40]).tail) for i in range(0, len(text), 40))
    md.finish()
    assert len(text) > 100_000 and biggest < 1_000
    assert md.html == render(text)


def test_patch_is_frozen_and_feed_after_finish_fails() -> None:
    md = StreamingMarkdown()
    patch = md.feed("x")
    with pytest.raises(AttributeError):
        patch.tail = ""  # type: ignore[misc]
    assert md.finish() == Patch("<p>x</p>\n", "", None)
    assert md.finish() == Patch("", "", None)
    with pytest.raises(RuntimeError):
        md.feed("more")


def test_empty_input() -> None:
    assert render("") == stream([])[0] == stream(["", ""])[0] == ""


# ---------------------------------------------------------------- the HTML we emit


def test_code_fence_markup_and_highlighting() -> None:
    html = render('```python title="x"\nprint("<hi>")\n```\n')
    assert html.startswith(
        '<pre class="highlight" data-lang="python"><code class="language-python">'
    )
    assert '<span class="nb">print</span>' in html and "&lt;hi&gt;" in html


@pytest.mark.parametrize(
    "info, opening",
    [
        ("", '<pre class="highlight"><code>'),
        ("nosuchlang",
         '<pre class="highlight" data-lang="nosuchlang"><code class="language-nosuchlang">'),
        ('"><script>', '<pre class="highlight" data-lang="&quot;&gt;&lt;script&gt;"><code>'),
    ],
)
def test_code_fence_info_string_is_escaped_never_trusted(info: str, opening: str) -> None:
    assert render(f"```{info}\n<x>\n```\n") == f"{opening}&lt;x&gt;\n</code></pre>\n"


def test_links_open_in_a_new_tab_without_referrer() -> None:
    for text in ("[a](https://example.com)", "<https://example.com>", "[a][r]\n\n[r]: https://example.com"):
        link = 'href="https://example.com" rel="noopener noreferrer nofollow" target="_blank"'
        assert link in render(text)


def test_remote_images_are_click_to_open_links() -> None:
    html = render('![a chart](https://evil.example/?q=secret "T")')
    assert "<img" not in html
    assert html == (
        '<p><a class="cnb-img" href="https://evil.example/?q=secret" rel="noopener noreferrer '
        'nofollow" target="_blank" title="T">\U0001f5bc a chart</a></p>\n'
    )
    assert render("[![x](https://e/i.png)](https://e)") == (
        '<p><a href="https://e" rel="noopener noreferrer nofollow" target="_blank">'
        '<span class="cnb-img">\U0001f5bc x</span></a></p>\n'
    )


def test_inline_raster_images_render_other_data_images_do_not() -> None:
    assert render("![dot](data:image/png;base64,iVBORw0KGgo=)") == (
        '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot"></p>\n'
    )
    assert "<img" not in render("![s](data:image/svg+xml;base64,PHN2Zz4=)")
    assert 'href=""' in render("[x](data:image/png;base64,AAAA)")


def test_math_is_escaped_tex_readable_without_network() -> None:
    assert render("Energy $E = mc^2$ and $a<b$.") == (
        '<p>Energy <span class="cnb-math">E = mc^2</span> and '
        '<span class="cnb-math">a&lt;b</span>.</p>\n'
    )
    assert render("$$\n\\int_0^1 f\n$$ (eq)\n") == (
        '<div class="cnb-math-block">\\int_0^1 f<span class="cnb-math-label">(eq)</span></div>\n'
    )
    assert render("It costs $5 and $10.") == "<p>It costs $5 and $10.</p>\n"


def test_tables_strikethrough_tasks_footnotes() -> None:
    html = render("| a |\n|:-:|\n| ~~b~~ |\n\n- [x] done\n- [ ] todo\n\nNote[^n].\n\n[^n]: Here.\n")
    assert '<th style="text-align:center">a</th>' in html and "<s>b</s>" in html
    assert 'class="task-list-item-checkbox" checked="checked" disabled="disabled"' in html
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>' in html
    assert '<li id="fn1" class="footnote-item"><p>Here.' in html


# ---------------------------------------------------------------- untrusted input


def _load_sanitize_tests() -> Any:
    """The XSS corpus and HTML auditor live in test_sanitize.py (as test_cards.py uses them)."""
    spec = importlib.util.spec_from_file_location(
        "_cnb_sanitize_tests_md", CASES_DIR.parent / "test_sanitize.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_SANITIZE = _load_sanitize_tests()


@pytest.mark.parametrize("payload", _SANITIZE.PAYLOADS)
def test_corpus_is_inert_in_final_and_every_tail(payload: str) -> None:
    assert _SANITIZE.audit(render(payload)) == []
    for tail in tails(payload):
        assert _SANITIZE.audit(tail) == []


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", "<javascript:alert(1)>",
        "<java\tscript:alert(1)>",
        "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "javascript&colon;alert(1)",
        "jav&#x09;ascript:alert(1)", "<\x01javascript:alert(1)>", "java%73cript:alert(1)",
        "vbscript:msgbox(1)", "VBScript:x", "file:///etc/passwd", "FILE://c:/x",
        "data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD4=",
        "DATA:image/svg+xml,<svg onload=alert(1)>",
    ],
)
def test_dangerous_link_targets_are_dropped(target: str) -> None:
    for text in (f"[x]({target})", f"![x]({target})", f"[x][r]\n\n[r]: {target}",
                 f"<{target.strip('<>')}>"):
        html = render(text)
        hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
        bad = r"(?i)\s*(java|vb)script|file|data"
        assert all(not re.match(bad, h.replace("%09", "")) for h in hrefs), html


def test_raw_html_is_text() -> None:
    text = '<script>alert(1)</script>\n\n<img src=x onerror="alert(1)">\n\nx <b onclick="y">b</b>'
    html = render(text)
    assert "<script" not in html and "<img" not in html and "<b " not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_render_once_reuses_the_streamed_html_exactly_once() -> None:
    from claude_nb.render import markdown

    text = "# Title\n\nSome *text* with [a ref][r].\n\n[r]: https://example.com\n"
    md = StreamingMarkdown()
    for i in range(0, len(text), 3):
        md.feed(text[i:i + 3])
    md.finish()
    assert text in markdown._RECENT
    assert markdown.render_once(text) == render(text) == md.html
    assert text not in markdown._RECENT  # consumed: a second render is a fresh one
    assert markdown.render_once(text) == render(text)
