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
            self.geodataframe().to_parquet(path, index=False)
            return
        attrs = self.columns.copy(deep=False)
        attrs["geometry"] = None  # placeholder, as geopandas does, then the WKB goes in
        table = pa.Table.from_pandas(attrs, preserve_index=False)
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
        i = table.schema.get_field_index("geometry")
        table = table.set_column(i, field, self.wkb.cast(pa.binary()))
        geo = {
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "crs": _crs_metadata(crs),
                    "geometry_types": ["Polygon"],
                    "bbox": _bbox(records),
                }
            },
            "version": GEOPARQUET_VERSION,
            "creator": {"library": "geopandas", "version": gpd.__version__},
        }
        meta = dict(table.schema.metadata or {})
        meta[b"geo"] = json.dumps(geo).encode("utf-8")
        pq.write_table(table.replace_schema_metadata(meta), path, compression="snappy")


def _crs_metadata(crs: CRS) -> dict:
    """PROJJSON of ``crs`` without ids on datum ensemble members (as geopandas writes it
    into GeoParquet metadata)."""
    out = crs.to_json_dict()
    for member in out.get("datum_ensemble", {}).get("members", []):
        member.pop("id", None)
    return out


def _bbox(records: np.ndarray, chunk: int = 500_000) -> list[float]:
    """[minx, miny, maxx, maxy] over the coordinates of WKB polygon records
    (:func:`despro.grid.cells.wkb_polygon_records`)."""
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for i in range(0, len(records), chunk):
        xy = np.ascontiguousarray(records[i : i + chunk, 13:]).view("<f8").reshape(-1, 2)
        lo, hi = np.minimum(lo, xy.min(axis=0)), np.maximum(hi, xy.max(axis=0))
    return [float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])]
