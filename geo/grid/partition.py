"""Partitions of a study: groups of whole coarse H3 parent cells, balanced by work.

Items (villages, cells) are keyed by a parent cell at a coarse resolution (3-4:
~12,000 / ~1,770 km2 each). A partition is a strip of consecutive parents along
the longer axis of the study (longitude across Indonesia), cut so that each strip
carries about the same work; strips keep partitions compact, so a partition's
bounding box (what it reads from a raster) is about its own share of the area.
Every parent, and so every item, lands in exactly one partition.
"""

from __future__ import annotations

import numpy as np

from despro.grid import cells as grid


def plan(parents: np.ndarray, work: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    """Partition label (0 .. k-1) of every item, and k.

    Parameters
    ----------
    parents : ndarray of uint64
        Each item's parent cell.
    work : ndarray of float
        Each item's cost (cells: 1; villages: polygon vertices); >= 0.
    n : int
        Partitions wanted; k = min(n, distinct parents), fewer when one parent
        outweighs a share (a parent is never split).
    """
    parents = np.asarray(parents, dtype=grid.CELL_DTYPE)
    if len(parents) == 0:
        return np.empty(0, np.int64), 0
    uniq, inv = np.unique(parents, return_inverse=True)
    w = np.bincount(inv, weights=np.asarray(work, float), minlength=len(uniq))
    lon, lat = grid.cell_centres(uniq)
    along = lon if np.ptp(lon) >= np.ptp(lat) else lat
    order = np.lexsort((uniq, along))
    n = max(1, min(int(n), len(uniq)))
    ws = w[order]
    total = ws.sum()
    if n == len(uniq):
        lab = np.arange(len(uniq))
    elif total > 0:
        mid = np.cumsum(ws) - ws / 2  # a parent goes to the share its middle falls in
        lab = np.minimum((mid / total * n).astype(np.int64), n - 1)
    else:
        lab = np.arange(len(uniq)) * n // len(uniq)
    group = np.empty(len(uniq), np.int64)
    group[order] = lab
    _, group = np.unique(group, return_inverse=True)  # drop empty shares
    return group[inv], int(group.max()) + 1


def bounds(cells: np.ndarray) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) in degrees of the cells' hexagons."""
    xy, _ = grid.cell_vertices(np.asarray(cells, dtype=grid.CELL_DTYPE))
    lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
