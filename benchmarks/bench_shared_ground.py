"""Villages sharing ground: the run's check against an exhaustive test of every pair.

    python benchmarks/bench_shared_ground.py                 # all 83,246 villages
    python benchmarks/bench_shared_ground.py --prefix 11     # one province (Aceh)
    python benchmarks/bench_shared_ground.py --gap-widths 0,1,2,3

Needs ``../shared/data``. Reads the villages of ``examples/indonesia.toml`` as the run does
and builds the study (not timed), then times :func:`despro.aggregate.shared_ground.shared_ground`
(``--repeat`` times, CPU and wall) and, once, the exhaustive reference: an STRtree query of
every village against all (predicate ``intersects``), then the exact intersection area /
the smaller village's area of each pair. Prints one JSON object: both pair counts at
>= 1 %, the pairs the check misses (codes, share, the smaller village's area) and those it
finds beyond the reference (none expected), the candidates it measured, the timings and,
per ``--gap-widths``, how many of the reference's pairs each gap allowance finds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]


def exhaustive(geoms: np.ndarray, min_share: float) -> dict[tuple[int, int], float]:
    """Every pair of intersecting villages whose overlap is >= ``min_share`` of the smaller."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    area = shapely.area(geoms)
    inter = np.concatenate(
        [
            shapely.area(shapely.intersection(geoms[a[s : s + 20000]], geoms[b[s : s + 20000]]))
            for s in range(0, len(a), 20000)
        ]
        or [np.zeros(0)]
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.nan_to_num(inter / np.minimum(area[a], area[b]), nan=1.0), 0, 1)
    hit = share >= min_share
    return {(int(x), int(y)): float(s) for x, y, s in zip(a[hit], b[hit], share[hit], strict=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "examples" / "indonesia.toml"))
    ap.add_argument("--prefix", default=None, help="Kemendagri code prefix (e.g. 11 Aceh)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gap-widths", default="", help="comma-separated widths (m) to compare")
    a = ap.parse_args()

    from despro import layers as registry
    from despro.aggregate.shared_ground import (
        OVERLAP_TINY,
        candidate_pairs,
        overlap_bound,
        shared_ground,
    )
    from despro.aggregate.study import build_study
    from despro.config.settings import load_config
    from despro.layer import Notes

    config = load_config(a.config)
    if a.prefix:
        villages_cfg = config.villages.model_copy(update={"code_prefix": a.prefix})
        config = config.model_copy(update={"villages": villages_cfg})
    villages = registry.VILLAGES.read(config.villages, config, Notes())
    study = build_study(villages, config.run.resolution)
    geoms = villages.geometry.reindex(study.village_index).to_numpy()
    codes = np.asarray(study.village_index.astype(str))
    cell_area = study.cell_area_m2()

    runs = []
    for _ in range(a.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        found = shared_ground(study.area, cell_area, geoms)
        runs.append((time.process_time() - cpu, time.perf_counter() - wall))
    sharing = overlap_bound(study.area, cell_area).nnz
    measured = len(candidate_pairs(study.area, cell_area, geoms)[0])
    size = np.asarray(study.area.sum(axis=1)).ravel()

    cpu, wall = time.process_time(), time.perf_counter()
    ref = exhaustive(geoms, OVERLAP_TINY)
    ref_time = (time.process_time() - cpu, time.perf_counter() - wall)

    got = {(int(r.a), int(r.b)) for r in found.itertuples()}

    def describe(pair: tuple[int, int], share: float) -> dict:
        x, y = pair
        return {
            "codes": [codes[x], codes[y]],
            "share_pct": round(100 * share, 2),
            "smaller_km2": round(float(min(size[x], size[y])) / 1e6, 4),
        }

    sensitivity = {}
    for w in [float(v) for v in a.gap_widths.split(",") if v.strip()]:
        out = shared_ground(study.area, cell_area, geoms, gap_width=w)
        sensitivity[str(w)] = len({(int(r.a), int(r.b)) for r in out.itertuples()} & set(ref))
    print(
        json.dumps(
            {
                "villages": len(geoms),
                "cells": int(study.area.shape[1]),
                "pairs_sharing_a_cell": int(sharing),
                "pairs_measured": measured,
                "check_pairs": len(got),
                "exhaustive_pairs": len(ref),
                "missed": [describe(p, s) for p, s in sorted(ref.items()) if p not in got],
                "beyond_reference": [
                    describe((int(r.a), int(r.b)), r.share)
                    for r in found.itertuples()
                    if (int(r.a), int(r.b)) not in ref
                ],
                "check_cpu_s": [round(c, 2) for c, _ in runs],
                "check_wall_s": [round(w, 2) for _, w in runs],
                "exhaustive_cpu_s": round(ref_time[0], 1),
                "exhaustive_wall_s": round(ref_time[1], 1),
                "gap_width_m_found": sensitivity,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
