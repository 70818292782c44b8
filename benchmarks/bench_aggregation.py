"""Aggregation benchmarks: despro's kernels against named baselines, same inputs, same run.

Usage::

    python benchmarks/bench_aggregation.py            # full sizes (~15-25 min on 2 cores)
    python benchmarks/bench_aggregation.py --quick    # small sizes (~2 min)
    python benchmarks/bench_aggregation.py --only raster --repeat 3

Two jobs:

(a) **polygons -> hexagons** (areal interpolation of a count): the real villages of
    ``../shared/data/admin/admin_kel.parquet`` whose ``kode`` starts with the
    province prefix (``--province``, default 33 = Jawa Tengah; ``--national`` adds
    all 83,246 villages for despro alone) onto H3 resolution 8, with
    ``despro.aggregate.overlap.polygon_overlap`` + ``despro.transfer.weights.units_to_cells``
    against ``tobler.area_weighted.area_interpolate`` given the same hexagons
    (h3 cell polygons) and both layers projected to UTM 49S beforehand (the
    projection is not timed).
(b) **raster -> res 8 exact mean** of a synthetic float32 raster at 3 arc-seconds
    over Java (7200 x 7000 = 50.4 M pixels; ``--quick``: 2000 x 2000), with
    ``despro.aggregate.raster.reduce.zonal`` cold (mapping built) and warm (mapping cached;
    in-memory array, and from the GeoTIFF), against ``h3ronpy.raster.
    raster_to_dataframe`` (centre sampling, cold), a per-polygon ``rasterio.mask``
    loop over the hexagons, ``exactextract`` over the hexagon polygons and naive
    per-pixel ``h3.latlng_to_cell``. The last three are timed on a sample (of
    hexagons or pixels) and extrapolated linearly; the output says so.

Every case runs in a fresh subprocess (``--case NAME``), ``--repeat`` times (>= 2),
and the best time is kept; peak memory is the child's peak resident set size
(``resource.getrusage``), next to its resident size just before the timed step. The
despro exact and h3ronpy raster cases also report CPU seconds, which a busy shared
machine distorts less than wall time. despro's kernels are compiled by numba and cached
on disk: "cold" means the mapping is not cached, numba's machine code is; the exact raster
case is timed twice per process kind: in a fresh process (numba's per-process start-up
included: ~1 s, mostly its import of ``scipy.linalg``) and after a tiny ``zonal`` on
another grid has started numba (``raster_despro_started``). The polygon cases first run
on one village (untimed; despro's time for it, numba's per-process start-up and loading
its cached kernels, is reported) and then time the whole job, as imports are left out of
the timing.
Ratios are baseline time / despro time: > 1 means despro is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VILLAGES = REPO.parent / "shared" / "data" / "admin" / "admin_kel.parquet"
RES = 8
D = 3 / 3600  # 3 arc-seconds
RASTER = {"full": (7000, 7200), "quick": (2000, 2000)}
SAMPLES = {
    "full": {"mask": 2000, "exactextract": 40000, "naive": 1_000_000},
    "quick": {"mask": 300, "exactextract": 5000, "naive": 200_000},
}


def rss_mb() -> float:
    """Current resident set size (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    """Peak resident set size of this process (or its largest waited-for child) so far (MB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its waited-for children so far."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


# ----------------------------------------------------------------------------- inputs
def villages(prefixes: list[str] | None):
    import geopandas as gpd

    g = gpd.read_parquet(VILLAGES, columns=["kode", "geometry"])
    if prefixes:
        g = g[g["kode"].str.startswith(tuple(prefixes))]
    g = g.reset_index(drop=True)
    # a deterministic count per village (people, outlets, ...)
    g["count"] = np.random.default_rng(0).integers(100, 10_000, len(g)).astype(float)
    return g


def raster(size: str):
    """The synthetic raster (float32, smooth field + noise) and its affine transform."""
    from affine import Affine

    h, w = RASTER[size]
    t = Affine(D, 0, 106.0, 0, -D, -5.8)
    a = np.empty((h, w), np.float32)
    rng = np.random.default_rng(0)
    lon = 106.0 + (np.arange(w) + 0.5) * D
    for r0 in range(0, h, 500):
        lat = -5.8 - (np.arange(r0, min(r0 + 500, h)) + 0.5) * D
        field = 20 * np.sin(lon[None, :] * 3) * np.cos(lat[:, None] * 5) + 50
        a[r0 : r0 + len(lat)] = field + rng.normal(0, 5, (len(lat), w))
    return a, t


def geotiff(size: str, tmp: Path) -> Path:
    import rasterio

    path = tmp / f"synthetic_{size}.tif"
    if not path.exists():
        a, t = raster(size)
        part = path.with_suffix(".part.tif")
        with rasterio.open(
            part,
            "w",
            driver="GTiff",
            height=a.shape[0],
            width=a.shape[1],
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=t,
            tiled=True,
            blockxsize=512,
            blockysize=512,
        ) as dst:
            dst.write(a, 1)
        part.rename(path)
    return path


def hexagons(shape, t) -> np.ndarray:
    """The res-8 cells whose centre lies on the raster (the zones the baselines get)."""
    import pyarrow as pa
    import shapely
    from h3ronpy.vector import ContainmentMode, wkb_to_cells

    h, w = shape
    box = shapely.box(t.c, t.f + h * t.e, t.c + w * t.a, t.f)
    lists = wkb_to_cells(
        pa.array([shapely.to_wkb(box)], type=pa.binary()),
        RES,
        containment_mode=ContainmentMode.ContainsCentroid,
    )
    return np.unique(np.asarray(pa.array(lists).flatten().to_numpy(zero_copy_only=False)))


# ----------------------------------------------------------------------------- cases
def case_poly_despro(args) -> dict:
    from despro.aggregate.overlap import polygon_overlap
    from despro.transfer.weights import units_to_cells

    g = villages(args.prefixes)
    # warm-up on one village: the process's first compiled call pays numba's start-up
    # (its typing registries import scipy.linalg, numpy.f2py, ...) and loads the kernels'
    # machine code from the disk cache; reported apart, like imports
    t0 = time.perf_counter()
    polygon_overlap(g.geometry.values[:1], RES)
    startup = time.perf_counter() - t0
    base = rss_mb()
    t0, c0 = time.perf_counter(), cpu_s()
    ov = polygon_overlap(g.geometry.values, RES)
    cells = units_to_cells(g["count"].to_numpy()[:, None], ov.matrix)[:, 0]
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    np.savez(args.out, cells=ov.cells, values=cells)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "startup_seconds": startup,
        "base_mb": base,
        "villages": len(g),
        "cells": len(ov.cells),
        "total_in": float(g["count"].sum()),
        "total_out": float(cells.sum()),
    }


def case_poly_tobler(args) -> dict:
    import warnings

    import geopandas as gpd
    import pyarrow as pa
    import shapely
    from h3ronpy.vector import ContainmentMode, wkb_to_cells
    from tobler.area_weighted import area_interpolate

    from despro.aggregate.overlap import _list_pairs
    from despro.grid import cells as grid

    g = villages(args.prefixes)
    # the same hexagons: every res-8 cell any village touches (h3 polygon fill)
    lists = wkb_to_cells(
        pa.array(shapely.to_wkb(g.geometry.values), type=pa.binary()),
        RES,
        containment_mode=ContainmentMode.IntersectsBoundary,
    )
    cells = np.unique(_list_pairs(lists)[1])
    hexes = gpd.GeoDataFrame({"cell": cells}, geometry=grid.cell_polygons(cells), crs=4326)
    src, tgt = g.to_crs(32749), hexes.to_crs(32749)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area_interpolate(src[:1], tgt[:50], extensive_variables=["count"])  # warm-up, as despro
        base = rss_mb()
        t0, c0 = time.perf_counter(), cpu_s()
        est = area_interpolate(src, tgt, extensive_variables=["count"])
    seconds, cpu = time.perf_counter() - t0, cpu_s() - c0
    np.savez(args.out, cells=cells, values=est["count"].to_numpy())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "base_mb": base,
        "villages": len(g),
        "cells": len(cells),
        "total_out": float(est["count"].sum()),
    }


def _despro(args, exact: bool, start_numba: bool = False) -> dict:
    from despro.aggregate.raster import reduce as rastermap

    a, t = raster(args.size)
    numba_start = None
    if start_numba:  # a tiny raster elsewhere: loads the compiled kernels, maps nothing here
        t0 = time.perf_counter()
        rastermap.zonal(np.ones((8, 8)), RES, transform=(D, 0, 0.0, 0, -D, 0.0), crs="EPSG:4326")
        numba_start = time.perf_counter() - t0
    base = rss_mb()
    c0, t0 = cpu_s(), time.perf_counter()
    z = rastermap.zonal(a, RES, stats=("mean",), transform=t, crs="EPSG:4326", exact=exact)
    cold, cold_cpu = time.perf_counter() - t0, cpu_s() - c0
    peak_cold = peak_mb()
    warm, warm_cpu = [], []
    for _ in range(3):
        c0, t0 = cpu_s(), time.perf_counter()
        rastermap.zonal(a, RES, stats=("mean",), transform=t, crs="EPSG:4326", exact=exact)
        warm.append(time.perf_counter() - t0)
        warm_cpu.append(cpu_s() - c0)
    z = rastermap.zonal(a, RES, transform=t, crs="EPSG:4326", exact=exact)  # + sums
    rm = rastermap.get_map(
        rastermap.RasterGrid.of(t, a.shape[1], a.shape[0], "EPSG:4326"), RES, exact=exact
    )
    checks = rm.checks()
    np.savez(
        args.out,
        cells=z.index.to_numpy(),
        mean=z["mean"].to_numpy(),
        sum=z["sum"].to_numpy(),
        area=z["valid_area_m2"].to_numpy(),
    )
    return {
        "seconds": cold,
        "warm_seconds": min(warm),
        "base_mb": base,
        "peak_cold_mb": peak_cold,
        "cpu_seconds": cold_cpu,
        "warm_cpu_seconds": min(warm_cpu),
        "numba_start_seconds": numba_start,
        "cells": len(z),
        "pixels": int(a.size),
        "mapping_mb": rm.nbytes / 2**20,
        "max_deficit": checks["max_deficit"],
        "max_area_error": checks["max_area_error"],
        "edge_pixels": checks["edge_pixels"],
    }


def case_raster_despro(args) -> dict:
    return _despro(args, exact=True)


def case_raster_despro_started(args) -> dict:
    return _despro(args, exact=True, start_numba=True)


def case_raster_despro_centre(args) -> dict:
    return _despro(args, exact=False)


def case_raster_despro_file(args) -> dict:
    from despro.aggregate.raster import reduce as rastermap

    path = geotiff(args.size, Path(args.tmp))
    rastermap.zonal(path, RES, stats=("mean",), exact=True)  # builds the mapping (untimed)
    base = rss_mb()
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        rastermap.zonal(path, RES, stats=("mean",), exact=True)
        warm.append(time.perf_counter() - t0)
    return {"seconds": min(warm), "base_mb": base}


def case_raster_h3ronpy(args) -> dict:
    from h3ronpy.raster import raster_to_dataframe

    a, t = raster(args.size)
    base = rss_mb()
    c0, t0 = cpu_s(), time.perf_counter()
    tab = raster_to_dataframe(a, t, RES, compact=False)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_seconds": cpu_s() - c0, "base_mb": base, "cells": tab.num_rows}


def case_raster_mask(args) -> dict:
    import rasterio
    import rasterio.mask

    from despro.grid import cells as grid

    path = geotiff(args.size, Path(args.tmp))
    _, t = raster(args.size)
    cells = hexagons(RASTER[args.size], t)
    n = min(SAMPLES[args.size]["mask"], len(cells))
    sample = np.random.default_rng(1).choice(cells, n, replace=False)
    polys = grid.cell_polygons(sample)
    base = rss_mb()
    with rasterio.open(path) as src:
        t0 = time.perf_counter()
        for p in polys:
            out, _ = rasterio.mask.mask(src, [p], crop=True, filled=False)
            out.mean()
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds * len(cells) / n,
        "measured_seconds": seconds,
        "sample": n,
        "cells": len(cells),
        "base_mb": base,
        "extrapolated": True,
    }


def case_raster_exactextract(args) -> dict:
    import geopandas as gpd
    from exactextract import exact_extract

    from despro.grid import cells as grid

    path = geotiff(args.size, Path(args.tmp))
    _, t = raster(args.size)
    cells = hexagons(RASTER[args.size], t)
    n = min(SAMPLES[args.size]["exactextract"], len(cells))
    sample = np.sort(np.random.default_rng(1).choice(cells, n, replace=False))
    gdf = gpd.GeoDataFrame({"cell": sample}, geometry=grid.cell_polygons(sample), crs=4326)
    base = rss_mb()
    t0 = time.perf_counter()
    out = exact_extract(str(path), gdf, ["mean"], output="pandas")
    seconds = time.perf_counter() - t0
    np.savez(args.out, cells=sample, mean=out["mean"].to_numpy())
    return {
        "seconds": seconds * len(cells) / n,
        "measured_seconds": seconds,
        "sample": n,
        "cells": len(cells),
        "base_mb": base,
        "extrapolated": n < len(cells),
    }


def case_raster_naive(args) -> dict:
    import h3

    a, t = raster(args.size)
    n = min(SAMPLES[args.size]["naive"], a.size)
    idx = np.random.default_rng(1).choice(a.size, n, replace=False)
    rows, cols = np.divmod(idx, a.shape[1])
    lon = (t.c + (cols + 0.5) * t.a).tolist()
    lat = (t.f + (rows + 0.5) * t.e).tolist()
    vals = a.ravel()[idx].tolist()
    base = rss_mb()
    t0 = time.perf_counter()
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for x, y, v in zip(lon, lat, vals, strict=True):
        c = h3.latlng_to_cell(y, x, RES)
        sums[c] = sums.get(c, 0.0) + v
        counts[c] = counts.get(c, 0) + 1
    {c: sums[c] / counts[c] for c in sums}
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds * a.size / n,
        "measured_seconds": seconds,
        "sample": n,
        "pixels": int(a.size),
        "base_mb": base,
        "extrapolated": True,
    }


CASES = {
    "poly_despro": case_poly_despro,
    "poly_tobler": case_poly_tobler,
    "raster_despro": case_raster_despro,
    "raster_despro_started": case_raster_despro_started,
    "raster_despro_centre": case_raster_despro_centre,
    "raster_despro_file": case_raster_despro_file,
    "raster_h3ronpy": case_raster_h3ronpy,
    "raster_mask": case_raster_mask,
    "raster_exactextract": case_raster_exactextract,
    "raster_naive": case_raster_naive,
}


# ----------------------------------------------------------------------------- driver
def run_case(name: str, args, extra: list[str]) -> dict:
    """Run one case ``args.repeat`` times in fresh subprocesses; keep the fastest."""
    best = None
    for _ in range(args.repeat):
        with tempfile.NamedTemporaryFile(suffix=".npz", dir=args.tmp, delete=False) as f:
            out = f.name
        cmd = [
            sys.executable,
            __file__,
            "--case",
            name,
            "--size",
            args.size,
            "--tmp",
            args.tmp,
            "--out",
            out,
            *extra,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["out"] = out
        if best is None or r["seconds"] < best["seconds"]:
            best = r
    return best


def fmt(s: float) -> str:
    return f"{s:8.2f} s" if s < 1000 else f"{s / 60:8.1f} min"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small inputs")
    p.add_argument("--only", choices=["polygons", "raster"], help="run one job")
    p.add_argument(
        "--province", default="33", help="village code prefix(es), comma separated (default 33)"
    )
    p.add_argument(
        "--national", action="store_true", help="also time despro on all 83,246 villages"
    )
    p.add_argument("--repeat", type=int, default=2, help="runs per case (best kept; >= 2)")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--size", default="full", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--prefixes", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.case:  # child process: run one case, print JSON
        args.prefixes = args.prefixes.split(",") if args.prefixes else None
        r = CASES[args.case](args)
        r["peak_mb"] = peak_mb()
        print(json.dumps(r))
        return

    args.size = "quick" if args.quick else "full"
    args.repeat = max(args.repeat, 2)
    tmpdir = tempfile.TemporaryDirectory(prefix="despro-bench-")
    args.tmp = tmpdir.name
    print(
        f"despro aggregation benchmarks ({args.size}) on {platform.node()}: "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}; best of {args.repeat} runs, each in a "
        f"fresh process; load average at start {os.getloadavg()[0]:.1f}"
    )

    if args.only in (None, "polygons"):
        polygons_job(args)
    if args.only in (None, "raster"):
        raster_job(args)
    tmpdir.cleanup()


def polygons_job(args) -> None:
    if not VILLAGES.exists():
        print(f"\n(a) polygons -> hexagons: skipped, {VILLAGES} not found")
        return
    prefixes = args.province.split(",")
    if args.quick:
        prefixes = [f"{q}.01" for q in prefixes]  # one regency per province
    extra = ["--prefixes", ",".join(prefixes)]
    d = run_case("poly_despro", args, extra)
    t = run_case("poly_tobler", args, extra)
    print(f"\n(a) polygons -> H3 res {RES}: villages with kode {'|'.join(prefixes)}*")
    if "error" in d or "error" in t:
        print("   failed:", d.get("error"), t.get("error"))
        return
    print(f"   {d['villages']:,} villages -> {d['cells']:,} cells")
    print(
        f"   despro overlap + transfer   {fmt(d['seconds'])}   CPU {d['cpu_seconds']:.2f} s   "
        f"peak {d['peak_mb']:6.0f} MB (before {d['base_mb']:.0f})"
    )
    print(
        f"   tobler.area_interpolate     {fmt(t['seconds'])}   CPU {t['cpu_seconds']:.2f} s   "
        f"peak {t['peak_mb']:6.0f} MB (before {t['base_mb']:.0f})"
    )
    print(
        f"   ratio tobler/despro = {t['seconds'] / d['seconds']:.1f}x (CPU "
        f"{t['cpu_seconds'] / d['cpu_seconds']:.1f}x; target >= 10x); both timed after a "
        f"one-village warm-up; despro's warm-up (numba start-up, kernels loaded from the "
        f"disk cache) took {d['startup_seconds']:.2f} s"
    )
    a, b = np.load(d["out"]), np.load(t["out"])
    common, ia, ib = np.intersect1d(a["cells"], b["cells"], return_indices=True)
    rel = np.abs(a["values"][ia] - b["values"][ib]).sum() / b["values"][ib].sum()
    print(
        f"   totals: in {d['total_in']:,.0f}, despro {d['total_out']:,.0f}, tobler "
        f"{t['total_out']:,.0f}; sum |despro - tobler| / total = {rel:.2e} "
        f"(tobler measures areas in UTM 49S, despro on H3's sphere)"
    )
    if args.national:
        n = run_case("poly_despro", args, [])
        if "error" not in n:
            print(
                f"   national: {n['villages']:,} villages -> {n['cells']:,} cells: despro "
                f"{fmt(n['seconds'])} (CPU {n['cpu_seconds']:.1f} s), peak {n['peak_mb']:.0f} MB"
            )


def raster_job(args) -> None:
    h, w = RASTER[args.size]
    print(
        f"\n(b) raster -> H3 res {RES} exact mean: synthetic float32 {w} x {h} = "
        f"{h * w / 1e6:.1f} M pixels at 3 arc-seconds over Java"
    )
    res = {
        name: run_case(name, args, [])
        for name in (
            "raster_despro",
            "raster_despro_started",
            "raster_despro_centre",
            "raster_despro_file",
            "raster_h3ronpy",
            "raster_mask",
            "raster_exactextract",
            "raster_naive",
        )
    }
    d = res["raster_despro"]
    if "error" in d:
        print("   despro failed:", d["error"])
        return
    print(
        f"   {d['cells']:,} cells; exact mapping {d['mapping_mb']:.0f} MB in memory; "
        f"{d['edge_pixels']:,} edge pixels; "
        f"self-checks: max deficit {d['max_deficit']:.1e}, max cell-area error "
        f"{d['max_area_error']:.1e}"
    )
    cold, warm = d["seconds"], d["warm_seconds"]
    print(
        f"   despro exact, cold (mapping built)   {fmt(cold)}   CPU {d['cpu_seconds']:.2f} s; "
        f"peak {d['peak_cold_mb']:6.0f} MB (before {d['base_mb']:.0f}); fresh process"
    )
    s = res["raster_despro_started"]
    if "error" not in s:
        print(
            f"   despro exact, cold, numba started   {fmt(s['seconds'])}   CPU "
            f"{s['cpu_seconds']:.2f} s (numba start-up before it: "
            f"{s['numba_start_seconds']:.2f} s)"
        )
    print(
        f"   despro exact, warm (array in memory) {fmt(warm)}   "
        f"CPU {d['warm_cpu_seconds']:.2f} s; "
        f"target < 0.5 s: {'met' if warm < 0.5 else 'NOT met'}"
    )
    f = res["raster_despro_file"]
    if "error" not in f:
        print(f"   despro exact, warm (from GeoTIFF)    {fmt(f['seconds'])}")
    c = res["raster_despro_centre"]
    if "error" not in c:
        print(
            f"   despro centre fast path, cold        {fmt(c['seconds'])}   peak "
            f"{c['peak_cold_mb']:6.0f} MB; warm {c['warm_seconds']:.2f} s"
        )
        a, b = np.load(d["out"]), np.load(c["out"])
        _, ia, ib = np.intersect1d(a["cells"], b["cells"], return_indices=True)
        from despro.grid import cells as grid

        full = np.isclose(a["area"][ia], grid.cell_area_m2(a["cells"][ia]), rtol=1e-6)
        es = np.abs(b["sum"][ib] / a["sum"][ia] - 1)[full]
        em = np.abs(b["mean"][ib] / a["mean"][ia] - 1)[full]
        print(
            f"      its error vs exact over {full.sum():,} fully covered cells: sum median "
            f"{np.median(es):.1e}, p99 {np.percentile(es, 99):.1e}, max {es.max():.1e}; mean "
            f"median {np.median(em):.1e}, max {em.max():.1e}"
        )
    rows = [
        ("h3ronpy raster_to_dataframe, centre sampling", "raster_h3ronpy"),
        ("rasterio.mask loop over hexagons", "raster_mask"),
        ("exactextract over hexagon polygons", "raster_exactextract"),
        ("naive per-pixel h3.latlng_to_cell", "raster_naive"),
    ]
    print("   baselines (ratio = baseline time / despro time; > 1: despro faster)")
    for label, key in rows:
        r = res[key]
        if "error" in r:
            print(f"   {label:45s} failed: {r['error']}")
            continue
        note = ""
        if r.get("extrapolated"):
            what = "pixels" if key == "raster_naive" else "hexagons"
            note = (
                f"  [extrapolated from {r['sample']:,} {what} timed in "
                f"{r['measured_seconds']:.1f} s]"
            )
        print(
            f"   {label:45s} {fmt(r['seconds'])}   vs exact cold {r['seconds'] / cold:6.2f}x, "
            f"vs exact warm {r['seconds'] / warm:7.0f}x, peak {r['peak_mb']:.0f} MB{note}"
        )
    e = res["raster_exactextract"]
    if "error" not in e:
        a, b = np.load(d["out"]), np.load(e["out"])
        _, ia, ib = np.intersect1d(a["cells"], b["cells"], return_indices=True)
        diff = np.abs(a["mean"][ia] - b["mean"][ib])
        print(
            f"   despro exact mean vs exactextract mean on {len(ia):,} cells: max |diff| "
            f"{diff.max():.1e} (exactextract weights by coverage only, despro by coverage "
            f"x ground area)"
        )
    h3r = res["raster_h3ronpy"]
    if "error" not in h3r:
        line = (
            f"   target exact cold <= h3ronpy: {'met' if cold <= h3r['seconds'] else 'NOT met'}"
            f" ({cold / h3r['seconds']:.2f}x its time; CPU {d['cpu_seconds']:.2f} s vs "
            f"{h3r['cpu_seconds']:.2f} s, {d['cpu_seconds'] / h3r['cpu_seconds']:.2f}x)"
        )
        if "error" not in s:
            line += f"; numba started: {s['seconds'] / h3r['seconds']:.2f}x its time"
        if "error" not in c:
            line += f"; centre fast path cold: {c['seconds'] / h3r['seconds']:.2f}x its time"
        print(line)


if __name__ == "__main__":
    main()
