"""The fast overlap equals GEOS overlay on every (polygon, cell) pair."""

import h3
import numpy as np
import pyarrow as pa
import pytest
import shapely
from h3ronpy import grid_disk
from h3ronpy.vector import ContainmentMode, wkb_to_cells
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.aggregate._boundary_area import CellTable
from despro.aggregate._clip import clip_areas
from despro.aggregate.overlap import _list_pairs, polygon_overlap
from despro.grid import cells as grid


def _reference(geoms, res):
    """Slow, obvious overlap: every intersecting cell, GEOS intersection, exact area ratio."""
    lists = wkb_to_cells(
        pa.array(shapely.to_wkb(geoms), type=pa.binary()),
        res,
        containment_mode=ContainmentMode.IntersectsBoundary,
    )
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


def _blob(rng, cx, cy, radius, quad_segs):
    return shapely.Point(cx, cy).buffer(radius, quad_segs=quad_segs)


def _shapes(seed, n=14):
    """Villages of every awkward kind: holes (also a hole smaller than a cell),
    multipolygons, polygons smaller than a cell, polygons spanning many cells, thin
    slivers, neighbours sharing an edge, and either ring orientation."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cx, cy = 110.3 + rng.random() * 0.2, -7.8 + rng.random() * 0.2
        kind = i % 7
        if kind == 0:  # smaller than a res-8 cell (edge ~ 0.005 deg)
            p = _blob(rng, cx, cy, 0.0002 + rng.random() * 0.001, 2 + i % 4)
        elif kind == 1:  # spans many cells, with a hole and a small hole
            p = _blob(rng, cx, cy, 0.02 + rng.random() * 0.03, 3 + i % 5)
            p = p.difference(_blob(rng, cx, cy, 0.003 + rng.random() * 0.01, 4))
            p = p.difference(_blob(rng, cx + 0.012, cy, 0.0007, 3))
        elif kind == 2:  # thin sliver crossing many cells, and a second part
            p = shapely.union(
                _blob(rng, cx, cy, 0.001 + rng.random() * 0.01, 3),
                shapely.box(cx - 0.03, cy, cx + 0.01, cy + 0.00005 + rng.random() * 0.0004),
            )
            p = shapely.union(p, _blob(rng, cx + 0.04, cy, 0.002, 2))
        elif kind == 3:  # two neighbours sharing a wiggly edge
            box = shapely.box(cx - 0.01, cy - 0.01, cx + 0.01, cy + 0.01)
            xs = np.linspace(cx - 0.01, cx + 0.01, 9)
            ys = cy + np.clip(rng.normal(0, 0.003, 9), -0.009, 0.009)  # a simple cut
            cut = shapely.Polygon(
                [(cx - 0.01, cy - 0.011), *zip(xs, ys, strict=True), (cx + 0.01, cy - 0.011)]
            )
            out += [box.intersection(cut)]
            p = box.difference(cut)
        elif kind == 4:  # random star: concave, many crossings per cell
            k = 5 + i % 9
            ang = np.sort(rng.random(k)) * 2 * np.pi
            r = 0.002 + rng.random(k) * 0.02
            p = shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)])
            p = p if p.is_valid else p.buffer(0)
        elif kind == 5:  # a blob with a hole, made of many short segments
            p = _blob(rng, cx, cy, 0.004 + rng.random() * 0.008, 16)
            p = p.difference(_blob(rng, cx, cy, 0.0015, 8))
        else:  # long straight segments (few vertices) across many cells
            p = shapely.box(cx - 0.03, cy - 0.002, cx + 0.03, cy + 0.013)
        if rng.random() < 0.3:
            p = shapely.reverse(p)
        out.append(p)
    return np.array(out, dtype=object)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([7, 8, 9]))
def test_overlap_matches_geos_overlay(seed, res):
    geoms = _shapes(seed)
    got, ref = _as_dict(polygon_overlap(geoms, res)), _reference(geoms, res)
    assert set(got) == set(ref)  # exactly the cells each polygon touches
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-7, abs=1e-3)


def _close(got, ref, atol):
    """Same overlap up to ``atol`` m2 per pair (a missing pair counts as 0)."""
    return all(abs(got.get(k, 0.0) - ref.get(k, 0.0)) <= atol for k in set(got) | set(ref))


def test_polygons_drawn_on_cell_edges():
    """Vertices exactly on cell vertices and edges (the degenerate case the boundary
    walk hands to the exact clip): three whole cells, a triangle of cell vertices, a
    box corner on an edge."""
    c = grid.lonlat_to_cells(np.array([110.4]), np.array([-7.8]), 8)
    three = grid.cell_polygons(np.unique(_list_pairs(grid_disk(pa.array(c), 1))[1])[:3])
    hexagon = grid.cell_polygons(c)[0]
    v = np.asarray(hexagon.exterior.coords)[:-1]
    mid = (v[0] + v[1]) / 2
    geoms = np.array(
        [
            shapely.union_all(three),
            shapely.Polygon(v[[0, 2, 4]]),
            shapely.box(mid[0], mid[1], mid[0] + 0.01, mid[1] + 0.01),
            hexagon,
        ],
        dtype=object,
    )
    ov = polygon_overlap(geoms, 8)
    got, ref = _as_dict(ov), _reference(geoms, 8)
    assert _close(got, ref, atol=1e-3)
    per_row = np.asarray(ov.matrix.sum(axis=1)).ravel()
    assert per_row[3] == pytest.approx(grid.cell_area_m2(c)[0], rel=1e-9)


def test_points_get_unit_weight_in_their_cell():
    geoms = np.array([shapely.Point(110.4, -7.8), shapely.box(110.3, -7.9, 110.31, -7.89)])
    ov = polygon_overlap(geoms, 8)
    row0 = ov.matrix[0].toarray().ravel()
    assert row0.sum() == 1.0
    assert (
        ov.cells[row0.argmax()] == grid.lonlat_to_cells(np.array([110.4]), np.array([-7.8]), 8)[0]
    )


def test_clip_areas_handles_holes_orientation_and_empty():
    cell = grid.lonlat_to_cells(np.array([110.4]), np.array([-7.8]), 8)
    verts, _ = grid.cell_vertices(cell)
    hexagon = grid.cell_polygons(cell)[0]
    donut = hexagon.buffer(0.001).difference(hexagon.centroid.buffer(0.001))
    pieces = np.array([donut, shapely.reverse(donut), shapely.Polygon(), hexagon])
    got = clip_areas(pieces, np.repeat(verts, 4, axis=0))
    want = shapely.area(shapely.intersection(pieces, hexagon))
    assert np.allclose(got, want, rtol=1e-9, atol=1e-18)


def test_cells_with_other_vertex_counts():
    """Pentagons (5 vertices) next to hexagons: the cell table pads rings, keeps each
    cell's row as cells with more vertices arrive, and the overlap stays exact."""
    pent = np.array([h3.str_to_int(h3.get_pentagons(8)[3])], dtype=grid.CELL_DTYPE)
    ring = np.unique(_list_pairs(grid_disk(pa.array(pent), 2))[1])
    table = CellTable()
    table.add(pent)
    table.add(ring)
    assert table.index(pent)[0] == 0 and table.verts.shape[1] == 6
    fresh = CellTable()
    fresh.add(ring)
    i, j = table.index(ring), fresh.index(ring)
    assert np.array_equal(table.area[i], fresh.area[j])
    lon, lat = grid.cell_centres(pent)
    rng = np.random.default_rng(3)
    geoms = np.array(
        [
            shapely.Point(lon[0] + dx, lat[0] + dy).buffer(abs(r), quad_segs=5)
            for dx, dy, r in rng.normal(0, 0.004, (6, 3))
        ],
        dtype=object,
    )
    got, ref = _as_dict(polygon_overlap(geoms, 8)), _reference(geoms, 8)
    assert set(got) == set(ref)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-7, abs=1e-3)


def test_cell_table_finds_cells_by_points_well_inside():
    """find() returns the row of the cell holding a point near its centre, and -1 for
    points near no table cell's centre or off the table."""
    c = grid.lonlat_to_cells(np.array([110.4]), np.array([-7.8]), 8)
    ring = np.unique(_list_pairs(grid_disk(pa.array(c), 1))[1])
    table = CellTable()
    table.add(ring)
    lon, lat = grid.cell_centres(ring)
    x, y = np.r_[lon + 1e-6, lon[:1] + 0.05], np.r_[lat - 1e-6, lat[:1]]
    row = table.find(x, y)
    assert np.array_equal(table.cells[row[:-1]], ring) and row[-1] == -1
    v = table.verts[table.index(c)][0]
    corner = table.find(v[:1, 0], v[:1, 1])  # a vertex is in no cell "well inside"
    assert corner[0] == -1


def test_ring_area_matches_h3_cell_area():
    """Spherical areas from vertices equal H3's own, hexagons and pentagons alike."""
    rng = np.random.default_rng(5)
    cells = grid.lonlat_to_cells(95 + 46 * rng.random(500), -11 + 17 * rng.random(500), 8)
    pent = np.array([h3.str_to_int(p) for p in h3.get_pentagons(8)], dtype=grid.CELL_DTYPE)
    cells = np.r_[cells, pent]
    verts, _ = grid.cell_vertices(cells)
    assert np.allclose(grid.ring_area_m2(verts), grid.cell_area_m2(cells), rtol=1e-9)
