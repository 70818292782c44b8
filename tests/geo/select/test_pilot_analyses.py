"""Clusters, agents, sensitivity, speed certainty, imputation and the readiness model.

Hand-built villages where the answer is known, and the bundled sample.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from despro.errors import InputError
from despro.grid.geodesic import haversine_km, village_points
from despro.rules.restate import recompute_tiers
from despro.select.agents import place_agents, plan_agents
from despro.select.clusters import find_clusters
from despro.select.impute import impute_indicators, rescore_imputed
from despro.select.problem import InfeasibleError, candidates, select_pilots
from despro.select.readiness_model import fit_readiness, read_labels, readiness_model
from despro.select.sensitivity import sensitivity, weight_draws
from despro.select.speedtests import p_meets, speed_uncertainty, threshold_mbps

KM = 1 / 111.32  # degrees of latitude per km (near the equator, enough for placing boxes)


def _villages(rows) -> gpd.GeoDataFrame:
    """Small square villages at (lon, lat) with a category and tier."""
    df = pd.DataFrame(rows, columns=["code", "lon", "lat", "flagship_category", "tier"])
    geom = [
        box(x - 0.2 * KM, y - 0.2 * KM, x + 0.2 * KM, y + 0.2 * KM)
        for x, y in zip(df["lon"], df["lat"], strict=True)
    ]
    g = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=geom, crs="EPSG:4326")
    g["village_name"] = g["code"]
    g["regency_code"] = "3404"
    return g.set_index("code")


# ---------------------------------------------------------------- clusters


def test_neighbours_sharing_a_category_form_one_cluster_far_ones_do_not():
    x0, y0 = 110.4, -7.8
    v = _villages(
        [
            ("c1", x0, y0, "ceramics", "ready"),
            ("c2", x0 + 3 * KM, y0, "ceramics", "ready"),  # 3 km from c1
            ("c3", x0 + 6 * KM, y0, "ceramics", "near-ready"),  # 3 km from c2, 6 km from c1
            ("c4", x0 + 60 * KM, y0, "ceramics", "ready"),  # far away, alone
            ("w1", x0 + 1 * KM, y0, "weaving", "ready"),  # near, other category, alone
            ("n1", x0, y0 + 1 * KM, "ceramics", "not ready"),  # near, but not ready
            ("d1", x0 + 60 * KM, y0 + 2 * KM, "ceramics", "ready"),  # 2 km from c4
        ]
    )
    members, clusters = find_clusters(v, eps_km=5, min_villages=2)
    cid = members.set_index("village_code")["cluster_id"]
    assert cid["c1"] == cid["c2"] == cid["c3"]  # chained through c2
    assert cid["c4"] == cid["d1"] != cid["c1"]
    assert "w1" not in cid and "n1" not in cid
    first = clusters.set_index("cluster_id").loc[cid["c1"]]
    assert first["n_villages"] == 3 and first["category"] == "ceramics"
    assert first["span_km"] == pytest.approx(6, rel=0.02)
    # a stricter radius splits the chain
    members2, _ = find_clusters(v, eps_km=2.5, min_villages=2)
    assert not set(members2["village_code"]) & {"c1", "c2", "c3"}
    # a run without a products layer has no category to cluster on
    none, empty = find_clusters(v.drop(columns="flagship_category"))
    assert none.empty and empty.empty


# ---------------------------------------------------------------- agents


def test_agents_cover_every_pick_with_the_fewest_agents():
    x0, y0 = 110.4, -7.8
    picks = pd.DataFrame(
        {
            "village_code": ["a", "b", "c", "d"],
            "lon": [x0, x0 + 2 * KM, x0 + 40 * KM, x0 + 41 * KM],
            "lat": [y0] * 4,
        }
    )
    sites = pd.DataFrame(
        {
            "site_type": "village",
            "site_code": list("abcd") + ["m"],
            "site_name": "",
            "lon": [*picks["lon"], x0 + 1 * KM],
            "lat": [y0] * 5,
        }
    )
    plan = place_agents(picks, sites, radius_km=5)
    assert plan.method == "set covering" and len(plan.agents) == 2
    assert plan.assignment["covered"].all()
    one = place_agents(picks, sites, radius_km=5, count=1)
    assert one.method == "maximal covering" and one.covered_share == 0.5


def test_agents_on_the_sample_cover_within_the_radius(sample_result):
    picks = select_pilots(sample_result, marginal=False).picks["village_code"].tolist()
    plan = plan_agents(sample_result, picks, radius_km=3.0)
    a = plan.assignment.set_index("village_code")
    assert plan.covered_share == 1.0 and set(a.index) == set(picks)
    # recompute each pick's distance to its agent independently (pyproj geodesic)
    from pyproj import Geod

    lon, lat = village_points(sample_result.villages.loc[picks])
    ag = plan.agents.set_index("agent_id").loc[a["agent_id"]]
    _, _, d_m = Geod(ellps="WGS84").inv(lon, lat, ag["lon"].to_numpy(), ag["lat"].to_numpy())
    # haversine on the mean sphere vs WGS84: at most 0.6 % apart (north-south, low latitude)
    assert np.allclose(a["agent_distance_km"], d_m / 1000, rtol=0.006)
    assert (a["agent_distance_km"] <= 3.0).all()
    for _, row in plan.agents.iterrows():  # each agent's list is what lies within R
        served = row["villages_covered"].split(";")
        d = haversine_km(
            row["lon"], row["lat"], *village_points(sample_result.villages.loc[served])
        )
        assert (d <= 3.0).all()


# ---------------------------------------------------------------- sensitivity


@pytest.fixture(scope="module")
def sens_inputs(sample_result):
    sel = sample_result.config.selection.model_copy(
        update={
            "sensitivity": (
                sample_result.config.selection.sensitivity.model_copy(
                    update={"draws": 200, "threshold_factors": [0.8, 1.2]}
                )
            )
        }
    )
    cands = candidates(sample_result.villages, sample_result.criteria, sample_result.config, sel)
    return sel, cands


def test_sensitivity_shares_are_in_0_1_and_reproducible(sample_result, sens_inputs):
    sel, cands = sens_inputs
    a = sensitivity(sample_result, cands, sel)
    b = sensitivity(sample_result, cands, sel)
    for col in ("weight_share", "threshold_share"):
        s = a.villages[col]
        assert s.between(0, 1).all()
        pd.testing.assert_series_equal(s, b.villages[col])
    # every draw and every scenario puts exactly N villages in the top N
    assert a.villages["weight_share"].sum() == pytest.approx(sel.size)
    assert a.villages["threshold_share"].sum() == pytest.approx(sel.size)
    w = sample_result.config.criteria.weights
    assert np.array_equal(a.weights, weight_draws(w, 200, sel.sensitivity.concentration, 42))
    assert not np.array_equal(a.weights, weight_draws(w, 200, sel.sensitivity.concentration, 7))
    assert (a.villages["robust"] == (a.villages["weight_share"] >= 0.8)).all()


def test_weight_draws_centre_on_the_configured_weights():
    w = weight_draws({"P1": 2, "P2": 1, "P3": 1, "I1": 1, "I2": 1, "I3": 0}, 4000, 50, 1)
    assert np.allclose(w.sum(axis=1), 1) and (w[:, 5] == 0).all()
    assert np.allclose(w.mean(axis=0), [2 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 0], atol=0.01)


def test_without_spread_the_monte_carlo_reproduces_the_run(sample_result, sens_inputs):
    """Draws pinned to the configured weights and a factor-1 sweep give the run's top N."""
    sel, cands = sens_inputs
    pinned = sel.model_copy(
        update={
            "sensitivity": sel.sensitivity.model_copy(
                update={"concentration": 1e9, "threshold_factors": [1.0]}
            )
        }
    )
    s = sensitivity(sample_result, cands, pinned).villages
    base = s.index[s["in_top_n"]]
    assert len(base) == sel.size
    assert (s.loc[base, "weight_share"] == 1).all() and s["weight_share"].sum() == sel.size
    assert (s["threshold_share"] == s["in_top_n"].astype(float)).all()
    ranked = sample_result.villages[sample_result.villages["tier"].isin(sel.tiers)]
    assert set(base) == set(ranked.sort_values("rank").head(sel.size).index)


def test_restate_reproduces_the_pipeline(sample_result):
    crit = sample_result.config.criteria
    rs = recompute_tiers(sample_result.criteria, crit.weights, crit.near_ready_fraction)
    v = sample_result.villages
    assert (rs.tier.reindex(v.index) == v["tier"]).all()
    assert np.allclose(rs.score.reindex(v.index), v["score"], equal_nan=True)


# ---------------------------------------------------------------- speed tests


def test_speed_probability_follows_the_documented_model(sample_result):
    # sqrt(4) * ln(20 / 10) / 1 = 1.386 -> Phi = 0.917
    assert p_meets(20, 4, 10, 1.0) == pytest.approx(0.9172, abs=1e-4)
    assert p_meets(10, 50, 10, 1.0) == pytest.approx(0.5)
    more = p_meets([15, 15, 15], [2, 20, 200], 10, 1.0)
    less = p_meets([8, 8, 8], [2, 20, 200], 10, 1.0)
    assert np.all(np.diff(more) > 0) and np.all(np.diff(less) < 0)
    assert np.isnan(p_meets([np.nan, 15], [10, 0], 10, 1.0)).all()  # unknown, never a pass
    cfg = sample_result.config
    assert threshold_mbps(cfg) == 10.0  # rule X1
    sp = speed_uncertainty(sample_result.villages, 10.0, cfg.selection.speed)
    tests = sample_result.villages["speedtest_tests"]
    assert (sp["few_speed_tests"] == ~(tests >= cfg.selection.speed.min_tests)).all()
    assert sp["p_download_meets"].between(0, 1).all()
    assert (sp["download_ci95_low_mbps"] <= sp["download_mbps"]).all()
    cells = speed_uncertainty(sample_result.cells, 10.0, cfg.selection.speed)
    untested = ~(sample_result.cells["speedtest_tests"].fillna(0) > 0)
    assert untested.any() and cells.loc[untested, "p_download_meets"].isna().all()
    assert cells.loc[untested, "few_speed_tests"].all()
    assert cells.loc[~untested, "p_download_meets"].between(0, 1).all()


# ---------------------------------------------------------------- imputation


def test_imputed_values_are_flagged_and_unknown_never_becomes_pass(sample_result):
    v = sample_result.villages
    missing = v["pct_households_computer"].isna()
    assert missing.sum() == 88  # regency 3403 publishes no computer-ownership rate
    imp = impute_indicators(v, sample_result.config.selection.impute)
    flag = imp.values["pct_households_computer_imputed"]
    assert (flag == missing).all()
    filled = imp.values["pct_households_computer"]
    known = v.loc[~missing, "pct_households_computer"]
    assert (filled[~missing] == known).all()  # known values untouched
    assert filled[missing].between(known.min(), known.max()).all()
    assert v["pct_households_computer"].isna().sum() == 88  # the run is not modified
    assert (v.loc[missing, "I2b_state"] == "unknown").all()
    out = rescore_imputed(v, sample_result.criteria, sample_result.config, imp)
    assert (out["tier"] == v["tier"]).all()
    assert out.loc[missing, "imputed"].all() and not out.loc[~missing, "imputed"].any()
    assert out.loc[missing, "imputed_rules"].str.match(r"^I2b=(pass|fail)$").all()


def _blank(result, code: str, rule: str, variable: str):
    """A copy of the run where one village's rule value is unknown (data not published)."""
    long = result.criteria.copy()
    rows = (long["village_code"] == code) & (long["rule"] == rule)
    long.loc[rows, ["value", "margin"]] = np.nan
    long.loc[rows, ["state", "evidence"]] = ["unknown", "none"]
    crit = result.config.criteria
    rs = recompute_tiers(long, crit.weights, crit.near_ready_fraction, restate=False)
    v = result.villages.copy()
    v.loc[code, variable] = np.nan
    v["tier"], v["score"] = rs.tier.reindex(v.index), rs.score.reindex(v.index)
    return SimpleNamespace(villages=v, criteria=long, config=result.config)


def test_imputed_tiers_are_used_only_when_opted_into(sample_result):
    ready = sample_result.villages
    code = ready.index[(ready["tier"] == "ready") & (ready["regency_code"] == "3471")][0]
    run2 = _blank(sample_result, code, "I2b", "pct_households_computer")
    assert run2.villages.loc[code, "tier"] == "undetermined"
    imp = impute_indicators(run2.villages, run2.config.selection.impute)
    out = rescore_imputed(run2.villages, run2.criteria, run2.config, imp)
    assert out.loc[code, "tier_imputed"] == "ready" and out.loc[code, "imputed"]
    n_all = int(out["tier_imputed"].isin(["ready", "near-ready"]).sum())
    sel = run2.config.selection.model_copy(update={"size": n_all, "max_per_regency": 50})
    with pytest.raises(InfeasibleError):  # without opting in, the village is not eligible
        select_pilots(run2, sel, out, marginal=False)
    opted = select_pilots(
        run2, sel.model_copy(update={"use_imputed": True}), out, marginal=False
    ).picks.set_index("village_code")
    assert code in opted.index and opted.loc[code, "imputed"]
    assert not opted.drop(index=code)["imputed"].any()


# ---------------------------------------------------------------- readiness model


@pytest.fixture(scope="module")
def labels_csv(sample_result, tmp_path_factory):
    """Synthetic labels: well-connected, well-scored villages sell online (plus noise)."""
    v = sample_result.villages
    rng = np.random.default_rng(3)
    sells = (
        (v["pct_area_4g_coverage"] > 60)
        & (v["courier_distance_m"] < 1500)
        & (rng.random(len(v)) > 0.15)
    ) | (rng.random(len(v)) < 0.03)
    path = tmp_path_factory.mktemp("labels") / "sellers.csv"
    pd.DataFrame({"village_code": v.index, "active_sellers": sells.astype(int)}).to_csv(
        path, index=False
    )
    return path


def test_readiness_model_never_trains_on_a_test_regency(sample_result, labels_csv):
    m = readiness_model(sample_result, labels_csv, folds=5)
    v = sample_result.villages
    assert len(m.folds) == 5
    for _, f in m.folds.iterrows():
        test, train = set(f["test_regencies"].split(";")), set(f["train_regencies"].split(";"))
        assert not test & train
        assert test | train == set(v["regency_code"])
    tested = [r for t in m.folds["test_regencies"] for r in t.split(";")]
    assert sorted(tested) == sorted(set(v["regency_code"]))  # each regency tested once
    # every out-of-fold probability comes from the fold that held out its regency
    fold_of = {
        r: f
        for f, t in zip(m.folds["fold"], m.folds["test_regencies"], strict=True)
        for r in t.split(";")
    }
    p = m.predictions
    assert (p["fold"] == v["regency_code"].map(fold_of)).all()
    assert p["oof_prob"].between(0, 1).all() and p["readiness_prob"].between(0, 1).all()
    # the labels follow two indicators: the model finds them and ranks well out of fold
    assert m.scores["roc_auc_pooled_oof"] > 0.75
    assert set(m.importances["feature"].head(3)) & {"pct_area_4g_coverage", "courier_distance_m"}
    assert np.isfinite(m.importances["importance_mean"]).all()


def test_readiness_labels_are_checked(sample_result, tmp_path):
    codes = sample_result.villages.index
    pos = tmp_path / "pos.csv"
    pd.DataFrame(
        {"village_code": [f"{c[:2]}.{c[2:4]}.{c[4:6]}.{c[6:]}" for c in codes[:30]]}
    ).to_csv(pos, index=False)
    labels, notes = read_labels(pos, codes)
    assert labels.sum() == 30 and labels.notna().all()  # others taken as negatives
    assert any("negative" in n for n in notes)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"village_code": codes[:3], "active_sellers": ["1", "maybe", "0"]}).to_csv(
        bad, index=False
    )
    with pytest.raises(InputError, match="row 3.*maybe"):
        read_labels(bad, codes)
    one = pd.Series(np.where(np.arange(len(codes)) % 2, 1.0, 0.0), index=codes)
    only = sample_result.villages[sample_result.villages["regency_code"] == "3401"]
    with pytest.raises(InputError, match="at least 2"):
        fit_readiness(only, one, ["download_mbps"])
