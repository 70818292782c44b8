"""H3 grid helpers: uint64 ids inside the engine, strings only at the edges.

All functions are vectorised over numpy arrays (through h3ronpy); nothing here
loops over cells in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely
from h3ronpy import cells_area_m2, cells_parse, cells_to_string, change_resolution
from h3ronpy.vector import cells_to_coordinates, cells_to_wkb_polygons, coordinates_to_cells

from .errors import DesproError

CELL_DTYPE = np.uint64


def _np(arr) -> np.ndarray:
    return np.asarray(pa.array(arr).to_numpy(zero_copy_only=False))


def check_resolution(res: int) -> int:
    """Validate an H3 resolution (0-15) and return it."""
    if not isinstance(res, int | np.integer) or not 0 <= int(res) <= 15:
        raise DesproError(f"H3 resolution must be an integer 0-15, got {res!r}")
    return int(res)


def points_to_cells(lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """H3 cell (uint64) containing each lon/lat point (degrees, WGS84)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.size == 0:
        return np.empty(0, dtype=CELL_DTYPE)
    out = coordinates_to_cells(lat, lon, np.full(lon.shape, check_resolution(res), np.uint8))
    return _np(out).astype(CELL_DTYPE)


def cell_centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre longitude and latitude (degrees) of each cell."""
    cells = np.asarray(cells, dtype=CELL_DTYPE)
    if cells.size == 0:
        return np.empty(0), np.empty(0)
    rb = cells_to_coordinates(pa.array(cells))
    return _np(rb.column("lng")), _np(rb.column("lat"))


def cell_polygons(cells: np.ndarray) -> np.ndarray:
    """Shapely polygons (lon/lat degrees) of the cells' boundaries."""
    cells = np.asarray(cells, dtype=CELL_DTYPE)
    if cells.size == 0:
        return np.empty(0, dtype=object)
    wkb = cells_to_wkb_polygons(pa.array(cells))
    return shapely.from_wkb(_np(wkb))


def cell_area_m2(cells: np.ndarray) -> np.ndarray:
    """Exact (spherical) area of each cell in square metres."""
    cells = np.asarray(cells, dtype=CELL_DTYPE)
    if cells.size == 0:
        return np.empty(0)
    return _np(cells_area_m2(pa.array(cells)))


def cells_to_str(cells: np.ndarray) -> np.ndarray:
    """Hex-string ids (as h3-py and most tools print them)."""
    cells = np.asarray(cells, dtype=CELL_DTYPE)
    if cells.size == 0:
        return np.empty(0, dtype=object)
    return _np(cells_to_string(pa.array(cells))).astype(object)


def str_to_cells(ids) -> np.ndarray:
    """Parse hex-string ids to uint64; raises on an invalid id."""
    ids = list(ids)
    if not ids:
        return np.empty(0, dtype=CELL_DTYPE)
    try:
        return _np(cells_parse(pa.array(ids, type=pa.string()))).astype(CELL_DTYPE)
    except Exception as exc:  # h3ronpy raises a plain ValueError without the id
        raise DesproError(f"invalid H3 cell id in {ids[:3]}...: {exc}") from exc


def parent_cells(cells: np.ndarray, res: int) -> np.ndarray:
    """Parent (coarser) cell of each cell at resolution ``res``."""
    cells = np.asarray(cells, dtype=CELL_DTYPE)
    if cells.size == 0:
        return cells
    return _np(change_resolution(pa.array(cells), check_resolution(res))).astype(CELL_DTYPE)
