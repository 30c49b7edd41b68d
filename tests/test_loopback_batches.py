"""The loopback server's Message Batches API, through the real SDK over HTTP."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from claude_nb.loopback import LoopbackServer, http_error, text_turn


def request(custom_id: str, text: str = "hi", **params: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": {
        "model": "claude-sonnet-4-6", "max_tokens": 64,
        "messages": [{"role": "user", "content": text}], **params}}


@pytest.fixture
def srv_client() -> Any:
    with LoopbackServer() as srv:
        yield srv, anthropic.Anthropic(base_url=srv.base_url, api_key="sk-test-batches-000",
                                       max_retries=0)


def test_create_retrieve_results(srv_client: Any) -> None:
    srv, client = srv_client
    srv.batches.delay = 3600.0
    srv.enqueue(text_turn("first"), http_error(529, "overloaded_error", "Overloaded"))
    batch = client.messages.batches.create(requests=[request("a"), request("b"),
                                                     request("c", max_tokens=0)])
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 3 and batch.request_counts.succeeded == 0
    with pytest.raises(anthropic.AnthropicError):
        list(client.messages.batches.results(batch.id))  # not ended: no results_url yet
    srv.batches.delay = 0.0
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.processing) == (1, 2, 0)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["a"].type == "succeeded" and results["a"].message.content[0].text == "first"
    assert results["b"].type == "errored" and results["b"].error.error.type == "overloaded_error"
    assert results["c"].type == "errored" and "max_tokens" in results["c"].error.error.message


def test_cancel_expiry_outcomes_and_list(srv_client: Any) -> None:
    srv, client = srv_client
    srv.batches.delay = 3600.0
    first = client.messages.batches.create(requests=[request("x")])
    client.messages.batches.cancel(first.id)
    canceled = client.messages.batches.retrieve(first.id)
    assert canceled.cancel_initiated_at is not None and canceled.request_counts.canceled == 1
    srv.batches.expiry = 0.0  # every unfinished batch is past its 24 h
    second = client.messages.batches.create(requests=[request("y"), request("z")])
    assert client.messages.batches.retrieve(second.id).request_counts.expired == 2
    srv.batches.expiry, srv.batches.delay = 24 * 3600.0, 0.0
    srv.batches.outcome = lambda custom_id, params: "errored" if custom_id == "e" else None
    third = client.messages.batches.create(requests=[request("e"), request("f")])
    kinds = {r.custom_id: r.result.type for r in client.messages.batches.results(third.id)}
    assert kinds == {"e": "errored", "f": "succeeded"}
    page = client.messages.batches.list(limit=2)  # newest first, a page of two
    assert [b.id for b in page.data] == [third.id, second.id] and page.has_more
    everything = [b.id for b in client.messages.batches.list(limit=2)]  # the SDK pages on
    assert everything == [third.id, second.id, first.id]


def test_limits_and_ids_are_checked(srv_client: Any) -> None:
    srv, client = srv_client
    srv.batches.max_requests = 2
    with pytest.raises(anthropic.BadRequestError, match="at most 2"):
        client.messages.batches.create(requests=[request("a"), request("b"), request("c")])
    with pytest.raises(anthropic.BadRequestError, match="unique"):
        client.messages.batches.create(requests=[request("a"), request("a")])
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=[request("not ok!")])
    srv.batches.max_bytes = 100
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.batches.create(requests=[request("a", "x" * 200)])
    assert info.value.status_code == 413
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_missing")
    assert len(srv.batches.created) == 0
