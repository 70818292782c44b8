"""The partition a kernel is computing for, when it computes for only part of a study.

The dask engine (:mod:`despro.pipeline.dask`) builds a layer's cell table one
partition of cells at a time with the unchanged layer code. Kernels that would
read far more than the partition needs look at this context (in the manner of
``rasterio.Env``) inside ``with partition_extent(ext):``:

* :func:`~despro.aggregate.kernels.raster_to_cells` reads only the raster tiles that
  meet ``bounds`` (a cell's sums are the whole-raster sums bit for bit);
* :func:`~despro.aggregate.kernels.polygons_to_cells` skips polygons whose bounding box
  misses ``bounds`` (they add nothing to the partition's cells).

Everything a kernel returns for a cell must depend on that cell alone, never on
which other cells it was handed (distances, for one, are measured in fixed
latitude bands, :func:`~despro.aggregate.kernels.nearest_distance_m`). Outside such a
block (the local engine) nothing changes.
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
    """Where a partition lies.

    Attributes
    ----------
    bounds : tuple of float, optional
        (min lon, min lat, max lon, max lat) in degrees covering every cell of the
        partition (their hexagons, not only their centres); None: no limit.
    """

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
