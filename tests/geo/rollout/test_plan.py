"""The rollout plan: the MILP against brute force, budgets, must-do, infeasibility, waves,
and the demo's plan checked by evaluating the rules again."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from despro.config.plan import PlanConfig
from despro.errors import ConfigError, InfeasibleError
from despro.rollout.effects import apply_plan, evaluate_plan
from despro.rollout.problem import Problem, build_problem, inputs_from_result
from despro.rollout.solve import ready_given, solve
from despro.rollout.waves import make_plan, run_waves


def synthetic(seed: int, cfg: PlanConfig | None = None) -> Problem:
    """6 villages, 2 programmes, 3 outlets, 3 sites over 4 cells; random costs and needs."""
    rng = np.random.default_rng(seed)
    cfg = cfg or PlanConfig(gap=0.0)
    n = 6
    kinds = ["programme"] * 2 + ["outlet"] * 3 + ["site"] * 3
    items = pd.DataFrame(
        {
            "item_id": [f"{k}:{i}" for i, k in enumerate(kinds)],
            "kind": kinds,
            "h3": "",
            "village_code": [f"v{i % n}" for i in range(len(kinds))],
            "regency_code": ["r1", "r2"] * 4,
            "cost": rng.integers(1, 10, len(kinds)).astype(float),
            "site_cost": np.nan,
            "spur_km": np.nan,
            "spur_cost": np.nan,
            "backhaul": "",
            "lon": 0.0,
            "lat": 0.0,
        }
    )
    prog = np.array([0, 1, -1, -1, -1, -1])
    outlet_need = np.array([0, 1, 1, 2, 0, 0], float)
    cover = (rng.random((n, 3)) < 0.6).astype(float)
    cover[1:4, 0] = 1.0  # every outlet need is reachable
    cover[3, 1] = 1.0
    outlet_cover = sp.csr_matrix(np.hstack([np.zeros((n, 2)), cover, np.zeros((n, 3))]))
    site_need = np.array([0, 0, 0, 0, 30.0, 50.0])
    gain = np.zeros((n, 4))
    gain[4] = [20, 15, 0, 0]
    gain[5] = [0, 20, 25, 10]
    cell_site = np.zeros((4, len(kinds)))
    cell_site[[0, 1], 5] = 1
    cell_site[[1, 2], 6] = 1
    cell_site[[2, 3], 7] = 1
    weight = rng.integers(1, 4, n).astype(float)
    vt = pd.DataFrame(
        {
            "village_name": [f"V{i}" for i in range(n)],
            "regency_code": ["r1", "r2"] * 3,
            "province_code": "34",
            "tier": "not ready",
            "population": 100.0,
            "base_ready": False,
            "target": True,
            "weight": weight,
            "objective_weight": weight,
            "priority_region": False,
            "uncertain": False,
            "needs": "",
            "why_not": "",
        },
        index=pd.Index([f"v{i}" for i in range(n)], name="village_code"),
    )
    on = items["item_id"].isin(cfg.must_do).to_numpy()
    off = items["item_id"].isin(cfg.never_do).to_numpy()
    return Problem(
        vt,
        items,
        prog,
        outlet_need,
        outlet_cover,
        site_need,
        sp.csr_matrix(gain),
        sp.csr_matrix(cell_site),
        on,
        off,
        cfg,
        [],
    )


def brute_force(problem: Problem, budget: float, cap: float | None = None) -> float:
    cost = problem.items["cost"].to_numpy(float)
    reg = problem.items["regency_code"].to_numpy()
    w = problem.villages["objective_weight"].to_numpy(float)
    best = 0.0
    for bits in itertools.product([False, True], repeat=problem.n_items):
        x = np.array(bits)
        if cost[x].sum() > budget:
            continue
        if cap is not None and any(cost[x & (reg == r)].sum() > cap for r in set(reg)):
            continue
        best = max(best, float(w[ready_given(problem, x)].sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_milp_finds_the_brute_force_optimum(seed):
    problem = synthetic(seed)
    for budget in (0.0, 5.0, 12.0, 25.0):
        sol = solve(problem, budget)
        assert sol.objective == pytest.approx(brute_force(problem, budget))
        assert sol.cost <= budget + 1e-9
        assert sol.gap == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_the_regency_cap_and_the_cbc_solver_find_the_brute_force_optimum(seed):
    """The reductions keep dominance within a regency under a cap; CBC (started from the
    greedy plan) agrees with HiGHS."""
    cap = 9.0
    problem = synthetic(seed, PlanConfig(gap=0.0, max_cost_per_regency=cap))
    cbc = synthetic(seed, PlanConfig(gap=0.0, solver="cbc"))
    for budget in (6.0, 14.0, 30.0):
        sol = solve(problem, budget)
        assert sol.objective == pytest.approx(brute_force(problem, budget, cap))
        assert solve(cbc, budget).objective == pytest.approx(brute_force(cbc, budget))


def test_zero_budget_changes_nothing():
    problem = synthetic(1)
    sol = solve(problem, 0.0)
    assert not sol.chosen.any() and not sol.ready.any() and sol.cost == 0


@pytest.mark.parametrize("seed", range(4))
def test_doubling_the_budget_never_makes_fewer_ready(seed):
    problem = synthetic(seed)
    last = -1
    for budget in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
        n = int(solve(problem, budget).ready.sum())
        assert n >= last
        last = n


def test_a_must_do_item_is_in_every_plan():
    cfg = PlanConfig(gap=0.0, must_do=["outlet:3"])
    problem = synthetic(2, cfg)
    cost = problem.items.set_index("item_id").loc["outlet:3", "cost"]
    for budget in (cost, cost + 5, 40.0):
        assert solve(problem, budget).chosen[3]


def test_infeasible_must_do_names_the_budget():
    cfg = PlanConfig(gap=0.0, must_do=["outlet:3", "site:5"])
    problem = synthetic(3, cfg)
    with pytest.raises(InfeasibleError, match="above the budget") as e:
        solve(problem, 1.0)
    assert e.value.key == "plan.budget"


def test_infeasible_must_do_names_the_regency_cap():
    cfg = PlanConfig(gap=0.0, must_do=["programme:0", "outlet:4"], max_cost_per_regency=1.0)
    problem = synthetic(3, cfg)
    problem.items.loc[[0, 4], "cost"] = 2.0
    with pytest.raises(InfeasibleError) as e:
        solve(problem, 100.0)
    assert e.value.key == "plan.max_cost_per_regency"


def test_must_do_and_never_do_conflict_is_a_config_error():
    with pytest.raises(ValueError, match="both must_do and never_do"):
        PlanConfig(must_do=["site:x"], never_do=["site:x"])


def test_waves_are_monotone():
    problem = synthetic(4)
    sols = run_waves(problem, [3.0, 3.0, 3.0, 3.0])
    for a, b in itertools.pairwise(sols):
        assert (b.chosen >= a.chosen).all()  # items stay built
        assert (b.ready >= a.ready).all()  # a village ready in wave k stays ready


# -- the demo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(sample_result):
    cfg = sample_result.config.plan.model_copy(update={"waves": [3000.0, 3000.0, 3000.0]})
    inputs = inputs_from_result(sample_result)
    return inputs, make_plan(inputs, cfg, curve=True, explain=True)


def test_demo_plan_makes_villages_ready_that_the_rules_confirm(demo_plan, sample_result):
    inputs, plan = demo_plan
    s = plan.summary
    assert s["newly_ready"] > 0
    assert s["cost"] <= s["budget"]
    new = plan.villages.index[plan.villages["ready_wave"] > 0]
    assert len(new) == s["newly_ready"]
    # apply the chosen items to the values and evaluate every rule again
    after = evaluate_plan(inputs, apply_plan(inputs, plan.problem.config, plan.items))
    assert (after.loc[new, "tier"] == "ready").all()
    for c in ("I1", "I2", "I3"):
        assert (after.loc[new, c] == "pass").all()
    before = sample_result.villages
    assert (before.loc[new, "tier"] != "ready").all()
    # villages ready before stay ready; nothing else becomes ready unannounced
    was = before.index[before["tier"] == "ready"]
    assert (after.loc[was, "tier"] == "ready").all()
    assert set(after.index[after["tier"] == "ready"]) == set(was) | set(new)
    # the demo's villages fail I3 and I2 in numbers: the plan uses outlets and programmes
    assert {"outlet", "programme"} <= set(plan.items["kind"])


def test_demo_waves_and_curve(demo_plan):
    _, plan = demo_plan
    w = plan.waves
    assert w["wave"].tolist() == [0, 1, 2, 3]
    assert w["villages_ready"].is_monotonic_increasing
    assert (w["cumulative_cost"] <= w["cumulative_budget"] + 1e-6).all()
    c = plan.curve
    assert len(c) == plan.problem.config.curve_points
    assert c["newly_ready"].is_monotonic_increasing
    assert (c["cost_used"] <= c["budget"] + 1e-6).all()
    assert c["newly_ready"].iloc[0] == 0
    assert c["newly_ready"].iloc[-1] == plan.summary["targets"]


def test_demo_marginal_values_and_thanks(demo_plan):
    _, plan = demo_plan
    items = plan.items
    assert (items["marginal_villages"] >= 0).all()
    assert items["marginal_villages"].sum() > 0
    ready = plan.villages[plan.villages["ready_wave"] > 0]
    assert (ready["thanks_to"] != "").all()
    for ids in ready["thanks_to"]:
        assert set(ids.split(";")) <= set(items["item_id"])


def test_unknown_must_do_item_is_named(sample_result):
    cfg = sample_result.config.plan.model_copy(update={"must_do": ["site:nothere"]})
    with pytest.raises(ConfigError, match="must_do") as e:
        build_problem(inputs_from_result(sample_result), cfg)
    assert e.value.key == "plan.must_do"


def test_demo_infrastructure_scope_is_rechecked(sample_result):
    """scope = infrastructure: villages count once I1-I3 pass, P1-P3 aside."""
    cfg = sample_result.config.plan.model_copy(
        update={"scope": "infrastructure", "budget": 5000.0, "waves": []}
    )
    inputs = inputs_from_result(sample_result)
    plan = make_plan(inputs, cfg, curve=False, explain=False)
    v = plan.villages
    new = v.index[v["ready_wave"] > 0]
    assert len(new) > 0 and plan.summary["cost"] <= 5000.0
    for c in ("I1", "I2", "I3"):
        assert (v.loc[new, f"{c}_after"] == "pass").all()
    before = sample_result.villages.loc[new]
    assert not ((before[["I1_state", "I2_state", "I3_state"]] == "pass").all(axis=1)).any()
    assert plan.summary["targets"] > 24  # more villages than under scope 'ready'


def test_undetermined_villages_count_by_their_probability(sample_result):
    """undetermined = p_ready: a village whose unknown rule no intervention changes counts
    with that rule's modelled probability; excluded by default."""
    inputs = inputs_from_result(sample_result)
    v = inputs.villages
    for r in ("P1", "P2", "P3", "I2b"):
        v[f"{r}_prob"] = np.where(v[f"{r}_state"] == "unknown", 0.5, np.nan)
    base = sample_result.config.plan
    excl = build_problem(inputs, base)
    prob = build_problem(inputs, base.model_copy(update={"undetermined": "p_ready"}))
    more = prob.villages["target"] & ~excl.villages["target"]
    assert more.any()
    assert prob.villages.loc[more, "uncertain"].all()
    assert (prob.villages.loc[more, "weight"] < 1).all()
    assert (prob.villages.loc[more, "weight"] > 0).all()
    sol = solve(prob, 20000.0)
    assert sol.cost <= 20000.0


def test_above_the_milp_size_the_greedy_plan_is_kept(sample_result):
    cfg = sample_result.config.plan.model_copy(update={"max_milp_variables": 10})
    inputs = inputs_from_result(sample_result)
    problem = build_problem(inputs, cfg)
    sol = solve(problem, 9000.0)
    assert sol.status.startswith("greedy") and np.isnan(sol.gap)
    assert 0 < sol.cost <= 9000.0
    exact = solve(build_problem(inputs, sample_result.config.plan), 9000.0)
    assert 0 < (sol.ready.sum() - 13) <= (exact.ready.sum() - 13)
    plan = make_plan(inputs, cfg.model_copy(update={"waves": [3000.0, 3000.0]}), explain=False)
    assert plan.waves["villages_ready"].is_monotonic_increasing
    assert plan.curve["newly_ready"].is_monotonic_increasing


def test_no_candidate_at_all_is_an_empty_plan_with_its_reasons(sample_result):
    """Every intervention kind off: no item, no target; the plan is empty and says why."""
    base = sample_result.config.plan
    cfg = base.model_copy(
        update={
            "waves": [],
            "site": base.site.model_copy(update={"enabled": False}),
            "outlet": base.outlet.model_copy(update={"enabled": False}),
            "programme": base.programme.model_copy(update={"enabled": False}),
        }
    )
    plan = make_plan(inputs_from_result(sample_result), cfg, curve=True, explain=False)
    assert plan.summary["candidates"] == 0 and plan.summary["newly_ready"] == 0
    assert len(plan.items) == 0
    assert any("no village can be made ready" in n for n in plan.notes)


def test_the_knapsack_bound_is_a_bound():
    from despro.rollout.solve import knapsack_bound

    w = np.array([2.0, 1.0, 1.0, 3.0])
    c = np.array([4.0, 1.0, 0.0, 9.0])
    assert knapsack_bound(w, c, 0.0) == pytest.approx(1.0)  # the free one
    assert knapsack_bound(w, c, 5.0) == pytest.approx(4.0)  # 1 + 1 + 2
    assert knapsack_bound(w, c, 8.0) == pytest.approx(4.0 + 3.0 * 3.0 / 9.0)
    for seed in range(4):  # never below the optimum of a synthetic plan
        problem = synthetic(seed)
        vt = problem.villages
        own = np.where(
            problem.prog_item >= 0, problem.items["cost"].to_numpy()[problem.prog_item], 0
        )
        for budget in (5.0, 12.0):
            kb = knapsack_bound(vt["objective_weight"].to_numpy(float), own.astype(float), budget)
            assert kb >= brute_force(problem, budget) - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_the_knapsack_bound_with_shared_items_is_a_bound(seed):
    from despro.rollout.reduce import reduce
    from despro.rollout.solve import knapsack_bound, shared_floor

    problem = synthetic(seed)
    none = np.zeros(problem.n_items, bool)
    for budget in (3.0, 8.0, 15.0, 30.0):
        red = reduce(problem, none, none, budget)
        own = red.vcost + shared_floor(red, problem.items["cost"].to_numpy(float)[red.items])
        assert knapsack_bound(red.w, own, budget) >= brute_force(problem, budget) - 1e-9
