"""Test helpers shared across test modules (importable as `support`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_nb.loopback.sse import TRANSCRIPTS, split_frames  # the package's own reference files
from claude_nb.protocol.sse import parse_frame

REPO = Path(__file__).resolve().parents[1]


def sse_events(name: str) -> list[dict[str, Any]]:
    """The data objects of a reference .sse file, in order (ping included)."""
    frames = split_frames((TRANSCRIPTS / f"{name}.sse").read_bytes())
    return [data for _, data in map(parse_frame, frames) if data is not None]


def transcript_names() -> list[str]:
    return sorted(p.stem for p in TRANSCRIPTS.glob("*.sse"))
