"""Request validation with the Messages API's rules and wording.

A conversation the project rebuilds after a stop, an interrupt or a tool loop must stay
valid, so the loopback server rejects what the real API rejects (400
`invalid_request_error`) before it spends a scripted turn. Each rule is a small function
`body -> message | None`, run in order; the first message wins. Unlike the real API,
consecutive same-role messages are an error, not merged.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from typing import Any

from ..protocol.media import IMAGE_TYPES, sniff_image
from .sse import Json

__all__ = ["Rule", "MESSAGES_RULES", "COUNT_TOKENS_RULES", "validate"]

Rule = Callable[[Json], "str | None"]


def _required(*fields: str) -> Rule:
    def rule(body: Json) -> str | None:
        missing = [f for f in fields if f not in body]
        return f"{missing[0]}: Field required" if missing else None
    return rule


def _max_tokens(body: Json) -> str | None:
    value = body["max_tokens"]
    if not isinstance(value, int) or isinstance(value, bool):
        return "max_tokens: Input should be a valid integer"
    return None if value >= 1 else "max_tokens: Input should be greater than or equal to 1"


def _thinking_budget(body: Json) -> str | None:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return "thinking.enabled.budget_tokens: Field required"
    if budget < 1024:
        return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    if "max_tokens" in body and budget >= body["max_tokens"]:
        return ("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                "documentation at https://docs.claude.com/en/docs/build-with-claude/"
                "extended-thinking#max-tokens-and-context-window-size")
    return None


def _message_shape(index: int, message: Any) -> str | None:
    if not isinstance(message, dict):
        return f"messages.{index}: Input should be a valid dictionary"
    if message.get("role") not in ("user", "assistant"):
        return f"messages.{index}.role: Input should be 'user' or 'assistant'"
    content = message.get("content")
    if "content" not in message:
        return f"messages.{index}.content: Field required"
    if not isinstance(content, (str, list)):
        return f"messages.{index}.content: Input should be a valid string or list"
    for k, block in enumerate(content if isinstance(content, list) else []):
        if not isinstance(block, dict) or "type" not in block:
            return f"messages.{index}.content.{k}.type: Field required"
    return None


def _shape(body: Json) -> str | None:
    messages = body["messages"]
    if not isinstance(messages, list):
        return "messages: Input should be a valid list"
    if not messages:
        return "messages: at least one message is required"
    return next(filter(None, (_message_shape(i, m) for i, m in enumerate(messages))), None)


def _alternation(body: Json) -> str | None:
    roles = [m["role"] for m in body["messages"]]
    if roles[0] != "user":
        return 'messages: first message must use the "user" role'
    for before, after in pairwise(roles):
        if before == after:
            return ('messages: roles must alternate between "user" and "assistant", '
                    f'but found multiple "{after}" roles in a row')
    return None


def _non_empty(body: Json) -> str | None:
    messages = body["messages"]
    for i, message in enumerate(messages):
        prefill = i == len(messages) - 1 and message["role"] == "assistant"
        if message["content"] in ("", []) and not prefill:
            return (f"messages.{i}: all messages must have non-empty content except for the "
                    "optional final assistant message")
    return None


def _blocks(body: Json) -> Iterator[tuple[int, int, Json]]:
    """(message index, block index, block); string content counts as one text block."""
    for i, message in enumerate(body["messages"]):
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for k, block in enumerate(blocks):
            yield i, k, block


def _text_blocks(body: Json) -> str | None:
    for i, k, block in _blocks(body):
        if block["type"] != "text":
            continue
        text = block.get("text")
        if not isinstance(text, str) or not text:
            return f"messages.{i}.content.{k}.text: text content blocks must be non-empty"
        if not text.strip():
            return (f"messages.{i}.content.{k}.text: text content blocks must contain "
                    "non-whitespace text")
    return None


def _image_source(where: str, source: Any) -> str | None:
    if not isinstance(source, dict) or source.get("type") not in ("base64", "url"):
        return f"{where}.source: Input tag does not match any of the expected tags: 'base64', 'url'"
    if source["type"] == "url":
        return None if isinstance(source.get("url"), str) else f"{where}.source.url: Field required"
    media = source.get("media_type")
    if media not in IMAGE_TYPES:
        return (f"{where}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
                "'image/gif' or 'image/webp'")
    try:
        data = base64.b64decode(str(source.get("data", "")), validate=True)
    except ValueError:
        return f"{where}.source.base64.data: invalid base64 data"
    if sniff_image(data) != media:
        return (f"{where}.source.base64.data: The image was specified using the {media} media "
                "type, but the image data does not match it")
    return None


def _images(body: Json) -> str | None:
    """Image blocks: a base64 source with an accepted media type whose bytes match it."""
    for i, k, block in _blocks(body):
        if block["type"] == "image":
            problem = _image_source(f"messages.{i}.content.{k}.image", block.get("source"))
            if problem:
                return problem
    return None


def _signatures(body: Json) -> str | None:
    for i, k, block in _blocks(body):
        if block["type"] != "thinking":
            continue
        if "signature" not in block:
            return f"messages.{i}.content.{k}.thinking.signature: Field required"
        if not isinstance(block["signature"], str) or not block["signature"]:
            return f"messages.{i}.content.{k}: Invalid `signature` in `thinking` block"
    return None


def _ids(message: Json, block_type: str, key: str) -> list[str]:
    content = message["content"]
    blocks = content if isinstance(content, list) else []
    return [str(b.get(key)) for b in blocks if b["type"] == block_type]


def _tool_pairs(body: Json) -> str | None:
    """Each tool_use is answered in the very next user message; each tool_result answers one."""
    messages = body["messages"]
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            following = messages[i + 1] if i + 1 < len(messages) else {"content": []}
            answered = _ids(following, "tool_result", "tool_use_id")
            missing = [u for u in _ids(message, "tool_use", "id") if u not in answered]
            if missing:
                return (f"messages.{i + 1}: `tool_use` ids were found without `tool_result` "
                        f"blocks immediately after: {', '.join(missing)}. Each `tool_use` block "
                        "must have a corresponding `tool_result` block in the next message.")
            continue
        asked = _ids(messages[i - 1], "tool_use", "id") if i else []
        unexpected = [r for r in _ids(message, "tool_result", "tool_use_id") if r not in asked]
        if unexpected:
            return (f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{', '.join(unexpected)}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message.")
    return None


def _prefill(body: Json) -> str | None:
    last = body["messages"][-1]
    content = last["content"]
    if last["role"] != "assistant" or not content:
        return None
    tail = content if isinstance(content, str) else content[-1]
    if isinstance(tail, dict):
        tail = tail.get("text", "") if tail["type"] == "text" else ""
    if tail != tail.rstrip():
        return "messages: final assistant content cannot end with trailing whitespace"
    return None


_CONVERSATION: tuple[Rule, ...] = (
    _thinking_budget, _shape, _alternation, _non_empty, _text_blocks, _images, _signatures,
    _tool_pairs, _prefill,
)
MESSAGES_RULES: tuple[Rule, ...] = (
    _required("model", "max_tokens", "messages"), _max_tokens, *_CONVERSATION,
)
COUNT_TOKENS_RULES: tuple[Rule, ...] = (_required("model", "messages"), *_CONVERSATION)


def validate(body: Any, rules: Sequence[Rule] = MESSAGES_RULES) -> str | None:
    """The API's error message for an invalid request body, or None when it is valid."""
    if not isinstance(body, dict):
        return "body: Input should be a valid dictionary"
    return next(filter(None, (rule(body) for rule in rules)), None)
