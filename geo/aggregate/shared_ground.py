"""Villages that share ground, found through the H3 cells of the study.

The study's overlap matrix holds, for every village and cell, the exact area (m2) of the
village inside the cell. Villages tile the country, so inside a cell their areas add up
to at most the cell's area; where they add up to more, the excess is ground counted in
two villages. Summed per pair of villages sharing such a cell, the excess estimates their
overlap from below (exactly, in cells they fill), in one pass over the matrix (well
under a second for 83,246 villages) where testing every pair of neighbours exactly takes
~90 s. The pairs whose estimate reaches half the reporting threshold are then measured
exactly (:func:`shared_ground`). An interior-point test at read time
(``layers/villages.py``) finds copied and contained villages; this finds the partial
overlaps it misses (nationally 106 pairs at 1-44 %, of which it found 2).
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


def shared_ground(
    area: sp.spmatrix, cell_area: np.ndarray, geoms: np.ndarray, min_share: float = OVERLAP_TINY
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

    Returns
    -------
    DataFrame
        ``a``, ``b`` (row positions, a < b) and ``share`` (exact overlap / the smaller
        village's area, 0-1), largest first.
    """
    empty = pd.DataFrame({"a": [], "b": [], "share": []})
    csc = area.tocsc()
    excess = np.asarray(csc.sum(axis=0)).ravel() - cell_area
    flagged = np.flatnonzero(excess > np.maximum(1.0, 1e-6 * cell_area))  # m2, not rounding
    if not len(flagged):
        return empty
    sub = csc[:, flagged]
    counts = np.diff(sub.indptr)
    a_parts, b_parts, e_parts = [], [], []
    for j in np.flatnonzero(counts >= 2):  # few cells; most hold two villages
        rows = np.sort(sub.indices[sub.indptr[j] : sub.indptr[j + 1]])
        ia, ib = np.triu_indices(len(rows), 1)
        a_parts.append(rows[ia])
        b_parts.append(rows[ib])
        e_parts.append(np.full(len(ia), excess[flagged[j]]))
    if not a_parts:
        return empty
    est = (
        pd.DataFrame(
            {
                "a": np.concatenate(a_parts),
                "b": np.concatenate(b_parts),
                "e": np.concatenate(e_parts),
            }
        )
        .groupby(["a", "b"], sort=False)["e"]
        .sum()
    )
    size = np.asarray(area.sum(axis=1)).ravel()  # each village's area (m2)
    a = est.index.get_level_values("a").to_numpy()
    b = est.index.get_level_values("b").to_numpy()
    smaller = np.minimum(size[a], size[b])
    keep = est.to_numpy() >= 0.5 * min_share * smaller  # the estimate is a lower bound
    a, b = a[keep], b[keep]
    if not len(a):
        return empty
    inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    small = np.minimum(shapely.area(geoms[a]), shapely.area(geoms[b]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.nan_to_num(inter / small, nan=1.0), 0.0, 1.0)
    out = pd.DataFrame({"a": a, "b": b, "share": share})
    out = out[out["share"] >= min_share]
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
