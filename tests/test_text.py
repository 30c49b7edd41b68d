"""Unicode text arrives intact, however the stream splits it: CJK (Traditional Chinese too),
emoji ZWJ sequences, flags and skin tones, RTL (Arabic, Hebrew), combining characters and
other multi-code-point clusters, cut into 1-3 character deltas (the loopback server splits by
Python `str` characters, i.e. code points, so clusters are cut between their code points),
at random points, and across TCP chunks in the middle of a UTF-8 sequence. The Python API
(`reply.text`, history), the chat view and `%%claude`'s static HTML all carry the exact string.
"""

from __future__ import annotations

import asyncio
import random
import time
import unicodedata
from typing import Any

import pytest

from claude_nb.frontends.chat import Chat
from claude_nb.frontends.display import static_bundle
from claude_nb.loopback import LoopbackServer, Pause, RawBlock, Stream, Turn, text_turn
from claude_nb.protocol.sse import parse_frame
from claude_nb.run.session import Conversation
from claude_nb.protocol.changes import BlockDelta

# One paragraph per line (no Markdown syntax), so each line must appear verbatim in the HTML.
LINES = [
    "繁體中文：這是一個測試，包含「引號」與全形標點。臺灣、香港。",
    "简体中文和日本語のテキスト、한국어 텍스트도 있습니다。",
    "Family 👩‍👩‍👧‍👦, coder 👨🏽‍💻, rainbow flag 🏳️‍🌈, heart on fire ❤️‍🔥, keycap 1️⃣.",
    "Flags 🇹🇼 🇯🇵 🇮🇱 🇸🇦 and a thumbs up 👍🏿 with a skin tone.",
    "العربية: مرحبا بالعالم، هذا نص من اليمين إلى اليسار.",
    "עברית: שלום עולם, זה טקסט מימין לשמאל עם English בפנים.",
    "Combining: cafe\u0301 vs café, n\u0303, a\u0308\u0301, "
    "Z\u0324\u0354\u0367\u0311\u0313a\u0308.",
    "Devanagari नमस्ते दुनिया, Thai สวัสดีชาวโลก, Tamil வணக்கம்.",
]
TEXT = "\n\n".join(LINES)


def pieces_at_random(text: str, seed: int) -> list[str]:
    """Cut `text` at random code-point positions into 1-5 character pieces."""
    rng, out, i = random.Random(seed), [], 0
    while i < len(text):
        n = rng.randint(1, 5)
        out.append(text[i:i + n])
        i += n
    return out


def turn_of(pieces: list[str]) -> Turn:
    """A text turn streamed exactly as these deltas."""
    return Turn([RawBlock({"type": "text", "text": ""},
                          [{"type": "text_delta", "text": p} for p in pieces])])


def split_mid_utf8(stream: Stream) -> Stream:
    """Each frame holding non-ASCII text is written as two TCP chunks, cut inside a multi-byte
    UTF-8 sequence, with a short pause between so the client reads them separately."""
    steps: list[Any] = []
    for step in stream.steps:
        if isinstance(step, bytes):
            cut = next((i for i in range(1, len(step)) if 0x80 <= step[i] < 0xC0), None)
            if cut is not None:
                steps += [step[:cut], Pause(0.002), step[cut:]]
                continue
        steps.append(step)
    return Stream(tuple(steps), stream.delay)


SPLITS: dict[str, Any] = {
    "chunk1": lambda: text_turn(TEXT, chunk=1),
    "chunk2": lambda: text_turn(TEXT, chunk=2),
    "chunk3": lambda: text_turn(TEXT, chunk=3),
    "random": lambda: turn_of(pieces_at_random(TEXT, 7)),
    "mid_utf8": lambda: split_mid_utf8(text_turn(TEXT, chunk=4).stream()),
}


def test_the_deltas_really_cut_clusters() -> None:
    """Sanity: 1-char deltas cut ZWJ sequences and combining marks between code points,
    and the byte split cuts inside UTF-8 sequences."""
    deltas = [parse_frame(f)[1]["delta"]["text"] for f in text_turn(TEXT, chunk=1).stream().frames
              if b"text_delta" in f]
    assert "\u200d" in deltas and "\u0301" in deltas and "\U0001F3FD" in deltas
    assert any(unicodedata.combining(d) for d in deltas)
    split = split_mid_utf8(text_turn(TEXT, chunk=4).stream())
    halves = [s for s in split.steps if isinstance(s, bytes)]
    broken = [h for h in halves if not _decodes(h)]
    assert broken, "some chunk ends inside a UTF-8 sequence"


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("split", list(SPLITS))
def test_python_api_keeps_every_code_point(api: LoopbackServer, split: str) -> None:
    api.enqueue(SPLITS[split]())
    conv = Conversation()
    got: list[str] = []
    reply = conv.send("Say it in many scripts: 你好 👋🏽 שלום")
    reply.subscribe(lambda e: got.append(e.text) if isinstance(e, BlockDelta) else None)
    reply.wait()
    assert reply.status == "done" and reply.error is None
    assert reply.text == TEXT and "".join(got) == TEXT
    assert conv.messages[-1]["content"] == [{"type": "text", "text": TEXT}]
    bundle = static_bundle(reply)
    for line in LINES:
        assert line in bundle["text/html"], line
        assert line in bundle["text/plain"], line
    api.enqueue(text_turn("好的 👍"))
    assert conv.send("再一次").wait().text == "好的 👍"
    body = api.requests[-1].body
    assert api.requests[-1].error is None
    assert body["messages"][1]["content"][0]["text"] == TEXT  # sent back byte for byte
    assert body["messages"][2]["content"][0]["text"] == "再一次"


def test_chat_view_shows_the_exact_text(api: LoopbackServer) -> None:
    async def main() -> None:
        chat = Chat()
        for split in ("chunk1", "random", "mid_utf8"):
            api.enqueue(SPLITS[split]())
            before = chat.reply
            chat.view.receive({"type": "send", "text": f"{split}: 繁體 👩‍👩‍👧‍👦 عربي"})
            deadline = time.monotonic() + 20
            while chat.reply is before or chat.reply.status in ("pending", "running"):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            assert chat.reply.text == TEXT
            blocks = chat.view.snapshot()["blocks"]
            shown = "".join(b["html"] + (b["md"]["committed"] + b["md"]["tail"] if b["md"] else "")
                            for b in blocks if b["id"].startswith(f"r{chat._count}."))
            for line in LINES:
                assert line in shown, (split, line)
            assert f"{split}: 繁體 👩‍👩‍👧‍👦 عربي" in shown  # the user's prompt too
        assert api.requests[-1].error is None
        chat.close()
        await asyncio.sleep(0.05)  # let it release its HTTP client

    asyncio.run(main())


def test_magic_static_html_has_the_exact_text(api: LoopbackServer) -> None:
    from kernel_support import kernel, run

    with kernel() as (_km, kc):
        assert run(kc, "%load_ext claude_nb").error is None
        for split in SPLITS:
            api.enqueue(SPLITS[split]())
            ex = run(kc, f"%%claude -o r\n{split}: 請用多種文字回答 👩‍👩‍👧‍👦", timeout=60)
            assert ex.error is None, (split, ex.error)
            final = next(iter(ex.displays.values()))
            for line in LINES:
                assert line in final["text/html"], (split, line)
                assert line in final["text/plain"], (split, line)
            same = run(kc, f"print(r.text == {TEXT!r})").stream.strip()
            assert same == "True", split
            sent = api.requests[-1].body["messages"][-1]["content"][-1]["text"]
            assert sent == f"{split}: 請用多種文字回答 👩‍👩‍👧‍👦"
        assert [r.error for r in api.requests if r.error] == []
