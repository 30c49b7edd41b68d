"""Test helpers shared across test modules (importable as `support`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_nb.loopback.sse import TRANSCRIPTS  # the package's own reference files

REPO = Path(__file__).resolve().parents[1]


def sse_events(name: str) -> list[dict[str, Any]]:
    """The data objects of a reference .sse file, in order (ping included)."""
    events = []
    for frame in (TRANSCRIPTS / f"{name}.sse").read_text().split("\n\n"):
        for line in frame.splitlines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:].strip()))
    return events


def transcript_names() -> list[str]:
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.sse"))
