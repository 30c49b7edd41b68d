"""What a `{df}` context item costs: rendering a 1,000,000-row DataFrame for the prompt.

    python benchmarks/bench_context.py [--quick]

The item (shape, every column's dtype and null count, first and last rows as a Markdown
table, then redaction) against same-run baselines on the same frame: `str(df)` (pandas'
own truncated repr, what `{df}` sent before) and `df.isna().sum()` alone (the one pass over
every row the item needs). Also the whole prompt composition (`compose`, with the budget)
and a 1,000 × 1,000 numpy array. Medians of alternated runs; ratios are what to compare.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from claude_nb.context.compose import compose
from claude_nb.context.registry import render_value


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({
        "id": np.arange(rows), "price": rng.random(rows) * 100,
        "qty": rng.integers(0, 50, rows), "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        "when": pd.date_range("2024-01-01", periods=rows, freq="s"),
        "ok": rng.random(rows) > 0.5})
    df.loc[::97, "price"] = np.nan
    return df


def median_seconds(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):  # alternated, so drift and noise hit every variant alike
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(quick: bool) -> None:
    rows = 1_000_000
    runs = 5 if quick else 15
    df = frame(rows)
    arr = np.random.default_rng(2).random((1000, 1000))
    item = render_value(df)
    print(f"DataFrame {rows:,} rows × {df.shape[1]} columns, {df.memory_usage().sum() / 1e6:.0f} MB;"
          f" the item is {len(item.text):,} characters (str(df): {len(str(df)):,})")
    fns: dict[str, Callable[[], Any]] = {
        "str(df) (baseline)": lambda: str(df),
        "df.isna().sum() (baseline)": lambda: df.isna().sum(),
        "{df} item": lambda: render_value(df),
        "compose('{df}')": lambda: compose("Explain {df}", {"df": df}),
        "ndarray 1000×1000 item": lambda: render_value(arr),
    }
    result = median_seconds(fns, runs)
    base = result["str(df) (baseline)"]
    print(f"{'':28} {'median':>10} {'vs str(df)':>11}")
    for name, seconds in result.items():
        print(f"{name:28} {seconds * 1000:8.1f} ms {seconds / base:10.2f}x")
    worst = max(result["{df} item"], result["compose('{df}')"])
    null_pass = result["df.isna().sum() (baseline)"]
    print(f"\n1M-row DataFrame item: {worst * 1000:.0f} ms, {worst / null_pass:.2f}x its one "
          f"pass over the rows (null counts); {'under' if worst < 1 else 'OVER'} the 1 s limit")


if __name__ == "__main__":
    main("--quick" in sys.argv)
