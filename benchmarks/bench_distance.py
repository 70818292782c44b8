"""Nearest-distance kernel vs the implementation it replaced (named baseline).

    python benchmarks/bench_distance.py                  # national cell centres (../shared/data)
    python benchmarks/bench_distance.py --synthetic      # synthetic national-scale input
    python benchmarks/bench_distance.py --points 300000  # a random subset of the points
    python benchmarks/bench_distance.py --repeat 3 --check 200

Points: the centres of the 2,470,987 res-8 cells the 83,246 Kemendagri villages
touch (computed once with ``despro.aggregate.overlap.polygon_overlap`` and cached in
``--cache``, outside the repository); features: TeleGeography cables and landing
points clipped to Indonesia, read by ``despro.layers.backbone`` (the national
backbone step). Without ``../shared/data`` (or with ``--synthetic``): 2.5 M random
points over Indonesia's bounds, 60 random-walk cables and 200 random nodes.

Every (method, run) is a fresh Python process computing the route and node
distances; runs alternate baseline / despro, and the fastest of ``--repeat`` runs of
each is kept. Reported: seconds per layer,
ratio baseline / despro (> 1: despro faster), peak resident memory of the process
(``getrusage``) and its size before the step, the largest |difference| from the
baseline in metres (and how many points differ by more than 1 m), and for
``--check`` points (half random, half where the two route distances differ most) the largest
error of each method against a brute-force geodesic
(:func:`despro.aggregate.nearest.reference_distance_m`).

``baseline`` below is the kernel despro used before (kept here only as the named
baseline): per 1-degree latitude band, STRtree ``query_nearest`` for every point,
``query(dwithin)`` for candidates, ``shapely.shortest_line`` per candidate and a
pyproj geodesic to each candidate's nearest point.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyproj
import shapely

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
VILLAGES = SHARED / "admin" / "admin_kel.parquet"
CABLES = SHARED / "telegeography" / "cable-geo.json"
LANDINGS = SHARED / "telegeography" / "landing-point-geo.json"
BOUNDS = (95.0, -11.0, 141.0, 6.0)


# ----------------------------------------------------------------------------- baseline
GEOD = pyproj.Geod(ellps="WGS84")


def _lon_scale(lat_deg: np.ndarray) -> np.ndarray:
    """Metres per degree of longitude over metres per degree of latitude (WGS84)."""
    e2 = GEOD.es
    s2 = np.sin(np.deg2rad(lat_deg)) ** 2
    return np.cos(np.deg2rad(lat_deg)) * (1 - e2 * s2) / (1 - e2)


def _segments(features: np.ndarray) -> np.ndarray:
    """Lines cut into their two-point segments; points (and polygons' rings) kept simple.

    Nearest-feature queries against long multi-part cables are slow (every
    distance walks the whole cable); against segments they are local and cheap.
    """
    parts = shapely.get_parts(features)
    lines = parts[np.isin(shapely.get_type_id(parts), [1, 2])]
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys):
        lines = np.r_[lines, shapely.get_parts(shapely.boundary(polys))]
    others = parts[~np.isin(shapely.get_type_id(parts), [1, 2, 3])]
    if len(lines) == 0:
        return others
    xy, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    segs = shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1))
    return np.r_[others, segs]


def baseline_nearest_distance_m(
    lon: np.ndarray, lat: np.ndarray, features: np.ndarray, band_deg: float = 1.0
) -> np.ndarray:
    """Geodesic distance in metres from each point to the nearest feature.

    Method: features are cut into two-point segments. Points are processed in
    latitude bands of ``band_deg``; in each band, longitudes are scaled by the WGS84
    ratio of metres per degree of longitude to latitude at the band's centre, which
    makes the frame locally isotropic. The nearest segment in that frame (STRtree)
    gives a distance d0; every segment within d0 times (1 + twice the frame's
    largest scale error over the latitudes a disc of radius d0 spans) is a
    candidate, and each candidate's nearest point is measured on the WGS84 ellipsoid
    (pyproj.Geod); the minimum wins. The true nearest feature is always among the
    candidates, so the distance is geodesic to the nearest feature (up to where on
    a segment the nearest point lies, a second-order effect). Never degrees, never
    one UTM zone for the whole country.

    Returns NaN for every point when there are no features.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    out = np.full(len(lon), np.nan)
    features = np.asarray([f for f in features if f is not None and not f.is_empty], dtype=object)
    if len(features) == 0 or len(lon) == 0:
        return out
    segs = _segments(features)
    band = np.floor(lat / band_deg).astype(int)
    for b in np.unique(band):
        idx = np.flatnonzero(band == b)
        out[idx] = _nearest_in_band(lon[idx], lat[idx], segs, (b + 0.5) * band_deg)
    return out


def _nearest_in_band(lon: np.ndarray, lat: np.ndarray, segs: np.ndarray, lat0: float) -> np.ndarray:
    k0 = float(_lon_scale(lat0))
    feats = shapely.transform(segs, lambda xy: xy * np.array([k0, 1.0]))
    pts = shapely.points(lon * k0, lat)
    tree = shapely.STRtree(feats)
    pi, fi = tree.query_nearest(pts, all_matches=True)
    d0 = np.full(len(lon), np.inf)
    np.minimum.at(d0, pi, shapely.distance(pts[pi], feats[fi]))
    # worst scale error of the frame over the latitudes within d0 (degrees) of the point
    lo, hi = lat - d0, lat + d0
    ends = np.stack([lo, hi, np.where((lo < 0) & (hi > 0), 0.0, lo)])
    slack = np.abs(_lon_scale(np.clip(ends, -89.0, 89.0)) / k0 - 1).max(axis=0) + 1e-6
    qi, qf = tree.query(pts, predicate="dwithin", distance=d0 * (1 + 2 * slack) + 1e-12)
    near = shapely.shortest_line(pts[qi], feats[qf])
    end = shapely.get_coordinates(shapely.get_point(near, 1))
    _, _, d = GEOD.inv(lon[qi], lat[qi], end[:, 0] / k0, end[:, 1])
    out = np.full(len(lon), np.inf)
    np.minimum.at(out, qi, d)
    out[~np.isfinite(out)] = np.nan
    return out


# ----------------------------------------------------------------------------- inputs
def rss_mb() -> float:
    """Current resident set size (MB)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def real_data() -> bool:
    return VILLAGES.exists() and CABLES.exists() and LANDINGS.exists()


def national_points(cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Centres of every res-8 cell a village touches (cached as cell ids in ``cache``)."""
    import geopandas as gpd

    from despro.aggregate.overlap import polygon_overlap
    from despro.grid import cells as grid

    path = cache / "national_res8_cells.npy"
    if not path.exists():
        villages = gpd.read_parquet(VILLAGES, columns=["geometry"])
        np.save(path, np.asarray(polygon_overlap(villages.geometry.values, 8).cells))
    return grid.cell_centres(np.load(path))


def synthetic() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """2.5 M points, 60 random-walk cables, 200 nodes over Indonesia's bounds (seeded)."""
    rng = np.random.default_rng(8)
    x0, y0, x1, y1 = BOUNDS
    n = 2_500_000
    lon, lat = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    starts = np.c_[rng.uniform(x0, x1, 60), rng.uniform(y0, y1, 60)]
    steps = rng.normal(0, 0.4, (60, 20, 2))
    cables = shapely.linestrings(starts[:, None, :] + np.cumsum(steps, axis=1))
    nodes = shapely.points(rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200))
    return lon, lat, cables, nodes


def inputs(args) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points (lon, lat) and features (routes, nodes) of this benchmark."""
    if args.synthetic or not real_data():
        lon, lat, routes, nodes = synthetic()
    else:
        from despro.layer import Notes
        from despro.layers.backbone import read_nodes, read_routes

        lon, lat = national_points(Path(args.cache))
        routes = read_routes(CABLES, Notes()).geometry.values
        nodes = read_nodes(LANDINGS, Notes()).geometry.values
    if args.points and args.points < len(lon):
        keep = np.sort(np.random.default_rng(3).choice(len(lon), args.points, replace=False))
        lon, lat = lon[keep], lat[keep]
    return lon, lat, routes, nodes


# ----------------------------------------------------------------------------- one run
def run_one(args) -> dict:
    """One method in this (fresh) process: distances saved to ``args.out``."""
    import warnings

    warnings.filterwarnings("ignore")  # pyogrio: duplicate feature ids in cable-geo.json
    from despro.aggregate.nearest import nearest_distance_m

    kernel = baseline_nearest_distance_m if args.method == "baseline" else nearest_distance_m
    lon, lat, routes, nodes = inputs(args)
    before = rss_mb()
    out, secs = {}, {}
    for name, feats in (("routes", routes), ("nodes", nodes)):
        t0 = time.perf_counter()
        out[name] = kernel(lon, lat, feats)
        secs[name] = time.perf_counter() - t0
    np.savez(args.out, **out)
    return {
        "seconds": secs,
        "total": sum(secs.values()),
        "before_mb": before,
        "peak_mb": peak_mb(),
        "points": len(lon),
        "routes": len(routes),
        "nodes": len(nodes),
    }


def run_once(method: str, args, out: str) -> dict:
    """One fresh process of one method."""
    cmd = [
        sys.executable,
        __file__,
        "--one",
        method,
        "--out",
        out,
        "--cache",
        args.cache,
        "--points",
        str(args.points),
    ] + (["--synthetic"] if args.synthetic else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["out"] = out
    print(
        f"  {method}: {r['total']:.1f} s (routes {r['seconds']['routes']:.1f}, "
        f"nodes {r['seconds']['nodes']:.1f}), peak {r['peak_mb']:.0f} MB",
        flush=True,
    )
    return r


def run_all(args, tmp: str) -> dict:
    """``args.repeat`` rounds of baseline then despro (interleaved, so both see the
    same load); the fastest run of each method is kept."""
    best: dict = {}
    for i in range(args.repeat):
        for m in ("baseline", "despro"):
            r = run_once(m, args, os.path.join(tmp, f"{m}-{i}.npz"))
            if m not in best or r["total"] < best[m]["total"]:
                best[m] = r
    return best


def check(args, base: dict, fast: dict) -> dict:
    """Largest error of each method against the brute-force geodesic on sample points."""
    from despro.aggregate.nearest import reference_distance_m

    lon, lat, routes, nodes = inputs(args)
    rng = np.random.default_rng(5)
    apart = np.argsort(np.abs(base["routes"] - fast["routes"]))[::-1][: args.check // 2]
    pick = np.unique(np.r_[apart, rng.choice(len(lon), args.check - len(apart), replace=False)])
    out = {}
    for name, feats in (("routes", routes), ("nodes", nodes)):
        ref = reference_distance_m(lon[pick], lat[pick], feats)
        out[name] = {
            m: float(np.abs(d[name][pick] - ref).max())
            for m, d in (("baseline", base), ("despro", fast))
        }
        out[name]["farthest_m"] = float(ref.max())
    return out


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore")  # pyogrio: duplicate feature ids in cable-geo.json
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true", help="synthetic input even with data")
    ap.add_argument("--points", type=int, default=0, help="random subset of the points")
    ap.add_argument("--repeat", type=int, default=2, help="runs per method (fastest kept)")
    ap.add_argument(
        "--check",
        type=int,
        default=100,
        help="points checked against the brute-force geodesic (0: none)",
    )
    ap.add_argument(
        "--cache",
        default=tempfile.gettempdir(),
        help="folder for the national cell list (not the repository)",
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        args.method = args.one
        print(json.dumps(run_one(args)))
        return
    label = "synthetic" if args.synthetic or not real_data() else "national"
    print(f"input: {label}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_all(args, tmp)
        base, fast = (dict(np.load(res[m]["out"])) for m in ("baseline", "despro"))
    b, f = res["baseline"], res["despro"]
    print(
        f"\n{b['points']:,} points, {b['routes']} routes, {b['nodes']} nodes "
        f"(fastest of {args.repeat} runs each)\n"
    )
    print("| layer | baseline s | despro s | ratio | max abs diff m | points > 1 m apart |")
    print("|---|---|---|---|---|---|")
    for name in ("routes", "nodes", "total"):
        tb = b["total"] if name == "total" else b["seconds"][name]
        tf = f["total"] if name == "total" else f["seconds"][name]
        if name == "total":
            print(f"| both | {tb:.1f} | {tf:.1f} | **{tb / tf:.1f}x** | | |")
            continue
        diff = np.abs(base[name] - fast[name])
        same_nan = np.array_equal(np.isnan(base[name]), np.isnan(fast[name]))
        print(
            f"| {name} | {tb:.1f} | {tf:.1f} | **{tb / tf:.1f}x** | {np.nanmax(diff):.3g} | "
            f"{int((diff > 1).sum()):,} (NaN alike: {same_nan}) |"
        )
    print(
        f"\npeak MB (before the step): baseline {b['peak_mb']:,.0f} ({b['before_mb']:,.0f}), "
        f"despro {f['peak_mb']:,.0f} ({f['before_mb']:,.0f})"
    )
    if args.check:
        t0 = time.perf_counter()
        c = check(args, base, fast)
        print(
            f"\nlargest error vs brute-force geodesic on {args.check} points "
            f"({time.perf_counter() - t0:.0f} s):"
        )
        for name, v in c.items():
            print(
                f"  {name}: baseline {v['baseline']:.3g} m, despro {v['despro']:.3g} m "
                f"(farthest point {v['farthest_m'] / 1000:.0f} km)"
            )


if __name__ == "__main__":
    main()
