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
    NEAR_READY,
    NOT_READY,
    READY,
    TIERS,
    UNDETERMINED,
)
from despro.rules.labels import labels_from_codes
from despro.rules.verdicts import (
    BELOW_OPS,
    CRITERIA,
    FAIL_CODE,
    PASS_CODE,
    UNKNOWN_CODE,
    Verdicts,
    state_codes,
)

#: tier -> its integer code (the position in ``TIERS``: ready 0 ... not ready 3)
TIER_CODES = {t: i for i, t in enumerate(TIERS)}

CAP = 2.0  # attainment cap (twice the threshold)


def attainment_codes(
    value: np.ndarray, threshold: np.ndarray, below: np.ndarray, state: np.ndarray
) -> np.ndarray:
    """Per row: value / threshold (threshold / value for ``<=`` rules), capped to [0, 2];
    NaN where the value is missing (``state``: :data:`~despro.rules.verdicts.STATE_CODES`)."""
    v, t = value, threshold
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(below, t / v, v / t)
        ratio = np.where(t == 0, np.where(state == PASS_CODE, 2.0, 0.0), ratio)
        ratio = np.where(below & (v == 0), 2.0, ratio)
    ratio = np.clip(ratio, 0, CAP)
    return np.where(np.isnan(v), np.nan, ratio)


def attainment(long: pd.DataFrame) -> pd.Series:
    """Per rule row: value / threshold (or inverse for <= rules), capped to [0, 2]."""
    v = long["value"].to_numpy(float)
    t = long["threshold"].to_numpy(float)
    below = long["op"].isin(BELOW_OPS).to_numpy()
    att = attainment_codes(v, t, below, state_codes(long["state"]))
    return pd.Series(att, index=long.index)


def far_fail_codes(verdicts: Verdicts, near_fraction: float) -> np.ndarray:
    """Per village: some gate rule fails by more than ``near_fraction`` of its threshold."""
    v = verdicts
    t = np.abs(v.threshold)
    with np.errstate(invalid="ignore"):
        near = v.margin >= -near_fraction * t
    far = v.gate & (v.state == FAIL_CODE) & ~near & (v.village >= 0)
    return np.bincount(v.village[far], minlength=v.n_villages) > 0


def tier_codes(criteria: np.ndarray, far: np.ndarray) -> np.ndarray:
    """Tier codes (positions in :data:`~despro.config.vocab.TIERS`) per village.

    Parameters
    ----------
    criteria : ndarray
        Villages x criteria state codes (:func:`despro.rules.criteria.criterion_codes`).
    far : ndarray of bool
        Per village: a gate rule fails beyond the near-ready tolerance (:func:`far_fail_codes`).
    """
    n_fail = (criteria == FAIL_CODE).sum(axis=1)
    n_unknown = (criteria == UNKNOWN_CODE).sum(axis=1)
    return np.select(
        [(n_fail == 0) & (n_unknown == 0), far | (n_fail >= 2), (n_fail == 1) & (n_unknown == 0)],
        [TIER_CODES[READY], TIER_CODES[NOT_READY], TIER_CODES[NEAR_READY]],
        default=TIER_CODES[UNDETERMINED],
    ).astype(np.int8)


def tier_labels(codes: np.ndarray, index: pd.Index) -> pd.Series:
    """The tier Series (name ``tier``, pandas' ``str`` dtype) of tier codes."""
    return labels_from_codes(list(TIERS), codes).set_axis(index).rename("tier")


def tiers(long: pd.DataFrame, states: pd.DataFrame, near_fraction: float) -> pd.Series:
    """Tier per village (see module docstring), indexed as ``states``."""
    v = Verdicts.from_long(long)
    far = far_fail_codes(v, near_fraction)
    pos = v.villages.get_indexer(states.index)
    far = (
        np.where(pos >= 0, far[np.maximum(pos, 0)], False) if len(far) else np.zeros(len(pos), bool)
    )
    crit = np.stack([state_codes(states[c]) for c in CRITERIA], axis=1)
    return tier_labels(tier_codes(crit, far), states.index)


def bounds_codes(verdicts: Verdicts) -> dict[str, np.ndarray]:
    """Per village and criterion (villages x P1 ... I3 arrays), from the gate rules.

    Returns
    -------
    dict of ndarray
        ``worst``: weakest rule's attainment (0-2) with unknown rules at 0; ``best``:
        the same with unknown rules at ``CAP``; ``known``: every gate rule known;
        ``seen``: some gate rule known; ``passed``: every gate rule passes; ``open``:
        no gate rule fails (so it passes in the best case). A criterion without gate
        rules is unknown (worst 0, best ``CAP``).
    """
    v = verdicts
    use = v.gate & (v.criterion >= 0) & (v.village >= 0)
    key = v.village[use] * len(CRITERIA) + v.criterion[use]
    size = v.n_villages * len(CRITERIA)
    state = v.state[use]
    att = attainment_codes(v.value[use], v.threshold[use], v.below[use], state)
    unknown = np.isnan(att) | (state == UNKNOWN_CODE)
    worst = np.full(size, np.inf)
    best = np.full(size, np.inf)
    np.minimum.at(worst, key, np.where(unknown, 0.0, att))
    np.minimum.at(best, key, np.where(unknown, CAP, att))
    rows = np.bincount(key, minlength=size)
    n_unknown = np.bincount(key[unknown], minlength=size)
    n_pass = np.bincount(key[state == PASS_CODE], minlength=size)
    n_fail = np.bincount(key[state == FAIL_CODE], minlength=size)
    none = rows == 0
    parts = {
        "worst": np.where(none, 0.0, worst),
        "best": np.where(none, CAP, np.minimum(best, CAP)),
        "known": ~none & (n_unknown == 0),
        "seen": n_unknown < rows,
        "passed": ~none & (n_pass == rows),
        "open": n_fail == 0,
    }
    return {k: a.reshape(v.n_villages, len(CRITERIA)) for k, a in parts.items()}


def criterion_bounds(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per village and criterion (villages x P1 ... I3), from the gate rules.

    Returns
    -------
    dict of DataFrame
        :func:`bounds_codes` as frames, villages in their order of first appearance in
        ``long``.
    """
    v = Verdicts.from_long(long)
    index = pd.Index(v.villages)
    cols = pd.Index(list(CRITERIA), name="criterion")
    return {k: pd.DataFrame(a, index=index, columns=cols) for k, a in bounds_codes(v).items()}


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


def composite_codes(
    bounds: dict[str, np.ndarray], weights: dict[str, float]
) -> dict[str, np.ndarray]:
    """Honest composite score per village from :func:`bounds_codes` (module docstring).

    Returns
    -------
    dict of ndarray
        ``score`` (worst case, 0-100), ``score_best`` (best case, 0-100),
        ``score_known_share`` (share of the weights fully known, 0-1). Both scores are
        NaN where no rule of a weighted criterion is known.
    """
    b = bounds
    w = np.array([max(weights.get(c, 0.0), 0.0) for c in CRITERIA], float)
    pos = w > 0
    total = w.sum()
    known = b["known"]
    share = (known * w).sum(axis=1) / total if total else np.full(len(known), np.nan)
    met_worst = b["passed"][:, pos].all(axis=1)
    met_best = b["open"][:, pos].all(axis=1)
    worst = honest_score(b["worst"], met_worst, w)
    best = honest_score(b["best"], met_best, w)
    none = ~b["seen"][:, pos].any(axis=1)
    return {
        "score": np.where(none, np.nan, worst),
        "score_best": np.where(none, np.nan, best),
        "score_known_share": share,
    }


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
    v = Verdicts.from_long(long)
    out = pd.DataFrame(composite_codes(bounds_codes(v), weights), index=pd.Index(v.villages))
    out.index.name = None
    return out


def rank_codes(tier: np.ndarray, score: np.ndarray, code_order: np.ndarray) -> np.ndarray:
    """1-based rank per village: tier order, then score descending (missing last), then
    village code (``code_order``: each village's position among the sorted codes)."""
    s = -np.where(np.isnan(score), -np.inf, score)
    order = np.lexsort((code_order, s, tier))
    out = np.empty(len(order), np.int64)
    out[order] = np.arange(1, len(order) + 1)
    return out


def rank(tier: pd.Series, score: pd.Series) -> pd.Series:
    """1-based rank: tier order, then score descending, then village code."""
    t = tier.map({t: i for i, t in enumerate(TIERS)}).to_numpy(float)
    codes = np.asarray(tier.index, dtype=object)
    order = np.argsort(codes, kind="stable")
    code_order = np.empty(len(order), np.int64)
    code_order[order] = np.arange(len(order))
    s = score.reindex(tier.index).to_numpy(float)
    return pd.Series(rank_codes(t, s, code_order), index=tier.index)
