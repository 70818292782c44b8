"""Kernels that turn points, polygons, lines and rasters into additive cell columns.

Pure functions: arrays / GeoDataFrames in, DataFrames indexed by uint64 cell out.
No file I/O except :func:`raster_to_cells`, which streams a raster block by
block (through :mod:`despro.aggregate.raster.reduce`) so that a national 3 arc-second
raster never sits in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from despro.aggregate.nearest import GEOD, nearest_distance_m
from despro.aggregate.overlap import polygon_overlap
from despro.aggregate.raster.reduce import reduce_raster
from despro.grid import cells as grid
from despro.grid.extent import current_extent

__all__ = ["GEOD", "nearest_distance_m", "points_to_cells", "polygons_to_cells", "raster_to_cells"]


def _cell_frame(cells: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    df.insert(0, "cell", np.asarray(cells, dtype=grid.CELL_DTYPE))
    return df.groupby("cell", sort=True).sum()


def points_to_cells(
    lon: np.ndarray,
    lat: np.ndarray,
    res: int,
    columns: dict[str, np.ndarray] | None = None,
    classes: np.ndarray | None = None,
    class_names: tuple[str, ...] = (),
    prefix: str = "",
) -> pd.DataFrame:
    """Sum point attributes per cell.

    Parameters
    ----------
    lon, lat : ndarray
        Degrees, WGS84.
    res : int
        H3 resolution.
    columns : dict, optional
        Extensive per-point values to sum (name -> array). A column of ones counts points.
    classes, class_names, prefix : optional
        With ``classes`` (one label per point), adds one count column per class,
        named ``f"{prefix}__{class}"``, for every name in ``class_names``.

    Returns
    -------
    DataFrame indexed by cell (uint64), only cells holding at least one point.
    """
    cells = grid.lonlat_to_cells(lon, lat, res)
    cols = dict(columns or {})
    if classes is not None:
        classes = np.asarray(classes, dtype=object)
        for c in class_names:
            cols[f"{prefix}__{c}"] = (classes == c).astype(float)
    return _cell_frame(cells, cols)


def polygons_to_cells(
    geoms: np.ndarray, res: int, extensive: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, pd.Series]:
    """Areal interpolation of extensive polygon values onto cells.

    Each polygon's value is split among the cells it overlaps in proportion to the
    overlap area, so every polygon's total is conserved. Intensive values travel as
    (value x weight, weight) pairs, which are extensive.

    Returns
    -------
    (DataFrame, Series)
        The summed columns per cell, and the fraction of each cell's area covered
        by the polygons (0-1; overlapping polygons are capped at 1).
    """
    geoms = np.asarray(geoms, dtype=object)
    ext = current_extent()
    if ext is not None:  # one partition of a larger study: skip polygons far from it
        keep = ext.touches(geoms)
        geoms = geoms[keep]
        extensive = {k: np.asarray(v)[keep] for k, v in extensive.items()}
    ov = polygon_overlap(geoms, res)
    m = ov.matrix.tocsr()
    area_rows = np.asarray(m.sum(axis=1)).ravel()
    inv = np.divide(1.0, area_rows, out=np.zeros_like(area_rows), where=area_rows > 0)
    frac = m.multiply(inv[:, None]).tocsr()  # polygon -> share of it in each cell
    names = list(extensive)
    vals = (
        np.column_stack([np.asarray(extensive[n], float) for n in names])
        if names
        else np.zeros((m.shape[0], 0))
    )
    out = pd.DataFrame(
        np.asarray(frac.T @ np.nan_to_num(vals)),
        columns=names,
        index=pd.Index(ov.cells, name="cell"),
    )
    cover = np.asarray(m.sum(axis=0)).ravel() / ov.cell_area
    return out, pd.Series(np.clip(cover, 0, 1), index=out.index, name="cover")


Reducer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def raster_to_cells(
    path: str | Path,
    res: int,
    reducers: dict[str, Reducer],
    band: int = 1,
) -> pd.DataFrame:
    """Reduce a raster onto H3 cells exactly, streaming blocks of rows.

    Each pixel is shared among the cells it overlaps in proportion to the
    overlapping area (exact, any CRS, any pixel size; see
    :mod:`despro.aggregate.raster.reduce`), so summed quantities are conserved. Rasters
    above ``rastermap.EXACT_MAX_PIXELS`` pixels (a national 3 arc-second raster)
    take the centre fast path instead: each pixel wholly in the cell holding its
    centre (totals still conserved; per-cell sums within a few %). ``reducers``
    map an output column to ``f(values, pixel_area_m2)`` returning the per-pixel
    extensive quantity to sum (``lambda v, a: v`` for people per pixel,
    ``lambda v, a: (v == 1) * a`` for covered m2); ``f`` receives a block of
    pixels (2-D, float64) with nodata pixels as value 0 and area 0, and what it
    returns for them is discarded. The valid pixel area per cell (m2) is always
    added as ``"__pixel_area_m2"``. Nodata (the file's nodata value, NaN) pixels
    are dropped, so a cell with no valid pixel is absent (unknown), never 0.

    Pixel areas are ground areas on H3's sphere (as :func:`grid.cell_area_m2`),
    exact per row for lon/lat rasters. The pixel -> cell mapping is computed once
    per (raster grid, resolution) and cached (in memory, and on disk in the run's
    cache folder when set: :meth:`despro.config.settings.Config.cache_path`), so another
    layer on the same grid or a rescore only pays for the sums.

    Inside :func:`despro.grid.extent.partition_extent` only the tiles meeting the
    partition's bounds are read; cells inside them get the whole-raster sums
    bit for bit.
    """
    ext = current_extent()
    return reduce_raster(
        path,
        res,
        reducers,
        band=band,
        bounds=ext.bounds if ext is not None else None,
    )
