"""The partition a kernel is computing for, when it computes for only part of a study.

The dask engine (:mod:`despro.geo.distributed`) builds a layer's cell table one
partition of cells at a time with the unchanged layer code. Three kernels in
:mod:`despro.geo.aggregate` would otherwise depend on which cells they were handed
as a whole, or would read far more than the partition needs; inside
``with partition_extent(ext):`` they read this context instead (in the manner of
``rasterio.Env``):

* :func:`~despro.geo.aggregate.nearest_distance_m` scales its distance frame at the
  whole study's latitudes (``lat_ref``, ``lat_min``, ``lat_max``), so every cell gets
  bit for bit the distance the whole-study call gives it;
* :func:`~despro.geo.aggregate.raster_to_cells` reads only the raster windows that
  overlap ``bounds`` (the rows aligned as in a whole read, so sums are unchanged);
* :func:`~despro.geo.aggregate.polygons_to_cells` skips polygons that lie outside
  ``bounds`` (they add nothing to the partition's cells).

Outside such a block (the local engine) nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class Extent:
    """What a partition shares with the whole study.

    Attributes
    ----------
    lat_ref : float
        Mean latitude (degrees) of the centres of all the study's cells.
    lat_min, lat_max : float
        Smallest and largest latitude (degrees) of those centres.
    bounds : tuple of float, optional
        (min lon, min lat, max lon, max lat) in degrees covering every cell of the
        partition (their hexagons, not only their centres); None: no limit.
    """

    lat_ref: float
    lat_min: float
    lat_max: float
    bounds: tuple[float, float, float, float] | None = None

    def touches(self, geoms: np.ndarray) -> np.ndarray:
        """Boolean mask: geometries whose bounding box meets ``bounds`` (all when None)."""
        geoms = np.asarray(geoms, dtype=object)
        if self.bounds is None:
            return np.ones(len(geoms), bool)
        b = shapely.bounds(geoms)
        x0, y0, x1, y1 = self.bounds
        return (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)


_EXTENT: ContextVar[Extent | None] = ContextVar("despro_partition_extent", default=None)


def current_extent() -> Extent | None:
    """The extent set by the innermost :func:`partition_extent` block, or None."""
    return _EXTENT.get()


@contextmanager
def partition_extent(extent: Extent | None) -> Iterator[Extent | None]:
    """Run the enclosed kernels for one partition of a larger study (see the module)."""
    token = _EXTENT.set(extent)
    try:
        yield extent
    finally:
        _EXTENT.reset(token)
