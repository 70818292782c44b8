"""Compiled pixel-coverage kernels against GEOS, and the block sums against numpy."""

import numpy as np
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.aggregate.raster import _pixelcover as pc
from despro.aggregate.raster._block import build_block
from despro.aggregate.raster._grid import RasterGrid

D = 3 / 3600


def _hexagon(cx, cy, radius, angle, stretch, shear):
    """A convex hexagon (1, 6, 2) in pixel coordinates: regular, then stretched and sheared."""
    a = angle + np.arange(6) * np.pi / 3
    x, y = radius * np.cos(a) * stretch, radius * np.sin(a)
    return np.stack([cx + x + shear * y, cy + y], -1)[None]


def _pixels(h, w):
    rows, cols = np.divmod(np.arange(h * w), w)
    return rows, cols, shapely.box(cols, rows, cols + 1, rows + 1)


hexagons = st.builds(
    _hexagon,
    st.floats(-3, 20),
    st.floats(-3, 16),
    st.floats(0.2, 9),
    st.floats(0, np.pi),
    st.floats(0.5, 2),
    st.floats(-0.5, 0.5),
)


@settings(max_examples=60, deadline=None)
@given(hexagons)
def test_polygon_pixel_fraction_equals_geos(hexagon):
    h, w = 14, 18
    rows, cols, boxes = _pixels(h, w)
    verts = pc.orient_ccw(hexagon)
    share = pc.polygon_pixel_fraction(np.repeat(verts, h * w, 0), rows, cols)
    ref = shapely.area(shapely.intersection(boxes, shapely.polygons(hexagon[0])))
    assert np.abs(share - ref).max() < 1e-12


@settings(max_examples=60, deadline=None)
@given(hexagons, st.booleans())
def test_boundary_shares_equal_geos(hexagon, clockwise):
    """With no centre labels every share of a crossed pixel is a move; the pixels left out
    are those the polygon misses or holds wholly."""
    h, w = 14, 18
    rows, cols, boxes = _pixels(h, w)
    verts = pc.orient_ccw(hexagon[:, ::-1] if clockwise else hexagon)
    label = np.full(h * w, -1, np.int32)
    pix, dst, frac, edge_pixels, _ = pc.boundary_shares(verts, label, h, w)
    ref = shapely.area(shapely.intersection(boxes, shapely.polygons(hexagon[0])))
    share = np.zeros(h * w)
    share[pix] = frac
    assert len(np.unique(pix)) == len(pix) == edge_pixels and (dst == 0).all()
    assert np.all(np.diff(pix // w) >= 0)  # in row order
    listed = np.zeros(h * w, bool)
    listed[pix] = True
    assert np.abs(share[listed] - ref[listed]).max(initial=0) < 1e-7  # stored as float32
    assert np.all((ref[~listed] < 1e-12) | (ref[~listed] > 1 - 1e-12))


def _h3_block(seed, res, h=40, w=56):
    rng = np.random.default_rng(seed)
    d = D * rng.uniform(0.5, 3)
    t = Affine(d, rng.uniform(-0.2, 0.2) * d, 110.3, rng.uniform(-0.1, 0.1) * d, -d, -7.7)
    g = RasterGrid.of(t, w, h, "EPSG:4326")
    _, verts = g.block_polygons(0, h, 0, w, res)
    return g, pc.orient_ccw(verts)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([7, 8, 9, 10]))
def test_centre_labels_and_runs_match_geos(seed, res):
    h, w = 40, 56
    _, verts = _h3_block(seed, res, h, w)
    label, start, value = pc.centre_labels(verts, h, w)
    rows, cols = np.divmod(np.arange(h * w), w)
    centres = shapely.points(cols + 0.5, rows + 0.5)
    polys = shapely.polygons(verts)
    tree = shapely.STRtree(polys)
    pi, ci = tree.query(centres, predicate="intersects")
    # centres on (within 1e-9 of) an edge may go to either neighbour
    clear = shapely.distance(shapely.boundary(polys[ci]), centres[pi]) > 1e-9
    assert np.array_equal(label[pi[clear]], ci[clear])
    assert np.array_equal(np.repeat(value, np.diff(np.r_[start, h * w])), label)
    assert set(range(0, h * w, w)) <= set(start.tolist())


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([np.float32, np.float64, np.uint8, np.int64]))
def test_block_reduce_equals_numpy_reference(seed, dtype):
    g, _ = _h3_block(seed, 8)
    areas = g.pixel_areas(0, 40, 0, 56)
    block, stats = build_block(g, 0, 40, 0, 56, 8, areas)
    x = (np.random.default_rng(seed).random((40, 56)) * 200).astype(dtype)
    w = areas[:, 0]
    got = block.reduce(x, (None, w))
    flat = x.ravel().astype(np.float64)
    m = block.n_cells
    runs = np.add.reduceat(flat, block.run_start)
    moved = flat[block.pix] * block.frac.astype(np.float64)
    weighted = (runs * w[block.run_start // 56], moved * w[block.pix // 56])
    for j, (r, mv) in enumerate(((runs, moved), weighted)):
        ref = (
            np.bincount(block.run_cell, r, m + 1)
            + np.bincount(block.dst, mv, m + 1)
            - np.bincount(block.src, mv, m + 1)
        )[:m]
        assert np.allclose(got[:, j], ref, rtol=1e-12, atol=1e-9 * np.abs(ref).max())
    assert stats.max_deficit < 1e-9 and stats.max_area_error < 1e-5
