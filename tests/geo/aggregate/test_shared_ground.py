"""Villages sharing ground are found through the cells' summed areas and measured exactly."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely

from despro.aggregate.shared_ground import shared_ground


def _case(b_start: float):
    """A = [0, 2] x [0, 1], B = [b_start, b_start + 2] x [0, 1], C = [5, 6] x [0, 1]; two
    cells: [0, 2.5] and [2.5, 6] (x 1e6 m2 per unit square)."""
    geoms = np.array(
        [
            shapely.box(0, 0, 2, 1),
            shapely.box(b_start, 0, b_start + 2, 1),
            shapely.box(5, 0, 6, 1),
        ]
    )
    cells = [shapely.box(0, 0, 2.5, 1), shapely.box(2.5, 0, 6, 1)]
    area = np.array([[shapely.area(shapely.intersection(g, c)) for c in cells] for g in geoms])
    cell_area = np.array([shapely.area(c) for c in cells]) * 1e6
    return sp.csr_matrix(area * 1e6), cell_area, geoms


def test_a_partial_overlap_is_found_with_its_exact_share():
    area, cell_area, geoms = _case(1.8)  # B overlaps A by 0.2 of 2 square units: 10 %
    out = shared_ground(area, cell_area, geoms)
    assert out[["a", "b"]].to_numpy().tolist() == [[0, 1]]
    assert abs(out["share"].iloc[0] - 0.1) < 1e-9


def test_neighbours_that_only_touch_share_nothing():
    area, cell_area, geoms = _case(2.0)
    assert shared_ground(area, cell_area, geoms).empty


def test_an_overlap_below_the_threshold_is_left_out():
    area, cell_area, geoms = _case(1.99)  # 0.5 % of the smaller village
    assert shared_ground(area, cell_area, geoms).empty
    assert len(shared_ground(area, cell_area, geoms, min_share=0.001)) == 1
