"""How robust is the shortlist? Monte Carlo over weights and threshold sweeps.

*Weights.* Each draw takes criterion weights from a Dirichlet centred on the
configured ones: ``alpha = concentration x w / sum(w)`` (criteria weighted 0 stay
0), so the mean draw is the configured weighting and ``concentration`` sets how far
draws stray (50: a weight of 1/6 varies by about +-0.05). Scores are recomputed
exactly as :mod:`despro.rules.score` does (weakest rule per criterion, unknown rules
at 0, attainment above a threshold only for villages meeting every weighted
criterion); tiers do not depend on weights.

*Thresholds.* Each gate rule's threshold is multiplied by each factor in turn
(one rule at a time, others as configured); states, tiers and scores are rederived
(:mod:`despro.rules.restate`).

In every draw or scenario the *top N* is the shortlist rule of the run (tier
order, then score, then code) over the villages the selection may choose from
(its tier, region, courier and exclude filters): the ranking, not a re-run of the
optimiser. A village's ``weight_share`` / ``threshold_share`` is the share (0-1) of
draws / scenarios that put it in the top N; ``robust`` means ``weight_share`` is at
least ``robust_share``. The same seed gives the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from despro.config.settings import Config, SelectionConfig
from despro.config.vocab import NEAR_READY, PILOT_TIERS, READY, TIERS
from despro.rules.criteria import CRITERIA
from despro.rules.restate import recompute_tiers, restate_rows
from despro.rules.score import criterion_bounds, honest_score

TIER_ORDER = {t: i for i, t in enumerate(TIERS)}


@dataclass
class Sensitivity:
    """Per-village shares and the scenario table.

    Attributes
    ----------
    villages : DataFrame
        Indexed by village code: ``in_top_n`` (baseline), ``weight_share``,
        ``threshold_share``, ``robust``, ``score``, ``score_p05``, ``score_p50``,
        ``score_p95`` (0-100 over the weight draws).
    scenarios : DataFrame
        One row per threshold scenario: ``rule, factor, threshold, n_ready, n_near_ready,
        n_eligible, kept_share`` (share of the baseline top N still in the top N).
    weights : ndarray
        The weight draws (draws x criteria P1 ... I3).
    n : int
        The N of "top N".
    baseline_eligible : int
        Ready + near-ready villages with the configured thresholds (factor 1).
    """

    villages: pd.DataFrame
    scenarios: pd.DataFrame
    weights: np.ndarray
    n: int
    baseline_eligible: int = 0


def weight_draws(
    weights: dict[str, float], draws: int, concentration: float, seed: int
) -> np.ndarray:
    """Dirichlet draws (draws x 6, rows sum to 1) centred on the configured weights."""
    w = np.array([max(weights.get(c, 0.0), 0.0) for c in CRITERIA], float)
    if w.sum() <= 0:
        w = np.ones(len(CRITERIA))
    pos = w > 0
    rng = np.random.default_rng(seed)
    out = np.zeros((draws, len(CRITERIA)))
    out[:, pos] = rng.dirichlet(concentration * w[pos] / w[pos].sum(), size=draws)
    return out


def top_n_mask(tier: np.ndarray, score: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """Boolean (villages x scenarios): in the top ``n`` of the eligible by tier, then score.

    ``tier`` and ``ok`` are (villages,); ``score`` is (villages,) or (villages,
    scenarios). Rows are expected in village-code order (the final tie-break).
    """
    score = score.reshape(len(score), -1)
    t = pd.Series(tier).map(TIER_ORDER).fillna(len(TIERS)).to_numpy(float)[:, None]
    ok = np.asarray(ok, bool)[:, None]
    key = np.where(ok, t * 1000.0 - np.nan_to_num(score, nan=-1.0), np.inf)
    order = np.argsort(key, axis=0, kind="stable")[:n]
    mask = np.zeros(score.shape, bool)
    cols = np.broadcast_to(np.arange(score.shape[1]), order.shape)
    mask[order, cols] = True
    return mask & np.broadcast_to(ok, score.shape)


def _static_ok(cands: pd.DataFrame) -> np.ndarray:
    """Filters that do not move with weights or thresholds: region, courier, exclude."""
    return (
        cands["region_ok"].to_numpy(bool)
        & cands["courier_ok"].to_numpy(bool)
        & ~cands["excluded"].to_numpy(bool)
    )


def monte_carlo(
    long: pd.DataFrame,
    tier: pd.Series,
    ok: np.ndarray,
    weights: dict[str, float],
    n: int,
    tiers: list[str],
    draws: int,
    concentration: float,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Weight draws -> per village ``weight_share`` and score quantiles (see module doc)."""
    b = {k: f.reindex(tier.index, fill_value=0) for k, f in criterion_bounds(long).items()}
    w = weight_draws(weights, draws, concentration, seed)  # draws x 6
    # a criterion weighted 0 stays 0 in every draw, so "met" is the same in all draws
    met = b["passed"].to_numpy(bool)[:, w.max(axis=0) > 0].all(axis=1)
    scores = honest_score(b["worst"].to_numpy(float), met, w)
    scores[~((b["seen"].to_numpy(bool).astype(float) @ w.T) > 0)] = np.nan
    t = tier.to_numpy(object)
    eligible = ok & np.isin(t, tiers)
    top = top_n_mask(t, scores, eligible, n)
    q = np.full((len(t), 3), np.nan)
    has = ~np.isnan(scores).all(axis=1)
    q[has] = np.nanpercentile(scores[has], [5, 50, 95], axis=1).T
    out = pd.DataFrame(
        {
            "weight_share": top.mean(axis=1),
            "score_p05": q[:, 0],
            "score_p50": q[:, 1],
            "score_p95": q[:, 2],
        },
        index=tier.index,
    )
    return out, w


def threshold_sweep(
    long: pd.DataFrame,
    config: Config,
    ok: pd.Series,
    n: int,
    tiers: list[str],
    factors: list[float],
    baseline_top: pd.Series,
) -> tuple[pd.Series, pd.DataFrame]:
    """Per village ``threshold_share`` and one summary row per (rule, factor) scenario."""
    crit = config.criteria
    rules = [r for r in crit.rules if r.role == "gate"]
    index = ok.index
    hits = np.zeros(len(index))
    rows = []
    base = set(baseline_top[baseline_top].index)
    thr0 = long["threshold"].to_numpy(float)
    for r in rules:
        sel_rows = (long["rule"] == r.id).to_numpy()
        for f in factors:
            edited = restate_rows(long.assign(threshold=np.where(sel_rows, thr0 * f, thr0)))
            rs = recompute_tiers(edited, crit.weights, crit.near_ready_fraction, restate=False)
            t = rs.tier.reindex(index).to_numpy(object)
            elig = ok.to_numpy(bool) & np.isin(t, tiers)
            top = top_n_mask(t, rs.score.reindex(index).to_numpy(float), elig, n)[:, 0]
            hits += top
            chosen = set(index[top])
            rows.append(
                {
                    "rule": r.id,
                    "factor": f,
                    "threshold": r.threshold * f,
                    "n_ready": int((t == READY).sum()),
                    "n_near_ready": int((t == NEAR_READY).sum()),
                    "n_eligible": int(elig.sum()),
                    "kept_share": len(chosen & base) / len(base) if base else np.nan,
                }
            )
    n_scen = max(len(rows), 1)
    return pd.Series(hits / n_scen, index=index, name="threshold_share"), pd.DataFrame(rows)


def sensitivity(result, cands: pd.DataFrame, sel: SelectionConfig | None = None) -> Sensitivity:
    """Weight Monte Carlo and threshold sweeps for a run and its selection candidates.

    Parameters
    ----------
    result : despro.pipeline.runner.Result
        (Left without a type hint: the engine does not import the pipeline.)
        The pipeline result (``villages``, ``criteria``, ``config``).
    cands : DataFrame
        :func:`despro.select.problem.candidates` output (its static filters define the pool).
    sel : SelectionConfig, optional
        Default ``result.config.selection`` (N = ``size``, ``tiers``, ``sensitivity``).
    """
    cfg = result.config
    sel = sel or cfg.selection
    s = sel.sensitivity
    v = result.villages.sort_index()
    long = result.criteria
    tier = v["tier"]
    ok = pd.Series(_static_ok(cands.reindex(v.index)), index=v.index)
    t = tier.to_numpy(object)
    base_top = pd.Series(
        top_n_mask(t, v["score"].to_numpy(float), ok.to_numpy() & np.isin(t, sel.tiers), sel.size)[
            :, 0
        ],
        index=v.index,
    )
    mc, w = monte_carlo(
        long,
        tier,
        ok.to_numpy(),
        cfg.criteria.weights,
        sel.size,
        sel.tiers,
        s.draws,
        s.concentration,
        s.seed,
    )
    share, scen = threshold_sweep(long, cfg, ok, sel.size, sel.tiers, s.threshold_factors, base_top)
    out = pd.DataFrame(
        {
            "village_name": v["village_name"],
            "tier": tier,
            "score": v["score"],
            "in_top_n": base_top,
        },
        index=v.index,
    )
    out = out.join(mc)
    out["threshold_share"] = share
    out["robust"] = out["weight_share"] >= s.robust_share
    return Sensitivity(out, scen, w, sel.size, int(tier.isin(PILOT_TIERS).sum()))
