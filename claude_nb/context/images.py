"""Figures and images become image content blocks (base64), which the model sees as pixels.

matplotlib Figures (and Axes: their figure) are saved as PNG; PIL Images are encoded as PNG
(downscaled to the API's useful size first); `IPython.display.Image` and raw PNG / JPEG /
GIF / WebP bytes are sent as they are when the API accepts them.
"""

from __future__ import annotations

import base64
import io
import struct
from typing import Any

from ..protocol.media import sniff_image
from .items import Rendered, image_tokens

__all__ = ["RENDERERS", "image_block", "render_image_bytes"]

MAX_SIDE = 1568  # longer sides are downscaled by the API anyway
MAX_BYTES = 5 * 1024 * 1024  # the API's per-image limit (base64 is larger; checked on raw)
def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def image_block(data: bytes, media_type: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": base64.b64encode(data).decode("ascii")}}


def _image(kind: str, data: bytes, media: str, size: tuple[int, int] | None) -> Rendered:
    dims = f"{size[0]}×{size[1]} px" if size else "size unknown"
    text = f"{kind} ({media}, {dims}, {len(data):,} bytes): attached as an image"
    return Rendered("image", text, images=(image_block(data, media),),
                    note=f"{media.split('/')[1].upper()} {dims}",
                    image_tokens=image_tokens(*(size or (None, None))))


def _not_sent(kind: str, why: str) -> Rendered:
    return Rendered("image", f"{kind}: not attached ({why})", truncated=True, note=why)


def render_pil(img: Any) -> Rendered:
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    if img.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return _image("PIL image", buf.getvalue(), "image/png", img.size)


def render_figure(fig: Any) -> Rendered:
    width, height = fig.get_size_inches()
    dpi = min(float(fig.dpi), MAX_SIDE / max(width, height, 1e-9))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = buf.getvalue()
    axes = len(fig.axes)
    return _image(f"matplotlib figure with {axes} axes", data, "image/png", _png_size(data))


def render_axes(ax: Any) -> Rendered:
    return render_figure(ax.figure)


def render_image_bytes(data: bytes, kind: str = "image bytes") -> Rendered | None:
    """Image bytes as a block, or None when the bytes are not an image the API accepts."""
    media = sniff_image(data)
    if media is None:
        return None
    if len(data) > MAX_BYTES:
        return _not_sent(kind, f"{len(data):,} bytes is over the API's 5 MB image limit")
    return _image(kind, data, media, _png_size(data) if media == "image/png" else None)


def render_ipython_image(img: Any) -> Rendered:
    data = img.data
    if isinstance(data, bytes):
        rendered = render_image_bytes(data, "IPython Image")
        if rendered is not None:
            return rendered
    where = getattr(img, "url", None) or getattr(img, "filename", None)
    return _not_sent("IPython Image", f"no embedded PNG/JPEG data; source {where!r} not fetched")


def render_bytes(data: Any) -> Rendered:
    rendered = render_image_bytes(bytes(data))
    if rendered is not None:
        return rendered
    from .generic import render_generic

    return render_generic(data)


RENDERERS: list[tuple[Any, Any]] = [
    ("matplotlib.figure.Figure", render_figure), ("matplotlib.axes._base._AxesBase", render_axes),
    ("PIL.Image.Image", render_pil), ("IPython.core.display.Image", render_ipython_image),
    (bytes, render_bytes), (bytearray, render_bytes),
]
