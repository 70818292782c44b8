"""The lazy cell table: the GeoDataFrame and the GeoParquet file are what geopandas gives."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from despro.grid import cells as grid
from despro.grid.celltable import LazyCells
from despro.pipeline.runner import Result, run


def _lazy(cells: np.ndarray, wkb: pa.Array | None = None) -> LazyCells:
    rng = np.random.default_rng(3)
    n = len(cells)
    value = rng.uniform(0, 50, n)
    value[::4] = np.nan  # unknown stays NaN in the file
    dominant = pd.Series(np.where(np.arange(n) % 3, "kiosk", None), dtype="string")
    cols = pd.DataFrame(
        {
            "h3": grid.cells_to_str_series(cells).array,
            "h3_int": cells.astype(np.uint64),
            "value": value,
            "courier_dominant": dominant.array,
            "area_m2": grid.cell_area_m2(cells),
        }
    )
    return LazyCells(cols, grid.cell_wkb(cells) if wkb is None else wkb)


def _cells() -> np.ndarray:
    lon, lat = np.meshgrid(np.linspace(110.0, 110.6, 40), np.linspace(-7.9, -7.3, 30))
    return np.unique(grid.lonlat_to_cells(lon.ravel(), lat.ravel(), 8))


def test_geodataframe_holds_the_hexagons_and_columns():
    cells = _cells()
    lazy = _lazy(cells)
    gdf = lazy.geodataframe()
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs == "EPSG:4326"
    assert shapely.equals(gdf.geometry.values, grid.cell_polygons(cells)).all()
    pd.testing.assert_frame_equal(pd.DataFrame(gdf.drop(columns="geometry")), lazy.columns)


def _same_file(a, b) -> None:
    """Same table and GeoParquet metadata (row groups may differ: ours follow H3 parents)."""
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.equals(tb)
    assert ta.schema.metadata[b"geo"] == tb.schema.metadata[b"geo"]


def test_parquet_is_what_geopandas_writes_with_a_bbox_covering(tmp_path):
    lazy = _lazy(_cells())
    lazy.to_parquet(tmp_path / "lazy.parquet")
    lazy.geodataframe().to_parquet(tmp_path / "gpd.parquet", index=False, write_covering_bbox=True)
    _same_file(tmp_path / "lazy.parquet", tmp_path / "gpd.parquet")
    back = gpd.read_parquet(tmp_path / "lazy.parquet")
    assert back["value"].isna().sum() == lazy.columns["value"].isna().sum()


def test_parquet_in_many_row_groups_is_the_same_table(tmp_path, monkeypatch):
    """Rows converted one row group at a time: a text column empty in the first groups
    keeps its type, and the file holds what geopandas writes in one piece."""
    import despro.grid.celltable as celltable

    monkeypatch.setattr(celltable, "ROW_GROUP_ROWS", 50)
    lazy = _lazy(_cells())
    n = len(lazy)
    late = np.where(np.arange(n) > n - 20, "pos", None)  # only in the last group
    lazy.columns["late_dominant"] = pd.Series(late, dtype="string").array
    lazy.to_parquet(tmp_path / "lazy.parquet")
    assert pq.ParquetFile(tmp_path / "lazy.parquet").metadata.num_row_groups > 3
    lazy.geodataframe().to_parquet(tmp_path / "gpd.parquet", index=False, write_covering_bbox=True)
    _same_file(tmp_path / "lazy.parquet", tmp_path / "gpd.parquet")
    back = pq.read_table(tmp_path / "lazy.parquet")
    assert back.column("late_dominant").null_count == n - 19


def test_parquet_of_other_shapes_falls_back_to_geopandas(tmp_path):
    cells = _cells()[:5]
    shapes = [*grid.cell_polygons(cells[:4]), shapely.box(110.0, -7.0, 110.1, -6.9)]
    lazy = _lazy(cells, pa.array(shapely.to_wkb(shapes, flavor="iso"), pa.binary()))
    lazy.to_parquet(tmp_path / "lazy.parquet")
    lazy.geodataframe().to_parquet(tmp_path / "gpd.parquet", index=False, write_covering_bbox=True)
    _same_file(tmp_path / "lazy.parquet", tmp_path / "gpd.parquet")
    assert pq.read_table(tmp_path / "lazy.parquet").num_rows == 5


def test_result_builds_the_geodataframe_on_first_access(sample_result):
    lazy = _lazy(_cells())
    r = Result(
        sample_result.config,
        lazy,
        sample_result.villages,
        sample_result.criteria,
        sample_result.variables,
        sample_result.layers,
        sample_result.study,
        sample_result.notes,
        sample_result.village_additive,
    )
    assert r.n_cells == len(lazy) and r.cell_columns is lazy.columns  # nothing built yet
    assert isinstance(r._cells, LazyCells)
    cells = r.cells
    assert isinstance(cells, gpd.GeoDataFrame) and r.cells is cells  # built once
    pd.testing.assert_frame_equal(r.cell_columns, lazy.columns)


def test_run_keeps_the_hexagons_as_wkb_and_writes_what_geopandas_writes(sample_config, tmp_path):
    r = run(sample_config)
    assert isinstance(r._cells, LazyCells)  # the run built no shapely hexagon
    r.write_cells(tmp_path / "lazy.parquet")
    r.cells.to_parquet(tmp_path / "gpd.parquet", index=False, write_covering_bbox=True)
    _same_file(tmp_path / "lazy.parquet", tmp_path / "gpd.parquet")


def test_cell_columns_of_a_built_table_leave_out_only_the_geometry(sample_result):
    cells = sample_result.cells
    cols = sample_result.cell_columns
    assert type(cols) is pd.DataFrame
    assert list(cols.columns) == [c for c in cells.columns if c != "geometry"]
