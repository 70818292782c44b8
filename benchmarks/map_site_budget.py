"""Map site at scale: does every page stay within the size budget, and how long does it take?

Runs the synthetic sample at a fine H3 resolution (default 10: ~280,000 cells, the size of
a large province at resolution 8), writes the map site (the province is split into regency
pages when over the budget) and prints each page's size, resolution and cell count. Exits
non-zero if a page is over the budget. The suite checks the budget on a national-scale
synthetic run built without the pipeline (tests/geo/mapsite/test_map_site_budget.py).

    python benchmarks/map_site_budget.py [--resolution 10] [--budget-mb 15]

Takes about a minute and 2 GB of memory at resolution 10 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from despro.config.settings import load_config
from despro.demo.sample import ensure_sample
from despro.mapsite.site import write_site
from despro.pipeline.runner import run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=10)
    ap.add_argument("--budget-mb", type=float, default=15.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sample"
        shutil.copytree(ensure_sample(None), data)
        toml = data / "despro.toml"
        toml.write_text(
            re.sub(
                r"(?m)^resolution = \d+",
                f"resolution = {args.resolution}",
                toml.read_text(encoding="utf-8"),
            ),
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        result = run(load_config(toml))
        t1 = time.perf_counter()
        site = write_site(result, Path(tmp) / "maps", "id", budget_mb=args.budget_mb)
        t2 = time.perf_counter()
    print(
        f"{len(result.cells):,} cells at resolution {args.resolution}: pipeline "
        f"{t1 - t0:.1f} s, map site {t2 - t1:.1f} s"
    )
    for p in site.pages:
        print(
            f"  {p.slug:>16}: {p.size_bytes / 1e6:6.2f} MB, {p.n_cells:,} cells at "
            f"resolution {p.res}, {p.n_villages:,} villages"
        )
    over = [p.slug for p in site.pages if p.size_bytes > site.budget_bytes]
    if over:
        print(f"over the {args.budget_mb} MB budget: {', '.join(over)}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
