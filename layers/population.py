"""Population raster (WorldPop / GHSL style): people per pixel, used as transfer weights.

Declares one ``count`` variable, ``population_raster`` (people), summed per cell
by pixel centre. Negative pixels (seen in real rasters) are treated as nodata and
reported; a projected CRS is fine (pixel centres are transformed to lon/lat).

``scale_to_total`` turns a relative surface (a density, or a raster of another
year) into people: the cells of the study are rescaled to hold that many people
in all (e.g. the Dukcapil count of the run's regencies); the factor is noted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from pydantic import Field

from despro.aggregate.kernels import raster_to_cells
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import require_file

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "population"
LEVEL = "cell"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "penduduk", "en": "population"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = ()


class PopulationConfig(Model):
    """Optional population raster used as transfer weights."""

    path: Path
    vintage: str = "unknown"
    scale_to_total: float | None = Field(
        None,
        gt=0,
        description="rescale the people in the study's cells to this total (e.g. "
        "the official count of the run's regencies) when the raster is a relative surface",
    )


Settings = PopulationConfig

#: the population raster weights the transfers; it is not drawn on the map
CHOROPLETHS: tuple[Choropleth, ...] = ()
LABELS: dict[str, dict[str, str]] = {"id": {}, "en": {}}


def cell_local(cfg: PopulationConfig) -> bool:
    """Whether a cell's row depends on that cell alone (``scale_to_total`` sums all cells)."""
    return cfg.scale_to_total is None


def variables(cfg: PopulationConfig, source: str) -> list[Variable]:
    """The variables this layer yields."""
    return [
        Variable(
            "population_raster",
            Kind.COUNT,
            "people",
            "people in the cell according to the population raster",
            NAME,
            source,
            cfg.vintage,
        )
    ]


def check_raster(path: Path, what: str) -> None:
    """Open a raster and fail clearly if it has no CRS or cannot be read."""
    require_file(path, what)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    f"{what} raster has no CRS", file=path, fix="gdal_edit.py -a_srs EPSG:4326 FILE"
                )
            # a file cut off mid-way opens, then fails on its last rows
            src.read(1, window=rasterio.windows.Window(0, src.height - 1, src.width, 1))
    except rasterio.errors.RasterioError as exc:
        raise InputError(
            f"cannot read {what} raster: {exc}",
            file=path,
            fix="use a GeoTIFF; download or export it again if it was cut off",
        ) from None


def read(
    cfg: PopulationConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Open and check the raster (CRS, readable to its last row); ``raster``: its path."""
    path = config.path(cfg.path)
    check_raster(path, "population")
    return LayerInputs([path], {"raster": path})


def aggregate(
    inputs: LayerInputs, cfg: PopulationConfig, study: Study, notes: Notes
) -> LayerResult:
    """Sum people per cell (the raster is streamed block by block from its checked file)."""
    path = inputs["raster"]
    negative = {"n": 0}

    def people(v, a):
        neg = v < 0
        negative["n"] += int(neg.sum())
        return np.where(neg, 0.0, v)

    t = raster_to_cells(path, study.res, {"population_raster": people})
    if negative["n"]:
        notes.add(path, "repaired", f"{negative['n']} negative pixel(s) counted as 0 people")
    t = t.reindex(study.cell_index)
    cover = (t["__pixel_area_m2"] / study.cell_area_m2()).clip(0, 1).fillna(0.0)
    table = t[["population_raster"]].fillna(0.0)
    if cfg.scale_to_total is not None:
        total = float(table["population_raster"].sum())
        if total <= 0:
            raise InputError(
                "population raster holds no people in the study area, so it "
                "cannot be scaled to population.scale_to_total",
                file=path,
                fix="check the raster covers the villages",
            )
        factor = cfg.scale_to_total / total
        table = table * factor
        notes.add(
            path,
            "warning",
            f"population raster scaled by {factor:.6g} so that the "
            f"study's cells hold {cfg.scale_to_total:,.0f} people "
            "(population.scale_to_total)",
        )
    return LayerResult(
        NAME,
        LEVEL,
        variables(cfg, str(path)),
        table,
        pd.Series(cover.to_numpy(), index=table.index),
        [path],
    )
