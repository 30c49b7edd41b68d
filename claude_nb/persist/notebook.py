"""Reading a saved notebook's turn records, and finding the notebook a kernel runs for.

A saved `.ipynb` is nbformat JSON: read with `json` (nbformat is not a runtime dependency).
Records are taken in cell order up to the current cell; a `%%claude --new` cell starts the
conversation afresh there, as it did when it ran.

Which file a kernel belongs to is known only to its frontend. Where each tells the kernel:
VS Code puts `__vsc_ipynb_file__` in the namespace; jupyter_server's sessions API maps the
kernel id to the notebook path (right after a rename too); jupyter_server also starts the
kernel with `JPY_SESSION_NAME` (ipykernel copies it to `__session__`), the path at start.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .provenance import KEY
from .restore import restore

if TYPE_CHECKING:
    from ..run.session import Conversation

__all__ = ["NotebookNotFound", "chat_transcripts", "find_notebook", "load_chat", "read_records",
           "records_in"]

_NEW = re.compile(r"^\s*%%?claude\b(?P<line>[^\n]*)")
_API_TIMEOUT = 2.0  # seconds for the local jupyter_server sessions API


class NotebookNotFound(LookupError):
    """The kernel cannot tell which notebook file it runs for; the message says what was
    tried and what to do."""


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _starts_fresh(source: str) -> bool:
    match = _NEW.match(source)
    if match is None:
        return False
    try:
        return "--new" in shlex.split(match.group("line"))
    except ValueError:
        return False


def _cell_records(cell: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The `%%claude` turn records in a cell's outputs. A Chat's output (`{"turns": [...]}`)
    is a conversation of its own, not part of the magic's: it is left out."""
    for output in cell.get("outputs") or []:
        meta = (output.get("metadata") or {}).get(KEY)
        if isinstance(meta, Mapping) and "messages" in meta:
            yield dict(meta)


def _is_current(cell: Mapping[str, Any], cell_id: str | None, source: str | None) -> bool:
    if cell_id and cell.get("id") == cell_id:
        return True
    return bool(source) and _source(cell).strip() == (source or "").strip()


def records_in(notebook: Mapping[str, Any], *, cell_id: str | None = None,
               source: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The turn records of `notebook` in cell order, stopping before the current cell (by
    cell id, else by source); `(records, found_current)`. Without a match: every cell."""
    records: list[dict[str, Any]] = []
    for cell in notebook.get("cells") or []:
        if cell.get("cell_type") != "code":
            continue
        if (cell_id or source) and _is_current(cell, cell_id, source):
            return records, True
        if _starts_fresh(_source(cell)):
            records = []
        records.extend(_cell_records(cell))
    return records, False


def chat_transcripts(notebook: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """The turn records of each saved Chat transcript (`{"turns": [...]}` outputs), in cell
    order: a Chat's companion output, or the widget output of an older claude_nb."""
    found = []
    for cell in notebook.get("cells") or []:
        for output in cell.get("outputs") or []:
            meta = (output.get("metadata") or {}).get(KEY)
            if isinstance(meta, Mapping) and isinstance(meta.get("turns"), list):
                found.append([dict(r) for r in meta["turns"] if isinstance(r, Mapping)])
    return found


def load_chat(path: str | os.PathLike[str], *, index: int = -1, **options: Any
              ) -> Conversation:
    """A `Conversation` rebuilt from the `index`-th Chat transcript saved in the notebook at
    `path` (default: the last); model and system from its last record, `options` override."""
    from ..run.session import Conversation

    chats = chat_transcripts(_read(path))
    if not chats:
        raise NotebookNotFound(f"{path} holds no saved Chat transcript (save the notebook "
                               "after the Chat's turns).")
    try:
        records = chats[index]
    except IndexError:
        raise NotebookNotFound(f"{path} holds {len(chats)} Chat transcript"
                               f"{'s' * (len(chats) != 1)}, not one at index {index}.") from None
    last = records[-1] if records else {}
    saved = {"model": (last.get("request") or {}).get("model"), "system": last.get("system")}
    conv = Conversation(**{**{k: v for k, v in saved.items() if v}, **options})
    restore(conv, records)
    return conv


def read_records(path: str | os.PathLike[str], *, cell_id: str | None = None,
                 source: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """`records_in` for a notebook file."""
    return records_in(_read(path), cell_id=cell_id, source=source)


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotebookNotFound(f"No notebook at {path}.") from None
    except (OSError, ValueError) as exc:
        raise NotebookNotFound(f"{path} could not be read as a notebook ({exc}).") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookNotFound(f"{path} is not a notebook (no cells).")
    return notebook


# ---------------------------------------------------------------- which notebook is this


def _kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        name = Path(get_connection_file()).stem
    except (ImportError, RuntimeError):  # not in a kernel
        return None
    return name[len("kernel-"):] if name.startswith("kernel-") else None


def _from_server_sessions(kernel_id: str) -> Path | None:
    """Ask each local jupyter_server for the session of this kernel."""
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    import urllib.request

    for server in list_running_servers():
        url = f"{server.get('url', '').rstrip('/')}/api/sessions"
        headers = {"Authorization": f"token {server['token']}"} if server.get("token") else {}
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=_API_TIMEOUT) as response:
                sessions = json.load(response)
        except (OSError, ValueError):
            continue
        for session in sessions if isinstance(sessions, list) else []:
            if (session.get("kernel") or {}).get("id") == kernel_id:
                root = server.get("root_dir") or server.get("notebook_dir") or ""
                path = session.get("path") or (session.get("notebook") or {}).get("path", "")
                return Path(root, path)
    return None


def find_notebook(namespace: Mapping[str, Any] | None = None) -> Path:
    """The path of the notebook this kernel runs for, or `NotebookNotFound` saying why not."""
    namespace = namespace or {}
    vscode = namespace.get("__vsc_ipynb_file__")
    if vscode:
        return Path(str(vscode))
    kernel_id = _kernel_id()
    if kernel_id:
        found = _from_server_sessions(kernel_id)
        if found is not None and found.is_file():
            return found
    started_as = os.environ.get("JPY_SESSION_NAME") or namespace.get("__session__")
    if started_as and str(started_as).endswith(".ipynb") and Path(str(started_as)).is_file():
        return Path(str(started_as))
    raise NotebookNotFound(
        "This kernel cannot tell which notebook it runs for (no VS Code notebook path, no "
        "Jupyter server session for this kernel, no JPY_SESSION_NAME). Give the path: "
        "`%claude --resume path/to/notebook.ipynb`.")
