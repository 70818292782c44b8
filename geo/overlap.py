"""Polygon <-> H3 cell overlap, computed once as a sparse matrix of areas.

For every polygon the cells it touches are listed with h3ronpy's vectorised
polygon fill. Cells lying wholly inside a polygon get the cell's exact area with
no geometry work; only cells crossing the polygon's boundary are intersected with
shapely, and their share of the cell is the planar (lon/lat) area ratio of the
intersection to the hexagon, times the hexagon's exact area. Within one cell
(< 1 km at resolution 8) the lon/lat scale is constant to better than 1e-4, so the
ratio is exact for practical purposes while keeping areas on the sphere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import shapely
from h3ronpy.vector import ContainmentMode, wkb_to_cells

from . import grid


@dataclass(frozen=True)
class Overlap:
    """Sparse overlap between ``n`` polygons (or points) and a set of cells.

    Attributes
    ----------
    cells : ndarray of uint64
        The sorted unique cells touched by any polygon (the matrix columns).
    matrix : scipy.sparse.csr_matrix, shape (n, len(cells))
        Overlap area in square metres (points: 1 per point and cell).
    """

    cells: np.ndarray
    matrix: sp.csr_matrix

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0]


def _fill(wkb: np.ndarray, res: int, mode: ContainmentMode) -> tuple[np.ndarray, np.ndarray]:
    """(row index, cell) pairs from h3ronpy's polygon fill."""
    lists = wkb_to_cells(pa.array(wkb, type=pa.binary()), res, containment_mode=mode)
    lists = pa.array(lists) if not isinstance(lists, pa.Array) else lists
    lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    cells = np.asarray(lists.flatten().to_numpy(zero_copy_only=False), dtype=grid.CELL_DTYPE)
    return rows, cells


def polygon_overlap(geoms: np.ndarray, res: int) -> Overlap:
    """Area of overlap between each polygon and each H3 cell it touches.

    Parameters
    ----------
    geoms : array of shapely (Multi)Polygons or Points, lon/lat degrees (EPSG:4326)
    res : int
        H3 resolution.

    Returns
    -------
    Overlap
        Polygons get areas in m2; points get weight 1 in the cell that holds them.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    is_point = shapely.get_type_id(geoms) == 0
    rows_parts, cell_parts, w_parts = [], [], []

    if is_point.any():
        idx = np.flatnonzero(is_point)
        c = grid.points_to_cells(shapely.get_x(geoms[idx]), shapely.get_y(geoms[idx]), res)
        rows_parts.append(idx)
        cell_parts.append(c)
        w_parts.append(np.ones(len(idx)))

    poly_idx = np.flatnonzero(~is_point & ~shapely.is_empty(geoms))
    if len(poly_idx):
        wkb = shapely.to_wkb(geoms[poly_idx])
        r_all, c_all = _fill(wkb, res, ContainmentMode.IntersectsBoundary)
        r_in, c_in = _fill(wkb, res, ContainmentMode.ContainsBoundary)
        inside = pd.MultiIndex.from_arrays([r_all, c_all]).isin(
            pd.MultiIndex.from_arrays([r_in, c_in])
        )
        area = grid.cell_area_m2(c_all)
        w = np.where(inside, area, 0.0)
        edge = np.flatnonzero(~inside)
        if len(edge):
            hexes = grid.cell_polygons(c_all[edge])
            polys = geoms[poly_idx][r_all[edge]]
            inter = shapely.intersection(polys, hexes)
            frac = shapely.area(inter) / shapely.area(hexes)
            w[edge] = np.clip(frac, 0.0, 1.0) * area[edge]
        keep = w > 0
        rows_parts.append(poly_idx[r_all[keep]])
        cell_parts.append(c_all[keep])
        w_parts.append(w[keep])

    rows = np.concatenate(rows_parts) if rows_parts else np.empty(0, int)
    cells = np.concatenate(cell_parts) if cell_parts else np.empty(0, grid.CELL_DTYPE)
    w = np.concatenate(w_parts) if w_parts else np.empty(0)
    uniq, col = np.unique(cells, return_inverse=True)
    m = sp.csr_matrix((w, (rows, col)), shape=(n, len(uniq)))
    m.sum_duplicates()
    return Overlap(cells=uniq.astype(grid.CELL_DTYPE), matrix=m)
