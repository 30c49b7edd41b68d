"""pandas / polars DataFrames and Series: shape, every column's dtype and null count, and the
first (and last) rows as a Markdown table; never the whole of a large frame.

Cost stays bounded for any length: only the null counts touch every row (vectorised), the
table reads `HEAD + TAIL` rows and at most `TABLE_COLUMNS` columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..protocol.redact import secret_name
from .items import Rendered

__all__ = ["RENDERERS", "markdown_table"]

HEAD, TAIL, SHORT = 8, 3, 15  # a frame of up to SHORT rows is shown whole
TABLE_COLUMNS = 30  # columns in the sample table
LISTED_COLUMNS = 200  # columns listed with dtype and nulls
CELL = 40  # characters per table cell


def _cell(value: Any) -> str:
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= CELL else text[:CELL - 1] + "…"


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-style Markdown table, each cell one line and capped at `CELL` characters."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _sample_note(n_rows: int) -> tuple[str, bool]:
    if n_rows <= SHORT:
        return f"all {n_rows:,} rows", False
    return f"first {HEAD} and last {TAIL} of {n_rows:,} rows", True


def _columns_listing(entries: Iterable[tuple[Any, Any, int]], total: int) -> list[str]:
    lines = ["Columns (name: dtype, nulls):"]
    lines += [f"- {name}: {dtype}, {nulls:,} nulls" for name, dtype, nulls in entries]
    if total > LISTED_COLUMNS:
        lines.append(f"- … {total - LISTED_COLUMNS:,} more columns not listed")
    return lines


def _masked(header: Sequence[Any],
            rows: list[list[Any]]) -> tuple[list[list[Any]], tuple[str, ...]]:
    """Values of columns named like secrets (`password`, `api_key`) become a mark."""
    secret = [i for i, name in enumerate(header) if isinstance(name, str) and secret_name(name)]
    if not secret:
        return rows, ()
    for row in rows:
        for i in secret:
            if row[i] != "…":
                row[i] = f"[redacted {header[i]}]"
    return rows, tuple(f"values of column {header[i]!r}" for i in secret)


# ---- pandas

def _pandas_rows(frame: Any) -> list[list[Any]]:
    return [list(row) for row in frame.itertuples(index=True, name=None)]


def render_pandas_frame(df: Any) -> Rendered:
    n_rows, n_cols = df.shape
    listed = df.iloc[:, :LISTED_COLUMNS]
    nulls = listed.isna().sum().to_numpy()
    entries = [(name, dtype, int(n)) for (name, dtype), n in zip(listed.dtypes.items(), nulls)]
    index = df.index
    lines = [f"pandas DataFrame: {n_rows:,} rows × {n_cols:,} columns",
             f"Index: {type(index).__name__}" + (f" {index.name!r}" if index.name is not None
                                                 else "") + f" ({index.dtype})",
             *_columns_listing(entries, n_cols), ""]
    shown = df.iloc[:, :TABLE_COLUMNS]
    header = [index.name or "", *shown.columns]
    sample, long = _sample_note(n_rows)
    if long:
        rows = _pandas_rows(shown.iloc[:HEAD]) + [["…"] * len(header)] + \
            _pandas_rows(shown.iloc[-TAIL:])
    else:
        rows = _pandas_rows(shown)
    rows, masked = _masked(header, rows)
    more_cols = f"; first {TABLE_COLUMNS} of {n_cols:,} columns" if n_cols > TABLE_COLUMNS else ""
    lines += [f"Rows ({sample}{more_cols}):", markdown_table(header, rows)]
    return Rendered("DataFrame", "\n".join(lines), truncated=long or n_cols > TABLE_COLUMNS,
                    note=f"{n_rows:,} × {n_cols:,}", redactions=masked)


def render_pandas_series(s: Any) -> Rendered:
    n = len(s)
    sample, long = _sample_note(n)
    part = [s.iloc[:HEAD], None, s.iloc[-TAIL:]] if long else [s]
    rows: list[list[Any]] = []
    for chunk in part:
        rows += [["…", "…"]] if chunk is None else [[i, v] for i, v in chunk.items()]
    header = [s.index.name or "", s.name if s.name is not None else "value"]
    rows, masked = _masked(header, rows)
    lines = [(f"pandas Series {s.name!r}: {n:,} values, dtype {s.dtype}, "
             f"{int(s.isna().sum()):,} nulls"), f"Values ({sample}):",
             markdown_table(header, rows)]
    return Rendered("Series", "\n".join(lines), truncated=long, note=f"{n:,} values",
                    redactions=masked)


# ---- polars

def render_polars_frame(df: Any) -> Rendered:
    n_rows, n_cols = df.shape
    nulls = df.null_count().row(0) if n_cols else ()
    entries = [(name, dtype, int(k)) for (name, dtype), k in
               zip(list(df.schema.items())[:LISTED_COLUMNS], nulls)]
    lines = [f"polars DataFrame: {n_rows:,} rows × {n_cols:,} columns",
             *_columns_listing(entries, n_cols), ""]
    shown = df.select(df.columns[:TABLE_COLUMNS])
    sample, long = _sample_note(n_rows)
    rows = [list(r) for r in shown.head(HEAD).rows()] + [["…"] * shown.width] + \
        [list(r) for r in shown.tail(TAIL).rows()] if long else \
        [list(r) for r in shown.rows()]
    rows, masked = _masked(shown.columns, rows)
    lines += [f"Rows ({sample}):", markdown_table(shown.columns, rows)]
    return Rendered("DataFrame", "\n".join(lines), truncated=long or n_cols > TABLE_COLUMNS,
                    note=f"{n_rows:,} × {n_cols:,}", redactions=masked)


def render_polars_series(s: Any) -> Rendered:
    n = len(s)
    sample, long = _sample_note(n)
    values = s.head(HEAD).to_list() + ["…"] + s.tail(TAIL).to_list() if long else s.to_list()
    header = [s.name or "value"]
    rows, masked = _masked(header, [[v] for v in values])
    lines = [(f"polars Series {s.name!r}: {n:,} values, dtype {s.dtype}, "
             f"{int(s.null_count()):,} nulls"), f"Values ({sample}):",
             markdown_table(header, rows)]
    return Rendered("Series", "\n".join(lines), truncated=long, note=f"{n:,} values",
                    redactions=masked)


RENDERERS = [
    ("pandas.DataFrame", render_pandas_frame), ("pandas.Series", render_pandas_series),
    ("polars.DataFrame", render_polars_frame), ("polars.Series", render_polars_series),
]
