"""Notebook context renderers with real pandas / numpy / matplotlib / PIL objects, the
registry, the budget and the prompt composer (what is sent, and what the card lists)."""

from __future__ import annotations

import base64
import io
import sys
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
from PIL import Image

from claude_nb.context import register
from claude_nb.context.budget import fit
from claude_nb.context.compose import compose
from claude_nb.context.items import ContextItem
from claude_nb.context.registry import render_value
from claude_nb.protocol.redact import redact_report

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def big_frame(rows: int = 100_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": np.arange(rows), "price": rng.random(rows) * 100,
                       "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
                       "when": pd.date_range("2024-01-01", periods=rows, freq="min")})
    df.loc[[5, 17, 99], "price"] = np.nan
    return df


def test_dataframe_shape_dtypes_nulls_and_a_few_rows() -> None:
    df = big_frame()
    r = render_value(df)
    assert r.kind == "DataFrame" and r.truncated
    assert "100,000 rows × 4 columns" in r.text
    for line in ("- id: int64, 0 nulls", "- price: float64, 3 nulls", "- when: datetime64"):
        assert line in r.text
    assert "| 0 | 0 |" in r.text and "| 99999 | 99999 |" in r.text  # head and tail rows
    assert "| 50000 |" not in r.text
    assert len(r.text) < 4_000  # a few KB, not the frame


def test_short_dataframe_is_whole_and_wide_one_is_capped() -> None:
    r = render_value(pd.DataFrame({"a": [1, 2], "b": ["x|y", "z\nw"]}))
    assert not r.truncated and "all 2 rows" in r.text
    assert "x\\|y" in r.text and "z w" in r.text  # cells stay one Markdown cell
    wide = pd.DataFrame(np.zeros((3, 250)))
    text = render_value(wide).text
    assert "50 more columns not listed" in text and "first 30 of 250 columns" in text


def test_columns_named_like_secrets_are_masked() -> None:
    users = pd.DataFrame({"user": ["ann", "bob"], "password": ["pw-ann-1", "pw-bob-2"]})
    as_polars = pl.DataFrame({"user": ["ann", "bob"], "password": ["pw-ann-1", "pw-bob-2"]})
    for value in (users, as_polars, users["password"], as_polars["password"]):
        r = render_value(value)
        assert "pw-ann-1" not in r.text and "[redacted password]" in r.text
        assert r.redactions == ("values of column 'password'",)
    assert "ann" in render_value(users).text


def test_series() -> None:
    s = pd.Series(np.arange(1000.0), name="load")
    s.iloc[3] = np.nan
    r = render_value(s)
    assert r.kind == "Series" and "1,000 values, dtype float64, 1 nulls" in r.text
    assert "| 999 | 999.0 |" in r.text


def test_polars_frame_and_series() -> None:
    r = render_value(pl.DataFrame({"a": list(range(100)), "b": [None] * 100}))
    assert r.kind == "DataFrame" and "100 rows × 2 columns" in r.text
    assert "- a: Int64, 0 nulls" in r.text and "- b: Null, 100 nulls" in r.text
    assert "| 7 | None |" in r.text and "| 99 | None |" in r.text and "| 50 |" not in r.text
    s = render_value(pl.Series("load", [1.0, None, 3.0] * 10))
    assert s.kind == "Series" and "30 values, dtype Float64, 10 nulls" in s.text


def test_ndarray_stats_and_sample() -> None:
    a = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000)
    a[0, 0] = np.nan
    r = render_value(a)
    assert r.kind == "ndarray" and "shape (1,000 × 1,000), dtype float64" in r.text
    assert "max 1e+06" in r.text or "max 999999" in r.text
    assert "1 NaN" in r.text and "..." in r.text and len(r.text) < 2000
    assert "Values:" in render_value(np.array([1, 2, 3])).text
    assert "dtype <U1" in render_value(np.array(["a"])).text  # no stats for strings


def _decoded(block: dict[str, Any]) -> bytes:
    assert block["type"] == "image" and block["source"]["type"] == "base64"
    return base64.b64decode(block["source"]["data"])


def test_figure_and_axes_become_png_blocks() -> None:
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2])
    for value in (fig, ax):
        r = render_value(value)
        assert r.kind == "image" and len(r.images) == 1
        data = _decoded(r.images[0])
        assert data.startswith(b"\x89PNG") and r.images[0]["source"]["media_type"] == "image/png"
        assert Image.open(io.BytesIO(data)).size == (640, 480)
        assert 0 < r.image_tokens <= 1600
    plt.close(fig)


def test_pil_image_is_downscaled_and_ipython_image_and_bytes() -> None:
    from IPython.display import Image as IPyImage

    big = Image.new("RGB", (4000, 1000), "red")
    r = render_value(big)
    assert Image.open(io.BytesIO(_decoded(r.images[0]))).size == (1568, 392)
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "blue").save(buf, format="JPEG")
    jpeg = buf.getvalue()
    for value in (jpeg, IPyImage(data=jpeg)):
        r = render_value(value)
        assert r.images[0]["source"]["media_type"] == "image/jpeg"
        assert _decoded(r.images[0]) == jpeg
    assert render_value(b"plain bytes").images == ()
    url_only = render_value(IPyImage(url="https://example.com/x.png"))
    assert url_only.images == () and "not fetched" in url_only.text


def test_exception_with_traceback_and_ansi_stripped() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        err = exc
    err.args = ("\x1b[31mmissing\x1b[0m",)
    r = render_value(err)
    assert r.kind == "exception" and "KeyError" in r.text and "\x1b" not in r.text
    assert "test_exception_with_traceback_and_ansi_stripped" in r.text


def sample_function(x: int) -> int:
    """Doubles."""
    return 2 * x


def test_source_of_functions_classes_and_modules() -> None:
    r = render_value(sample_function)
    assert r.kind == "source" and "return 2 * x" in r.text
    assert "class ContextItem" in render_value(ContextItem).text
    assert "source not available" in render_value(len).text
    assert "Water-filling" in render_value(sys.modules["claude_nb.context.budget"]).text


@dataclass
class Creds:
    user: str
    password: str


def test_generic_is_readable_capped_and_masks_secret_keys() -> None:
    value = {"name": "run-7", "password": "hunter22", "rows": list(range(10_000)),
             "nested": {"a": {"b": {"c": {"d": {"e": 1}}}}}}
    r = render_value(value)
    assert "'name': 'run-7'" in r.text and "hunter22" not in r.text
    assert "[redacted value of 'password']" in r.text and r.redactions
    assert "9,950 more" in r.text and r.truncated and len(r.text) < 2_000
    assert render_value(12).text == "12"
    creds = Creds("bob", "pw-1234567")
    text, found = redact_report(render_value(creds).text)
    assert "pw-1234567" not in text and found == ["value of password"]


def test_register_by_type_and_by_name_and_failing_renderer() -> None:
    class Thing:
        pass

    class Broken:
        def __repr__(self) -> str:
            return "<Broken>"

    register(Thing, lambda v: "a thing")
    register(f"{__name__}.Broken", lambda v: 1 / 0)
    assert render_value(Thing()).text == "a thing"
    r = render_value(Broken())
    assert r.text == "<Broken>" and "renderer failed (ZeroDivisionError)" in r.note


def test_budget_cuts_the_largest_first_and_says_so() -> None:
    items = [ContextItem(name="small", kind="str", text="s" * 1_000),
             ContextItem(name="mid", kind="str", text="m" * 10_000),
             ContextItem(name="big", kind="str", text="b" * 50_000)]
    out = fit(items, budget_tokens=5_000)  # 20,000 characters: 1,000 + 9,500 + 9,500
    assert out[0] is items[0]
    assert out[1].budget_cut == 500 and out[2].budget_cut == 40_500 and out[2].truncated
    loose = fit(items, budget_tokens=6_000)  # 24,000: the big one alone gives
    assert loose[1] is items[1] and loose[2].budget_cut == 37_000
    assert "cut by the context budget" in out[2].text
    assert sum(len(i.text) for i in out) <= 20_000 + 200
    assert fit(items, 100_000) == items


def test_compose_attaches_large_items_and_inlines_small_ones() -> None:
    df = big_frame()
    fig = plt.figure()
    ns = {"df": df, "n": 5, "fig": fig, "In": ["", "x = 1\ny = 2", "x + y"], "Out": {2: 3}}
    c = compose("Rows {n}; see {df} and {fig}; cell {In[1]} gave {Out[2]}; "
                "{df.describe()} {'a': 1} {{lit}}", ns)
    assert isinstance(c.prompt, list)
    kinds = [b["type"] for b in c.prompt]
    assert kinds == ["text", "text", "image", "text", "text"]  # df, fig label + image, In[1]
    assert c.prompt[0]["text"].startswith('<context name="df" kind="DataFrame">')
    question = c.prompt[-1]["text"]
    assert question == ("Rows 5; see `df` and `fig`; cell `In[1]` gave 3; {df.describe()} "
                        "{'a': 1} {lit}")
    literal = next(i for i in c.items if i.literal)
    assert literal.name == "{df.describe()}"
    assert compose("plain {{x}}", ns).prompt == "plain {x}"
    plt.close(fig)


def test_secrets_never_leave_and_the_card_says_what_was_masked() -> None:
    ns = {"api_key": "not-shaped-like-anything", "cfg": {"token": "abc12345"},
          "notes": "deploy with AKIAIOSFODNN7EXAMPLE and ghp_" + "x" * 36,
          "creds": type("C", (), {"password": "pw-123456"})()}
    c = compose("use {api_key} {cfg} {notes} {creds.password} sk-ant-api03-" + "k" * 30, ns)
    sent = str(c.prompt)
    for secret in ("not-shaped-like-anything", "abc12345", "AKIAIOSFODNN7EXAMPLE", "x" * 36,
                   "pw-123456", "k" * 30):
        assert secret not in sent
    said = [*c.prompt_redactions, *(w for i in c.items for w in i.redactions)]
    for what in ("value of api_key", "value of key 'token'", "AWS access key", "GitHub token",
                 "value of password", "Anthropic API key"):
        assert what in said


def test_references_dedupe_and_never_evaluate() -> None:
    class Lazy:
        calls = 0

        def __getitem__(self, key: str) -> int:
            Lazy.calls += 1
            return 1

    ns = {"cfg": {"a": list(range(100))}, "lazy": Lazy()}
    c = compose("""{cfg["a"]} and {cfg['a']}, {lazy['x']}, {cfg.__class__}""", ns)
    assert [i.name for i in c.items if not i.literal] == ["cfg['a']"]
    assert Lazy.calls == 0  # subscripts only on lists, tuples and dicts
    assert {i.name for i in c.items if i.literal} == {"{lazy['x']}", "{cfg.__class__}"}


def test_optional_libraries_are_never_imported_to_render() -> None:
    import subprocess

    code = ("import sys\nfrom claude_nb.context.compose import compose\n"
            "c = compose('{d} {f} {e}', {'d': {'a': [1, 2]}, 'f': print, 'e': ValueError('x')})\n"
            "assert c.items\n"
            "print(sorted(m for m in ('pandas', 'polars', 'numpy', 'matplotlib', 'PIL')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
