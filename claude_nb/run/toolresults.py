"""Tool results: whatever a tool returns, as `tool_result` content and as what a UI shows.

`convert_result(value)` walks `_RULES` in order (text, bytes, content blocks, JSON data,
images, figures, rich reprs, pydantic models, dataclasses); anything else becomes its str().
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Callable
from typing import Any

import pydantic

from ..protocol.media import sniff_image

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_REPR_CHARS",
    "MAX_TEXT_CHARS",
    "convert_result",
    "error_content",
    "plain_text",
]

MAX_TEXT_CHARS = 100_000
"""Text results longer than this are cut, with a marker saying how much was left out."""
MAX_REPR_CHARS = 20_000
"""Plain-text reprs of rich objects (DataFrames, …) are cut shorter than plain text."""
MAX_IMAGE_BYTES = 5 * 1024 * 1024
"""The API's per-image limit; larger images are shown to the user but not sent."""
_REPR_MAX_ROWS = 200


def error_content(exc: BaseException) -> Any:
    from anthropic.lib.tools import ToolError

    if isinstance(exc, ToolError):  # the SDK's way to return structured error content
        return exc.content if isinstance(exc.content, str) else list(exc.content)
    message = str(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _truncate(text, MAX_REPR_CHARS)


def plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", f"[{b.get('type')}]") for b in content)


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


def _image(data: bytes, media_type: str) -> Converted:
    b64 = base64.b64encode(data).decode("ascii")
    display = {media_type: b64, "text/plain": f"<{media_type} image, {len(data):,} bytes>"}
    if len(data) > MAX_IMAGE_BYTES:
        note = (f"[{media_type} image of {len(data):,} bytes: too large to send (limit 5 MB);"
                " shown to the user]")
        return note, display
    block = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64}}
    return [block], display


def _from_bytes(value: bytes | bytearray) -> Converted:
    data = bytes(value)
    media_type = sniff_image(data)
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
    images = [b for b in value
              if b["type"] == "image" and b.get("source", {}).get("type") == "base64"]
    if len(value) == 1 and images:
        source = images[0]["source"]
        return value, {source["media_type"]: source["data"]}
    return value, plain_text(value)


def _has(method: str) -> Callable[[Any], bool]:
    return lambda v: not isinstance(v, type) and callable(getattr(v, method, None))


def _is_figure(value: Any) -> bool:
    return (type(value).__module__.startswith("matplotlib.")
            and callable(getattr(value, "savefig", None)))


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
