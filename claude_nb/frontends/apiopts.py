"""`%%claude` options for caching, effort, thinking and compaction, and the `--usage` and
`--models` tables (kept apart from magic.py, which only registers them and asks them).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..protocol.options import CACHE_CHOICES, EFFORTS
from ..protocol.redact import redact
from ..render import html as h
from ..render import static, tables
from ..run.session import Conversation

__all__ = ["add_options", "overrides", "show_tables", "thinking_arg", "wants_table"]


def thinking_arg(value: str) -> int | str:
    """`--thinking adaptive` or a token budget."""
    if value == "adaptive":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'adaptive' or a token budget, not {value!r}") from None


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--effort", choices=EFFORTS, help="how much effort the model puts in "
                   "(output_config.effort)")
    p.add_argument("--cache", choices=CACHE_CHOICES, help="prompt caching of the "
                   "conversation for this turn (default: Claude.cache, 5m)")
    p.add_argument("--compact", nargs="?", const=True, type=int, metavar="TOKENS",
                   help="let the server summarize earlier turns when the context grows long "
                   "(context management); TOKENS: when the input reaches this many")
    p.add_argument("--usage", action="store_true", help="table of this conversation's "
                   "requests: tokens by kind, cost, speed, totals")
    p.add_argument("--models", action="store_true", help="models the API offers, with their "
                   "context window, thinking types, effort levels and lifecycle")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"effort": args.effort, "cache": args.cache, "compact": args.compact or None}


def wants_table(args: argparse.Namespace) -> bool:
    return bool(args.usage or args.models)


def _models(refresh: bool = True) -> list[Any] | None:
    from ..run import backend, models
    from ..run.client import new_sync_client

    with new_sync_client(backend.resolve(), 30.0, max_retries=1) as client:
        return models.catalog_sync(client, refresh=refresh)


def _notice(text: str) -> tuple[str, str]:
    return static.wrap_static(h.el("div", h.esc(text), class_="cnb-notice")), text


def tables_for(args: argparse.Namespace, conversation: Conversation) -> list[tuple[str, str]]:
    """(HTML, text) of each table asked for; a failure is one line in place of its table."""
    out = []
    if args.models:
        try:
            listed = _models()
        except Exception as exc:
            out.append(_notice(redact(f"The Models API could not be reached: {exc}")))
            listed = []
        if listed is None:
            out.append(_notice("This endpoint has no Models API (GET /v1/models): "
                               "nothing to list."))
        elif listed:
            html, text = tables.models_table(listed)
            out.append((static.wrap_static(html), text))
    if args.usage:
        html, text = tables.usage_table(conversation.usage())
        out.append((static.wrap_static(html), text))
    return out


def show_tables(args: argparse.Namespace, conversation: Conversation, *, html: bool,
                namespace: dict[str, Any] | None = None) -> bool:
    """Display the tables asked for (HTML in a kernel, text in a terminal); False if none.
    `--usage -o NAME` also stores the rows (plain dicts, DataFrame-ready) in `namespace`."""
    if not wants_table(args):
        return False
    if args.usage and args.out and namespace is not None:
        namespace[args.out] = conversation.usage()
    for rich, text in tables_for(args, conversation):
        if html:
            from IPython.display import display

            display({"text/html": rich, "text/plain": text}, raw=True)
        else:
            print(text)
    return True
