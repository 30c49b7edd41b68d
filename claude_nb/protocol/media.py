"""Image formats by their magic bytes: what a tool returned, and what may become an `<img>`.

Used by the tool-result conversion (bytes a tool returned become an image block) and by the
sanitiser (a `data:` URL is built only from bytes that really are the format they claim).
"""

from __future__ import annotations

__all__ = ["IMAGE_TYPES", "sniff_image"]

#: The raster formats the API accepts and outputs may show (never SVG: it can run script).
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str | None:
    """The media type of an image in `IMAGE_TYPES` that `data` starts with, else None."""
    for magic, media_type in _MAGIC:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
