"""Candidate 4G sites: the vectorised candidates against a brute-force reference, and
what thinning keeps (every village that can be made ready) and what it can lose (cost
only: under a budget, never more villages than without thinning)."""

from __future__ import annotations

import itertools

import h3
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from despro.config.plan import PlanConfig
from despro.config.settings import default_rules
from despro.config.vocab import FAIL, PASS
from despro.grid.cells import cell_centres, str_to_cells
from despro.grid.geodesic import haversine_km
from despro.rollout.problem import PlanInputs, Problem, build_problem
from despro.rollout.reduce import merge_cells
from despro.rollout.solve import ready_given, solve


def synthetic_inputs(seed: int, villages: int = 30, k: int = 14) -> PlanInputs:
    """A hexagonal patch of res-8 cells (``k`` rings) in East Java split into villages
    (nearest of random seed cells); a few covered cells, random backbone distances.
    Every rule but I1b passes, so sites alone decide (scope "infrastructure")."""
    rng = np.random.default_rng(seed)
    centre = h3.latlng_to_cell(-7.9, 112.6, 8)
    cells = np.sort(str_to_cells(h3.grid_disk(centre, k)))
    lon, lat = cell_centres(cells)
    seeds = rng.choice(len(cells), villages, replace=False)
    d = haversine_km(lon[:, None], lat[:, None], lon[seeds][None, :], lat[seeds][None, :])
    owner = np.argmin(d, axis=1)
    weights = sp.csr_matrix((np.ones(len(cells)), (owner, np.arange(len(cells)))))
    den = np.full(len(cells), 7.4e5)
    num = np.where(rng.random(len(cells)) < 0.08, den, 0.0)
    bb = rng.uniform(0, 35_000, len(cells))
    cc = pd.DataFrame(
        {
            "pct_area_4g_coverage__num": num,
            "pct_area_4g_coverage__den": den,
            "backbone_distance_m": bb,
        }
    )
    rate = 100.0 * (weights @ num) / (weights @ den)
    codes = [f"3507{i:06d}" for i in range(villages)]
    v = pd.DataFrame(
        {
            "village_name": [f"Desa {i}" for i in range(villages)],
            "regency_code": "3507",
            "province_code": "35",
            "tier": "not ready",
            "population": 1000.0,
            "households": 250.0,
            "pct_area_4g_coverage": rate,
        },
        index=pd.Index(codes, name="village_code"),
    )
    rules = default_rules()
    for r in rules:
        if r.role == "gate":
            v[f"{r.id}_state"] = PASS
    v["I1b_state"] = np.where(rate >= 50.0, PASS, FAIL)
    vlon = np.asarray(weights @ lon) / np.asarray(weights.sum(axis=1)).ravel()
    vlat = np.asarray(weights @ lat) / np.asarray(weights.sum(axis=1)).ravel()
    return PlanInputs(v, vlon, vlat, rules, {}, (), 0.2, cells, cc, weights)


def config(thin="auto", **site) -> PlanConfig:
    """Sites only (no outlets or programmes), scope infrastructure, exact solves."""
    return PlanConfig(
        scope="infrastructure",
        gap=0.0,
        priority_regions=[],
        site={"thin_resolution": thin, **site},
        outlet={"enabled": False},
        programme={"enabled": False},
    )


def test_unthinned_candidates_match_a_brute_force_reference():
    """Without thinning, the candidates are the open cells of villages short of coverage
    within max_backbone_km of the backbone or near_site_km of a covered cell, and each
    covers the open cells within radius_km (haversine), costed with its spur."""
    inp = synthetic_inputs(3)
    cfg = config("off")
    p = build_problem(inp, cfg)
    lon, lat = cell_centres(inp.cells)
    cc = inp.cell_columns
    num, den = cc["pct_area_4g_coverage__num"].to_numpy(), cc["pct_area_4g_coverage__den"]
    short = inp.villages["pct_area_4g_coverage"].to_numpy() < 50.0
    open_cells = np.flatnonzero(
        (np.asarray(inp.weights[np.flatnonzero(short)].sum(axis=0)).ravel() > 0)
        & (num < den.to_numpy())
    )
    covered = np.flatnonzero(num >= 0.5 * den.to_numpy())
    d_cov = haversine_km(
        lon[open_cells][:, None], lat[open_cells][:, None], lon[covered], lat[covered]
    ).min(axis=1)
    bb = cc["backbone_distance_m"].to_numpy()[open_cells] / 1000.0
    eligible = (d_cov <= 5.0) | (bb <= 20.0)
    # dominated sites go at build time: every eligible cell is a candidate or dominated
    sites = p.items[p.items["kind"] == "site"]
    ids = set(sites["h3"])
    h3s = {h3.int_to_str(int(c)) for c in inp.cells[open_cells[eligible]]}
    assert ids <= h3s and len(ids) > 0.3 * len(h3s)
    radio = d_cov[eligible] <= 5.0
    want = np.where(radio, 2600.0, 2600.0 + 150.0 * bb[eligible])
    got = dict(zip(sites["h3"], sites["cost"], strict=True))
    for h, c in zip(inp.cells[open_cells[eligible]], want, strict=True):
        if h3.int_to_str(int(h)) in got:
            assert got[h3.int_to_str(int(h))] == pytest.approx(c)
    # reach: the gain cells within radius_km of each site (haversine)
    cs = p.cell_site.tocsc()
    gl, gt = cell_centres(inp.cells[open_cells])
    for j in np.flatnonzero((p.items["kind"] == "site").to_numpy()):
        row = p.items.iloc[j]
        dist = haversine_km(row["lon"], row["lat"], gl, gt)
        assert set(cs.indices[cs.indptr[j] : cs.indptr[j + 1]]) == set(np.flatnonzero(dist <= 2.0))


@pytest.mark.parametrize(("seed", "thin"), [(0, "auto"), (1, "auto"), (2, 6), (3, 6), (4, 7)])
def test_thinning_keeps_every_village_that_can_be_made_ready(seed, thin):
    """The targets (villages some set of candidates makes ready) are the same with and
    without thinning, and with no budget limit both plans make all of them ready."""
    inp = synthetic_inputs(seed)
    full = build_problem(inp, config("off"))
    thin_p = build_problem(inp, config(thin))
    n_full = int((full.items["kind"] == "site").sum())
    n_thin = int((thin_p.items["kind"] == "site").sum())
    assert n_thin < n_full
    t_full, t_thin = full.villages["target"], thin_p.villages["target"]
    assert t_full.sum() > 0
    assert t_thin.equals(t_full)
    everything = frozenset({"budget"})
    a = solve(full, 0.0, relax=everything)
    b = solve(thin_p, 0.0, relax=everything)
    assert a.ready.sum() == b.ready.sum() == int(t_full.sum())


def test_the_repair_is_what_keeps_them():
    """At a coarse parent resolution the best child per parent alone loses villages; the
    repair adds cells back for exactly those, and the note says how many."""
    inp = synthetic_inputs(2)
    p = build_problem(inp, config(6))
    note = next(n for n in p.notes if n.startswith("site candidates thinned"))
    assert "resolution 6" in note
    repaired = int(note.split(" village(s) stay reachable")[0].rsplit(" ", 1)[1])
    assert repaired > 0


@pytest.mark.parametrize("seed", range(3))
def test_what_thinning_can_lose_is_cost_only(seed):
    """Under a budget, the thinned optimum never makes more villages ready than the
    unthinned one (its candidates are a subset), both proved optimal."""
    inp = synthetic_inputs(seed, villages=10, k=7)
    full = build_problem(inp, config("off"))
    thin_p = build_problem(inp, config("auto"))
    for budget in (2600.0, 8000.0):
        a = solve(full, budget)
        b = solve(thin_p, budget)
        assert a.gap == 0.0 and b.gap == 0.0
        assert b.objective <= a.objective + 1e-9


def test_a_must_do_site_survives_thinning():
    inp = synthetic_inputs(1)
    off = build_problem(inp, config("off"))
    thin_p = build_problem(inp, config(6))
    kept = set(thin_p.items["item_id"])
    lost = [i for i in off.items["item_id"] if i.startswith("site:") and i not in kept]
    assert lost
    cfg = config(6).model_copy(update={"must_do": [lost[0]]})
    p = build_problem(inp, cfg)
    assert lost[0] in set(p.items["item_id"])
    assert solve(p, 1e9).chosen[p.items["item_id"].to_numpy() == lost[0]].all()


def test_merged_cells_keep_the_gains():
    """Cells covered by the same set of sites become one column whose gains add up."""
    cs = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 0], [1, 1, 0]], float))
    gain = sp.csr_matrix(np.array([[5, 1, 2, 0, 0], [0, 3, 0, 4, 7]], float))
    g2, c2 = merge_cells(gain, cs)
    assert c2.shape == (3, 3)
    rows = {tuple(r) for r in c2.toarray()}
    assert rows == {(1, 0, 1), (0, 1, 0), (1, 1, 0)}
    x = np.array([1.0, 0.0, 0.0])  # site 0 alone: cells 0, 2, 4
    z1 = np.minimum(cs @ x, 1)
    z2 = np.minimum(c2 @ x, 1)
    np.testing.assert_allclose(gain @ z1, g2 @ z2)


def random_problem(seed: int) -> Problem:
    """10 villages, 2 programmes, 4 outlets, 6 sites over 8 cells, some cells covered by
    the same sites (merged by the reductions); random costs, needs and weights."""
    rng = np.random.default_rng(seed)
    n = 10
    kinds = ["programme"] * 2 + ["outlet"] * 4 + ["site"] * 6
    m = len(kinds)
    items = pd.DataFrame(
        {
            "item_id": [f"{k}:{i}" for i, k in enumerate(kinds)],
            "kind": kinds,
            "h3": "",
            "village_code": [f"v{i % n}" for i in range(m)],
            "regency_code": "r1",
            "cost": rng.integers(1, 8, m).astype(float),
            "site_cost": np.nan,
            "spur_km": np.nan,
            "spur_cost": np.nan,
            "backhaul": "",
            "lon": 0.0,
            "lat": 0.0,
        }
    )
    prog = np.full(n, -1)
    prog[:2] = [0, 1]
    outlet_need = np.where(np.arange(n) < 5, 1.0, 0.0)
    cover = np.zeros((n, m))
    cover[:5, 2:6] = rng.random((5, 4)) < 0.5
    cover[np.arange(5), 2 + np.arange(5) % 4] = 1.0
    cells = 8
    cell_site = np.zeros((cells, m))
    base = rng.random((4, 6)) < 0.4
    base[np.arange(4), np.arange(4)] = True
    cell_site[:4, 6:] = base
    cell_site[4:, 6:] = base  # cells 4-7 repeat cells 0-3: merged
    gain = np.zeros((n, cells))
    gain[4:, :] = rng.integers(0, 3, (6, cells)) * 10.0
    site_need = np.where(np.arange(n) >= 4, 20.0, 0.0)
    weight = rng.integers(1, 3, n).astype(float)
    vt = pd.DataFrame(
        {
            "village_name": [f"V{i}" for i in range(n)],
            "regency_code": "r1",
            "province_code": "35",
            "tier": "not ready",
            "population": 100.0,
            "base_ready": False,
            "target": gain.sum(axis=1) >= site_need,
            "weight": weight,
            "objective_weight": weight,
            "priority_region": False,
            "uncertain": False,
            "needs": "",
            "why_not": "",
        },
        index=pd.Index([f"v{i}" for i in range(n)], name="village_code"),
    )
    return Problem(
        vt,
        items,
        prog,
        outlet_need,
        sp.csr_matrix(cover),
        site_need,
        sp.csr_matrix(gain),
        sp.csr_matrix(cell_site),
        np.zeros(m, bool),
        np.zeros(m, bool),
        PlanConfig(gap=0.0),
        [],
    )


def brute_force(problem: Problem, budget: float) -> float:
    cost = problem.items["cost"].to_numpy(float)
    w = problem.villages["objective_weight"].to_numpy(float)
    best = 0.0
    for bits in itertools.product([False, True], repeat=problem.n_items):
        x = np.array(bits)
        if cost[x].sum() <= budget:
            best = max(best, float(w[ready_given(problem, x)].sum()))
    return best


def test_merged_cells_and_the_pool_find_the_brute_force_optimum(monkeypatch):
    """With cells merged and the pool's MILP on the cheapest villages first, the plan is
    still the brute-force optimum (both steps are exercised: a small pool here)."""
    import despro.rollout.solve as solve_module

    monkeypatch.setattr(solve_module, "POOL_FACTOR", 0.05)
    pooled = merged = 0
    for seed in range(6):
        problem = random_problem(seed)
        for budget in (3.0, 6.0, 12.0):
            sol = solve(problem, budget)
            assert sol.objective == pytest.approx(brute_force(problem, budget))
            assert sol.gap == 0.0
            pooled += "pool_villages" in sol.extra["timings_s"]
            red = sol.extra["reduced"]
            merged += red["cells_kept"] < red["cells_useful"]
    assert pooled and merged


def test_a_problem_too_large_for_the_time_left_keeps_the_best_plan(monkeypatch):
    """Above what the LP gets through in the time left, the LP and the MILP are skipped:
    the greedy or pool plan is kept with the knapsack bound's gap (a number, and a true
    bound: never below the exact optimum's gap)."""
    import despro.rollout.solve as solve_module

    inp = synthetic_inputs(4, villages=10, k=7)
    p = build_problem(inp, config("auto"))
    exact = solve(p, 8000.0)
    monkeypatch.setattr(solve_module, "LP_VARIABLES_PER_S", 1e-6)
    sol = solve(p, 8000.0)
    assert "would not finish" in sol.status or sol.status.startswith("plan within")
    assert np.isfinite(sol.gap)
    assert sol.objective <= exact.objective + 1e-9
    assert sol.objective * (1 + sol.gap) >= exact.objective - 1e-9


def test_a_budget_below_any_village_names_its_price_even_when_too_large(monkeypatch):
    """When the cheapest single village cannot be proved in the time limit, the note
    gives the greedy plan's price for one village instead."""
    import despro.rollout.solve as solve_module
    from despro.rollout.waves import make_plan

    monkeypatch.setattr(solve_module, "LP_VARIABLES_PER_S", 1e-6)
    inp = synthetic_inputs(4, villages=10, k=7)
    cfg = config("auto").model_copy(update={"budget": 100.0})
    plan = make_plan(inp, cfg, curve=False, explain=False)
    note = next(n for n in plan.notes if "makes no village ready" in n)
    assert "the cheapest single village costs about 2,600 million Rp" in note  # one radio site
