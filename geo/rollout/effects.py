"""Apply a plan to the village values and evaluate the rules again, from scratch.

This is the check of a plan, independent of the MILP's linear data: sites cover every
cell of the run whose centre lies within ``radius_km`` (the cell's coverage numerator
becomes its denominator) and the village rate is recomputed through the run's
cell -> village weights; an outlet adds one company to every village whose point lies
within its radius; a programme adds its points (capped at 100 %). An observation
of another evidence level (the village census) describes the village before the
intervention: for a rule that did not pass and whose value the plan changed, it is
set aside and the changed value decides. Then :func:`despro.rules.criteria.evaluate_all`,
:func:`~despro.rules.criteria.combine` and :func:`~despro.rules.score.tiers` run as in a
pipeline run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from despro.config.plan import PlanConfig
from despro.config.vocab import PASS
from despro.grid.cells import cell_centres
from despro.rollout.problem import PlanInputs, _ball
from despro.rules.criteria import combine, evaluate_all
from despro.rules.score import tiers


def apply_plan(inputs: PlanInputs, cfg: PlanConfig, items: pd.DataFrame) -> pd.DataFrame:
    """Village values after the interventions in ``items`` (rows of ``Problem.items``).

    Parameters
    ----------
    inputs : PlanInputs
    cfg : PlanConfig
    items : DataFrame
        The chosen items (``kind``, ``village_code``, ``lon``, ``lat``).

    Returns
    -------
    DataFrame
        ``inputs.villages`` with the changed values (same index and columns).
    """
    v = inputs.villages.copy()
    before = v.copy()
    rules = {r.id: r for r in inputs.rules}
    codes = v.index.astype(str)
    prog = items[items["kind"] == "programme"]
    if len(prog):
        at = codes.isin(prog["village_code"])
        for rid, pp in cfg.programme.effects.items():
            r = rules[rid]
            new = v.loc[at, r.variable].to_numpy(float) + pp
            if r.unit.startswith("percent"):
                new = np.minimum(new, 100.0)
            v.loc[at, r.variable] = new
    outs = items[items["kind"] == "outlet"]
    if len(outs):
        r = rules[cfg.outlet.rule]
        near = _ball(
            outs["lon"].to_numpy(),
            outs["lat"].to_numpy(),
            inputs.lon,
            inputs.lat,
            cfg.outlet.radius_km,
        )
        add = np.array([len(k) for k in near], float)
        old = v[r.variable].to_numpy(float) if r.variable in v else np.full(len(v), np.nan)
        # an unknown count is at least 0: a village served by a new outlet has >= 1
        v[r.variable] = np.where(add > 0, np.nan_to_num(old) + add, old)
    sites = items[items["kind"] == "site"]
    if len(sites):
        r = rules[cfg.site.rule]
        cc = inputs.cell_columns
        num = np.nan_to_num(cc[f"{r.variable}__num"].to_numpy(float)).copy()
        den = np.nan_to_num(cc[f"{r.variable}__den"].to_numpy(float))
        lon, lat = cell_centres(inputs.cells)
        hit = _ball(lon, lat, sites["lon"].to_numpy(), sites["lat"].to_numpy(), cfg.site.radius_km)
        cov = np.unique(np.concatenate([np.asarray(h, dtype=int) for h in hit]))
        num[cov] = den[cov]
        w = inputs.weights
        colsum = np.asarray(w.sum(axis=0)).ravel()
        inv = np.divide(1.0, colsum, out=np.zeros_like(colsum), where=colsum > 0)
        b = (w @ sp.diags(inv)).tocsr()
        bd = b @ den
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(bd > 0, 100.0 * (b @ num) / bd, np.nan)
        old = v[r.variable].to_numpy(float)
        changed = np.abs(np.nan_to_num(rate, nan=-1) - np.nan_to_num(old, nan=-1)) > 1e-12
        v[r.variable] = np.where(changed, rate, old)
    # observations of the village before the intervention no longer decide a changed rule
    for r in inputs.rules:
        if not r.evidence or r.variable not in v:
            continue
        state = (
            before[f"{r.id}_state"].astype(object).to_numpy() if f"{r.id}_state" in before else None
        )
        if state is None:
            continue
        a = before[r.variable].to_numpy(float) if r.variable in before else np.full(len(v), np.nan)
        b2 = v[r.variable].to_numpy(float)
        moved = ~np.isclose(np.nan_to_num(a, nan=-1), np.nan_to_num(b2, nan=-1)) & (state != PASS)
        for e in r.evidence:
            if e.variable in v and moved.any():
                v.loc[moved, e.variable] = np.nan
    return v


def evaluate_plan(inputs: PlanInputs, values: pd.DataFrame) -> pd.DataFrame:
    """Criterion states and tier per village from ``values``, as a run computes them.

    Returns
    -------
    DataFrame
        Indexed by village code: ``P1 ... I3`` states and ``tier``.
    """
    long, _ = evaluate_all(values, inputs.rules, inputs.variables, inputs.evidence_order)
    states = combine(long)
    out = states.copy()
    out["tier"] = tiers(long, states, inputs.near_fraction)
    return out.reindex(values.index)
