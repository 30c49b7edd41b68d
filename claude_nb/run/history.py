"""A conversation's history: the messages the API accepts back, and the tool results owed.

History stays valid after any ending: only blocks the API accepts back are kept, a tool call
left without a result gets an `is_error` "stopped" result (the *carry*, sent with the next
prompt), and a reply that produced nothing for history is rolled back whole.
"""

from __future__ import annotations

from typing import Any

from ..protocol.tooltypes import STOPPED_RESULT, ToolOutcome

__all__ = ["History"]


class History:
    """`messages` in the API's own format, plus `carry`: tool results owed to the last
    assistant turn. A reply marks where it starts, commits what it adds, or is rewound."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.carry: list[dict[str, Any]] = []

    def mark(self) -> tuple[int, list[dict[str, Any]]]:
        """Where a reply starts: the message count and the carry it began with."""
        return len(self.messages), list(self.carry)

    def opening(self, prompt: Any) -> list[dict[str, Any]]:
        """The user message that opens a reply: owed tool results, then the prompt."""
        content: list[dict[str, Any]] = list(self.carry)
        if isinstance(prompt, str):
            content.append({"type": "text", "text": prompt})
        else:
            content.extend(prompt)
        return [{"role": "user", "content": content}]

    def commit(self, base: int, pending: list[dict[str, Any]],
               outcomes: dict[str, ToolOutcome]) -> None:
        """Append a reply's messages; owe a "stopped" result to unanswered tool calls."""
        del self.messages[base:]
        if not pending or len(pending) == 1:
            return  # nothing came back: roll the prompt back too (carry stays owed)
        if pending[-1]["role"] == "user":
            pending.pop()  # tool results whose answer never came: owe them again below
        self.carry = []
        last = pending[-1]
        calls = [b for b in last["content"] if b.get("type") == "tool_use"]
        for call in calls:
            outcome = outcomes.get(call["id"])
            text = outcome.content if outcome is not None else STOPPED_RESULT
            self.carry.append({"type": "tool_result", "tool_use_id": call["id"],
                               "content": text, "is_error": True if outcome is None
                               else outcome.is_error})
        self.messages.extend(pending)

    def rewind(self, start: int, carry: list[dict[str, Any]]) -> None:
        """Back to a reply's mark: drop its messages and what followed, restore the carry."""
        del self.messages[start:]
        self.carry = list(carry)

    def clear(self) -> None:
        self.messages.clear()
        self.carry.clear()
