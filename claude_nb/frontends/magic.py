"""`%%claude` and `%claude`: thin IPython layers over `session.Conversation`.

In a kernel the cell is rewritten to `await ...` (an input transformer), so the kernel keeps
handling widget messages (the Stop button) while the answer streams, and the cell stays
running until the turn ends (headless runs keep only the running cell's output). In terminal
IPython the magic runs synchronously and prints the text; Ctrl-C stops the stream cleanly.

Kernel interrupt and Ctrl-C close the stream, keep the partial answer, then re-raise
KeyboardInterrupt so "Run All" stops; the Stop button ends the cell normally.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, CFloat, CInt, Enum, Unicode, Union
from traitlets.config import Configurable

from ..context.compose import Composed
from ..context.errors import ErrorRecorder
from ..protocol.errors import ClaudeNBError, ConfigError
from ..protocol.options import DEFAULT_MODEL, Options
from ..run.session import Conversation, Reply
from . import apiopts, exporting, nbcontext, resume
from .terminal import Interrupted

__all__ = ["ClaudeMagics", "load", "unload"]


class Claude(Configurable):
    """Defaults for `%%claude` (`%config Claude.model = "..."`, or ipython_config.py)."""

    model = Unicode(DEFAULT_MODEL, help="Model name.").tag(config=True)
    system = Unicode("", help="System prompt.").tag(config=True)
    max_tokens = CInt(8192, help="Maximum output tokens per request.").tag(config=True)
    thinking = Union([CInt(), Enum(["adaptive"])], default_value=0,
                     help="Extended thinking: a budget in tokens, 'adaptive' (the model "
                     "decides), or 0 = off.").tag(config=True)
    effort = Unicode("", help="output_config.effort: low, medium, high, xhigh or max "
                     "('' = the model's default).").tag(config=True)
    cache = Unicode("5m", help="Prompt caching of the conversation: '5m', '1h' or 'off'."
                    ).tag(config=True)
    compact = Bool(False, help="Server-side compaction: earlier turns are summarized when "
                   "the context grows long.").tag(config=True)
    temperature = CFloat(-1.0, help="Sampling temperature (-1 = API default).").tag(config=True)
    read_timeout = CFloat(120.0, help="Seconds without a byte before the stream counts as "
                          "stalled.").tag(config=True)
    max_retries = CInt(2, help="Retries for 429/5xx/529 and failed connections.").tag(config=True)
    retry_cap = CFloat(30.0, help="Longest retry-after (s) waited for; longer fails at once."
                       ).tag(config=True)
    max_iterations = CInt(10, help="Cap on requests in one tool loop.").tag(config=True)
    interpolate = Bool(True, help="Replace {name} with notebook variables.").tag(config=True)
    context_budget = CInt(20_000, help="Tokens of notebook context ({name}, --error, --cells) "
                          "per prompt; the largest items are cut first.").tag(config=True)
    error_button = Bool(True, help="An 'Ask Claude' button under a failing cell's traceback."
                        ).tag(config=True)
    auto_resume = Bool(False, help="On the first %%claude of a fresh kernel, continue the "
                       "conversation saved in this notebook (as %claude --resume)."
                       ).tag(config=True)

    def options(self) -> Options:
        return Options(model=self.model, system=self.system or None, max_tokens=self.max_tokens,
                       thinking=self.thinking or None, effort=self.effort or None,
                       cache=self.cache, compact=self.compact,
                       temperature=None if self.temperature < 0 else self.temperature,
                       read_timeout=self.read_timeout, max_retries=self.max_retries,
                       retry_cap=self.retry_cap, max_iterations=self.max_iterations)


class _HelpShown(Exception):
    """`--help` printed the usage: the cell is done, successfully."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel
        raise ConfigError(f"{message}\n\n{self.format_usage()}", title="Bad %%claude options")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise _HelpShown  # only `--help` gets here; it has already printed the usage


class ErrorShown(ClaudeNBError):
    """Raised after the error was shown (card or terminal line): the cell fails, so Run All
    stops, but the red block only says so instead of repeating the error."""

    def __init__(self, error: ClaudeNBError) -> None:
        super().__init__(error.message, title=error.title, request_id=error.request_id,
                         hint=error.hint)
        self.error = error

    def _render_traceback_(self) -> list[str]:
        return ["claude_nb: the cell failed (the error is shown above)."]


EMPTY_HINT = ("Nothing sent: the prompt is empty. Write it below the %%claude line (or after "
              "%claude); %claude --history shows the conversation so far.")


def _parser() -> _Parser:
    p = _Parser(prog="%%claude", add_help=True,
                description="Ask Claude; the cell body is the prompt. Multi-turn by default.")
    p.add_argument("-m", "--model")
    p.add_argument("-s", "--system", help="system prompt for this and later turns")
    p.add_argument("--max-tokens", type=int)
    p.add_argument("-t", "--thinking", type=apiopts.thinking_arg, metavar="BUDGET|adaptive",
                   help="thinking budget in tokens, or adaptive (the model decides)")
    p.add_argument("--temperature", type=float)
    p.add_argument("--new", action="store_true", help="start a fresh conversation")
    p.add_argument("-o", "--out", metavar="VAR", help="store the Reply in this variable")
    p.add_argument("--tools", metavar="F,G", help="Python functions to offer as tools")
    p.add_argument("--web-search", action="store_true", help="enable the web search tool")
    p.add_argument("--prefill", metavar="TEXT", help="start the answer with this text")
    p.add_argument("--json", action="store_true", help="structured output: one JSON value, "
                   "shown as a live tree; -o stores the parsed data")
    p.add_argument("--schema", metavar="VAR", help="JSON schema dict or pydantic model "
                   "(a notebook variable) the answer must follow; implies --json")
    p.add_argument("--events", action="store_true", help="show the raw event timeline")
    p.add_argument("--count", action="store_true", help="count the prompt's input tokens "
                   "(with the history) instead of sending it")
    p.add_argument("--history", action="store_true", help="show the conversation so far")
    p.add_argument("--no-interpolate", action="store_true", help="send {name} literally")
    nbcontext.add_options(p)
    apiopts.add_options(p)
    resume.add_options(p)
    exporting.add_options(p)
    p.add_argument("prompt", nargs=argparse.REMAINDER)
    return p


@magics_class
class ClaudeMagics(Magics):
    shell: InteractiveShell  # never None here: these magics are built with their shell

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.config_obj = Claude(parent=shell)
        self.conversation = Conversation(options=self.config_obj.options())
        self.last_reply: Reply | None = None
        self._system: str | None = None
        self.errors = ErrorRecorder()  # the last failing cell, for --error / --fix
        self.last_context: Composed | None = None
        self.resume_tried = False  # --resume ran, or auto_resume had its one chance
        self.notice: str | None = None  # what --resume / auto_resume / --export said

    # ---- parsing

    def prepare(self, line: str, cell: str | None) -> tuple[argparse.Namespace, Reply | None]:
        """Parse options and build the reply (None when the cell only asked for history)."""
        args = _parser().parse_args(shlex.split(line, posix=True))
        text = cell if cell is not None else " ".join(args.prompt)
        if cell is not None and args.prompt:
            raise ConfigError(f"Unexpected text after the options: {' '.join(args.prompt)!r}. "
                              "The prompt goes in the cell body.", title="Bad %%claude options")
        cfg = self.config_obj
        if args.new:
            self.conversation.reset()
            self._system = None
        said = (resume.apply(self, args), exporting.apply(self, args))
        self.notice = "\n".join(n for n in said if n) or None
        if args.system is not None:  # a system prompt given once holds for the conversation
            self._system = args.system
        self.conversation.options = cfg.options().merge(system=self._system)
        text = nbcontext.default_prompt(args, text)
        if args.history or apiopts.wants_table(args) or not text.strip():
            return args, None
        self.last_context = nbcontext.compose_cell(
            text.strip(), args, self.shell, budget=cfg.context_budget, recorder=self.errors,
            interpolate=cfg.interpolate and not args.no_interpolate)
        overrides: dict[str, Any] = {
            "model": args.model, "max_tokens": args.max_tokens, "thinking": args.thinking,
            "temperature": args.temperature, "web_search": args.web_search or None,
            "prefill": args.prefill, "json": args.json or None, "events": args.events or None,
            **apiopts.overrides(args)}
        if args.schema:
            if args.schema not in self.shell.user_ns:
                raise ConfigError(f"No variable named {args.schema!r} for --schema.",
                                  title="Bad %%claude options")
            overrides["schema"] = self.shell.user_ns[args.schema]
        if args.tools:
            from ..run.toolnames import resolve_names

            overrides["tools"] = resolve_names(args.tools, self.shell.user_ns,
                                               self.shell.user_ns_hidden)
        return args, self.conversation.send(self.last_context.prompt, **overrides)

    def _finish(self, args: argparse.Namespace, reply: Reply) -> Any:
        self.last_reply = reply
        if args.out:
            structured = args.json or args.schema
            self.shell.user_ns[args.out] = reply.data if structured else reply
        if reply.error is not None:  # already shown, in the card or the terminal
            raise ErrorShown(reply.error) from None
        if reply.stop_reason_user == "interrupt":
            raise Interrupted from None
        return None

    # ---- entry points

    async def run_async(self, line: str, cell: str | None) -> Any:
        """The kernel path: stream into a live view while awaiting."""
        from .display import (
            show_count,
            show_error,
            show_history,
            show_notice,
            stream_live,
        )

        try:
            args, reply = self.prepare(line, cell)
        except _HelpShown:
            return None
        except ClaudeNBError as err:
            show_error(err)
            raise ErrorShown(err) from None
        if self.notice:
            show_notice(self.notice)
        if reply is None:
            if args.history:
                show_history(self.conversation)
            elif not apiopts.show_tables(args, self.conversation, html=True,
                                         namespace=self.shell.user_ns) and not self.notice:
                show_notice(EMPTY_HINT)
            return None
        if args.count:
            count = await self.conversation.count_tokens(reply)
            demo = _demo_backend()  # the demo's count is an estimate: never "counted by the API"
            if not nbcontext.show_context(self.last_context, counted=None if demo else count) \
                    or demo:
                show_count(count, demo=demo)
            return None
        nbcontext.show_context(self.last_context)
        await stream_live(reply, insert_cells=True)
        nbcontext.offer_fix(args, reply, self.shell)
        return self._finish(args, reply)

    def run_sync(self, line: str, cell: str | None) -> Any:
        """Terminal IPython (or a kernel that can't await): print as it streams."""
        from .terminal import count_text, print_history, stream_to_terminal

        try:
            args, reply = self.prepare(line, cell)
        except _HelpShown:
            return None
        if self.notice:
            print(self.notice)
        if reply is None:
            if args.history:
                print_history(self.conversation)
            elif not apiopts.show_tables(args, self.conversation, html=False,
                                         namespace=self.shell.user_ns) and not self.notice:
                print(EMPTY_HINT)
            return None
        if args.count:
            import asyncio

            count = asyncio.run(self.conversation.count_tokens(reply))
            demo = _demo_backend()
            card = nbcontext.context_text(self.last_context, None if demo else count)
            print(card if card and not demo else "\n".join(
                filter(None, [card, count_text(count, demo=demo)])))
            return None
        card = nbcontext.context_text(self.last_context)
        if card:
            print(card)
        stream_to_terminal(reply)
        nbcontext.offer_fix(args, reply, self.shell, terminal=True)
        return self._finish(args, reply)

    @cell_magic("claude")  # type: ignore[arg-type]  # IPython's stub binds its TypeVar to Never
    def claude_cell(self, line: str, cell: str) -> Any:
        return self.run_sync(line, cell)

    @line_magic("claude")  # type: ignore[arg-type]  # (same)
    def claude_line(self, line: str) -> Any:
        return self.run_sync(line, None)


def _demo_backend() -> bool:
    """Whether requests go to the offline demo (its token counts are estimates)."""
    from ..run.backend import resolve

    return resolve().demo


# ---- the input transformer: %%claude awaitable in a kernel; `?` at the end stays a question

_CALL = "await get_ipython().magics_manager.registry['ClaudeMagics'].run_async({line!r}, {cell})"
_LINE = "get_ipython().run_line_magic('claude', {line!r})"


def _is_magic(line: str, name: str) -> bool:
    return line.startswith(name) and (len(line) == len(name) or line[len(name)] in " \t")


def _claude_transform(lines: list[str]) -> list[str]:
    """Rewrite `%%claude` cells and `%claude` lines before IPython's other transforms.

    In a kernel (with autoawait) a cell that is one `%%claude` (or one `%claude` line) becomes
    an `await`, so the kernel stays responsive while it streams. Elsewhere (terminal IPython,
    `%autoawait off`, a `%claude` line among other code) each `%claude` line becomes an
    explicit call, so a trailing `?` is part of the question and not IPython's help syntax
    (`Object `France` not found.`)."""
    from IPython import get_ipython

    shell = get_ipython()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    head = lines[first].rstrip("\n")
    if _in_kernel(shell) and shell.autoawait:
        if _is_magic(head, "%%claude"):
            body = "".join(lines[first + 1:])
            return [_CALL.format(line=head[8:].strip(), cell=repr(body)) + "\n"]
        rest = "".join(lines[first + 1:]).strip()
        if _is_magic(head, "%claude") and not rest:
            return [_CALL.format(line=head[7:].strip(), cell="None") + "\n"]
    if _is_magic(head, "%%claude"):
        return lines  # IPython's cell-magic transform runs before its help syntax
    out = []
    for line in lines:
        text = line.rstrip("\n")
        out.append(_LINE.format(line=text[7:].strip()) + "\n" if _is_magic(text, "%claude")
                   else line)
    return out


def _in_kernel(shell: Any) -> bool:
    return getattr(shell, "kernel", None) is not None


def load(shell: Any) -> None:
    # Importing the SDK takes seconds: pay it here, not inside the first answer's stream.
    # (Not on a thread: a concurrent import of the same package can see it half-made.)
    importlib.import_module("anthropic")
    magics = ClaudeMagics(shell)
    shell.register_magics(magics)
    shell.configurables.append(magics.config_obj)  # so `%config Claude.x = ...` reaches it
    nbcontext.install(shell, magics)
    cleanup = shell.input_transformer_manager.cleanup_transforms
    if _claude_transform not in cleanup:
        cleanup.append(_claude_transform)


def unload(shell: Any) -> None:
    nbcontext.uninstall(shell)
    cleanup = shell.input_transformer_manager.cleanup_transforms
    if _claude_transform in cleanup:
        cleanup.remove(_claude_transform)
