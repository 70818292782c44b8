"""End to end on the bundled sample: numbers a planner or analyst would check."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from despro._hashing import sha256
from despro.grid import cells as grid
from despro.io.outputs import write_outputs
from tests.conftest import SAMPLE


def test_every_village_scored_with_six_criteria(sample_result):
    v = sample_result.villages
    assert len(v) == len(gpd.read_file(SAMPLE / "villages.gpkg"))
    assert v["village_code"].str.fullmatch(r"\d{10}").all()  # dotted input normalised
    for c in ("P1", "P2", "P3", "I1", "I2", "I3"):
        assert v[f"{c}_state"].isin(["pass", "fail", "unknown"]).all()
    assert set(v["tier"]) <= {"ready", "near-ready", "undetermined", "not ready"}
    assert sorted(v["rank"]) == list(range(1, len(v) + 1))
    ready = v[v["tier"] == "ready"]
    assert len(ready) > 0
    assert (ready[[f"{c}_state" for c in ("P1", "P2", "P3", "I1", "I2", "I3")]] == "pass").all(
        axis=None
    )


def test_regency_rates_carried_down_and_rolled_up_exactly(sample_result):
    published = pd.read_csv(SAMPLE / "ict_regency.csv", dtype={"regency_code": str}).set_index(
        "regency_code"
    )
    v = sample_result.villages
    for var in ("pct_households_internet", "pct_individuals_mobile_phone"):
        inherited = v.groupby("regency_code")[var].agg(["min", "max"])
        assert np.allclose(inherited["min"], published.loc[inherited.index, var])
        assert np.allclose(inherited["max"], published.loc[inherited.index, var])
    rolled = sample_result.to_admin("regency")
    for var in ("pct_households_internet", "pct_households_computer"):
        pub = published[var].reindex(rolled.index)
        known = pub.notna()
        assert np.allclose(rolled.loc[known, var], pub[known], rtol=1e-12)
        assert rolled.loc[~known, var].isna().all()  # missing stays missing


def test_missing_computer_statistic_leaves_i2_unknown_not_failed(sample_result):
    v = sample_result.villages
    gk = v[v["regency_code"] == "3403"]
    assert gk["pct_households_computer"].isna().all()
    assert (gk["I2b_state"] == "unknown").all()
    # phone passes there (62.4 %), so I2 is unknown, and never pass
    assert set(gk["I2_state"]) == {"unknown"}


def test_counts_conserved_villages_to_cells(sample_result):
    v, c = sample_result.villages, sample_result.cells
    assert c["population"].sum() == pytest.approx(v["population"].sum(), rel=1e-9)
    assert c["households"].sum() == pytest.approx(v["households"].sum(), rel=1e-9)
    # enterprises per category: village totals equal cell totals
    cols = [k for k in c.columns if k.startswith("product_enterprises__")]
    assert c[cols].to_numpy().sum() == pytest.approx(
        sample_result.village_additive[cols].to_numpy().sum()
    )


def test_speed_tests_conserved_cells_to_villages_and_missing_speed_is_unknown(sample_result):
    c, add = sample_result.cells, sample_result.village_additive
    assert add["speedtest_tests"].sum() == pytest.approx(c["speedtest_tests"].sum())
    untested = c["speedtest_tests"] == 0
    assert untested.any()
    assert c.loc[untested, "download_mbps"].isna().all()  # no tests: unknown, not 0 Mbps
    tested = c["download_mbps"].notna()
    assert (c.loc[tested, "download_mbps"] > 0).all()


def test_distances_are_metres_and_villages_take_their_nearest_cell(sample_result):
    c, v = sample_result.cells, sample_result.villages
    d = c["backbone_distance_m"]
    assert d.notna().all() and (d >= 0).all() and d.max() < 200_000
    assert (v["backbone_distance_m"] >= d.min() - 1e-6).all()


def test_cells_have_both_id_forms_and_cover(sample_result):
    c = sample_result.cells
    assert (grid.str_to_cells(c["h3"]) == c["h3_int"].to_numpy()).all()
    assert c["broadband__cover"].between(0, 1).all()
    assert c.geometry.geom_type.eq("Polygon").all()
    assert len(c) == c["h3"].nunique()


def test_outputs_written_and_readable(sample_result, tmp_path):
    files = write_outputs(sample_result, tmp_path / "out")
    layers = pyogrio.list_layers(files["villages.gpkg"])
    assert "villages" in layers[:, 0]
    gpkg = gpd.read_file(files["villages.gpkg"], layer="villages")
    assert len(gpkg) == len(sample_result.villages)
    assert gpkg["village_code"].str.len().eq(10).all()
    cells = gpd.read_parquet(files["cells.parquet"])
    assert cells["h3_int"].dtype == np.uint64 and cells.crs.to_epsg() == 4326
    man = json.loads(files["manifest.json"].read_text())
    for item in man["inputs"]:  # files named relative to the config's folder
        assert not Path(item["file"]).is_absolute()
        assert item["sha256"] == sha256(sample_result.config.resolve(item["file"]))
    assert {i["layer"] for i in man["inputs"]} >= {
        "villages",
        "broadband",
        "backbone",
        "smartphone",
        "courier",
        "products",
    }
    assert man["counts"]["villages"] == len(sample_result.villages)
    short = pd.read_csv(files["shortlist.csv"], dtype={"village_code": str})
    assert (short["tier"] == "ready").all() and short["rank"].is_monotonic_increasing
    assert not list(tmp_path.glob("out/.staging-*"))


def test_village_named_like_a_formula_is_neutralised_in_csv(sample_result, tmp_path):
    from despro.io.outputs import csv_safe

    df = pd.DataFrame(
        {
            "village_name": ['=HYPERLINK("http://x")', "Sido-Mulyo", "+62 desa"],
            "margin": [-7.0, 1.0, 2.0],
        }
    )
    out = csv_safe(df)
    assert out["village_name"].tolist() == ['\'=HYPERLINK("http://x")', "Sido-Mulyo", "'+62 desa"]
    assert out["margin"].tolist() == [-7.0, 1.0, 2.0]  # numbers untouched
