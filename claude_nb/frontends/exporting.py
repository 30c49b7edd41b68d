"""Exporting a conversation (`%%claude`'s or a Chat's): Markdown, API JSON or an HTML page.

One table from format to (renderer, file suffix, MIME type) serves `%claude --export PATH`
(format from the suffix), the Chat's export buttons and `Chat.export(path)`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..persist.files import request_body
from ..protocol.errors import ConfigError
from ..render.exports import history_markdown
from ..render.page import conversation_page

__all__ = ["FORMATS", "add_options", "apply", "export", "export_text"]


def _api_json(conv: Any) -> str:
    return json.dumps(request_body(conv), indent=2, ensure_ascii=False) + "\n"


#: format -> (renderer, suffix, MIME type)
FORMATS: dict[str, tuple[Callable[[Any], str], str, str]] = {
    "md": (history_markdown, ".md", "text/markdown"),
    "json": (_api_json, ".json", "application/json"),
    "html": (conversation_page, ".html", "text/html"),
}


def export_text(conv: Any, fmt: str) -> tuple[str, str, str]:
    """`(content, filename, mime)` of the conversation in format `fmt` (md, json, html)."""
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.",
                          title="Nothing exported")
    render, suffix, mime = FORMATS[fmt]
    return render(conv), f"conversation{suffix}", mime


def export(conv: Any, path: str | Path) -> Path:
    """Write the conversation to `path`; the format follows the suffix (.md, .json, .html)."""
    target = Path(path).expanduser()
    fmt = next((f for f, (_, suffix, _) in FORMATS.items() if target.suffix == suffix), None)
    if fmt is None:
        raise ConfigError(f"Can't tell the export format of {target.name!r}: end the name "
                          "with .md (Markdown), .json (API request JSON) or .html (a page).",
                          title="Nothing exported")
    content, _, _ = export_text(conv, fmt)
    target.write_text(content, encoding="utf-8")
    return target


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export", metavar="PATH", help="write the conversation so far to "
                        "PATH: .md (Markdown), .json (API request JSON), .html (a page)")


def apply(magics: Any, args: argparse.Namespace) -> str | None:
    """Run `--export`: the notice to show, or None."""
    if not args.export:
        return None
    turns = sum(1 for r in magics.conversation.replies if r.status != "pending")
    path = export(magics.conversation, args.export)
    return f"Exported {turns} turn{'s' * (turns != 1)} to {path}."
