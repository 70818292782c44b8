"""Kernels that turn points, polygons, lines and rasters into additive cell columns.

Pure functions: arrays / GeoDataFrames in, DataFrames indexed by uint64 cell out.
No file I/O except :func:`raster_to_cells`, which streams a raster block by
block (through :mod:`despro.geo.rastermap`) so that a national 3 arc-second
raster never sits in memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyproj
import shapely

from . import grid
from .extent import current_extent
from .overlap import polygon_overlap
from .rastermap import reduce_raster

GEOD = pyproj.Geod(ellps="WGS84")
EARTH_M_PER_DEG = 111_319.49  # metres per degree of latitude / equatorial longitude


def _cell_frame(cells: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    df = pd.DataFrame(columns)
    df.insert(0, "cell", np.asarray(cells, dtype=grid.CELL_DTYPE))
    return df.groupby("cell", sort=True).sum()


def points_to_cells(lon: np.ndarray, lat: np.ndarray, res: int,
                    columns: dict[str, np.ndarray] | None = None,
                    classes: np.ndarray | None = None, class_names: tuple[str, ...] = (),
                    prefix: str = "") -> pd.DataFrame:
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
    cells = grid.points_to_cells(lon, lat, res)
    cols = dict(columns or {})
    if classes is not None:
        classes = np.asarray(classes, dtype=object)
        for c in class_names:
            cols[f"{prefix}__{c}"] = (classes == c).astype(float)
    return _cell_frame(cells, cols)


def polygons_to_cells(geoms: np.ndarray, res: int, extensive: dict[str, np.ndarray]) -> tuple[
        pd.DataFrame, pd.Series]:
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
    vals = np.column_stack([np.asarray(extensive[n], float) for n in names]) if names else \
        np.zeros((m.shape[0], 0))
    out = pd.DataFrame(np.asarray(frac.T @ np.nan_to_num(vals)), columns=names,
                       index=pd.Index(ov.cells, name="cell"))
    cover = np.asarray(m.sum(axis=0)).ravel() / grid.cell_area_m2(ov.cells)
    return out, pd.Series(np.clip(cover, 0, 1), index=out.index, name="cover")


def _lon_scale(lat_deg: np.ndarray) -> np.ndarray:
    """Metres per degree of longitude over metres per degree of latitude (WGS84)."""
    e2 = GEOD.es
    s2 = np.sin(np.deg2rad(lat_deg)) ** 2
    return np.cos(np.deg2rad(lat_deg)) * (1 - e2 * s2) / (1 - e2)


def _segments(features: np.ndarray) -> np.ndarray:
    """Lines cut into their two-point segments; points (and polygons' rings) kept simple.

    Nearest-feature queries against long multi-part cables are slow (every
    distance walks the whole cable); against segments they are local and cheap.
    """
    parts = shapely.get_parts(features)
    lines = parts[np.isin(shapely.get_type_id(parts), [1, 2])]
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys):
        lines = np.r_[lines, shapely.get_parts(shapely.boundary(polys))]
    others = parts[~np.isin(shapely.get_type_id(parts), [1, 2, 3])]
    if len(lines) == 0:
        return others
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    segs = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1))
    return np.r_[others, segs]


def nearest_distance_m(lon: np.ndarray, lat: np.ndarray, features: np.ndarray,
                       band_deg: float = 1.0) -> np.ndarray:
    """Geodesic distance in metres from each point to the nearest feature.

    Method: features are cut into two-point segments. Points are processed in
    latitude bands of ``band_deg``; in each band, longitudes are scaled by the WGS84
    ratio of metres per degree of longitude to latitude at the band's centre, which
    makes the frame locally isotropic. The nearest segment in that frame (STRtree)
    gives a distance d0; every segment within d0 times (1 + twice the frame's
    largest scale error over the latitudes a disc of radius d0 spans) is a
    candidate, and each candidate's nearest point is measured on the WGS84 ellipsoid
    (pyproj.Geod); the minimum wins. The true nearest feature is always among the
    candidates, so the distance is geodesic to the nearest feature (up to where on
    a segment the nearest point lies, a second-order effect). Never degrees, never
    one UTM zone for the whole country.

    Returns NaN for every point when there are no features.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    out = np.full(len(lon), np.nan)
    features = np.asarray([f for f in features if f is not None and not f.is_empty], dtype=object)
    if len(features) == 0 or len(lon) == 0:
        return out
    segs = _segments(features)
    band = np.floor(lat / band_deg).astype(int)
    for b in np.unique(band):
        idx = np.flatnonzero(band == b)
        out[idx] = _nearest_in_band(lon[idx], lat[idx], segs, (b + 0.5) * band_deg)
    return out


def _nearest_in_band(lon: np.ndarray, lat: np.ndarray, segs: np.ndarray,
                     lat0: float) -> np.ndarray:
    k0 = float(_lon_scale(lat0))
    feats = shapely.transform(segs, lambda xy: xy * np.array([k0, 1.0]))
    pts = shapely.points(lon * k0, lat)
    tree = shapely.STRtree(feats)
    pi, fi = tree.query_nearest(pts, all_matches=True)
    d0 = np.full(len(lon), np.inf)
    np.minimum.at(d0, pi, shapely.distance(pts[pi], feats[fi]))
    # worst scale error of the frame over the latitudes within d0 (degrees) of the point
    lo, hi = lat - d0, lat + d0
    ends = np.stack([lo, hi, np.where((lo < 0) & (hi > 0), 0.0, lo)])
    slack = np.abs(_lon_scale(np.clip(ends, -89.0, 89.0)) / k0 - 1).max(axis=0) + 1e-6
    qi, qf = tree.query(pts, predicate="dwithin", distance=d0 * (1 + 2 * slack) + 1e-12)
    near = shapely.shortest_line(pts[qi], feats[qf])
    end = shapely.get_coordinates(shapely.get_point(near, 1))
    _, _, d = GEOD.inv(lon[qi], lat[qi], end[:, 0] / k0, end[:, 1])
    out = np.full(len(lon), np.inf)
    np.minimum.at(out, qi, d)
    out[~np.isfinite(out)] = np.nan
    return out


Reducer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def raster_to_cells(path, res: int, reducers: dict[str, Reducer],
                    band: int = 1, window_rows: int = 512,
                    progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Reduce a raster onto H3 cells exactly, streaming blocks of rows.

    Each pixel is shared among the cells it overlaps in proportion to the
    overlapping area (exact, any CRS, any pixel size; see
    :mod:`despro.geo.rastermap`), so summed quantities are conserved. Rasters
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
    per (raster grid, resolution) and cached (in memory, and on disk under
    ``$DESPRO_CACHE_DIR`` when set), so another layer on the same grid or a rescore
    only pays for the sums. ``window_rows`` is kept for compatibility: the
    mapping's tiles set the blocks read (results do not depend on them).

    Inside :func:`despro.geo.extent.partition_extent` only the tiles meeting the
    partition's bounds are read; cells inside them get the whole-raster sums
    bit for bit.
    """
    ext = current_extent()
    return reduce_raster(path, res, reducers, band=band,
                         bounds=ext.bounds if ext is not None else None,
                         progress=progress)
