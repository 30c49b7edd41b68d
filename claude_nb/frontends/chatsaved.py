"""What a `Chat` leaves in the saved notebook: a companion output that follows every turn.

A widget output is written once, when the cell displays it, and a Chat's turns come later
(from the box, as tasks on the kernel loop, outside any cell). Updating the widget's own output
would re-render the live view (the typed text and the scroll position lost), so the Chat shows
a second, plain output under it with a `display_id` and replaces that one by `update_display`
after each turn: Jupyter clients route `update_display_data` by display id to wherever the
output is (JupyterLab and Notebook 7 whichever message it answers; nbclient while a cell runs),
so the saved file holds every turn: a collapsed `<details>` transcript (static HTML, no
`<style>`: it reads on GitHub and in sanitized nbconvert), Markdown, plain text, and the turns'
provenance records under `provenance.KEY` as `{"turns": [record, ...]}` (docs/provenance.md).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from ..persist import provenance
from ..protocol.redact import redact
from ..render import exports, static
from ..render import html as h

if TYPE_CHECKING:
    from ..run.session import Conversation

__all__ = ["SavedTranscript", "transcript_bundle"]


def _finished(conversation: Conversation) -> list[Any]:
    return [r for r in conversation.replies if r.status not in ("pending", "running")]


def transcript_bundle(conversation: Conversation) -> tuple[dict[str, str], dict[str, Any]]:
    """The companion output: (data, metadata) for the conversation's finished turns,
    redacted (the keys the turns were sent with, and every key-shaped string)."""
    replies = _finished(conversation)
    n = len(replies)
    summary = f"Chat transcript · {n} turn{'s' * (n != 1)} (saved with the notebook)"
    keys = {getattr(r.backend, "api_key", None) for r in replies} - {None}
    if replies:
        html = h.el("details", h.el("summary", h.esc(summary))
                    + _history(replies, static.history_html), class_="cnb-chat-saved")
        markdown = f"**{summary}**\n\n" + _history(replies, exports.history_markdown)
        plain = f"{summary}\n\n" + _history(replies, exports.history_plain)
    else:
        summary = "Chat transcript · no turns yet (saved with the notebook)"
        html = h.el("p", h.el("em", h.esc(summary)), class_="cnb-chat-saved")
        markdown = plain = summary
    data = {"text/html": html, "text/markdown": markdown, "text/plain": plain}
    for key in keys:
        data = {mime: redact(text, key) for mime, text in data.items()}
    data = {mime: redact(text) for mime, text in data.items()}
    metadata = {provenance.KEY: {"turns": [provenance.record(r) for r in replies]}}
    return data, metadata


def _history(replies: list[Any], render: Any) -> str:
    """`render` (a history renderer, which reads `.replies`) over the finished turns only:
    a running one is saved when it ends."""
    return str(render(_Finished(replies)))


class _Finished:
    """A conversation-shaped view of some replies."""

    def __init__(self, replies: list[Any]) -> None:
        self.replies = replies


class SavedTranscript:
    """The companion output of one Chat: shown once under the widget, replaced after each
    turn. Before `show` (no IPython display, e.g. a script) `update` does nothing."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.display_id = f"cnb-chat-{uuid.uuid4().hex}"
        self.shown = False
        self.turns_saved = 0  # finished turns in the output as last shown or replaced

    def show(self) -> None:
        """Display it (in the cell that displays the Chat; again in each cell that does)."""
        from IPython.display import display

        data, metadata = transcript_bundle(self.conversation)
        display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self.shown = True
        self.turns_saved = len(metadata[provenance.KEY]["turns"])

    def update(self) -> None:
        """Replace every copy of it with the conversation as it is now."""
        if not self.shown:
            return
        from IPython.display import update_display

        data, metadata = transcript_bundle(self.conversation)
        update_display(data, raw=True, metadata=metadata, display_id=self.display_id)
        self.turns_saved = len(metadata[provenance.KEY]["turns"])
