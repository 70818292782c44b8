"""Finished values from additive columns: rates, weighted means, categories, unknowns."""

import numpy as np
import pandas as pd
import pytest

from despro.errors import DesproError
from despro.layer import LayerResult
from despro.variables import Kind, Variable, additive_columns, finalize

RATE = Variable("pct_households_internet", Kind.RATE, "percent", "", "t")
SPEED = Variable("download_mbps", Kind.INTENSIVE, "Mbps", "", "t")
CAT = Variable("outlets", Kind.CATEGORY, "outlets", "", "t", classes=("JNE", "TIKI"))


def test_rate_is_ratio_of_sums_and_zero_denominator_is_unknown():
    t = pd.DataFrame(
        {
            "pct_households_internet__num": [30.0, 0.0, 0.0],
            "pct_households_internet__den": [100.0, 50.0, 0.0],
        }
    )
    out = finalize(t, [RATE])["pct_households_internet"]
    assert out.iloc[0] == pytest.approx(30.0)
    assert out.iloc[1] == 0.0  # a real zero: households known, none online
    assert np.isnan(out.iloc[2])  # no households known: unknown, never 0


def test_rate_of_merged_units_is_not_mean_of_percentages():
    # 10 % of 1000 households and 90 % of 10 households: 10.8 %, not 50 %
    num = 0.10 * 1000 + 0.90 * 10
    den = 1010
    t = pd.DataFrame({"pct_households_internet__num": [num], "pct_households_internet__den": [den]})
    assert finalize(t, [RATE])["pct_households_internet"].iloc[0] == pytest.approx(100 * 109 / 1010)


def test_intensive_weighted_by_tests():
    t = pd.DataFrame({"download_mbps__wsum": [10.0 * 1 + 50.0 * 9], "download_mbps__w": [10.0]})
    assert finalize(t, [SPEED])["download_mbps"].iloc[0] == pytest.approx(46.0)


def test_category_distinct_classes_and_dominant():
    t = pd.DataFrame({"outlets__JNE": [2.0, 0.0, 0.0], "outlets__TIKI": [1.0, 3.0, 0.0]})
    out = finalize(t, [CAT])
    assert out["outlets_n_classes"].tolist() == [2, 1, 0]
    assert out["outlets_dominant"].iloc[1] == "TIKI"
    assert pd.isna(out["outlets_dominant"].iloc[2])


def test_layer_cannot_hand_undeclared_column():
    idx = pd.Index([1, 2])
    table = pd.DataFrame({"pct_households_internet": [30.0, 40.0]}, index=idx)  # a finished %
    with pytest.raises(DesproError, match="undeclared"):
        LayerResult("t", "village", [RATE], table, pd.Series(1.0, index=idx))


def test_additive_columns_by_kind():
    assert additive_columns(RATE) == [
        "pct_households_internet__num",
        "pct_households_internet__den",
    ]
    assert additive_columns(CAT) == ["outlets__JNE", "outlets__TIKI"]
