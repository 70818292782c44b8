"""Readers shared by the layer modules: real formats in, clear errors out.

Vector files go through pyogrio (GeoPackage, GeoJSON, Shapefile, GeoParquet,
FlatGeobuf, KML ...); tables through pandas (CSV, XLSX, Parquet). Every failure
raises :class:`~despro.geo.errors.InputError` naming the file, the row and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from despro.geo.errors import InputError
from despro.geo.layer import Notes

# Indonesia with a margin: lon 94-142 E, lat 12 S - 7 N.
INDONESIA_BOUNDS = (94.0, -12.0, 142.0, 7.0)


def require_file(path: Path, what: str) -> Path:
    """Fail early and clearly when an input file is missing or empty."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} file not found", file=path,
                         fix="check the path in the config (relative to the config file)")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{what} file is empty", file=path, fix="re-export the file")
    return path


def read_vector(path: Path, what: str, layer: str | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                extent: Literal["indonesia", "any"] = "indonesia") -> gpd.GeoDataFrame:
    """Read a vector file into EPSG:4326, checking CRS plausibility.

    Raises InputError for a missing / empty / unreadable file, no features, no CRS,
    projected coordinates labelled as degrees, and lat/lon swapped.

    Parameters
    ----------
    bbox : (minx, miny, maxx, maxy), optional
        Keep only features intersecting this lon/lat box (GeoParquet included).
    extent : 'indonesia' or 'any'
        'indonesia' rejects a file whose features mostly lie outside Indonesia (a
        wrong CRS or swapped coordinates); 'any' accepts worldwide files such as
        international submarine cables: pass the result to :func:`clip_to_indonesia`.
    """
    path = require_file(path, what)
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputError(f"cannot read {what} as GeoParquet: {exc}", file=path,
                             fix="write it with geopandas.to_parquet or GDAL >= 3.8") from None
        if bbox is not None:
            # geopandas filters a bbox only with a covering column, which most files lack
            hit = gdf.sindex.query(shapely.box(*bbox), predicate="intersects")
            gdf = gdf.iloc[np.sort(hit)].reset_index(drop=True)
    else:
        try:
            gdf = pyogrio.read_dataframe(path, layer=layer, bbox=bbox)
        except Exception as exc:
            raise InputError(f"cannot read {what}: {exc}".splitlines()[0], file=path,
                             fix="open it in QGIS to check it is a valid vector file") from None
    if len(gdf) == 0:
        raise InputError(f"{what} file has no features", file=path,
                         fix="check the layer name and any bbox / code filter")
    if gdf.crs is None:
        raise InputError(f"{what} file has no CRS", file=path,
                         fix="assign one, e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg")
    check_lonlat_plausible(gdf, path, what, extent)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def check_lonlat_plausible(gdf: gpd.GeoDataFrame, path: Path, what: str,
                           extent: Literal["indonesia", "any"] = "indonesia") -> None:
    """Catch projected metres labelled as degrees and swapped lat/lon.

    With ``extent='any'`` only the +-180 / 90 range is checked (worldwide files).
    """
    if not gdf.crs.is_geographic:
        return
    b = gdf.total_bounds
    if np.any(np.abs(b[[0, 2]]) > 180) or np.any(np.abs(b[[1, 3]]) > 90):
        raise InputError(f"{what} coordinates exceed +-180/90 but the CRS says degrees "
                         f"({gdf.crs.to_string()}); they look like projected metres",
                         file=path, fix="set the real CRS (e.g. EPSG:32749 for UTM 49S)")
    if extent == "any":
        return
    lo = _outside_indonesia(gdf.geometry.values)
    if lo.mean() > 0.5:
        swapped = shapely.transform(gdf.geometry.values, lambda xy: xy[:, ::-1])
        if _outside_indonesia(swapped).mean() < 0.5:
            raise InputError(f"{what} coordinates look like latitude/longitude swapped",
                             file=path, row=int(np.flatnonzero(lo)[0]) + 1,
                             fix="write x = longitude, y = latitude")
        raise InputError(f"{what}: {int(lo.sum())} of {len(lo)} features lie outside "
                         "Indonesia", file=path, row=int(np.flatnonzero(lo)[0]) + 1,
                         fix="check the CRS and the coordinates")


def _outside_indonesia(geoms: np.ndarray) -> np.ndarray:
    xmin, ymin, xmax, ymax = INDONESIA_BOUNDS
    c = shapely.centroid(np.asarray(geoms))
    x, y = shapely.get_x(c), shapely.get_y(c)
    return ~((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))


def points_outside_indonesia(gdf: gpd.GeoDataFrame, path: Path, what: str, notes: Notes) -> \
        gpd.GeoDataFrame:
    """Drop (and note) features whose centroid lies outside Indonesia's bounds."""
    out = _outside_indonesia(gdf.geometry.values)
    if out.any():
        notes.add(path, "dropped", f"{what}: features outside Indonesia",
                  rows=list(np.flatnonzero(out) + 1))
    return gdf.loc[~out]


def clip_to_indonesia(gdf: gpd.GeoDataFrame, path: Path, what: str,
                      notes: Notes) -> gpd.GeoDataFrame:
    """Clip features to Indonesia's bounds (:data:`INDONESIA_BOUNDS`), noting what changed.

    For worldwide files read with ``extent='any'`` (international submarine cables
    and their landing points): features wholly outside are dropped, lines crossing
    the bounds keep their inside part. Distances measured to the clipped features
    are exact wherever the nearest feature lies inside the bounds, i.e. everywhere
    within about 1 degree (~110 km) of Indonesia's land.

    Raises InputError when no feature reaches Indonesia (wrong file or swapped lat/lon).
    """
    geom = gdf.geometry.values
    clipped = shapely.clip_by_rect(geom, *INDONESIA_BOUNDS)
    gone = shapely.is_empty(clipped) | shapely.is_missing(clipped)
    if gone.all():
        raise InputError(f"{what}: none of the {len(gdf)} features reaches Indonesia "
                         f"(lon {INDONESIA_BOUNDS[0]}-{INDONESIA_BOUNDS[2]}, lat "
                         f"{INDONESIA_BOUNDS[1]}-{INDONESIA_BOUNDS[3]})", file=path,
                         fix="check the file, the CRS and that x = longitude, y = latitude")
    cut = ~gone & ~shapely.equals_exact(clipped, geom, tolerance=0.0)
    if gone.any():
        notes.add(path, "dropped", f"{what}: {int(gone.sum())} of {len(gdf)} features lie "
                  "wholly outside Indonesia", rows=list(np.flatnonzero(gone) + 1))
    if cut.any():
        notes.add(path, "repaired", f"{what}: {int(cut.sum())} features cross Indonesia's "
                  "bounds; only their part inside is kept", rows=list(np.flatnonzero(cut) + 1))
    out = gdf.copy()
    out[out.geometry.name] = clipped
    return out.loc[~gone]


def filter_rows(df: pd.DataFrame, filters: dict[str, str], path: Path, what: str,
                key: str) -> pd.DataFrame:
    """Rows where every ``column == value`` of ``filters`` holds (compared as text).

    ``key`` is the config key holding the filters, named in the errors.
    """
    if not filters:
        return df
    require_columns(df, list(filters), path, what)
    keep = np.ones(len(df), bool)
    for col, val in filters.items():
        keep &= (df[col].astype("string").str.strip() == str(val)).fillna(False).to_numpy()
    if not keep.any():
        raise InputError(f"no rows of {what} match {key} = {filters}", file=path,
                         fix=f"check {key} against the file's values")
    return df.loc[keep]


def repair_geometries(gdf: gpd.GeoDataFrame, path: Path, what: str, notes: Notes,
                      id_col: str | None = None) -> gpd.GeoDataFrame:
    """Repair invalid geometries with shapely.make_valid and note each; reject empty ones."""
    geom = gdf.geometry.values
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        ident = f"feature {gdf[id_col].iloc[i]!s}" if id_col else i + 1
        raise InputError(f"{what} has {int(empty.sum())} feature(s) with no geometry",
                         file=path, row=ident, fix="remove them or add their geometry")
    bad = ~shapely.is_valid(geom)
    # a collection (e.g. an earlier make_valid's polygon + stray line) is reduced too
    collection = shapely.get_type_id(geom) == shapely.GeometryType.GEOMETRYCOLLECTION
    for mask, how in ((bad, "invalid geometries repaired with make_valid"),
                      (collection & ~bad, "geometry collections reduced to their polygons")):
        if not mask.any():
            continue
        ids = gdf[id_col].iloc[np.flatnonzero(mask)].tolist() if id_col else \
            list(np.flatnonzero(mask) + 1)
        fixed = shapely.make_valid(geom[mask])
        # make_valid may return a collection with stray lines; keep the polygonal part
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf = gdf.copy()
        gdf.loc[gdf.index[mask], gdf.geometry.name] = fixed
        notes.add(path, "repaired", f"{what}: {how}", rows=ids)
    return gdf


def _polygonal(g):
    if g.geom_type in ("Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString",
                       "MultiLineString"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else g


def read_table(path: Path, what: str, dtype: dict | None = None,
               sheet: str | int = 0) -> pd.DataFrame:
    """Read CSV / XLSX / Parquet into a DataFrame (codes kept as strings via ``dtype``)."""
    path = require_file(path, what)
    suffix = path.suffix.lower()
    try:
        if suffix in {".xlsx", ".xls"}:
            df = pd.read_excel(path, sheet_name=sheet, dtype=dtype)
        elif suffix in {".parquet"}:
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, dtype=dtype, sep=None, engine="python",
                             encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(f"cannot read {what}: {exc}".splitlines()[0], file=path,
                         fix="save it as UTF-8 CSV or XLSX") from None
    if len(df) == 0:
        raise InputError(f"{what} has a header but no rows", file=path, fix="add the data rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def require_columns(df: pd.DataFrame, columns: list[str], path: Path, what: str) -> None:
    """Raise naming every missing column and listing what the file has."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {missing}; it has {list(df.columns)[:20]}",
                         file=path, fix="rename the columns or set them in the config")


def numeric_column(df: pd.DataFrame, col: str, path: Path, what: str,
                   allow_missing: bool = True) -> np.ndarray:
    """Parse a numeric column (decimal commas accepted); name the first bad row.

    Rows are named by the index label (+2 for the header and 1-based counting), so a
    table filtered with :func:`filter_rows` still names the row of the file.
    """
    raw = df[col]
    s = raw.astype("string").str.strip().str.replace(",", ".", regex=False)
    s = s.replace({"": pd.NA, "-": pd.NA, "NA": pd.NA, "nan": pd.NA})
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{what} column '{col}' has a non-number {raw.iloc[i]!r}",
                         file=path, row=file_row(df, i), fix="use plain numbers; leave "
                         "unknowns empty")
    if not allow_missing and num.isna().any():
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise InputError(f"{what} column '{col}' is empty", file=path, row=file_row(df, i),
                         fix="fill it in")
    return num.to_numpy(dtype=float)


def file_row(df: pd.DataFrame, i: int) -> int:
    """Spreadsheet row (header = 1) of the ``i``-th row of ``df`` read by :func:`read_table`.

    Uses the index label when it is an integer (rows kept by a filter keep their
    label), else the position.
    """
    label = df.index[i]
    return int(label) + 2 if pd.api.types.is_integer(label) else i + 2
