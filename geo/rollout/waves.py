"""The rollout: waves of investment, the cost curve, and the whole plan of a run.

Waves: wave ``k`` is solved with the cumulative budget of waves ``1..k`` and every item
of the earlier waves held in, so a village ready after wave ``k`` stays ready (wave 0:
the villages already ready, where pilots can start now). The cost curve solves
``curve_points`` budgets from 0 to the cost of making every reachable target ready;
each point must make at least as many villages ready as the previous one (a lower
bound on the count and the objective; the previous plan satisfies it), so the curve
never falls even when a solve stops at the gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from despro.config.plan import PlanConfig
from despro.config.vocab import PASS, READY
from despro.errors import DesproError
from despro.rollout.effects import apply_plan, evaluate_plan
from despro.rollout.notes import Note, count_id
from despro.rollout.problem import PlanInputs, Problem, build_problem, scope_criteria
from despro.rollout.solve import Solution, binding, greedy, marginal, polish, solve


@dataclass
class Plan:
    """A solved, explained and checked rollout plan (tables ready to write).

    Attributes
    ----------
    items : DataFrame
        ``plan.csv``: one row per chosen item with its wave, cost (million Rp) and marginal
        value.
    villages : DataFrame
        ``plan_villages.csv``: one row per village: tier before and after (recomputed),
        ``ready_wave`` (0 already ready; NaN not in the plan), ``thanks_to`` (item ids).
    waves : DataFrame
        ``waves.csv``: one row per wave.
    curve : DataFrame
        ``cost_curve.csv``: villages ready against budget.
    constraints : DataFrame
        ``plan_constraints.csv``: binding constraints.
    summary : dict
    notes : list of str
    """

    items: pd.DataFrame
    villages: pd.DataFrame
    waves: pd.DataFrame
    curve: pd.DataFrame
    constraints: pd.DataFrame
    summary: dict
    notes: list[str]
    problem: Problem
    solution: Solution


def _new(problem: Problem, sol: Solution) -> np.ndarray:
    return sol.ready & ~problem.villages["base_ready"].to_numpy(bool)


def run_waves(
    problem: Problem, budgets: list[float], progress: Callable[[str], None] | None = None
) -> list[Solution]:
    """One solution per wave (cumulative budgets; earlier items held in)."""
    out: list[Solution] = []
    held = np.zeros(problem.n_items, bool)
    spent = 0.0
    for k, b in enumerate(budgets, start=1):
        spent += b
        sol = polish(problem, solve(problem, spent, force_on=held, warm=held), force_on=held)
        out.append(sol)
        held = sol.chosen.copy()
        if progress:
            progress(
                f"gelombang / wave {k}: {int(_new(problem, sol).sum())} desa baru siap "
                "(kumulatif) / made ready so far"
            )
    return out


def full_plan(problem: Problem) -> Solution:
    """The cheapest plan found that makes every target ready (the greedy plan, then a
    cheaper one if the MILP finds it within ``curve_time_limit_s``)."""
    relax = frozenset({"budget", "must_do"})
    limit = problem.config.curve_time_limit_s
    sol = solve(problem, 0.0, relax=relax, time_limit=limit)
    return polish(problem, sol, relax=relax, time_limit=limit)


def full_cost(problem: Problem) -> float:
    """Million Rp of :func:`full_plan`: the right end of the cost curve."""
    return full_plan(problem).cost


def cost_curve(
    problem: Problem,
    points: int,
    full: float,
    progress: Callable[[str], None] | None = None,
    top: np.ndarray | None = None,
) -> pd.DataFrame:
    """Villages ready against budget: ``points`` budgets from 0 to ``full`` (million Rp).

    ``top`` (items, e.g. :func:`full_plan`'s, costing at most ``full``) starts the last
    point, so that the curve ends at every target made ready."""
    rows = []
    prev_obj, prev_n, prev_x = None, None, None
    base = int(problem.villages["base_ready"].sum())
    pop = np.nan_to_num(problem.villages["population"].to_numpy(float))
    is_site = (problem.items["kind"] == "site").to_numpy()
    cost = problem.items["cost"].to_numpy(float)
    budgets = np.linspace(0.0, full, points)
    for k, b in enumerate(budgets):
        warm = prev_x
        if top is not None and k == len(budgets) - 1 and cost[top].sum() <= b + 1e-6:
            warm = top
        sol = solve(
            problem,
            float(b),
            relax=frozenset({"must_do"}),
            min_objective=prev_obj,
            min_count=prev_n,
            warm=warm,
            time_limit=problem.config.curve_time_limit_s,
            gap=problem.config.curve_gap,
        )
        prev_x = sol.chosen
        new = _new(problem, sol)
        prev_obj, prev_n = sol.objective, int(new.sum())
        rows.append(
            {
                "budget": float(b),
                "cost_used": sol.cost,
                "items": int(sol.chosen.sum()),
                "sites": int((sol.chosen & is_site).sum()),
                "newly_ready": int(new.sum()),
                "villages_ready": base + int(new.sum()),
                "population_newly_ready": float(pop[new].sum()),
                "gap": sol.gap,
            }
        )
        if progress:
            progress(f"kurva biaya / cost curve: Rp {b:,.0f} juta -> {int(new.sum())} desa")
    return pd.DataFrame(rows)


def make_plan(
    inputs: PlanInputs,
    cfg: PlanConfig,
    curve: bool = True,
    explain: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Build, solve, explain and check the plan of a run.

    Parameters
    ----------
    inputs : PlanInputs
        :func:`despro.rollout.problem.inputs_from_result`.
    cfg : PlanConfig
        ``[plan]`` (the budget and waves in million Rp).
    curve : bool
        Compute the cost curve (``curve_points`` solves).
    explain : bool
        Binding constraints (one re-solve each).
    progress : callable, optional
        Receives one line of text per step.

    Returns
    -------
    Plan
    """
    say = progress or (lambda _m: None)
    problem = build_problem(inputs, cfg)
    vt = problem.villages
    notes = list(problem.notes)
    n_target = int(vt["target"].sum())
    say(
        f"{int(vt['base_ready'].sum())} desa sudah siap / already ready; {n_target} dapat "
        f"disiapkan / can be made ready; {problem.n_items} kandidat / candidate items"
    )
    if n_target == 0:
        reasons = vt.loc[~vt["base_ready"], "why_not"].value_counts().head(5)
        why = "; ".join(f"{k} ({n})" for k, n in reasons.items())
        notes.append(
            Note(
                f"no village can be made ready by these interventions; most common reasons: {why}",
                "tidak ada desa yang dapat disiapkan oleh intervensi ini; alasan paling "
                f"umum: {why}",
            )
        )
    budgets = cfg.wave_budgets()
    sols = run_waves(problem, budgets, say)
    sol = sols[-1]
    new = _new(problem, sol)
    if n_target and not new.any() and sum(budgets) > 0:
        try:
            price = _cheapest_fix(problem)
            cheapest, termurah = f"{price:,.0f}", count_id(price)
        except DesproError:  # too large to prove in the time limit: the greedy's price
            price = _greedy_one(problem)
            cheapest, termurah = f"about {price:,.0f}", f"sekitar {count_id(price)}"
        notes.append(
            Note(
                f"the budget of {sum(budgets):,.0f} million Rp makes no village ready: the "
                f"cheapest single village costs {cheapest} million Rp; raise --budget",
                f"anggaran Rp {count_id(sum(budgets))} juta tidak menyiapkan satu desa pun: "
                f"desa termurah butuh Rp {termurah} juta; naikkan --budget",
            )
        )
    # the wave each item and village enters
    item_wave = np.full(problem.n_items, 0)
    village_wave = np.where(vt["base_ready"].to_numpy(bool), 0.0, np.nan)
    prev_items = np.zeros(problem.n_items, bool)
    prev_ready = vt["base_ready"].to_numpy(bool)
    wave_rows = []
    pop = np.nan_to_num(vt["population"].to_numpy(float))
    cum = 0.0
    for k, (b, s) in enumerate(zip(budgets, sols, strict=True), start=1):
        cum += b
        added = s.chosen & ~prev_items
        item_wave[added] = k
        became = s.ready & ~prev_ready
        village_wave[became] = k
        wave_rows.append(
            {
                "wave": k,
                "budget": b,
                "cumulative_budget": cum,
                "cost": float(problem.items["cost"].to_numpy(float)[added].sum()),
                "cumulative_cost": s.cost,
                "items": int(added.sum()),
                "sites": int((added & (problem.items["kind"] == "site").to_numpy()).sum()),
                "outlets": int((added & (problem.items["kind"] == "outlet").to_numpy()).sum()),
                "programmes": int(
                    (added & (problem.items["kind"] == "programme").to_numpy()).sum()
                ),
                "newly_ready": int(became.sum()),
                "villages_ready": int(s.ready.sum()),
                "population_newly_ready": float(pop[became].sum()),
                "gap": s.gap,
                "villages": ";".join(vt.index[became]),
            }
        )
        prev_items, prev_ready = s.chosen, s.ready
    waves = pd.DataFrame(wave_rows)
    waves.insert(
        0,
        "wave_label",
        [f"gelombang {k} / wave {k}" for k in waves["wave"]],
    )
    base_row = pd.DataFrame(
        [
            {
                "wave_label": "gelombang 0 / wave 0 (sudah siap: pilot mulai sekarang)",
                "wave": 0,
                "budget": 0.0,
                "cumulative_budget": 0.0,
                "cost": 0.0,
                "cumulative_cost": 0.0,
                "items": 0,
                "sites": 0,
                "outlets": 0,
                "programmes": 0,
                "newly_ready": int(vt["base_ready"].sum()),
                "villages_ready": int(vt["base_ready"].sum()),
                "population_newly_ready": float(pop[vt["base_ready"].to_numpy(bool)].sum()),
                "gap": 0.0,
                "villages": ";".join(vt.index[vt["base_ready"].to_numpy(bool)]),
            }
        ]
    )
    waves = pd.concat([base_row, waves], ignore_index=True)

    marg = marginal(problem, sol)
    items = problem.items[sol.chosen].copy()
    items.insert(0, "wave", item_wave[sol.chosen])
    items = items.join(marg)
    items["rule"] = items["kind"].map(
        {
            "site": cfg.site.rule,
            "outlet": cfg.outlet.rule,
            "programme": ",".join(cfg.programme.effects),
        }
    )
    names = vt["village_name"]
    items.insert(5, "village_name", names.reindex(items["village_code"]).to_numpy())
    items = items.sort_values(["wave", "marginal_villages", "cost"], ascending=[True, False, True])

    # per village: thanks to which items
    thanks: dict[str, list[str]] = {}
    for iid, codes in zip(items["item_id"], items["ready_thanks"], strict=True):
        for c in filter(None, str(codes).split(";")):
            thanks.setdefault(c, []).append(iid)
    support = _support(problem, sol)
    after_vals = apply_plan(inputs, cfg, problem.items[sol.chosen])
    after = evaluate_plan(inputs, after_vals)
    claimed = new & (vt["weight"].to_numpy(float) > 0)
    if cfg.scope == "ready":
        rechecked = after["tier"].to_numpy(object) == READY
    else:
        rechecked = np.ones(len(after), bool)
        for c in scope_criteria(cfg):
            rechecked &= (after[c] == PASS).to_numpy(bool)
    sure = claimed & ~_has_unknown(problem)
    broken = sure & ~rechecked
    if broken.any():
        raise DesproError(
            f"{int(broken.sum())} village(s) the plan makes ready are not ready when the "
            f"rules are evaluated again (e.g. {vt.index[broken][0]}); please report this"
        )
    pv = vt[
        ["village_name", "regency_code", "province_code", "priority_region", "population"]
    ].copy()
    pv["tier_before"] = vt["tier"]
    pv["tier_after"] = after["tier"].reindex(pv.index).to_numpy()
    for c in ("I1", "I2", "I3"):
        pv[f"{c}_after"] = after[c].reindex(pv.index).to_numpy()
    pv["ready_wave"] = village_wave
    pv["needs"] = vt["needs"]
    pv["thanks_to"] = [";".join(support.get(c, thanks.get(c, []))) for c in pv.index]
    pv["why_not"] = vt["why_not"]
    pv["weight"] = vt["weight"]
    pv["ready_text"] = [
        _ready_text(w, t) for w, t in zip(pv["ready_wave"], pv["thanks_to"], strict=True)
    ]

    constraints = binding(problem, sol) if explain else pd.DataFrame()
    curve_t = pd.DataFrame()
    if curve:
        top = full_plan(problem)
        curve_t = cost_curve(problem, cfg.curve_points, top.cost, say, top=top.chosen)
    summary = {
        "villages": len(vt),
        "already_ready": int(vt["base_ready"].sum()),
        "targets": n_target,
        "candidates": problem.n_items,
        "budget": float(sum(budgets)),
        "cost": sol.cost,
        "items": int(sol.chosen.sum()),
        "newly_ready": int(new.sum()),
        "ready_after": int(sol.ready.sum()),
        "rechecked_ready": int((rechecked & new).sum()),
        "gap": sol.gap,
        "objective": cfg.objective,
        "scope": cfg.scope,
        "undetermined": cfg.undetermined,
    }
    return Plan(items, pv, waves, curve_t, constraints, summary, notes, problem, sol)


def _has_unknown(problem: Problem) -> np.ndarray:
    """Targets counted through modelled probabilities (``undetermined = "p_ready"``)."""
    return problem.villages["uncertain"].to_numpy(bool)


def _support(problem: Problem, sol: Solution) -> dict[str, list[str]]:
    """Per newly ready village, the chosen items that act on it (programme, outlets
    serving it, sites covering its cells)."""
    vt = problem.villages
    ids = problem.items["item_id"].to_numpy(object)
    x = sol.chosen
    new = np.flatnonzero(sol.ready & ~vt["base_ready"].to_numpy(bool))
    oc = problem.outlet_cover.tocsr()
    sg = problem.site_gain.tocsr()
    cs = problem.cell_site.tocsr()
    out: dict[str, list[str]] = {}
    for v in new:
        its: list[str] = []
        p = problem.prog_item[v]
        if p >= 0 and x[p]:
            its.append(ids[p])
        its += [ids[i] for i in oc.indices[oc.indptr[v] : oc.indptr[v + 1]] if x[i]]
        cells = sg.indices[sg.indptr[v] : sg.indptr[v + 1]]
        sites = {i for c in cells for i in cs.indices[cs.indptr[c] : cs.indptr[c + 1]] if x[i]}
        its += [ids[i] for i in sorted(sites)]
        out[vt.index[v]] = its
    return out


def _ready_text(wave: float, thanks: str) -> str:
    if wave != wave:
        return ""
    if wave == 0:
        return "siap sekarang / ready now"
    k = int(wave)
    return f"siap pada gelombang {k} berkat {thanks} / ready in wave {k} thanks to {thanks}"


def _greedy_one(problem: Problem) -> float:
    """Million Rp the greedy plan pays for its first village (no budget)."""
    first = greedy(problem, np.inf, stop_after=1)
    return float(problem.items["cost"].to_numpy(float)[first].sum())


def _cheapest_fix(problem: Problem) -> float:
    """Cost (million Rp) of the cheapest plan making one village ready."""
    return solve(problem, 0.0, relax=frozenset({"budget"}), min_count=1, cheapest=True).cost
