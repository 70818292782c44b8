"""Broadband coverage: Ookla open-data speed tiles and a 4G coverage raster.

Reads
    * Ookla "performance tiles" (zoom-16 quadkey tiles with ``avg_d_kbps``,
      ``avg_u_kbps``, ``avg_lat_ms``, ``tests``, ``devices``) from Parquet (with a
      WKT ``tile`` column as Ookla publishes), GeoParquet, Shapefile, GeoPackage or
      CSV; several files (quarters) are pooled, weighting by tests.
    * a coverage GeoTIFF (any CRS): pixels equal to ``coverage_value`` are covered,
      other valid pixels are not, nodata is unknown.

Yields
    ``download_mbps``, ``upload_mbps``, ``latency_ms`` (intensive, weighted by tests);
    ``speedtest_tests``, ``speedtest_devices`` (counts); ``pct_area_4g_coverage``
    (rate: covered ground area / surveyed ground area, percent).

Tiles are split among the cells they overlap by area, so every test is counted
once. A cell without tests has unknown speed, not 0 Mbps.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from despro.geo.aggregate import polygons_to_cells, raster_to_cells
from despro.geo.config import BroadbandConfig, Config
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import (
    file_row,
    filter_rows,
    numeric_column,
    read_table,
    read_vector,
    require_columns,
)
from .population import check_raster

NAME = "broadband"
OOKLA_COLUMNS = ["avg_d_kbps", "avg_u_kbps", "avg_lat_ms", "tests", "devices"]


def variables(cfg: BroadbandConfig, tiles_src: str = "", raster_src: str = "") -> list[Variable]:
    """The variables this layer yields (only those whose source is configured)."""
    out = []
    if cfg.tiles:
        v = cfg.tiles_vintage
        out += [
            Variable("download_mbps", Kind.INTENSIVE, "Mbps",
                     "mean download speed of Ookla tests, weighted by tests", NAME, tiles_src, v),
            Variable("upload_mbps", Kind.INTENSIVE, "Mbps",
                     "mean upload speed of Ookla tests, weighted by tests", NAME, tiles_src, v),
            Variable("latency_ms", Kind.INTENSIVE, "ms",
                     "mean latency of Ookla tests, weighted by tests", NAME, tiles_src, v),
            Variable("speedtest_tests", Kind.COUNT, "tests", "Ookla speed tests", NAME,
                     tiles_src, v),
            Variable("speedtest_devices", Kind.COUNT, "devices",
                     "Ookla devices (summed over tiles; a device may recur)", NAME, tiles_src, v),
        ]
    if cfg.coverage_raster:
        out.append(Variable("pct_area_4g_coverage", Kind.RATE, "percent",
                            "ground area with 4G signal / surveyed ground area", NAME,
                            raster_src, cfg.coverage_vintage))
    return out


def quadkey_to_polygon(qk: str) -> shapely.Polygon:
    """Bounds of a Bing / Ookla quadkey tile as a lon/lat polygon."""
    x = y = 0
    z = len(qk)
    for i, ch in enumerate(qk):
        bit = z - i - 1
        d = int(ch)
        x |= (d & 1) << bit
        y |= ((d >> 1) & 1) << bit
    n = 2.0**z

    def lat(yy):
        return np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * yy / n))))

    return shapely.box(x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def read_tiles(path: Path, filters: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Read one Ookla tile file into a GeoDataFrame with the Ookla columns as floats.

    ``filters`` (``layers.broadband.tiles_filters``) keeps the rows where every
    ``column == value``, e.g. one quarter of a file pooling several.
    """
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".csv", ".xlsx"}:
        df = read_table(path, "Ookla tiles", dtype={"quadkey": str})
        if "geometry" in df.columns and suffix == ".parquet":
            gdf = gpd.read_parquet(path)
        elif "tile" in df.columns:
            try:
                geom = shapely.from_wkt(df["tile"].astype(str).to_numpy())
            except shapely.errors.GEOSException as exc:
                raise InputError(f"Ookla column 'tile' holds invalid WKT: {exc}", file=path,
                                 fix="use the 'tile' column as published") from None
            gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
        elif "quadkey" in df.columns:
            geom = [quadkey_to_polygon(q) for q in df["quadkey"].astype(str)]
            gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
        else:
            raise InputError("Ookla tiles need a 'tile' (WKT) or 'quadkey' column", file=path,
                             fix="keep the columns as Ookla publishes them")
    else:
        gdf = read_vector(path, "Ookla tiles")
    gdf = filter_rows(gdf, filters or {}, path, "Ookla tiles", "layers.broadband.tiles_filters")
    require_columns(gdf, OOKLA_COLUMNS, path, "Ookla tiles")
    for c in OOKLA_COLUMNS:
        gdf[c] = numeric_column(gdf, c, path, "Ookla tiles", allow_missing=False)
    bad = (gdf["tests"] < 1).to_numpy() | (gdf["avg_d_kbps"] < 0).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("Ookla tile with tests < 1 or negative speed", file=path,
                         row=file_row(gdf, i), fix="drop the row or fix its values")
    return gdf


def build(cfg: BroadbandConfig, study: Study, config: Config, notes: Notes,
          progress=None) -> LayerResult:
    """Aggregate the tiles and the coverage raster onto the study cells."""
    idx = study.cell_index
    parts, covers, inputs = [], [], []
    tiles_src = raster_src = ""
    if cfg.tiles:
        paths = [config.path(p) for p in cfg.tiles]
        tiles = pd.concat([read_tiles(p, cfg.tiles_filters) for p in paths],
                          ignore_index=True)
        inputs += paths
        tiles_src = ", ".join(str(p) for p in paths)
        w = tiles["tests"].to_numpy()
        ext = {
            "download_mbps__wsum": tiles["avg_d_kbps"].to_numpy() / 1000.0 * w,
            "download_mbps__w": w,
            "upload_mbps__wsum": tiles["avg_u_kbps"].to_numpy() / 1000.0 * w,
            "upload_mbps__w": w,
            "latency_ms__wsum": tiles["avg_lat_ms"].to_numpy() * w,
            "latency_ms__w": w,
            "speedtest_tests": w,
            "speedtest_devices": tiles["devices"].to_numpy(),
        }
        t, cover = polygons_to_cells(tiles.geometry.values, study.res, ext)
        parts.append(t.reindex(idx).fillna(0.0))
        # Ookla lists every tile with a test, so the absence of a tile is 0 tests:
        # the tile source covers the whole study area for counts; speeds stay
        # unknown (weight 0) where nobody tested.
        covers.append(pd.Series(1.0, index=idx))
    if cfg.coverage_raster:
        path = config.path(cfg.coverage_raster)
        check_raster(path, "coverage")
        inputs.append(path)
        raster_src = str(path)
        val = cfg.coverage_value
        r = raster_to_cells(path, study.res, {
            "pct_area_4g_coverage__num": lambda v, a: (v == val) * a,
            "pct_area_4g_coverage__den": lambda v, a: a,
        }, progress=progress).reindex(idx)
        covers.append((r["__pixel_area_m2"] / study.cell_area_m2()).clip(0, 1).fillna(0.0))
        parts.append(r[["pct_area_4g_coverage__num", "pct_area_4g_coverage__den"]].fillna(0.0))
    if not parts:
        raise InputError("layers.broadband has neither tiles nor coverage_raster",
                         file=config.source_file, fix="set at least one of them")
    table = pd.concat(parts, axis=1)
    cover = pd.concat(covers, axis=1).max(axis=1)
    return LayerResult(NAME, "cell", variables(cfg, tiles_src, raster_src), table, cover, inputs)
