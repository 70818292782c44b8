"""The tables a PostGIS export writes, prepared in memory (no database here).

Three tables per run: ``villages``, ``cells`` and ``shortlist``, each with the run
id, the H3 id as text (``h3``) and as bigint (``h3_int``; H3 ids are below 2^63),
and the geometry in EPSG:4326 (hexagons for cells; village polygons, promoted to
MultiPolygon when a file mixes both). A village's ``h3`` is the cell at the run's
resolution holding a point on its surface. Column names become plain SQL names
(lower case, ``[a-z0-9_]``, at most 63 bytes, e.g. ``"courier_outlets__J&T
Express"`` -> ``courier_outlets__j_t_express``); a renamed column keeps its
original name as its column comment. Rows travel to the server as CSV made by
Arrow (shortest round-trip floats, NaN as NULL, geometry as hex EWKB).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from despro.errors import DesproError, InputError, MissingFileError
from despro.grid import cells as grid

if TYPE_CHECKING:
    from despro.pipeline.runner import Result

SRID = 4326
PG_MAX_NAME = 63


@dataclass
class Column:
    """One column of an exported table: SQL name and type, and the source name."""

    name: str
    sql_type: str
    source: str

    @property
    def renamed(self) -> bool:
        return self.name != self.source


@dataclass
class Table:
    """One exported table: its columns, primary key and rows (an Arrow table, CSV-ready)."""

    name: str  # villages, cells or shortlist
    columns: list[Column]
    key: list[str]
    rows: pa.Table
    geometry_type: str

    def csv_chunks(self, rows_per_chunk: int = 50_000) -> Iterator[bytes]:
        """The rows as CSV (no header) for ``COPY ... (FORMAT csv)``, chunk by chunk."""
        for batch in self.rows.to_batches(max_chunksize=rows_per_chunk):
            buf = io.BytesIO()
            pacsv.write_csv(
                pa.Table.from_batches([batch]), buf, pacsv.WriteOptions(include_header=False)
            )
            yield buf.getvalue()


@dataclass
class RunTables:
    """Everything one export writes, and what identifies the run."""

    run_id: str
    villages: Table
    cells: Table
    shortlist: Table
    meta: dict = field(default_factory=dict)

    @property
    def tables(self) -> list[Table]:
        return [self.cells, self.villages, self.shortlist]


def sql_name(name: str) -> str:
    """A plain SQL identifier for a column name (see the module docstring)."""
    s = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "col"
    if s[0].isdigit():
        s = "c_" + s
    if len(s.encode()) > PG_MAX_NAME:
        s = s[: PG_MAX_NAME - 9] + "_" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return s


def _unique_names(names: list[str]) -> list[str]:
    out, seen = [], set()
    for n in names:
        s = sql_name(n)
        if s in seen:
            s = sql_name(s[: PG_MAX_NAME - 9] + "_" + hashlib.sha1(n.encode()).hexdigest()[:8])
        seen.add(s)
        out.append(s)
    return out


def _arrow(series: pd.Series, name: str) -> tuple[pa.Array, str]:
    """(Arrow array, SQL type) of one column; NaN and NA become NULL."""
    s = series
    missing = pd.isna(s).to_numpy()
    if pd.api.types.is_bool_dtype(s):
        vals = np.where(missing, None, s.astype(object).to_numpy(dtype=object))
        return pa.array(vals.tolist(), type=pa.bool_()), "boolean"
    if pd.api.types.is_unsigned_integer_dtype(s):
        if len(s) and int(s.max()) >= 2**63:
            raise DesproError(f"column '{name}' holds values >= 2^63 that do not fit a bigint")
        return pa.array(s.astype(np.int64)), "bigint"
    if pd.api.types.is_integer_dtype(s):
        return pa.array(s, from_pandas=True, type=pa.int64()), "bigint"
    if pd.api.types.is_float_dtype(s):
        return pa.array(s.to_numpy(float), from_pandas=True, type=pa.float64()), "double precision"
    if pd.api.types.is_datetime64_any_dtype(s):
        return pa.array(s, from_pandas=True), "timestamptz"
    text = np.where(missing, None, s.astype(object).astype(str).to_numpy(dtype=object))
    return pa.array(text.tolist(), type=pa.string()), "text"


def _geometry(geoms: gpd.GeoSeries) -> tuple[pa.Array, str]:
    """Hex EWKB (SRID 4326) of each geometry and the column's PostGIS type."""
    if geoms.crs is not None and geoms.crs.to_epsg() != SRID:
        geoms = geoms.to_crs(SRID)
    g = np.asarray(geoms.values, dtype=object)
    present = ~(shapely.is_missing(g) | shapely.is_empty(g))
    kinds = set(shapely.get_type_id(g[present]).tolist())
    polygon, multi = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON
    if kinds == {polygon, multi}:
        poly = present & (shapely.get_type_id(g) == polygon)
        g = g.copy()
        g[poly] = shapely.multipolygons(g[poly], indices=np.arange(int(poly.sum())))
        kinds = {multi}
    names = {
        0: "Point",
        1: "LineString",
        3: "Polygon",
        4: "MultiPoint",
        5: "MultiLineString",
        6: "MultiPolygon",
    }
    gtype = names.get(next(iter(kinds)), "Geometry") if len(kinds) == 1 else "Geometry"
    hexes = np.full(len(g), None, dtype=object)
    if present.any():
        hexes[present] = shapely.to_wkb(
            shapely.set_srid(g[present], SRID), hex=True, include_srid=True
        )
    return pa.array(hexes.tolist(), type=pa.string()), gtype


def table(name: str, gdf: gpd.GeoDataFrame, run_id: str, key: list[str]) -> Table:
    """Prepare one GeoDataFrame as an exported table (``run_id`` first, ``geom`` last)."""
    attrs = [c for c in gdf.columns if c != gdf.geometry.name]
    pg = _unique_names(["run_id", *attrs, "geom"])
    arrays, cols = (
        [pa.array([run_id] * len(gdf), type=pa.string())],
        [Column("run_id", "text", "run_id")],
    )
    for src, dst in zip(attrs, pg[1:-1], strict=True):
        arr, typ = _arrow(gdf[src], src)
        arrays.append(arr)
        cols.append(Column(dst, typ, src))
    geom, gtype = _geometry(gdf.geometry)
    arrays.append(geom)
    cols.append(Column(pg[-1], f"geometry({gtype}, {SRID})", "geometry"))
    by_source = {c.source: c.name for c in cols}
    return Table(
        name,
        cols,
        [by_source[k] for k in key],
        pa.Table.from_arrays(arrays, names=[c.name for c in cols]),
        gtype,
    )


def _with_village_cells(villages: gpd.GeoDataFrame, res: int) -> gpd.GeoDataFrame:
    """Add ``h3`` / ``h3_int``: the cell holding a point on each village's surface."""
    g = np.asarray(villages.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    pts = shapely.point_on_surface(g[ok])
    ids = np.zeros(len(g), grid.CELL_DTYPE)
    ids[ok] = grid.lonlat_to_cells(shapely.get_x(pts), shapely.get_y(pts), res)
    text = np.full(len(g), None, dtype=object)
    text[ok] = grid.cells_to_str(ids[ok])
    out = villages.copy()
    out.insert(1, "h3", pd.array(text, dtype="string"))
    h3_int = pd.array(ids.astype(np.int64), dtype="Int64")  # H3 ids are below 2^63
    h3_int[~ok] = pd.NA
    out.insert(2, "h3_int", h3_int)
    return out


def _shortlist(villages: gpd.GeoDataFrame, codes: list[str]) -> gpd.GeoDataFrame:
    by_code = villages.set_index("village_code", drop=False)
    missing = [c for c in codes if c not in by_code.index]
    if missing:
        raise DesproError(
            f"shortlist names villages absent from the village table: "
            f"{missing[:5]}. Fix: export a complete run folder"
        )
    out = by_code.loc[codes].reset_index(drop=True)
    out.insert(0, "shortlist_rank", np.arange(1, len(out) + 1))
    return gpd.GeoDataFrame(out, geometry=villages.geometry.name, crs=villages.crs)


def run_tables(
    villages: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    shortlist_codes: list[str],
    run_id: str,
    res: int,
    meta: dict,
) -> RunTables:
    """The three tables of one run (see the module docstring)."""
    v = _with_village_cells(villages, res)
    return RunTables(
        run_id,
        table("villages", v, run_id, ["village_code"]),
        table("cells", cells, run_id, ["h3_int"]),
        table("shortlist", _shortlist(v, shortlist_codes), run_id, ["village_code"]),
        meta,
    )


def from_result(result: Result, run_id: str) -> RunTables:
    """Tables of an in-memory :class:`despro.pipeline.runner.Result`."""
    cfg = result.config
    tiers = result.villages["tier"].value_counts().to_dict()
    meta = {
        "run_name": cfg.run.name,
        "h3_resolution": cfg.run.resolution,
        "tiers": {k: int(n) for k, n in tiers.items()},
        "source": str(cfg.source_file) if cfg.source_file else None,
    }
    codes = result.shortlist()["village_code"].astype(str).tolist()
    return run_tables(result.villages, result.cells, codes, run_id, cfg.run.resolution, meta)


def _run_id_of(folder: Path, manifest: dict, manifest_text: str) -> str:
    real = folder.resolve()
    if real.parent.name == "runs":  # a 'despro rescore' run folder (or OUT/latest)
        return real.name
    created = re.sub(r"[^0-9T]", "", str(manifest.get("created_utc", ""))[:19])  # UTC
    stem = f"{created}Z" if created else "run"
    return f"{stem}-{hashlib.sha256(manifest_text.encode()).hexdigest()[:8]}"


def from_run_dir(folder: str | Path) -> RunTables:
    """Tables of a run folder written by ``despro run`` or ``despro rescore``.

    ``folder`` holds ``villages.parquet``, ``cells.parquet``, ``shortlist.csv`` and
    ``manifest.json``; a rescore output folder (with ``latest``) means its latest run.
    """
    folder = Path(folder)
    if not (folder / "villages.parquet").is_file() and (folder / "latest").exists():
        folder = folder / "latest"
    need = ["villages.parquet", "cells.parquet", "shortlist.csv", "manifest.json"]
    for n in need:
        if not (folder / n).is_file():
            raise MissingFileError(
                f"run folder lacks {n}",
                file=folder,
                fix="pass the output folder of 'despro run' or 'despro rescore'",
            )
    text = (folder / "manifest.json").read_text("utf-8")
    manifest = json.loads(text)
    counts = manifest.get("counts", {})
    res = counts.get("h3_resolution")
    if res is None:
        raise InputError(
            "manifest.json has no counts.h3_resolution",
            file=folder / need[3],
            fix="rerun despro to write a current manifest",
        )
    villages = gpd.read_parquet(folder / "villages.parquet")
    cells = gpd.read_parquet(folder / "cells.parquet")
    codes = pd.read_csv(
        folder / "shortlist.csv", dtype={"village_code": str}, usecols=["village_code"]
    )["village_code"].tolist()
    meta = {
        "run_name": manifest.get("despro_run"),
        "h3_resolution": res,
        "tiers": counts.get("tiers", {}),
        "source": str(folder.resolve()),
        "created_utc": manifest.get("created_utc"),
    }
    return run_tables(villages, cells, codes, _run_id_of(folder, manifest, text), int(res), meta)
