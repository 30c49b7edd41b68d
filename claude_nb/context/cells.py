"""`--cells N`: the last N executed cells from IPython's history, each with its execution
count, its source and a short text form of its output, oldest first.

Cells that are themselves `%%claude` / `%claude` prompts are skipped (they are already in
the conversation), as are empty ones.
"""

from __future__ import annotations

from typing import Any

from .items import ContextItem
from .registry import render_value

__all__ = ["OUTPUT_MAX", "recent_cells"]

OUTPUT_MAX = 1_000  # characters of one cell's output
SOURCE_MAX = 6_000


def _is_prompt(source: str) -> bool:
    head = source.lstrip()
    return head.startswith(("%%claude", "%claude"))


def _output_text(value: Any) -> str:
    """A cell's result as short text, rendered by type (so `os.environ` stays out and a
    figure is named, not attached)."""
    if value is None:
        return ""
    rendered = render_value(value)
    text = rendered.text if not rendered.images else f"<{rendered.kind}: {rendered.note}>"
    return text if len(text) <= OUTPUT_MAX else text[:OUTPUT_MAX] + "…[output cut]"


def recent_cells(shell: Any, n: int) -> list[ContextItem]:
    """One item per cell: `In[k]` with source and output, the last `n`, in order."""
    history = shell.history_manager
    raw: list[str] = history.input_hist_raw
    outputs: dict[int, Any] = history.output_hist
    current = shell.execution_count  # the running cell's count: earlier cells are below it
    picked: list[int] = []
    for count in range(min(current, len(raw)) - 1, 0, -1):
        if len(picked) == n:
            break
        source = raw[count]
        if source.strip() and not _is_prompt(source):
            picked.append(count)
    items = []
    for count in reversed(picked):
        source = raw[count]
        cut = len(source) > SOURCE_MAX
        body = source[:SOURCE_MAX] + ("\n…[cell cut]" if cut else "")
        text = f"In [{count}]:\n```python\n{body.rstrip()}\n```"
        output = _output_text(outputs.get(count))
        if output:
            text += f"\nOut[{count}]:\n```\n{output}\n```"
        lines = source.count("\n") + 1
        items.append(ContextItem(name=f"In[{count}]", kind="cell", text=text, truncated=cut,
                                 note=f"{lines} lines" + (", with output" if output else "")))
    return items
