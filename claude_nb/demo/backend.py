"""The offline demo backend: the loopback server with scripted, clearly labelled answers.

Used when no API key is set (or `CLAUDE_NB_BACKEND=demo`), and by
`python -m claude_nb.loopback --demo`. It answers the tutorial notebooks' prompts with
realistic streams (Markdown with code and tables, thinking, calls to the offered tools, web
search with citations, errors on request) and any other prompt with a short note on demo
mode. Every answer says it is a demo and names `DEMO_MODEL` in `message_start`; nothing
pretends to be a model. Streams are paced like a real one (so Stop can be tried) but short.

How a request is answered (`rules.DemoScript.respond`, first match wins):

1. the last user message holds only `tool_result`s: a final turn that uses the results;
2. a prompt asking to *simulate* an error: that error (`ERROR_RULES`);
3. tools are offered (and `tool_choice` is not "none"): a `tool_use` turn when the prompt
   asks for one (`TOOL_RULES`), names one, or `tool_choice` forces one; the input comes from
   the tool's schema and the prompt (`tooluse.fill`);
4. a prefill that opens JSON: completed into valid JSON (`structured`);
5. JSON asked for (`--json`, `--schema`): one JSON value, schema-valid when there is one;
6. the web search tool is offered: a search, results and a cited answer (example URLs);
7. a tutorial prompt: its scripted answer (`RULES`);
8. anything else: what demo mode is and how to set a key.

The request is honoured: extended thinking adds a thinking block (with a signature),
`max_tokens` cuts a long answer (`stop_reason: "max_tokens"`), a prefill is continued.
The modules: `ask` (the request, read once), `texts` (the scripted content), `turns`,
`errors`, `tooluse`, `structured`, `answers` (building answers), `rules` (the tables).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..loopback import LoopbackServer, Response
from .rules import DemoScript
from .turns import DELAY

__all__ = ["BATCH_DELAY", "demo_reply", "make_demo_server"]

BATCH_DELAY = 1.5  # seconds a demo Message Batch stays `in_progress` (answered as above)

_default = DemoScript()


def demo_reply(request: Mapping[str, Any]) -> Response:
    """Answer one Messages request in demo mode (see the module docstring for the rules)."""
    return _default(request)


def make_demo_server(delay: float = DELAY, host: str = "127.0.0.1",
                     port: int = 0) -> LoopbackServer:
    server = LoopbackServer(host, port, auto_reply=DemoScript(delay))
    server.batches.delay = BATCH_DELAY
    return server
