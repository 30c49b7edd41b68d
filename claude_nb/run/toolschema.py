"""Tool definitions derived from typed Python functions: `tool(f)`, `as_tool`, validation.

`tool(f)` derives the API definition from `f`'s signature and docstring; the `_Binder` it
keeps validates one `tool_use` input against the signature and builds the call arguments.

Schemas come from pydantic (the SDK's `beta_tool` does the same) with three differences:
`$ref`s are inlined, pydantic's `title` noise is dropped, and `typing.TypedDict` parameters
work on Python < 3.12 (pydantic only accepts `typing_extensions.TypedDict` there).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import typing
import warnings
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import docstring_parser
import pydantic
import typing_extensions

from ..protocol.tooltypes import Tool, ToolDefinitionError, check_name

__all__ = ["InvalidToolInput", "as_tool", "input_schema_for", "is_sdk_tool", "tool"]


class InvalidToolInput(ValueError):
    """A `tool_use` input does not match the tool's signature; the message is for the model."""


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
        return lambda f: tool(f, name=name, description=description, confirm=confirm,
                              timeout=timeout)
    base = as_tool(fn) if (isinstance(fn, Tool) or is_sdk_tool(fn)) else None
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
    if is_sdk_tool(obj):
        return _from_sdk_tool(obj)
    if isinstance(obj, Mapping):
        raise TypeError(
            f"{obj.get('name', obj)!r} is a tool definition dict (a server tool?), not a Python "
            "tool; pass it with the API tools instead"
        )
    if callable(obj):
        return _from_function(obj)
    raise TypeError(f"cannot make a tool from {type(obj).__name__} {obj!r}: expected a function")


def is_sdk_tool(obj: Any) -> bool:
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
    check_name(tool_name)
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
            raise InvalidToolInput(
                f"tool {self.tool_name!r} expects a JSON object, got {input!r:.200}")
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
        return Union[new]  # noqa: UP007 (a tuple of members, built at runtime)
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
            while typing.get_origin(ann) in (typing_extensions.Required,
                                             typing_extensions.NotRequired):
                ann = typing.get_args(ann)[0]
            required = key in tp.__required_keys__
            wrap = typing_extensions.Required if required else typing_extensions.NotRequired
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
