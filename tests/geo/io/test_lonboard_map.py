"""The optional lonboard layers are built (drawing them needs a browser; not tested here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro.io import lonboard_map
from despro.pipeline.analysis import TIER_COLOURS


def test_colours_tiers_numbers_and_missing():
    tiers = lonboard_map.colours(pd.Series(["ready", "not ready", None]))
    assert tuple(tiers[0, :3]) == (0, 158, 115)  # #009E73
    assert tiers[2, 3] == 0  # missing: transparent
    nums = lonboard_map.colours(pd.Series([0.0, 100.0, np.nan], name="village_score"))
    assert nums.dtype == np.uint8 and nums.shape == (3, 4)
    assert tuple(nums[0]) != tuple(nums[1]) and nums[2, 3] == 0
    assert TIER_COLOURS["ready"].lower() == "#009e73"


def test_cell_and_village_layers_are_built(sample_result):
    lonboard = pytest.importorskip("lonboard")
    cells = lonboard_map.cell_layer(sample_result, "pct_area_4g_coverage")
    assert isinstance(cells, lonboard.H3HexagonLayer)
    assert cells.table.num_rows == sample_result.n_cells
    m = sample_result.explore(engine="lonboard")
    assert isinstance(m, lonboard.Map)
    kinds = [type(layer).__name__ for layer in m.layers]
    assert kinds == ["H3HexagonLayer", "PolygonLayer"]
    assert len(sample_result.explore(engine="lonboard", villages=False).layers) == 1
    with pytest.raises(KeyError, match="no cell column"):
        lonboard_map.cell_layer(sample_result, "nope")


def test_unknown_engine_is_refused(sample_result):
    with pytest.raises(ValueError, match="folium' or 'lonboard"):
        sample_result.explore(engine="kepler")
