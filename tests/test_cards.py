"""claude_nb.render.cards: every block kind renders, every model-derived field is escaped, and the
XSS corpus (tests/xss_payloads.txt) stays inert in HTML, Markdown and live skeletons.

Blocks are built directly from the transcript dataclasses; tests that need the Markdown
renderer take it as the `markdown` fixture.
"""

from __future__ import annotations

import base64
import importlib.util
import inspect
import re
import time
from types import SimpleNamespace
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

import claude_nb.render.markdown

from claude_nb.render import blocks, exports

from claude_nb.protocol import blocks as block_types
from claude_nb.render.blocks import block_html, kind_of, live_block_html, tool_card_html
from claude_nb.render.citations import Citations
from claude_nb.render.context import ToolView
from claude_nb.render.errorcards import error_card, error_html, retry_html, unknown_event_html
from claude_nb.render.exports import (
    history_plain, reply_markdown, reply_plain, turn_markdown, turn_plain,
)
from claude_nb.render.footer import Totals, footer_html
from claude_nb.render.static import (
    history_html, reply_footer_html, reply_html, static_style, turn_html, wrap_static,
)
from claude_nb.render.toolcards import tool_status_html
from claude_nb.render.toolresults import tool_result_html, tool_result_text
from claude_nb.protocol.blocks import (
    Block, RedactedThinkingBlock, ServerToolResultBlock, ServerToolUseBlock, TextBlock,
    ThinkingBlock, ToolUseBlock, UnknownBlock,
)
from claude_nb.protocol.transcript import Turn, Usage


def _load_sanitize_tests() -> Any:
    """The corpus loader and auditor live in test_sanitize.py (works in any import mode)."""
    spec = importlib.util.spec_from_file_location(
        "_cnb_sanitize_tests", Path(__file__).with_name("test_sanitize.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_SANITIZE_TESTS = _load_sanitize_tests()
audit = _SANITIZE_TESTS.audit
PAYLOADS: list[str] = _SANITIZE_TESTS.PAYLOADS

PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def audit_static(out: str, **kw: bool) -> list[str]:
    """Audit a standalone output: our wrapper, and no `<style>` (its text would show where
    sanitizers escape or drop the tag)."""
    assert out.startswith('<div class="cnb-turn cnb-static">') and "<style" not in out, out[:200]
    return audit(out, **kw)


@pytest.fixture
def markdown() -> Any:
    return claude_nb.render.markdown


# ---------------------------------------------------------------- builders


def text(t: str, index: int = 0, citations: list[dict[str, Any]] | None = None) -> TextBlock:
    return TextBlock(index=index, type="text", done=True, started_at=1.0, finished_at=2.0,
                     text=t, citations=citations or [])


def thinking(t: str = "Let me think.", *, signature: str = "sig", done: bool = True,
             seconds: float = 4.2) -> ThinkingBlock:
    return ThinkingBlock(index=0, type="thinking", done=done, started_at=10.0,
                         finished_at=10.0 + seconds if done else None, thinking=t,
                         signature=signature)


def tool(name: str = "run_python", input: dict[str, Any] | None = None, *,
         input_json: str | None = None, done: bool = True, id: str = "toolu_1") -> ToolUseBlock:
    raw = input_json if input_json is not None else __import__("json").dumps(input or {})
    return ToolUseBlock(index=1, type="tool_use", done=done, id=id, name=name,
                        input_json=raw, input=input if input_json is None else None)


def server_tool(query: str = "weather nyc", id: str = "srvtoolu_1", done: bool = True
                ) -> ServerToolUseBlock:
    return ServerToolUseBlock(index=1, type="server_tool_use", done=done, id=id,
                              name="web_search", input={"query": query} if done else None,
                              input_json=f'{{"query": "{query}"}}')


def web_results(items: Any, id: str = "srvtoolu_1") -> ServerToolResultBlock:
    return ServerToolResultBlock(index=2, type="web_search_tool_result", done=True,
                                 tool_use_id=id, content=items)


def web_citation(url: str, title: str, cited: str) -> dict[str, Any]:
    return {"type": "web_search_result_location", "url": url, "title": title,
            "cited_text": cited, "encrypted_index": "Eo8B"}


def make_turn(*blocks: Block, stop: str | None = "end_turn", ended: bool = True) -> Turn:
    t = Turn(requested_at=100.0, message_id="msg_1", model="claude-test-1")
    t.blocks = list(blocks)
    t.usage = Usage(input_tokens=1234, output_tokens=200, cache_read_input_tokens=50)
    t.first_event_at, t.first_token_at, t.finished_at = 100.2, 100.5, 104.5
    t.stop_reason, t.ended = stop, ended
    return t


# ---------------------------------------------------------------- dispatch


def test_every_block_class_has_a_renderer_in_every_table() -> None:
    classes = [obj for _, obj in inspect.getmembers(block_types, inspect.isclass)
               if issubclass(obj, Block)]
    for table in (blocks.HTML_RENDERERS, exports.MARKDOWN_RENDERERS, exports.PLAIN_RENDERERS,
                  blocks.KINDS):
        assert set(classes) <= set(table)


def test_unregistered_block_subclass_falls_back_along_mro() -> None:
    class Future(ToolUseBlock):
        pass

    out = block_html(Future(index=0, type="tool_use", done=True, name="x", input={}))
    assert "cnb-tool" in out


# ---------------------------------------------------------------- text and citations


def test_text_block_renders_markdown(markdown: Any) -> None:
    out = block_html(text("Hello **world**"))
    assert out.startswith('<div class="cnb-text"><div class="cnb-md">')
    assert "<strong>world</strong>" in out and "cnb-sources" not in out


def test_live_text_block_is_an_empty_md_target() -> None:
    b = text("partial", citations=[])
    b.done = False
    assert block_html(b, live=True) == '<div class="cnb-text"><div class="cnb-md"></div></div>'


def test_citations_numbered_across_the_turn_and_deduplicated(markdown: Any) -> None:
    a = web_citation("https://a.example/", "Site A", "quote a")
    b = web_citation("https://b.example/", "Site B", "quote b")
    a2 = web_citation("https://a.example/", "Site A", "another quote")
    turn = make_turn(text("One ", 0), text("cited.", 1, [a]), text(" Two.", 2, [b, a2]),
                     server_tool(), text("Three.", 4, [b]))
    out = turn_html(turn)
    assert out.count('class="cnb-cite"') == 4
    assert re.findall(r"\[(\d)\]</a></sup>", out) == ["1", "2", "1", "2"]
    first_sources, second_sources = out.split('class="cnb-sources"')[1:3] if out.count(
        'class="cnb-sources"') == 2 else (out.split('class="cnb-sources"')[1], "")
    assert "Site A" in first_sources and "Site B" in first_sources
    assert "quote a" in first_sources and "another quote" in first_sources
    assert second_sources == ""  # Site B was already listed; the number is reused
    assert "cnb-text" in out and out.index("One") < out.index("cited.")


def test_consecutive_text_blocks_render_as_one_document(markdown: Any) -> None:
    out = turn_html(make_turn(text("The weather is ", 0),
                              text("sunny", 1, [web_citation("https://w.example/", "W", "s")]),
                              text(" today.", 2)), footer=False)
    assert out.count("<p>") == 1
    assert re.search(r"The weather is sunny<sup class=\"cnb-cite\">.*</sup> today\.", out)


def test_standalone_text_block_lists_its_own_sources(markdown: Any) -> None:
    out = block_html(text("x", citations=[web_citation("https://a.example/", "A", "q")]))
    assert "cnb-sources" in out and ">[1]<" in out


def test_shared_citations_continue_numbering_without_sources_list(markdown: Any) -> None:
    cites = Citations()
    block_html(text("a", citations=[web_citation("https://a.example/", "A", "q")]), cites=cites)
    out = block_html(text("b", citations=[web_citation("https://b.example/", "B", "q")]),
                     cites=cites)
    assert ">[2]<" in out and "cnb-sources" not in out
    assert [s.title for s in cites.sources] == ["A", "B"]


def test_document_citations_have_no_link(markdown: Any) -> None:
    c = {"type": "char_location", "cited_text": "The grass is green.", "document_index": 0,
         "document_title": "Example Document", "start_char_index": 0, "end_char_index": 20}
    out = block_html(text("Green.", citations=[c]))
    assert '<span title="Example Document">[1]</span>' in out
    assert "Example Document" in out and "The grass is green." in out


def test_unsafe_citation_url_is_not_linked(markdown: Any) -> None:
    out = block_html(text("x", citations=[web_citation("javascript:alert(1)", "T", "q")]))
    assert "javascript" not in out and 'href="' not in out


def test_model_private_use_marks_cannot_forge_citations(markdown: Any) -> None:
    out = block_html(text("fake \ue0001\ue001 mark"))
    assert "cnb-cite" not in out and "\ue000" not in out


# ---------------------------------------------------------------- thinking


def test_thinking_done_is_collapsed_with_duration(markdown: Any) -> None:
    out = block_html(thinking("Consider *this*."))
    assert out.startswith('<details class="cnb-card cnb-thinking"><summary>'
                          '<span class="cnb-card-title">Thought for 4.2 s</span>')
    assert " open" not in out and "<em>this</em>" in out


def test_thinking_live_is_open_with_spinner() -> None:
    out = block_html(thinking("", signature="", done=False), live=True)
    assert " open>" in out and "cnb-spinner" in out and "cnb-thinking-live" in out
    assert 'class="cnb-timer" data-running data-t0="' in out
    assert '<div class="cnb-md"></div>' in out


def test_thinking_omitted_by_the_api(markdown: Any) -> None:
    out = block_html(thinking("", signature="EqQB"))
    assert "Thinking omitted by the API" in out and "cnb-thinking-omitted" in out


def test_thinking_cut_off_is_marked(markdown: Any) -> None:
    assert "cut off" in block_html(thinking("half a thought", signature=""))


def test_redacted_thinking_card() -> None:
    out = block_html(RedactedThinkingBlock(index=0, type="redacted_thinking", done=True,
                                           data="EmwKAhgB<script>"))
    assert "Redacted thinking" in out and "cnb-redacted" in out and "EmwK" not in out


# ---------------------------------------------------------------- tool cards


def test_tool_card_pretty_json_and_status() -> None:
    out = block_html(tool(input={"code": "print(1 < 2)"}))
    assert out.startswith('<details class="cnb-card cnb-tool">')
    assert '<span class="cnb-card-title">run_python</span>' in out
    assert ('<span class="cnb-card-sub">{&quot;code&quot;: &quot;print(1 &lt; 2)&quot;}'
            '</span>') in out
    assert "&quot;code&quot;: &quot;print(1 &lt; 2)&quot;" in out
    assert "cnb-status-waiting" in out


def test_tool_card_incomplete_input_shows_raw_json() -> None:
    out = block_html(tool(input_json='{"code": "pri'))
    assert "incomplete" in out and "cnb-json-partial" in out
    assert "{&quot;code&quot;: &quot;pri" in out and "cnb-status-incomplete" in out


def test_tool_card_live_is_open_with_raw_json_target() -> None:
    out = block_html(tool(input_json='{"co', done=False), live=True)
    assert "<details class=\"cnb-card cnb-tool\" open>" in out
    assert '<pre class="cnb-json cnb-json-live">{&quot;co</pre>' in out
    assert '<div class="cnb-tool-result"></div>' in out


@pytest.mark.parametrize("status,label", [
    ("waiting", "waiting"), ("running", "running"), ("done", "done"), ("error", "error"),
    ("stopped", "stopped"), ("awaiting_approval", "awaiting approval"),
])
def test_tool_status_badges(status: str, label: str) -> None:
    out = tool_status_html(status, 1.25)
    assert out == (f'<span class="cnb-badge cnb-status-{status}" data-status="{status}">'
                   f'{label}</span> <span class="cnb-timer">1.2 s</span>')


def test_running_status_has_a_ticking_timer() -> None:
    out = tool_status_html("running", started_at=time.monotonic() - 2.0)
    t0 = float(re.search(r'data-t0="([\d.]+)"', out).group(1))  # type: ignore[union-attr]
    assert abs(time.time() - 2.0 - t0) < 0.5 and "data-running" in out
    assert "cnb-timer" not in tool_status_html("waiting")


def test_tool_status_unknown_is_escaped() -> None:
    out = tool_status_html('<b onclick="x">')
    assert 'data-status="other"' in out and "<b" not in out


def test_tool_card_with_session_state_and_result() -> None:
    view = ToolView.from_result("42", elapsed=0.5)
    out = block_html(tool(input={"x": 1}), tool=view)
    assert "cnb-status-done" in out and "500 ms" in out
    assert '<pre class="cnb-output">42</pre>' in out
    assert "open" not in out
    assert " open>" in block_html(tool(input={}), tool=ToolView("awaiting_approval"))


def test_turn_marks_unrun_tool_calls() -> None:
    out = turn_html(make_turn(tool(input={}), stop="tool_use"))
    assert "cnb-status-not_run" in out


def test_server_tool_card_shows_query() -> None:
    out = block_html(server_tool('sf "weather" <now>'))
    assert "cnb-server-tool" in out and "server tool" in out
    assert "“sf &quot;weather&quot; &lt;now&gt;”" in out


def test_server_tool_status_from_its_result_in_the_turn() -> None:
    ok = turn_html(make_turn(server_tool(), web_results([])))
    assert "cnb-status-done" in ok
    err = turn_html(make_turn(server_tool(), web_results(
        {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"})))
    assert "cnb-status-error" in err
    stopped = make_turn(server_tool(), stop=None, ended=False)
    assert "cnb-status-stopped" in turn_html(stopped, stopped=True)


# ---------------------------------------------------------------- server results


def test_web_search_results_list() -> None:
    out = block_html(web_results([
        {"type": "web_search_result", "title": "Weather <b>NYC</b>",
         "url": "https://weather.example.com/nyc", "encrypted_content": "SECRETBLOB",
         "page_age": "2 hours ago"},
        {"type": "web_search_result", "title": "Bad", "url": "javascript:alert(1)",
         "page_age": None},
    ]))
    assert "cnb-web-results" in out and "2 results" in out and "<details" in out
    assert ('<a href="https://weather.example.com/nyc" target="_blank" '
            'rel="noopener noreferrer nofollow">Weather &lt;b&gt;NYC&lt;/b&gt;</a>') in out
    assert '<span class="cnb-page-age">2 hours ago</span>' in out
    assert "SECRETBLOB" not in out
    assert 'href="javascript' not in out and "javascript:alert(1)" in out  # shown as text


def test_web_search_error_result() -> None:
    out = block_html(web_results({"type": "web_search_tool_result_error",
                                  "error_code": "max_uses_exceeded"}))
    assert "cnb-server-error" in out and "<code>max_uses_exceeded</code>" in out
    assert "limit" in out


def test_other_server_result_is_neutral_collapsed_json() -> None:
    b = ServerToolResultBlock(index=0, type="code_execution_tool_result", done=True,
                              tool_use_id="x", content={"stdout": "<b>hi</b>"})
    out = block_html(b)
    assert out.startswith('<details class="cnb-card cnb-server-result">')
    assert "&lt;b&gt;hi&lt;/b&gt;" in out and " open" not in out


def test_unknown_block_card() -> None:
    b = UnknownBlock(index=0, type="hologram", done=True, raw={"type": "hologram", "x": "<i>"},
                     deltas=[{"type": "hologram_delta"}])
    out = block_html(b)
    assert ('<span class="cnb-card-title">Unknown block type</span> '
            '<span class="cnb-card-sub">hologram</span>') in out and "cnb-unknown" in out
    assert "&lt;i&gt;" in out and "hologram_delta" in out and " open" not in out


# ---------------------------------------------------------------- tool results


def test_tool_result_text_and_json() -> None:
    assert tool_result_html("a < b") == ('<div class="cnb-result"><div class="cnb-label">'
                                         'Result</div><pre class="cnb-output">a &lt; b</pre></div>')
    out = tool_result_html({"rows": [1, "<x>"]})
    assert '<pre class="cnb-json">' in out and "&lt;x&gt;" in out
    assert "cnb-result-error" in tool_result_html("boom", True)
    assert "<pre" in tool_result_html(object())  # not JSON-able: repr text


def test_tool_result_html_bundle_is_cleaned() -> None:
    out = tool_result_html({"text/html": '<table class="dataframe"><tr><td onclick="x">1</td>'
                                         "</tr></table><script>alert(1)</script>",
                            "text/plain": "df"})
    assert '<table class="dataframe">' in out and "onclick" not in out and "script" not in out


def test_tool_result_image_bundle() -> None:
    out = tool_result_html({"image/png": PNG_B64, "text/plain": "<Figure>"})
    assert (f'<img class="cnb-output-image" src="data:image/png;base64,{PNG_B64}" '
            'alt="&lt;Figure&gt;">') in out
    assert audit(out, allow_data_img=True) == []


def test_tool_result_bad_image_falls_back_to_text() -> None:
    out = tool_result_html({"image/png": "PHNjcmlwdD4=", "text/plain": "fig"})
    assert "<img" not in out and '<pre class="cnb-output">fig</pre>' in out
    svg = base64.b64encode(b"<svg onload=alert(1)>").decode()
    assert "<img" not in tool_result_html({"image/svg+xml": svg, "text/plain": "s"})


def test_tool_result_markdown_bundle(markdown: Any) -> None:
    out = tool_result_html({"text/markdown": "**bold**"})
    assert "<strong>bold</strong>" in out


def test_tool_result_text_forms() -> None:
    assert tool_result_text("x") == "x"
    assert tool_result_text({"text/plain": "p", "image/png": PNG_B64}) == "p"
    assert tool_result_text({"image/png": PNG_B64}) == "[image/png]"
    assert tool_result_text({"a": 1}) == '{\n  "a": 1\n}'


# ---------------------------------------------------------------- footer


def test_footer_contents() -> None:
    t = make_turn(text("x"))
    t.usage.cache_creation_input_tokens = 7
    t.usage.server_tool_use = {"web_search_requests": 2}
    out = footer_html(t, demo=True)
    assert out.startswith('<div class="cnb-footer"><span class="cnb-badge cnb-demo">demo</span>')
    for part in ("claude-test-1", "in 1,234 · out 200", "cache read 50 · cache write 7",
                 "2 web searches", "first token 500 ms", "total 4.5 s", "50 tok/s",
                 '<span class="cnb-stop cnb-stop-end_turn">complete</span>'):
        assert part in out, part


@pytest.mark.parametrize("stop,kwargs,expected", [
    ("end_turn", {}, "complete"), ("max_tokens", {}, "cut at max_tokens"),
    ("refusal", {}, "refused"), ("pause_turn", {}, "paused (pause_turn)"),
    ("tool_use", {}, "tool call"), ("end_turn", {"stopped": True}, "stopped by user"),
    ("end_turn", {"failed": True}, "ended by error"),
])
def test_footer_stop_words(stop: str, kwargs: dict[str, bool], expected: str) -> None:
    assert f">{expected}</span>" in footer_html(make_turn(stop=stop), **kwargs)


def test_footer_truncated_and_stop_sequence_and_unknown() -> None:
    t = make_turn(stop=None, ended=False)
    assert "truncated (no message_stop)" in footer_html(t)
    t = make_turn(stop="stop_sequence")
    t.stop_sequence = "<END>"
    assert "stop sequence “&lt;END&gt;”" in footer_html(t)
    assert "cnb-stop-other" in footer_html(make_turn(stop="future_reason"))


def test_footer_totals_over_a_tool_loop() -> None:
    a, b = make_turn(stop="tool_use"), make_turn()
    b.requested_at, b.first_token_at, b.finished_at = 105.0, 105.5, 108.5
    totals = Totals.of([a, b])
    assert totals.usage.input_tokens == 2468 and totals.turns == 2
    assert totals.duration == pytest.approx(8.5) and totals.ttft == pytest.approx(0.5)
    assert totals.tokens_per_second == pytest.approx(400 / 7)
    out = footer_html([a, b])
    assert "2 turns" in out and "complete" in out
    assert footer_html(totals) == out


# ---------------------------------------------------------------- errors


def test_error_card_escapes_and_redacts() -> None:
    out = error_html("Bad <request>", "line1\n<script>x</script> key sk-ant-api03-abcdefghij",
                     request_id="req_<1>", hint="Check <this>")
    assert out.startswith('<div class="cnb-error" role="alert">')
    assert "Bad &lt;request&gt;" in out and "line1<br>&lt;script&gt;" in out
    assert "sk-ant-api03" not in out and "sk-ant-…" in out
    assert "<code>req_&lt;1&gt;</code>" in out and "Check &lt;this&gt;" in out


def test_error_card_is_one_screen() -> None:
    out = error_html("E", "x" * 10_000)
    assert len(out) < 2500 and "8,000 more characters" in out


def test_turn_error_from_exception_mapping_and_string() -> None:
    class APIStatusError(Exception):
        request_id = "req_9"

    out = turn_html(make_turn(), error=APIStatusError("Overloaded <now>"))
    assert "APIStatusError" in out and "Overloaded &lt;now&gt;" in out and "req_9" in out
    assert "ended by error" in out
    out = turn_html(make_turn(), error={"title": "T", "message": "<m>", "hint": "h"})
    assert "&lt;m&gt;" in out and "cnb-error-hint" in out
    assert "&lt;b&gt;" in turn_html(make_turn(), error="<b>")


# ---------------------------------------------------------------- whole turn


def _full_turn() -> Turn:
    return make_turn(
        thinking("I should search."),
        server_tool(), web_results([{"type": "web_search_result", "title": "W",
                                     "url": "https://w.example/", "page_age": None}]),
        text("It is ", 3), text("sunny.", 4, [web_citation("https://w.example/", "W", "Sun")]),
        tool(input={"code": "x = `1`\n```\ny"}),
        RedactedThinkingBlock(index=6, type="redacted_thinking", done=True, data="d"),
        UnknownBlock(index=7, type="hologram", done=True, raw={"type": "hologram"}),
    )


def test_turn_html_contains_every_block_in_order(markdown: Any) -> None:
    out = turn_html(_full_turn(), demo=True)
    order = ["cnb-thinking", "cnb-server-tool", "cnb-web-results", "cnb-text",
             "cnb-sources", 'class="cnb-card cnb-tool"', "cnb-redacted", "cnb-unknown",
             "cnb-footer"]
    positions = [out.index(cls) for cls in order]
    assert positions == sorted(positions)
    assert out.startswith('<div class="cnb-turn">') and "cnb-demo" in out
    assert audit(out) == []


def test_turn_html_skips_empty_text_runs() -> None:
    out = turn_html(make_turn(text("", 0), server_tool(), text("  ", 2)), footer=False)
    assert "cnb-text" not in out


def test_standalone_turn_carries_no_style_the_page_styles_it() -> None:
    from claude_nb.frontends.view import LiveView
    from claude_nb.render import stylesheet

    out = turn_html(make_turn(), standalone=True)
    assert out.startswith('<div class="cnb-turn cnb-static">') and "<style" not in out
    assert stylesheet.static_css() in LiveView._css  # a live session's page styles it
    body = out.removeprefix('<div class="cnb-turn cnb-static">').removesuffix("</div>")
    assert ".cnb-footer{" in static_style(body)  # what a page embedding it carries


def test_static_style_carries_only_the_rules_an_output_uses() -> None:
    plain = static_style('<div class="cnb-text"><div class="cnb-md"><p>x</p></div></div>')
    calls = static_style(turn_html(make_turn(tool(input={"a": 1})), footer=False)
                         + tool_status_html("done"))
    whole = static_style()
    assert ".cnb-turn.cnb-static{" in plain and ".cnb-badge{" not in plain
    assert ".cnb-badge{" in calls and ".cnb-status-done{" in calls and ".cnb-error{" not in calls
    assert len(plain) < len(calls) < len(whole)


def test_one_stylesheet_for_live_and_saved_output() -> None:
    """The widget loads render/style.css as written; saved outputs embed the same rules,
    rescoped and minified: every card rule of the saved sheet comes from the live one."""
    from claude_nb.frontends.view import LiveView
    from claude_nb.render import stylesheet

    assert LiveView._css.startswith(stylesheet.live_css())
    for cls in ("cnb-card", "cnb-badge", "cnb-footer", "cnb-error", "cnb-cite", "cnb-sources"):
        assert f".cnb-root .{cls}" in stylesheet.live_css(), cls
        assert f".cnb-static .{cls}" in stylesheet.static_css(), cls
    view_css = (Path(stylesheet.__file__).parent.parent / "frontends/js/view.css").read_text()
    for cls in ("cnb-card", "cnb-badge", "cnb-footer", "cnb-status-done", "cnb-cite"):
        assert f".{cls} " not in view_css and f".{cls}," not in view_css, cls


def test_static_css_is_scoped_and_uses_theme_variables() -> None:
    css = static_style()[len("<style>"):-len("</style>")]
    selectors = re.findall(r"(?:^|})\s*([^{}]+)\{", re.sub(r"/\*.*?\*/", "", css, flags=re.S))
    assert selectors
    for group in selectors:
        for sel in group.split(","):
            assert sel.strip().startswith((".cnb-turn.cnb-static", ".cnb-static ")), sel
    assert "var(--jp-layout-color1," in css and "var(--jp-content-font-color1," in css


def test_turn_markdown_shape() -> None:
    md = turn_markdown(_full_turn())
    assert md.startswith("> **Thought for 4.2 s**\n>\n> I should search.")
    assert "It is sunny.\\[1\\]" in md
    assert "**Sources**\n\n1. [W](https://w.example/)\n   > Sun" in md
    assert "````json\n{\n  \"code\": \"x = `1`\\n```\\ny\"\n}\n````" in md
    assert "**Tool call: run\\_python**" in md
    assert "*Unknown block type: hologram*" in md
    assert md.rstrip().endswith("complete*")


def test_turn_markdown_keeps_code_verbatim_and_defangs_prose() -> None:
    src = ("Use `List<T>` & `a && b`.\n\n```cpp\nif (a < b && c) {}\n```\n\n"
           "Prose <b>x</b> & ![img](https://attacker.example/?q=1) "
           "[x](javascript:alert(1))\n\n    indented < code\n")
    md = turn_markdown(make_turn(text(src)), footer=False)
    assert "`List<T>` &amp; `a && b`" in md
    assert "```cpp\nif (a < b && c) {}\n```" in md
    assert "Prose &lt;b>x&lt;/b> &amp; !\u200b[img]" in md
    assert "[x](javascript\u200b:alert(1))" in md
    assert "    indented < code" in md


def test_turn_markdown_closes_an_unclosed_fence() -> None:
    md = turn_markdown(make_turn(text("```py\nx = 1", 0), tool(input={})), footer=False)
    assert "```py\nx = 1\n```" in md and md.index("```py") < md.index("Tool call")


def test_turn_markdown_error_and_stop() -> None:
    md = turn_markdown(make_turn(stop=None, ended=False), stopped=True,
                       error=RuntimeError("boom <x>"))
    assert "**RuntimeError:** boom &lt;x>" in md and "stopped by user" in md


def test_turn_plain() -> None:
    plain = turn_plain(_full_turn(), tools={"toolu_1": ToolView.from_result("out")})
    assert plain.startswith("[thought for 4.2 s]")
    assert "It is sunny.[1]\n\nSources:\n[1] W <https://w.example/>" in plain
    assert '[tool_use: run_python {"code": "x = `1`\\n```\\ny"}] (done)\nout' in plain
    assert "[redacted thinking]" in plain and "[unknown block type hologram]" in plain
    assert plain.endswith("complete")


def test_turn_from_stream_events(markdown: Any) -> None:
    """A web-search stream (shape of the reference transcript) through Turn.apply."""
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "claude-x",
                                              "content": [], "usage": {"input_tokens": 9}}},
        {"type": "content_block_start", "index": 0, "content_block": {
            "type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {
            "type": "input_json_delta", "partial_json": '{"query": "nyc"}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {
            "type": "web_search_tool_result", "tool_use_id": "srv_1", "content": [
                {"type": "web_search_result", "title": "NYC", "url": "https://n.example/",
                 "encrypted_content": "E", "page_age": "1 day"}]}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {
            "citations": [], "type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {
            "type": "citations_delta", "citation": web_citation("https://n.example/", "NYC",
                                                                "Sunny")}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta",
                                                              "text": "Sunny."}},
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 20, "server_tool_use": {"web_search_requests": 1}}},
        {"type": "message_stop"},
    ]
    t = Turn(requested_at=0.0)
    for i, event in enumerate(events):
        t.apply(event, now=0.1 * (i + 1))
    out = turn_html(t, standalone=True)
    assert "“nyc”" in out and "cnb-status-done" in out and "1 web search" in out
    assert 'href="https://n.example/"' in out and ">[1]</a></sup>" in out
    assert audit_static(out) == []


# ---------------------------------------------------------------- the XSS corpus

_PERMISSIVE = MarkdownIt("commonmark", {"html": True}).enable("table")
_PERMISSIVE.validateLink = lambda url: True  # a renderer that trusts every link


def _hostile_blocks(p: str) -> list[Block]:
    """Every non-text, non-thinking block with the payload in each model-derived field."""
    return [
        tool(p, {"code": p, p: [p]}, id="t1"),
        tool(p, input_json=p, id="t2"),
        ServerToolUseBlock(index=3, type="server_tool_use", done=True, id="s1",
                           name="web_search", input={"query": p}, input_json="{}"),
        ServerToolUseBlock(index=4, type="server_tool_use", done=True, id=p, name=p,
                           input={p: p}, input_json="{}"),
        web_results([{"type": "web_search_result", "title": p, "url": p, "page_age": p},
                     {"type": p, "title": p, "url": "https://ok.example/", "page_age": p}],
                    id="s1"),
        web_results({"type": "web_search_tool_result_error", "error_code": p}, id=p),
        ServerToolResultBlock(index=7, type=p + "_tool_result", done=True, tool_use_id=p,
                              content={p: p}),
        UnknownBlock(index=8, type=p, done=True, raw={"type": p, p: p}, deltas=[{p: p}]),
        RedactedThinkingBlock(index=9, type="redacted_thinking", done=True, data=p),
    ]


def _hostile_tools(p: str) -> dict[str, ToolView]:
    return {"t1": ToolView.from_result({"text/html": p, "text/plain": p, "image/png": p},
                                       elapsed=1.0),
            "t2": ToolView.from_result(p, is_error=True, status=p)}


def _hostile_turn(p: str, blocks: list[Block]) -> Turn:
    t = make_turn(*blocks, stop=p)
    t.model, t.stop_sequence = p, p
    return t


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_cards(payload: str) -> None:
    p = payload
    blocks = _hostile_blocks(p)
    out = turn_html(_hostile_turn(p, blocks), demo=True, standalone=True,
                    error={"title": p, "message": p, "request_id": p, "hint": p},
                    tools=_hostile_tools(p))
    assert audit_static(out, allow_data_img=True) == []
    assert "<img" not in out or "data:image/png" in out
    for block in blocks:
        assert audit(block_html(block)) == []
        assert audit(block_html(block, live=True)) == []
    for content in (p, {p: p}, {"text/html": p}, {"text/plain": p, "image/jpeg": p},
                    {"application/json": {p: p}, "text/plain": p}):
        assert audit(tool_result_html(content, True)) == []
    assert audit(error_html(p, p, p, p)) == []
    assert audit(tool_status_html(p, 1.0)) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_text_thinking_and_citations(payload: str, markdown: Any) -> None:
    p = payload
    cite = web_citation(p, p, p)
    doc = {"type": "char_location", "cited_text": p, "document_title": p, "document_index": 0}
    turn = _hostile_turn(p, [thinking(p), thinking(p, signature=""), text(p, 1, [cite, doc]),
                             text(p, 2), text(p, 3, [web_citation("https://ok.example/", p, p)])])
    out = turn_html(turn, standalone=True)
    assert audit_static(out) == []
    assert "<img" not in out  # no image of any kind from model text (no exfiltration)
    for block in turn.blocks:
        assert audit(block_html(block)) == []
    assert audit(tool_result_html({"text/markdown": p})) == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_markdown_output(payload: str) -> None:
    """text/markdown is rendered unsanitised by some front ends: render it permissively."""
    p = payload
    blocks: list[Block] = [thinking(p), text(p, 1, [web_citation(p, p, p)]), text(p, 2),
                           *_hostile_blocks(p)]
    md = turn_markdown(_hostile_turn(p, blocks), demo=True, tools=_hostile_tools(p),
                       error={"title": p, "message": p, "request_id": p})
    rendered = _PERMISSIVE.render(md)
    assert audit(rendered) == []
    assert "<img" not in rendered


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_plain_output_is_verbatim_text(payload: str) -> None:
    plain = turn_plain(_hostile_turn(payload, [text(payload)]), footer=False)
    assert payload in plain  # text/plain is never interpreted: no need to alter it


# ---------------------------------------------------------------- session-facing adapters


def test_kind_of_every_block() -> None:
    assert [kind_of(b) for b in _full_turn().blocks] == [
        "thinking", "server_tool_use", "server_tool_result", "text", "text", "tool_use",
        "redacted_thinking", "unknown"]


def test_live_block_html_is_the_live_skeleton() -> None:
    b = tool(input_json='{"a"', done=False)
    assert live_block_html(b) == block_html(b, live=True)


def test_tool_card_html_from_an_outcome() -> None:
    outcome = SimpleNamespace(content="raw", is_error=False, display={"text/plain": "<shown>"},
                              elapsed=2.5)
    out = tool_card_html(tool(input={"x": 1}), "done", outcome)
    assert "&lt;shown&gt;" in out and "raw" not in out and "2.5 s" in out
    out = tool_card_html(tool(input={}), "error",
                         SimpleNamespace(content="boom", is_error=True, display=None, elapsed=0))
    assert "cnb-result-error" in out and "boom" in out and 'data-status="error"' in out
    running = tool_card_html(tool(input={}), "running", started_at=time.monotonic())
    assert "data-running" in running and "cnb-tool-result\"></div>" in running


def test_approval_buttons_carry_an_escaped_id() -> None:
    out = tool_card_html(tool(input={}, id='t"><script>'), "awaiting_approval")
    assert '<div class="cnb-actions"><button type="button" class="cnb-btn cnb-primary" ' \
           'data-cnb-action="approve" data-cnb-id="t&quot;&gt;&lt;script&gt;">Run</button>' in out
    assert 'data-cnb-action="deny"' in out and " open>" in out and "<script>" not in out


def test_error_card_retry_and_unknown_event() -> None:
    from claude_nb.protocol.errors import APIError

    err = APIError("Overloaded <x>", status=529, request_id="req_1")
    card = error_card(err)
    assert "API overloaded (529)" in card and "Overloaded &lt;x&gt;" in card
    assert "req_1" in card and "cnb-error-hint" in card
    notice = retry_html(err, 2, 3, 4.0)
    assert notice.startswith('<div class="cnb-notice" role="status">Retrying in <span')
    assert 'data-until="' in notice and ">4.0 s</span> (attempt 2" in notice
    assert "&lt;x&gt;" in notice
    unknown = unknown_event_html("future<event>", {"type": "future<event>", "x": 1})
    assert "Unknown event" in unknown and "future&lt;event&gt;" in unknown


def _fake_reply(**kw: Any) -> Any:
    base = {"turns": [_full_turn()], "tool_outcomes": {}, "status": "done",
            "stop_reason_user": None, "error": None, "prompt": "What's the weather? <b>"}
    return SimpleNamespace(**{**base, **kw})


def test_reply_html_markdown_plain(markdown: Any) -> None:
    from claude_nb.protocol.tooltypes import ToolOutcome

    outcome = ToolOutcome(content="42", is_error=False, display=None, elapsed=0.1)
    loop = _fake_reply(turns=[make_turn(tool(input={}), stop="tool_use"),
                              make_turn(text("It is 42."))],
                       tool_outcomes={"toolu_1": outcome})
    out = reply_html(loop, demo=True, standalone=True)
    assert out.count('class="cnb-footer"') == 1 and "2 turns" in out and "cnb-demo" in out
    assert '<pre class="cnb-output">42</pre>' in out and "It is 42." in out
    assert audit_static(out) == []
    assert "2 turns" in reply_footer_html(loop)
    assert "Result:\n\n```\n42\n```" in reply_markdown(loop)
    assert "(done)\n42" in reply_plain(loop)


def test_reply_stopped_interrupted_and_failed(markdown: Any) -> None:
    from claude_nb.protocol.errors import ConnectionLost

    stopped = _fake_reply(status="stopped", stop_reason_user="user")
    assert "stopped by user" in reply_html(stopped)
    assert "interrupted" in reply_footer_html(_fake_reply(status="stopped",
                                                          stop_reason_user="interrupt"))
    failed = _fake_reply(status="failed", error=ConnectionLost("dropped", hint="retry"))
    out = reply_html(failed)
    assert "Connection lost" in out and "ended by error" in out
    assert "**Connection lost:** dropped" in reply_markdown(failed)


def test_real_reply_and_conversation_objects() -> None:
    from claude_nb.run.session import Conversation

    conversation = Conversation()
    reply = conversation.send("Hello <b>there</b>")
    assert reply_html(reply).startswith('<div class="cnb-turn">')
    history = history_html(conversation)
    assert history.startswith('<div class="cnb-turn cnb-static">') and "<style" not in history
    assert '<div class="cnb-user">Hello &lt;b&gt;there&lt;/b&gt;</div>' in history
    assert history_plain(conversation).startswith("> Hello <b>there</b>")


def test_wrap_static() -> None:
    assert wrap_static("<p>x</p>") == '<div class="cnb-turn cnb-static"><p>x</p></div>'
