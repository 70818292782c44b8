"""The static summary figure of a map page (matplotlib PNG, no browser needed).

Left: the share of villages passing, failing and unknown on each criterion P1..I3.
Right: villages per readiness tier. Labels follow the page language.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from despro.mapsite.data import STATE_COLOURS, STATES, TIER_COLOURS, TIERS, criteria_summary  # noqa: E402
from despro.mapsite.labels import LABELS  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def summary_figure(villages: pd.DataFrame, lang: str, title: str) -> Figure:
    """A two-panel figure: pass rate per criterion and tier counts."""
    t = LABELS[lang]
    shares = criteria_summary(villages)
    counts = villages["tier"].value_counts().reindex(TIERS).fillna(0).astype(int)
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(9, 3.2), dpi=100, gridspec_kw={"width_ratios": [1.4, 1]}
    )
    left = 0
    for state in STATES:
        ax1.barh(shares.index, shares[state], left=left, color=STATE_COLOURS[state], label=t[state])
        left = left + shares[state]
    ax1.invert_yaxis()
    ax1.set_xlim(0, 100)
    ax1.set_title(t["pass_rate"], fontsize=9)
    ax1.legend(fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, -0.32), frameon=False)
    bars = ax2.bar(
        [t[k] for k in TIERS],
        counts.to_numpy(),
        color=[TIER_COLOURS[k] for k in TIERS],
        edgecolor="#555555",
        linewidth=0.5,
    )
    ax2.bar_label(bars, fontsize=7)
    ax2.set_title(t["tier_counts"], fontsize=9)
    ax2.tick_params(axis="x", labelsize=7, rotation=15)
    fig.suptitle(f"{title} \u00b7 {len(villages):,} {t['villages_n']}", fontsize=10)
    fig.tight_layout()
    return fig


def write_summary_png(villages: pd.DataFrame, lang: str, title: str, path: Path) -> Path:
    """Write the summary figure of ``villages`` to ``path`` (PNG) and return it."""
    fig = summary_figure(villages, lang, title)
    try:
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
