"""`claude_nb.map`: one prompt over many items, in parallel or through the Batches API."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..protocol.errors import ConfigError
from ..protocol.options import DEFAULT_MODEL, Options
from ..run.toolschema import as_tool
from .batches import MAX_BATCH_BYTES, MAX_BATCH_REQUESTS
from .items import render_prompts
from .job import Job
from .requests import build_requests
from .results import MapResult
from .store import Store, default_path

__all__ = ["BATCH_ABOVE", "map"]

BATCH_ABOVE = 5_000  # `batch=None` uses the Batches API when more items than this are missing


def map(prompt: str | Callable[[Any], str], items: Any, *, model: str = DEFAULT_MODEL,
        system: str | None = None, schema: Any = None, json: bool = False, tools: Any = (),
        max_tokens: int = 1024, temperature: float | None = None, concurrency: int = 16,
        batch: bool | None = False, cache: str | Path | bool = True,
        cache_prefix: bool = True, progress: bool = True,
        batch_limits: tuple[int, int] = (MAX_BATCH_REQUESTS, MAX_BATCH_BYTES)) -> MapResult:
    """Run `prompt` over `items`; results come back in input order.

    prompt: a template (`{x}` is the item; for a DataFrame, `{column}` names) or a
        function item -> prompt (for a DataFrame it gets each row as a Series).
    items: a list (or any iterable), a pandas Series or a DataFrame.
    schema: a pydantic model class or a JSON schema: each `.data` is validated (a model
        instance); an answer that does not match is an error with its text kept.
        `json=True` asks for JSON without a schema.
    concurrency: requests in flight at once in parallel mode (fewer while rate limited).
    batch: True sends through the Message Batches API (half price, results within 24 h);
        None chooses it when more than `BATCH_ABOVE` items are missing.
    cache: the state file (True: `.claude_nb/<notebook>.map.jsonl` beside the notebook; a
        path; False: keep nothing). Answers and batch ids are kept there, so running the
        same map again sends only what is missing and picks up a batch already submitted.
    cache_prefix: mark the shared prefix (tools, system) for prompt caching.

    Blocks until done and returns the finished result; called from a coroutine (an
    `async def`, or a notebook cell that uses `await`) it returns the pending result to
    `await`. Ctrl-C / a kernel interrupt / Stop keeps every answer received.
    """
    labels, prompts = render_prompts(prompt, items)
    options = Options(model=model, system=system, max_tokens=max_tokens, json=json,
                      schema=schema, temperature=temperature,
                      tools=tuple(as_tool(t) for t in tools))
    if concurrency < 1:
        raise ConfigError("concurrency must be at least 1.", title="Invalid option")
    requests = build_requests(prompts, options, cache_prefix)
    path = default_path() if cache is True else (Path(cache) if cache else None)
    job = Job(labels, prompts, requests, options, Store(path))
    job.index = getattr(items, "index", None) if not isinstance(items, (list, tuple)) else None
    use_batch = bool(batch) or (batch is None and len(job.missing()) > BATCH_ABOVE)
    if use_batch and options.tools:
        raise ConfigError("Python tools run only in parallel mode: a batch cannot call back "
                          "into this kernel.", title="Tools need parallel mode")
    result = MapResult(job, batch=use_batch, concurrency=concurrency, limits=batch_limits,
                       progress=progress)
    if _called_from_coroutine():
        return result
    return result.wait()


def _called_from_coroutine() -> bool:
    """Whether `map`'s caller is a coroutine (an `async def`, or an IPython cell compiled for
    top-level `await`): then it gets the pending result to await."""
    frame = sys._getframe(2)
    return bool(frame.f_code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE))
