"""Polygon <-> H3 cell overlap, computed once as a sparse matrix of areas.

The expensive part of areal interpolation is geometry, and only cells that a
polygon's boundary crosses need any. The overlap is built in three vectorised
passes, none of which loops over polygons in Python:

1. **Interior**: h3ronpy's centroid fill lists, per polygon, the cells whose centre
   lies inside it (fast: no edge tests).
2. **Boundary candidates**: each polygon's boundary is sampled at less than half a
   cell edge and every sample is indexed to its cell; where two consecutive samples
   fall in different cells, the cells adjacent to both are added too (a segment
   shorter than an edge can cut the corner of at most those). This lists every
   cell the boundary touches, exactly.
3. **Boundary areas**: each candidate pair is cut to the cell's bounding box (GEOS
   ``clip_by_rect``) and clipped against the hexagon in numpy
   (:func:`despro.geo.clip.clip_areas`). Pairs with zero area are dropped.

Interior cells that are not boundary candidates lie wholly inside their polygon
and get the cell's exact area; boundary cells get their share of the hexagon
(planar lon/lat area ratio, exact within a cell's extent) times the cell's exact
spherical area.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
import shapely
from h3ronpy import grid_disk
from h3ronpy.vector import ContainmentMode, wkb_to_cells

from . import grid
from .clip import clip_areas, polygon_area

M_PER_DEG = 111_319.49


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


def _list_pairs(lists) -> tuple[np.ndarray, np.ndarray]:
    """(row index, value) pairs from an arrow list array."""
    lists = pa.array(lists) if not isinstance(lists, pa.Array) else lists
    lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    vals = np.asarray(lists.flatten().to_numpy(zero_copy_only=False), dtype=grid.CELL_DTYPE)
    return rows, vals


def _centroid_fill(geoms: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    wkb = shapely.to_wkb(geoms)
    lists = wkb_to_cells(pa.array(wkb, type=pa.binary()), res,
                         containment_mode=ContainmentMode.ContainsCentroid)
    return _list_pairs(lists)


def _disks(cells: np.ndarray) -> np.ndarray:
    """(n, 7) ring-1 disks; pentagons' missing slot repeats the centre."""
    rows, vals = _list_pairs(grid_disk(pa.array(cells), 1))
    out = np.repeat(cells[:, None], 7, axis=1)
    pos = np.arange(len(rows)) - np.searchsorted(rows, rows)
    out[rows, pos] = vals
    return out


def boundary_candidates(geoms: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (polygon, cell) pair where the polygon's boundary touches the cell."""
    step = 0.45 * h3.average_hexagon_edge_length(res, "m") / M_PER_DEG
    lines, row_of_line = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    lines = shapely.segmentize(lines, step)
    xy, line = shapely.get_coordinates(lines, return_index=True)
    cells = grid.points_to_cells(xy[:, 0], xy[:, 1], res)
    rows = row_of_line[line]
    parts = [pd.DataFrame({"r": rows, "c": cells})]
    trans = np.flatnonzero((line[1:] == line[:-1]) & (cells[1:] != cells[:-1]))
    if len(trans):
        tp = pd.DataFrame({"r": rows[trans], "a": cells[trans], "b": cells[trans + 1]})
        tp = tp.drop_duplicates()
        da, db = _disks(tp["a"].to_numpy()), _disks(tp["b"].to_numpy())
        adjacent = (da == tp["b"].to_numpy()[:, None]).any(axis=1)
        in_b = (da[:, :, None] == db[:, None, :]).any(axis=2)
        # adjacent a, b: the cells next to both; otherwise every neighbour of either
        keep_a = np.where(adjacent[:, None], in_b, True)
        r = tp["r"].to_numpy()
        parts.append(pd.DataFrame({"r": np.repeat(r, 7)[keep_a.ravel()],
                                   "c": da.ravel()[keep_a.ravel()]}))
        na = ~adjacent
        if na.any():
            parts.append(pd.DataFrame({"r": np.repeat(r[na], 7), "c": db[na].ravel()}))
    pairs = pd.concat(parts, ignore_index=True).drop_duplicates()
    return pairs["r"].to_numpy(), pairs["c"].to_numpy(grid.CELL_DTYPE)


def boundary_fraction(polys: np.ndarray, cells: np.ndarray, chunk: int = 100_000,
                      threads: int = 2) -> np.ndarray:
    """Share (0-1) of each cell's area covered by the paired polygon.

    Each polygon is first cut to the cell's bounding box (GEOS clip_by_rect, cheap
    and vectorised), then the small piece is clipped against the hexagon in numpy
    (:func:`despro.geo.clip.clip_areas`); no per-pair GEOS overlay. Chunks run on
    ``threads`` threads (GEOS and numpy release the GIL).
    """
    def one(sl: slice) -> np.ndarray:
        verts, _ = grid.cell_vertices(cells[sl])
        lo, hi = verts.min(axis=1), verts.max(axis=1)
        # the ufunc behind shapely.clip_by_rect broadcasts the rectangle per pair
        pieces = shapely.lib.clip_by_rect(polys[sl], lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
        return clip_areas(pieces, verts) / polygon_area(verts)

    slices = [slice(i, i + chunk) for i in range(0, len(cells), chunk)]
    if threads > 1 and len(slices) > 1:
        with ThreadPoolExecutor(threads) as ex:
            parts = list(ex.map(one, slices))
    else:
        parts = [one(s) for s in slices]
    out = np.concatenate(parts) if parts else np.empty(0)
    return np.clip(out, 0.0, 1.0)


def _areas(cells: np.ndarray) -> np.ndarray:
    """Cell areas (m2), each distinct cell computed once (h3 area is ~3 us a cell)."""
    uniq, inv = np.unique(cells, return_inverse=True)
    return grid.cell_area_m2(uniq)[inv]


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
    rows_parts, cell_parts, w_parts = [], [], []

    if is_point.any():
        idx = np.flatnonzero(is_point)
        c = grid.points_to_cells(shapely.get_x(geoms[idx]), shapely.get_y(geoms[idx]), res)
        rows_parts.append(idx)
        cell_parts.append(c)
        w_parts.append(np.ones(len(idx)))

    poly_idx = np.flatnonzero(~is_point & ~shapely.is_empty(geoms))
    if len(poly_idx):
        polys = geoms[poly_idx]
        r_in, c_in = _centroid_fill(polys, res)
        r_b, c_b = boundary_candidates(polys, res)
        on_boundary = pd.MultiIndex.from_arrays([r_in, c_in]).isin(
            pd.MultiIndex.from_arrays([r_b, c_b]))
        r_in, c_in = r_in[~on_boundary], c_in[~on_boundary]
        w_b = boundary_fraction(polys[r_b], c_b) * _areas(c_b)
        keep = w_b > 0
        rows_parts += [poly_idx[r_in], poly_idx[r_b[keep]]]
        cell_parts += [c_in, c_b[keep]]
        w_parts += [_areas(c_in), w_b[keep]]

    rows = np.concatenate(rows_parts) if rows_parts else np.empty(0, int)
    cells = np.concatenate(cell_parts) if cell_parts else np.empty(0, grid.CELL_DTYPE)
    w = np.concatenate(w_parts) if w_parts else np.empty(0)
    uniq, col = np.unique(cells, return_inverse=True)
    m = sp.csr_matrix((w, (rows, col)), shape=(n, len(uniq)))
    m.sum_duplicates()
    return Overlap(cells=uniq.astype(grid.CELL_DTYPE), matrix=m)
