"""GeoParquet 1.1 that readers can skip by area: a bbox covering column and row groups by place.

Each row carries its bounding box in a ``bbox`` struct column (``xmin``, ``ymin``,
``xmax``, ``ymax``; declared as the geometry's ``covering`` in the ``geo`` metadata,
GeoParquet 1.1), and rows are written in groups of neighbours: villages one row group per
province (rows in code order), cells in H3 order (:mod:`despro.grid.celltable`). Parquet
keeps min / max statistics per row group, so DuckDB, GDAL (>= 3.9) or pyarrow reading
``WHERE bbox.xmin < ... AND bbox.xmax > ...`` skip the row groups of other provinces.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq

#: largest row group of a file without a ``province_code`` column (rows)
ROW_GROUP_ROWS = 65_536


def row_groups(gdf: gpd.GeoDataFrame, key: str = "province_code") -> list[slice]:
    """Row ranges of the row groups: one per run of equal ``key`` (when the column exists;
    rows are expected in code order), else :data:`ROW_GROUP_ROWS` rows each."""
    n = len(gdf)
    if key in gdf.columns and n:
        k = gdf[key].astype(str).to_numpy()
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], n]
        return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]
    return [slice(i, min(i + ROW_GROUP_ROWS, n)) for i in range(0, max(n, 1), ROW_GROUP_ROWS)]


def write_geoparquet(gdf: gpd.GeoDataFrame, path: Path | str, key: str = "province_code") -> None:
    """Write ``gdf`` as GeoParquet 1.1 with a ``bbox`` covering column, row groups by ``key``.

    Parameters
    ----------
    gdf : GeoDataFrame
        Written without its index (keep identifiers as columns).
    path : path
        The ``.parquet`` file.
    key : str
        Column whose runs of equal values make the row groups (province codes).
    """
    from geopandas.io.arrow import _geopandas_to_arrow

    table = _geopandas_to_arrow(gdf, index=False, schema_version="1.1.0", write_covering_bbox=True)
    with pq.ParquetWriter(path, table.schema, compression="snappy") as w:
        for s in row_groups(gdf, key):
            w.write_table(table.slice(s.start, s.stop - s.start), row_group_size=s.stop - s.start)
