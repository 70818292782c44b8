"""Map cell tables: counts stay unknown outside their layer's data, also after roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.grid import cells as grid
from despro.mapsite import data as mapdata

PRODUCTS = [
    f"product_enterprises__{c}"
    for c in ("agriculture", "ceramics", "fashion", "food_beverage", "handicraft", "leather")
]


def test_uncovered_counts_are_unknown_at_the_run_resolution(sample_result):
    cells = sample_result.cells
    uncovered = cells["products__cover"].to_numpy() <= 0
    assert 0 < uncovered.sum() < len(cells)  # the sample has cells without product data
    add, variables = mapdata.cell_additive(sample_result)
    ids = cells["h3_int"].to_numpy(np.uint64)
    table = mapdata.page_cells(add, ids, variables, sample_result.config.run.resolution)
    table = table.reindex(ids)
    total = table["product_enterprises"].to_numpy()
    assert np.isnan(total[uncovered]).all()  # unknown, not 0
    assert np.isfinite(total[~uncovered]).all()
    # the same cells as the pipeline's own finished table
    assert np.array_equal(
        np.isnan(table["product_enterprises_n_classes"].to_numpy()),
        cells["product_enterprises_n_classes"].isna().to_numpy(),
    )


def test_rolled_up_counts_unknown_only_when_every_child_is(sample_result):
    cells = sample_result.cells
    ids = cells["h3_int"].to_numpy(np.uint64)
    add, variables = mapdata.cell_additive(sample_result)
    res = sample_result.config.run.resolution - 2
    table = mapdata.page_cells(add, ids, variables, res)
    parents = grid.parent_cells(ids, res)
    covered = pd.Series(cells["products__cover"].to_numpy() > 0, index=parents)
    share = 100 * covered.groupby(level=0).mean()
    all_unknown = share == 0
    assert all_unknown.any() and ((share > 0) & (share < 100)).any()
    total = table["product_enterprises"].reindex(share.index)
    assert total[all_unknown].isna().all()
    assert total[~all_unknown].notna().all()
    got = table[mapdata.known_share_column("products")].reindex(share.index)
    assert np.allclose(got, share)
    # totals conserved: the known parents hold every covered cell's enterprises
    counted = cells.loc[covered.to_numpy(), PRODUCTS].to_numpy().sum()
    assert total.sum() == counted


def test_partial_parents_are_sent_to_the_page(sample_result):
    cells = sample_result.cells
    ids = cells["h3_int"].to_numpy(np.uint64)
    add, variables = mapdata.cell_additive(sample_result)
    table = mapdata.page_cells(add, ids, variables, sample_result.config.run.resolution - 2)
    specs = [
        mapdata.choropleth_spec(c, sample_result.config.criteria.rules, "en")
        for c in mapdata.choropleths()
    ]
    payload = mapdata.cells_payload(table, specs, sample_result.variables)
    shares = payload["known"]["product_enterprises"]
    values = payload["values"]["product_enterprises"]
    assert all((v is None) == (s == 0) for v, s in zip(values, shares, strict=True))
    assert any(0 < s < 100 for s in shares)
    assert "download_mbps" not in payload["known"]  # a mean, not a count


def test_pilot_popups_escape_names_and_keep_missing_values_out(sample_result):
    """A pick's popup carries its numbers; names from data are escaped; an unknown marginal
    value or agent is left out, never written as 0."""
    from types import SimpleNamespace

    from despro.mapsite import analysis as mapanalysis

    v = sample_result.villages.copy()
    a, b = v.index[:2]
    v.loc[a, "village_name"] = "<img src=x onerror=alert(1)>"
    v.loc[b, "village_name"] = "Karang & Sari"
    picks = pd.DataFrame(
        {
            "village_code": [a, b],
            "pick": [2, 1],
            "tier": ["ready", "near-ready"],
            "score": [81.25, 64.0],
            "flagship_product": ["Batik <tulis>", np.nan],
            "weight_share": [0.634, 1.0],
            "robust": [False, True],
            "marginal_value": [12.5, np.nan],
            "replaced_by": [b, np.nan],
            "binding": ["max_per_regency", np.nan],
            "agent_id": ["A01", np.nan],
            "agent_distance_km": [3.5, np.nan],
            "cluster_id": [np.nan, "C001"],
            "fixed": [False, True],
            "imputed": [True, False],
        }
    )
    empty = pd.DataFrame()
    analysis = mapanalysis.MapAnalysis(empty, empty, empty, 10.0, empty, empty, picks)
    out = mapanalysis.pilots_payload(SimpleNamespace(villages=v), analysis, v, "en")
    assert [p[2] for p in out] == [1, 2]  # pick order
    second, first = out[1][3], out[0][3]
    assert "<img" not in second and "&lt;img src=x onerror=alert(1)&gt;" in second
    assert "Batik &lt;tulis&gt;" in second and "Karang &amp; Sari" in second  # replacement
    assert "Picked in 63 % of weight draws (not robust)" in second
    assert "Marginal value: 12.5 points" in second and "Agent A01 (3.5 km)" in second
    assert "picked on imputed values" in second and "fixed" not in second
    assert "Marginal value" not in first and "Agent" not in first and "Cluster C001" in first
    assert "Picked in 100 % of weight draws (robust)" in first and "fixed (running pilot)" in first
    # a scope without the picks draws none
    assert mapanalysis.pilots_payload(SimpleNamespace(villages=v), analysis, v.iloc[5:], "en") == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e9, 1e9, allow_nan=False),
            st.just(float("nan")),
            st.integers(-(10**6), 10**6).map(lambda i: i / 10),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 2),
)
def test_numbers_read_back_to_their_rounded_value(values, digits):
    """Popup numbers: each text reads back to the value rounded to ``digits`` (no decimals for
    whole numbers or >= 100,000), unknown is an en dash, Indonesian swaps the separators."""
    from despro.numbertext import DASH, fmt_numbers

    en, id_ = fmt_numbers(values, "en", digits), fmt_numbers(values, "id", digits)
    for x, a, b in zip(values, en, id_, strict=True):
        if np.isnan(x):
            assert a == b == DASH
            continue
        assert b == a.translate(str.maketrans({",": ".", ".": ","}))
        decimals = len(a.split(".")[1]) if "." in a else 0
        assert decimals in (0, digits)
        if decimals == 0 and digits and abs(x) < 1e5:
            assert float(round(x, digits)).is_integer()
        assert abs(float(a.replace(",", "")) - x) <= 0.5 * 10**-decimals + 1e-9 * abs(x)


def test_encoded_cells_are_the_encoded_hexagon_polygons():
    """The map's cell outlines straight from H3's vertex arrays are what encoding the
    hexagon polygons gives: absolute first vertex, then deltas; a pentagon has 5 vertices."""
    import h3

    ids = grid.lonlat_to_cells(np.linspace(106, 107, 50), np.linspace(-7, -6, 50), 8)
    ids = np.r_[ids, np.uint64(h3.str_to_int(h3.get_pentagons(8)[0]))]
    got = mapdata.encode_cells(ids)
    assert got == mapdata.encode_geometries(grid.cell_polygons(ids))
    assert [len(g) for g in got[-2:]] == [12, 10]
    lat, lon = np.cumsum(np.reshape(got[0], (-1, 2)), axis=0).T / mapdata.SCALE
    assert np.allclose(lat.mean(), grid.cell_centres(ids[:1])[1], atol=1e-3)


def test_admin_outlines_are_the_dissolved_villages():
    """Regency and province outlines: the union of their (simplified) villages, as
    GeoDataFrame.dissolve gives it, in code order, with each regency's province."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(4)
    boxes = [
        shapely.box(x, y, x + 0.1, y + 0.1)
        for x in np.arange(0, 1, 0.1)
        for y in np.arange(0, 0.6, 0.1)
    ]
    regency = np.array(
        [
            f"{p}.{r:02d}"
            for p, r in zip(np.repeat(["52", "51"], 30), rng.integers(1, 4, 60), strict=True)
        ]
    )
    v = gpd.GeoDataFrame(
        {"regency_code": regency, "province_code": [r[:2] for r in regency]},
        geometry=boxes,
        crs=4326,
    )
    got = mapdata.admin_outlines(v)
    ref = v.assign(geometry=v.geometry.simplify(5e-4)).dissolve("regency_code", aggfunc="first")
    assert got["regency"].index.tolist() == ref.index.tolist()
    assert (got["regency"]["province_code"] == ref["province_code"]).all()
    assert all(a.equals(b) for a, b in zip(got["regency"].geometry, ref.geometry, strict=True))
    prov = ref.dissolve("province_code")
    assert got["province"].index.tolist() == ["51", "52"]
    assert all(a.equals(b) for a, b in zip(got["province"].geometry, prov.geometry, strict=True))
    assert got["province"].geometry.area.sum() == pytest.approx(0.6)


def test_script_json_splices_parts_encoded_before():
    """A page's cells are encoded once (their size decides the resolution) and spliced
    into the page's data: the same JSON, still safe inside a script element."""
    import json

    data = {
        "title": "</script><b>Desa {{x}}</b>",
        "cells": {"geom": [[1, 2]], "n": [1.5, None]},
        "villages": [{"name": "a & b"}],
    }
    spliced = mapdata.script_json(data, {"cells": mapdata.script_json(data["cells"])})
    assert json.loads(spliced) == json.loads(mapdata.script_json(data)) == data
    assert "<" not in spliced and ">" not in spliced and "&" not in spliced
    assert mapdata.script_json({"cells": 1}, {"cells": "[2]"}) == '{"cells":[2]}'


def test_outlines_are_reused_while_the_villages_do_not_change(sample_result, tmp_path):
    """A rescore's maps take the regency and province outlines from its step cache when
    the villages (the study step) are unchanged, and dissolve them again when they are."""
    from dataclasses import replace

    from despro.mapsite.site import _outlines
    from despro.pipeline.cache import StepCache

    cache = StepCache(tmp_path)
    first = _outlines(sample_result, cache)
    again = _outlines(sample_result, cache)
    assert cache.misses == ["outlines"] and cache.hits == ["outlines"]
    assert again["regency"].geometry.geom_equals(first["regency"].geometry).all()
    moved = replace(sample_result, step_keys={**sample_result.step_keys, "study": "other"})
    _outlines(moved, cache)
    assert cache.misses == ["outlines", "outlines"]


def test_rule_sources_name_layers_by_their_title_in_the_pages_language(sample_result):
    from despro import layers as registry

    for lang in ("id", "en"):
        rules = {r["id"]: r for r in mapdata.rules_payload(sample_result, lang)}
        title = registry.titles(lang)["smartphone"]
        assert rules["I2a"]["src"].startswith(title)
        assert all(v.startswith(title) for v in rules["I2a"]["srcs"].values())
        assert not any(r["src"].startswith("smartphone") for r in rules.values())
