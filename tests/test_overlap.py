"""The fast overlap equals GEOS overlay on every (polygon, cell) pair."""

import numpy as np
import pyarrow as pa
import pytest
import shapely
from h3ronpy.vector import ContainmentMode, wkb_to_cells
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.geo import grid
from despro.geo.clip import clip_areas
from despro.geo.overlap import _list_pairs, polygon_overlap


def _reference(geoms, res):
    """Slow, obvious overlap: every intersecting cell, GEOS intersection, exact area ratio."""
    lists = wkb_to_cells(pa.array(shapely.to_wkb(geoms), type=pa.binary()), res,
                         containment_mode=ContainmentMode.IntersectsBoundary)
    r, c = _list_pairs(lists)
    hexes = grid.cell_polygons(c)
    a = shapely.area(shapely.intersection(geoms[r], hexes)) / shapely.area(hexes)
    out = {}
    for ri, ci, ai in zip(r, c, a * grid.cell_area_m2(c), strict=True):
        if ai > 0:
            out[(int(ri), int(ci))] = ai
    return out


def _as_dict(ov):
    m = ov.matrix.tocoo()
    return {(int(r), int(ov.cells[c])): v for r, c, v in zip(m.row, m.col, m.data, strict=True)}


def _blobs(seed, n=12):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cx, cy = 110.3 + rng.random() * 0.2, -7.8 + rng.random() * 0.2
        p = shapely.Point(cx, cy).buffer(0.001 + rng.random() * 0.02, quad_segs=3 + i % 5)
        if i % 3 == 0:  # a hole
            p = p.difference(shapely.Point(cx, cy).buffer(0.0008 + rng.random() * 0.003))
        if i % 4 == 0:  # a thin sliver crossing many cells
            p = shapely.union(p, shapely.box(cx - 0.03, cy, cx + 0.01, cy + 0.0004))
        if i % 5 == 0:  # two parts
            p = shapely.union(p, shapely.Point(cx + 0.04, cy).buffer(0.002))
        if i % 7 == 0:
            p = shapely.reverse(p)
        out.append(p)
    return np.array(out, dtype=object)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([7, 8, 9]))
def test_overlap_matches_geos_overlay(seed, res):
    geoms = _blobs(seed)
    got, ref = _as_dict(polygon_overlap(geoms, res)), _reference(geoms, res)
    assert set(got) == set(ref)  # exactly the cells each polygon touches
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-7, abs=1e-3)


def test_points_get_unit_weight_in_their_cell():
    geoms = np.array([shapely.Point(110.4, -7.8), shapely.box(110.3, -7.9, 110.31, -7.89)])
    ov = polygon_overlap(geoms, 8)
    row0 = ov.matrix[0].toarray().ravel()
    assert row0.sum() == 1.0
    assert ov.cells[row0.argmax()] == grid.points_to_cells(np.array([110.4]),
                                                           np.array([-7.8]), 8)[0]


def test_clip_areas_handles_holes_orientation_and_empty():
    cell = grid.points_to_cells(np.array([110.4]), np.array([-7.8]), 8)
    verts, _ = grid.cell_vertices(cell)
    hexagon = grid.cell_polygons(cell)[0]
    donut = hexagon.buffer(0.001).difference(hexagon.centroid.buffer(0.001))
    pieces = np.array([donut, shapely.reverse(donut), shapely.Polygon(), hexagon])
    got = clip_areas(pieces, np.repeat(verts, 4, axis=0))
    want = shapely.area(shapely.intersection(pieces, hexagon))
    assert np.allclose(got, want, rtol=1e-9, atol=1e-18)
