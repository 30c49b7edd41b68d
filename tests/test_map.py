"""`claude_nb.map` against the loopback server: the real SDK over real HTTP, parallel and batch."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pydantic
import pytest

import claude_nb
from claude_nb.bulk.batches import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS, split
from claude_nb.bulk.parallel import rate_limit_wait
from claude_nb.bulk.requests import ItemRequest
from claude_nb.loopback import echo_reply, http_error, text_turn
from claude_nb.loopback.load import rate_limit_storm, slow
from claude_nb.protocol.errors import ConfigError


def said(request: Any) -> str:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, str) else content[0]["text"]


def messages_sent(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path == "/v1/messages"]


def batch_creates(server: Any) -> list[Any]:
    return [r for r in server.requests if r.path == "/v1/messages/batches"]


def shuffled_latency(request: Any) -> Any:
    """Answers after a random short delay, so they finish out of order."""
    import time

    time.sleep(random.random() * 0.02)
    return text_turn(f"answer to <{said(request)}>", model=request["model"])


# ---- parallel mode


def test_parallel_results_come_back_in_input_order(api: Any, tmp_path: Path) -> None:
    api.auto_reply = shuffled_latency
    items = [f"item {i}" for i in range(60)]
    result = claude_nb.map("Echo {x}", items, concurrency=8, cache=tmp_path / "s.jsonl",
                           progress=False)
    assert result.status == "done"
    assert [r.text for r in result] == [f"answer to <Echo item {i}>" for i in range(60)]
    assert all(r.ok and r.usage["output_tokens"] > 0 and r.cost is not None for r in result)
    assert len(messages_sent(api)) == 60
    assert [r.error for r in api.requests if r.error] == []


def test_a_429_storm_slows_the_run_and_loses_nothing(api: Any, tmp_path: Path) -> None:
    api.auto_reply = slow(lambda r: text_turn(f"ok {said(r)}"), 0.005)
    api.enqueue(*rate_limit_storm(40, retry_after=0.02))
    result = claude_nb.map("n{x}", list(range(50)), concurrency=16, cache=tmp_path / "s.jsonl",
                           progress=False)
    assert [r.text for r in result] == [f"ok n{i}" for i in range(50)]
    statuses = [r.status for r in messages_sent(api)]
    assert statuses.count(429) == 40 and statuses.count(200) == 50


def test_a_failing_item_is_recorded_and_the_run_goes_on(api: Any, tmp_path: Path) -> None:
    def reply(request: Any) -> Any:
        if "poison" in said(request):
            return http_error(400, "invalid_request_error", "this item is not acceptable")
        return echo_reply(request)
    api.auto_reply = reply
    result = claude_nb.map("{x}", ["a", "poison", "c"], cache=tmp_path / "s.jsonl",
                           progress=False)
    assert [r.status for r in result] == ["done", "failed", "done"]
    assert "this item is not acceptable" in (result[1].error or "")
    assert result.status == "done" and len(result.errors) == 1


def test_a_bad_key_ends_the_run_with_one_message(api: Any, tmp_path: Path) -> None:
    api.auto_reply = lambda r: http_error(401, "authentication_error", "invalid x-api-key")
    result = claude_nb.map("{x}", list(range(40)), concurrency=4, cache=tmp_path / "s.jsonl",
                           progress=False)
    assert all(r.status == "failed" for r in result)
    assert len(messages_sent(api)) < 40  # it stopped sending after the first answers
    assert "sk-test-SECRET" not in json.dumps([r.error for r in result])


def test_rerun_sends_only_missing_and_duplicates_once(api: Any, tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    first = claude_nb.map("Q {x}", [1, 2, 3, 3], cache=state, progress=False)
    assert len(messages_sent(api)) == 3 and first[2].text == first[3].text
    assert first.cost == pytest.approx(sum(r.cost for r in first[:3]))  # paid once for 3
    again = claude_nb.map("Q {x}", [1, 2, 3, 4, 5], cache=state, progress=False)
    assert len(messages_sent(api)) == 5  # only 4 and 5 were sent
    assert [r.text for r in again][:3] == [r.text for r in first][:3]
    assert again.job.tally.reused == 3
    edited = claude_nb.map("Q: {x}", [1], cache=state, progress=False)  # an edited prompt
    assert len(messages_sent(api)) == 6 and "Q: 1" in edited[0].text
    text = state.read_text()
    assert "sk-test-SECRET" not in text


def test_dataframe_columns_and_pandas_alignment(api: Any, tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["Ada", "Alan"], "field": ["maths", "logic"]},
                         index=pd.Index(["r1", "r2"], name="row"))
    result = claude_nb.map('Tell {name} about {field}; reply as {"k": 1}', frame,
                           cache=tmp_path / "s.jsonl", progress=False)
    assert result[0].prompt == 'Tell Ada about maths; reply as {"k": 1}'
    table = result.to_pandas()
    assert list(table.index) == ["r1", "r2"] and table.index.name == "row"
    assert table.loc["r2", "text"] == result[1].text and table.loc["r2", "status"] == "done"
    series = claude_nb.map(lambda v: f"about {v}", frame["name"], cache=tmp_path / "s.jsonl",
                           progress=False)
    assert series[1].prompt == "about Alan" and list(series.to_pandas().index) == ["r1", "r2"]
    with pytest.raises(ConfigError, match="age"):
        claude_nb.map("{name} is {age}", frame, cache=False, progress=False)


class Person(pydantic.BaseModel):
    name: str
    age: int


def test_schema_gives_validated_objects_and_invalid_items_keep_their_text(
        api: Any, tmp_path: Path) -> None:
    answers = {"a": '{"name": "Ada", "age": 36}', "b": '{"name": "Bob"}', "c": "not JSON at all"}
    api.auto_reply = lambda r: text_turn(answers[said(r)[-1]])
    result = claude_nb.map("Person {x}", ["a", "b", "c"], schema=Person,
                           cache=tmp_path / "s.jsonl", progress=False)
    assert result[0].data == Person(name="Ada", age=36) and result[0].ok
    assert result[1].data is None and "Person" in (result[1].error or "")
    assert result[1].text == '{"name": "Bob"}'
    assert result[2].text == "not JSON at all" and "not valid JSON" in (result[2].error or "")
    sent = messages_sent(api)[0].body
    assert sent["output_config"]["format"]["schema"]["required"] == ["name", "age"]


def test_the_shared_prefix_is_cached(api: Any, tmp_path: Path) -> None:
    system = "You label support tickets. " * 400  # well above the minimum cacheable length
    result = claude_nb.map("Ticket {x}", ["a", "b", "c"], system=system, concurrency=1,
                           cache=tmp_path / "s.jsonl", progress=False)
    assert result[0].usage["cache_creation_input_tokens"] > 0
    assert result[1].usage["cache_read_input_tokens"] > 0
    assert result[2].usage["cache_read_input_tokens"] > 0


def test_awaited_inside_a_coroutine(api: Any, tmp_path: Path) -> None:
    async def main() -> Any:
        pending = claude_nb.map("{x}", ["one", "two"], cache=tmp_path / "s.jsonl",
                                progress=False)
        assert pending.status == "pending"
        return await pending

    result = asyncio.run(main())
    assert result.status == "done" and "one" in result[0].text


def test_stop_keeps_the_answers_and_the_rerun_sends_the_rest(api: Any, tmp_path: Path) -> None:
    api.auto_reply = slow(echo_reply, 0.05)
    state = tmp_path / "s.jsonl"

    async def main() -> Any:
        pending = claude_nb.map("{x}", list(range(40)), concurrency=2, cache=state,
                                progress=False)
        task = asyncio.ensure_future(pending)
        while pending.job.tally.done < 4:
            await asyncio.sleep(0.01)
        pending.stop()
        return await task

    stopped = asyncio.run(main())
    done = [r for r in stopped if r.status == "done"]
    assert stopped.status == "stopped" and 4 <= len(done) < 40
    assert {r.status for r in stopped} <= {"done", "stopped"}
    sent_before = len(messages_sent(api))
    api.wait_for(lambda: all(r.status for r in messages_sent(api)), timeout=10)
    rest = claude_nb.map("{x}", list(range(40)), cache=state, progress=False)
    assert rest.status == "done" and all(r.ok for r in rest)
    assert len(messages_sent(api)) - sent_before == 40 - len(done)


def test_ratelimit_headers_hold_every_request_until_reset() -> None:
    headers = {"anthropic-ratelimit-requests-remaining": "0",
               "anthropic-ratelimit-requests-reset": "2026-12-03T12:00:10Z",
               "anthropic-ratelimit-tokens-remaining": "5000",
               "anthropic-ratelimit-tokens-reset": "2026-12-03T12:00:30Z"}
    now = pd.Timestamp("2026-12-03T12:00:00Z").timestamp()
    assert rate_limit_wait(headers, now) == (10.0, "requests")
    assert rate_limit_wait({**headers, "anthropic-ratelimit-requests-remaining": "3"}, now) == \
        (0.0, "")


# ---- batch mode


def test_batch_of_2500_is_split_submitted_polled_and_decoded(api: Any, tmp_path: Path) -> None:
    api.batches.delay = 0.3
    items = [f"row {i}" for i in range(2500)]
    result = claude_nb.map("Classify {x}", items, batch=True, cache=tmp_path / "s.jsonl",
                           batch_limits=(1000, MAX_BATCH_BYTES), progress=False)
    assert result.status == "done" and len(result.batch_ids) == 3
    sizes = [len(b.results) for b in api.batches.created]
    assert sizes == [1000, 1000, 500]
    assert all("Classify row" in r.text for r in result)
    assert [r.prompt for r in result] == [f"Classify {x}" for x in items]
    assert all(f"Classify row {i}" in result[i].text for i in (0, 999, 1000, 2499))
    assert messages_sent(api) == []  # nothing went through the Messages endpoint
    assert result[0].cost is not None and result[0].cost > 0


def test_batch_failures_are_marked_and_the_rerun_sends_only_them(api: Any,
                                                                 tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    fates = {"x1": "expired", "x2": "errored", "x3": "canceled"}
    prompts = {}

    def outcome(custom_id: str, params: Any) -> str | None:
        prompts[custom_id] = said(params)
        return fates.get(said(params))
    api.batches.outcome = outcome
    first = claude_nb.map("{x}", ["x0", "x1", "x2", "x3", "x4"], batch=True, cache=state,
                          progress=False)
    assert [r.status for r in first] == ["done", "expired", "failed", "canceled", "done"]
    api.batches.outcome = None
    again = claude_nb.map("{x}", ["x0", "x1", "x2", "x3", "x4"], batch=True, cache=state,
                          progress=False)
    assert all(r.ok for r in again)
    assert [len(b.results) for b in api.batches.created] == [5, 3]


def test_stopped_while_waiting_the_batch_is_picked_up_not_resubmitted(api: Any,
                                                                      tmp_path: Path) -> None:
    state = tmp_path / "s.jsonl"
    api.batches.delay = 3600.0

    async def main() -> Any:
        pending = claude_nb.map("{x}", ["a", "b"], batch=True, cache=state, progress=False)
        task = asyncio.ensure_future(pending)
        while not pending.batch_ids:
            await asyncio.sleep(0.01)
        pending.stop("interrupt")
        return await task

    waiting = asyncio.run(main())
    assert waiting.status == "waiting" and ".cancel()" in waiting.footer
    assert all(r.status == "pending" for r in waiting)
    api.batches.delay = 0.0
    picked = claude_nb.map("{x}", ["a", "b"], batch=True, cache=state, progress=False)
    assert picked.status == "done" and all(r.ok for r in picked)
    assert len(batch_creates(api)) == 1 and picked.batch_ids == waiting.batch_ids


def test_cancel_a_waiting_batch(api: Any, tmp_path: Path) -> None:
    api.batches.delay = 3600.0

    async def main() -> Any:
        pending = claude_nb.map("{x}", ["a"], batch=True, cache=tmp_path / "s.jsonl",
                                progress=False)
        task = asyncio.ensure_future(pending)
        while not pending.batch_ids:
            await asyncio.sleep(0.01)
        pending.stop()
        return await task

    waiting = asyncio.run(main())
    waiting.cancel()
    cancels = [r for r in api.requests if r.path.endswith("/cancel")]
    assert len(cancels) == 1 and cancels[0].status == 200
    after = claude_nb.map("{x}", ["a"], batch=True, cache=tmp_path / "s.jsonl", progress=False)
    assert after[0].status == "canceled"


def _requests(n: int, prompt: str) -> list[ItemRequest]:
    params = {"model": "claude-sonnet-4-6", "max_tokens": 16,
              "messages": [{"role": "user", "content": prompt}]}
    return [ItemRequest(f"{i:064x}", params) for i in range(n)]


def test_split_follows_the_apis_real_limits() -> None:
    groups, too_large = split(_requests(MAX_BATCH_REQUESTS + 1, "hi"))
    assert [len(g) for g in groups] == [MAX_BATCH_REQUESTS, 1] and too_large == []
    megabyte = "x" * 2**20
    groups, too_large = split(_requests(260, megabyte))
    assert [len(g) for g in groups] == [255, 5]  # 256 MB hold 255 requests of 1 MB + params
    for group in groups:
        body = json.dumps({"requests": [{"custom_id": r.key, "params": r.params}
                                        for r in group]}).encode()
        assert len(body) <= MAX_BATCH_BYTES
    groups, too_large = split(_requests(3, megabyte), max_bytes=2**20)
    assert groups == [] and len(too_large) == 3


# ---- what people see


def test_a_terminal_or_log_gets_a_plain_progress_line(api: Any, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    claude_nb.map("{x}", ["a", "b", "c"], cache=tmp_path / "s.jsonl")
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("claude_nb.map: 3/3 done")
    assert "tokens" in err and "<" not in err.splitlines()[-1]


def test_the_summary_escapes_what_the_model_and_the_items_said(api: Any, tmp_path: Path) -> None:
    api.auto_reply = lambda r: text_turn('<img src=x onerror="alert(1)"> & <script>x()</script>')
    result = claude_nb.map("{x}", ["<b>item</b>"], cache=tmp_path / "s.jsonl", progress=False)
    html = result._repr_html_()
    assert "<script>" not in html and "<img" not in html and "<b>item" not in html
    assert "&lt;script&gt;" in html
    assert "<style" not in html  # a sanitizer that drops tags would show the CSS as text
    assert repr(result).startswith("<MapResult 1 items: 1/1 done")


def test_python_tools_run_in_parallel_mode(api: Any, tmp_path: Path) -> None:
    from claude_nb.loopback import ToolUse, Turn

    def reply(request: Any) -> Any:
        last = request["messages"][-1]["content"]
        results = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            return text_turn(f"length is {results[0]['content']}", model=request["model"])
        word = said(request).split()[-1]
        return Turn([ToolUse("word_length", {"word": word})], stop_reason="tool_use",
                    model=request["model"])
    api.auto_reply = reply

    def word_length(word: str) -> int:
        """How many letters a word has."""
        return len(word)

    result = claude_nb.map("How long is {x}", ["kiwi", "banana"], tools=[word_length],
                           cache=tmp_path / "s.jsonl", progress=False)
    assert [r.text for r in result] == ["length is 4", "length is 6"]
    assert all(r.usage["input_tokens"] > 0 for r in result)
    with pytest.raises(ConfigError, match="parallel mode"):
        claude_nb.map("{x}", ["a"], tools=[word_length], batch=True, cache=False)


def test_batch_none_chooses_batches_above_the_threshold(api: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import claude_nb.bulk.api as bulk_api

    monkeypatch.setattr(bulk_api, "BATCH_ABOVE", 3)
    small = claude_nb.map("{x}", [1, 2, 3], batch=None, cache=tmp_path / "s.jsonl",
                          progress=False)
    assert small.batch is False and len(messages_sent(api)) == 3
    more = claude_nb.map("{x}", [1, 2, 3, 4, 5, 6], batch=None, cache=tmp_path / "s.jsonl",
                         progress=False)
    assert more.batch is False  # 6 items but only 3 missing: parallel again
    larger = claude_nb.map("{x}", list(range(10, 20)), batch=None, cache=tmp_path / "s.jsonl",
                           progress=False)
    assert larger.batch is True and len(batch_creates(api)) == 1 and all(r.ok for r in larger)
