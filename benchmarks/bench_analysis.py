"""The analyst's what-ifs on the national result: issue 19's "with_thresholds < 1 s".

    python benchmarks/bench_analysis.py                  # all 83,246 villages
    python benchmarks/bench_analysis.py --prefix 51      # one province (Bali)
    python benchmarks/bench_analysis.py --keep result.pkl  # also pickle the Result
    python benchmarks/bench_analysis.py --load result.pkl --outputs /tmp/out  # and the files

Needs ``../shared/data``. Runs ``examples/indonesia.toml`` once (its wall time is the
"full rerun" the what-ifs replace), then times, in the same process, each of the Result
methods an analyst calls after it (median of ``--repeat``, 5 by default; wall and
this process's CPU time, which a machine shared with other work inflates less):
``with_thresholds(I2b=18)``, two rules at once, a rule the model learns from (I1b: its
census evidence keeps its own threshold, so the model is reused), ``with_weights``,
``explain`` of one village, ``diff``, ``to_admin`` with and without outlines,
``shortlist`` and ``cells_of``. For the what-ifs it also times the same re-evaluation
without the arrays a run keeps (``Result.verdicts`` = None: every rule evaluated again,
every label gathered again) and prints both ratios. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _median(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU (this process) seconds of ``repeat`` calls, and the last output."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefix", default="", help="village code prefix (one province)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="pickle the national Result here")
    ap.add_argument("--load", type=Path, help="use a Result pickled by --keep")
    ap.add_argument("--outputs", type=Path, help="also time write_outputs into this folder")
    args = ap.parse_args()

    run_s = None
    if args.load:
        with open(args.load, "rb") as f:
            result = pickle.load(f)
        if result.verdicts is None:  # pickled by an older despro: keep the arrays once
            result = result.with_weights()
    else:
        import tomllib

        from despro.config.settings import config_from_dict
        from despro.pipeline.runner import run

        data = tomllib.loads((REPO / "examples/indonesia.toml").read_text())
        if args.prefix:
            data["villages"]["code_prefix"] = args.prefix
        t = time.perf_counter()
        result = run(config_from_dict(data, base_dir=REPO / "examples"), verbose=True)
        run_s = time.perf_counter() - t
        if args.keep:
            with open(args.keep, "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)

    v = result.villages
    code = v[v["tier"] == "not ready"].index[0]
    after = result.with_thresholds(I2b=18)
    bare = replace(result, verdicts=None)  # as a Result without the kept arrays
    whatifs = [
        ("with_thresholds(I2b=18)", lambda r: r.with_thresholds(I2b=18)),
        ("with_thresholds(I1a=25, I2a=45)", lambda r: r.with_thresholds(I1a=25, I2a=45)),
        ("with_thresholds(I1b=40)", lambda r: r.with_thresholds(I1b=40)),
        ("with_weights(I3=2)", lambda r: r.with_weights(I3=2)),
    ]
    rows = [
        (f"explain({code!r})", lambda: result.explain(code)),
        ("diff(with_thresholds(I2b=18))", lambda: result.diff(after)),
        ("to_admin('regency', geometry=False)", lambda: result.to_admin("regency", False)),
        ("to_admin('province')", lambda: result.to_admin("province")),
        ("to_admin('regency')", lambda: result.to_admin("regency")),
        ("shortlist()", lambda: result.shortlist()),
        (f"cells_of({code!r})", lambda: result.cells_of(code)),
    ]
    print(f"{len(v):,} villages, {result.n_cells:,} cells, {len(result.criteria):,} rule rows")
    if run_s is not None:
        print(f"full run (despro.run): {run_s:.1f} s")
    print(f"| call | median of {args.repeat} (s) | CPU (s) | every rule again (s) | note |")
    print("|---|---|---|---|---|")
    for name, fn in whatifs:
        t, cpu, out = _median(lambda fn=fn: fn(result), args.repeat)
        t_bare, _, _ = _median(lambda fn=fn: fn(bare), args.repeat)
        moved = int((out.villages["tier"] != v["tier"]).sum())
        model = (
            ""
            if result.model is None
            else ("; model reused" if out.model is result.model else "; model refit")
        )
        ratio = f"; {t_bare / t:.1f}x faster than evaluating every rule again"
        if run_s is not None:
            ratio += f", {run_s / t:,.0f}x faster than the full run"
        note = f"{moved:,} villages change tier{model}{ratio}"
        print(f"| `{name}` | {t:.3f} | {cpu:.3f} | {t_bare:.3f} | {note} |", flush=True)
    for name, fn in rows:
        t, cpu, out = _median(fn, 1 if "'regency')" in name else args.repeat)
        note = f"{len(out):,} rows" if hasattr(out, "__len__") else ""
        print(f"| `{name}` | {t:.3f} | {cpu:.3f} | | {note} |", flush=True)

    if args.outputs:
        import os

        from despro.io.geopackage import write_geopackage
        from despro.io.outputs import write_outputs

        t = time.perf_counter()
        files = write_outputs(result, args.outputs)
        print(f"| `write_outputs` | {time.perf_counter() - t:.1f} | all files |", flush=True)
        for name in ("villages.gpkg", "cells.parquet", "villages.parquet", "criteria.csv"):
            size = os.path.getsize(files[name]) / 1e6
            print(f"| {name} | | {size:,.0f} MB |", flush=True)
        t = time.perf_counter()
        counts = write_geopackage(result, args.outputs / "alone.gpkg")
        print(f"| `write_geopackage` | {time.perf_counter() - t:.1f} | {counts} |", flush=True)


if __name__ == "__main__":
    main()
