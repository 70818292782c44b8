"""The pixel grid of a raster: CRS transforms, pixel ground areas, cells per block.

A :class:`RasterGrid` (affine transform, shape, CRS) is what keys a cached
pixel -> cell mapping (:mod:`despro.aggregate.raster.reduce`). Pixel coordinates ``(u, v)``
are (column, row) as the inverse affine transform gives them, so every pixel is
a unit square whatever the CRS, rotation or pixel size.

Ground areas (m2) are measured on H3's authalic sphere (radius
:data:`H3_RADIUS_M`), the model of :func:`despro.grid.cells.cell_area_m2`, so that a
valid area divided by a cell's area is a clean coverage share; they differ from
WGS84 ellipsoidal areas by < 0.5 % (the sphere is the ellipsoid's equal-area
sphere, but H3 treats geodetic latitudes as spherical ones).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import h3
import numpy as np
import pyarrow as pa
import pyproj
import shapely
from affine import Affine
from h3ronpy.vector import ContainmentMode, wkb_to_cells

from despro.errors import DesproError
from despro.grid import cells as grid
from despro.grid import lattice as h3lattice

FORMAT_VERSION = 5  # bump when the mapping's meaning or layout changes (cache keys)
H3_RADIUS_M = grid.H3_EARTH_RADIUS_M  # H3's authalic Earth radius (grid.cell_area_m2 uses it)
AREA_STEP = 64  # pixels between samples of the area density of non-geographic rasters
CELL_MARGIN_EDGES = 2.5  # cells are listed up to this many H3 edge lengths beyond a block
M_PER_DEG = 111_319.49


@dataclass(frozen=True)
class RasterGrid:
    """Affine transform, shape (pixels) and CRS of a raster.

    A pyproj ``CRS`` object must not be used from two threads (PROJ's context is per
    thread; shared objects crashed a forked worker building tiles on two threads), so
    what the tile builders ask of the CRS is read once here, in the constructing thread:
    ``is_geographic``, ``is_wgs84`` and ``crs_wkt``; transformers are built from the WKT
    text by the thread that uses them.
    """

    transform: Affine
    width: int
    height: int
    crs: pyproj.CRS
    is_geographic: bool = field(init=False, repr=False, compare=False)
    is_wgs84: bool = field(init=False, repr=False, compare=False)
    crs_wkt: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        geographic = bool(self.crs.is_geographic)
        wgs84 = geographic and self.crs.equals("EPSG:4326", ignore_axis_order=True)
        object.__setattr__(self, "is_geographic", geographic)
        object.__setattr__(self, "is_wgs84", wgs84)
        object.__setattr__(self, "crs_wkt", self.crs.to_wkt())

    @classmethod
    def of(cls, transform, width: int, height: int, crs) -> RasterGrid:
        """Build from an affine (or its 6 coefficients) and anything pyproj reads as a CRS."""
        if crs is None:
            raise DesproError("raster has no CRS; set one (gdal_edit.py -a_srs EPSG:4326 FILE)")
        t = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
        if t.determinant == 0:
            raise DesproError(f"raster transform {tuple(t)[:6]} is singular")
        crs = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
        return cls(t, int(width), int(height), crs)

    @classmethod
    def from_dataset(cls, src) -> RasterGrid:
        """The grid of an open rasterio dataset."""
        return cls.of(src.transform, src.width, src.height, src.crs)

    @property
    def rows_have_equal_areas(self) -> bool:
        """True for north-up lon/lat grids: every pixel of a row has the same ground area."""
        t = self.transform
        return self.is_geographic and t.b == 0 and t.d == 0

    def key(self, res: int) -> str:
        """Cache key of this grid's mapping at H3 resolution ``res``."""
        t = tuple(float(x).hex() for x in tuple(self.transform)[:6])
        text = repr((FORMAT_VERSION, t, self.width, self.height, self.crs_wkt, int(res)))
        return hashlib.sha1(text.encode()).hexdigest()[:20]

    # -- coordinates -------------------------------------------------------------
    def pixel_to_lonlat(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitude, latitude (degrees, WGS84) of pixel coordinates (column, row)."""
        t = self.transform
        u, v = np.asarray(u, float), np.asarray(v, float)
        x, y = t.a * u + t.b * v + t.c, t.d * u + t.e * v + t.f
        if not self.is_wgs84:
            tr = pyproj.Transformer.from_crs(self.crs_wkt, "EPSG:4326", always_xy=True)
            x, y = tr.transform(x, y)
        return np.asarray(x, float), np.asarray(y, float)

    def lonlat_to_pixel(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (column, row; fractional) of lon/lat points (degrees, WGS84)."""
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        if not self.is_wgs84:
            tr = pyproj.Transformer.from_crs("EPSG:4326", self.crs_wkt, always_xy=True)
            lon, lat = tr.transform(lon, lat)
        t = ~self.transform
        return t.a * lon + t.b * lat + t.c, t.d * lon + t.e * lat + t.f

    # -- areas -------------------------------------------------------------------
    def row_areas(self, r0: int, r1: int) -> np.ndarray:
        """Ground area (m2) of one pixel of each row in [r0, r1) (north-up lon/lat grids).

        Exact on the sphere: ``R^2 * |dlon| * |sin(lat_top) - sin(lat_bottom)|``.
        """
        t = self.transform
        lat = np.deg2rad(t.f + t.e * np.arange(r0, r1 + 1, dtype=float))
        return H3_RADIUS_M**2 * abs(np.deg2rad(t.a)) * np.abs(np.diff(np.sin(lat)))

    def area_density(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground area per pixel (m2) sampled every :data:`AREA_STEP` pixels.

        Returns the sample columns, rows and values (the Jacobian of the pixel ->
        lon/lat map, by central differences, times ``R^2 cos(lat)``).
        """
        us = np.unique(np.r_[np.arange(0, self.width, AREA_STEP), self.width]).astype(float)
        vs = np.unique(np.r_[np.arange(0, self.height, AREA_STEP), self.height]).astype(float)
        uu, vv = np.meshgrid(us, vs)
        lon_e, lat_e = self.pixel_to_lonlat(uu + 0.5, vv)
        lon_w, lat_w = self.pixel_to_lonlat(uu - 0.5, vv)
        lon_s, lat_s = self.pixel_to_lonlat(uu, vv + 0.5)
        lon_n, lat_n = self.pixel_to_lonlat(uu, vv - 0.5)
        _, lat_c = self.pixel_to_lonlat(uu, vv)
        det = np.abs(
            np.deg2rad(lon_e - lon_w) * np.deg2rad(lat_s - lat_n)
            - np.deg2rad(lon_s - lon_n) * np.deg2rad(lat_e - lat_w)
        )
        return us, vs, H3_RADIUS_M**2 * np.cos(np.deg2rad(lat_c)) * det

    def pixel_areas(self, r0: int, r1: int, c0: int, c1: int, density=None) -> np.ndarray:
        """Ground area (m2) of pixels [r0, r1) x [c0, c1): shape (rows, 1) or (rows, cols).

        North-up lon/lat grids: exact per row (shape (rows, 1)). Others: the sampled
        density (``density``, from :meth:`area_density`) interpolated bilinearly to
        each pixel centre.
        """
        if self.rows_have_equal_areas:
            return self.row_areas(r0, r1)[:, None]
        us, vs, rho = density if density is not None else self.area_density()
        return (
            _interp_matrix(vs, np.arange(r0, r1) + 0.5)
            @ rho
            @ _interp_matrix(us, np.arange(c0, c1) + 0.5).T
        )

    # -- cells -------------------------------------------------------------------
    def block_box(self, r0: int, r1: int, c0: int, c1: int, res: int):
        """Lon/lat box (min lon, min lat, max lon, max lat; degrees) around the pixels
        [r0, r1) x [c0, c1), widened by :data:`CELL_MARGIN_EDGES` H3 edge lengths: the
        cells whose centres lie in it include every cell meeting the block."""
        lon, lat = self.pixel_to_lonlat(*_rectangle_outline(c0, r0, c1, r1))
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise DesproError("raster footprint does not map to longitude/latitude")
        margin = CELL_MARGIN_EDGES * h3.average_hexagon_edge_length(res, "m") / M_PER_DEG
        lat0, lat1 = max(lat.min() - margin, -89.0), min(lat.max() + margin, 89.0)
        lon_margin = margin / np.cos(np.deg2rad(max(abs(lat0), abs(lat1))))
        lon0, lon1 = lon.min() - lon_margin, lon.max() + lon_margin
        if lon1 - lon0 >= 180 or lon0 < -180 or lon1 > 180:
            raise DesproError(
                "raster blocks spanning >= 180 degrees of longitude "
                "or crossing the antimeridian are not supported; split the "
                "raster at 180 degrees (gdalwarp -te) and map each part"
            )
        return lon0, lat0, lon1, lat1

    def block_cells(self, r0: int, r1: int, c0: int, c1: int, res: int) -> np.ndarray:
        """Sorted H3 cells (uint64) whose centres lie in :meth:`block_box`: all cells
        meeting the pixels [r0, r1) x [c0, c1) and their neighbours."""
        box = shapely.box(*self.block_box(r0, r1, c0, c1, res))
        lists = wkb_to_cells(
            pa.array([shapely.to_wkb(box)], type=pa.binary()),
            res,
            containment_mode=ContainmentMode.ContainsCentroid,
        )
        cells = np.asarray(pa.array(lists).flatten().to_numpy(zero_copy_only=False))
        return np.sort(cells.astype(grid.CELL_DTYPE))  # one polygon: no duplicates

    def block_polygons(self, r0: int, r1: int, c0: int, c1: int, res: int):
        """Cells of :meth:`block_cells` and their vertices in block pixel coordinates.

        The hexagons come from their icosahedron face's lattice
        (:func:`despro.grid.lattice.box_hexagons`) where the block lies inside one
        face, else from H3 vertex by vertex (:func:`despro.grid.cells.cell_vertices`).

        Returns (cells, verts): ``verts`` (n, k, 2) holds (column - c0, row - r0),
        padded as :func:`despro.grid.cells.cell_vertices` pads, not oriented.
        """
        lattice = h3lattice.box_hexagons(*self.block_box(r0, r1, c0, c1, res), res)
        if lattice is not None:
            cells, xy = lattice
        else:
            cells = self.block_cells(r0, r1, c0, c1, res)
            xy, _ = grid.cell_vertices(cells)
        u, v = self.lonlat_to_pixel(xy[..., 0].ravel(), xy[..., 1].ravel())
        return cells, np.stack([u - c0, v - r0], axis=1).reshape(xy.shape)

    def pixel_window(self, bounds) -> tuple[int, int, int, int]:
        """Rows [r0, r1) and columns [c0, c1) of the pixels meeting lon/lat ``bounds``.

        ``bounds`` is (min lon, min lat, max lon, max lat), degrees; None: the whole
        raster. One pixel of margin on every side.
        """
        if bounds is None:
            return 0, self.height, 0, self.width
        u, v = self.lonlat_to_pixel(*_rectangle_outline(*bounds))
        r0 = min(max(int(np.floor(v.min())) - 1, 0), self.height)
        r1 = max(min(int(np.ceil(v.max())) + 1, self.height), r0)
        c0 = min(max(int(np.floor(u.min())) - 1, 0), self.width)
        c1 = max(min(int(np.ceil(u.max())) + 1, self.width), c0)
        return r0, r1, c0, c1


def _interp_matrix(knots: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Dense linear-interpolation weights, shape (len(x), len(knots))."""
    i = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, len(knots) - 2)
    w = (x - knots[i]) / (knots[i + 1] - knots[i])
    m = np.zeros((len(x), len(knots)))
    m[np.arange(len(x)), i] = 1 - w
    m[np.arange(len(x)), i + 1] = w
    return m


def _rectangle_outline(
    x0: float, y0: float, x1: float, y1: float, n: int = 33
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points along each side of a rectangle: its outline survives a curved
    transform (pixel <-> lon/lat in a projected CRS) better than its four corners."""
    s = np.linspace(0, 1, n)
    x = np.concatenate([x0 + s * (x1 - x0), np.full(n, x1), x1 - s * (x1 - x0), np.full(n, x0)])
    y = np.concatenate([np.full(n, y0), y0 + s * (y1 - y0), np.full(n, y1), y1 - s * (y1 - y0)])
    return x, y
