"""The national map's cell pyramid (despro.mapsite.pyramid) and its data files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from despro.grid import cells as grid
from despro.mapsite import data as md
from despro.mapsite import pyramid as pyr
from despro.mapsite.national import layer_specs, script_json, village_outlines
from despro.transfer.rollup import group_additive


def _decode(payload: dict) -> np.ndarray:
    """Vertices (n, k, 2; lat, lon in 1e-5 degrees) as despro-gl.js rebuilds them."""
    c = np.asarray(payload["c"], np.int64).reshape(-1, 2).cumsum(axis=0)
    t = np.asarray(payload["t"], np.int64).reshape(-1, 2)
    out = c[:, None, :] + t[None]
    for i, own in payload["x"]:
        own = np.asarray(own, np.int64).reshape(-1, 2)
        out[i, : len(own)] = c[i] + own[:6]
    return out


@pytest.fixture(scope="module")
def levels(sample_result):
    specs = layer_specs(sample_result, "id")
    drawn = pyr.drawn_variables(dict(sample_result.variables), specs)
    add, variables = md.cell_additive(dataclasses.replace(sample_result, variables=drawn))
    variables = pyr.needed(variables, drawn)
    ids = sample_result.cell_columns["h3_int"].to_numpy(np.uint64)
    built = pyr.build_levels(sample_result, specs)
    return built, specs, add, variables, ids


def test_hexagons_are_rebuilt_within_the_tolerance(levels):
    built, *_ = levels
    for level in built:
        for payload in level.chunks.values():
            got = _decode(payload)
            centre = got[:, 0] - np.asarray(payload["t"][:2])  # undo the template
            ids = grid.lonlat_to_cells(
                centre[:, 1] / pyr.SCALE, centre[:, 0] / pyr.SCALE, level.res
            )
            xy, _ = grid.cell_vertices(ids)
            want = np.round(xy[:, :, ::-1] * pyr.SCALE)
            edge = pyr.H3_RES0_EDGE_M / 7 ** (level.res / 2) / 111_320.0 * pyr.SCALE
            assert np.abs(got - want[:, :6]).max() <= pyr.TEMPLATE_TOLERANCE * edge + 2


def test_coarser_levels_sum_the_additive_columns_never_average(levels):
    built, specs, add, variables, ids = levels
    score = next(s for s in specs if s["key"] == "score")
    coarse = next(lv for lv in built if lv.res == built[0].res - 1)
    sums = group_additive(add, grid.parent_cells(ids, coarse.res), variables).sort_index()
    value = np.round(sums["village_score__wsum"] / sums["village_score__w"], score["digits"])
    k = np.searchsorted(np.asarray(score["breaks"], float), value, side="right")
    chars = "".join(coarse.chunks["all"]["v"]["score"])
    assert len(chars) == len(sums)
    for ch, known, want in zip(chars, np.isfinite(value), k, strict=True):
        if not known:
            assert ch == pyr.UNKNOWN_CHAR
        else:
            assert ord(ch.lower()) - 97 == want


def test_class_characters_mark_unknown_and_partial_values():
    spec = {
        "column": "x",
        "scale": 1.0,
        "digits": 0,
        "breaks": [10, 20],
        "complete": "c",
        "key": "x",
    }
    table = pd.DataFrame({"x": [5.0, 15.0, np.nan, 25.0], "c": [100.0, 99.9, np.nan, 50.0]})
    got = pyr.class_chars(table, spec, {}).tobytes().decode()
    assert got == "aB.C"
    assert pyr.class_chars(table.assign(x=np.nan), spec, {}) is None


def test_levels_zoom_in_order_and_chunks_hold_every_cell(levels, sample_result):
    built, *_ = levels
    assert [lv.res for lv in built] == sorted((lv.res for lv in built), reverse=True)
    assert all(a.min_zoom > b.min_zoom for a, b in zip(built, built[1:], strict=False))
    assert sum(p["n"] for p in built[0].chunks.values()) == len(sample_result.cell_columns)


def test_script_json_cannot_close_the_script():
    text = script_json({"a": "</script><b>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><b>&\u2028"}


def test_village_outlines_keep_every_village(sample_result):
    rings = village_outlines(sample_result.villages.geometry.to_numpy())
    assert len(rings) == len(sample_result.villages)
    assert all(len(r) >= 1 and len(r[0]) >= 6 for r in rings)


def test_blocks_hold_whole_parents_in_order(sample_result):
    ids = sample_result.cell_columns["h3_int"].to_numpy(np.uint64)
    res = sample_result.config.run.resolution - 2
    parts = pyr.blocks(ids, res, len(ids) // 6)
    assert len(parts) > 2
    rows = np.concatenate(parts)
    assert np.array_equal(np.sort(rows), np.arange(len(ids)))  # every cell once
    owner = [set(grid.parent_cells(ids[p], res).tolist()) for p in parts]
    assert all(not (a & b) for k, a in enumerate(owner) for b in owner[k + 1 :])
    for p in parts:  # within a parent: the table's order
        parents = grid.parent_cells(ids[p], res)
        for q in np.unique(parents):
            assert np.all(np.diff(p[parents == q]) > 0)


def test_cell_additive_of_rows_equals_the_whole_tables_rows(sample_result):
    whole, variables = md.cell_additive(sample_result)
    sums = md.CellAdditive(sample_result)
    rows = np.random.default_rng(0).permutation(len(whole))[:777]
    part = sums.rows(rows)
    assert [v.name for v in sums.variables] == [v.name for v in variables]
    pd.testing.assert_frame_equal(part, whole.iloc[rows].reset_index(drop=True))


def test_the_pyramid_built_in_blocks_equals_it_built_at_once(sample_result, monkeypatch):
    specs = layer_specs(sample_result, "id")
    n = len(sample_result.cell_columns)
    monkeypatch.setattr(pyr, "BLOCK_CELLS", n + 1)
    once = pyr.build_levels(sample_result, specs)
    monkeypatch.setattr(pyr, "BLOCK_CELLS", n // 7)
    blocks = pyr.build_levels(sample_result, specs)
    assert [lv.res for lv in once] == [lv.res for lv in blocks]
    for a, b in zip(once, blocks, strict=True):
        assert a.bounds == b.bounds
        assert script_json(a.chunks) == script_json(b.chunks)
