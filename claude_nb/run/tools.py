"""Client tools: typed Python functions Claude may call, and how one call is run.

A `Tool` pairs an API tool definition (name, description, JSON schema) with the Python
callable. `tool(f)` derives the definition from `f`'s signature and docstring; `run_tool`
validates one `tool_use` input against the signature, calls the function (sync functions on
a worker thread so the event loop stays free for Stop) and turns whatever it returns into a
`ToolOutcome`: what goes back to the model, and what a UI shows.

Schemas come from pydantic (the SDK's `beta_tool` does the same) with three differences:
`$ref`s are inlined, pydantic's `title` noise is dropped, and `typing.TypedDict` parameters
work on Python < 3.12 (pydantic only accepts `typing_extensions.TypedDict` there).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import difflib
import functools
import inspect
import io
import json
import re
import sys
import time
import typing
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import docstring_parser
import pydantic
import typing_extensions

from ..protocol.errors import ConfigError
from ..protocol.status import ToolStatus

__all__ = [
    "InvalidToolInput",
    "Tool",
    "ToolDefinitionError",
    "ToolOutcome",
    "as_tool",
    "convert_result",
    "find",
    "input_schema_for",
    "resolve_names",
    "run_tool",
    "tool",
    "tools_param",
    "web_search_tool",
]

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_TEXT_CHARS = 100_000
"""Text results longer than this are cut, with a marker saying how much was left out."""
MAX_REPR_CHARS = 20_000
"""Plain-text reprs of rich objects (DataFrames, …) are cut shorter than plain text."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The API's per-image limit; larger images are shown to the user but not sent."""
_REPR_MAX_ROWS = 200


class ToolDefinitionError(ConfigError, ValueError):
    """A function cannot become a tool (bad name, no docstring, unschematisable type, unknown
    name in `--tools`, …). A `ConfigError`, so it renders as one card without a traceback."""

    title = "Tool definition"


class InvalidToolInput(ValueError):
    """A `tool_use` input does not match the tool's signature; the message is for the model."""


# ---------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Tool:
    """A client tool: the API definition plus the callable that runs it.

    `bind` turns a `tool_use` input dict into `(args, kwargs)` for `fn`, validating and
    coercing it against `fn`'s signature and raising `InvalidToolInput`; `tool()` sets it.
    A `Tool` built by hand without one calls `fn(**input)` as is.
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    fn: Callable[..., Any]
    confirm: bool = False
    timeout: float | None = 60.0
    bind: Callable[[Mapping[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _check_name(self.name)

    def param(self) -> dict[str, Any]:
        """The tool definition for the API's `tools` parameter."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (so a decorated function stays usable)."""
        return self.fn(*args, **kwargs)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ToolDefinitionError(
            f"invalid tool name {name!r}: tool names must be 1-64 characters of letters, digits,"
            " '_' or '-' (pass name=... to choose one)"
        )


@typing.overload
def tool(
    fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = 60.0,
) -> Callable[[Callable[..., Any]], Tool]: ...


@typing.overload
def tool(
    fn: Any,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = 60.0,
) -> Tool: ...


def tool(
    fn: Any = None,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = 60.0,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` from a typed function with a docstring.

    Use as `@tool`, `@tool(confirm=True)` or `tool(f, name="g")`. The description is the
    docstring without its Args/Parameters section (Returns is kept); parameter descriptions
    go into the schema. `confirm=True` asks the user before each run; `timeout` is in seconds
    (None: no limit). Given a `Tool` or an SDK `beta_tool`, re-declares it with these options.
    """
    if fn is None:
        return lambda f: tool(f, name=name, description=description, confirm=confirm, timeout=timeout)
    base = as_tool(fn) if (isinstance(fn, Tool) or _is_sdk_tool(fn)) else None
    if base is not None:
        return dataclasses.replace(
            base,
            name=base.name if name is None else name,
            description=base.description if description is None else description,
            confirm=confirm,
            timeout=timeout,
        )
    return _from_function(fn, name=name, description=description, confirm=confirm, timeout=timeout)


def as_tool(obj: Any) -> Tool:
    """A `Tool` from a `Tool` (returned as is), a plain function, or an SDK `beta_tool`."""
    if isinstance(obj, Tool):
        return obj
    if _is_sdk_tool(obj):
        return _from_sdk_tool(obj)
    if isinstance(obj, Mapping):
        raise TypeError(
            f"{obj.get('name', obj)!r} is a tool definition dict (a server tool?), not a Python "
            "tool; pass it with the API tools instead"
        )
    if callable(obj):
        return _from_function(obj)
    raise TypeError(f"cannot make a tool from {type(obj).__name__} {obj!r}: expected a function")


def _is_sdk_tool(obj: Any) -> bool:
    from anthropic.lib.tools import BetaAsyncFunctionTool, BetaFunctionTool

    return isinstance(obj, (BetaFunctionTool, BetaAsyncFunctionTool))


def _from_sdk_tool(obj: Any) -> Tool:
    """Keep the SDK tool's definition as given; validate calls against its function."""
    try:
        binder: Any = _Binder.for_function(obj.func)
    except ToolDefinitionError:
        binder = None
    return Tool(
        name=obj.name,
        description=obj.description,
        input_schema=dict(obj.input_schema),
        fn=obj.func,
        bind=binder,
    )


def _from_function(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = 60.0,
) -> Tool:
    tool_name = _default_name(fn) if name is None else name
    _check_name(tool_name)
    doc = _docstring(fn)
    text = description or _description(doc)
    if not text:
        raise ToolDefinitionError(
            f"tool {tool_name!r} has no docstring: Claude reads it to decide when and how to "
            "call the tool, so add one (or pass description=...)"
        )
    binder = _Binder.for_function(fn, tool_name)
    schema = _schema(binder.model, {p.arg_name: p.description for p in doc.params if p.description})
    return Tool(tool_name, text, schema, fn, confirm=confirm, timeout=timeout, bind=binder)


def _default_name(fn: Any) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", None) or type(fn).__name__


def _docstring(fn: Any) -> docstring_parser.Docstring:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return docstring_parser.parse(inspect.getdoc(fn) or "")


def _description(doc: docstring_parser.Docstring) -> str:
    """Summary and body of a parsed docstring, plus its Returns text; no parameter list."""
    parts = [doc.short_description or ""]
    if doc.long_description:
        parts.append("\n\n" if doc.blank_after_short_description else "\n")
        parts.append(doc.long_description)
    if doc.returns is not None and doc.returns.description:
        parts.append(f"\n\nReturns: {doc.returns.description}")
    return "".join(parts).strip()


def input_schema_for(fn: Callable[..., Any]) -> dict[str, Any]:
    """The JSON schema `tool(fn)` would send: parameters, defaults, docstring descriptions."""
    doc = _docstring(fn)
    descriptions = {p.arg_name: p.description for p in doc.params if p.description}
    return _schema(_Binder.for_function(fn).model, descriptions)


# ---------------------------------------------------------------- signature → model


@dataclass(frozen=True)
class _Param:
    field: str  # the pydantic field name (never clashes with BaseModel attributes)
    name: str  # the parameter name, used as the field alias and in the schema
    positional: bool
    default: Any


@dataclass(frozen=True)
class _Binder:
    """Validates tool input against a signature and builds the call arguments."""

    tool_name: str
    model: type[pydantic.BaseModel]
    params: tuple[_Param, ...]

    @classmethod
    def for_function(cls, fn: Callable[..., Any], tool_name: str | None = None) -> _Binder:
        tool_name = tool_name or _default_name(fn)
        try:
            sig = inspect.signature(fn, eval_str=True)
        except (NameError, TypeError, ValueError) as e:
            raise ToolDefinitionError(f"cannot read the signature of {tool_name!r}: {e}") from e
        fields: dict[str, Any] = {}
        params: list[_Param] = []
        var_kw = False
        for i, p in enumerate(sig.parameters.values()):
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
                continue
            if p.kind is p.VAR_POSITIONAL:
                continue
            ann = Any if p.annotation is p.empty else _portable(p.annotation)
            default = ... if p.default is p.empty else p.default
            fields[f"p{i}"] = (ann, pydantic.Field(default, alias=p.name))
            params.append(_Param(f"p{i}", p.name, p.kind is p.POSITIONAL_ONLY, p.default))
        config = pydantic.ConfigDict(extra="allow" if var_kw else "forbid")
        try:
            model = pydantic.create_model(f"{tool_name}_input", __config__=config, **fields)
        except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as e:
            raise ToolDefinitionError(f"cannot derive a schema for tool {tool_name!r}: {e}") from e
        return cls(tool_name, model, tuple(params))

    def __call__(self, input: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if not isinstance(input, Mapping):
            raise InvalidToolInput(f"tool {self.tool_name!r} expects a JSON object, got {input!r:.200}")
        try:
            m = self.model.model_validate(dict(input))
        except pydantic.ValidationError as e:
            raise InvalidToolInput(_validation_message(self.tool_name, e)) from None
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for p in self.params:
            if p.field in m.model_fields_set:
                value = getattr(m, p.field)
            elif p.positional:
                value = p.default
            else:
                continue
            if p.positional:
                args.append(value)
            else:
                kwargs[p.name] = value
        kwargs.update(m.model_extra or {})
        return tuple(args), kwargs


def _validation_message(tool_name: str, e: pydantic.ValidationError) -> str:
    lines = [f"Invalid input for tool {tool_name!r}:"]
    for err in e.errors(include_url=False):
        where = ".".join(str(x) for x in err["loc"]) or "input"
        got = "" if err["type"] == "missing" else f" (got {err['input']!r:.100})"
        lines.append(f"- {where}: {err['msg']}{got}")
    return "\n".join(lines)


_typed_dict_cache: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_converting: set[int] = set()


def _portable(tp: Any) -> Any:
    """`tp` with every `typing.TypedDict` replaced by an equivalent `typing_extensions` one.

    Pydantic refuses `typing.TypedDict` before Python 3.12, and notebooks import it from
    `typing`. Recurses through generic aliases (`list[X]`, `X | None`, `Annotated[X, ...]`).
    """
    if sys.version_info >= (3, 12):
        return tp
    if typing.is_typeddict(tp) and type(tp).__module__ == "typing":
        return _portable_typed_dict(tp)
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if not args or origin is None or origin in (typing.Literal, typing_extensions.Literal):
        return tp
    new = tuple(_portable(a) for a in args)
    if all(a is b for a, b in zip(new, args)):
        return tp
    if origin in (typing.Annotated, typing_extensions.Annotated):
        return typing_extensions.Annotated[new]
    if origin is Union or type(tp).__name__ == "UnionType":
        return Union[new]
    try:
        return origin[new]
    except TypeError:
        return tp


def _portable_typed_dict(tp: Any) -> Any:
    if tp in _typed_dict_cache:
        return _typed_dict_cache[tp]
    if id(tp) in _converting:
        raise ToolDefinitionError(
            f"{tp.__name__} is a recursive typing.TypedDict, which pydantic cannot use before "
            "Python 3.12: import TypedDict from typing_extensions instead"
        )
    _converting.add(id(tp))
    try:
        try:
            hints = typing.get_type_hints(tp, include_extras=True)
        except NameError as e:
            raise ToolDefinitionError(f"cannot resolve the fields of {tp.__name__}: {e}") from e
        fields = {}
        for key, ann in hints.items():
            while typing.get_origin(ann) in (typing_extensions.Required, typing_extensions.NotRequired):
                ann = typing.get_args(ann)[0]
            wrap = typing_extensions.Required if key in tp.__required_keys__ else typing_extensions.NotRequired
            fields[key] = wrap[_portable(ann)]
    finally:
        _converting.discard(id(tp))
    new = typing_extensions.TypedDict(tp.__name__, fields)  # type: ignore[misc]
    new.__doc__, new.__module__ = tp.__doc__, tp.__module__
    _typed_dict_cache[tp] = new
    return new


# ---------------------------------------------------------------- schema clean-up


def _schema(model: type[pydantic.BaseModel], descriptions: Mapping[str, str]) -> dict[str, Any]:
    with warnings.catch_warnings():
        # a default that is not JSON-able is left out of the schema; no need to warn
        warnings.simplefilter("ignore", pydantic.json_schema.PydanticJsonSchemaWarning)
        try:
            raw = model.model_json_schema(by_alias=True)
        except pydantic.PydanticInvalidForJsonSchema as e:
            raise ToolDefinitionError(f"cannot derive a schema for {model.__name__!r}: {e}") from e
    schema: dict[str, Any] = _strip_titles(_inline_refs(raw))
    schema.pop("description", None)
    for name, prop in schema.get("properties", {}).items():
        if name in descriptions and "description" not in prop:
            prop["description"] = descriptions[name]
    schema.setdefault("properties", {})
    return schema


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace `$ref`s by the definitions they point to; only recursive types keep `$defs`."""
    defs: dict[str, Any] = schema.pop("$defs", {})
    kept: set[str] = set()

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(x, stack) for x in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            key = ref[len("#/$defs/"):]
            if key in stack or key not in defs:
                kept.add(key)
                return {k: walk(v, stack) for k, v in node.items()}
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return walk({**defs[key], **rest}, stack + (key,))
        return {k: v if k in _LITERAL_KEYS else walk(v, stack) for k, v in node.items()}

    out: dict[str, Any] = walk(schema, ())
    if kept:
        out["$defs"] = {k: walk(defs[k], (k,)) for k in sorted(kept) if k in defs}
    return out


_LITERAL_KEYS = frozenset({"default", "enum", "const", "examples"})
_NAME_MAPS = frozenset({"properties", "$defs", "patternProperties"})


def _strip_titles(node: Any, *, names: bool = False) -> Any:
    """Drop pydantic's generated `title`s; keys of `properties` are names, not keywords."""
    if isinstance(node, list):
        return [_strip_titles(x) for x in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _strip_titles(v) for k, v in node.items()}
    return {
        k: v if k in _LITERAL_KEYS else _strip_titles(v, names=k in _NAME_MAPS)
        for k, v in node.items()
        if not (k == "title" and isinstance(v, str))
    }


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one tool call.

    `content` is sent back as the `tool_result` content (a str or a list of content
    blocks); `display` is what a UI shows: a str, JSON-able data, or a mimebundle dict
    (keys like "text/html", "image/png"). `elapsed` is in seconds. `status` says how the
    call ended (every sink shows it); left out, it is `error` or `done` from `is_error`.
    """

    content: str | list[dict[str, Any]]
    is_error: bool = False
    display: Any = None
    elapsed: float = 0.0
    status: ToolStatus | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            status = ToolStatus.ERROR if self.is_error else ToolStatus.DONE
            object.__setattr__(self, "status", status)

    def result_param(self, tool_use_id: str) -> dict[str, Any]:
        """The `tool_result` block for the next user message."""
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id}
        if self.content != "":
            block["content"] = self.content
        if self.is_error:
            block["is_error"] = True
        return block


class _Raised:
    """An exception raised by the tool itself (kept apart from our own timeout)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def run_tool(tool: Tool, input: Mapping[str, Any]) -> ToolOutcome:
    """Run `tool` on one `tool_use` input.

    Never raises for the tool's own failures (invalid input, exceptions, timeout): those
    become `is_error` outcomes with a short message for the model. Cancellation (Stop)
    propagates. A sync function keeps running on its worker thread after a timeout or a
    cancellation (Python threads cannot be killed); its result is then discarded.
    """
    start = time.perf_counter()

    def error(message: Any, status: ToolStatus = ToolStatus.ERROR) -> ToolOutcome:
        text = message if isinstance(message, str) else _plain_text(message)
        return ToolOutcome(message, True, text, time.perf_counter() - start, status)

    if not isinstance(input, Mapping):
        return error(f"Invalid input for tool {tool.name!r}: expected a JSON object, got {input!r:.200}")
    try:
        args, kwargs = tool.bind(input) if tool.bind is not None else ((), dict(input))
    except InvalidToolInput as e:
        return error(str(e))

    try:
        result = await asyncio.wait_for(_call(tool.fn, args, kwargs), tool.timeout)
    except asyncio.TimeoutError:
        return error(f"Tool {tool.name!r} timed out after {tool.timeout:g} s",
                     ToolStatus.TIMEOUT)
    if isinstance(result, _Raised):
        return error(_error_content(result.exc))
    try:
        content, display = convert_result(result)
    except Exception as e:  # a broken __str__ / _repr_html_ must not end the turn
        return error(f"Tool {tool.name!r} returned a value that could not be converted: {_error_content(e)}")
    return ToolOutcome(content, False, display, time.perf_counter() - start)


async def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        if _is_async(fn):
            result = fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(fn, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result
    except (Exception, SystemExit) as e:
        return _Raised(e)


def _is_async(fn: Any) -> bool:
    call = fn if inspect.isroutine(fn) or isinstance(fn, functools.partial) else type(fn).__call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _error_content(exc: BaseException) -> Any:
    from anthropic.lib.tools import ToolError

    if isinstance(exc, ToolError):  # the SDK's way to return structured error content
        return exc.content if isinstance(exc.content, str) else list(exc.content)
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _truncate(text, MAX_REPR_CHARS)


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", f"[{b.get('type')}]") for b in content)


# ---------------------------------------------------------------- result conversion

Converted = tuple[str | list[dict[str, Any]], Any]


def convert_result(value: Any) -> Converted:
    """`(content, display)` for a tool's return value; the first matching rule wins."""
    for matches, convert in _RULES:
        if matches(value):
            converted = convert(value)
            if converted is not None:
                return converted
    text = _truncate(str(value), MAX_TEXT_CHARS)
    return text, text


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n\n[… truncated: {len(text) - limit:,} more characters not shown]"


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _image_type(data: bytes) -> str | None:
    for magic, media_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _image(data: bytes, media_type: str) -> Converted:
    b64 = base64.b64encode(data).decode("ascii")
    display = {media_type: b64, "text/plain": f"<{media_type} image, {len(data):,} bytes>"}
    if len(data) > MAX_IMAGE_BYTES:
        note = f"[{media_type} image of {len(data):,} bytes: too large to send (limit 5 MB); shown to the user]"
        return note, display
    block = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64}}
    return [block], display


def _from_bytes(value: bytes | bytearray) -> Converted:
    data = bytes(value)
    media_type = _image_type(data)
    if media_type is not None:
        return _image(data, media_type)
    try:
        text = _truncate(data.decode("utf-8"), MAX_TEXT_CHARS)
    except UnicodeDecodeError:
        text = f"<{len(data):,} bytes of binary data>"
    return text, text


def _from_png_repr(value: Any) -> Converted | None:
    data = value._repr_png_()
    if isinstance(data, tuple):  # IPython allows (data, metadata)
        data = data[0]
    if isinstance(data, str):
        data = base64.b64decode(data)
    return _image(data, "image/png") if isinstance(data, bytes) and data else None


def _from_figure(value: Any) -> Converted:
    buf = io.BytesIO()
    value.savefig(buf, format="png", bbox_inches="tight")
    return _image(buf.getvalue(), "image/png")


def _from_rich_repr(value: Any) -> Converted:
    text = None
    to_string = getattr(value, "to_string", None)
    if callable(to_string):
        try:
            text = to_string(max_rows=_REPR_MAX_ROWS)
        except Exception:
            text = None
    if not isinstance(text, str):
        text = repr(value)
    text = _truncate(text, MAX_REPR_CHARS)
    bundle: dict[str, Any] = {"text/plain": text}
    for key, method in (("text/html", "_repr_html_"), ("text/markdown", "_repr_markdown_")):
        fn = getattr(value, method, None)
        data = fn() if callable(fn) else None
        if isinstance(data, tuple):
            data = data[0]
        if isinstance(data, str):
            bundle[key] = data
    return text, bundle


def _from_data(value: Any) -> Converted | None:
    try:
        text = json.dumps(value, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError):  # non-string keys like tuples, circular references
        return None
    return _truncate(text, MAX_TEXT_CHARS), json.loads(text)


def _json_default(obj: Any) -> Any:
    """numpy scalars as numbers; anything else JSON cannot encode as its str()."""
    if getattr(obj, "ndim", None) == 0 and callable(getattr(obj, "item", None)):
        return obj.item()
    return str(obj)


def _from_model(value: Any) -> Converted | None:
    return _from_data(value.model_dump(mode="json"))


def _from_dataclass(value: Any) -> Converted | None:
    return _from_data(dataclasses.asdict(value))


_BLOCK_TYPES = frozenset({"text", "image", "document", "search_result"})


def _is_blocks(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(b, dict) and b.get("type") in _BLOCK_TYPES for b in value)
    )


def _from_blocks(value: list[dict[str, Any]]) -> Converted:
    images = [b for b in value if b["type"] == "image" and b.get("source", {}).get("type") == "base64"]
    if len(value) == 1 and images:
        source = images[0]["source"]
        return value, {source["media_type"]: source["data"]}
    return value, _plain_text(value)


def _has(method: str) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, type) and callable(getattr(v, method, None))


def _is_figure(value: Any) -> bool:
    return type(value).__module__.startswith("matplotlib.") and callable(getattr(value, "savefig", None))


_RULES: list[tuple[Callable[[Any], bool], Callable[[Any], Converted | None]]] = [
    (lambda v: isinstance(v, str), lambda v: (_truncate(v, MAX_TEXT_CHARS),) * 2),
    (lambda v: isinstance(v, (bytes, bytearray)), _from_bytes),
    (_is_blocks, _from_blocks),
    (lambda v: v is None or isinstance(v, (bool, int, float, dict, list, tuple)), _from_data),
    (_has("_repr_png_"), _from_png_repr),
    (_is_figure, _from_figure),
    (_has("_repr_html_"), _from_rich_repr),
    (_has("_repr_markdown_"), _from_rich_repr),
    (lambda v: isinstance(v, pydantic.BaseModel), _from_model),
    (lambda v: dataclasses.is_dataclass(v) and not isinstance(v, type), _from_dataclass),
]
"""Result conversion, in order: the first rule whose predicate matches and whose converter
returns a value wins; anything else becomes `str(value)`."""


# ---------------------------------------------------------------- tool lists


def tools_param(tools: Iterable[Tool | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The API `tools` list: `Tool`s as definitions, dicts (server tools) as they are."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in tools:
        param = t.param() if isinstance(t, Tool) else dict(t)
        name = param.get("name")
        if name in seen:
            raise ToolDefinitionError(f"two tools are named {name!r}; tool names must be unique")
        seen.add(name)  # type: ignore[arg-type]
        out.append(param)
    return out


def find(tools: Iterable[Any], name: str) -> Tool | None:
    """The `Tool` called `name`, or None (server tool dicts are never returned)."""
    return next((t for t in tools if isinstance(t, Tool) and t.name == name), None)


def resolve_names(names: str, namespace: Mapping[str, Any]) -> list[Tool]:
    """Tools for a `--tools f,g` option: names separated by commas or spaces, looked up in
    `namespace` (dotted names like `mod.f` follow attributes; a list or tuple of tools
    expands). Raises `ToolDefinitionError` naming every missing name."""
    wanted = [n for n in re.split(r"[,\s]+", names.strip()) if n]
    missing = [n for n in wanted if _lookup(n, namespace) is _MISSING]
    if missing:
        known = [k for k, v in namespace.items() if not k.startswith("_") and callable(v)]
        hints = {n: difflib.get_close_matches(n.split(".")[0], known, n=1) for n in missing}
        listed = ", ".join(n + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in hints.items())
        raise ToolDefinitionError(f"unknown tool name(s): {listed}; define them in the notebook first")
    tools: list[Tool] = []
    for n in wanted:
        obj = _lookup(n, namespace)
        items = obj if isinstance(obj, (list, tuple)) else [obj]
        for item in items:
            try:
                t = as_tool(item)
            except TypeError as e:
                raise ToolDefinitionError(f"{n!r} is not a tool: {e}") from None
            same = find(tools, t.name)
            if same is None:
                tools.append(t)
            elif same.fn is not t.fn:
                raise ToolDefinitionError(f"two different tools are named {t.name!r}")
    return tools


_MISSING = object()


def _lookup(dotted: str, namespace: Mapping[str, Any]) -> Any:
    head, *rest = dotted.split(".")
    obj = namespace.get(head, _MISSING)
    for attr in rest:
        if obj is _MISSING:
            break
        obj = getattr(obj, attr, _MISSING)
    return obj


def web_search_tool(
    max_uses: int | None = None,
    *,
    allowed_domains: list[str] | None = None,
    blocked_domains: list[str] | None = None,
    user_location: Mapping[str, Any] | None = None,
    type: str = "web_search_20250305",
) -> dict[str, Any]:
    """The server-side web search tool definition (runs on Anthropic's side, not here).

    `type` picks the tool version; `web_search_20250305` works with every current model,
    the SDK also knows `web_search_20260209` and `web_search_20260318`.
    """
    param: dict[str, Any] = {"type": type, "name": "web_search"}
    if max_uses is not None:
        param["max_uses"] = max_uses
    if allowed_domains is not None:
        param["allowed_domains"] = list(allowed_domains)
    if blocked_domains is not None:
        param["blocked_domains"] = list(blocked_domains)
    if user_location is not None:
        param["user_location"] = dict(user_location)
    return param
