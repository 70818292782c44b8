"""Population raster (WorldPop / GHSL style): people per pixel, used as transfer weights.

Declares one ``count`` variable, ``population_raster`` (people), summed per cell
by pixel centre. Negative pixels (seen in real rasters) are treated as nodata and
reported; a projected CRS is fine (pixel centres are transformed to lon/lat).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import rasterio
from despro.geo.aggregate import raster_to_cells
from despro.geo.config import Config, PopulationConfig
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import require_file

NAME = "population"


def variables(cfg: PopulationConfig, source: str) -> list[Variable]:
    """The variables this layer yields."""
    return [Variable("population_raster", Kind.COUNT, "people",
                     "people in the cell according to the population raster", NAME, source,
                     cfg.vintage)]


def check_raster(path, what: str) -> None:
    """Open a raster and fail clearly if it has no CRS or cannot be read."""
    require_file(path, what)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(f"{what} raster has no CRS", file=path,
                                 fix="gdal_edit.py -a_srs EPSG:4326 FILE")
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read {what} raster: {exc}", file=path,
                         fix="use a GeoTIFF") from None


def build(cfg: PopulationConfig, study: Study, config: Config, notes: Notes,
          progress=None) -> LayerResult:
    """Sum people per cell."""
    path = config.path(cfg.path)
    check_raster(path, "population")
    negative = {"n": 0}

    def people(v, a):
        neg = v < 0
        negative["n"] += int(neg.sum())
        return np.where(neg, 0.0, v)

    t = raster_to_cells(path, study.res, {"population_raster": people}, progress=progress)
    if negative["n"]:
        notes.add(path, "repaired", f"{negative['n']} negative pixel(s) counted as 0 people")
    t = t.reindex(study.cell_index)
    cover = (t["__pixel_area_m2"] / study.cell_area_m2()).clip(0, 1).fillna(0.0)
    table = t[["population_raster"]].fillna(0.0)
    return LayerResult(NAME, "cell", variables(cfg, str(path)), table,
                       pd.Series(cover.to_numpy(), index=table.index), [path])
