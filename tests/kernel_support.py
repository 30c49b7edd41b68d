"""Driving a real IPython kernel (jupyter_client) in tests: execute, collect, interrupt."""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator

from contextlib import contextmanager


@dataclass
class Execution:
    msg_id: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    displays: dict[str, dict[str, Any]] = field(default_factory=dict)  # display_id -> data
    error: dict[str, Any] | None = None
    stream: str = ""


@contextmanager
def kernel() -> Iterator[Any]:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def collect(kc: Any, msg_id: str, timeout: float = 30.0) -> Execution:
    """Read iopub until the cell is idle; apply display updates like a frontend would."""
    ex = Execution(msg_id)
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"cell {msg_id} did not finish") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind in ("display_data", "update_display_data", "execute_result"):
            did = content.get("transient", {}).get("display_id")
            if did:
                ex.displays[did] = content["data"]
            if kind != "update_display_data":
                ex.outputs.append(content)
        elif kind == "stream":
            ex.stream += content["text"]
        elif kind == "error":
            ex.error = content
        elif kind == "status" and content["execution_state"] == "idle":
            return ex


def run(kc: Any, code: str, timeout: float = 30.0) -> Execution:
    return collect(kc, kc.execute(code), timeout)


def shown(ex: Execution) -> str:
    """Everything a reader sees in the cell's output: HTML or plain text, stream, error."""
    parts = [ex.stream]
    for out in ex.outputs:
        data = out.get("data", {})
        parts.append(data.get("text/html") or data.get("text/plain", ""))
    parts.extend(d.get("text/html", "") for d in ex.displays.values())
    if ex.error:
        parts.extend(ex.error["traceback"])
    return "\n".join(parts)
