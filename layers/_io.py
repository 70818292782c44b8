"""Readers shared by the layer modules: real formats in, clear errors out.

Vector files go through pyogrio (GeoPackage, GeoJSON, Shapefile, GeoParquet,
FlatGeobuf, KML ...); tables through pandas (CSV, XLSX, Parquet). Every failure
raises :class:`~despro.geo.errors.InputError` naming the file, the row and the fix.
"""

from __future__ import annotations

from pathlib import Path

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
                bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into EPSG:4326, checking CRS plausibility.

    Raises InputError for a missing / empty / unreadable file, no features, no CRS,
    projected coordinates labelled as degrees, and lat/lon swapped.
    """
    path = require_file(path, what)
    if path.suffix.lower() in {".parquet", ".geoparquet"}:
        try:
            gdf = gpd.read_parquet(path)
        except Exception as exc:
            raise InputError(f"cannot read {what} as GeoParquet: {exc}", file=path,
                             fix="write it with geopandas.to_parquet or GDAL >= 3.8") from None
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
    check_lonlat_plausible(gdf, path, what)
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def check_lonlat_plausible(gdf: gpd.GeoDataFrame, path: Path, what: str) -> None:
    """Catch projected metres labelled as degrees and swapped lat/lon."""
    if not gdf.crs.is_geographic:
        return
    b = gdf.total_bounds
    if np.any(np.abs(b[[0, 2]]) > 180) or np.any(np.abs(b[[1, 3]]) > 90):
        raise InputError(f"{what} coordinates exceed +-180/90 but the CRS says degrees "
                         f"({gdf.crs.to_string()}); they look like projected metres",
                         file=path, fix="set the real CRS (e.g. EPSG:32749 for UTM 49S)")
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
    if bad.any():
        ids = gdf[id_col].iloc[np.flatnonzero(bad)].tolist() if id_col else \
            list(np.flatnonzero(bad) + 1)
        fixed = shapely.make_valid(geom[bad])
        # make_valid may return a collection with stray lines; keep the polygonal part
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf = gdf.copy()
        gdf.loc[gdf.index[bad], gdf.geometry.name] = fixed
        notes.add(path, "repaired", f"{what}: invalid geometries repaired with make_valid",
                  rows=ids)
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
    """Parse a numeric column (decimal commas accepted); name the first bad row."""
    raw = df[col]
    s = raw.astype("string").str.strip().str.replace(",", ".", regex=False)
    s = s.replace({"": pd.NA, "-": pd.NA, "NA": pd.NA, "nan": pd.NA})
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{what} column '{col}' has a non-number {raw.iloc[i]!r}",
                         file=path, row=i + 2, fix="use plain numbers; leave unknowns empty")
    if not allow_missing and num.isna().any():
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise InputError(f"{what} column '{col}' is empty", file=path, row=i + 2,
                         fix="fill it in")
    return num.to_numpy(dtype=float)
