"""`python -m claude_nb.loopback --demo`: SDK code tried offline gets tool_use for offered
tools (forced tool_choice too), and the server shows what the client sent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

WEATHER = {"name": "get_weather", "description": "Weather for a place.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "claude_nb.loopback", "--delay", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    log = tmp_path / "requests.jsonl"
    proc, url = start("--demo", "--log", str(log))
    try:
        with anthropic.Anthropic(base_url=url, api_key="anything", max_retries=0) as client:
            yield client, log
    finally:
        stop(proc)


def test_forced_tool_choice_returns_tool_use(demo: Any) -> None:
    client, _ = demo
    msg = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=300, tools=[WEATHER],
        tool_choice={"type": "tool", "name": "get_weather"},
        messages=[{"role": "user", "content": "How warm is it in Lisbon today?"}])
    assert msg.stop_reason == "tool_use"
    call = next(b for b in msg.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Lisbon"}
    with client.messages.stream(
            model="claude-sonnet-4-6", max_tokens=300, tools=[WEATHER],
            messages=[{"role": "user", "content": "Use get_weather for Oslo"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use" and final.content[-1].input == {"city": "Oslo"}


def test_request_log_shows_what_the_client_sent(demo: Any) -> None:
    client, log = demo
    client.messages.create(model="claude-haiku-4-5", max_tokens=100, tools=[WEATHER],
                           tool_choice={"type": "any"},
                           messages=[{"role": "user", "content": "Weather in Rome?"}])
    client.messages.count_tokens(model="claude-haiku-4-5",
                                 messages=[{"role": "user", "content": "count me"}])
    client.messages.create(model="claude-haiku-4-5", max_tokens=100,
                           messages=[{"role": "user", "content": "What is the capital of Peru?"}])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not log.exists()
                                           or len(log.read_text().splitlines()) < 3):
        time.sleep(0.1)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["path"] for line in lines] == [
        "/v1/messages", "/v1/messages/count_tokens", "/v1/messages"]
    assert lines[0]["body"]["tool_choice"] == {"type": "any"}


def test_stderr_lines_name_tools_choice_and_rule(tmp_path: Path) -> None:
    proc, url = start("--demo")
    try:
        with anthropic.Anthropic(base_url=url, api_key="sk-ant-secret-123",
                                 max_retries=0) as client:
            client.messages.create(model="claude-haiku-4-5", max_tokens=100, tools=[WEATHER],
                                   tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "How warm is Rome?"}])
            reply = client.messages.create(
                model="claude-haiku-4-5", max_tokens=100,
                messages=[{"role": "user", "content": "What is the capital of Peru?"}])
        assert "Lima" in reply.content[0].text
        time.sleep(0.5)  # the watcher reports within 0.1 s
    finally:
        err = stop(proc)
    assert "tools=[get_weather]" in err and 'tool_choice={"type": "any"}' in err
    assert "answered by: tool_choice forces a call" in err
    assert "answered by: capital city" in err and "Peru" in err
    assert "sk-ant-secret-123" not in err


def test_echo_stays_the_default() -> None:
    proc, url = start()
    try:
        with anthropic.Anthropic(base_url=url, api_key="x", max_retries=0) as client:
            msg = client.messages.create(model="m", max_tokens=50, messages=[
                {"role": "user", "content": "ping"}])
        assert "ping" in msg.content[0].text
    finally:
        stop(proc)
