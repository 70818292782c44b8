"""Time to build the lonboard cell layer for a national-size run (2.5 million H3 cells).

Cells: every resolution-8 child of 21 resolution-2 cells over Indonesia (2,470,629 cells),
with random scores; times :func:`despro.io.lonboard_map.colours` and the
``H3HexagonLayer`` (no hexagon polygons are built)::

    pip install 'despro[lonboard]'
    python benchmarks/bench_lonboard.py
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import h3
import numpy as np
import pandas as pd

from despro.io import lonboard_map


def main() -> None:
    t = time.perf_counter()
    seeds = h3.grid_disk(h3.latlng_to_cell(-2.5, 118.0, 2), 3)[:21]
    ids = np.concatenate(
        [np.array([h3.str_to_int(c) for c in h3.cell_to_children(s, 8)], np.uint64) for s in seeds]
    )
    rng = np.random.default_rng(0)
    cols = pd.DataFrame({"h3_int": ids, "village_score": rng.uniform(0, 100, len(ids))})
    fake = SimpleNamespace(cell_columns=cols)
    print(f"{len(ids):,} cells made in {time.perf_counter() - t:.1f} s")
    import lonboard  # noqa: F401 (imports are not what is timed)

    import despro.pipeline.analysis  # noqa: F401

    t = time.perf_counter()
    lonboard_map.colours(cols["village_score"].rename("village_score"))
    print(f"colours: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    layer = lonboard_map.cell_layer(fake, "village_score")
    took = time.perf_counter() - t
    print(f"H3HexagonLayer of {layer.table.num_rows:,} cells built in {took:.2f} s")


if __name__ == "__main__":
    main()
