"""Village shapes: island villages can span a few degrees (kept, noted), ten is an error;
villages sharing ground: half of the smaller one is an error, less is noted with both codes."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.affinity import translate

from despro.errors import InputError
from despro.layer import Notes
from despro.layers.villages import check_shapes, overlapping_villages
from tests.conftest import SAMPLE


@pytest.fixture
def villages() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "villages.gpkg")[["village_code", "geometry"]]


def _with_islet(v: gpd.GeoDataFrame, degrees: float) -> gpd.GeoDataFrame:
    """The first village gets a small island ``degrees`` east of it (as Nua Nea's, 3.7)."""
    v = v.copy()
    g = v.geometry.iloc[0]
    islet = translate(g.centroid.buffer(0.001), xoff=degrees)
    v.loc[v.index[0], "geometry"] = shapely.MultiPolygon([g, islet])
    return v


def test_an_island_village_three_degrees_wide_is_kept_and_noted(villages):
    notes = Notes()
    check_shapes(_with_islet(villages, 3.0), SAMPLE / "villages.gpkg", notes)
    (note,) = [n for n in notes.items if "span more than 2 degrees" in n["message"]]
    assert note["action"] == "warning" and note["n_rows"] == 1
    assert note["rows"][0].startswith(str(villages["village_code"].iloc[0]))


def test_a_village_wider_than_ten_degrees_is_refused(villages):
    with pytest.raises(InputError, match="spans 1[0-9].[0-9] degrees"):
        check_shapes(_with_islet(villages, 11.0), SAMPLE / "villages.gpkg", Notes())


def test_two_villages_with_the_very_same_boundary_are_refused(villages):
    v = villages.copy()
    v.loc[v.index[5], "geometry"] = v.geometry.iloc[2]
    codes = [str(v["village_code"].iloc[2]), str(v["village_code"].iloc[5])]
    with pytest.raises(InputError, match="very same boundary") as err:
        check_shapes(v, SAMPLE / "villages.gpkg", Notes())
    assert all(c in str(err.value) for c in codes)


def test_same_bounds_but_another_boundary_is_not_a_duplicate(villages):
    v = villages.copy()
    g = v.geometry.iloc[2]
    x0, y0, x1, y1 = g.bounds
    # a box with g's bounds and g's vertex count differs from g but shares both keys:
    # not the very same boundary, but it covers g whole: an overlap
    n = shapely.get_num_coordinates(g)
    ring = [(x0, y0), (x1, y0), (x1, y1)] + [(x0, y1)] * (n - 4) + [(x0, y0)]
    v.loc[v.index[5], "geometry"] = shapely.Polygon(ring)
    with pytest.raises(InputError, match=r"overlap: 100\.0 % of the smaller one"):
        check_shapes(v, SAMPLE / "villages.gpkg", Notes())


def test_the_sample_villages_share_no_ground(villages):
    assert overlapping_villages(villages.geometry.values).empty


def test_a_village_shifted_over_its_neighbour_is_refused_with_both_codes_and_the_share(
    villages,
):
    v = villages.copy()
    g = v.geometry.iloc[2]
    x0, _, x1, _ = g.bounds
    moved = translate(g, xoff=0.2 * (x1 - x0))
    v.loc[v.index[5], "geometry"] = moved
    share = 100 * g.intersection(moved).area / min(g.area, moved.area)
    assert 50 <= share < 100  # a partial overlap, not a copy
    with pytest.raises(InputError) as err:
        check_shapes(v, SAMPLE / "villages.gpkg", Notes())
    msg = str(err.value)
    assert str(v["village_code"].iloc[2]) in msg and str(v["village_code"].iloc[5]) in msg
    assert f"{share:.1f} % of the smaller one" in msg and "very same" not in msg


def _box(x0, y0, x1, y1):
    """A box in a 0-5 x 0-5 frame placed near Yogyakarta (1 unit = 0.01 degree)."""
    return shapely.box(110.3 + x0 / 100, -7.7 + y0 / 100, 110.3 + x1 / 100, -7.7 + y1 / 100)


def _pair(b: shapely.Polygon) -> gpd.GeoDataFrame:
    # a: a square with a long thin arm; its interior point is in the middle of the arm
    a = shapely.union(_box(0, 0, 1, 1), _box(1, 0.45, 5, 0.55))
    return gpd.GeoDataFrame(
        {"village_code": ["3471010001", "3471010002"]}, geometry=[a, b], crs="EPSG:4326"
    )


def test_a_partial_overlap_is_noted_with_both_codes_and_its_share():
    v = _pair(_box(2, 0, 3, 1))  # covers 1 x 0.1 of the arm: 10 % of the smaller (b)
    notes = Notes()
    check_shapes(v, SAMPLE / "villages.gpkg", notes)
    (note,) = [n for n in notes.items if "overlap by 1-50 %" in n["message"]]
    assert note["action"] == "warning"
    assert note["rows"] == ["3471010001 / 3471010002: 10.0 %"]


def test_a_digitising_sliver_is_counted_not_refused():
    # b reaches into a's arm with a spike 0.01 wide: 0.001 of 1.4, under 1 %
    b = shapely.union(_box(2, 0.6, 3, 3), _box(2.495, 0.45, 2.505, 0.6))
    notes = Notes()
    check_shapes(_pair(b), SAMPLE / "villages.gpkg", notes)
    (note,) = [n for n in notes.items if "less than 1 %" in n["message"]]
    assert note["n_rows"] == 1 and note["rows"][0].startswith("3471010001 / 3471010002: 0.")
    assert not [n for n in notes.items if "overlap by 1-50 %" in n["message"]]
