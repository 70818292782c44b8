"""Tier, composite score and rank from the rule results.

Tier rule (documented in the README):

* ``ready``: all six criteria P1-I3 pass;
* ``near-ready``: exactly one criterion fails, each of its failing rules is within
  ``near_ready_fraction`` of its threshold (e.g. 42 % smartphone vs 50 % with 0.2),
  and nothing is unknown;
* ``not ready``: a criterion fails beyond that, or two or more fail;
* ``undetermined``: nothing fails decisively, but unknown data leave the tier open.

Composite score (0-100): each gate rule's attainment is ``value / threshold``
(``threshold / value`` for ``<=`` rules) capped at 2; a criterion takes its
weakest rule; the score is ``50 x`` the weighted mean over criteria with known
values (50 = exactly at every threshold). ``score_known_share`` is the share of
the weights that was known. Rank orders tiers (ready, near-ready, undetermined,
not ready), then score (high first), then village code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from despro.config.vocab import (
    FAIL,
    NEAR_READY,
    NOT_READY,
    PASS,
    READY,
    TIERS,
    UNDETERMINED,
    UNKNOWN,
)
from despro.rules.criteria import CRITERIA


def attainment(long: pd.DataFrame) -> pd.Series:
    """Per rule row: value / threshold (or inverse for <= rules), capped to [0, 2]."""
    v = long["value"].to_numpy(float)
    t = long["threshold"].to_numpy(float)
    below = long["op"].isin(["<=", "<"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(below, t / v, v / t)
        ratio = np.where(t == 0, np.where(long["state"] == PASS, 2.0, 0.0), ratio)
        ratio = np.where(below & (v == 0), 2.0, ratio)
    ratio = np.clip(ratio, 0, 2)
    return pd.Series(np.where(np.isnan(v), np.nan, ratio), index=long.index)


def tiers(long: pd.DataFrame, states: pd.DataFrame, near_fraction: float) -> pd.Series:
    """Tier per village (see module docstring)."""
    gates = long[["village_code", "threshold", "margin", "state"]][long["role"] == "gate"]
    t = gates["threshold"].abs()
    near = gates["margin"] >= -near_fraction * t
    far_fail = (gates["state"] == FAIL) & ~near
    far = far_fail.groupby(gates["village_code"]).any().reindex(states.index, fill_value=False)
    crit = states[list(CRITERIA)]
    n_fail = (crit == FAIL).sum(axis=1)
    n_unknown = (crit == UNKNOWN).sum(axis=1)
    tier = np.select(
        [
            (n_fail == 0) & (n_unknown == 0),
            far.to_numpy() | (n_fail >= 2),
            (n_fail == 1) & (n_unknown == 0),
        ],
        [READY, NOT_READY, NEAR_READY],
        default=UNDETERMINED,
    )
    return pd.Series(tier, index=states.index, name="tier")


def composite(long: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Composite score (0-100) and the known share of the weights."""
    gate = long["role"] == "gate"
    gates = long[["village_code", "criterion"]][gate].assign(att=attainment(long)[gate])
    crit = gates.groupby(["village_code", "criterion"])["att"].min(numeric_only=True)
    crit = crit.unstack("criterion").reindex(columns=list(CRITERIA))
    w = np.array([weights.get(c, 0.0) for c in CRITERIA], float)
    a = crit.to_numpy(float)
    known = ~np.isnan(a)
    wk = (known * w).sum(axis=1)
    total = w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 50.0 * np.nansum(np.nan_to_num(a) * w, axis=1) / wk
    out = pd.DataFrame(
        {
            "score": np.where(wk > 0, score, np.nan),
            "score_known_share": wk / total if total else np.nan,
        },
        index=crit.index,
    )
    out.index.name = None
    return out


def rank(tier: pd.Series, score: pd.Series) -> pd.Series:
    """1-based rank: tier order, then score descending, then village code."""
    order = pd.DataFrame(
        {
            "t": tier.map({t: i for i, t in enumerate(TIERS)}),
            "s": -score.fillna(-np.inf),
            "c": tier.index,
        }
    )
    order = order.sort_values(["t", "s", "c"])
    return pd.Series(np.arange(1, len(order) + 1), index=order.index).reindex(tier.index)
