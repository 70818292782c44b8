"""Re-derive rule states, tiers, scores and ranks from an edited long criteria table.

The pipeline decides every rule once (:func:`despro.rules.criteria.evaluate_all`);
what-if analyses only change a rule's threshold (threshold sweeps,
:mod:`despro.select.sensitivity`) or fill an unknown value (imputation,
:mod:`despro.select.impute`). Both keep the evidence each village's rule was decided
on and recompute from the long table with the same functions the pipeline uses
(:func:`~despro.rules.criteria.criterion_codes`, :mod:`despro.rules.score`, on the
table's integer codes, :class:`~despro.rules.verdicts.Verdicts`), so a what-if with
nothing changed reproduces the run exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from despro.config.vocab import FAIL, PASS, UNKNOWN
from despro.rules.criteria import ROUNDOFF, criterion_codes, criterion_frame
from despro.rules.score import (
    bounds_codes,
    composite_codes,
    far_fail_codes,
    rank_codes,
    tier_codes,
    tier_labels,
)
from despro.rules.verdicts import Verdicts


@dataclass
class Rescored:
    """States, tier, score and rank of every village after an edit of the long table."""

    long: pd.DataFrame
    states: pd.DataFrame  # criterion states, columns P1 ... I3
    tier: pd.Series
    score: pd.Series  # 0-100, worst case (unknown rules at 0)
    score_known_share: pd.Series  # 0-1
    rank: pd.Series  # 1 = best
    score_best: pd.Series  # 0-100, best case (unknown rules at the cap)


def restate_rows(long: pd.DataFrame) -> pd.DataFrame:
    """Recompute ``state`` and ``margin`` of every row from ``value``, ``op``, ``threshold``.

    Same rule as :func:`despro.rules.criteria.rule_states`, row by row (each row may
    carry its own operator): a missing value is unknown, exactly at the threshold
    passes, the margin is in the rule's unit (negative = short by).
    """
    v = long["value"].to_numpy(float)
    t = long["threshold"].to_numpy(float)
    op = long["op"].astype(str).to_numpy()
    v = np.where(np.abs(v - t) <= ROUNDOFF * np.maximum(1.0, np.abs(t)), t, v)
    below = np.isin(op, ["<=", "<"])
    with np.errstate(invalid="ignore"):
        ok = np.select([op == ">=", op == ">", op == "<="], [v >= t, v > t, v <= t], v < t)
        margin = np.where(below, t - v, v - t)
    known = ~np.isnan(v)
    return long.assign(
        state=np.where(known, np.where(ok, PASS, FAIL), UNKNOWN).astype(object),
        margin=np.where(known, margin, np.nan),
    )


def recompute_tiers(
    long: pd.DataFrame, weights: dict[str, float], near_ready_fraction: float, restate: bool = True
) -> Rescored:
    """Tier, score (0-100) and rank from a long criteria table (see :mod:`despro.rules.score`).

    Parameters
    ----------
    long : DataFrame
        One row per village and rule, as ``Result.criteria``.
    weights : dict
        Criterion -> weight of the composite score.
    near_ready_fraction : float
        The tier rule's tolerance (``criteria.near_ready_fraction``).
    restate : bool
        Recompute states and margins from values first (needed after editing values
        or thresholds).
    """
    if restate:
        long = restate_rows(long)
    # the text columns read once (Verdicts.from_long), then every step on integer codes
    v = Verdicts.from_long(long)
    codes = criterion_codes(v)
    states = criterion_frame(codes, v.villages)
    tier = tier_codes(codes, far_fail_codes(v, near_ready_fraction))
    sc = composite_codes(bounds_codes(v), weights)

    def series(x: np.ndarray, name: str | None) -> pd.Series:
        return pd.Series(x, index=states.index, name=name)

    return Rescored(
        long,
        states,
        tier_labels(tier, states.index),
        series(sc["score"], "score"),
        series(sc["score_known_share"], "score_known_share"),
        series(rank_codes(tier, sc["score"], v.code_order()), None),
        series(sc["score_best"], "score_best"),
    )
