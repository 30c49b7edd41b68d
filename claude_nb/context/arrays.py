"""numpy arrays: shape, dtype, summary statistics over the whole array, and a small sample
(numpy's own summarised printing, so a huge array costs its statistics, not its text)."""

from __future__ import annotations

from typing import Any

from .items import Rendered

__all__ = ["RENDERERS"]

_STATS_KINDS = "biuf"  # bool, signed, unsigned, float: min / max / mean / std make sense


def _stats(a: Any) -> str:
    import numpy as np

    if a.size == 0 or a.dtype.kind not in _STATS_KINDS:
        return ""
    values = a.astype(np.float64, copy=False) if a.dtype.kind == "b" else a
    with np.errstate(all="ignore"):
        parts = [f"min {np.nanmin(values):.6g}", f"max {np.nanmax(values):.6g}",
                 f"mean {np.nanmean(values):.6g}", f"std {np.nanstd(values):.6g}"]
    nans = int(np.isnan(values).sum()) if a.dtype.kind == "f" else 0
    if nans:
        parts.append(f"{nans:,} NaN")
    return "Stats: " + ", ".join(parts)


def render_ndarray(a: Any) -> Rendered:
    import numpy as np

    shape = " × ".join(f"{d:,}" for d in a.shape) or "scalar"
    sample = np.array2string(a, threshold=60, edgeitems=3, max_line_width=100, precision=6)
    summarised = a.size > 60
    lines = [f"numpy array: shape ({shape}), dtype {a.dtype}, {a.nbytes:,} bytes"]
    stats = _stats(a)
    if stats:
        lines.append(stats)
    lines += ["Sample:" if summarised else "Values:", sample]
    return Rendered("ndarray", "\n".join(lines), truncated=summarised, note=f"shape {shape}")


RENDERERS = [("numpy.ndarray", render_ndarray)]
