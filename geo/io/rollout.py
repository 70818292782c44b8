"""Writing a rollout plan: ``plan.csv``, ``plan_villages.csv``, ``waves.csv``,
``cost_curve.csv`` and ``.png``, ``plan_constraints.csv``, ``plan_candidates.csv`` (every
candidate item, for ``must_do`` / ``never_do``), ``plan.json`` and the
GeoPackage ``plan.gpkg`` (layer ``plan_items``: the planned sites, outlets and
programmes as points), staged and atomic (:func:`despro.io.outputs.staged`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from despro.io.outputs import csv_safe, staged
from despro.rollout.waves import Plan


def write_rollout(plan: Plan, outdir: Path | str) -> dict[str, Path]:
    """Write the plan's tables, chart and layer into ``outdir`` (atomically).

    Parameters
    ----------
    plan : Plan
        From :func:`despro.plan`.
    outdir : Path or str
        Folder (created if missing).

    Returns
    -------
    dict of str to Path
        File name -> path.
    """
    import geopandas as gpd

    outdir = Path(outdir)
    items = plan.items.reset_index(drop=True)
    tables = {
        "plan.csv": items,
        "plan_villages.csv": plan.villages.reset_index(),
        "waves.csv": plan.waves,
        "cost_curve.csv": plan.curve,
        "plan_constraints.csv": plan.constraints,
        "plan_candidates.csv": plan.problem.items,
    }
    with staged(outdir) as st:
        for name, df in tables.items():
            csv_safe(df).to_csv(st / name, index=False)
        if len(plan.curve):
            cost_curve_chart(plan.curve, st / "cost_curve.png", plan.summary.get("budget"))
        gdf = gpd.GeoDataFrame(
            items.drop(columns=["ready_thanks"]),
            geometry=gpd.points_from_xy(items["lon"], items["lat"]),
            crs="EPSG:4326",
        )
        gdf.to_file(st / "plan.gpkg", layer="plan_items", driver="GPKG")
        (st / "plan.json").write_text(
            json.dumps({"summary": plan.summary, "notes": plan.notes}, indent=2, default=_json),
            encoding="utf-8",
        )
    names = [*tables, "plan.gpkg", "plan.json"] + (["cost_curve.png"] if len(plan.curve) else [])
    return {n: outdir / n for n in names}


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def cost_curve_chart(curve: pd.DataFrame, path: Path | str, budget: float | None = None) -> None:
    """Villages made ready against budget (million Rp) as a step chart (PNG, 110 dpi)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.step(curve["budget"] / 1000.0, curve["newly_ready"], where="post", marker="o")
    if budget:
        ax.axvline(budget / 1000.0, color="#d7301f", ls="--", lw=1, label="anggaran / budget")
        ax.legend(fontsize=8)
    ax.set_xlabel("anggaran / budget (miliar Rp)")
    ax.set_ylabel("desa baru siap / villages made ready")
    ax.set_title("Kurva biaya / cost curve", fontsize=11)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
