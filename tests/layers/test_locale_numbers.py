"""Numbers written 1.234,5 or 1,234.5 are read right, or refused naming the row: never misread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from despro.errors import InputError
from despro.layer import Notes
from despro.layers._io import numeric_column, read_table
from despro.layers._numbers import locale_numbers
from despro.layers.products import read_categories

F = Path("table.csv")


def _num(values, decimal="auto", **kw) -> np.ndarray:
    df = pd.DataFrame({"v": values})
    return numeric_column(df, "v", F, "test table", decimal=decimal, **kw)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.234,5", "12,5", "3"], [1234.5, 12.5, 3.0]),  # Indonesian
        (["1,234.5", "12.5", "3"], [1234.5, 12.5, 3.0]),  # English
        (["1.234", "45,2"], [1234.0, 45.2]),  # the comma decides: the dot is thousands
        (["1,234", "45.2"], [1234.0, 45.2]),  # the point decides: the comma is thousands
        (["1.234.567", "8"], [1234567.0, 8.0]),  # a repeated mark is a thousands mark
        (["0.125", "1.250"], [0.125, 1.25]),  # a group never starts with 0: decimals
        (["45,2", "", "-"], [45.2, np.nan, np.nan]),
    ],
)
def test_a_column_decides_by_its_unambiguous_values(values, expected):
    np.testing.assert_allclose(_num(values), expected, equal_nan=True)


def test_an_undecided_column_is_decided_by_its_range_or_refused():
    # counts are whole: 1.234 enterprises are 1234
    np.testing.assert_allclose(_num(["1.234", "2"], lo=0, whole=True), [1234.0, 2.0])
    # a percentage cannot be 1234
    np.testing.assert_allclose(_num(["1.234", "2"], lo=0, hi=100), [1.234, 2.0])
    # growth -100 .. 10,000 %: both readings fit, so it is refused with the key to set
    with pytest.raises(InputError) as e:
        _num(["7", "1.234"], lo=-100, hi=10_000, decimal_key="layers.products.decimal")
    msg = str(e.value)
    assert "row 3" in msg and "1.234" in msg and "layers.products.decimal" in msg
    # a table with no decimal key in its layer's settings: the fix is to rewrite the value
    with pytest.raises(InputError, match="without the thousands mark") as e:
        _num(["7", "1.234"], lo=0, hi=1e12)
    assert "decimal =" not in str(e.value)


def test_a_declared_mark_reads_the_ambiguous_and_refuses_the_contrary():
    np.testing.assert_allclose(_num(["1.234", "7"], decimal=","), [1234.0, 7.0])
    np.testing.assert_allclose(_num(["1.234", "7"], decimal="."), [1.234, 7.0])
    np.testing.assert_allclose(_num(["1,234", "7"], decimal="."), [1234.0, 7.0])
    with pytest.raises(InputError, match=r"row 2.*'45,2'|'45,2'.*row 2"):
        _num(["45,2", "7"], decimal=".")


def test_a_column_mixing_both_marks_is_refused_naming_both_rows():
    with pytest.raises(InputError) as e:
        _num(["45,2", "3", "45.7"])
    msg = str(e.value)
    assert "'45,2'" in msg and "'45.7'" in msg and "row 2" in msg and "row 4" in msg


@pytest.mark.parametrize("bad", ["1,5,7", "1.23.4", "12,34.5", "abc"])
def test_malformed_numbers_stay_non_numbers(bad):
    with pytest.raises(InputError, match="non-number"):
        _num(["3", bad])


def test_number_cells_are_taken_as_they_are():
    df = pd.DataFrame({"v": [1.234, 2.0]})
    out = locale_numbers(df, "v", F, "t")
    assert out.tolist() == [1.234, 2.0]


def test_a_semicolon_csv_with_thousands_dots_is_read_as_written(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text(
        "category;demand_growth_pct\nfood;1.250,5\ncraft;12,5\nbatik;-3\n", encoding="utf-8"
    )
    cats = read_categories(path, Notes())
    assert cats["demand_growth_pct"].to_dict() == {"food": 1250.5, "craft": 12.5, "batik": -3.0}
    # the same file read as text: the CSV reader keeps every cell as written
    assert read_table(path, "t")["demand_growth_pct"].tolist() == ["1.250,5", "12,5", "-3"]


def test_an_ambiguous_category_table_names_the_key_and_the_declared_mark_reads_it(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text("category;demand_growth_pct\nfood;1.250\ncraft;12\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"layers\.products\.decimal"):
        read_categories(path, Notes())
    assert read_categories(path, Notes(), ",")["demand_growth_pct"]["food"] == 1250.0
    assert read_categories(path, Notes(), ".")["demand_growth_pct"]["food"] == 1.25
