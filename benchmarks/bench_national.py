"""The national run, cold and incremental: issue 3's "< 120 s cold, < 20 s when one
layer changed, < 8 GB".

    python benchmarks/bench_national.py                  # all 83,246 villages
    python benchmarks/bench_national.py --prefix 33      # one province (Jawa Tengah)

Needs ``../shared/data``. Runs ``examples/indonesia.toml`` (every village at H3 res 8,
with the cables, BPS province rates, Ookla tiles, the Podes files where they exist)
three times, each in a fresh Python process sharing one step cache:

1. **cold**: empty cache (the baseline of the ratios);
2. **unchanged**: the same inputs again (every step from the cache);
3. **one layer changed**: every province's 2024 value raised by 1 pp in a copy of
   the phone ownership table, so the smartphone layer is rebuilt and everything after it
   (transfer, criteria, tables) reruns.

Prints wall time, the pipeline's own step times, peak resident memory of each
process, and each run's time as a ratio of the cold run, as a Markdown table.
Output files are not written (the pipeline's in-memory result is what is timed;
``despro run`` adds writing the tables and maps). The result keeps the cells'
hexagons as WKB (``Result.cells`` builds the GeoDataFrame on first access; writing
``cells.parquet`` and the map site do not need it), so no shapely hexagon is built.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PHONE = "ict/bps_prov_pop_owning_mobile_phone_2020_2024.csv"


def _child(folder: str, prefix: str) -> None:
    """One timed run in this process; prints a JSON line."""
    import tomllib

    from despro.config.settings import config_from_dict
    from despro.pipeline.cache import StepCache
    from despro.pipeline.runner import run

    data = tomllib.loads((REPO / "examples/indonesia.toml").read_text())
    if prefix:
        data["villages"]["code_prefix"] = prefix
    data["layers"]["smartphone"]["sources"][1]["table"] = str(Path(folder) / "phone.csv")
    cfg = config_from_dict(data, base_dir=REPO / "examples")
    cache = StepCache(Path(folder) / "cache")
    t = time.perf_counter()
    result = run(cfg, cache=cache)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "peak_mb": peak,
                "steps": result.timings,
                "hits": cache.hits,
                "misses": cache.rebuilt,
                "villages": len(result.villages),
                "cells": result.n_cells,
            }
        )
    )


def _run(folder: Path, prefix: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--prefix", prefix],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _edit_phone(path: Path) -> None:
    import pandas as pd

    # every province's 2024 phone ownership + 1 pp: all villages' I2a inputs change
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = (d["year"] == "2024") & (d["level"] == "province")
    d.loc[rows, "value"] = (d.loc[rows, "value"].astype(float) + 1.0).map("{:.2f}".format)
    d.to_csv(path, index=False)


def _steps(steps: dict) -> str:
    keys = [k for k in ("grid", "backbone", "transfer", "criteria", "tables") if k in steps]
    return ", ".join(f"{k} {steps[k]:.1f}" for k in keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", default="", help="Kemendagri code prefix (default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.prefix)
        return
    if not SHARED.is_dir():
        raise SystemExit(f"needs {SHARED}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(SHARED / PHONE, folder / "phone.csv")
        runs = {"cold": _run(folder, a.prefix), "unchanged": _run(folder, a.prefix)}
        _edit_phone(folder / "phone.csv")
        runs["one layer changed"] = _run(folder, a.prefix)
    cold = runs["cold"]["wall"]
    print(f"{runs['cold']['villages']:,} villages, {runs['cold']['cells']:,} cells\n")
    print("| run | wall s | vs cold | step times (s) | rebuilt | peak MB |")
    print("|---|---|---|---|---|---|")
    for name, r in runs.items():
        print(
            f"| {name} | {r['wall']:.1f} | {r['wall'] / cold:.2f} | {_steps(r['steps'])} | "
            f"{', '.join(r['misses']) or '-'} | {r['peak_mb']:,.0f} |"
        )


if __name__ == "__main__":
    main()
