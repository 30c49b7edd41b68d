"""`python -m claude_nb.loopback [--port N] [--delay S]`: serve echo replies until killed.

Prints the base URL first (flushed), so a parent process or a user can point
`ANTHROPIC_BASE_URL` at it.
"""

from __future__ import annotations

import argparse
import threading

from .script import Response, echo_reply
from .server import LoopbackServer
from .sse import Json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m claude_nb.loopback", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.03,
                        help="seconds between streamed events, so the demo visibly streams")
    args = parser.parse_args(argv)

    def reply(request: Json) -> Response:
        return echo_reply(request).stream().with_delay(args.delay)

    server = LoopbackServer(args.host, args.port, auto_reply=reply).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
