"""The files an analyst opens: the styled GeoPackage, rounded CSVs, GeoParquet skipped by area."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest

import despro
from despro.grid import celltable
from despro.io import geoparquet
from despro.io.geopackage import write_geopackage


@pytest.fixture(scope="module")
def written(sample_result, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    plan = despro.plan_pilots(sample_result, marginal=False)
    return despro.write_outputs(sample_result, out, plan=plan), plan


def test_geopackage_layers_and_no_index_field(written, sample_result):
    files, plan = written
    layers = dict(pyogrio.list_layers(files["villages.gpkg"]))
    for name in ("villages", "cells", "shortlist", "regencies", "provinces", "pilots"):
        assert name in layers, name
    v = pyogrio.read_dataframe(files["villages.gpkg"], layer="villages")
    assert "index" not in v.columns and v["village_code"].is_unique
    assert len(v) == len(sample_result.villages)
    assert len(pyogrio.read_dataframe(files["villages.gpkg"], layer="cells")) == (
        sample_result.n_cells
    )
    pilots = pyogrio.read_dataframe(files["villages.gpkg"], layer="pilots")
    assert list(pilots["village_code"]) == list(plan.shortlist["village_code"].astype(str))
    assert pilots.geometry.geom_type.eq("Point").all() and pilots["regency_name"].notna().all()
    reg = pyogrio.read_dataframe(files["villages.gpkg"], layer="regencies")
    assert reg["villages"].sum() == len(v) and reg["regency_name"].notna().all()


def test_every_layer_has_a_default_qgis_style(written):
    files, _ = written
    with sqlite3.connect(files["villages.gpkg"]) as con:
        styles = pd.read_sql("SELECT * FROM layer_styles", con)
        contents = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    assert "layer_styles" in contents and "layer_fields" in contents
    defaults = styles[styles["useAsDefault"] == 1]
    for layer in (
        "villages",
        "cells",
        "shortlist",
        "regencies",
        "provinces",
        "pilots",
        "agents",
        "clusters",
    ):
        assert (defaults["f_table_name"] == layer).sum() == 1, layer
    assert not styles["update_time"].str.contains(" ").any()  # ISO 8601, as GDAL expects
    tier = defaults[defaults["f_table_name"] == "villages"].iloc[0]
    qml = ET.fromstring(tier["styleQML"].split("\n", 1)[1])
    renderer = qml.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "tier"
    values = [c.get("value") for c in renderer.iter("category")]
    assert values == ["ready", "near-ready", "undetermined", "not ready"]
    assert "0,158,115,255" in tier["styleQML"]  # ready in Okabe-Ito green
    ET.fromstring(tier["styleSLD"].split("\n", 1)[1])  # well-formed SLD too
    # a cell style per rule, its class break at the rule's threshold
    i2b = styles[styles["styleName"].str.startswith("I2b ")].iloc[0]
    ranges = ET.fromstring(i2b["styleQML"].split("\n", 1)[1]).iter("range")
    assert [float(r.get("lower")) for r in ranges][1] == 20.0


def test_layer_fields_say_what_and_in_which_unit(written):
    files, _ = written
    f = pyogrio.read_dataframe(files["villages.gpkg"], layer="layer_fields")
    row = f[(f["layer"] == "villages") & (f["field"] == "pct_households_computer")].iloc[0]
    assert row["unit"].startswith("percent") and row["description"]
    assert set(f.loc[f["field"] == "", "layer"]) >= {"villages", "cells", "pilots"}
    # every field of the selection layers is described, with units where it has one
    sel = f[f["layer"].isin(["pilots", "agents", "clusters"])]
    assert (sel["description"] != "").all(), sel.loc[sel["description"] == "", "field"].tolist()
    assert f.loc[(f["layer"] == "clusters") & (f["field"] == "span_km"), "unit"].item() == "km"


def test_agents_and_clusters_layers_are_styled_points(written):
    files, plan = written
    agents = pyogrio.read_dataframe(files["villages.gpkg"], layer="agents")
    clusters = pyogrio.read_dataframe(files["villages.gpkg"], layer="clusters")
    assert len(agents) == len(plan.agents.agents) and len(clusters) == len(plan.clusters)
    assert agents.geometry.geom_type.eq("Point").all()
    with sqlite3.connect(files["villages.gpkg"]) as con:
        qml = con.execute(
            "SELECT styleQML FROM layer_styles WHERE f_table_name = 'clusters' AND useAsDefault"
        ).fetchone()[0]
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("attr") == "category"
    assert {c.get("value") for c in renderer.iter("category")} == set(clusters["category"])


def test_csvs_are_rounded_to_their_source(written):
    files, _ = written
    long_float = re.compile(r"\d\.\d{11,}")
    for name in ("criteria.csv", "shortlist.csv", "one_fix_away.csv", "summary_regency.csv"):
        assert not long_float.search(files[name].read_text()), name
    short = pd.read_csv(files["shortlist.csv"], dtype={"village_code": str})
    assert list(short.columns[:9]) == [
        "rank", "village_code", "village_name", "regency_name", "province_name",
        "regency_code", "province_code", "lat", "lon",
    ]  # fmt: skip
    crit = pd.read_csv(files["criteria.csv"], dtype={"village_code": str})
    pct = crit[crit["unit"].str.startswith("percent")]["margin"].dropna()
    assert (pct.round(1) == pct).all()


def test_indonesian_spreadsheet_csv(sample_result, tmp_path):
    files = despro.write_outputs(sample_result, tmp_path, csv_locale="id")
    text = files["shortlist.csv"].read_text()
    assert text.splitlines()[0].startswith("rank;village_code;")
    back = pd.read_csv(files["shortlist.csv"], sep=";", decimal=",", dtype={"village_code": str})
    assert back["score"].dtype == float and back["lat"].between(-12, 7).all()


def _scan(con, sql):
    con.sql("PRAGMA enable_profiling='json'")
    plan = json.loads(con.sql("EXPLAIN ANALYZE " + sql).fetchall()[0][1])
    con.sql("PRAGMA disable_profiling")

    def scans(node):
        if node.get("name") == "PARQUET_SCAN" or node.get("type") == "TABLE_SCAN":
            yield node
        for c in node.get("children", []):
            yield from scans(c)

    found = [s for op in plan["operator"] for s in scans(op)]
    return found[0]["row_groups_scanned"], found[0]["total_row_groups_to_scan"]


def test_geoparquet_bbox_covering_and_row_groups_duckdb_skips(sample_result, tmp_path, monkeypatch):
    monkeypatch.setattr(celltable, "ROW_GROUP_ROWS", 500)  # the sample's 5,912 cells: ~20
    sample_result.write_cells(tmp_path / "cells.parquet")
    meta = json.loads(pq.read_schema(tmp_path / "cells.parquet").metadata[b"geo"])
    assert meta["version"] == "1.1.0"
    assert meta["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    # one regency's box: DuckDB reads only the row groups whose bbox statistics overlap it
    reg = sample_result.villages[sample_result.villages["regency_code"] == "3471"]
    x0, y0, x1, y1 = reg.total_bounds
    where = f"bbox.xmax >= {x0} AND bbox.xmin <= {x1} AND bbox.ymax >= {y0} AND bbox.ymin <= {y1}"
    con = duckdb.connect()
    f = tmp_path / "cells.parquet"
    n = con.sql(f"SELECT count(*) FROM '{f}' WHERE {where}").fetchall()[0][0]
    cells = sample_result.cells.bounds
    expected = (cells.maxx >= x0) & (cells.minx <= x1) & (cells.maxy >= y0) & (cells.miny <= y1)
    assert n == int(expected.sum()) > 0
    scanned, total = _scan(con, f"SELECT count(*) FROM '{f}' WHERE {where}")
    assert total == pq.ParquetFile(f).metadata.num_row_groups > 10
    assert 0 < scanned < total / 2


def test_villages_geoparquet_one_row_group_per_province(sample_result, tmp_path):
    v = sample_result.villages
    geoparquet.write_geoparquet(v, tmp_path / "v.parquet", key="regency_code")
    pf = pq.ParquetFile(tmp_path / "v.parquet")
    assert pf.metadata.num_row_groups == v["regency_code"].nunique()
    assert "bbox" in pf.schema_arrow.names and "index" not in pf.schema_arrow.names
    con = duckdb.connect()
    x0, y0, x1, y1 = v[v["regency_code"] == "3471"].total_bounds
    q = (
        f"SELECT village_code FROM '{tmp_path / 'v.parquet'}' WHERE bbox.xmin >= {x0} "
        f"AND bbox.xmax <= {x1} AND bbox.ymin >= {y0} AND bbox.ymax <= {y1}"
    )
    assert "3471" in {c[:4] for (c,) in con.sql(q).fetchall()}
    scanned, total = _scan(con, q)
    assert scanned < total


def test_geopackage_rolls_cells_up_above_the_limit(sample_result, tmp_path, monkeypatch):
    from despro.io import geopackage

    monkeypatch.setattr(geopackage, "CELL_LIMIT", 100)
    counts = write_geopackage(sample_result, tmp_path / "v.gpkg")
    cells = pyogrio.read_dataframe(tmp_path / "v.gpkg", layer="cells")
    assert (cells["h3_res"] == geopackage.ROLLUP_RES).all()
    assert counts["cells"] == len(cells) < sample_result.n_cells
    # exact roll-up: population (a count) sums to the cells' total
    assert cells["population"].sum() == pytest.approx(sample_result.cells["population"].sum())
