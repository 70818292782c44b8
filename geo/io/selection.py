"""Writing a pilot plan: the selection's tables, chart and summary, staged and atomic.

:func:`despro.select.pilots.plan_pilots` computes a :class:`~despro.select.pilots.PilotPlan`
in memory (frames, no files); :func:`write_plan` puts it on disk. Text cells are made
spreadsheet-safe and the files appear together or not at all
(:func:`despro.io.outputs.staged`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from despro.io.outputs import csv_safe, staged
from despro.select.pilots import PilotPlan, plan_tables, summary
from despro.select.sensitivity import Sensitivity


def write_plan(plan: PilotPlan, outdir: Path | str) -> dict[str, Path]:
    """Write the plan's tables, chart and summary into ``outdir`` (atomically).

    Parameters
    ----------
    plan : PilotPlan
        From :func:`despro.select.pilots.plan_pilots`.
    outdir : Path or str
        Folder to write into (created if missing); existing files of the same
        names are replaced only when every file is written.

    Returns
    -------
    dict of str to Path
        File name -> path: ``shortlist_optimised.csv``, ``selection_constraints.csv``,
        ``agents.csv``, ``clusters.csv``, ``cluster_members.csv``, ``sensitivity.csv``,
        ``sensitivity_scenarios.csv``, ``speed_uncertainty.csv``, ``imputed.csv``
        (and, with labels, ``readiness_scores.csv``, ``readiness_folds.csv``,
        ``readiness_importance.csv``), ``sensitivity.png`` and ``selection.json``.
    """
    outdir = Path(outdir)
    tables = plan_tables(plan)
    with staged(outdir) as st:
        for name, df in tables.items():
            csv_safe(df).to_csv(st / name, index=False)
        sensitivity_chart(
            plan.sensitivity, st / "sensitivity.png", plan.shortlist["village_code"].tolist()
        )
        (st / "selection.json").write_text(
            json.dumps(summary(plan), indent=2, default=_json), encoding="utf-8"
        )
    names = [*tables, "sensitivity.png", "selection.json"]
    return {n: outdir / n for n in names}


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


def sensitivity_chart(
    sens: Sensitivity, path: Path | str, picks: list[str] | None = None, top: int = 30
) -> None:
    """Draw the robustness PNG: shares of the most robust villages, tiers under sweeps.

    Parameters
    ----------
    sens : Sensitivity
        From :func:`despro.select.sensitivity.sensitivity`.
    path : Path or str
        The PNG to write (110 dpi).
    picks : list of str, optional
        Village codes of the optimised picks, starred on the left panel.
    top : int
        Villages shown on the left panel (the most robust first).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = sens.villages
    v = v[(v["weight_share"] > 0) | (v["threshold_share"] > 0)]
    v = v.sort_values(["weight_share", "threshold_share"], ascending=False).head(top)[::-1]
    picks = set(picks or [])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, max(4.0, 0.28 * len(v) + 1.5)))
    y = np.arange(len(v))
    ax1.barh(y + 0.2, v["weight_share"], height=0.4, label="weight draws", color="#2b8cbe")
    ax1.barh(
        y - 0.2, v["threshold_share"], height=0.4, label="threshold scenarios", color="#fdae61"
    )
    ax1.set_yticks(
        y,
        [
            f"{'* ' if c in picks else ''}{c} {str(n)[:18]}"
            for c, n in zip(v.index, v["village_name"], strict=True)
        ],
        fontsize=7,
    )
    ax1.set_xlim(0, 1)
    ax1.set_xlabel(f"share of draws in the top {sens.n} (* = optimised pick)")
    ax1.legend(loc="lower right", fontsize=8)
    sc = sens.scenarios
    for rule, g in sc.groupby("rule", sort=False):
        x = np.r_[g["factor"], 1.0]
        y = np.r_[g["n_ready"] + g["n_near_ready"], sens.baseline_eligible]
        o = np.argsort(x)
        ax2.plot(x[o], y[o], marker="o", label=rule)
    ax2.set_xlabel("threshold x factor (one rule at a time)")
    ax2.set_ylabel("ready + near-ready villages")
    ax2.legend(fontsize=7, ncol=2)
    ax2.grid(alpha=0.3)
    fig.suptitle("Despro pilot robustness", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
