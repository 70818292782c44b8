"""The CSV writer gives the bytes pandas' ``to_csv`` gives, on awkward values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro.io.csvtext import csv_bytes
from despro.io.outputs import write_csv


def _awkward(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "nama desa": pd.array(
                ["a", 'q"uote', "se,p", "semi;c", None, "nl\nx", "", " sp "], dtype="string"
            ),
            "mixed": ["x", 1, 2.5, None, True, "=1+2", "é", "z"],
            "f": [1.0, -0.0, np.nan, 29.599999999999994, 1e-7, 123456789012.0, np.inf, -3.25],
            "i": np.arange(n),
            "b": [True, False] * (n // 2),
            "I": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
            "c": pd.Categorical(["u", "v", None, "u", "v", "u", "u", "v"]),
            "t": pd.to_datetime(["2026-12-07 02:42:33"] * n),
        }
    )


@pytest.mark.parametrize(("sep", "decimal"), [(",", "."), (";", ",")])
def test_same_bytes_as_pandas(sep, decimal):
    df = _awkward()
    want = (df.assign(f=df["f"] + 0.0)).to_csv(
        index=False, sep=sep, decimal=decimal, float_format="%.10g"
    )
    assert csv_bytes(df, sep, decimal) == want.encode("utf-8")


def test_random_floats_and_repeated_texts_match_pandas():
    rng = np.random.default_rng(1)
    n = 5000
    df = pd.DataFrame(
        {
            "code": pd.array(rng.integers(0, 300, n).astype(str), dtype="string"),
            "v": np.round(rng.normal(size=n) * 100, rng.integers(0, 4)) + 0.0,
            "w": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        }
    )
    want = df.to_csv(index=False, float_format="%.10g").encode("utf-8")
    assert csv_bytes(df) == want


def test_empty_tables():
    assert csv_bytes(pd.DataFrame({"a": []})) == b"a\n"
    assert (
        csv_bytes(pd.DataFrame(index=range(3)))
        == pd.DataFrame(index=range(3)).to_csv(index=False).encode()
    )


def test_write_csv_keeps_the_formula_guard_and_rounds(tmp_path):
    df = pd.DataFrame({"name": ["=HYPERLINK(1)", "ok"], "pct": [29.599999999999994, -0.04]})
    write_csv(df, tmp_path / "x.csv", {"pct": "percent"})
    text = (tmp_path / "x.csv").read_text()
    assert text.splitlines()[1].startswith("'=HYPERLINK")
    assert text.splitlines()[1].endswith(",29.6") and text.splitlines()[2] == "ok,0"


def test_a_table_written_in_slices_is_one_csv(tmp_path, monkeypatch):
    """write_csv formats a few rows at a time: one header, every row once, in order."""
    import despro.io.outputs as outputs

    df = _awkward()
    whole = tmp_path / "whole.csv"
    write_csv(df, whole)
    monkeypatch.setattr(outputs, "CSV_ROWS", 3)
    sliced = tmp_path / "sliced.csv"
    write_csv(df, sliced)
    assert sliced.read_bytes() == whole.read_bytes()
    assert sliced.read_bytes().count(b"nama desa") == 1
