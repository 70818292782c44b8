"""Villages that share ground, found through the H3 cells of the study.

The study's overlap matrix holds, for every village and cell, the exact area (m2) of the
village inside the cell. Two villages can only overlap in the cells they share, and in
each such cell by no more than the smaller of their two parts. Villages tile the country,
so inside a cell their areas add up to the cell's area less the ground no village covers
(gaps between boundaries, sea) plus the ground counted twice (overlaps): the cell's
imbalance (summed areas minus the cell, m2). An overlap shows in the imbalance unless
uncovered ground in the same cell cancels it; cancelling by more than the digitising gaps
of a cell (:data:`GAP_WIDTH_M` x the cell's width) is not expected. So, per pair and
shared cell, the overlap is at most ``min(part a, part b, |imbalance| + gaps)``; summed
over the shared cells this bounds the pair's overlap from above, and only the pairs whose
bound reaches the reporting threshold are measured exactly (:func:`shared_ground`).

A pair whose bounding boxes overlap by less than the threshold is left out too. Nationally
(83,246 villages, resolution 8) this measures 25,208 of the 313,319 pairs that share a
cell and finds all 106 pairs of 1 % or more that an exhaustive test of every
pair of intersecting villages finds (~28 s CPU). What it cannot find: a pair whose overlap,
in the cells they share, is cancelled in the cells' sums by more uncovered ground than the
gap allowance (a 2 m strip across the cell, ~1,800 m2 at resolution 8) and whose bound
therefore stays under the threshold. Nationally the most any found pair relies on the
allowance is 0.13 % of a cell (~1,000 m2; boundaries ~1.1 m apart). An interior-point
test at read time (``layers/villages.py``) finds copied and contained villages first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

#: an overlap covering at least this share of the smaller village is an error at read
#: time (the same ground in two villages); Kemendagri 2025's largest real ones: 40 %, 44 %
OVERLAP_ERROR = 0.5
#: below this share an overlap is digitising (neighbours' boundaries drawn apart)
OVERLAP_TINY = 0.01
#: width (m) of the digitising gaps assumed to run across a cell: ground left uncovered
#: between neighbours' boundaries that can cancel an overlap in the cell's summed areas
#: (x the cell's width, sqrt of its area: ~1,800 m2 at resolution 8, 0.23 % of the cell)
GAP_WIDTH_M = 2.0


def shared_cell_pairs(csc: sp.csc_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of villages in every cell, as positions into the matrix's entries.

    Parameters
    ----------
    csc : scipy CSC matrix, shape (villages, cells)
        Area (m2) of each village inside each cell.

    Returns
    -------
    first, second : ndarray of int
        Entry positions (into ``csc.indices`` / ``csc.data``) of the two villages of
        each (pair, cell), the two in the same cell, ``first`` before ``second``.
    cell : ndarray of int
        The cell (column) of each.
    """
    counts = np.diff(csc.indptr)
    cell = np.repeat(np.arange(len(counts)), counts)
    after = counts[cell] - 1 - (np.arange(len(cell)) - csc.indptr[cell])  # entries after
    first = np.repeat(np.arange(len(cell)), after)
    start = np.repeat(np.cumsum(after) - after, after)
    second = first + 1 + np.arange(len(first)) - start
    return first, second, cell[first]


def overlap_bound(
    area: sp.spmatrix, cell_area: np.ndarray, gap_width: float = GAP_WIDTH_M
) -> sp.csr_matrix:
    """Upper bound (m2) of each pair of villages' overlap, from the cells they share.

    Parameters
    ----------
    area : scipy sparse matrix, shape (villages, cells)
        Area (m2) of each village inside each cell (``Study.area``).
    cell_area : ndarray
        Area (m2) of each cell (``Study.cell_area_m2()``).
    gap_width : float
        Width (m) of the uncovered strip assumed able to run across a cell unseen.

    Returns
    -------
    scipy CSR matrix, shape (villages, villages)
        Upper triangle (row < column): per pair sharing a cell, the sum over the shared
        cells of ``min(part a, part b, |summed areas - cell| + gap_width * sqrt(cell))``.
    """
    csc = sp.csc_matrix(area)
    imbalance = np.abs(np.asarray(csc.sum(axis=0)).ravel() - cell_area)
    allowance = imbalance + gap_width * np.sqrt(cell_area)
    i, j, cell = shared_cell_pairs(csc)
    cap = np.minimum(np.minimum(csc.data[i], csc.data[j]), allowance[cell])
    va, vb = csc.indices[i], csc.indices[j]
    n = area.shape[0]
    return sp.csr_matrix(
        (cap, (np.minimum(va, vb), np.maximum(va, vb))), shape=(n, n)
    )  # duplicates (one per shared cell) are summed


def candidate_pairs(
    area: sp.spmatrix,
    cell_area: np.ndarray,
    geoms: np.ndarray,
    min_share: float = OVERLAP_TINY,
    gap_width: float = GAP_WIDTH_M,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of villages that may overlap by ``min_share`` of the smaller one.

    A pair is kept when its bound from the cells (:func:`overlap_bound`) reaches the
    threshold (with a 10 % margin: the bound is in m2 on the sphere, the exact share in
    the polygons' degrees) and so does the area its two bounding boxes have in common
    (the bound that matters where a coarse cell holds many villages that never meet).

    Parameters
    ----------
    area, cell_area, geoms, min_share, gap_width
        As for :func:`shared_ground`.

    Returns
    -------
    a, b : ndarray of int
        Row positions of the pairs (a < b).
    """
    bound = overlap_bound(area, cell_area, gap_width).tocoo()
    size = np.asarray(area.sum(axis=1)).ravel()  # each village's area (m2)
    a, b = bound.row.astype(np.int64), bound.col.astype(np.int64)
    keep = bound.data >= 0.9 * min_share * np.minimum(size[a], size[b])
    a, b = a[keep], b[keep]
    bounds, geo_area = shapely.bounds(geoms[a]), shapely.area(geoms)
    other = shapely.bounds(geoms[b])
    side = np.minimum(bounds[:, 2:], other[:, 2:]) - np.maximum(bounds[:, :2], other[:, :2])
    box = np.prod(np.clip(side, 0.0, None), axis=1)
    keep = (box > 0) & (box >= 0.999 * min_share * np.minimum(geo_area[a], geo_area[b]))
    return a[keep], b[keep]


def shared_ground(
    area: sp.spmatrix,
    cell_area: np.ndarray,
    geoms: np.ndarray,
    min_share: float = OVERLAP_TINY,
    gap_width: float = GAP_WIDTH_M,
) -> pd.DataFrame:
    """Pairs of villages overlapping by at least ``min_share`` of the smaller one.

    Parameters
    ----------
    area : scipy sparse matrix, shape (villages, cells)
        Area (m2) of each village inside each cell (``Study.area``).
    cell_area : ndarray
        Area (m2) of each cell (``Study.cell_area_m2()``).
    geoms : ndarray of shapely geometries
        The villages' polygons, in the rows' order (for the exact measure).
    min_share : float
        Smallest overlap reported, as a share (0-1) of the smaller village's area.
    gap_width : float
        Width (m) of the digitising gaps allowed for (see :func:`overlap_bound`).

    Returns
    -------
    DataFrame
        ``a``, ``b`` (row positions, a < b) and ``share`` (exact overlap / the smaller
        village's area, 0-1), largest first.
    """
    a, b = candidate_pairs(area, cell_area, geoms, min_share, gap_width)
    if not len(a):
        return pd.DataFrame({"a": [], "b": [], "share": []})
    inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    small = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.nan_to_num(inter / small, nan=1.0), 0.0, 1.0)
    out = pd.DataFrame({"a": a, "b": b, "share": share})
    out = out[out["share"] >= min_share]
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
