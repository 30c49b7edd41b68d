"""Tools: schemas from signatures and docstrings, running calls, result conversion, examples."""

import asyncio
import base64
import dataclasses
import functools
import json
import sys
import threading
import time
import typing
from typing import Annotated, Any, Literal

import pydantic
import pytest
import typing_extensions

from claude_nb.demo import examples
from claude_nb.protocol.tooltypes import Tool, ToolDefinitionError, ToolOutcome, web_search_tool
from claude_nb.run.toolnames import find, resolve_names, tools_param
from claude_nb.run.toolresults import MAX_REPR_CHARS, MAX_TEXT_CHARS, convert_result
from claude_nb.run.toolrun import run_tool
from claude_nb.run.toolschema import InvalidToolInput, as_tool, input_schema_for, tool

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def props(fn: Any) -> dict[str, Any]:
    return input_schema_for(fn)["properties"]


def walk_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in walk_keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in walk_keys(v)}
    return set()


# ---------------------------------------------------------------- schema: types


@dataclasses.dataclass
class Point:
    """A point in the plane."""

    x: int
    y: int = 0


class Options(typing.TypedDict, total=False):
    color: str
    size: int


class Person(typing_extensions.TypedDict):
    name: str
    age: typing_extensions.NotRequired[int]


class Tree(typing_extensions.TypedDict):
    label: str
    children: "list[Tree]"


class Node(typing.TypedDict):
    kids: "list[Node]"


def test_required_and_defaults() -> None:
    def f(a: int, b: str = "x", c: float = 1.5) -> str:
        """F."""
        return ""

    schema = input_schema_for(f)
    assert schema["type"] == "object"
    assert schema["required"] == ["a"]
    assert schema["properties"] == {
        "a": {"type": "integer"},
        "b": {"type": "string", "default": "x"},
        "c": {"type": "number", "default": 1.5},
    }
    assert schema["additionalProperties"] is False


def test_optional_and_union_none() -> None:
    def f(a: int | None = None, b: str | None = None, c: int | None = 3) -> str:
        """F."""
        return ""

    schema = input_schema_for(f)
    assert "required" not in schema
    p = schema["properties"]
    assert p["a"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert p["b"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert p["c"]["default"] == 3


def test_literal_is_an_enum() -> None:
    def f(mode: Literal["fast", "slow"], level: Literal[1, 2, 3] = 1) -> str:
        """F."""
        return ""

    p = props(f)
    assert p["mode"] == {"enum": ["fast", "slow"], "type": "string"}
    assert p["level"]["enum"] == [1, 2, 3]
    assert p["level"]["type"] == "integer"


def test_lists_and_dicts() -> None:
    def f(ids: list[int], tags: dict, weights: dict[str, float],
          pairs: list[tuple[int, str]] = []) -> str:  # noqa: B006  (the schema's default)
        """F."""
        return ""

    p = props(f)
    assert p["ids"] == {"type": "array", "items": {"type": "integer"}}
    assert p["tags"] == {"type": "object", "additionalProperties": True}
    assert p["weights"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert p["pairs"]["items"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]


def test_dataclass_parameter_is_inlined() -> None:
    def f(at: Point, maybe: Point | None = None) -> str:
        """F."""
        return ""

    schema = input_schema_for(f)
    at = schema["properties"]["at"]
    assert at["type"] == "object"
    assert at["properties"] == {"x": {"type": "integer"}, "y": {"type": "integer", "default": 0}}
    assert at["required"] == ["x"]
    assert at["description"] == "A point in the plane."
    assert schema["properties"]["maybe"]["anyOf"][0]["properties"]["x"] == {"type": "integer"}
    assert "$ref" not in walk_keys(schema) and "$defs" not in schema


def test_typing_typeddict_works_on_every_python() -> None:
    # pydantic itself refuses typing.TypedDict before 3.12; we convert it
    def f(opts: Options, people: list[Person], maybe: Options | None = None) -> str:
        """F."""
        return ""

    schema = input_schema_for(f)
    opts = schema["properties"]["opts"]
    assert opts["type"] == "object"
    assert opts["properties"] == {"color": {"type": "string"}, "size": {"type": "integer"}}
    assert "required" not in opts
    person = schema["properties"]["people"]["items"]
    assert person["required"] == ["name"]
    assert set(person["properties"]) == {"name", "age"}
    assert "$ref" not in walk_keys(schema)

    t = tool(f)
    _args, kwargs = t.bind({"opts": {"size": "3"}, "people": [{"name": "A"}]})  # type: ignore[misc]
    assert kwargs == {"opts": {"size": 3}, "people": [{"name": "A"}]}


def test_recursive_types_keep_defs() -> None:
    def f(tree: Tree) -> str:
        """F."""
        return ""

    schema = input_schema_for(f)
    tree = schema["properties"]["tree"]
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert set(schema["$defs"]) == {"Tree"}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="pydantic handles it natively")
def test_recursive_typing_typeddict_gives_a_clear_error() -> None:
    def f(node: Node) -> str:
        """F."""
        return ""

    with pytest.raises(ToolDefinitionError, match="typing_extensions"):
        tool(f)


def test_no_titles_but_a_parameter_called_title_stays() -> None:
    def f(title: str, at: Point, default: dict[str, str] = {"title": "x"}) -> str:  # noqa: B006
        """F."""
        return ""

    schema = input_schema_for(f)
    assert set(schema["properties"]) == {"title", "at", "default"}
    assert schema["properties"]["default"]["default"] == {"title": "x"}
    assert "title" not in schema and "title" not in schema["properties"]["at"]
    assert "title" not in schema["properties"]["title"]


def test_names_that_shadow_pydantic_attributes() -> None:
    def f(json: str, model_config: int = 0, schema: str = "") -> str:
        """F."""
        return json

    t = tool(f)
    assert set(t.input_schema["properties"]) == {"json", "model_config", "schema"}
    assert run(run_tool(t, {"json": "ok", "model_config": "2"})).content == "ok"


def test_unannotated_and_string_annotations() -> None:
    def f(a, b: "int" = 1):  # type: ignore[no-untyped-def]
        """F."""
        return a

    p = props(f)
    assert p["a"] == {}
    assert p["b"] == {"type": "integer", "default": 1}


def test_unresolvable_annotation_is_a_clear_error() -> None:
    def f(a: "NoSuchType") -> str:  # type: ignore[name-defined]  # noqa: F821
        """F."""
        return ""

    with pytest.raises(ToolDefinitionError, match="signature of 'f'"):
        tool(f)


def test_non_json_default_is_left_out_without_warning() -> None:
    sentinel = object()

    def f(a: Any = sentinel) -> str:
        """F."""
        return ""

    assert props(f)["a"] == {}


def test_var_args_kwargs_and_positional_only() -> None:
    def f(a: int, /, b: int = 2, *rest: int, **extra: Any) -> str:
        """F."""
        return json.dumps([a, b, rest, extra])

    t = tool(f)
    assert set(t.input_schema["properties"]) == {"a", "b"}
    assert t.input_schema["additionalProperties"] is True
    assert run(run_tool(t, {"a": "1", "z": 9})).content == "[1, 2, [], {\"z\": 9}]"


# ---------------------------------------------------------------- schema: docstrings


def google(a: int, b: str = "x", c: int = 0) -> str:
    """Add things up.

    A longer explanation
    over two lines.

    Args:
        a: The first value.
        b: The second value,
            continued here.
        c (int): With a type in parentheses.

    Returns:
        The total, as text.

    Raises:
        ValueError: Never.
    """
    return ""


def numpy_style(a: int, b: str = "x") -> str:
    """Add things up.

    Parameters
    ----------
    a : int
        The first value.
    b : str
        The second value.
    """
    return ""


def rest_style(a: int, b: str = "x") -> str:
    """Add things up.

    :param a: The first value.
    :param b: The second value.
    """
    return ""


def test_google_docstring() -> None:
    t = tool(google)
    assert t.description == (
        "Add things up.\n\nA longer explanation\nover two lines.\n\nReturns: The total, as text."
    )
    p = t.input_schema["properties"]
    assert p["a"]["description"] == "The first value."
    assert p["b"]["description"] == "The second value,\ncontinued here."
    assert p["c"]["description"] == "With a type in parentheses."
    assert "Args" not in t.description and "ValueError" not in t.description


@pytest.mark.parametrize("fn", [numpy_style, rest_style])
def test_numpy_and_rest_docstrings(fn: Any) -> None:
    t = tool(fn)
    assert t.description == "Add things up."
    assert t.input_schema["properties"]["a"]["description"] == "The first value."
    assert t.input_schema["properties"]["b"]["description"] == "The second value."


def test_annotated_description_wins_over_docstring() -> None:
    def f(n: Annotated[int, pydantic.Field(description="From the annotation.", ge=1)]) -> str:
        """F.

        Args:
            n: From the docstring.
        """
        return ""

    assert props(f)["n"] == {"type": "integer", "minimum": 1, "description": "From the annotation."}


def test_multi_line_summary_stays_together() -> None:
    def f() -> str:
        """A summary that runs
        onto a second line.

        Body.
        """
        return ""

    assert tool(f).description == "A summary that runs\nonto a second line.\n\nBody."


def test_missing_docstring_is_an_error_unless_described() -> None:
    def f(a: int) -> int:
        return a

    with pytest.raises(ToolDefinitionError, match="no docstring"):
        tool(f)
    assert tool(f, description="Echo a number.").description == "Echo a number."


# ---------------------------------------------------------------- definitions


def test_decorator_forms_and_param() -> None:
    @tool
    def plain(a: int) -> int:
        """Plain."""
        return a

    @tool(confirm=True, timeout=5, name="renamed")
    def fancy(a: int) -> int:
        """Fancy."""
        return a

    assert isinstance(plain, Tool) and plain.confirm is False and plain.timeout == 60.0
    assert (fancy.name, fancy.confirm, fancy.timeout) == ("renamed", True, 5)
    assert plain.param() == {
        "name": "plain",
        "description": "Plain.",
        "input_schema": {
            "additionalProperties": False,
            "properties": {"a": {"type": "integer"}},
            "required": ["a"],
            "type": "object",
        },
    }
    assert plain(4) == 4  # still callable


def test_tool_redeclares_an_existing_tool() -> None:
    t = tool(google)
    t2 = tool(t, confirm=True)
    assert t2.confirm is True and t2.name == t.name and t2.input_schema == t.input_schema
    assert as_tool(t) is t


@pytest.mark.parametrize("name", ["has space", "", "x" * 65, "dot.ted", "ünïcode"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ToolDefinitionError, match="invalid tool name"):
        tool(google, name=name)


def test_valid_names_and_lambdas() -> None:
    assert tool(google, name="a-b_C9" + "x" * 58).name.startswith("a-b_C9")
    with pytest.raises(ValueError, match="<lambda>"):
        tool(lambda: 1, description="One.")
    assert tool(lambda: 1, name="one", description="One.").name == "one"


def test_partials_and_callable_objects() -> None:
    p = tool(functools.partial(google, b="y"))
    assert p.name == "google" and p.description.startswith("Add things up.")
    assert p.input_schema["properties"]["b"]["default"] == "y"

    class Counter:
        """Count calls."""

        def __call__(self, step: int = 1) -> int:
            return step

    c = tool(Counter())
    assert c.name == "Counter" and c.description == "Count calls."
    assert run(run_tool(c, {"step": "2"})).content == "2"


def test_as_tool_rejects_what_is_not_a_function() -> None:
    with pytest.raises(TypeError, match="server tool"):
        as_tool(web_search_tool())
    with pytest.raises(TypeError, match="expected a function"):
        as_tool(3)


def test_sdk_beta_tool() -> None:
    from anthropic import beta_tool

    @beta_tool
    def add(a: int, b: int = 1) -> str:
        """Add two numbers.

        Args:
            a: First.
        """
        return str(a + b)

    t = as_tool(add)
    assert (t.name, t.description) == ("add", "Add two numbers.")
    assert t.input_schema == add.input_schema  # the SDK's own definition, kept as given
    assert run(run_tool(t, {"a": "2"})).content == "3"
    assert tool(add, confirm=True).confirm is True


# ---------------------------------------------------------------- running


def test_sync_tools_run_off_the_event_loop_thread() -> None:
    @tool
    def where() -> str:
        """Report the thread."""
        time.sleep(0.2)
        return str(threading.get_ident())

    async def main() -> tuple[ToolOutcome, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        outcome = await run_tool(where, {})
        task.cancel()
        return outcome, ticks

    outcome, ticks = run(main())
    assert outcome.content != str(threading.get_ident())
    assert ticks >= 5  # the loop kept running while the tool slept
    assert outcome.elapsed >= 0.2 and not outcome.is_error


def test_async_tools_are_awaited() -> None:
    @tool
    async def double(n: int) -> int:
        """Double n."""
        await asyncio.sleep(0)
        return n * 2

    outcome = run(run_tool(double, {"n": "21"}))
    assert (outcome.content, outcome.display, outcome.is_error) == ("42", 42, False)


def test_invalid_input_is_an_error_for_the_model() -> None:
    t = tool(google)
    outcome = run(run_tool(t, {"a": "seven", "zzz": 1}))
    assert outcome.is_error
    assert outcome.content.startswith("Invalid input for tool 'google':")
    assert "- a: Input should be a valid integer" in outcome.content
    assert "(got 'seven')" in outcome.content
    assert "- zzz: Extra inputs are not permitted" in outcome.content
    missing = run(run_tool(t, {}))
    assert "- a: Field required" in missing.content
    assert run(run_tool(t, ["not", "a", "dict"])).is_error  # type: ignore[arg-type]
    with pytest.raises(InvalidToolInput):
        t.bind({"a": []})  # type: ignore[misc]


def test_exceptions_become_short_errors() -> None:
    class Boom(Exception):
        pass

    @tool
    def divide(a: int, b: int) -> float:
        """Divide."""
        return a / b

    @tool
    def boom() -> None:
        """Boom."""
        raise Boom

    outcome = run(run_tool(divide, {"a": 1, "b": 0}))
    assert (outcome.content, outcome.is_error) == ("ZeroDivisionError: division by zero", True)
    assert outcome.display == outcome.content
    assert run(run_tool(boom, {})).content == "Boom"


def test_sdk_tool_error_content_is_kept() -> None:
    from anthropic.lib.tools import ToolError

    @tool
    def fails() -> None:
        """Fail with blocks."""
        raise ToolError([{"type": "text", "text": "structured"}])

    outcome = run(run_tool(fails, {}))
    assert outcome.is_error and outcome.content == [{"type": "text", "text": "structured"}]
    assert outcome.display == "structured"


def test_async_timeout() -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        """Slow."""
        await asyncio.sleep(10)
        return "never"

    outcome = run(run_tool(slow, {}))
    assert outcome.is_error and outcome.content == "Tool 'slow' timed out after 0.05 s"
    assert outcome.elapsed < 5


def test_sync_timeout() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        """Stuck."""
        release.wait(5)
        return "late"

    async def main() -> ToolOutcome:
        try:
            return await run_tool(stuck, {})
        finally:
            release.set()

    outcome = run(main())
    assert outcome.is_error and "timed out after 0.05 s" in outcome.content


def test_a_tools_own_timeout_error_is_not_our_timeout() -> None:
    @tool(timeout=None)
    def fetch() -> str:
        """Fetch."""
        raise TimeoutError("upstream did not answer")

    assert run(run_tool(fetch, {})).content == "TimeoutError: upstream did not answer"


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_cancellation_propagates(kind: str) -> None:
    started = threading.Event()
    release = threading.Event()

    async def slow_async() -> str:
        """Slow."""
        started.set()
        await asyncio.sleep(10)
        return "never"

    def slow_sync() -> str:
        """Slow."""
        started.set()
        release.wait(5)
        return "never"

    t = tool(slow_async if kind == "async" else slow_sync, name="slow")

    async def main() -> None:
        task = asyncio.create_task(run_tool(t, {}))
        while not started.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        try:
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            release.set()

    run(main())


def test_hand_built_tool_calls_fn_with_input() -> None:
    t = Tool("echo", "Echo.", {"type": "object", "properties": {}}, lambda **kw: kw)
    outcome = run(run_tool(t, {"x": 1}))
    assert outcome.display == {"x": 1}


def test_result_param() -> None:
    assert ToolOutcome("hi").result_param("tu_1") == {
        "type": "tool_result", "tool_use_id": "tu_1", "content": "hi"}
    assert ToolOutcome("bad", is_error=True).result_param("tu_1")["is_error"] is True
    assert "content" not in ToolOutcome("").result_param("tu_1")


# ---------------------------------------------------------------- result conversion


class FakeFrame:
    def _repr_html_(self) -> str:
        return "<table><tr><td>1</td></tr></table>"

    def __repr__(self) -> str:
        return "   a\n0  1"


class FakeFrameWithToString(FakeFrame):
    def to_string(self, max_rows: int | None = None) -> str:
        return f"full table (max_rows={max_rows})"


@pytest.mark.parametrize(
    ("value", "content", "display"),
    [
        ("hello", "hello", "hello"),
        ({"a": 1, "b": [1, 2]}, '{"a": 1, "b": [1, 2]}', {"a": 1, "b": [1, 2]}),
        ([1, "x"], '[1, "x"]', [1, "x"]),
        ((1, 2), "[1, 2]", [1, 2]),
        (None, "null", None),
        (3.5, "3.5", 3.5),
        (True, "true", True),
        ({"when": dataclasses}, None, None),  # non-JSON values through str()
        ({(1, 2): "tuple key"}, "{(1, 2): 'tuple key'}", "{(1, 2): 'tuple key'}"),
        (Point(1, 2), '{"x": 1, "y": 2}', {"x": 1, "y": 2}),
        (b"plain bytes", "plain bytes", "plain bytes"),
        (b"\xff\xfe\x00", "<3 bytes of binary data>", "<3 bytes of binary data>"),
        ({1, 2}, "{1, 2}", "{1, 2}"),
    ],
)
def test_conversions(value: Any, content: Any, display: Any) -> None:
    got_content, got_display = convert_result(value)
    if content is None:
        assert got_content.startswith('{"when": "<module')
        assert got_display["when"].startswith("<module")
    else:
        assert (got_content, got_display) == (content, display)


def test_pydantic_model_result() -> None:
    class M(pydantic.BaseModel):
        a: int
        when: Any = None

    content, display = convert_result(M(a=1))
    assert json.loads(content) == {"a": 1, "when": None} and display == {"a": 1, "when": None}


def test_huge_text_is_truncated_with_a_marker() -> None:
    content, _display = convert_result("x" * (MAX_TEXT_CHARS + 50))
    assert content.startswith("x" * MAX_TEXT_CHARS)
    assert content.endswith("[… truncated: 50 more characters not shown]")


def test_html_repr_objects() -> None:
    content, display = convert_result(FakeFrame())
    assert content == "   a\n0  1"
    assert display == {"text/plain": "   a\n0  1",
                       "text/html": "<table><tr><td>1</td></tr></table>"}
    content, display = convert_result(FakeFrameWithToString())
    assert content == "full table (max_rows=200)" and display["text/plain"] == content


def test_long_repr_is_cut_shorter() -> None:
    class Big(FakeFrame):
        def __repr__(self) -> str:
            return "y" * (MAX_REPR_CHARS + 10)

    content, _ = convert_result(Big())
    assert content.startswith("y" * MAX_REPR_CHARS) and "truncated: 10 more characters" in content


def test_pandas_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    content, display = convert_result(frame)
    assert content == frame.to_string()
    assert "<table" in display["text/html"] and display["text/plain"] == content


def test_png_bytes_and_png_reprs_become_images() -> None:
    b64 = base64.b64encode(PNG).decode()
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64}}
    content, display = convert_result(PNG)
    assert content == [block]
    assert display["image/png"] == b64

    class Picture:
        def _repr_png_(self) -> bytes:
            return PNG

    assert convert_result(Picture())[0] == [block]


def test_pil_image() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    content, display = convert_result(image_mod.new("RGB", (2, 2)))
    assert content[0]["source"]["media_type"] == "image/png" and "image/png" in display


def test_oversized_image_is_shown_not_sent() -> None:
    content, display = convert_result(PNG + b"\x00" * (5 * 1024 * 1024))
    assert isinstance(content, str) and "too large to send" in content
    assert "image/png" in display


def test_content_blocks_pass_through() -> None:
    blocks = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert convert_result(blocks) == (blocks, "a\nb")


def test_other_objects_use_str() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    assert convert_result(Thing()) == ("a thing", "a thing")


# ---------------------------------------------------------------- tool lists


def test_tools_param_and_find() -> None:
    t = tool(google)
    search = web_search_tool(max_uses=3)
    assert tools_param([t, search]) == [t.param(), search]
    assert find([search, t], "google") is t
    assert find([search, t], "web_search") is None
    with pytest.raises(ToolDefinitionError, match="unique"):
        tools_param([t, tool(numpy_style, name="google")])


def test_resolve_names() -> None:
    ns = {"google": google, "rest_style": rest_style, "examples": examples,
          "pair": [google, numpy_style]}
    tools = resolve_names("google, rest_style examples.calculator", ns)
    assert [t.name for t in tools] == ["google", "rest_style", "calculator"]
    assert [t.name for t in resolve_names("pair,google", ns)] == ["google", "numpy_style"]
    assert resolve_names("  ", ns) == []


def test_resolve_names_lists_every_missing_name() -> None:
    ns = {"google": google, "rest_style": rest_style, "x": 3}
    with pytest.raises(ToolDefinitionError) as info:
        resolve_names("gogle,nothing_here,examples.calculator", ns)
    message = str(info.value)
    assert "gogle (did you mean 'google'?)" in message
    assert "nothing_here" in message and "examples.calculator" in message
    with pytest.raises(ToolDefinitionError, match="'x' is not a tool"):
        resolve_names("x", ns)


def test_resolve_names_suggests_neither_hidden_names_nor_non_functions() -> None:
    """What the host put in the namespace (`hidden`, like IPython's `user_ns_hidden`) and
    callables that are not functions (classes, instances, methods) are never suggested; a
    hidden name the user redefined is theirs again."""
    host = {"open": google, "opener": dict}
    ns = {**host, "exit": type("Exit", (), {"__call__": lambda self: None})(), "x": 3}
    for name in ("opn", "opener2", "exitt"):
        with pytest.raises(ToolDefinitionError) as info:
            resolve_names(name, ns, hidden=host)
        assert "did you mean" not in str(info.value), name
    mine = {**ns, "open": rest_style}
    with pytest.raises(ToolDefinitionError, match=r"opn \(did you mean 'open'\?\)"):
        resolve_names("opn", mine, hidden=host)


def test_web_search_tool() -> None:
    from anthropic.types import WebSearchTool20250305Param

    assert web_search_tool() == {"type": "web_search_20250305", "name": "web_search"}
    assert web_search_tool(5, allowed_domains=["example.org"]) == {
        "type": "web_search_20250305",
        "name": "web_search",
        "max_uses": 5,
        "allowed_domains": ["example.org"],
    }
    hints = typing.get_type_hints(WebSearchTool20250305Param)
    assert typing.get_args(hints["type"]) == ("web_search_20250305",)


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 10", 1024),
        ("-3 ** 2", -9),
        ("(-3) ** 2", 9),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("10 / 4", 2.5),
        ("-(2 + 3)", -5),
        ("+4", 4),
        ("sqrt(16)", 4.0),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("round(cos(pi), 6)", -1.0),
        ("sin(0)", 0.0),
        ("abs(-2.5)", 2.5),
        ("factorial(20)", 2432902008176640000),
        ("  2*(3+4)**2  ", 98),
    ],
)
def test_calculator(expression: str, value: float) -> None:
    assert examples.calculator(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("().__class__.__bases__", "unsupported syntax"),
        ("math.sqrt(2)", "unknown function 'Attribute'"),
        ("x + 1", "unknown name 'x'"),
        ("'abc'", "only numbers"),
        ("True + 1", "only numbers"),
        ("[1, 2]", "unsupported syntax: List"),
        ("(lambda: 1)()", "unknown function 'Lambda'"),
        ("2 ^ 3", "use \\*\\* for powers"),
        ("9 ** 9 ** 9", "result too large"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("round(2.5, ndigits=1)", "no keyword arguments"),
        ("1 +", "not a valid expression"),
        ("1" * 1001, "too long"),
        ("1 < 2", "unsupported syntax: Compare"),
    ],
)
def test_calculator_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        examples.calculator(expression)


def test_calculator_as_a_tool() -> None:
    t = as_tool(examples.calculator)
    assert t.input_schema["required"] == ["expression"]
    assert run(run_tool(t, {"expression": "6 * 7"})).content == "42"
    refused = run(run_tool(t, {"expression": "__import__('os').system('true')"}))
    assert refused.is_error and refused.content.startswith("ValueError: unknown function")


def test_lookup() -> None:
    gold = examples.lookup("gold")
    assert gold == {
        "name": "Gold", "symbol": "Au", "atomic_number": 79, "atomic_mass": 196.97,
        "category": "transition metal", "phase": "solid",
    }
    assert examples.lookup(" AU ") == gold
    assert examples.lookup("Hg", "phase") == {"name": "Mercury", "phase": "liquid"}
    with pytest.raises(ValueError, match="Did you mean 'Gold'") as info:
        examples.lookup("gld")
    assert "Known elements: Hydrogen" in str(info.value)


def test_lookup_schema_and_table() -> None:
    field = as_tool(examples.lookup).input_schema["properties"]["field"]
    assert field["anyOf"][0]["enum"] == [
        "symbol", "atomic_number", "atomic_mass", "category", "phase"]
    assert field["default"] is None
    rows = examples.table()
    assert len(rows) == len(examples.ELEMENTS) and rows[0]["symbol"] == "H"
    rows[0]["symbol"] = "changed"
    assert examples.ELEMENTS[0]["symbol"] == "H"


def test_wait_example() -> None:
    t = tool(examples.wait, timeout=0.05)
    assert run(run_tool(t, {"seconds": 0})).content == "waited 0 s"
    assert run(run_tool(t, {"seconds": 1})).content == "Tool 'wait' timed out after 0.05 s"


def test_a_result_that_cannot_be_converted_is_an_error() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    @tool
    def broken() -> Broken:
        """Return something broken."""
        return Broken()

    outcome = run(run_tool(broken, {}))
    assert outcome.is_error
    assert outcome.content == (
        "Tool 'broken' returned a value that could not be converted: RuntimeError: no str for you"
    )


def test_definition_errors_are_config_errors() -> None:
    from claude_nb.protocol.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        resolve_names("missing", {})
    assert isinstance(info.value, ValueError)
    assert info.value._render_traceback_() == [
        "claude_nb: Tool definition: unknown tool name(s): missing; "
        "define them in the notebook first"
    ]
