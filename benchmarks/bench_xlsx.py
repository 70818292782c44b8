"""Time of the planners' workbook at national size (83,000 villages).

The per-village sheet of :mod:`despro.io.xlsx` is written for the sample's villages
repeated to the national count (same columns and value mix as a real run), then the
whole workbook of the sample; prints seconds. Decides :data:`VILLAGE_SHEET_LIMIT`::

    python benchmarks/bench_xlsx.py [--villages 83000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import xlsxwriter

from despro.config.settings import load_config
from despro.io import xlsx
from despro.pipeline.runner import run

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "despro.toml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--villages", type=int, default=83_000)
    args = ap.parse_args()
    result = run(load_config(SAMPLE))
    one = xlsx.village_summary(result.villages)
    frame = pd.concat([one] * (args.villages // len(one) + 1), ignore_index=True)
    frame = frame.iloc[: args.villages]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        book = xlsxwriter.Workbook(str(Path(tmp) / "v.xlsx"), {"constant_memory": True})
        xlsx._sheet(book, "desa", frame, "id", result)
        book.close()
        big = time.perf_counter() - t
        size = (Path(tmp) / "v.xlsx").stat().st_size
        t = time.perf_counter()
        xlsx.write_workbook(result, Path(tmp) / "w.xlsx")
        small = time.perf_counter() - t
    cells = frame.shape[0] * frame.shape[1]
    print(
        f"villages sheet: {len(frame):,} rows x {frame.shape[1]} columns = {cells:,} cells "
        f"in {big:.2f} s ({cells / big:,.0f} cells/s, {size / 1e6:.1f} MB)"
    )
    print(f"sample workbook ({len(result.villages)} villages, all sheets): {small:.2f} s")


if __name__ == "__main__":
    main()
