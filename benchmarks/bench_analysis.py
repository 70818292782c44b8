"""The analyst's what-ifs on the national result: issue 19's "with_thresholds < 1 s".

    python benchmarks/bench_analysis.py                  # all 83,246 villages
    python benchmarks/bench_analysis.py --prefix 51      # one province (Bali)
    python benchmarks/bench_analysis.py --keep result.pkl  # also pickle the Result
    python benchmarks/bench_analysis.py --load result.pkl --outputs /tmp/out  # and the files

Needs ``../shared/data``. Runs ``examples/indonesia.toml`` once (not timed here: see
``bench_national.py``), then times, in the same process, each of the Result methods
an analyst calls after it (best of ``--repeat``): ``with_thresholds(I2b=18)`` (and a
rule the model learns, I1b, which refits the model), ``with_weights``, ``explain`` of
one village, ``diff``, ``to_admin`` with and without outlines, ``shortlist`` and
``cells_of``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefix", default="", help="village code prefix (one province)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="pickle the national Result here")
    ap.add_argument("--load", type=Path, help="use a Result pickled by --keep")
    ap.add_argument("--outputs", type=Path, help="also time write_outputs into this folder")
    args = ap.parse_args()

    if args.load:
        with open(args.load, "rb") as f:
            result = pickle.load(f)
    else:
        import tomllib

        from despro.config.settings import config_from_dict
        from despro.pipeline.runner import run

        data = tomllib.loads((REPO / "examples/indonesia.toml").read_text())
        if args.prefix:
            data["villages"]["code_prefix"] = args.prefix
        result = run(config_from_dict(data, base_dir=REPO / "examples"), verbose=True)
        if args.keep:
            with open(args.keep, "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)

    v = result.villages
    code = v[v["tier"] == "not ready"].index[0]
    after = result.with_thresholds(I2b=18)
    rows = [
        ("with_thresholds(I2b=18)", lambda: result.with_thresholds(I2b=18)),
        ("with_thresholds(I1a=25, I2a=45)", lambda: result.with_thresholds(I1a=25, I2a=45)),
        ("with_weights(I3=2)", lambda: result.with_weights(I3=2)),
        (f"explain({code!r})", lambda: result.explain(code)),
        ("diff(with_thresholds(I2b=18))", lambda: result.diff(after)),
        ("to_admin('regency', geometry=False)", lambda: result.to_admin("regency", False)),
        ("to_admin('province')", lambda: result.to_admin("province")),
        ("to_admin('regency')", lambda: result.to_admin("regency")),
        ("shortlist()", lambda: result.shortlist()),
        (f"cells_of({code!r})", lambda: result.cells_of(code)),
    ]
    if result.model is not None and result.model.probs.shape[1]:
        rows.insert(
            2,
            ("with_thresholds(I1b=40) (refits the model)", lambda: result.with_thresholds(I1b=40)),
        )
    print(f"{len(v):,} villages, {result.n_cells:,} cells")
    print(f"| call | best of {args.repeat} (s) | note |")
    print("|---|---|---|")
    for name, fn in rows:
        t, out = _best(fn, 1 if "refits" in name or "'regency')" in name else args.repeat)
        note = ""
        if name.startswith("with_thresholds"):
            note = f"{int((out.villages['tier'] != v['tier']).sum()):,} villages change tier"
        elif name.startswith("diff"):
            note = f"{len(out):,} rows"
        elif hasattr(out, "__len__"):
            note = f"{len(out):,} rows"
        print(f"| `{name}` | {t:.3f} | {note} |", flush=True)

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
