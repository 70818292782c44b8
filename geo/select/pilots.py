"""Pilot planning in one call: shortlist, agents, clusters, sensitivity, speeds, imputation.

:func:`plan_pilots` runs the analyses of issue 7 on a pipeline
:class:`~despro.pipeline.runner.Result` (pure, in memory) and returns frames
(:func:`plan_tables`) and a summary (:func:`summary`);
:func:`despro.io.selection.write_plan` writes them (staged, atomic, spreadsheet-safe
text). ``despro select`` is these two calls (:func:`despro.pipeline.job.run_job`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from despro.config.settings import SelectionConfig
from despro.select.agents import AgentPlan, plan_agents
from despro.select.clusters import find_clusters
from despro.select.impute import Imputation, impute_indicators, rescore_imputed
from despro.select.problem import Selection, select_pilots
from despro.select.readiness_model import ReadinessModel, readiness_model
from despro.select.sensitivity import Sensitivity, sensitivity
from despro.select.speedtests import speed_uncertainty, threshold_mbps


@dataclass
class PilotPlan:
    """Everything ``despro select`` computes.

    ``shortlist`` is the optimised picks (:func:`despro.select.problem.explain`) joined
    with each pick's cluster, nearest agent, robustness shares, speed certainty,
    the indicators that are missing and imputable, and (with labels) the readiness
    model's probability.
    """

    selection: Selection
    shortlist: pd.DataFrame
    agents: AgentPlan
    clusters: pd.DataFrame
    cluster_members: pd.DataFrame
    sensitivity: Sensitivity
    speed: pd.DataFrame
    imputation: Imputation
    imputed: pd.DataFrame
    readiness: ReadinessModel | None
    sel: SelectionConfig
    speed_threshold_mbps: float
    timings: dict[str, float] = field(default_factory=dict)


def plan_pilots(
    result,
    sel: SelectionConfig | None = None,
    marginal: bool = True,
    log: Callable[[str, str], None] | None = None,
) -> PilotPlan:
    """Run every pilot analysis on a pipeline result.

    Parameters
    ----------
    result : despro.pipeline.runner.Result
        (Left without a type hint: the engine does not import the pipeline.)
    sel : SelectionConfig, optional
        Default ``result.config.selection``.
    marginal : bool
        Compute each pick's marginal value (one re-solve per pick).
    log : callable, optional
        ``log(step, message)`` progress callback (e.g. ``Progress.step``).

    Returns
    -------
    PilotPlan
        The optimised pilots in pick order, the agents and their radius (km), the
        clusters, the sensitivity of the picks to each threshold, and the solver's
        status; frames only (:func:`despro.write_plan` writes them).
    """
    cfg = result.config
    sel = sel or cfg.selection
    t: dict[str, float] = {}
    t0 = time.perf_counter()

    def step(name: str, msg: str) -> None:
        nonlocal t0
        t[name] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        if log:
            log(name, msg)

    v = result.villages
    imputation = impute_indicators(v, sel.impute)
    imputed = rescore_imputed(v, result.criteria, cfg, imputation)
    step(
        "impute",
        f"impute: {int(imputation.flags().to_numpy().sum())} values imputed "
        f"({', '.join(imputation.variables) or 'none'}); used: {sel.use_imputed}",
    )
    selection = select_pilots(result, sel, imputed, marginal=marginal)
    codes = selection.picks["village_code"].tolist()
    step("select", f"select: {len(codes)} pilots, objective {selection.objective:.1f}")
    agents = plan_agents(result, codes, sel.agents.radius_km, sel.agents.count, sel.agents.sites)
    step(
        "agents",
        f"agents: {len(agents.agents)} ({agents.method}), "
        f"{agents.covered_share:.0%} of pilots within {sel.agents.radius_km} km",
    )
    members, clusters = find_clusters(
        v, sel.clusters.eps_km, sel.clusters.min_villages, sel.clusters.tiers
    )
    step("clusters", f"clusters: {len(clusters)}")
    sens = sensitivity(result, selection.candidates, sel)
    step(
        "sensitivity",
        f"sensitivity: {sel.sensitivity.draws} weight draws, "
        f"{len(sens.scenarios)} threshold scenarios",
    )
    thr = threshold_mbps(cfg, sel.speed)
    speed = speed_uncertainty(v, thr, sel.speed)
    step("speed", f"speed: {int(speed['few_speed_tests'].sum())} villages with few tests")
    model = None
    if sel.readiness.labels is not None:
        model = readiness_model(
            result,
            cfg.path(sel.readiness.labels),
            sel.readiness.features or None,
            sel.readiness.folds,
            sel.readiness.seed,
        )
        step(
            "readiness",
            f"readiness model: ROC AUC {model.scores['roc_auc_pooled_oof']:.2f} "
            "(out of fold, by regency)",
        )
    short = _enrich(selection.picks, agents, members, sens, speed, imputation, model)
    return PilotPlan(
        selection,
        short,
        agents,
        clusters,
        members,
        sens,
        speed,
        imputation,
        imputed,
        model,
        sel,
        thr,
        t,
    )


def _enrich(
    picks: pd.DataFrame,
    agents: AgentPlan,
    members: pd.DataFrame,
    sens: Sensitivity,
    speed: pd.DataFrame,
    imputation: Imputation,
    model: ReadinessModel | None,
) -> pd.DataFrame:
    s = picks.set_index("village_code")
    s = s.join(members.set_index("village_code")[["cluster_id"]])
    s = s.join(agents.assignment.set_index("village_code")[["agent_id", "agent_distance_km"]])
    s = s.join(sens.villages[["weight_share", "threshold_share", "robust"]])
    s = s.join(speed[["p_download_meets", "few_speed_tests"]])
    flags = imputation.flags().reindex(s.index)
    s["missing_imputable"] = [
        ";".join(c.removesuffix("_imputed") for c in flags.columns if row[c])
        for _, row in flags.fillna(False).iterrows()
    ]
    if model is not None:
        s = s.join(model.predictions[["readiness_prob"]])
    s.index.name = "village_code"
    return s.reset_index()


def summary(plan: PilotPlan) -> dict:
    """JSON-ready summary: settings, objective, counts, notes, model scores."""
    sel = plan.sel
    return {
        "settings": json.loads(sel.model_dump_json()),
        "objective_points": plan.selection.objective,
        "pilots": plan.shortlist["village_code"].tolist(),
        "binding_constraints": plan.selection.constraints.loc[
            plan.selection.constraints["binding"], "constraint"
        ].tolist(),
        "agents": {
            "method": plan.agents.method,
            "count": len(plan.agents.agents),
            "radius_km": plan.agents.radius_km,
            "covered_share": plan.agents.covered_share,
        },
        "clusters": len(plan.clusters),
        "robust_pilots": int(plan.shortlist["robust"].sum()),
        "speed_threshold_mbps": plan.speed_threshold_mbps,
        "imputation": {
            "variables": plan.imputation.variables,
            "notes": plan.imputation.notes,
            "values_imputed": int(plan.imputation.flags().to_numpy().sum()),
            "used_for_selection": sel.use_imputed,
        },
        "readiness_model": None
        if plan.readiness is None
        else {**plan.readiness.scores, "notes": plan.readiness.notes},
        "timings_s": plan.timings,
    }


def plan_tables(plan: PilotPlan) -> dict[str, pd.DataFrame]:
    """The plan's tables, by the CSV file name :func:`despro.io.selection.write_plan` gives them.

    ``shortlist_optimised.csv``, ``selection_constraints.csv``, ``agents.csv``,
    ``clusters.csv``, ``cluster_members.csv``, ``sensitivity.csv`` (the villages a
    planner reads: in some top N, or picked), ``sensitivity_scenarios.csv``,
    ``speed_uncertainty.csv``, ``imputed.csv`` and, with labels,
    ``readiness_scores.csv``, ``readiness_folds.csv``, ``readiness_importance.csv``.
    """
    tables = {
        "shortlist_optimised.csv": plan.shortlist,
        "selection_constraints.csv": plan.selection.constraints,
        "agents.csv": plan.agents.agents,
        "clusters.csv": plan.clusters,
        "cluster_members.csv": plan.cluster_members,
        "sensitivity.csv": _keep_relevant(plan),
        "sensitivity_scenarios.csv": plan.sensitivity.scenarios,
        "speed_uncertainty.csv": plan.speed.rename_axis("village_code").reset_index(),
        "imputed.csv": _imputed_table(plan),
    }
    if plan.readiness is not None:
        tables["readiness_scores.csv"] = plan.readiness.predictions.rename_axis(
            "village_code"
        ).reset_index()
        tables["readiness_folds.csv"] = plan.readiness.folds
        tables["readiness_importance.csv"] = plan.readiness.importances
    return tables


def _keep_relevant(plan: PilotPlan) -> pd.DataFrame:
    """Villages in some top N, or picked: the rows a planner reads."""
    s = plan.sensitivity.villages
    picked = s.index.isin(plan.shortlist["village_code"])
    keep = (s["weight_share"] > 0) | (s["threshold_share"] > 0) | s["in_top_n"] | picked
    out = (
        s[keep]
        .assign(picked=picked[keep])
        .sort_values(["weight_share", "threshold_share"], ascending=False)
    )
    return out.rename_axis("village_code").reset_index()


def _imputed_table(plan: PilotPlan) -> pd.DataFrame:
    """Villages with an imputed indicator: original (empty), imputed value, tier either way."""
    imp = plan.imputation
    flags = imp.flags()
    any_ = flags.any(axis=1) if len(flags.columns) else pd.Series(False, index=flags.index)
    out = imp.values[any_].join(
        plan.imputed.loc[
            any_[any_].index, ["tier", "tier_imputed", "score_imputed", "imputed_rules"]
        ]
    )
    return out.rename_axis("village_code").reset_index()
