"""`python -m claude_nb.loopback [--demo] [--port N] [--delay S] [--log FILE]`: a local
Messages API for trying SDK code offline, until killed.

Prints the base URL first (flushed), so a parent process or a user can point
`ANTHROPIC_BASE_URL` at it; then one line per request on stderr (what the client sent:
endpoint, model, tools, tool_choice, the last user text; and the answer's status).
`--log FILE` (or `-` for stderr) also writes each request body as a JSON line.

Without `--demo` it echoes the last user message. With `--demo` it answers like the offline
demo backend: scripted tutorial answers, `tool_use` for an offered tool when the prompt
names it or `tool_choice` forces one (inputs derived from the tool's schema and the prompt),
JSON for `output_config` schemas, simulated errors on request.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from .script import Response, echo_reply
from .server import LoopbackServer, RequestRecord
from .sse import Json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m claude_nb.loopback",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.03,
                        help="seconds between streamed events, so answers visibly stream")
    parser.add_argument("--demo", action="store_true",
                        help="answer like claude_nb's offline demo backend instead of echoing")
    parser.add_argument("--log", metavar="FILE",
                        help="also write each request body as a JSON line ('-': stderr)")
    parser.add_argument("--quiet", action="store_true", help="no per-request lines")
    args = parser.parse_args(argv)

    answered: dict[int, str] = {}
    server = LoopbackServer(args.host, args.port,
                            auto_reply=_replier(args.demo, args.delay, answered)).start()
    print(server.base_url, flush=True)
    print(f"claude_nb loopback ({'demo answers' if args.demo else 'echo'}): set "
          f"ANTHROPIC_BASE_URL={server.base_url} (any API key works). Ctrl-C stops.",
          file=sys.stderr, flush=True)
    log_file = None if not args.log else (sys.stderr if args.log == "-" else
                                          open(args.log, "a", encoding="utf-8"))  # noqa: SIM115
    done = threading.Event()
    watcher = threading.Thread(target=_watch, daemon=True, args=(
        server, done, None if args.quiet else sys.stderr, log_file, answered))
    watcher.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        done.set()
        watcher.join(2)
        server.stop()
        if log_file not in (None, sys.stderr):
            log_file.close()


def _replier(demo: bool, delay: float, answered: dict[int, str]) -> Callable[[Json], Response]:
    """The auto-reply; notes which rule answered each request body (by identity) for the log."""
    if not demo:
        def echo(request: Json) -> Response:
            answered[id(request)] = "echo"
            return echo_reply(request).stream().with_delay(delay)
        return echo

    from ..demo.ask import read_request
    from ..demo.rules import DemoScript
    from ..demo.turns import paced

    script = DemoScript(delay)

    def reply(request: Json) -> Response:
        rule, response = script.respond(read_request(request))
        answered[id(request)] = rule
        return paced(response, delay)
    return reply


def _watch(server: LoopbackServer, done: threading.Event, out: TextIO | None,
           log_file: TextIO | None, answered: dict[int, str]) -> None:
    """Report each request once it has been answered (its status is known)."""
    seen = 0
    while not done.wait(0.1):
        records = list(server.requests)
        while seen < len(records) and (records[seen].status is not None or records[seen].error):
            record = records[seen]
            seen += 1
            if out is not None:
                print(describe(record, answered.pop(id(record.body), None)), file=out, flush=True)
            if log_file is not None:
                log_file.write(json.dumps({"time": time.strftime("%H:%M:%S"), "path": record.path,
                                           "status": record.status, "body": record.body},
                                          ensure_ascii=False) + "\n")
                log_file.flush()


def describe(record: RequestRecord, rule: str | None = None) -> str:
    """One line about a request: what the client sent and how it was answered."""
    body: Mapping[str, Any] = record.body if isinstance(record.body, Mapping) else {}
    parts = [time.strftime("%H:%M:%S"), f"POST {record.path}" if body else record.path,
             f"-> {record.status}"]
    if body.get("model"):
        parts.append(f"model={body['model']}")
    if "stream" in body:
        parts.append(f"stream={str(bool(body['stream'])).lower()}")
    messages = body.get("messages") or []
    if messages:
        parts.append(f"messages={len(messages)}")
    tools = [str(t.get("name") or t.get("type")) for t in body.get("tools") or []]
    if tools:
        parts.append(f"tools=[{', '.join(tools)}]")
    if body.get("tool_choice"):
        parts.append(f"tool_choice={json.dumps(body['tool_choice'])}")
    if body.get("thinking"):
        parts.append(f"thinking={json.dumps(body['thinking'])}")
    last = _last_user_text(messages)
    if last:
        parts.append(f"last user text: {json.dumps(last[:80] + ('…' if len(last) > 80 else ''))}")
    if rule:
        parts.append(f"answered by: {rule}")
    if record.error:
        parts.append(f"error: {record.error}")
    return "  ".join(parts)


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            texts = [b.get("text", "") for b in content or [] if b.get("type") == "text"]
            kinds = [b.get("type", "?") for b in content or [] if b.get("type") != "text"]
            return " ".join(texts) or f"[{', '.join(kinds)}]"
    return ""


if __name__ == "__main__":
    main()
