"""A faithful local stand-in for the Messages API, for tests and the offline demo.

    with LoopbackServer() as srv:
        srv.enqueue(transcript("thinking"), text_turn("hi").stream().drop_after(3))
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="test")
"""

from .script import (
    BAD_JSON, DROP, FAKE_SIGNATURE, GARBAGE_LINE, HttpError, Pause, RawBlock, RedactedThinking,
    Response, ServerToolUse, Stream, Text, Thinking, ToolUse, Turn, WebSearchResult, as_stream,
    echo_reply, estimate_tokens, http_error, http_error_file, text_turn,
)
from .records import RequestRecord, StreamRecord
from .server import LoopbackServer
from .sse import assemble, frame, http_error_names, transcript, transcript_names
from .validate import validate

__all__ = [
    "LoopbackServer", "RequestRecord", "StreamRecord",
    "Turn", "Text", "Thinking", "RedactedThinking", "ToolUse", "ServerToolUse",
    "WebSearchResult", "RawBlock", "text_turn", "FAKE_SIGNATURE",
    "Stream", "Pause", "DROP", "GARBAGE_LINE", "BAD_JSON", "as_stream",
    "HttpError", "http_error", "http_error_file", "Response",
    "echo_reply", "estimate_tokens", "validate",
    "frame", "assemble", "transcript", "transcript_names", "http_error_names",
]
