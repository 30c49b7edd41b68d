"""The state file that makes `map` resumable: answers by content key, and submitted batches.

An append-only JSON Lines file. Each line is one fact, written as one `write` call:

    {"answer": key, "text": ..., "usage": {...}, "stop_reason": ..., "model": ..., "batch": bool}
    {"batch": id, "keys": [key, ...]}      submitted: written (and fsynced) before any waiting
    {"collected": id}                      its results were read: don't poll it again

A crash can cut the last line short; reading skips it. Only answers are stored, never
errors, so a re-run sends again what failed, and never the API key or request headers.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["Store", "default_path"]


def default_path() -> Path:
    """`.claude_nb/<notebook>.map.jsonl` beside the notebook (Jupyter starts kernels in the
    notebook's folder and names it in JPY_SESSION_NAME), else `.claude_nb/map.jsonl` in the
    current folder."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    stem = Path(session).stem if session.endswith(".ipynb") else "map"
    return Path.cwd() / ".claude_nb" / f"{stem}.map.jsonl"


class Store:
    """Answers and batches, in memory and (unless `path` is None) in the state file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.answers: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, list[str]] = {}  # batch id -> keys, in submission order
        self.collected: set[str] = set()
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        with path.open(encoding="utf-8") as f:
            for line in f:
                try:
                    fact = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash
                if "answer" in fact:
                    self.answers[fact["answer"]] = fact
                elif "batch" in fact and "keys" in fact:
                    self.batches[fact["batch"]] = fact["keys"]
                elif "collected" in fact:
                    self.collected.add(fact["collected"])

    def _append(self, facts: list[dict[str, Any]], sync: bool = False) -> None:
        if self.path is None or not facts:
            return
        data = "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts).encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def add_answers(self, answers: list[dict[str, Any]]) -> None:
        """Record answers (each with its key under "answer")."""
        for answer in answers:
            self.answers[answer["answer"]] = answer
        self._append(answers)

    def add_batch(self, batch_id: str, keys: list[str]) -> None:
        self.batches[batch_id] = keys
        self._append([{"batch": batch_id, "keys": keys}], sync=True)

    def mark_collected(self, batch_id: str) -> None:
        self.collected.add(batch_id)
        self._append([{"collected": batch_id}], sync=True)

    def open_batches(self, keys: set[str]) -> dict[str, list[str]]:
        """Submitted, not yet collected batches holding any of `keys`."""
        return {b: ks for b, ks in self.batches.items()
                if b not in self.collected and not keys.isdisjoint(ks)}
