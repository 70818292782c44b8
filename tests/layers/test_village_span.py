"""Village sizes: island villages can span a few degrees (kept, noted); ten is an error."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.affinity import translate

from despro.errors import InputError
from despro.layer import Notes
from despro.layers.villages import check_shapes
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
    # a box with g's bounds and g's vertex count differs from g but shares both keys
    n = shapely.get_num_coordinates(g)
    ring = [(x0, y0), (x1, y0), (x1, y1)] + [(x0, y1)] * (n - 4) + [(x0, y0)]
    v.loc[v.index[5], "geometry"] = shapely.Polygon(ring)
    check_shapes(v, SAMPLE / "villages.gpkg", Notes())
