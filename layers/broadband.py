"""Broadband coverage: Ookla open-data speed tiles and a 4G coverage raster.

Reads
    * Ookla "performance tiles" (zoom-16 quadkey tiles with ``avg_d_kbps``,
      ``avg_u_kbps``, ``avg_lat_ms``, ``tests``, ``devices``) from Parquet (with a
      WKT ``tile`` column as Ookla publishes), GeoParquet, Shapefile, GeoPackage or
      CSV; several files (quarters) are pooled, weighting by tests.
    * a coverage GeoTIFF (any CRS): pixels equal to ``coverage_value`` are covered,
      other valid pixels are not, nodata is unknown.
    * cell lists in the OpenCellID CSV layout (``radio, mcc, net, area, cell, unit,
      lon, lat, range, samples, ...``; the per-country downloads have no header
      line, which is fine; ``.csv.gz`` too), filtered to ``towers_mcc`` (510 =
      Indonesia) and ``towers_radios``.

Yields
    ``download_mbps``, ``upload_mbps``, ``latency_ms`` (intensive, weighted by tests);
    ``speedtest_tests``, ``speedtest_devices`` (counts); ``pct_area_4g_coverage``
    (rate: covered ground area / surveyed ground area, percent); from the cell
    lists ``towers`` (category: OpenCellID cell records per radio type; one tower
    site carries several) and ``pct_area_<radio>_modelled`` per radio (rate:
    ground area within reach of at least one cell of that radio / ground area,
    percent), e.g. ``pct_area_lte_modelled`` for 4G.

Tiles are split among the cells they overlap by area, so every test is counted
once. Quarters given as separate files are pooled (tests and devices summed, speeds
weighted by tests); the same file twice is an error. A cell without tests has
unknown speed, not 0 Mbps.

Modelled coverage: each radio cell is a geodesic disc around its position whose
radius is its OpenCellID ``range`` (metres; an estimate of where it was measured,
not a propagation model) clipped to [``towers_min_range_m``, ``towers_max_range_m``]
(default 500-5,000 m). The discs of a radio are merged, and the merged area inside
each H3 cell is measured exactly (:func:`despro.aggregate.overlap.polygon_overlap`).
It says where a signal is likely, never where it is absent for sure: crowd-sourced
lists miss cells. The tower list is taken as covering the whole study area.
With ``coverage_from_towers`` the discs of the LTE and NR cells and sites, merged,
give ``pct_area_4g_coverage`` (rule I1b's variable; evidence level ``cells``, a
lower bound) instead of a coverage raster; its description states the radii used.
Site lists: see :mod:`despro.layers.sites` (on-air only, repeated ids).

Contracts (pandera, :mod:`despro.layers._contracts`): Ookla speeds and latency are
numbers >= 0, tests >= 1, devices >= 1 and not above tests; OpenCellID radio is a
known type, codes are integers, lon / lat in range, range and samples >= 0.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pandera.pandas as pa
import rasterio
import shapely
from pydantic import Field

from despro.aggregate.kernels import GEOD, points_to_cells, polygons_to_cells
from despro.aggregate.overlap import polygon_overlap
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._contracts import at_most, in_range, non_negative, not_above, number, rule, validate, whole
from ._io import (
    INDONESIA_BOUNDS,
    check_lonlat_plausible,
    file_row,
    filter_rows,
    points_outside_indonesia,
    read_table,
    read_vector,
    require_file,
)
from .population import check_raster, read_raster_cells
from .sites import read_sites

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "broadband"
LEVEL = "cell"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "cakupan 4G", "en": "4G coverage"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = ("pct_area_4g_coverage", "download_mbps", "upload_mbps", "latency_ms")


class BroadbandConfig(Model):
    """Ookla-style tiles and / or a coverage raster."""

    tiles: list[Path] = []
    tiles_vintage: str = "unknown"
    tiles_filters: dict[str, str] = Field(
        default_factory=dict,
        description="keep tile rows where column == value, e.g. "
        "{quarter_start = '2023-01-01'} when a file pools several quarters or areas",
    )
    coverage_raster: Path | None = None
    coverage_value: float = Field(1, description="pixel value meaning 'covered'")
    coverage_vintage: str = "unknown"
    towers: list[Path] = Field(
        default_factory=list,
        description="cell lists in the OpenCellID CSV layout (radio, mcc, "
        "net, area, cell, unit, lon, lat, range, samples ...; header optional, .csv.gz fine)",
    )
    towers_vintage: str = "unknown"
    towers_mcc: list[int] = Field(
        [510], description="keep cells of these mobile country codes (Indonesia: 510); [] keeps all"
    )
    towers_radios: list[Literal["GSM", "UMTS", "LTE", "NR", "CDMA"]] = Field(
        ["GSM", "UMTS", "LTE", "NR"], description="radio types modelled; others are dropped"
    )
    towers_max_range_m: float = Field(
        5000, gt=0, description="a cell's coverage disc radius is its 'range' capped at this"
    )
    towers_min_range_m: float = Field(
        500, ge=0, description="radius of cells with a smaller or missing 'range'"
    )
    sites: list[Path] = Field(
        default_factory=list,
        description="site lists with Kemendagri village codes and "
        "lon / lat (BAKTI 4G BTS layout, CSV or XLSX); each site becomes a tower",
    )
    sites_vintage: str = "unknown"
    sites_code_column: str = "kode kel./desa"
    sites_lon_column: str = "long"
    sites_lat_column: str = "lat"
    sites_status_column: str | None = Field(
        "on air actual", description="keep only sites whose status is in sites_status_keep"
    )
    sites_status_keep: list[str] = ["ON AIR"]
    sites_radio: Literal["GSM", "UMTS", "LTE", "NR", "CDMA"] = "LTE"
    sites_radius_m: float = Field(
        3000,
        gt=0,
        description="coverage disc radius of a site "
        "(the lists give no range; 3 km is a rural 4G macro cell)",
    )
    sites_id_column: str | None = Field(
        "site id",
        description="site identifier: an id repeated at the same position is one site "
        "(dropped, noted); at another position, another site (kept, noted)",
    )
    coverage_lower_bound: bool = Field(
        True,
        description="the modelled 4G coverage is a lower bound (cell lists miss cells): "
        "it proves I1b's pass, and below the threshold leaves I1b unknown rather than "
        "failed; false lets it fail villages too",
    )
    coverage_from_towers: bool = Field(
        False,
        description="publish the modelled 4G coverage (area within reach of an LTE or NR "
        "cell or site) as pct_area_4g_coverage, rule I1b's variable, at the 'cells' "
        "evidence level; not with coverage_raster",
    )


Settings = BroadbandConfig

CHOROPLETHS = (
    Choropleth("download_mbps", "download_mbps", "Mbps", (5, 10, 25, 50, 100), position=10),
    Choropleth(
        "pct_area_4g_coverage", "pct_area_4g_coverage", "percent", (25, 50, 75, 90), position=30
    ),
)
LABELS = {
    "id": {
        "download_mbps": "Kecepatan unduh (Ookla)",
        "pct_area_4g_coverage": "Cakupan sinyal 4G",
    },
    "en": {
        "download_mbps": "Download speed (Ookla)",
        "pct_area_4g_coverage": "4G signal coverage",
    },
}


def cell_local(cfg: BroadbandConfig) -> bool:
    """Per partition unless towers are modelled (their discs merge across cells, and
    GEOS unions differ by rounding)."""
    return not cfg.towers


def variables(
    cfg: BroadbandConfig, tiles_src: str = "", raster_src: str = "", towers_src: str = ""
) -> list[Variable]:
    """The variables this layer yields (only those whose source is configured)."""
    out = []
    if cfg.tiles:
        v = cfg.tiles_vintage
        out += [
            Variable(
                "download_mbps",
                Kind.INTENSIVE,
                "Mbps",
                "mean download speed of Ookla tests, weighted by tests",
                NAME,
                tiles_src,
                v,
            ),
            Variable(
                "upload_mbps",
                Kind.INTENSIVE,
                "Mbps",
                "mean upload speed of Ookla tests, weighted by tests",
                NAME,
                tiles_src,
                v,
            ),
            Variable(
                "latency_ms",
                Kind.INTENSIVE,
                "ms",
                "mean latency of Ookla tests, weighted by tests",
                NAME,
                tiles_src,
                v,
            ),
            Variable(
                "speedtest_tests", Kind.COUNT, "tests", "Ookla speed tests", NAME, tiles_src, v
            ),
            Variable(
                "speedtest_devices",
                Kind.COUNT,
                "devices",
                "Ookla devices (summed over tiles; a device may recur)",
                NAME,
                tiles_src,
                v,
            ),
        ]
    if cfg.coverage_raster:
        out.append(
            Variable(
                "pct_area_4g_coverage",
                Kind.RATE,
                "percent",
                "ground area with 4G signal / surveyed ground area",
                NAME,
                raster_src,
                cfg.coverage_vintage,
            )
        )
    if cfg.towers or cfg.sites:
        v = cfg.towers_vintage if cfg.towers else cfg.sites_vintage
        if cfg.coverage_from_towers:
            out.append(
                Variable(
                    "pct_area_4g_coverage",
                    Kind.RATE,
                    "percent",
                    modelled_4g_description(cfg),
                    NAME,
                    towers_src,
                    ", ".join(
                        x
                        for x in (
                            cfg.towers and cfg.towers_vintage,
                            cfg.sites and cfg.sites_vintage,
                        )
                        if x
                    ),
                    level="cells",
                    lower_bound=cfg.coverage_lower_bound,
                )
            )
        out.append(
            Variable(
                "towers",
                Kind.CATEGORY,
                "cell records",
                "OpenCellID cell records per radio type (a tower site carries several)",
                NAME,
                towers_src,
                v,
                tuple(cfg.towers_radios),
            )
        )
        out += [
            Variable(
                f"pct_area_{r.lower()}_modelled",
                Kind.RATE,
                "percent",
                f"ground area within the capped range of at least one {r} cell / "
                "ground area (modelled from OpenCellID, not measured)",
                NAME,
                towers_src,
                v,
            )
            for r in cfg.towers_radios
        ]
    return out


def coverage_radios(cfg: BroadbandConfig) -> list[str]:
    """The modelled radios that carry 4G data (LTE, and NR whose phones fall back to LTE)."""
    return [r for r in cfg.towers_radios if r in ("LTE", "NR")]


def modelled_4g_description(cfg: BroadbandConfig) -> str:
    """One sentence stating the modelled 4G coverage's assumptions, with the configured numbers."""
    parts = []
    if cfg.towers:
        parts.append(
            f"OpenCellID {'/'.join(coverage_radios(cfg))} cells reach their 'range' clipped to "
            f"{cfg.towers_min_range_m:,.0f}-{cfg.towers_max_range_m:,.0f} m "
            f"({cfg.towers_min_range_m:,.0f} m when missing)"
        )
    if cfg.sites:
        keep = "/".join(cfg.sites_status_keep) if cfg.sites_status_column else "all"
        parts.append(f"listed sites ({keep} only) reach {cfg.sites_radius_m:,.0f} m")
    return (
        "MODELLED, not measured: ground area within reach of at least one 4G cell / ground "
        "area, where " + "; ".join(parts) + ". Crowd-sourced cell lists miss cells, so this "
        "is a lower bound"
        + (
            ": it can pass I1b, never fail it (below the threshold I1b stays unknown)"
            if cfg.coverage_lower_bound
            else ""
        )
    )


def quadkey_bounds(quadkeys: Sequence[str] | np.ndarray) -> np.ndarray:
    """(n, 4) lon / lat bounds (minx, miny, maxx, maxy) of Bing / Ookla quadkey tiles.

    Vectorised over the keys: each digit adds one bit of the tile's x (bit 0) and
    y (bit 1) at zoom = the key's length; y is turned into latitude by the inverse
    Web-Mercator formula.
    """
    q = np.asarray(quadkeys, dtype=str)
    if q.size == 0:
        return np.empty((0, 4))
    z = np.char.str_len(q)
    zmax = int(z.max())
    d = np.frombuffer(np.char.ljust(q, zmax, "0").astype(f"S{zmax}").tobytes(), np.uint8).reshape(
        len(q), zmax
    ).astype(np.int64) - ord("0")
    shift = np.clip(z[:, None] - 1 - np.arange(zmax)[None, :], 0, None)
    x = ((d & 1) << shift).sum(axis=1)
    y = (((d >> 1) & 1) << shift).sum(axis=1)
    n = 2.0**z

    def lat(yy):
        return np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * yy / n))))

    return np.stack([x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)], axis=1)


def read_tiles(path: Path, filters: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """Read one Ookla tile file into a GeoDataFrame with the Ookla columns as floats.

    ``filters`` (``layers.broadband.tiles_filters``) keeps the rows where every
    ``column == value``, e.g. one quarter of a file pooling several.
    """
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".csv", ".xlsx"}:
        df = read_table(path, "Ookla tiles", dtype={"quadkey": str})
        if "geometry" in df.columns and suffix == ".parquet":
            gdf = read_vector(path, "Ookla tiles", extent="any")  # worldwide files are fine
        elif "tile" in df.columns:
            try:
                geom = shapely.from_wkt(df["tile"].astype(str).to_numpy())
            except shapely.errors.GEOSException as exc:
                raise InputError(
                    f"Ookla column 'tile' holds invalid WKT: {exc}",
                    file=path,
                    fix="use the 'tile' column as published",
                ) from None
            gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
        elif "quadkey" in df.columns:
            df = validate(df, QUADKEY, path, "Ookla tiles")
            geom = shapely.box(*quadkey_bounds(df["quadkey"].astype(str).to_numpy()).T)
            gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
        else:
            raise InputError(
                "Ookla tiles need a 'tile' (WKT) or 'quadkey' column",
                file=path,
                fix="keep the columns as Ookla publishes them",
            )
    else:
        gdf = read_vector(path, "Ookla tiles")
    check_tiles(gdf, path, tabular=suffix in {".csv", ".xlsx"})
    gdf = filter_rows(gdf, filters or {}, path, "Ookla tiles", "layers.broadband.tiles_filters")
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return validate(gdf, OOKLA, path, "Ookla tiles")


_SPEED_FIX = "speeds and latency are >= 0 as Ookla publishes them; drop the row"
#: declared ceilings: 10 Gbps is beyond any plan Ookla measures; a minute of latency is
#: not a measurement; a zoom-16 tile of one quarter never holds a billion tests
MAX_KBPS = 10_000_000
MAX_LATENCY_MS = 60_000
MAX_TESTS = 1e9
_CEILING_FIX = "check the unit (Ookla: kbps, ms) and the value; drop the row"
OOKLA = pa.DataFrameSchema(
    {
        "avg_d_kbps": number(
            non_negative(_SPEED_FIX), at_most(MAX_KBPS, _CEILING_FIX), nullable=False
        ),
        "avg_u_kbps": number(
            non_negative(_SPEED_FIX), at_most(MAX_KBPS, _CEILING_FIX), nullable=False
        ),
        "avg_lat_ms": number(
            non_negative(_SPEED_FIX), at_most(MAX_LATENCY_MS, _CEILING_FIX), nullable=False
        ),
        "tests": number(
            rule(
                lambda s: s >= 1,
                "is below 1 test",
                "Ookla lists only tiles with tests; drop the row",
            ),
            whole("tests are counted: a whole number"),
            at_most(MAX_TESTS, _CEILING_FIX),
            nullable=False,
        ),
        "devices": number(
            rule(lambda s: s >= 1, "is below 1 device", "drop the row"),
            whole("devices are counted: a whole number"),
            nullable=False,
        ),
    },
    checks=[
        not_above(
            "devices",
            "tests",
            "each device ran at least one test; check the columns are not swapped",
        )
    ],
)
OOKLA_COLUMNS = list(OOKLA.columns)
QUADKEY = pa.DataFrameSchema(
    {
        "quadkey": pa.Column(
            str,
            rule(
                lambda s: s.str.fullmatch(r"[0-3]{1,23}"),
                "is not a quadkey (digits 0-3)",
                "keep the quadkey column as text, as Ookla publishes it",
            ),
        )
    }
)


#: width of a zoom-16 quadkey tile, degrees of longitude (~610 m at the equator)
TILE_DEGREES = 360.0 / 2**16


def check_tiles(gdf: gpd.GeoDataFrame, path: Path, tabular: bool = False) -> None:
    """Ookla tiles are zoom-16 quadkey squares in degrees: check before any geometry work.

    A tile in projected metres, of the wrong size (a 20-degree 'tile' would send the
    polygon overlap into minutes of work), empty, not a polygon, or a file with no tile
    in Indonesia (swapped latitude / longitude) is an error naming the row.

    Parameters
    ----------
    gdf : GeoDataFrame
        The tiles as read, EPSG:4326.
    path : Path
        The file, named in errors.
    tabular : bool
        Rows of a CSV / XLSX (errors name the spreadsheet row; else the 1-based record).
    """
    if len(gdf) == 0:
        return

    def row(i: int) -> int:
        return file_row(gdf, i) if tabular else i + 1

    geoms = gdf.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"Ookla tiles: {int(empty.sum())} tile(s) have no geometry",
            file=path,
            row=row(int(np.flatnonzero(empty)[0])),
            fix="drop the row or restore its 'tile' / 'quadkey'",
        )
    poly = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    if not poly.all():
        i = int(np.flatnonzero(~poly)[0])
        raise InputError(
            f"Ookla tile is a {geoms[i].geom_type}, expected a square polygon",
            file=path,
            row=row(i),
            fix="use the 'tile' column as Ookla publishes it",
        )
    check_lonlat_plausible(gdf, path, "Ookla tiles", extent="any", tabular=tabular)
    b = shapely.bounds(geoms)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    odd = (w > 2 * TILE_DEGREES) | (w < 0.5 * TILE_DEGREES) | (h > 2 * TILE_DEGREES)
    odd |= h < 0.25 * TILE_DEGREES
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        raise InputError(
            f"Ookla tile is {w[i]:.4g} x {h[i]:.4g} degrees; Ookla tiles are zoom-16 "
            f"quadkey squares of {TILE_DEGREES:.4f} degrees (~610 m) "
            f"({int(odd.sum())} tile(s) of another size)",
            file=path,
            row=row(i),
            fix="use the tiles as Ookla publishes them (EPSG:4326, one quadkey each)",
        )
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    xmin, ymin, xmax, ymax = INDONESIA_BOUNDS
    inside = (cx >= xmin) & (cx <= xmax) & (cy >= ymin) & (cy <= ymax)
    flipped = (cy >= xmin) & (cy <= xmax) & (cx >= ymin) & (cx <= ymax)
    if not inside.any() and flipped.mean() > 0.5:
        raise InputError(
            "Ookla tiles: no tile lies in Indonesia, but all would with latitude and "
            "longitude swapped",
            file=path,
            fix="write the tile polygons as x = longitude, y = latitude",
        )


def read_tile_files(paths: list[Path], filters: dict[str, str], notes: Notes) -> gpd.GeoDataFrame:
    """Read and pool Ookla tile files (e.g. one per quarter) into one table.

    The same file listed twice would count its tests twice: an error. Files whose
    names say ``fixed`` and ``mobile`` are pooled as asked, with a warning (the two
    networks' speeds differ in kind).
    """
    seen: dict[Path, int] = {}
    for i, p in enumerate(paths):
        key = Path(p).resolve()
        if key in seen:
            raise InputError(
                f"Ookla tile file listed twice in layers.broadband.tiles "
                f"(positions {seen[key] + 1} and {i + 1}); its tests would count "
                "twice",
                file=p,
                fix="list each quarter's file once",
            )
        seen[key] = i
    kinds = {k for p in paths for k in ("fixed", "mobile") if k in Path(p).name.lower()}
    if len(kinds) == 2:
        notes.add(
            paths[0],
            "warning",
            "Ookla fixed and mobile tiles are pooled into one "
            "speed; configure one network type per run to keep them apart",
            rows=[str(p) for p in paths],
        )
    parts = [read_tiles(p, filters) for p in paths]
    return gpd.GeoDataFrame(
        pd.concat(parts, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )


# OpenCellID's export layout (the per-country files have no header line)
OPENCELLID_COLUMNS = [
    "radio",
    "mcc",
    "net",
    "area",
    "cell",
    "unit",
    "lon",
    "lat",
    "range",
    "samples",
    "changeable",
    "created",
    "updated",
    "averageSignal",
]
RADIOS = ("GSM", "UMTS", "LTE", "NR", "CDMA")
_CODE_FIX = "keep OpenCellID's columns as exported"
TOWERS = pa.DataFrameSchema(
    {
        "radio": pa.Column(
            str,
            rule(
                lambda s: s.isin(RADIOS),
                f"is not a radio type {RADIOS}",
                "use OpenCellID's radio names",
            ),
            parsers=pa.Parser(lambda s: s.astype("string").str.strip().str.upper()),
        ),
        **{
            c: number(
                rule(lambda s: s == s.round(), "is not a whole number", _CODE_FIX),
                non_negative(_CODE_FIX),
                nullable=False,
            )
            for c in ("mcc", "net", "area", "cell")
        },
        "lon": number(in_range(-180, 180, "longitude in degrees, x"), nullable=False),
        "lat": number(
            in_range(
                -90,
                90,
                "latitude in degrees, y; values like longitudes mean lon and lat are swapped",
            ),
            nullable=False,
        ),
        "range": number(non_negative("metres >= 0; leave unknowns empty")),
        "samples": number(non_negative("a count >= 0"), required=False),
    }
)


def read_towers(
    path: Path, cfg: BroadbandConfig, notes: Notes, outside: str | None = None
) -> gpd.GeoDataFrame:
    """Read one OpenCellID-style cell list: filtered, de-duplicated, checked points.

    Rows of other MCCs and radios are dropped (noted); a cell listed twice (same
    radio, mcc, net, area, cell) keeps the record with the most samples (noted);
    positions outside Indonesia are dropped (noted); swapped lon / lat is an error.

    Returns
    -------
    GeoDataFrame (EPSG:4326 points) with ``radio`` and ``radius_m``, the coverage disc
    radius in metres (``range`` clipped to the configured bounds).
    """
    path = require_file(path, "cell towers")
    with _open_text(path) as f:
        first = f.readline().split(",")[0].strip().strip('"').upper()
    headerless = first in RADIOS
    df = read_table(
        path, "cell towers", dtype=str, names=OPENCELLID_COLUMNS if headerless else None
    )
    df = validate(df, TOWERS, path, "cell towers")
    if cfg.towers_mcc:
        other = ~df["mcc"].isin(cfg.towers_mcc)
        if other.all():
            raise InputError(
                f"no cell with mcc in {cfg.towers_mcc} (the file has "
                f"{sorted(df['mcc'].astype(int).unique().tolist())[:10]})",
                file=path,
                fix="set layers.broadband.towers_mcc or use Indonesia's file (510)",
            )
        if other.any():
            notes.add(
                path,
                "dropped",
                f"cells of other countries (mcc not in {cfg.towers_mcc})",
                rows=[file_row(df, i) for i in np.flatnonzero(other.to_numpy())],
            )
            df = df.loc[~other]
    skip = ~df["radio"].isin(cfg.towers_radios)
    if skip.any():
        notes.add(
            path,
            "dropped",
            "cells of radio types not modelled "
            f"({sorted(set(df['radio'][skip]))}; layers.broadband.towers_radios = "
            f"{cfg.towers_radios})",
            rows=[file_row(df, i) for i in np.flatnonzero(skip.to_numpy())],
        )
        df = df.loc[~skip]
    key = ["radio", "mcc", "net", "area", "cell"]
    order = df.sort_values("samples", ascending=False, kind="stable") if "samples" in df else df
    dup = order.duplicated(key)
    if dup.any():
        notes.add(
            path,
            "repaired",
            "cells listed more than once (same radio, mcc, net, area, "
            "cell): the record with the most samples is kept",
            rows=sorted(file_row(df, df.index.get_loc(i)) for i in order.index[dup]),
        )
        df = df.loc[sorted(order.index[~dup], key=df.index.get_loc)]
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    check_lonlat_plausible(gdf, path, "cell towers", tabular=True)
    gdf = points_outside_indonesia(
        gdf, path, "cell towers", notes, outside, [file_row(gdf, i) for i in range(len(gdf))]
    )
    r = gdf["range"].to_numpy(float)
    radius = np.clip(np.nan_to_num(r, nan=0.0), cfg.towers_min_range_m, cfg.towers_max_range_m)
    capped = r > cfg.towers_max_range_m
    if capped.any():
        notes.add(
            path,
            "warning",
            f"{int(capped.sum())} cells with a range above "
            f"{cfg.towers_max_range_m:,.0f} m modelled as {cfg.towers_max_range_m:,.0f} m "
            "(layers.broadband.towers_max_range_m)",
            rows=[file_row(gdf, i) for i in np.flatnonzero(capped)],
        )
    return gdf.assign(radius_m=radius)


def _open_text(path: Path):
    """Open a text file, gzip-compressed or not, for a peek at its first line."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def geodesic_discs(
    lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray, vertices: int = 32
) -> np.ndarray:
    """Polygons (lon / lat) approximating geodesic circles of ``radius_m`` metres.

    Vertices are exact geodesic points (WGS84, pyproj.Geod.fwd), all discs at once.
    With 32 vertices the polygon's area is 0.6 % below the circle's.
    """
    n = len(lon)
    az = np.tile(np.linspace(0.0, 360.0, vertices, endpoint=False), n)
    x, y, _ = GEOD.fwd(
        np.repeat(lon, vertices), np.repeat(lat, vertices), az, np.repeat(radius_m, vertices)
    )
    ring = np.stack([x, y], axis=1).reshape(n, vertices, 2)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return shapely.polygons(ring)


def towers_to_cells(
    towers: gpd.GeoDataFrame,
    study: Study,
    radios: list[str],
    coverage: list[str] | None = None,
) -> pd.DataFrame:
    """Tower counts per radio and modelled covered area per radio on the study cells.

    Parameters
    ----------
    towers : GeoDataFrame
        Points with ``radio`` and ``radius_m`` (metres), as :func:`read_towers` gives.
    study : Study
    radios : list of str
        Radio types modelled one by one.
    coverage : list of str, optional
        Radios whose discs, merged, give ``pct_area_4g_coverage`` (e.g. LTE and NR);
        None: no such column.

    Returns
    -------
    DataFrame
        On ``study.cell_index``: ``towers__<radio>`` (records whose point lies in the
        cell), ``pct_area_<radio>_modelled__num`` (m2 of the cell within reach of that
        radio) / ``__den`` (m2 of the cell), and with ``coverage``
        ``pct_area_4g_coverage__num`` / ``__den`` likewise.
    """
    idx = study.cell_index
    area = study.cell_area_m2()
    lon, lat = towers.geometry.x.to_numpy(), towers.geometry.y.to_numpy()
    out = points_to_cells(
        lon,
        lat,
        study.res,
        classes=towers["radio"].to_numpy(),
        class_names=tuple(radios),
        prefix="towers",
    )
    out = out.reindex(idx).fillna(0.0)
    # discs near no village touch no study cell: a bounding-box test against the
    # villages, widened by two cell edges (cells stick out of their villages)
    margin = 2 * h3.average_hexagon_edge_length(study.res, "m") / 111_320 / np.cos(np.radians(lat))
    tree = shapely.STRtree(study.villages.geometry.values)
    radio = towers["radio"].to_numpy()
    radius = towers["radius_m"].to_numpy(float)

    def covered(sel: np.ndarray) -> np.ndarray:
        if not sel.any():
            return np.zeros(len(idx))
        i = np.flatnonzero(sel)
        reach = margin[i] + radius[i] / 111_320 / np.cos(np.radians(lat[i]))  # degrees
        box = shapely.box(lon[i] - reach, lat[i] - reach, lon[i] + reach, lat[i] + reach)
        i = i[np.unique(tree.query(box)[0])]
        if not len(i):
            return np.zeros(len(idx))
        discs = geodesic_discs(lon[i], lat[i], radius[i])
        parts = shapely.get_parts(shapely.union_all(discs))
        ov = polygon_overlap(parts, study.res)
        got = pd.Series(np.asarray(ov.matrix.sum(axis=0)).ravel(), index=ov.cells)
        return np.minimum(got.reindex(idx).fillna(0.0).to_numpy(), area)

    done: dict[tuple[str, ...], np.ndarray] = {}
    for r in radios:
        done[(r,)] = covered(radio == r)
        name = f"pct_area_{r.lower()}_modelled"
        out[f"{name}__num"] = done[(r,)]
        out[f"{name}__den"] = area
    if coverage is not None:
        key = tuple(sorted(coverage))
        got = done[key] if key in done else covered(np.isin(radio, coverage))
        out["pct_area_4g_coverage__num"] = got
        out["pct_area_4g_coverage__den"] = area
    return out


def read(
    cfg: BroadbandConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the tiles, the coverage raster and the tower / site lists.

    Returns
    -------
    LayerInputs
        ``tiles`` (pooled Ookla tiles), ``raster`` (the checked coverage raster's path,
        streamed by :func:`aggregate`), ``towers`` (tower points with ``radio`` and
        ``radius_m``), each present when configured, and their sources (``*_src``).
    """
    files, data = [], {}
    if cfg.tiles:
        paths = [config.path(p) for p in cfg.tiles]
        data["tiles"] = read_tile_files(paths, cfg.tiles_filters, notes)
        files += paths
        data["tiles_src"] = ", ".join(str(p) for p in paths)
    if cfg.coverage_raster:
        path = config.path(cfg.coverage_raster)
        check_raster(path, "coverage")
        check_coverage_value(path, cfg.coverage_value)
        files.append(path)
        data["raster"] = path
        data["raster_src"] = str(path)
    if cfg.coverage_from_towers:
        _check_coverage_from_towers(cfg, config)
    if cfg.towers or cfg.sites:
        if cfg.sites and cfg.sites_radio not in cfg.towers_radios:
            raise InputError(
                f"sites_radio {cfg.sites_radio} is not among towers_radios {cfg.towers_radios}",
                file=config.source_file,
                fix="add it to layers.broadband.towers_radios",
            )
        paths = [config.path(p) for p in cfg.towers]
        site_paths = [config.path(p) for p in cfg.sites]
        towers = pd.concat(
            [read_towers(p, cfg, notes, config.run.outside_indonesia) for p in paths]
            + [
                read_sites(p, cfg, villages, notes, config.run.outside_indonesia)
                for p in site_paths
            ],
            ignore_index=True,
        )
        paths += site_paths
        files += paths
        data["towers"] = gpd.GeoDataFrame(towers, crs="EPSG:4326")
        data["towers_src"] = ", ".join(str(p) for p in paths)
    if not data:
        raise InputError(
            "layers.broadband has none of tiles, coverage_raster, towers, sites",
            file=config.source_file,
            fix="set at least one of them",
        )
    return LayerInputs(files, data)


def check_coverage_value(path: Path, value: float) -> None:
    """Fail unless some pixel of the coverage raster holds ``value`` (and it is not nodata).

    A value the raster never holds would make coverage 0 % everywhere and every village
    'not ready', without a word. The raster is scanned block by block and the scan stops
    at the first pixel found.

    Parameters
    ----------
    path : Path
        The coverage GeoTIFF.
    value : float
        ``layers.broadband.coverage_value``.
    """
    key = "layers.broadband.coverage_value"
    with rasterio.open(path) as src:
        nodata = src.nodata
        if nodata is not None and (value == nodata or (np.isnan(nodata) and np.isnan(value))):
            raise InputError(
                f"{key} = {value:g} is the raster's nodata value (unknown, not covered)",
                file=path,
                fix=f"set {key} to the value that means 'covered' (often 1)",
            )
        seen: set = set()
        for _, window in src.block_windows(1):
            try:
                block = src.read(1, window=window)
            except rasterio.errors.RasterioError as exc:
                raise InputError(
                    f"cannot read the coverage raster: {exc}",
                    file=path,
                    fix="use a GeoTIFF; download or export it again if it was damaged",
                ) from None
            if (block == value).any():
                return
            if len(seen) <= 20:
                seen.update(np.unique(block[block != nodata] if nodata is not None else block))
    held = ", ".join(f"{v:g}" for v in sorted(seen)[:10]) or "none"
    raise InputError(
        f"no pixel of the coverage raster equals {key} = {value:g} (values held: {held}); "
        "coverage would be 0 % everywhere",
        file=path,
        fix=f"set {key} to the value that means 'covered'",
    )


def _check_coverage_from_towers(cfg: BroadbandConfig, config: Config) -> None:
    """coverage_from_towers needs towers or sites, a 4G radio, and no coverage raster."""
    fix = None
    if cfg.coverage_raster:
        why = "coverage_from_towers and coverage_raster both give pct_area_4g_coverage"
        fix = "keep one of them (a measured raster is better evidence than modelled towers)"
    elif not (cfg.towers or cfg.sites):
        why = "coverage_from_towers needs towers or sites"
        fix = "set layers.broadband.towers and / or sites"
    elif not coverage_radios(cfg):
        why = f"coverage_from_towers needs LTE or NR in towers_radios (got {cfg.towers_radios})"
        fix = "add LTE to layers.broadband.towers_radios"
    if fix:
        raise InputError(why, file=config.source_file, fix=fix)


def aggregate(inputs: LayerInputs, cfg: BroadbandConfig, study: Study, notes: Notes) -> LayerResult:
    """Aggregate the tiles, the coverage raster and the towers onto the study cells."""
    idx = study.cell_index
    parts, covers = [], []
    if "tiles" in inputs:
        tiles = inputs["tiles"]
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
    if "raster" in inputs:
        val = cfg.coverage_value
        r = read_raster_cells(
            inputs["raster"],
            study.res,
            {
                "pct_area_4g_coverage__num": lambda v, a: (v == val) * a,
                "pct_area_4g_coverage__den": lambda v, a: a,
            },
            "coverage",
        ).reindex(idx)
        covers.append((r["__pixel_area_m2"] / study.cell_area_m2()).clip(0, 1).fillna(0.0))
        parts.append(r[["pct_area_4g_coverage__num", "pct_area_4g_coverage__den"]].fillna(0.0))
    if "towers" in inputs:
        cov = coverage_radios(cfg) if cfg.coverage_from_towers else None
        parts.append(towers_to_cells(inputs["towers"], study, list(cfg.towers_radios), cov))
        covers.append(pd.Series(1.0, index=idx))  # a tower list is an inventory
    table = pd.concat(parts, axis=1)
    # one cover for the layer's sources: it decides only the counts and categories
    # (tests, devices, towers), which come from the tiles and tower lists that cover
    # every cell; the raster's rate carries its unknowns (nodata) in its denominator
    cover = pd.concat(covers, axis=1).max(axis=1)
    src = inputs.data
    return LayerResult(
        NAME,
        LEVEL,
        variables(
            cfg, src.get("tiles_src", ""), src.get("raster_src", ""), src.get("towers_src", "")
        ),
        table,
        cover,
        list(inputs.files),
    )
