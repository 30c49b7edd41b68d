"""Notebook context in `%%claude`: the `--error` / `--fix` / `--cells N` options, the prompt
composed from a cell (type-aware `{name}`, attachments, redaction, budget) and the preview
card shown above the answer ("Context: N items · ~T tokens", collapsed).
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from IPython.display import display

from ..context.budget import DEFAULT_BUDGET
from ..context.cells import recent_cells
from ..context.compose import Composed, compose
from ..context.errors import FIX_PROMPT, ErrorRecorder, error_item, last_error
from ..context.items import ContextItem
from ..protocol.errors import ConfigError
from ..render.contextcard import context_card_html, context_card_text
from ..render.static import wrap_static

__all__ = ["add_options", "compose_cell", "compose_typed", "context_html", "context_text",
           "default_prompt", "install", "offer_fix", "show_context", "uninstall"]

ERROR_PROMPT = "Why did this cell fail?"


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--error", action="store_true", help="attach the last failing cell "
                        "(source, exception, traceback)")
    parser.add_argument("--fix", action="store_true", help="ask for the cause and a corrected "
                        "version of the last failing cell")
    parser.add_argument("--cells", type=int, metavar="N", help="attach the last N executed "
                        "cells (sources and short outputs)")


def default_prompt(args: argparse.Namespace, text: str) -> str:
    """`--fix` / `--error` need no prompt of their own."""
    if text.strip():
        return text
    return FIX_PROMPT if args.fix else ERROR_PROMPT if args.error else text


def _attachments(args: argparse.Namespace, shell: Any,
                 recorder: ErrorRecorder | None) -> list[ContextItem]:
    items = []
    if args.error or args.fix:
        failed = last_error(recorder)
        if failed is None:
            raise ConfigError("No cell has failed yet in this kernel, so there is no error "
                              "to attach.", title="Nothing to attach")
        items.append(error_item(failed))
    if args.cells is not None:
        if args.cells < 1:
            raise ConfigError("--cells takes a number of cells, 1 or more.",
                              title="Bad %%claude options")
        items += recent_cells(shell, args.cells)
    return items


def compose_cell(text: str, args: argparse.Namespace, shell: Any, *, interpolate: bool,
                 budget: int, recorder: ErrorRecorder | None) -> Composed:
    """The prompt a `%%claude` cell sends (a string when no context is attached)."""
    return compose(text, shell.user_ns if interpolate else None,
                   attachments=_attachments(args, shell, recorder), budget=budget)


def context_text(composed: Composed | None, counted: int | None = None) -> str | None:
    """The card as plain text, or None when the prompt carries no context."""
    if composed is None or not (composed.items or composed.prompt_redactions):
        return None
    return context_card_text(composed.items, composed.tokens, counted,
                             composed.prompt_redactions)


def show_context(composed: Composed | None, counted: int | None = None) -> bool:
    """Display the preview card above the answer; False when there is nothing to show."""
    text = context_text(composed, counted)
    if composed is None or text is None:
        return False
    html = context_card_html(composed.items, composed.tokens, counted, composed.prompt_redactions)
    display({"text/html": wrap_static(html), "text/plain": text}, raw=True)
    return True


def install(shell: Any, magics: Any) -> None:
    """Record failing cells (for `--error` / `--fix`) and show the Ask-Claude button."""
    from .errorbutton import show_error_button

    magics.errors.listeners.append(lambda failed: show_error_button(magics, failed))
    shell.events.register("post_run_cell", magics.errors)


def uninstall(shell: Any) -> None:
    magics = shell.magics_manager.registry.get("ClaudeMagics")
    recorder = getattr(magics, "errors", None)
    if recorder is not None and recorder in shell.events.callbacks["post_run_cell"]:
        shell.events.unregister("post_run_cell", recorder)


def compose_typed(text: str) -> Composed:
    """A prompt typed into the chat widget's box: `{name}` from the kernel's namespace (the
    same rendering as a cell, with `Claude.context_budget` when the magic is loaded)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return compose(text, None)
    magics = shell.magics_manager.registry.get("ClaudeMagics")
    budget = magics.config_obj.context_budget if magics is not None else DEFAULT_BUDGET
    return compose(text, shell.user_ns, budget=budget)


def context_html(composed: Composed) -> str | None:
    """The card's HTML for a live view block, or None when nothing was attached."""
    if not (composed.items or composed.prompt_redactions):
        return None
    return context_card_html(composed.items, composed.tokens, None, composed.prompt_redactions)


_CODE_BLOCK = re.compile(r"^```(?:python|py|ipython3?)?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
FIX_INSERTED = ("The corrected cell is inserted below, not run: check it, then run it "
                "(or delete it).")


def offer_fix(args: argparse.Namespace, reply: Any, shell: Any, *, terminal: bool = False) -> None:
    """After `--fix`, put the answer's last code block into a new cell below (IPython's
    `set_next_input`, which JupyterLab and Notebook 7 honour; terminal IPython pre-fills the
    next prompt). The code stays in the answer for a copy where neither applies."""
    if not args.fix or reply.status != "done":
        return
    blocks = _CODE_BLOCK.findall(reply.text)
    if not blocks or not blocks[-1].strip():
        return
    shell.set_next_input(blocks[-1].rstrip("\n"), replace=False)
    if terminal:
        print(FIX_INSERTED)
    else:
        from .display import show_notice

        show_notice(FIX_INSERTED)
