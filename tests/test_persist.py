"""Provenance records, conversation files and notebook records against the loopback server:
records carry what resumes a conversation (byte-identical history, thinking signatures
included) and never a secret; a restored conversation's next request is accepted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from claude_nb.loopback import text_turn, transcript
from claude_nb.persist import files, provenance
from claude_nb.persist.notebook import NotebookNotFound, find_notebook, read_records, records_in
from claude_nb.persist.restore import RestoreError, restore
from claude_nb.run.session import Conversation

SECRET = "sk-test-SECRET-0123456789"  # the `api` fixture's key
KEY_SHAPED = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"  # someone else's key pasted in a prompt


def get_weather(location: str, unit: str = "celsius") -> str:
    """Weather for a place."""
    return f"sunny in {location}; token {KEY_SHAPED}"


def valid(server: Any) -> None:
    assert [r.error for r in server.requests if r.error] == []


def three_turns(api: Any) -> Conversation:
    """A thinking turn, a tool-loop turn, a plain turn, each answered by the loopback."""
    api.enqueue(transcript("thinking"), transcript("tool_use"), text_turn("It is sunny."),
                text_turn("You are welcome.", model="claude-sonnet-4-6"))
    conv = Conversation(thinking=2048, tools=[get_weather])
    conv.send("what is 27*453?").wait()
    conv.send("weather in San Francisco?").wait()
    conv.send(f"thanks; my key is {KEY_SHAPED}").wait()
    return conv


def test_record_holds_model_options_ids_usage_times_versions_and_messages(api: Any) -> None:
    conv = three_turns(api)
    think, tool, plain = (provenance.record(r, SECRET) for r in conv.replies)
    assert think["version"] == provenance.VERSION and think["claude_nb"] and think["anthropic"]
    assert think["model"] == "claude-opus-4-7"  # the model that answered (the transcript's)
    assert think["request"]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert think["request"]["tools"] == ["get_weather"]  # by name, not the schema
    assert think["status"] == "done" and think["stop_reason"] == "end_turn"
    assert think["requests"][0]["request_id"].startswith("req_")
    assert think["requests"][0]["message_id"].startswith("msg_")
    assert think["usage"]["output_tokens"] > 0
    assert think["cost_usd"] is None  # claude-opus-4-7 has no list price in the table yet
    assert plain["model"] == "claude-sonnet-4-6" and plain["cost_usd"] > 0
    assert plain["cost_usd"] == plain["requests"][0]["cost_usd"]
    assert think["started_at"] <= think["finished_at"] and think["started_at"].endswith("+00:00")
    assistant = think["messages"][1]["content"]
    assert assistant[0]["type"] == "thinking" and assistant[0]["signature"]
    assert [m["role"] for m in tool["messages"]] == ["user", "assistant", "user", "assistant"]
    assert len(tool["requests"]) == 2 and tool["requests"][0]["stop_reason"] == "tool_use"
    assert tool["history_start"] == 2 and plain["history_start"] == 6
    # together the records are exactly the conversation's history (secrets redacted)
    assert think["messages"] + tool["messages"] + plain["messages"] == provenance.scrub(
        conv.messages)
    assert json.loads(json.dumps(think)) == think  # JSON-safe


def test_records_hold_no_secret_from_prompts_tool_results_or_the_key(api: Any) -> None:
    conv = three_turns(api)
    text = json.dumps([provenance.record(r, SECRET) for r in conv.replies], ensure_ascii=False)
    assert KEY_SHAPED not in text and "AbCdEfGhIjKlMnOpQrStUv" not in text
    assert "SECRET-0123456789" not in text
    assert "sk-ant-…" in text  # the prompt and the tool result were kept, redacted
    signature = conv.messages[1]["content"][0]["signature"]
    assert signature in text  # opaque, signed fields pass untouched


def test_a_key_in_use_is_blanked_wherever_it_appears(api: Any) -> None:
    api.enqueue(text_turn(f"echo {SECRET}"))
    conv = Conversation()
    conv.send(f"remember {SECRET}").wait()
    text = json.dumps(provenance.record(conv.replies[0], SECRET))
    assert "SECRET-0123456789" not in text and "[API key]" in text


def test_thinking_that_quoted_a_key_is_left_out_not_resent_with_a_broken_signature(
        api: Any) -> None:
    from claude_nb.loopback import Text, Thinking, Turn as ScriptTurn

    api.enqueue(ScriptTurn(blocks=[Thinking(f"the user pasted {KEY_SHAPED}; ignore it"),
                                   Text("Please don't paste keys.")]),
                text_turn("ok"))
    conv = Conversation(thinking=2048)
    conv.send("hi").wait()
    rec = provenance.record(conv.replies[0])
    assert [b["type"] for b in rec["messages"][1]["content"]] == ["text"]
    assert KEY_SHAPED not in json.dumps(rec)
    again = Conversation(thinking=2048)
    restore(again, [rec])
    again.send("and now?").wait()
    valid(api)


def test_a_turn_stopped_in_its_tool_loop_resumes_with_the_owed_result(api: Any) -> None:
    """Stop while a tool runs: the record holds the tool call and owes its "stopped" result,
    which the resumed conversation sends with its next prompt."""
    holder: dict[str, Any] = {}

    def get_weather(location: str, unit: str = "celsius") -> str:
        """Weather for a place."""
        holder["reply"].stop("user")
        time.sleep(0.5)
        return "never seen"

    api.enqueue(transcript("tool_use"), text_turn("Resumed fine."))
    conv = Conversation(tools=[get_weather])
    holder["reply"] = conv.send("weather?")
    holder["reply"].wait()
    assert holder["reply"].status == "stopped"
    rec = provenance.record(holder["reply"])
    assert rec["status"] == "stopped" and rec["stop_reason"] == "stopped"
    assert [m["role"] for m in rec["messages"]] == ["user", "assistant"]
    assert rec["carry"][0]["type"] == "tool_result" and rec["carry"][0]["is_error"]
    again = Conversation(tools=[get_weather])
    restore(again, [rec])
    assert again.replies[0].status == "stopped"
    again.send("never mind").wait()
    sent = api.requests[-1].body["messages"]
    assert [b["type"] for b in sent[-1]["content"]] == ["tool_result", "text"]
    valid(api)


def test_save_load_then_the_next_request_carries_the_whole_history(api: Any,
                                                                    tmp_path: Path) -> None:
    conv = three_turns(api)
    before = provenance.scrub(conv.messages)
    path = conv.save(tmp_path / "chat.json")
    assert "SECRET-0123456789" not in path.read_text()
    loaded = Conversation.load(path, tools=[get_weather])
    assert len(loaded.replies) == 3 and loaded.options.thinking == 2048
    assert [r.text for r in loaded.replies] == [r.text for r in conv.replies]
    # thinking with its signature comes back byte for byte
    assert loaded.messages[1] == before[1]
    api.enqueue(text_turn("Still here."))
    reply = loaded.send("one more").wait()
    assert reply.status == "done"
    sent = api.requests[-1].body["messages"]
    assert len(sent) == len(before) + 1 and sent[1] == before[1] and sent[2:6] == before[2:6]
    valid(api)


def test_restored_replies_show_their_turns_and_tool_results(api: Any) -> None:
    from claude_nb.render.static import history_html

    conv = three_turns(api)
    again = Conversation()
    assert restore(again, [provenance.record(r) for r in conv.replies]) == 3
    tool_reply = again.replies[1]
    assert tool_reply.prompt == "weather in San Francisco?"
    assert [t.stop_reason for t in tool_reply.turns] == ["tool_use", "end_turn"]
    html = history_html(again)
    assert "27 * 453" in html and "get_weather" in html and "sunny in San Francisco" in html


def test_unusable_records_and_files_say_why(tmp_path: Path) -> None:
    with pytest.raises(RestoreError, match="newer"):
        restore(Conversation(), [{"version": 99, "messages": []}])
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(RestoreError, match="not a claude_nb conversation"):
        files.load(other)


def _cell(source: str, *records: dict[str, Any], cell_id: str = "") -> dict[str, Any]:
    outputs = [{"output_type": "display_data", "data": {"text/plain": "x"},
                "metadata": {provenance.KEY: r}} for r in records]
    return {"cell_type": "code", "id": cell_id or source[:8], "source": source,
            "outputs": outputs, "metadata": {}, "execution_count": 1}


def test_notebook_records_in_cell_order_up_to_the_current_cell_and_from_new() -> None:
    a, b, c, d = ({"version": 1, "messages": [{"role": "user", "content": n}]}
                  for n in "abcd")
    nb = {"cells": [_cell("%%claude\nfirst", a), {"cell_type": "markdown", "source": "hi"},
                    _cell("%%claude --new -t 2048\nsecond", b),
                    _cell("x = 1"), _cell("%%claude\nthird", c, cell_id="cell-3"),
                    _cell("%claude --resume", cell_id="here"), _cell("%%claude\nlater", d)]}
    assert records_in(nb, cell_id="here") == ([b, c], True)
    assert records_in(nb, source="%claude --resume") == ([b, c], True)
    assert records_in(nb) == ([b, c, d], False)  # another notebook: all of it
    chat = {"cell_type": "code", "source": "Chat()", "outputs": [
        {"output_type": "execute_result", "metadata": {provenance.KEY: {"turns": [a]}}}]}
    nb["cells"].insert(1, chat)  # a Chat is a conversation of its own: not the magic's
    assert records_in(nb, cell_id="cell-3") == ([b], True)


def test_reading_a_notebook_file_and_finding_none(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [_cell("%%claude\nq", {"version": 1, "messages": []})],
                                "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    assert len(read_records(path)[0]) == 1
    with pytest.raises(NotebookNotFound, match="No notebook at"):
        read_records(tmp_path / "missing.ipynb")
    assert find_notebook({"__vsc_ipynb_file__": str(path)}) == path
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    assert find_notebook({}) == path
    monkeypatch.delenv("JPY_SESSION_NAME")
    with pytest.raises(NotebookNotFound, match=r"--resume path/to/notebook\.ipynb"):
        find_notebook({})


def test_chat_shows_a_loaded_conversation_records_it_and_exports_it(api: Any,
                                                                    tmp_path: Path) -> None:
    from claude_nb.frontends.chat import Chat

    path = three_turns(api).save(tmp_path / "chat.json")
    chat = Chat(conversation=Conversation.load(path, tools=[get_weather]))
    try:
        shown = json.dumps(chat.view.snapshot(), ensure_ascii=False)
        assert "what is 27*453?" in shown and "27 * 453 = 12,231" in shown
        assert "get_weather" in shown and "You are welcome." in shown
        data, metadata = chat._repr_mimebundle_()
        turns = metadata[provenance.KEY]["turns"]
        assert len(turns) == 3 and turns[0]["messages"][1]["content"][0]["signature"]
        assert "27 * 453 = 12,231" in data["text/html"]

        page = chat.export(tmp_path / "c.html").read_text()
        assert page.startswith("<!DOCTYPE html>") and "<script" not in page
        assert "<style>" in page.split("</head>")[0]  # self-contained: styles in the head
        assert "Thinking" in page and "sunny in San Francisco" in page
        body = json.loads(chat.export(tmp_path / "c.json").read_text())
        assert body["model"] == "claude-sonnet-4-6" and len(body["messages"]) == 8
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["tools"][0]["name"] == "get_weather" and "input_schema" in body["tools"][0]
        markdown = chat.export(tmp_path / "c.md").read_text()
        assert "**You:**" in markdown and "It is sunny." in markdown
        for text in (page, json.dumps(body), markdown):
            assert KEY_SHAPED not in text and "SECRET-0123456789" not in text
        with pytest.raises(Exception, match=r"\.md \(Markdown\)"):
            chat.export(tmp_path / "c.txt")
    finally:
        chat.close()


def test_only_the_signed_field_of_its_own_block_type_is_kept_verbatim() -> None:
    opaque = "EqQBCkgIARABGAIiQH" + "sk-ant-lookalike-inside-ciphertext"
    kept = provenance.scrub([{"type": "thinking", "thinking": KEY_SHAPED, "signature": opaque},
                             {"type": "redacted_thinking", "data": opaque},
                             {"type": "compaction", "encrypted_content": opaque}])
    assert [kept[0]["signature"], kept[1]["data"], kept[2]["encrypted_content"]] == [opaque] * 3
    assert KEY_SHAPED not in kept[0]["thinking"]
    leaked = provenance.scrub({"type": "tool_result", "data": KEY_SHAPED,
                               "signature": KEY_SHAPED})
    assert KEY_SHAPED not in json.dumps(leaked)
