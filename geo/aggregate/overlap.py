"""Polygon <-> H3 cell overlap, computed once as a sparse matrix of areas.

The expensive part of areal interpolation is geometry, and only cells that a
polygon's boundary crosses need any. The overlap is built in vectorised passes,
none of which loops over polygons in Python:

1. **Boundary**: each polygon's boundary is walked once through the cells it
   crosses and the exact covered share of each such cell follows from Green's
   theorem (:func:`despro.aggregate._boundary_area.boundary_pairs`).
2. **Interior**: the cells wholly inside are flooded from the boundary cells' inside
   edges (:func:`despro.aggregate._interior.interior_pairs`); polygons with a degenerate
   pair use h3ronpy's centroid fill instead.
3. **Degenerate pairs** (a vertex exactly on a cell edge; in practice almost never)
   are cut to the cell's bounding box (GEOS ``clip_by_rect``) and clipped against the
   hexagon in numpy (:func:`despro.aggregate._clip.clip_areas`).

Interior cells that the boundary does not cross lie wholly inside their polygon and
get the cell's exact area; boundary cells get their share of the hexagon (planar
lon/lat area ratio, exact within a cell's extent) times the cell's exact spherical
area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import shapely
from h3ronpy.vector import ContainmentMode, wkb_to_cells

from despro.aggregate._boundary_area import BoundaryPairs, CellTable, _list_pairs, boundary_pairs
from despro.aggregate._clip import clip_areas, polygon_area
from despro.aggregate._interior import interior_pairs
from despro.grid import cells as grid


@dataclass(frozen=True)
class Overlap:
    """Sparse overlap between ``n`` polygons (or points) and a set of cells.

    Attributes
    ----------
    cells : ndarray of uint64
        The sorted unique cells touched by any polygon (the matrix columns).
    matrix : scipy.sparse.csr_matrix, shape (n, len(cells))
        Overlap area in square metres (points: 1 per point and cell).
    cell_area : ndarray
        Exact spherical area (m2) of each of ``cells``, computed once here from the
        cells' vertices (the study keeps it; H3's own area call is much slower).
    """

    cells: np.ndarray
    matrix: sp.csr_matrix
    cell_area: np.ndarray

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0]


def _centroid_fill(geoms: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    wkb = shapely.to_wkb(geoms)
    lists = wkb_to_cells(
        pa.array(wkb, type=pa.binary()), res, containment_mode=ContainmentMode.ContainsCentroid
    )
    return _list_pairs(lists)


def clipped_fraction(polys: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Share (0-1) of each cell's area covered by the paired polygon, by clipping.

    Each polygon is first cut to the cell's bounding box (GEOS clip_by_rect), then the
    small piece is clipped against the hexagon in numpy
    (:func:`despro.aggregate._clip.clip_areas`). Costs a pass over the whole polygon per
    pair: used only for the pairs :func:`boundary_pairs` cannot settle.
    """
    verts, _ = grid.cell_vertices(cells)
    lo, hi = verts.min(axis=1), verts.max(axis=1)
    # the ufunc behind shapely.clip_by_rect broadcasts the rectangle per pair
    pieces = shapely.lib.clip_by_rect(polys, lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    return np.clip(clip_areas(pieces, verts) / polygon_area(verts), 0.0, 1.0)


def _interior(polys: np.ndarray, bp: BoundaryPairs, res: int):
    """(rows, cells) wholly inside each polygon: flooded from the boundary cells, or
    by h3ronpy's centroid fill for polygons with a degenerate boundary pair."""
    filled = np.zeros(len(polys), bool)
    filled[bp.rows[np.isnan(bp.fraction)]] = True
    flood = interior_pairs(bp, len(polys), res)
    if flood is None:
        filled[:] = True
        flood = (np.empty(0, np.int64), np.empty(0, grid.CELL_DTYPE))
    r_in, c_in = flood
    keep = ~filled[r_in]
    r_in, c_in = r_in[keep], c_in[keep]
    if filled.any():
        idx = np.flatnonzero(filled)
        r_f, c_f = _centroid_fill(polys[idx], res)
        r_f = idx[r_f]
        on_boundary = pd.MultiIndex.from_arrays([r_f, c_f]).isin(
            pd.MultiIndex.from_arrays([bp.rows, bp.cells])
        )
        r_in, c_in = np.r_[r_in, r_f[~on_boundary]], np.r_[c_in, c_f[~on_boundary]]
    return r_in, c_in


def _areas(uniq: np.ndarray, table: CellTable | None) -> np.ndarray:
    """Areas (m2) of the distinct cells ``uniq``, from the table's vertices where it
    has them (H3's own area call costs ~7 us a cell)."""
    out = np.empty(len(uniq))
    if table is None:
        known = np.zeros(len(uniq), bool)
    else:
        i, known = table.lookup(uniq)
        out[known] = grid.ring_area_m2(table.verts[i[known]])
    if (~known).any():
        out[~known] = grid.ring_area_m2(grid.cell_vertices(uniq[~known])[0])
    return out


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
    res = grid.check_resolution(res)
    n = len(geoms)
    is_point = shapely.get_type_id(geoms) == 0
    # per pair: row, cell, and a weight: points 1; polygons a share of the cell's area
    rows_parts, cell_parts, w_parts, share_parts = [], [], [], []
    table = None

    if is_point.any():
        idx = np.flatnonzero(is_point)
        c = grid.lonlat_to_cells(shapely.get_x(geoms[idx]), shapely.get_y(geoms[idx]), res)
        rows_parts.append(idx)
        cell_parts.append(c)
        w_parts.append(np.ones(len(idx)))
        share_parts.append(np.zeros(len(idx), bool))

    poly_idx = np.flatnonzero(~is_point & ~shapely.is_empty(geoms))
    if len(poly_idx):
        polys = geoms[poly_idx]
        bp = boundary_pairs(polys, res)
        table = bp.table
        r_b, c_b, frac = bp.rows, bp.cells, bp.fraction
        r_in, c_in = _interior(polys, bp, res)
        odd = np.isnan(frac)
        if odd.any():
            frac[odd] = clipped_fraction(polys[r_b[odd]], c_b[odd])
        keep = frac > 0
        rows_parts += [poly_idx[r_in], poly_idx[r_b[keep]]]
        cell_parts += [c_in, c_b[keep]]
        w_parts += [np.ones(len(c_in)), frac[keep]]
        share_parts.append(np.ones(len(c_in) + int(keep.sum()), bool))

    rows = np.concatenate(rows_parts) if rows_parts else np.empty(0, int)
    cells = np.concatenate(cell_parts) if cell_parts else np.empty(0, grid.CELL_DTYPE)
    w = np.concatenate(w_parts) if w_parts else np.empty(0)
    uniq, col = np.unique(cells, return_inverse=True)
    area = _areas(uniq, table)  # once per distinct cell
    if share_parts:
        share = np.concatenate(share_parts)
        w = np.where(share, w * area[col], w)
    m = sp.csr_matrix((w, (rows, col)), shape=(n, len(uniq)))
    m.sum_duplicates()
    return Overlap(cells=uniq.astype(grid.CELL_DTYPE), matrix=m, cell_area=area)
