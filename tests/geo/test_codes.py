"""The one code normaliser: dotted, prefixed, numeric, short, missing and bad codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro.codes import normalise_codes
from despro.errors import InputError


def test_every_written_form_becomes_the_same_digits():
    raw = pd.Series(
        ["34.02.01.2001", " 3402012001 ", "ID3402012001", "id34.02.01.2001", "3402012001.0"]
    )
    assert normalise_codes(raw).tolist() == ["3402012001"] * 5


def test_numbers_from_a_spreadsheet():
    assert normalise_codes(pd.Series([3402012001, 3402012001.0])).tolist() == ["3402012001"] * 2
    assert normalise_codes(pd.Series([34, 51.0]), digits=2).tolist() == ["34", "51"]


def test_index_is_kept_and_lists_are_accepted():
    s = pd.Series(["34.02", "5101"], index=["a", "b"])
    assert normalise_codes(s, digits=4).to_dict() == {"a": "3402", "b": "5101"}
    assert normalise_codes(["34.02.01.2001"]).tolist() == ["3402012001"]


@pytest.mark.parametrize(
    "bad", ["340201200", "34020120011", "34.02.01.20O1", "", None, np.nan, "3402012001.5"]
)
def test_short_long_missing_and_malformed_raise_naming_file_row_and_column(bad):
    values = pd.Series(["3402012001", bad])
    with pytest.raises(InputError) as e:
        normalise_codes(values, "villages.csv", "kode")
    msg = str(e.value)
    assert "villages.csv" in msg and "'kode'" in msg and "10 digits" in msg
    assert e.value.row == 3  # header is row 1, first data row 2


def test_coerce_marks_bad_codes_missing():
    out = normalise_codes(
        pd.Series(["51.01.01.2001", "nope", None, "5101"]), errors="coerce"
    ).tolist()
    assert out[0] == "5101012001" and all(pd.isna(x) for x in out[1:])


def test_any_length_for_mixed_code_lists():
    codes = pd.Series(["34", "34.02", "34.02.01", "34.02.01.2001"])
    assert normalise_codes(codes, digits=None).tolist() == ["34", "3402", "340201", "3402012001"]
    with pytest.raises(InputError, match="is not digits"):
        normalise_codes(pd.Series(["34.x"]), digits=None)


def test_village_areas_from_the_fifth_group():
    from despro.codes import village_areas

    got = village_areas(["3402011001", "34.02.01.2001", "9103013001", None, "34020"])
    assert got.tolist() == ["urban", "rural", "other", "other", "other"]
