"""The cell table of a run, with its hexagons kept as WKB until someone needs them.

Turning 2.5 M hexagons into shapely objects takes seconds and a few hundred MB, and
most uses of the cell table never look at them: the map site reads columns only and
``cells.parquet`` stores WKB anyway. :class:`LazyCells` holds the columns and the
WKB; :meth:`LazyCells.geodataframe` builds the GeoDataFrame users see (once, on
first access to :attr:`despro.pipeline.runner.Result.cells`), and
:meth:`LazyCells.to_parquet` writes the same GeoParquet file as
``GeoDataFrame.to_parquet`` would, without building a single geometry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from despro.grid import cells as grid

GEOPARQUET_VERSION = "1.1.0"  # what geopandas writes by default
#: rows per row group of ``cells.parquet`` (in H3 order: neighbours together)
ROW_GROUP_ROWS = 65_536


@dataclass
class LazyCells:
    """Cell columns plus the cells' boundaries as WKB polygons (lon/lat).

    Attributes
    ----------
    columns : DataFrame
        Every column of the cell table but the geometry, one row per cell.
    wkb : arrow binary array
        Each row's hexagon as little-endian ISO WKB (as H3 and shapely write it).
    crs : str
        CRS of the coordinates.
    """

    columns: pd.DataFrame
    wkb: pa.Array
    crs: str = "EPSG:4326"

    def __len__(self) -> int:
        return len(self.columns)

    def geodataframe(self) -> gpd.GeoDataFrame:
        """The cell table as a GeoDataFrame (builds the shapely hexagons)."""
        geometry = shapely.from_wkb(np.asarray(self.wkb.to_numpy(zero_copy_only=False)))
        return gpd.GeoDataFrame(self.columns, geometry=geometry, crs=self.crs)

    def to_parquet(self, path: str | Path) -> None:
        """Write GeoParquet, as ``self.geodataframe().to_parquet(path, index=False)`` would."""
        records = grid.wkb_polygon_records(self.wkb)
        if records is None:  # not all plain polygons of one size: let geopandas do it
            self.geodataframe().to_parquet(
                path, index=False, write_covering_bbox=True, row_group_size=ROW_GROUP_ROWS
            )
            return
        attrs = self.columns.copy(deep=False)
        attrs["geometry"] = None  # placeholder, as geopandas does, then the WKB goes in
        # the schema from every row (a text column empty in one row group keeps its type);
        # the rows are converted one row group at a time: converting the whole national
        # table at once held a second copy of it (1.0 GB) for the length of the write
        schema = pa.Schema.from_pandas(attrs, preserve_index=False)
        crs = CRS.from_user_input(self.crs)
        field = pa.field(
            "geometry",
            pa.binary(),
            nullable=True,
            metadata={
                "ARROW:extension:name": "geoarrow.wkb",
                "ARROW:extension:metadata": json.dumps({"crs": crs.to_json_dict()}),
            },
        )
        i = schema.get_field_index("geometry")
        lo, hi = _row_bounds(records)
        bbox = pa.StructArray.from_arrays(
            [pa.array(lo[:, 0]), pa.array(lo[:, 1]), pa.array(hi[:, 0]), pa.array(hi[:, 1])],
            names=["xmin", "ymin", "xmax", "ymax"],
        )
        geo = {
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "crs": _crs_metadata(crs),
                    "geometry_types": ["Polygon"],
                    "bbox": [*map(float, lo.min(axis=0)), *map(float, hi.max(axis=0))],
                    "covering": {
                        "bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}
                    },
                }
            },
            "version": GEOPARQUET_VERSION,
            "creator": {"library": "geopandas", "version": gpd.__version__},
        }
        meta = dict(schema.metadata or {})
        meta[b"geo"] = json.dumps(geo).encode("utf-8")
        out_schema = schema.set(i, field).append(pa.field("bbox", bbox.type))
        out_schema = out_schema.with_metadata(meta)
        wkb = self.wkb.cast(pa.binary())
        # row groups of whole H3 parents (rows stay in H3 order): each covers a compact
        # area, so a reader filtering on bbox skips the others
        ids = self.columns["h3_int"].to_numpy() if "h3_int" in self.columns else None
        # dictionary pages for the text columns only: on 2.5 M rows of mostly distinct
        # floats, trying a dictionary per column cost a third of the write and grew the file
        text = [
            f.name
            for f in out_schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ]
        with pq.ParquetWriter(path, out_schema, compression="snappy", use_dictionary=text) as w:
            for a, b in parent_row_groups(ids, len(attrs), ROW_GROUP_ROWS):
                part = pa.Table.from_pandas(attrs.iloc[a:b], schema=schema, preserve_index=False)
                part = part.set_column(i, field, wkb.slice(a, b - a))
                part = part.append_column("bbox", bbox.slice(a, b - a))
                w.write_table(part.replace_schema_metadata(meta), row_group_size=b - a)


def _crs_metadata(crs: CRS) -> dict:
    """PROJJSON of ``crs`` without ids on datum ensemble members (as geopandas writes it
    into GeoParquet metadata)."""
    out = crs.to_json_dict()
    for member in out.get("datum_ensemble", {}).get("members", []):
        member.pop("id", None)
    return out


def parent_row_groups(cells: np.ndarray | None, n: int, limit: int) -> list[tuple[int, int]]:
    """Row ranges [a, b) of whole H3 parents, each a compact area.

    ``cells`` are sorted H3 ids (uint64). The parent resolution is the finest whose full
    parent holds at least ``limit / 7`` cells (at most ``limit``); consecutive parents
    are merged while they share their own parent (siblings: neighbours) and the group
    stays within ``limit`` rows. Without ids: plain ``limit``-row chunks.
    """
    if cells is None or n == 0:
        return [(i, min(i + limit, n)) for i in range(0, max(n, 1), limit)]
    cells = np.asarray(cells, dtype=np.uint64)
    res = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))  # the index's resolution bits
    drop = min(int(np.floor(np.log(max(limit, 1)) / np.log(7))), res)
    parent = grid.parent_cells(cells, res - drop) if drop > 0 else cells
    grand = grid.parent_cells(cells, res - drop - 1) if res - drop > 0 else np.zeros_like(cells)
    starts = np.flatnonzero(np.r_[True, parent[1:] != parent[:-1]]).tolist()
    bounds = [*starts, n]
    groups, a = [], 0
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        if s > a and (e - a > limit or grand[s] != grand[a]):
            groups.append((a, s))
            a = s
        while e - a > limit:  # cannot happen with whole parents of <= limit cells
            groups.append((a, a + limit))
            a += limit
    groups.append((a, n))
    return groups


def _row_bounds(records: np.ndarray, chunk: int = 500_000) -> tuple[np.ndarray, np.ndarray]:
    """Per row (minx, miny) and (maxx, maxy) of WKB polygon records."""
    n = len(records)
    lo, hi = np.empty((n, 2)), np.empty((n, 2))
    for i in range(0, n, chunk):
        part = records[i : i + chunk]
        xy = np.ascontiguousarray(part[:, 13:]).view("<f8").reshape(len(part), -1, 2)
        lo[i : i + chunk], hi[i : i + chunk] = xy.min(axis=1), xy.max(axis=1)
    return lo, hi
