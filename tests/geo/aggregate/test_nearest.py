"""Nearest-feature geodesic distances (geo/nearest.py) against a brute-force geodesic."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.aggregate import nearest
from despro.aggregate.nearest import GEOD, nearest_distance_m, reference_distance_m, segment_coords

TOL_M = 0.01  # the kernel's foot is refined to well under a millimetre

lons = st.floats(95.0, 141.0)
lats = st.floats(-11.0, 6.0)


@st.composite
def lines(draw):
    """A line of 2-5 vertices starting anywhere in Indonesia, steps of metres to degrees."""
    n = draw(st.integers(2, 5))
    step = draw(st.sampled_from([1e-4, 0.01, 0.3, 3.0]))
    x, y = draw(lons), draw(lats)
    dx = draw(st.lists(st.floats(-1, 1), min_size=n - 1, max_size=n - 1))
    dy = draw(st.lists(st.floats(-1, 1), min_size=n - 1, max_size=n - 1))
    xy = np.c_[x + step * np.r_[0, np.cumsum(dx)], y + step * np.r_[0, np.cumsum(dy)]]
    return shapely.LineString(xy)


features = st.lists(
    st.one_of(lines(), st.builds(shapely.Point, lons, lats)), min_size=1, max_size=4
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(lons, lats), min_size=1, max_size=12), features)
def test_matches_brute_force_geodesic(pts, feats):
    lon, lat = np.array(pts).T
    got = nearest_distance_m(lon, lat, np.array(feats, dtype=object))
    ref = reference_distance_m(lon, lat, feats)
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL_M)


def test_far_features_across_the_country():
    """Points in Papua, cables off western Sumatra: thousands of km, still geodesic."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(132, 141, 40), rng.uniform(-9, -1, 40)
    cables = [
        shapely.LineString([(95.5, 5.5), (97.0, 3.0), (99.5, 1.0)]),
        shapely.LineString([(103.0, -10.0), (104.0, 4.0)]),
    ]
    got = nearest_distance_m(lon, lat, np.array(cables, dtype=object))
    ref = reference_distance_m(lon, lat, cables)
    assert ref.min() > 2_500_000
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL_M)


def test_points_on_a_segment_are_at_zero():
    line = shapely.LineString([(110.0, -7.0), (112.5, -6.2), (113.0, -8.0)])
    t = np.array([0.0, 0.37, 1.0])
    lon = np.r_[110.0 + t * 2.5, 112.5 + t * 0.5]
    lat = np.r_[-7.0 + t * 0.8, -6.2 - t * 1.8]
    d = nearest_distance_m(lon, lat, np.array([line], dtype=object))
    assert np.all(d < 1e-3)


def test_point_features_are_plain_geodesics():
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(95, 141, 300), rng.uniform(-11, 6, 300)
    nx, ny = rng.uniform(95, 141, 25), rng.uniform(-11, 6, 25)
    nodes = shapely.points(nx, ny)
    got = nearest_distance_m(lon, lat, nodes)
    _, _, d = GEOD.inv(np.repeat(lon, 25), np.repeat(lat, 25), np.tile(nx, 300), np.tile(ny, 300))
    np.testing.assert_allclose(got, d.reshape(300, 25).min(axis=1), rtol=0, atol=1e-6)


def test_polygons_count_by_their_boundary():
    square = shapely.box(120.0, -3.0, 121.0, -2.0)
    lon, lat = np.array([120.5, 120.1, 122.0]), np.array([-2.5, -2.9, -2.5])
    got = nearest_distance_m(lon, lat, np.array([square], dtype=object))
    ring = shapely.LineString(square.exterior.coords)
    np.testing.assert_allclose(got, reference_distance_m(lon, lat, [ring]), atol=TOL_M)
    assert got[0] > 50_000  # inside is not distance 0: the boundary is the feature


def test_points_on_block_and_band_edges():
    """Points exactly on the fixed blocks' corners and on band boundaries."""
    lon, lat = np.meshgrid(np.arange(106.0, 106.16, 0.05), np.arange(-7.0, -5.9, 0.25))
    lon, lat = lon.ravel(), lat.ravel()
    cable = [shapely.LineString([(105.9, -6.5), (106.4, -6.05), (106.1, -5.0)])]
    got = nearest_distance_m(lon, lat, np.array(cable, dtype=object))
    np.testing.assert_allclose(got, reference_distance_m(lon, lat, cable), atol=TOL_M)


def test_a_points_distance_does_not_depend_on_the_other_points(monkeypatch):
    """Same value bit for bit for a subset, and whatever the chunk size."""
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(105, 110, 3000), rng.uniform(-8, -4, 3000)
    cables = np.array(
        [
            shapely.LineString(np.c_[rng.uniform(104, 111, 6), rng.uniform(-9, -3, 6)])
            for _ in range(3)
        ]
    )
    full = nearest_distance_m(lon, lat, cables)
    sub = rng.choice(3000, 40, replace=False)
    np.testing.assert_array_equal(nearest_distance_m(lon[sub], lat[sub], cables), full[sub])
    monkeypatch.setattr(nearest, "PAIRS_PER_CHUNK", 7)
    np.testing.assert_array_equal(nearest_distance_m(lon, lat, cables), full)


def test_no_features_gives_nan_not_zero():
    lon, lat = np.array([110.0, 120.0]), np.array([-7.0, -3.0])
    assert np.isnan(nearest_distance_m(lon, lat, np.array([], dtype=object))).all()
    nothing = np.array([None, shapely.LineString()], dtype=object)
    assert np.isnan(nearest_distance_m(lon, lat, nothing)).all()
    assert np.isnan(reference_distance_m(lon, lat, nothing)).all()
    assert nearest_distance_m(np.array([]), np.array([]), shapely.points([(1, 1)])).shape == (0,)
    d = nearest_distance_m(
        np.array([110.0, np.nan]), np.array([-7.0, -7.0]), shapely.points([(110.0, -7.5)])
    )
    assert np.isnan(d[1]) and d[0] == pytest.approx(55_300, rel=0.01)


def test_segments_of_multi_parts_rings_and_points():
    geoms = np.array(
        [
            shapely.MultiLineString([[(0, 0), (1, 0), (1, 1)], [(5, 5), (6, 6)]]),
            shapely.MultiPoint([(2, 2), (3, 3)]),
            shapely.box(0, 0, 1, 1),
            shapely.GeometryCollection([shapely.Point(9, 9)]),
        ],
        dtype=object,
    )
    segs = segment_coords(geoms)
    assert len(segs) == 3 + 2 + 4 + 1
    assert {tuple(s) for s in segs if s[0] == s[2] and s[1] == s[3]} == {
        (2.0, 2.0, 2.0, 2.0),
        (3.0, 3.0, 3.0, 3.0),
        (9.0, 9.0, 9.0, 9.0),
    }


@pytest.mark.parametrize("lat0", [-10.5, -0.2, 5.5])
def test_reference_is_a_true_minimum(lat0):
    """The brute force itself: no sampled point of the segment is nearer than it says."""
    line = [shapely.LineString([(100.0, lat0), (104.0, lat0 + 0.4)])]
    lon, lat = np.array([101.3, 130.0]), np.array([lat0 + 1.0, lat0 - 0.3])
    ref = reference_distance_m(lon, lat, line)
    t = np.linspace(0, 1, 20001)
    for i in range(2):
        _, _, d = GEOD.inv(
            np.full(t.size, lon[i]), np.full(t.size, lat[i]), 100 + 4 * t, lat0 + 0.4 * t
        )
        assert ref[i] <= d.min() + 1e-6 and ref[i] > d.min() - 1.0
