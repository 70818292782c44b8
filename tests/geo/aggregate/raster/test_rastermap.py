"""Raster -> H3 kernel: exact shares, conservation, nodata, chunking, cache, CRS."""

import multiprocessing

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.aggregate.kernels import raster_to_cells
from despro.aggregate.raster import reduce as rmod
from despro.grid import cells as grid
from despro.grid.extent import Extent, partition_extent

D = 3 / 3600  # 3 arc-seconds
T = Affine(D, 0, 110.30, 0, -D, -7.70)  # near Yogyakarta


def _xy(t, u, v):
    """Apply affine ``t`` to column / row coordinates (arrays)."""
    return t.a * u + t.b * v + t.c, t.d * u + t.e * v + t.f


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv("DESPRO_CACHE", raising=False)
    rmod.clear_cache()
    yield
    rmod.clear_cache()


def _geos_sums(values, transform, cells):
    """Reference: every (cell, pixel) intersection by GEOS, value x area share."""
    h, w = values.shape
    rows, cols = np.indices((h, w))
    corners = [
        _xy(transform, cols.ravel() + a, rows.ravel() + b)
        for a, b in ((0, 0), (1, 0), (1, 1), (0, 1))
    ]
    px = shapely.polygons(np.stack([np.stack(c, -1) for c in corners], 1))
    hexes = grid.cell_polygons(cells)
    hi, pi = shapely.STRtree(px).query(hexes, predicate="intersects")
    share = shapely.area(shapely.intersection(hexes[hi], px[pi])) / shapely.area(px[pi])
    return np.bincount(hi, share * values.ravel()[pi], minlength=len(cells))


@settings(max_examples=12, deadline=None)
@given(
    res=st.sampled_from([7, 8, 9, 10]),
    scale=st.sampled_from([0.5, 1.0, 3.0]),
    shear=st.sampled_from([0.0, 0.2]),
    seed=st.integers(0, 1000),
)
def test_shares_equal_geos_overlay(res, scale, shear, seed):
    d = D * scale
    t = Affine(d, shear * d, 110.30, shear * d * 0.5, -d, -7.70)
    values = np.random.default_rng(seed).random((40, 56))
    z = rmod.zonal(values, res, transform=t, crs="EPSG:4326", tile_rows=16)
    ref = _geos_sums(values, t, z.index.to_numpy())
    assert np.abs(z["sum"].to_numpy() - ref).max() < 1e-6  # shares stored as float32
    checks = rmod.get_map(rmod.RasterGrid.of(t, 56, 40, "EPSG:4326"), res).checks()
    assert checks["max_deficit"] < 1e-9
    assert checks["max_area_error"] < 1e-5


def test_sum_is_conserved_exactly():
    values = np.random.default_rng(0).gamma(2.0, 30.0, (300, 340))
    z = rmod.zonal(values, 8, transform=T, crs="EPSG:4326")
    assert z["sum"].sum() == pytest.approx(values.sum(), rel=1e-13)
    # the cells the raster covers completely have their whole area
    full = z["valid_area_m2"] / grid.cell_area_m2(z.index.to_numpy())
    assert full.max() == pytest.approx(1.0, abs=1e-6)


def test_mean_of_a_constant_raster_is_the_constant():
    values = np.full((120, 150), 7.25, dtype=np.float32)
    values[30:60, 40:90] = np.nan  # holes do not change a mean
    z = rmod.zonal(values, 8, transform=T, crs="EPSG:4326", nodata=None)
    assert np.allclose(z["mean"], 7.25, rtol=1e-12)


def test_nodata_excluded_and_all_nodata_cell_absent():
    nodata = -9999.0
    values = np.random.default_rng(1).random((150, 180)) + 1.0
    values[:, :60] = nodata  # a band wider than a cell
    z = rmod.zonal(values, 8, transform=T, crs="EPSG:4326", nodata=nodata)
    valid = values != nodata
    assert z["sum"].sum() == pytest.approx(values[valid].sum(), rel=1e-13)
    assert (z["mean"] >= 1.0).all() and (z["mean"] <= 2.0).all()
    # cells lying wholly in the nodata band are absent (unknown), never 0
    lon, lat = _xy(T, 20.0, 75.0)
    inside_band = grid.lonlat_to_cells(np.array([lon]), np.array([lat]), 8)[0]
    assert inside_band not in z.index
    assert (z["valid_area_m2"] > 0).all()


@settings(max_examples=8, deadline=None)
@given(tile_rows=st.integers(7, 90), tile_cols=st.integers(16, 200))
def test_result_independent_of_tiling(tile_rows, tile_cols):
    values = np.random.default_rng(2).random((97, 131))
    rmod.clear_cache()
    whole = rmod.zonal(values, 9, transform=T, crs="EPSG:4326", tile_rows=500)
    rmod.clear_cache()
    default_cols = rmod.TILE_COLS
    try:
        rmod.TILE_COLS = tile_cols
        tiled = rmod.zonal(values, 9, transform=T, crs="EPSG:4326", tile_rows=tile_rows)
    finally:
        rmod.TILE_COLS = default_cols
    assert tiled.index.equals(whole.index)
    assert np.allclose(tiled.to_numpy(), whole.to_numpy(), rtol=1e-12, atol=1e-9)


def test_cache_hit_returns_identical_arrays(tmp_path):
    values = np.random.default_rng(3).random((100, 120))
    first = rmod.zonal(values, 8, transform=T, crs="EPSG:4326", cache_dir=tmp_path)
    built = rmod.cache_stats["built"]
    assert built > 0
    second = rmod.zonal(values * 2, 8, transform=T, crs="EPSG:4326", cache_dir=tmp_path)
    assert rmod.cache_stats["built"] == built  # mapping not rebuilt: only the sums
    assert rmod.cache_stats["memory_hits"] >= 1
    assert np.array_equal(second["sum"].to_numpy(), 2 * first["sum"].to_numpy())
    # from disk in a fresh process (simulated: memory cleared)
    rmod.clear_cache()
    third = rmod.zonal(values, 8, transform=T, crs="EPSG:4326", cache_dir=tmp_path)
    assert rmod.cache_stats["built"] == 0 and rmod.cache_stats["disk_hits"] == built
    assert third.equals(first)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32749"])
def test_parallel_build_equals_serial_build(crs):
    """Tiles built on two threads are the serial ones (lon/lat and projected grids)."""
    t = T if crs == "EPSG:4326" else Affine(90.0, 0, 420_000.0, 0, -90.0, 9_150_000.0)
    g = rmod.RasterGrid.of(t, 150, 130, crs)
    serial = rmod.RasterMap(g, 8, 32, 64)
    serial.ensure(serial.keys(), threads=1)
    parallel = rmod.RasterMap(g, 8, 32, 64)
    parallel.ensure(parallel.keys(), threads=2)
    assert len(serial.tiles) == 15 and serial.tiles.keys() == parallel.tiles.keys()
    for k, block in serial.tiles.items():
        for name in block.ARRAYS:
            assert np.array_equal(getattr(block, name), getattr(parallel.tiles[k], name)), name
    assert serial.checks() == parallel.checks()


def _zonal_sum_total(queue):
    values = np.random.default_rng(5).random((130, 150))
    z = rmod.zonal(values, 8, transform=T, crs="EPSG:4326", tile_rows=32)
    queue.put(float(z["sum"].sum()))


def test_zonal_runs_inside_a_daemonic_worker():
    """A daemonic worker process (which may not have children) builds its tiles too."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_zonal_sum_total, args=(queue,), daemon=True)
    proc.start()
    total = queue.get(timeout=120)
    proc.join()
    assert proc.exitcode == 0
    assert total == pytest.approx(np.random.default_rng(5).random((130, 150)).sum(), rel=1e-12)


def test_coverage_is_the_reduction_of_ones():
    """Block.coverage (from run lengths) = Block.reduce of an all-ones raster."""
    rm = rmod.get_map(rmod.RasterGrid.of(T, 90, 70, "EPSG:4326"), 9, tile_rows=32)
    rm.ensure(rm.keys(), threads=1)
    for k, block in rm.tiles.items():
        w = rm.areas(k)[:, 0]
        ones = np.ones((block.rows, block.width), np.float32)
        assert np.allclose(
            block.coverage((w, None)), block.reduce(ones, (w, None)), rtol=1e-12, atol=0
        )
        # every pixel's shares add to 1: the cells tile the plane
        assert block.coverage()[:, 0].sum() == pytest.approx(block.rows * block.width, rel=1e-12)


def _smooth(lon, lat):
    return 2.0 + np.sin(lon * 40.0) * np.cos(lat * 30.0)


def test_projected_raster_matches_geographic():
    """The same field, rasterised in EPSG:4326 and in UTM 49S, gives the same cells."""
    res = 7
    # geographic raster: people = density (per km2) x pixel ground area
    d = 1.5 / 3600
    tg = Affine(d, 0, 110.30, 0, -d, -7.70)
    hg, wg = 480, 480
    rows, cols = np.indices((hg, wg)) + 0.5
    lon, lat = _xy(tg, cols, rows)
    area_g = rmod.RasterGrid.of(tg, wg, hg, "EPSG:4326").pixel_areas(0, hg, 0, wg)
    people_g = _smooth(lon, lat) * area_g / 1e6
    zg = rmod.zonal(people_g, res, transform=tg, crs="EPSG:4326")
    # UTM raster over the same place, 45 m pixels
    utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32749", always_xy=True)
    x0, y0 = utm.transform(110.30, -7.70)
    tu = Affine(45.0, 0, x0, 0, -45.0, y0)
    hu, wu = 440, 440
    rows, cols = np.indices((hu, wu)) + 0.5
    x, y = _xy(tu, cols, rows)
    lon, lat = pyproj.Transformer.from_crs("EPSG:32749", "EPSG:4326", always_xy=True).transform(
        x, y
    )
    area_u = rmod.RasterGrid.of(tu, wu, hu, "EPSG:32749").pixel_areas(0, hu, 0, wu)
    people_u = _smooth(lon, lat) * area_u / 1e6
    zu = rmod.zonal(people_u, res, transform=tu, crs="EPSG:32749")
    # compare the cells both rasters cover completely
    cell_area = grid.cell_area_m2
    full_g = zg.index[np.isclose(zg["valid_area_m2"], cell_area(zg.index.to_numpy()), rtol=1e-6)]
    full_u = zu.index[np.isclose(zu["valid_area_m2"], cell_area(zu.index.to_numpy()), rtol=1e-4)]
    both = full_g.intersection(full_u)
    assert len(both) > 20
    assert np.allclose(zu.loc[both, "sum"], zg.loc[both, "sum"], rtol=2e-3)
    assert np.allclose(
        zu.loc[both, "mean"] / area_u.mean() * 1e6,
        zg.loc[both, "mean"] / area_g.mean() * 1e6,
        rtol=2e-2,
    )


def test_raster_to_cells_uses_the_kernel_and_honours_partitions(tmp_path):
    values = np.random.default_rng(4).random((160, 200)).astype(np.float32)
    values[10:20, 10:30] = -1.0
    path = tmp_path / "r.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=160,
        width=200,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=T,
        nodata=-1.0,
    ) as dst:
        dst.write(values, 1)
    whole = raster_to_cells(
        path, 8, {"people": lambda v, a: v, "covered": lambda v, a: (v > 0.5) * a}
    )
    ref = rmod.zonal(path, 8)
    assert np.allclose(whole["people"], ref["sum"], rtol=1e-12)
    assert np.allclose(whole["__pixel_area_m2"], ref["valid_area_m2"], rtol=1e-12)
    assert (whole["covered"] <= whole["__pixel_area_m2"] * (1 + 1e-9)).all()
    assert whole["people"].sum() == pytest.approx(values[values != -1].sum(), rel=1e-6)
    # a partition reads only its tiles; its inner cells get the same sums bit for bit
    bounds = (110.32, -7.78, 110.34, -7.75)
    default = rmod.TILE_PIXELS, rmod.TILE_COLS
    try:
        rmod.TILE_PIXELS, rmod.TILE_COLS = 2000, 64  # 6 x 4 tiles
        rmod.clear_cache()
        whole = raster_to_cells(
            path, 8, {"people": lambda v, a: v, "covered": lambda v, a: (v > 0.5) * a}
        )
        rmod.clear_cache()
        with partition_extent(Extent(bounds=bounds)):
            part = raster_to_cells(
                path, 8, {"people": lambda v, a: v, "covered": lambda v, a: (v > 0.5) * a}
            )
        assert 0 < rmod.cache_stats["built"] < 24
    finally:
        rmod.TILE_PIXELS, rmod.TILE_COLS = default
    hexes = grid.cell_polygons(part.index.to_numpy())
    inner = part.index[shapely.within(hexes, shapely.box(*bounds))]
    assert len(inner) > 3
    assert part.loc[inner].equals(whole.loc[inner])


def test_sums_match_exactextract(tmp_path):
    """An independent exact tool (benchmark extra) gives the same sums over hexagons."""
    exactextract = pytest.importorskip("exactextract")
    gpd = pytest.importorskip("geopandas")
    values = np.random.default_rng(5).random((90, 110)).astype(np.float32)
    path = tmp_path / "r.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=90,
        width=110,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=T,
    ) as dst:
        dst.write(values, 1)
    z = rmod.zonal(path, 8)
    cells = z.index.to_numpy()
    hexes = gpd.GeoDataFrame({"cell": cells}, geometry=grid.cell_polygons(cells), crs=4326)
    ref = exactextract.exact_extract(str(path), hexes, ["sum"], output="pandas")
    assert np.allclose(z["sum"].to_numpy(), ref["sum"].to_numpy(), rtol=1e-5, atol=1e-6)


def test_raster_across_the_antimeridian_is_refused_with_the_fix():
    """A raster reaching past 180 degrees would wrap cells round the globe: a clear error
    saying how to split it, not a hang or a wrong map."""
    from despro.errors import DesproError

    t = (0.01, 0, 179.9, 0, -0.01, -16.0)  # Fiji: 179.9 E to 180.1 E
    with pytest.raises(DesproError, match="antimeridian.*split the raster"):
        rmod.zonal(np.ones((20, 20)), 8, transform=t, crs="EPSG:4326")
