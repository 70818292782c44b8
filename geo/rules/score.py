"""Tier, honest composite score and rank from the rule results.

Tier rule (documented in the README):

* ``ready``: all six criteria P1-I3 pass;
* ``near-ready``: exactly one criterion fails, each of its failing rules is within
  ``near_ready_fraction`` of its threshold (e.g. 42 % smartphone vs 50 % with 0.2),
  and nothing is unknown;
* ``not ready``: a criterion fails beyond that, or two or more fail;
* ``undetermined``: nothing fails decisively, but unknown data leave the tier open.

Composite score (0-100), honest about missing data: each gate rule's attainment is
``value / threshold`` (``threshold / value`` for ``<=`` rules) in ``[0, CAP]``
(``CAP`` = 2); a criterion takes its weakest rule. Every weighted criterion counts,
known or not:

* ``score`` is the **worst case**: an unknown rule attains 0;
* ``score_best`` is the best case: an unknown rule attains ``CAP`` (and passes);
* ``score_known_share`` is the share of the weights whose criteria are fully known.

Attainment above a threshold (1 to ``CAP``) counts only for a village that meets
every weighted criterion; any other village counts each criterion at most 1. So the
score is ``50 x`` the weighted mean of ``max(a, 1)`` for a village meeting every
criterion (50-100) and of ``min(a, 1)`` otherwise (0-50). Without that split the worst
case alone could still flatter: five criteria at twice their threshold and one unknown
would give 83, above a ready village exactly at every threshold (50). With it, a
village that does not meet every criterion (an unknown one included) never scores
above one that does, and ``score <= score_best``, equal when nothing is unknown. A
village with no rule known has no score (NaN); one whose every criterion lacks a rule
scores 0 in the worst case. Rank orders tiers (ready, near-ready,
undetermined, not ready), then score (high first), then village code.
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

CAP = 2.0  # attainment cap (twice the threshold)


def attainment(long: pd.DataFrame) -> pd.Series:
    """Per rule row: value / threshold (or inverse for <= rules), capped to [0, 2]."""
    v = long["value"].to_numpy(float)
    t = long["threshold"].to_numpy(float)
    below = long["op"].isin(["<=", "<"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(below, t / v, v / t)
        ratio = np.where(t == 0, np.where(long["state"] == PASS, 2.0, 0.0), ratio)
        ratio = np.where(below & (v == 0), 2.0, ratio)
    ratio = np.clip(ratio, 0, CAP)
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


def criterion_bounds(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per village and criterion (villages x P1 ... I3), from the gate rules.

    Returns
    -------
    dict of DataFrame
        ``worst``: weakest rule's attainment (0-2) with unknown rules at 0; ``best``:
        the same with unknown rules at ``CAP``; ``known``: every gate rule known;
        ``seen``: some gate rule known; ``passed``: every gate rule passes; ``open``:
        no gate rule fails (so it passes in the best case). A criterion without gate
        rules is unknown (worst 0, best ``CAP``). Villages in their order of first
        appearance in ``long``.
    """
    # integer keys (village x criterion), as despro.rules.criteria.combine: grouping a
    # national long table by two text columns takes a second
    codes, villages = pd.factorize(long["village_code"])
    crit = pd.Index(CRITERIA).get_indexer(long["criterion"])
    use = (long["role"] == "gate").to_numpy() & (crit >= 0) & (codes >= 0)
    key = codes[use] * len(CRITERIA) + crit[use]
    size = len(villages) * len(CRITERIA)
    state = long["state"].to_numpy(object)[use]
    att = attainment(long).to_numpy(float)[use]
    unknown = np.isnan(att) | (state == UNKNOWN)
    worst = np.full(size, np.inf)
    best = np.full(size, np.inf)
    np.minimum.at(worst, key, np.where(unknown, 0.0, att))
    np.minimum.at(best, key, np.where(unknown, CAP, att))
    rows = np.bincount(key, minlength=size)
    n_unknown = np.bincount(key, weights=unknown, minlength=size)
    n_pass = np.bincount(key, weights=state == PASS, minlength=size)
    n_fail = np.bincount(key, weights=state == FAIL, minlength=size)
    none = rows == 0
    parts = {
        "worst": np.where(none, 0.0, worst),
        "best": np.where(none, CAP, np.minimum(best, CAP)),
        "known": ~none & (n_unknown == 0),
        "seen": n_unknown < rows,
        "passed": ~none & (n_pass == rows),
        "open": n_fail == 0,
    }
    index = pd.Index(villages)
    cols = pd.Index(list(CRITERIA), name="criterion")
    return {
        k: pd.DataFrame(a.reshape(len(villages), len(CRITERIA)), index=index, columns=cols)
        for k, a in parts.items()
    }


def honest_score(att: np.ndarray, met: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Score 0-100 from criterion attainments (module docstring, no unknowns left).

    Parameters
    ----------
    att : ndarray
        Villages x criteria attainment (0-2, unknown already replaced by 0 or ``CAP``).
    met : ndarray
        Per village (bool): meets every criterion of positive weight.
    w : ndarray
        Criterion weights (criteria,) or weight draws (draws x criteria), >= 0.

    Returns
    -------
    ndarray
        Villages (,) or villages x draws: ``50 x`` the weighted mean of ``max(att, 1)``
        where ``met``, of ``min(att, 1)`` elsewhere (score points, 0-100); NaN where the
        weights sum to 0.
    """
    w2 = np.atleast_2d(np.asarray(w, float))
    total = w2.sum(axis=1)
    if np.ndim(w) == 1:  # summed in criterion order, the same bits as a plain weighted sum
        above = (np.maximum(att, 1.0) * w2[0]).sum(axis=1)[:, None]
        below = (np.minimum(att, 1.0) * w2[0]).sum(axis=1)[:, None]
    else:
        above = np.maximum(att, 1.0) @ w2.T
        below = np.minimum(att, 1.0) @ w2.T
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 50.0 * np.where(np.asarray(met, bool)[:, None], above, below) / total
    out = np.where(total > 0, out, np.nan)
    return out[:, 0] if np.ndim(w) == 1 else out


def composite(long: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Honest composite score per village (see module docstring).

    Parameters
    ----------
    long : DataFrame
        One row per village and rule (``Result.criteria``).
    weights : dict
        Criterion -> weight (>= 0); a criterion of weight 0 does not enter the score.

    Returns
    -------
    DataFrame
        Indexed by village code: ``score`` (worst case, 0-100), ``score_best`` (best
        case, 0-100), ``score_known_share`` (share of the weights fully known, 0-1).
        Both scores are NaN where no rule of a weighted criterion is known.
    """
    b = criterion_bounds(long)
    w = np.array([max(weights.get(c, 0.0), 0.0) for c in CRITERIA], float)
    pos = w > 0
    total = w.sum()
    known = b["known"].to_numpy(bool)
    share = (known * w).sum(axis=1) / total if total else np.full(len(known), np.nan)
    met_worst = b["passed"].to_numpy(bool)[:, pos].all(axis=1)
    met_best = b["open"].to_numpy(bool)[:, pos].all(axis=1)
    worst = honest_score(b["worst"].to_numpy(float), met_worst, w)
    best = honest_score(b["best"].to_numpy(float), met_best, w)
    none = ~b["seen"].to_numpy(bool)[:, pos].any(axis=1)
    out = pd.DataFrame(
        {
            "score": np.where(none, np.nan, worst),
            "score_best": np.where(none, np.nan, best),
            "score_known_share": share,
        },
        index=b["worst"].index,
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
