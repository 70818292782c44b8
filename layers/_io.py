"""Readers shared by the layer modules: real formats in, clear errors out.

Vector files go through pyogrio (GeoPackage, GeoJSON, Shapefile, GeoParquet,
FlatGeobuf, KML ...); tables through pandas (CSV, XLSX, Parquet). Every failure
raises :class:`~despro.errors.InputError` naming the file, the row and the fix.
"""

from __future__ import annotations

import csv
import re
import warnings
import zipfile
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from despro.errors import InputError, MissingFileError
from despro.layer import Notes

from ._place import INDONESIA_BOUNDS, check_coordinates, describe_outside, outside_indonesia

__all__ = ["INDONESIA_BOUNDS"]


def require_file(path: Path, what: str) -> Path:
    """Fail early and clearly when an input file is missing or empty."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(
            f"{what} file not found",
            file=path,
            fix="check the path in the config (relative to the config file)",
        )
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"{what} file is empty", file=path, fix="re-export the file")
    if path.is_file():
        check_intact(path, what)
    return path


_TEXT_FORMATS = {".json", ".geojson", ".topojson", ".csv", ".txt", ".tsv"}
_TEXT_PAGES = {".html", ".htm", ".kml", ".osm", ".xml", ".gml", ".svg"}
CUT_FIX = (
    "download or export the file again (it was cut off: an interrupted download or a full disk)"
)


def check_intact(path: Path, what: str) -> None:
    """Catch files cut off mid-way and error pages saved in place of data.

    Reads at most 64 KiB from each end of the file; checks the format's trailer:
    a JSON document ends with ``}`` or ``]``; Parquet starts and ends with ``PAR1``;
    ZIP containers (XLSX, KMZ) hold their end-of-directory record; a GeoPackage /
    SQLite file is as long as its header says; a Shapefile's ``.shp`` is as long as
    its header says. An HTML page (a download that returned an error page) is
    rejected whatever its name.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(65536)
        f.seek(max(0, size - 65536))
        tail = f.read()
    suffix = path.suffix.lower()
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower()
    if suffix not in _TEXT_PAGES and (
        start.startswith(b"<!doctype html") or start.startswith(b"<html")
    ):
        raise InputError(
            f"{what} file is a web page, not data (an error page saved by a failed download?)",
            file=path,
            fix="download the file again",
        )
    if suffix in _TEXT_FORMATS and (
        head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:400]
    ):
        raise InputError(
            f"{what} file is UTF-16 (Windows 'Unicode'), not UTF-8",
            file=path,
            fix=f"save it as UTF-8 (iconv -f UTF-16 -t UTF-8 {path.name} > utf8-{path.name})",
        )
    cut = None
    if suffix in {".json", ".geojson", ".topojson"}:
        if tail.rstrip()[-1:] not in (b"}", b"]"):
            cut = "the JSON document does not end with '}' or ']'"
    elif suffix in {".parquet", ".geoparquet"}:
        if head[:4] != b"PAR1" or tail[-4:] != b"PAR1":
            cut = "the Parquet file lacks its 'PAR1' footer"
    elif suffix in {".xlsx", ".kmz", ".zip"}:
        if b"PK\x05\x06" not in tail:
            cut = "the ZIP container lacks its end-of-directory record"
    elif suffix in {".gpkg", ".sqlite", ".db"} and head[:16] == b"SQLite format 3\x00":
        page = int.from_bytes(head[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(head[28:32], "big")
        valid = head[24:28] == head[92:96]  # the header's page count is current
        if size % page or (valid and pages and size < pages * page):
            cut = f"the database is {size:,} bytes, its header says {pages * page:,}"
    elif suffix == ".shp" and len(head) >= 28 and head[:4] == b"\x00\x00\x27\x0a":
        declared = int.from_bytes(head[24:28], "big") * 2
        if size < declared:
            cut = f"the .shp is {size:,} bytes, its header says {declared:,}"
    if cut:
        raise InputError(f"{what} file is truncated: {cut}", file=path, fix=CUT_FIX)


def check_csv_complete(path: Path, what: str, n_columns: int) -> None:
    """Reject a CSV whose last line is cut off (fewer fields than the header).

    A cut-off last row would otherwise be read with its missing fields as empty, or
    with a number cut short (``114.02`` for ``114.0266``) when it does not end in a
    newline.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.readline().decode("utf-8-sig", "replace")
        f.seek(max(0, size - 65536))
        tail = f.read().decode("utf-8", "replace")
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if not lines or len(lines) == 1 and size > 65536:
        return
    delim = max(",;\t|", key=head.count)
    try:
        fields = next(csv.reader([lines[-1]], delimiter=delim))
    except (csv.Error, StopIteration):  # pragma: no cover - csv.reader is lenient
        return
    ends_cleanly = tail.endswith(("\n", "\r"))
    odd_quotes = lines[-1].count('"') % 2 == 1
    if ends_cleanly and odd_quotes:
        return _check_row_lengths(path, what, n_columns, delim)
    # no newline after a last field left empty: the file stops mid-value
    if len(fields) < n_columns or odd_quotes or (not ends_cleanly and fields[-1] == ""):
        with open(path, "rb") as f:
            n_lines = sum(1 for _ in f)
        raise InputError(
            f"{what}: the last line has {len(fields)} of {n_columns} fields "
            f"({lines[-1][:60]!r}{'' if ends_cleanly else ', no line end'}); "
            "the file looks cut off",
            file=path,
            row=n_lines,
            fix=CUT_FIX,
        )
    _check_row_lengths(path, what, n_columns, delim)


#: files up to this size have every row's field count checked (a short row in the middle)
ROW_CHECK_BYTES = 50_000_000


def _check_row_lengths(path: Path, what: str, n_columns: int, delim: str) -> None:
    """Reject a row with fewer fields than the header (its values would shift or go missing)."""
    if path.stat().st_size > ROW_CHECK_BYTES:
        return
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delim)
        next(reader, None)
        for fields in reader:
            if fields and any(x.strip() for x in fields) and len(fields) < n_columns:
                raise InputError(
                    f"{what}: the row has {len(fields)} of {n_columns} fields "
                    f"({delim.join(fields)[:60]!r}); a value is missing and the others "
                    "would shift",
                    file=path,
                    row=reader.line_num,
                    fix="add the missing separator(s); leave an unknown value empty "
                    "between two separators",
                )


def read_vector(
    path: Path,
    what: str,
    layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    extent: Literal["indonesia", "any"] = "indonesia",
) -> gpd.GeoDataFrame:
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
            raise InputError(
                f"cannot read {what} as GeoParquet: {exc}",
                file=path,
                fix="write it with geopandas.to_parquet or GDAL >= 3.8",
            ) from None
        if bbox is not None:
            # geopandas filters a bbox only with a covering column, which most files lack
            hit = gdf.sindex.query(shapely.box(*bbox), predicate="intersects")
            gdf = gdf.iloc[np.sort(hit)].reset_index(drop=True)
    else:
        source, layers = _vector_source(path, layer)
        try:
            with warnings.catch_warnings():
                # GeoJSON with repeated feature ids (TeleGeography's cables): GDAL
                # renumbers its internal FIDs, which despro never uses
                warnings.filterwarnings("ignore", "Several features with id", RuntimeWarning)
                parts = [pyogrio.read_dataframe(source, layer=lyr, bbox=bbox) for lyr in layers]
        except Exception as exc:
            raise InputError(
                f"cannot read {what}: {exc}".splitlines()[0],
                file=path,
                fix="open it in QGIS to check it is a valid vector file",
            ) from None
        if len(parts) > 1:  # KML folders: one table, the folder kept as 'kml_folder'
            parts = [p.assign(kml_folder=str(n)) for p, n in zip(parts, layers, strict=True)]
            gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
        else:
            gdf = parts[0]
    if len(gdf) == 0:
        raise InputError(
            f"{what} file has no features",
            file=path,
            fix="check the layer name and any bbox / code filter",
        )
    if gdf.crs is None:
        raise InputError(
            f"{what} file has no CRS",
            file=path,
            fix="assign one, e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg",
        )
    check_lonlat_plausible(gdf, path, what, extent)
    if not gdf.crs.equals("EPSG:4326"):
        projected = gdf.crs.is_projected
        gdf = gdf.to_crs("EPSG:4326")
        if projected:  # now in degrees: the place checks the projected file skipped
            check_lonlat_plausible(gdf, path, what, extent)
    return gdf


def _vector_source(path: Path, layer: str | None) -> tuple[str, list]:
    """GDAL source name and layers to read.

    KMZ is a zip holding a KML: read through ``/vsizip/`` (works with GDAL's KML and
    LIBKML drivers alike). A KML / KMZ keeps its features in folders, which GDAL
    lists as layers: all are read unless ``layer`` names one. Other formats read
    ``layer`` (default: the first).
    """
    source = str(path)
    if path.suffix.lower() == ".kmz":
        try:
            with zipfile.ZipFile(path) as z:
                kml = [n for n in z.namelist() if n.lower().endswith(".kml")]
        except zipfile.BadZipFile:
            raise InputError(
                "KMZ file is not a valid zip archive", file=path, fix=CUT_FIX
            ) from None
        if not kml:
            raise InputError(
                "KMZ file holds no .kml document",
                file=path,
                fix="export the layer again as KML or KMZ",
            )
        kml.sort(key=lambda n: (n.lower() != "doc.kml", n.count("/"), n))
        source = f"/vsizip/{path}/{kml[0]}"
    if layer is None and path.suffix.lower() in {".kml", ".kmz"}:
        try:
            layers = [str(n) for n in pyogrio.list_layers(source)[:, 0]]
        except Exception:
            layers = [None]
        return source, layers or [None]
    return source, [layer]


OSM_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".osm.bz2")


def read_osm(
    path: Path,
    what: str,
    tags: dict[str, list[str]],
    keys: list[str],
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """OpenStreetMap features (.osm XML or .osm.pbf) carrying any of ``tags``, as points.

    Reads GDAL's OSM driver layers ``points`` (nodes) and ``multipolygons`` (closed
    ways and relations, e.g. a post office mapped as a building, taken at a point on
    its surface), keeps features where a key of ``tags`` has one of its values
    (``{"amenity": ["post_office"], "shop": ["courier"]}``), and returns the
    ``keys`` requested (``operator``, ``brand``, ``name`` ...) as columns, taken from
    the driver's own column or from its ``other_tags`` (hstore) text, plus
    ``osm_id`` and ``osm_layer``.
    """
    path = require_file(path, what)
    wanted = list(dict.fromkeys([*tags, *keys]))
    parts = []
    for lyr in ("points", "multipolygons"):
        try:
            df = pyogrio.read_dataframe(path, layer=lyr, bbox=bbox)
        except Exception as exc:
            raise InputError(
                f"cannot read {what} as OpenStreetMap: {exc}".splitlines()[0],
                file=path,
                fix="use a .osm or .osm.pbf extract (e.g. from "
                "Geofabrik) or check it is not cut off",
            ) from None
        if len(df) == 0:
            continue
        cols = {k: _osm_tag(df, k) for k in wanted}
        keep = np.zeros(len(df), bool)
        for k, values in tags.items():
            keep |= cols[k].isin(values).to_numpy()
        if not keep.any():
            continue
        ids = (
            ("node/" + df["osm_id"].astype("string"))
            if lyr == "points"
            else ("way/" + df["osm_way_id"].astype("string")).fillna(
                "relation/" + df["osm_id"].astype("string")
            )
        )
        geom = df.geometry.values[keep]
        if lyr == "multipolygons":
            geom = shapely.point_on_surface(geom)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "osm_id": np.asarray(ids)[keep],
                    "osm_layer": lyr,
                    **{k: v.to_numpy()[keep] for k, v in cols.items()},
                },
                geometry=geom,
                crs=df.crs or "EPSG:4326",
            )
        )
    if not parts:
        raise InputError(
            f"{what}: no OpenStreetMap feature tagged "
            + " or ".join(f"{k}={'|'.join(v)}" for k, v in tags.items()),
            file=path,
            fix="check the extract covers the area and holds these tags",
        )
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def _osm_tag(df: pd.DataFrame, key: str) -> pd.Series:
    """Tag ``key`` per feature: the driver's column if it has one, else from other_tags."""
    own = (
        df[key].astype("string")
        if key in df.columns
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    if "other_tags" not in df.columns:
        return own
    pat = rf'(?:^|,)"{re.escape(key)}"=>"((?:[^"\\]|\\.)*)"'
    other = df["other_tags"].astype("string").str.extract(pat, expand=False)
    other = other.str.replace(r"\\(.)", r"\1", regex=True)
    return own.fillna(other)


def check_lonlat_plausible(
    gdf: gpd.GeoDataFrame,
    path: Path,
    what: str,
    extent: Literal["indonesia", "any"] = "indonesia",
    tabular: bool = False,
) -> None:
    """Catch NaN coordinates, features at 0, 0, degrees labelled as metres and the reverse,
    swapped lat/lon and files mostly outside Indonesia (see :mod:`despro.layers._place`).

    With ``extent='any'`` only the +-180 / 90 range and the CRS label are checked
    (worldwide files). ``tabular``: the features are rows of a table read by
    :func:`read_table`, so errors name the spreadsheet row (:func:`file_row`), not the
    feature number, and fixes name the lon / lat columns rather than a CRS.
    """

    def row(i: int) -> int:
        return file_row(gdf, i) if tabular else i + 1

    check_coordinates(gdf, path, what, extent, row=row, tabular=tabular)


def points_outside_indonesia(
    gdf: gpd.GeoDataFrame,
    path: Path,
    what: str,
    notes: Notes,
    mode: str | None = None,
    rows: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Features whose centroid lies outside Indonesia (neighbours excluded): dropped and
    noted, or an error.

    Parameters
    ----------
    gdf : GeoDataFrame
        In EPSG:4326.
    path, what : Path, str
        The file and what it holds, named in the note or error.
    notes : Notes
        Where the dropped features are reported (how many, which rows).
    mode : {None, "drop", "reject"}
        ``run.outside_indonesia``: ``reject`` raises naming the first feature abroad;
        otherwise (the default for points) they are dropped.
    rows : ndarray, optional
        The row label of each feature (a table's spreadsheet rows); default: feature
        number (1-based).
    """
    out = outside_indonesia(gdf.geometry.values)
    if not out.any():
        return gdf
    labels = np.asarray(rows) if rows is not None else np.arange(len(gdf)) + 1
    where = describe_outside(gdf.geometry.values, out)
    if mode == "reject":
        raise InputError(
            f"{what}: {int(out.sum())} of {len(gdf)} feature(s) lie outside Indonesia (the "
            f"first {where}) and run.outside_indonesia = 'reject'",
            file=path,
            row=int(labels[np.flatnonzero(out)[0]]),
            fix="correct or remove them, or set run.outside_indonesia = 'drop' to drop them",
        )
    notes.add(
        path,
        "dropped",
        f"{what}: features outside Indonesia: {int(out.sum())} of {len(gdf)} (the first {where})",
        rows=[int(x) for x in labels[out]],
    )
    return gdf.loc[~out]


def clip_to_indonesia(
    gdf: gpd.GeoDataFrame, path: Path, what: str, notes: Notes
) -> gpd.GeoDataFrame:
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
        raise InputError(
            f"{what}: none of the {len(gdf)} features reaches Indonesia "
            f"(lon {INDONESIA_BOUNDS[0]}-{INDONESIA_BOUNDS[2]}, lat "
            f"{INDONESIA_BOUNDS[1]}-{INDONESIA_BOUNDS[3]})",
            file=path,
            fix="check the file, the CRS and that x = longitude, y = latitude",
        )
    home = ~gone & ~outside_indonesia(clipped)
    if not home.any():
        raise InputError(
            f"{what}: none of the {len(gdf)} features lies in Indonesia (the first "
            f"{describe_outside(clipped, ~gone)})",
            file=path,
            fix="check the file, the CRS and that x = longitude, y = latitude",
        )
    cut = ~gone & ~shapely.equals_exact(clipped, geom, tolerance=0.0)
    if gone.any():
        notes.add(
            path,
            "dropped",
            f"{what}: {int(gone.sum())} of {len(gdf)} features lie wholly outside Indonesia",
            rows=list(np.flatnonzero(gone) + 1),
        )
    if cut.any():
        notes.add(
            path,
            "repaired",
            f"{what}: {int(cut.sum())} features cross Indonesia's "
            "bounds; only their part inside is kept",
            rows=list(np.flatnonzero(cut) + 1),
        )
    out = gdf.copy()
    out[out.geometry.name] = clipped
    return out.loc[~gone]


def filter_rows(
    df: pd.DataFrame, filters: dict[str, str], path: Path, what: str, key: str
) -> pd.DataFrame:
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
        raise InputError(
            f"no rows of {what} match {key} = {filters}",
            file=path,
            fix=f"check {key} against the file's values",
        )
    return df.loc[keep]


def repair_geometries(
    gdf: gpd.GeoDataFrame, path: Path, what: str, notes: Notes, id_col: str | None = None
) -> gpd.GeoDataFrame:
    """Repair invalid geometries with shapely.make_valid and note each; reject empty ones."""
    geom = gdf.geometry.values
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        ident = f"feature {gdf[id_col].iloc[i]!s}" if id_col else i + 1
        raise InputError(
            f"{what} has {int(empty.sum())} feature(s) with no geometry",
            file=path,
            row=ident,
            fix="remove them or add their geometry",
        )
    bad = ~shapely.is_valid(geom)
    # a collection (e.g. an earlier make_valid's polygon + stray line) is reduced too
    collection = shapely.get_type_id(geom) == shapely.GeometryType.GEOMETRYCOLLECTION
    for mask, how in (
        (bad, "invalid geometries repaired with make_valid"),
        (collection & ~bad, "geometry collections reduced to their polygons"),
    ):
        if not mask.any():
            continue
        ids = (
            gdf[id_col].iloc[np.flatnonzero(mask)].tolist()
            if id_col
            else list(np.flatnonzero(mask) + 1)
        )
        fixed = shapely.make_valid(geom[mask])
        # make_valid may return a collection with stray lines; keep the polygonal part
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf = gdf.copy()
        gdf.loc[gdf.index[mask], gdf.geometry.name] = fixed
        notes.add(path, "repaired", f"{what}: {how}", rows=ids)
    return gdf


def _polygonal(g):
    if g.geom_type in (
        "Polygon",
        "MultiPolygon",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
    ):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else g


def read_table(
    path: Path,
    what: str,
    dtype: dict | type | None = None,
    sheet: str | int = 0,
    names: list[str] | None = None,
    skip_rows: int = 0,
    header_rows: int = 1,
) -> pd.DataFrame:
    """Read CSV / XLSX / Parquet into a DataFrame (codes kept as strings via ``dtype``).

    ``names``: column names of a file without a header line (CSV / XLSX). A CSV
    may be gzip-compressed (``.csv.gz``). ``skip_rows``: title lines above the header;
    ``header_rows``: lines the header spans (a BPS table's merged title over a year
    row): their texts are joined per column, a merged title carried to the columns it
    spans ("Persentase rumah tangga ... 2024"). Row numbers in errors stay those of the
    file (:func:`file_row`).
    """
    path = require_file(path, what)
    suffix = path.suffix.lower()
    header = None if names else (list(range(header_rows)) if header_rows > 1 else 0)
    try:
        if suffix in {".xlsx", ".xls"}:
            df = pd.read_excel(
                path,
                sheet_name=sheet,  # numeric cells stay numbers, text cells text
                dtype=dtype if header_rows == 1 else object,
                header=header,
                names=names,
                skiprows=skip_rows or None,
            )
        elif suffix in {".parquet"}:
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(  # every cell as text: numbers are read by their column's rule
                path,
                dtype=str,
                sep=None,
                engine="python",
                encoding="utf-8-sig",
                header=header,
                names=names,
                skiprows=skip_rows or None,
            )
    except UnicodeDecodeError:
        raw = path.read_bytes()[:400]
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw
        found = "UTF-16 (Windows 'Unicode')" if utf16 else "Windows-1252 / latin-1"
        raise InputError(
            f"cannot read {what}: the text is {found}, not UTF-8",
            file=path,
            fix="save it as UTF-8 CSV (in Excel: CSV UTF-8) or XLSX, or "
            f"iconv -f {'UTF-16' if utf16 else 'WINDOWS-1252'} -t UTF-8",
        ) from None
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        cut = suffix not in {".xlsx", ".xls", ".parquet"} and re.search(
            r"EOF|end of (data|file)|ended before", text, re.IGNORECASE
        )
        if suffix == ".parquet":
            fix = "write the Parquet file again (it is corrupt or cut off)"
        elif suffix in {".xlsx", ".xls"}:
            fix = "open it in a spreadsheet and save it again as XLSX"
        else:
            fix = CUT_FIX if cut else "save it as UTF-8 CSV or XLSX"
        raise InputError(f"cannot read {what}: {text}", file=path, fix=fix) from None
    if header_rows > 1 and isinstance(df.columns, pd.MultiIndex):
        df.columns = _joined_header(df.columns)
    if skip_rows or header_rows > 1:  # keep file_row = the file's row number
        df.index = df.index + skip_rows + header_rows - 1
    if len(df) == 0:
        raise InputError(f"{what} has a header but no rows", file=path, fix="add the data rows")
    if suffix == ".parquet":
        _check_parquet_text(df, path, what)
    if suffix not in {".xlsx", ".xls", ".parquet", ".gz", ".zip", ".bz2", ".xz"} and not (
        skip_rows or header_rows > 1
    ):
        check_csv_complete(path, what, len(df.columns))
    df.columns = [str(c).strip() for c in df.columns]
    if header == 0:
        _check_unique_columns(df, path, what)
    return df


def _joined_header(columns: pd.MultiIndex) -> list[str]:
    """One name per column from a header of several rows; merged titles carried right."""
    levels = [list(columns.get_level_values(k)) for k in range(columns.nlevels)]
    out = []
    for k, level in enumerate(levels):
        last = ""
        for j, v in enumerate(level):
            text = "" if v is None or str(v).startswith("Unnamed:") or str(v) == "nan" else str(v)
            if k < len(levels) - 1:  # a merged cell holds its text in its first column only
                text = text or last
                last = text
            level[j] = " ".join(text.split())
    for j in range(len(columns)):
        parts = [lv[j] for lv in levels if lv[j]]
        out.append(" ".join(dict.fromkeys(parts)))
    return out


def _check_parquet_text(df: pd.DataFrame, path: Path, what: str) -> None:
    """Text columns of a Parquet file must decode (a damaged file may hold broken UTF-8)."""
    for c in df.columns:
        if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object:
            try:
                df[c].to_numpy()
            except Exception as exc:  # pyarrow raises its own classes
                raise InputError(
                    f"{what} column '{c}' cannot be read: {str(exc).splitlines()[0][:120]}",
                    file=path,
                    fix="write the Parquet file again (it is corrupt or cut off)",
                ) from None


def _check_unique_columns(df: pd.DataFrame, path: Path, what: str) -> None:
    """A header naming a column twice (pandas renames the second 'x.1'): which is meant?"""
    cols = list(df.columns)
    for i, c in enumerate(cols):
        m = re.fullmatch(r"(.+)\.(\d+)", c)
        if m and m.group(1) in cols[:i]:
            first = cols.index(m.group(1))
            raise InputError(
                f"{what} names column '{m.group(1)}' twice (columns {first + 1} and {i + 1})",
                file=path,
                row=1,
                fix="delete or rename one of them",
            )


def require_columns(df: pd.DataFrame, columns: list[str], path: Path, what: str) -> None:
    """Raise naming every missing column and listing what the file has."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {missing}; it has {list(df.columns)[:20]}",
            file=path,
            fix="rename the columns or set them in the config",
        )


def numeric_column(
    df: pd.DataFrame,
    col: str,
    path: Path,
    what: str,
    allow_missing: bool = True,
    lo: float = -np.inf,
    hi: float = np.inf,
    whole: bool = False,
    unit: str = "",
    decimal: str = "auto",
    decimal_key: str | None = None,
) -> np.ndarray:
    """Parse a numeric column (``1.234,5`` or ``1,234.5``); name the first bad row.

    Rows are named by the index label (+2 for the header and 1-based counting), so a
    table filtered with :func:`filter_rows` still names the row of the file. Infinite
    values are refused; ``lo`` / ``hi`` (inclusive) and ``whole`` (a count) are the
    column's declared range, ``unit`` is named in the error. Locale-written numbers are
    read by :func:`despro.layers._numbers.locale_numbers` (``decimal``: the declared mark,
    ``decimal_key``: the config key declaring it).
    """
    from ._numbers import locale_numbers

    raw = df[col]
    text = locale_numbers(df, col, path, what, decimal, lo, hi, whole, decimal_key)
    s = text.astype("string").str.strip()
    s = s.replace({"": pd.NA, "-": pd.NA, "NA": pd.NA, "nan": pd.NA})
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{what} column '{col}' has a non-number {raw.iloc[i]!r}",
            file=path,
            row=file_row(df, i),
            fix="use plain numbers; leave unknowns empty",
        )
    if not allow_missing and num.isna().any():
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise InputError(
            f"{what} column '{col}' is empty", file=path, row=file_row(df, i), fix="fill it in"
        )
    out = num.to_numpy(dtype=float)
    known = ~np.isnan(out)
    wrong = known & ((out < lo) | (out > hi) | np.isinf(out))
    if whole:
        wrong |= known & np.isfinite(out) & (out % 1 != 0)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        span = f"{lo:g} to {hi:g}" + (f" {unit}" if unit else "")
        kind = "a whole number" if whole else "a number"
        raise InputError(
            f"{what} column '{col}' value {raw.iloc[i]!r} is outside its range: "
            f"{kind} from {span} ({int(wrong.sum())} row(s))",
            file=path,
            row=file_row(df, i),
            fix="correct the value; leave unknowns empty",
        )
    return out


def file_row(df: pd.DataFrame, i: int) -> int:
    """Spreadsheet row (header = 1) of the ``i``-th row of ``df`` read by :func:`read_table`.

    Uses the index label when it is an integer (rows kept by a filter keep their
    label), else the position.
    """
    label = df.index[i]
    return int(label) + 2 if pd.api.types.is_integer(label) else i + 2
