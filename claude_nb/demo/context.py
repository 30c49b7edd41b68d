"""The demo's answers to prompts that carry notebook context (`{df}`, `{fig}`, `--error`,
`--fix`): built from what the request really holds, so the tutorial shows what was sent.

The demo reads the `<context name=… kind=…>` blocks that `claude_nb.context` writes; it
never pretends to see pixels or to reason: each answer says what it was given and what a
real model would do with it, labelled as the demo.
"""

from __future__ import annotations

import re
from typing import Any

from ..loopback import Response
from .ask import Ask
from .turns import answer

__all__ = ["dataframe", "error", "figure", "fix"]

_BLOCK = r'<context name="{name}" kind="{kind}">\n(.*?)\n</context>'


def _context(ask: Ask, kind: str, name: str = r'[^"]+') -> list[tuple[str, str]]:
    pattern = _BLOCK.format(name=f"({name})", kind=re.escape(kind))
    return re.findall(pattern, ask.prompt, re.DOTALL)


def dataframe(ask: Ask, m: re.Match[str]) -> Response:
    name, body = _context(ask, "DataFrame")[0]
    shape = re.search(r"DataFrame: ([\d,]+) rows × ([\d,]+) columns", body)
    columns = re.findall(r"^- (.+?): (\S+), ([\d,]+) nulls$", body, re.MULTILINE)
    rows, cols = shape.groups() if shape else ("?", "?")
    listing = "\n".join(f"| `{c}` | {t} | {n} |" for c, t, n in columns[:12])
    gaps = [c for c, _, n in columns if n != "0"]
    numeric = [c for c, t, _ in columns if re.match(r"(int|float|uint)", t)]
    gap_text = (f"Columns with missing values: {', '.join(f'`{c}`' for c in gaps)}."
                if gaps else "No column has missing values.")
    code = (f"{name}[{numeric!r}].describe()" if numeric else f"{name}.describe(include='all')")
    return answer(ask, f"""
`{name}` arrived as a summary, not as the whole frame: **{rows} rows × {cols} columns**,
with each column's type and null count and a few rows (the context card above the answer
lists what was sent and its size).

| column | dtype | nulls |
|---|---|---|
{listing}

{gap_text} A real model would now answer your question from these facts; the demo only
reads them back. A next step to run yourself:

```python
{code}
```
""")


def figure(ask: Ask, m: re.Match[str]) -> Response:
    images = [b for msg in ask.request.get("messages") or [] if msg.get("role") == "user"
              for b in (msg.get("content") if isinstance(msg.get("content"), list) else [])
              if isinstance(b, dict) and b.get("type") == "image"]
    described = [line for _, line in _context(ask, "image")]
    sizes = "; ".join(d.split(": attached")[0] for d in described) or "an image"
    total = sum(len(b.get("source", {}).get("data", "")) for b in images)
    return answer(ask, f"""
The request carried **{len(images)} image block(s)** ({sizes}; {total:,} base64
characters), so a real model sees the figure's pixels: its axes, labels, lines and colours,
and can describe trends or spot a mislabelled axis. The demo backend can't look at images,
so it only confirms they arrived as images rather than as text like
`<Figure size 640x480 with 1 Axes>`.
""")


def _failure(ask: Ask) -> tuple[str, str, str]:
    blocks = _context(ask, "error", "last error")
    body = blocks[0][1] if blocks else ""
    head = re.search(r"raised (\w+(?:\.\w+)*): (.*)", body)
    source = re.search(r"Cell source:\n```python\n(.*?)\n```", body, re.DOTALL)
    kind, message = head.groups() if head else ("an exception", "")
    return kind, message, source.group(1) if source else ""


def _guard_division(source: str) -> str | None:
    """`x = a / b` lines become `x = a / b if b else float("nan")` (the ZeroDivisionError fix)."""
    fixed, n = re.subn(r"^(\s*\w+\s*=\s*)(.+?)\s*/\s*(\w+)\s*$",
                       r'\1\2 / \3 if \3 else float("nan")', source, flags=re.MULTILINE)
    return fixed if n else None


def error(ask: Ask, m: re.Match[str]) -> Response:
    kind, message, source = _failure(ask)
    lines = source.count("\n") + 1 if source else 0
    return answer(ask, f"""
The failing cell ({lines} lines) raised **{kind}**: `{message}`. The request carried the
cell's source, the exception and the traceback, so a real model can point at the line
that failed and say why. Ask with `%claude --fix` for a corrected cell.
""")


def fix(ask: Ask, m: re.Match[str]) -> Response:
    kind, message, source = _failure(ask)
    fixed = _guard_division(source) if kind == "ZeroDivisionError" else None
    if fixed is None:
        fixed = f"# The demo has no fix for {kind}; a real model would rewrite this cell.\n{source}"
        cause = f"The cell raised **{kind}** (`{message}`)."
    else:
        cause = ("**Cause:** a division by a value that is zero here (`ZeroDivisionError: "
                 f"{message}`). Guard the division so an empty group gives NaN instead.")
    return answer(ask, f"""
{cause}

**Corrected cell** (`%claude --fix` also inserts it as a new cell below, not run):

```python
{fixed}
```
""")


def examples() -> dict[str, Any]:
    """A prompt each rule answers, as `claude_nb.context` writes it."""
    err = ('<context name="last error" kind="error">\nIn [3] raised ZeroDivisionError: '
           'division by zero\n\nCell source:\n```python\nmean = total / count\n```\n\n'
           'Traceback:\n```\n...\n```\n</context>\n')
    return {
        "dataframe": '<context name="df" kind="DataFrame">\npandas DataFrame: 3 rows × 1 '
                     'columns\nColumns (name: dtype, nulls):\n- x: int64, 0 nulls\n</context>\n'
                     'What is in `df`?',
        "figure": '<context name="fig" kind="image">\nmatplotlib figure with 1 axes '
                  '(image/png, 640×480 px, 9,000 bytes): attached as an image\n</context>\n'
                  'What does `fig` show?',
        "error": err + "Why did this cell fail?",
        "fix": err + "Explain the cause, then give the corrected cell as one code block.",
    }
