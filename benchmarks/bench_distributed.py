"""Local engine vs the dask engine: time, CPU, peak memory per worker, partitions.

    python benchmarks/bench_distributed.py               # the bundled sample
    python benchmarks/bench_distributed.py --national    # and Indonesia's 83,246 villages

``--national`` needs ``../shared/data`` (Kemendagri village polygons, TeleGeography
cables, BPS province tables: ``examples/bali.toml`` without its province filter).
Every measurement runs in a fresh Python process: the local engine, then the dask
engine on a LocalCluster of 1 and 2 worker processes (one thread each), then with
2 workers over a range of partition counts. Reported per run: wall time (s; the
cluster's start-up and the workers' imports are shown apart), CPU time of the
client and the workers (s), peak resident memory of the client and of each
worker (MB), the partitions used,
and the largest relative difference of any village value from the local engine
(0 = identical). Prints a Markdown table (for benchmarks/README.md) and, with
``--json FILE``, writes the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def national_config(folder: Path) -> Path:
    """examples/bali.toml for the whole country, paths made absolute, outputs in ``folder``."""
    text = (REPO / "examples" / "bali.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^code_prefix = .*$", "", text)
    text = text.replace('"../../shared/data', f'"{SHARED}')
    text = re.sub(r'(?m)^name = "bali-real"', 'name = "national"', text)
    path = folder / "national.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _warm_up() -> None:
    """Import what the tasks need (as a cluster that already ran a job has)."""
    from importlib import import_module

    for m in (
        "despro.pipeline.runner",
        "despro.pipeline.dask",
        "despro.layers.population",
        "despro.layers.broadband",
        "despro.layers.backbone",
        "despro.layers.courier",
    ):
        import_module(m)


def measure(spec: dict) -> dict:
    """One run in this process (called in a fresh process by :func:`main`)."""
    from despro.config.settings import load_config
    from despro.pipeline.dask import _peak_rss_mb
    from despro.pipeline.runner import run

    cfg = load_config(spec["config"])
    out: dict = {"spec": spec}
    if spec["engine"] == "local":
        t0 = time.perf_counter()
        result = run(cfg)
        out["wall_s"] = time.perf_counter() - t0
        out["cpu_s"] = _cpu_s()
        out["workers_peak_mb"] = []
    else:
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=spec["workers"],
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        )
        client = Client(cluster)
        client.run(_warm_up)  # a long-lived cluster has its imports done
        out["startup_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run(
            cfg,
            engine="dask",
            client=client,
            partitions=spec.get("partitions"),
            partition_resolution=spec.get("partition_resolution"),
        )
        out["wall_s"] = time.perf_counter() - t0
        out["partitions_used"] = _partitions_used(result, spec, 2 * spec["workers"])
        out["workers_peak_mb"] = sorted(client.run(_peak_rss_mb).values())
        worker_cpu = sum(client.run(_cpu_s).values())
        out["cpu_s"] = _cpu_s() + worker_cpu
        client.close()
        cluster.close()
    out["client_peak_mb"] = _peak_mb()
    out["timings"] = result.timings
    out["cells"], out["villages"] = len(result.cells), len(result.villages)
    result.villages.drop(columns="geometry").to_parquet(spec["save"])
    return out


def _partitions_used(result, spec: dict, default: int) -> int:
    """Cell partitions the layers ran on (the engine's own plan, recomputed)."""
    import numpy as np

    from despro.grid import cells as grid
    from despro.grid import partition

    res = spec.get("partition_resolution") or result.config.run.partition_resolution
    cells = result.study.cells
    return partition.plan(
        grid.parent_cells(cells, res), np.ones(len(cells)), spec.get("partitions") or default
    )[1]


def _largest_difference(a_path: str, b_path: str) -> float:
    """Largest relative difference between two runs' village tables (inf if states differ)."""
    import numpy as np
    import pandas as pd

    a, b = pd.read_parquet(a_path), pd.read_parquet(b_path)
    if list(a.columns) != list(b.columns) or not a["village_code"].equals(b["village_code"]):
        return float("inf")
    worst = 0.0
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            x, y = a[c].to_numpy(float), b[c].to_numpy(float)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                return float("inf")
            ok = ~np.isnan(x) & (x != 0)
            if ok.any():
                worst = max(worst, float(np.max(np.abs(y[ok] - x[ok]) / np.abs(x[ok]))))
        elif not a[c].astype(str).equals(b[c].astype(str)):
            return float("inf")
    return worst


def _specs(config: Path, label: str, sweep: list[int], sweep_res: int, tmp: Path) -> list[dict]:
    specs = [
        {"label": label, "engine": "local"},
        {"label": label, "engine": "dask", "workers": 1},
        {"label": label, "engine": "dask", "workers": 2},
    ]
    specs += [
        {
            "label": label,
            "engine": "dask",
            "workers": 2,
            "partitions": p,
            "partition_resolution": sweep_res,
        }
        for p in sweep
    ]
    for i, s in enumerate(specs):
        s["config"] = str(config)
        s["save"] = str(tmp / f"{label}-{i}.parquet")
    return specs


def _row(r: dict, diff: float) -> str:
    s = r["spec"]
    engine = "local" if s["engine"] == "local" else f"dask, {s['workers']} worker(s)"
    parts = "-"
    if s["engine"] == "dask":
        res = s.get("partition_resolution") or 3
        parts = f"{r['partitions_used']} of res-{res} parents"
    workers = ", ".join(f"{m:,.0f}" for m in r["workers_peak_mb"]) or "-"
    start = f"{r['startup_s']:.1f}" if "startup_s" in r else "-"
    grid = r["timings"].get("grid", float("nan"))
    return (
        f"| {s['label']} | {engine} | {parts} | {r['wall_s']:.1f} | {start} | "
        f"{grid:.1f} | {r['cpu_s']:.0f} | {r['client_peak_mb']:,.0f} | {workers} | "
        f"{diff:.1e} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--national", action="store_true", help="also the whole country")
    ap.add_argument(
        "--sweep", default="1,2,4,8,16", help="partition counts tried with 2 workers on the sample"
    )
    ap.add_argument("--national-sweep", default="16", help="same, national run")
    ap.add_argument("--json", type=Path, default=None, help="write the raw figures here")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(json.loads(args.one))))
        return 0
    from despro.demo.sample import ensure_sample

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        specs = _specs(
            ensure_sample(None) / "despro.toml",
            "sample",
            [int(p) for p in args.sweep.split(",") if p],
            5,
            tmp,
        )
        if args.national:
            if not SHARED.is_dir():
                print(f"--national needs {SHARED}", file=sys.stderr)
                return 2
            specs += _specs(
                national_config(tmp),
                "national",
                [int(p) for p in args.national_sweep.split(",") if p],
                3,
                tmp,
            )
        for spec in specs:
            p = subprocess.run(
                [sys.executable, __file__, "--one", json.dumps(spec)],
                capture_output=True,
                text=True,
                env={**os.environ},
            )
            if p.returncode != 0:
                print(p.stderr, file=sys.stderr)
                return 1
            r = json.loads(p.stdout.strip().splitlines()[-1])
            results.append(r)
            print(
                f"done: {spec['label']} {spec['engine']} {spec.get('workers', '')} "
                f"{spec.get('partitions', '')}: {r['wall_s']:.1f} s",
                file=sys.stderr,
            )
        base = {
            r["spec"]["label"]: r["spec"]["save"] for r in results if r["spec"]["engine"] == "local"
        }
        for r in results:
            r["max_rel_diff"] = _largest_difference(base[r["spec"]["label"]], r["spec"]["save"])
    print(
        f"\n{os.cpu_count()} CPUs; load average before the last run: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}\n"
    )
    print(
        "| data | engine | partitions | wall s | cluster start s | overlap s | CPU s | "
        "client peak MB | worker peak MB | max rel. diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(_row(r, r["max_rel_diff"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
