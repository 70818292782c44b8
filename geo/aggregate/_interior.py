"""Cells wholly inside a polygon, flooded from its boundary cells.

A cell no boundary passes through is wholly inside its polygon or wholly outside.
Every group of wholly-inside cells borders some boundary cell along an edge the
boundary does not cross, and that edge lies inside the polygon: the boundary walk
(:func:`despro.aggregate._boundary_area.boundary_pairs`) already knows which edges those
are. So the interior is a breadth-first flood over H3 neighbours, started from the
cells across the boundary cells' inside edges and stopped at the boundary cells; no
point-in-polygon test, and the work is proportional to the interior's size.
"""

from __future__ import annotations

import numpy as np

from despro.aggregate._boundary_area import BoundaryPairs, CellTable, disks
from despro.grid import cells as grid


def _packer(res: int, n_rows: int):
    """(row, cell) -> one sortable int64, or None if they do not fit in 63 bits."""
    shift, bits = 3 * (15 - res), 7 + 3 * res  # base cell and this resolution's digits
    if n_rows >= 1 << (63 - bits):
        return None
    mask = np.uint64((1 << bits) - 1)

    def pack(rows: np.ndarray, cells: np.ndarray) -> np.ndarray:
        compact = (cells >> np.uint64(shift)) & mask
        return (rows.astype(np.int64) << bits) | compact.astype(np.int64)

    return pack


def _across(table: CellTable, ci: np.ndarray, edge: np.ndarray, res: int) -> np.ndarray:
    """Cell across ``edge`` of each table row ``ci``: the cell holding the row's centre
    mirrored in the edge's midpoint (the neighbour's centre, up to the grid's small
    distortion), found in the table when it is there, by H3 otherwise."""
    k = table.verts.shape[1]
    key, inv = np.unique(ci * k + edge, return_inverse=True)
    c, e = key // k, key % k
    v, w = table.verts[c, e], table.verts[c, (e + 1) % k]
    x = v[:, 0] + w[:, 0] - table.cx[c]
    y = v[:, 1] + w[:, 1] - table.cy[c]
    row = table.find(x, y)  # most are boundary cells, already in the table
    out = np.empty(len(row), grid.CELL_DTYPE)
    out[row >= 0] = table.cells[row[row >= 0]]
    out[row < 0] = grid.lonlat_to_cells(x[row < 0], y[row < 0], res)
    return out[inv]


def interior_pairs(bp: BoundaryPairs, n_rows: int, res: int):
    """(rows, cells) of the cells wholly inside each polygon, from its boundary pairs.

    Returns None when (row, cell) keys do not fit in 63 bits (very fine resolutions
    with very many polygons); the caller then uses a polygon fill.
    """
    pack = _packer(res, n_rows)
    if pack is None:
        return None
    boundary = np.sort(pack(bp.rows, bp.cells))
    pair, edge = np.nonzero(bp.edge_inside == 1)
    if not len(pair):
        return np.empty(0, np.int64), np.empty(0, grid.CELL_DTYPE)
    rows, cells = bp.rows[pair], _across(bp.table, bp.table_rows[pair], edge, res)
    # seeds are the interior cells next to the boundary (breadth-first layer 1); the
    # neighbours of layer j lie in layers j - 1, j, j + 1 or on the boundary
    prev = np.empty(0, np.int64)
    cur = np.empty(0, np.int64)
    out_keys, out_cells = [], []
    while len(rows):
        keys, first = np.unique(pack(rows, cells), return_index=True)
        new = ~(_isin_sorted(keys, boundary) | _isin_sorted(keys, cur) | _isin_sorted(keys, prev))
        prev, cur, cells = cur, keys[new], cells[first[new]]
        out_keys.append(cur)
        out_cells.append(cells)
        uc, ui = np.unique(cells, return_inverse=True)
        rows = np.repeat(cur >> (7 + 3 * res), 7)
        cells = disks(uc)[ui].ravel()
    keys, first = np.unique(np.concatenate(out_keys), return_index=True)
    return keys >> (7 + 3 * res), np.concatenate(out_cells)[first]


def _isin_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys
