"""The live view's messages, declared once: view ops (Python → browser) and actions
(browser → Python), as `TypedDict`s like anywidget's ``_protocols.py``.

Every Python sender builds these types (the presenter, `display`, `Chat`); `LiveView.push`
adds ``seq`` (and ``now`` to ``state``). ``js/view.js`` declares the same names as JSDoc
typedefs, checked by ``tsc --checkJs``; ``tests/test_chat.py`` checks that both sides list
the same fields. Meanings: ``docs/architecture.md``, "View ops".
"""

import sys
from typing import Literal

# Not `from __future__ import annotations`: the tests read these types at run time.
if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover - Python 3.10's TypedDict does not know NotRequired
    from typing_extensions import NotRequired, TypedDict

__all__ = [
    "Action", "ActionType", "ApproveAction", "BlockOp", "ClearOp", "DownloadOp", "ExportAction",
    "FinalOp", "HelloAction", "InsertCellAction", "JsonOp", "MdOp", "MdState", "NewAction",
    "RegenerateAction", "RemoveOp", "SendAction", "SetKeyAction", "SnapshotBlock",
    "SnapshotOp", "StateOp", "StopAction", "StopMode", "ViewOp", "ViewState",
]

# "button": a click closes the stream; "interrupt": the kernel can't receive clicks now
# (the Stop button's title says to use Kernel ▸ Interrupt); "none": no Stop button.
StopMode = Literal["button", "interrupt", "none"]


# ---- view ops (Python → browser); `seq` is added by `LiveView.push`

class BlockOp(TypedDict):
    """Append block ``id`` (``kind``: text, thinking, tool_use, user, footer, error, notice, …)
    with that HTML; an existing ``id`` gets its HTML replaced."""
    op: Literal["block"]
    id: str
    kind: str
    html: str


class MdOp(TypedDict):
    """Markdown patch: ``replace`` (if not None) becomes the committed HTML, then ``commit``
    is appended, and ``tail`` replaces the open tail."""
    op: Literal["md"]
    id: str
    commit: str
    tail: str
    replace: str | None


class JsonOp(TypedDict):
    """Raw partial tool-input JSON, appended as text (never HTML)."""
    op: Literal["json"]
    id: str
    text: str


class FinalOp(TypedDict):
    """Replace the block's whole HTML (block done, tool status, JSON answer tree)."""
    op: Literal["final"]
    id: str
    html: str


class RemoveOp(TypedDict):
    op: Literal["remove"]
    id: str


class ClearOp(TypedDict):
    op: Literal["clear"]


class StateOp(TypedDict):
    """Running state; ``stop`` and ``demo`` keep their last value when left out."""
    op: Literal["state"]
    running: bool
    stop: NotRequired[StopMode]
    demo: NotRequired[bool]
    now: NotRequired[float]  # kernel time.time(), added by LiveView.push


ViewOp = BlockOp | MdOp | JsonOp | FinalOp | RemoveOp | ClearOp | StateOp


class DownloadOp(TypedDict):
    """The browser saves a file (reply to ``export``); no ``seq``, not in the snapshot."""
    op: Literal["download"]
    filename: str
    mime: str
    content: str


# ---- the snapshot a (re)opening view receives

class ViewState(TypedDict):
    running: bool
    stop: StopMode
    demo: bool


class MdState(TypedDict):
    committed: str
    tail: str


class SnapshotBlock(TypedDict):
    id: str
    kind: str
    html: str
    md: MdState | None
    json: str | None


class SnapshotOp(TypedDict):
    op: Literal["snapshot"]
    seq: int
    blocks: list[SnapshotBlock]
    state: ViewState
    now: float


# ---- actions (browser → Python)

class HelloAction(TypedDict):
    """A view rendered (or lost an op): answered with a snapshot by `LiveView` itself."""
    type: Literal["hello"]


class StopAction(TypedDict):
    type: Literal["stop"]


class ApproveAction(TypedDict):
    type: Literal["approve", "deny"]
    id: str


class InsertCellAction(TypedDict):
    type: Literal["insert_cell"]
    code: str


class SendAction(TypedDict):
    type: Literal["send"]
    text: str


class RegenerateAction(TypedDict):
    type: Literal["regenerate"]


class NewAction(TypedDict):
    type: Literal["new"]


class ExportAction(TypedDict):
    type: Literal["export"]
    format: Literal["md", "json", "html"]


class SetKeyAction(TypedDict):
    """The chat's API-key field (the key is used, never stored in widget state)."""
    type: Literal["set_key"]
    key: str


Action = (HelloAction | StopAction | ApproveAction | InsertCellAction | SendAction
          | RegenerateAction | NewAction | ExportAction | SetKeyAction)
ActionType = Literal["hello", "stop", "approve", "deny", "insert_cell", "send", "regenerate",
                     "new", "export", "set_key"]
