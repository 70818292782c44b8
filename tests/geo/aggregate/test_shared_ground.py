"""Villages sharing ground are found through the cells' summed areas and measured exactly.

Coordinates are in km (1 unit = 1,000 m), so the overlap matrix holds unit areas x 1e6
m2. The cases after the first three are shaped like the pairs the national file showed
an earlier excess-only estimate missing: a small village's overlap cancelled in the
cell's sum by a gap elsewhere in the same cell, an overlap on a coast (cells the
villages do not fill), an overlap split across two cells each partly cancelled.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely

from despro.aggregate.shared_ground import (
    candidate_pairs,
    overlap_bound,
    shared_cell_pairs,
    shared_ground,
)


def _matrix(geoms: list, cells: list) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The study's inputs for boxes: exact area (m2) of each village in each cell."""
    area = np.array([[shapely.area(shapely.intersection(g, c)) for c in cells] for g in geoms])
    cell_area = np.array([shapely.area(c) for c in cells]) * 1e6
    return sp.csr_matrix(area * 1e6), cell_area, np.array(geoms)


def _case(b_start: float):
    """A = [0, 2] x [0, 1], B = [b_start, b_start + 2] x [0, 1], C = [5, 6] x [0, 1]; two
    cells: [0, 2.5] and [2.5, 6]."""
    return _matrix(
        [shapely.box(0, 0, 2, 1), shapely.box(b_start, 0, b_start + 2, 1), shapely.box(5, 0, 6, 1)],
        [shapely.box(0, 0, 2.5, 1), shapely.box(2.5, 0, 6, 1)],
    )


def _pairs(out) -> list[list[int]]:
    return out[["a", "b"]].to_numpy().astype(int).tolist()


def test_a_partial_overlap_is_found_with_its_exact_share():
    area, cell_area, geoms = _case(1.8)  # B overlaps A by 0.2 of 2 square units: 10 %
    out = shared_ground(area, cell_area, geoms)
    assert _pairs(out) == [[0, 1]]
    assert abs(out["share"].iloc[0] - 0.1) < 1e-9


def test_neighbours_that_only_touch_share_nothing():
    area, cell_area, geoms = _case(2.0)
    assert shared_ground(area, cell_area, geoms).empty


def test_an_overlap_below_the_threshold_is_left_out():
    area, cell_area, geoms = _case(1.99)  # 0.5 % of the smaller village
    assert shared_ground(area, cell_area, geoms).empty
    assert len(shared_ground(area, cell_area, geoms, min_share=0.001)) == 1


def test_a_small_villages_overlap_cancelled_by_a_gap_in_the_same_cell_is_found():
    # B (0.05 km2) overlaps A by 1,000 m2 (2 %); a 1,000 m2 gap between B and C in the
    # same cell cancels it: the cell's summed areas equal the cell exactly
    geoms = [shapely.box(0, 0, 2, 1), shapely.box(1.999, 0, 2.049, 1), shapely.box(2.05, 0, 4, 1)]
    area, cell_area, geoms = _matrix(geoms, [shapely.box(0, 0, 4, 1)])
    assert abs(area.sum() - cell_area.sum()) < 1e-3  # nothing shows in the sum
    out = shared_ground(area, cell_area, geoms)
    assert _pairs(out) == [[0, 1]]
    assert abs(out["share"].iloc[0] - 0.02) < 1e-9  # 0.001 of B's 0.05 width


def test_an_overlap_on_a_coast_is_found():
    # two villages overlapping by 10 % of the smaller in a cell that is half sea: the
    # cell's summed areas stay under the cell, so no ground looks counted twice
    geoms = [shapely.box(0, 0, 1.2, 1), shapely.box(1.1, 0, 2.1, 1)]
    area, cell_area, geoms = _matrix(geoms, [shapely.box(0, 0, 4, 1)])
    assert area.sum() < cell_area.sum()
    out = shared_ground(area, cell_area, geoms)
    assert _pairs(out) == [[0, 1]]
    assert abs(out["share"].iloc[0] - 0.1) < 1e-9


def test_an_overlap_split_across_cells_each_partly_cancelled_is_found():
    # B (0.32 km2) overlaps A by 0.02 km2 (6.25 %), half in each of two cells; a gap in
    # each cell cancels most of its half (cell 1: 9,500 of 10,000 m2; cell 2: all of it)
    geoms = [
        shapely.box(0.0095, 0, 2, 1),
        shapely.box(1.98, 0, 2.3, 1),
        shapely.box(2.315, 0, 4, 1),
    ]
    cells = [shapely.box(0, 0, 1.99, 1), shapely.box(1.99, 0, 4, 1)]
    area, cell_area, geoms = _matrix(geoms, cells)
    excess = np.asarray(area.sum(axis=0)).ravel() - cell_area
    assert excess[0] < 0.005 * 0.32e6 and excess[1] < 0  # each cell shows little or none
    out = shared_ground(area, cell_area, geoms)
    assert _pairs(out) == [[0, 1]]
    assert abs(out["share"].iloc[0] - 0.0625) < 1e-9


def test_every_pair_of_a_crowded_cell_is_considered():
    # A-B and B-C overlap (20 % and 25 % of the smaller), A-C and D only touch or are apart
    geoms = [
        shapely.box(0, 0, 1, 1),
        shapely.box(0.8, 0, 1.8, 1),
        shapely.box(1.55, 0, 2.55, 1),
        shapely.box(3, 0, 3.5, 1),
    ]
    area, cell_area, geoms = _matrix(geoms, [shapely.box(0, 0, 4, 1)])
    out = shared_ground(area, cell_area, geoms)
    assert sorted(_pairs(out)) == [[0, 1], [1, 2]]
    assert np.allclose(sorted(out["share"]), [0.2, 0.25])


def test_shared_cell_pairs_lists_each_pair_of_each_cell_once():
    # cell 0 holds villages 0-3, cell 1 holds 2 and 4, cell 2 holds 1 alone
    rows = [0, 1, 2, 3, 2, 4, 1]
    cols = [0, 0, 0, 0, 1, 1, 2]
    csc = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(5, 3))
    first, second, cell = shared_cell_pairs(csc)
    got = sorted(
        (int(c), *sorted((int(csc.indices[i]), int(csc.indices[j]))))
        for i, j, c in zip(first, second, cell, strict=True)
    )
    want = [(0, a, b) for a in range(4) for b in range(a + 1, 4)] + [(1, 2, 4)]
    assert got == want


def test_the_bound_covers_the_exact_overlap_where_gaps_are_narrow():
    # random boxes in a 3 x 2 grid of unit cells, no uncovered ground hiding overlaps
    # (cells fully covered by a background tiling plus the boxes): bound >= exact overlap
    rng = np.random.default_rng(7)
    cells = [shapely.box(x, y, x + 1, y + 1) for x in range(3) for y in range(2)]
    geoms = [shapely.box(0, 0, 3, 2)]  # the background village fills every cell
    for _ in range(12):
        x, y = rng.uniform(0, 2.6), rng.uniform(0, 1.6)
        geoms.append(shapely.box(x, y, x + rng.uniform(0.05, 0.4), y + rng.uniform(0.05, 0.4)))
    area, cell_area, geoms = _matrix(geoms, cells)
    bound = overlap_bound(area, cell_area, gap_width=0.0).toarray()
    for a in range(len(geoms)):
        for b in range(a + 1, len(geoms)):
            exact = shapely.area(shapely.intersection(geoms[a], geoms[b])) * 1e6
            assert bound[a, b] >= exact - 1e-6


def test_an_overlap_cancelled_by_gaps_wider_than_the_allowance_is_not_found():
    # the documented limit: B (1.53 km2) overlaps A by 1.96 %, and a 30 m wide gap in
    # the same cell (15 times the 2 m allowance) cancels it in the cell's sum
    geoms = [shapely.box(0, 0, 2, 1), shapely.box(1.97, 0, 3.5, 1), shapely.box(3.53, 0, 4, 1)]
    area, cell_area, geoms = _matrix(geoms, [shapely.box(0, 0, 4, 1)])
    assert shared_ground(area, cell_area, geoms).empty
    out = shared_ground(area, cell_area, geoms, gap_width=30.0)
    assert _pairs(out) == [[0, 1]]


def test_villages_of_a_coarse_coastal_cell_that_never_meet_are_not_measured():
    # ten islands in one mostly-sea cell: the cell cannot tell them apart (each pair's
    # bound is its smaller part), their bounding boxes can; only the overlapping pairs remain
    geoms = [shapely.box(x, 0, x + 0.3, 0.3) for x in np.arange(0, 5, 0.5)]
    geoms.append(shapely.box(0.25, 0, 0.55, 0.3))  # overlaps the first two islands by 1/6 each
    area, cell_area, geoms = _matrix(geoms, [shapely.box(0, 0, 10, 10)])
    assert (overlap_bound(area, cell_area).data > 0).sum() == 55  # every pair of 11
    a, b = candidate_pairs(area, cell_area, geoms)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 10), (1, 10)]
    assert sorted(_pairs(shared_ground(area, cell_area, geoms))) == [[0, 10], [1, 10]]
