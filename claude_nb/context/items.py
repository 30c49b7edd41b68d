"""`ContextItem`: one piece of notebook context as sent, with what the preview card shows.

A renderer turns a live value into a `Rendered` (text, or image content blocks); the prompt
composer names it, redacts it, fits it to the budget and keeps the result as a `ContextItem`,
so the card shows exactly what went out: size, ~tokens, truncation and redactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["ContextItem", "Rendered", "image_tokens"]

# Images: the API charges about width*height/750 tokens, capped near 1,600 after its resize.
_IMAGE_TOKENS_MAX = 1600


def image_tokens(width: int | None, height: int | None) -> int:
    """The API's documented estimate for one image (w*h/750, at most ~1,600)."""
    if not width or not height:
        return _IMAGE_TOKENS_MAX
    return max(1, min(_IMAGE_TOKENS_MAX, width * height // 750))


@dataclass(frozen=True)
class Rendered:
    """What a renderer returns: a kind label, text and/or image blocks, and a size note."""

    kind: str
    text: str = ""
    images: tuple[dict[str, Any], ...] = ()
    truncated: bool = False
    note: str = ""  # e.g. "100,000 × 5, 8 rows shown"
    image_tokens: int = 0  # estimate for `images`
    redactions: tuple[str, ...] = ()  # what the renderer itself masked (secret-named keys)


@dataclass(frozen=True)
class ContextItem:
    """One named item of context: what the model receives and what the card lists."""

    name: str
    kind: str
    text: str = ""
    images: tuple[dict[str, Any], ...] = ()
    truncated: bool = False
    note: str = ""
    redactions: tuple[str, ...] = ()
    literal: bool = False  # a `{…}` that is not a variable: sent as written
    inline: bool = False  # a short value written into the prompt text itself
    image_token_estimate: int = 0
    budget_cut: int = 0  # characters removed by the context budget
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, rendered: Rendered, **more: Any) -> ContextItem:
        return cls(name=name, kind=rendered.kind, text=rendered.text, images=rendered.images,
                   truncated=rendered.truncated, note=rendered.note,
                   image_token_estimate=rendered.image_tokens,
                   redactions=rendered.redactions, **more)

    @property
    def size(self) -> int:
        """Bytes sent: the text's characters plus each image's base64 length."""
        return len(self.text) + sum(len(b["source"].get("data", "")) for b in self.images)

    @property
    def tokens(self) -> int:
        """A rough token estimate (~4 characters a token, images by their pixel count)."""
        return (len(self.text) + 3) // 4 + self.image_token_estimate

    def with_(self, **changes: Any) -> ContextItem:
        return replace(self, **changes)
