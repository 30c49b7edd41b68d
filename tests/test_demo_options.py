"""Every documented `%%claude` option does something correct and labelled on the demo
backend: `--json -o`, `--schema`, `--tools` with the user's own function, `--prefill`,
`--count`; and the demo honours `tool_choice` and prefills for plain SDK code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from claude_nb.demo.backend import make_demo_server
from claude_nb.demo.texts import DEMO_LABEL, DEMO_MODEL
from claude_nb.demo.tooluse import fill
from kernel_support import kernel, run

MODEL = "claude-sonnet-4-6"


@pytest.fixture(scope="module")
def k() -> Iterator[Any]:
    """A kernel on the demo backend (no key, CLAUDE_NB_BACKEND=demo)."""
    with kernel() as (_km, kc):
        setup = ("import os\nfor name in ('ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'):\n"
                 "    os.environ.pop(name, None)\nos.environ['CLAUDE_NB_BACKEND'] = 'demo'\n"
                 "%load_ext claude_nb")
        assert run(kc, setup).error is None
        yield kc


@pytest.fixture(scope="module")
def client() -> Iterator[anthropic.Anthropic]:
    with make_demo_server(delay=0.0) as srv, anthropic.Anthropic(
            base_url=srv.base_url, api_key="demo", max_retries=0) as c:
        yield c


def html(ex: Any) -> str:
    return "".join(d.get("text/html", "") for d in ex.displays.values()) + "".join(
        o.get("data", {}).get("text/html", "") for o in ex.outputs)


def value(kc: Any, expr: str) -> Any:
    ex = run(kc, f"import json as _j; print(_j.dumps({expr}, default=str))")
    assert ex.error is None, ex.error
    return json.loads(ex.stream)


def test_json_stores_parsed_data_and_is_labelled(k: Any) -> None:
    ex = run(k, "%%claude --new --json -o x\nDescribe a small table as JSON.")
    assert ex.error is None, ex.error
    x = value(k, "x")
    assert x["demo"] is True and x["model"] == DEMO_MODEL and "not Claude" in x["note"]
    assert "cnb-json-answer" in html(ex) and "demo" in html(ex).lower()


def test_schema_gives_a_valid_instance(k: Any) -> None:
    run(k, "from typing import Literal\nfrom pydantic import BaseModel\n"
           "class City(BaseModel):\n    name: str\n    population: int\n"
           "    continent: Literal['Africa', 'Asia', 'Europe']\n    tags: list[str]\n"
           "class Answer(BaseModel):\n    city: City\n    note: str | None = None\n")
    ex = run(k, "%%claude --schema Answer -o ans\nThe biggest city in Asia, as JSON.")
    assert ex.error is None, ex.error
    assert value(k, "type(ans).__name__") == "Answer"
    assert value(k, "ans.city.continent") == "Asia"
    ex = run(k, "schema = {'type': 'object', 'properties': {'n': {'type': 'integer', "
                "'minimum': 3}, 'when': {'type': 'string', 'format': 'date'}}, "
                "'required': ['n', 'when']}")
    ex = run(k, "%%claude --schema schema -o d\nPick a number.")
    assert ex.error is None and value(k, "d") == {"n": 3, "when": "2026-01-01"}


def test_users_own_tool_gets_arguments_from_the_prompt(k: Any) -> None:
    run(k, "def calc(expr: str) -> float:\n    '''Evaluate an arithmetic expression.'''\n"
           "    return eval(expr, {'__builtins__': {}})\n"
           "def roll_dice(count: int, sides: int = 6) -> list[int]:\n"
           "    '''Roll dice.'''\n    return [sides] * count\n")
    ex = run(k, "%%claude --new --tools calc -o r\nUse calc to compute 2+3*4.")
    assert ex.error is None, ex.error
    assert value(k, "[o.content for o in r.tool_outcomes.values()]") == ["14"]
    assert "14" in html(ex) and "SyntaxError" not in html(ex)
    run(k, "%%claude --tools roll_dice -o r\nRoll 3 dice with 20 sides.")
    conv = "get_ipython().magics_manager.registry['ClaudeMagics'].conversation"
    assert value(k, f"[b['input'] for m in {conv}.messages if m['role'] == 'assistant' "
                    "for b in m['content'] if b['type'] == 'tool_use'][-1]") == {
        "count": 3, "sides": 20}


def test_prefill_is_not_glued_to_the_label(k: Any) -> None:
    ex = run(k, "%%claude --new --prefill '{\"answer\":' -o r\nWhat is the capital of France?")
    assert ex.error is None
    text = value(k, "r.text")
    assert text.startswith('{"answer":') and "_Offline" not in text
    assert isinstance(json.loads(text)["answer"], str)
    run(k, "%%claude --new --prefill 'Three names:' -o r\nGive three names for a pet hedgehog.")
    text = value(k, "r.text")
    assert text.startswith("Three names:\n\n" + DEMO_LABEL) and "Sonic" in text


def test_count_is_the_demos_estimate(k: Any) -> None:
    ex = run(k, "%%claude --count\nHow long is this prompt?")
    shown = html(ex)
    assert ex.error is None and "estimate" in shown and "demo" in shown
    assert "(counted by the API" not in shown


def test_forced_tool_choice_and_any(client: anthropic.Anthropic) -> None:
    weather = {"name": "get_weather", "description": "Weather for a place.",
               "input_schema": {"type": "object", "properties": {
                   "location": {"type": "string"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["location"]}}
    other = {"name": "note", "input_schema": {"type": "object", "properties": {}}}
    for choice in ({"type": "tool", "name": "get_weather"}, {"type": "any"}):
        msg = client.messages.create(
            model=MODEL, max_tokens=512, tools=[weather, other], tool_choice=choice,
            messages=[{"role": "user", "content": "Is it cold in San Francisco, in fahrenheit?"}])
        assert msg.stop_reason == "tool_use"
        call = next(b for b in msg.content if b.type == "tool_use")
        assert call.name == "get_weather"
        assert call.input == {"location": "San Francisco", "unit": "fahrenheit"}
    msg = client.messages.create(
        model=MODEL, max_tokens=512, tools=[weather], tool_choice={"type": "none"},
        messages=[{"role": "user", "content": "Use get_weather for Paris"}])
    assert msg.stop_reason == "end_turn"


def test_prefill_continues_for_sdk_code(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=512, messages=[
        {"role": "user", "content": "List two colours as JSON."},
        {"role": "assistant", "content": '{"colours": ['}])
    assert json.loads('{"colours": [' + msg.content[0].text)["colours"]


def test_fill_derives_arguments_from_schema_and_prompt() -> None:
    schema = {"type": "object", "properties": {"expression": {"type": "string"}},
              "required": ["expression"]}
    assert fill(schema, "Use calc to compute 2+3*4.", "calc") == {"expression": "2+3*4"}
    names = {"type": "object", "properties": {"text": {"type": "string"},
                                              "times": {"type": "integer"}},
             "required": ["text"]}
    assert fill(names, "Repeat 'hi there' 4 times", "repeat") == {"text": "hi there",
                                                                  "times": 4}
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert fill(city, "What's the weather in New York? Use get_weather.", "get_weather") == {
        "city": "New York"}


def test_json_with_a_tool_ends_in_json_holding_the_result(k: Any) -> None:
    run(k, "def calc(expr: str) -> float:\n    '''Evaluate an arithmetic expression.'''\n"
           "    return eval(expr, {'__builtins__': {}})\n")
    ex = run(k, "%%claude --new --json --tools calc -o x\nUse calc on 6*7 and answer as JSON.")
    assert ex.error is None, ex.error
    assert value(k, "x['tool_results']") == [42]


def test_count_with_notebook_context_is_still_the_demos_estimate(k: Any) -> None:
    run(k, "import pandas as pd\nframe = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})")
    ex = run(k, "%%claude --new --count\nDescribe {frame}")
    shown = html(ex) + "".join(o.get("data", {}).get("text/plain", "") for o in ex.outputs)
    assert ex.error is None and "estimate" in shown
    assert "(counted by the API" not in shown and "tokens (counted by the API" not in shown
