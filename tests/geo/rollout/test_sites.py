"""Candidate 4G sites: the vectorised candidates against a brute-force reference, and
what thinning keeps (every village that can be made ready) and what it can lose (cost
only: under a budget, never more villages than without thinning)."""

from __future__ import annotations

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
from despro.rollout.problem import PlanInputs, build_problem
from despro.rollout.reduce import merge_cells
from despro.rollout.solve import solve


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
