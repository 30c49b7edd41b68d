"""The event inspector: the raw event timeline of a turn, observed on the wire.

`log.py` holds the values (`EventLog`), `tap.py` the transport that fills it.

The SDK drops `ping` frames and turns `event: error` into an exception, so the inspector
watches the bytes themselves: `TapTransport` wraps the httpx2 transport the SDK talks
through, passes every request and every response byte on unchanged, and hands a copy of
each `text/event-stream` body to the incremental SSE parser (`claude_nb.protocol.sse`:
`cut()` / `cut_end()` find frames, `decode()` reads one; no I/O). An `EventLog` gets one
`EventRecord` per frame, one per non-stream body (an HTTP error), and one `Exchange` per
HTTP request (retries and tool-loop turns each add one).

    log = EventLog()
    client = tapped_client(log, api_key=..., base_url=..., max_retries=0)
    ...stream a turn with `client` as usual...
    display(HTML(timeline_html(log))); log.write_jsonl("turn.jsonl")  # claude_nb.render.timeline

Times, all `time.monotonic()` based and kept relative to the moment the log's first request
was handed to the transport (`EventLog.request_sent_at`, t = 0; it includes connecting):

- `Exchange.headers`: the status line and headers arrived (the inner transport returned).
- `Exchange.first_byte`: the first byte of the body arrived. This is the TTFB the summary
  reports; the first complete frame's time is reported separately as `first_event_ms`.
- `EventRecord.t`: the chunk that completed the frame arrived.

Cost: a body chunk reaches the SDK before the tap looks at it (its time is taken on
arrival), so the tap adds no buffering and no latency; while the body streams the tap only
cuts frames out of it, and their JSON is decoded when the log is read. A chunk the consumer
never asked past (it stopped, or the SDK raised on `event: error`) is cut when the body is
closed; a small error body the SDK closes unread (before a retry) is read by the tap.
"""

from .log import EventLog, EventRecord, Exchange
from .tap import TapTransport, tapped_client, tapped_http_client

__all__ = ["EventLog", "EventRecord", "Exchange", "TapTransport", "tapped_client",
           "tapped_http_client"]
