"""Optimised pilot selection: every constraint holds in the chosen set, and it is optimal.

Runs on the bundled sample (300 villages, 5 regencies of DI Yogyakarta; 13 ready and
3 near-ready, all food & beverage) and on small hand-built problems where the
answer is known.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.errors import ConfigError, DesproError
from despro.select.problem import (
    InfeasibleError,
    SelectionProblem,
    candidates,
    explain,
    select_pilots,
    solve,
)

ALL_TIERS = ["ready", "near-ready", "undetermined", "not ready"]


def _sel(result, **update):
    return result.config.selection.model_copy(update=update)


def _check_constraints(picks: pd.DataFrame, sel, cands: pd.DataFrame) -> None:
    """What a planner checks in a shortlist, recomputed from the candidate table."""
    codes = picks["village_code"]
    assert len(codes) == sel.size and codes.is_unique
    c = cands.loc[codes]
    assert c.groupby("regency_code").size().max() <= sel.max_per_regency
    assert c["flagship_category"].nunique() >= sel.min_categories
    free = c[~c["fixed"]]
    assert free["tier"].isin(sel.tiers).all()
    if sel.courier_within_km is not None:
        assert (free["courier_distance_km"] <= sel.courier_within_km).all()
    assert not c["excluded"].any()
    assert set(sel.must_include) <= set(codes)


def test_default_shortlist_meets_constraints_and_beats_the_ranking(sample_result):
    sel = sample_result.config.selection
    s = select_pilots(sample_result)
    _check_constraints(s.picks, sel, s.candidates)
    assert s.objective == pytest.approx(s.candidates.loc[s.picks["village_code"], "value"].sum())
    # the plain ranking takes 7 from Kota Yogyakarta (3471); the cap of 5 binds
    top = sample_result.shortlist()
    assert (top.head(sel.size)["regency_code"] == "3471").sum() > sel.max_per_regency
    assert (s.picks["regency_code"] == "3471").sum() == sel.max_per_regency
    row = s.constraints.set_index("constraint").loc["max_per_regency"]
    assert row["binding"] and row["relax_gain"] > 0
    assert (
        s.picks.loc[s.picks["regency_code"] == "3471", "binding"]
        .str.contains("max_per_regency")
        .all()
    )
    # every pick's marginal value is what the objective loses without it
    assert (s.picks["marginal_value"] > 0).all()


def test_value_is_score_plus_product_potential_plus_region_bonus(sample_result):
    sel = _sel(sample_result, priority_regions=["bali"], product_weight=0.5, priority_bonus=10)
    c = candidates(sample_result.villages, sample_result.criteria, sample_result.config, sel)
    assert not c["priority_region"].any()  # the sample is Yogyakarta (34), not Bali (51)
    expect = c["score"].fillna(0) + 0.5 * c["product_score"].fillna(0)
    assert np.allclose(c["value"], expect)
    java = candidates(
        sample_result.villages,
        sample_result.criteria,
        sample_result.config,
        _sel(sample_result, priority_regions=["java"]),
    )
    assert java["priority_region"].all()
    assert np.allclose(java["value"] - c["value"], 10)


def test_optimum_matches_brute_force_on_a_small_instance(sample_result):
    """N = 4 of the 16 eligible, K = 2: enumerate all 1,820 sets and compare."""
    sel = _sel(sample_result, size=4, max_per_regency=2)
    s = select_pilots(sample_result, sel, marginal=False)
    pool = s.candidates[s.candidates["tier"].isin(sel.tiers)]
    combos = np.array(list(combinations(range(len(pool)), 4)))
    reg = pd.factorize(pool["regency_code"])[0][combos]
    ok = np.all([(reg == r).sum(axis=1) <= 2 for r in np.unique(reg)], axis=0)
    best = pool["value"].to_numpy()[combos].sum(axis=1)[ok].max()
    assert len(combos) == 1820 and s.objective == pytest.approx(best)


def test_diversity_courier_and_tier_constraints_hold(sample_result):
    sel = _sel(
        sample_result,
        size=8,
        max_per_regency=2,
        tiers=ALL_TIERS,
        min_categories=4,
        courier_within_km=1.0,
    )
    s = select_pilots(sample_result, sel)
    _check_constraints(s.picks, sel, s.candidates)
    assert s.picks["flagship_category"].nunique() >= 4
    assert (s.picks["courier_distance_km"] <= 1.0).all()
    cons = s.constraints.set_index("constraint")
    assert cons.loc["min_categories", "binding"]  # without it, food villages would win
    assert s.picks["binding"].str.contains("min_categories").any()


def test_unknown_courier_distance_never_passes_the_courier_filter(sample_result):
    v = sample_result.villages.copy()
    code = sample_result.shortlist().index[0]
    v.loc[code, "courier_distance_m"] = np.nan
    c = candidates(
        v, sample_result.criteria, sample_result.config, _sel(sample_result, courier_within_km=50.0)
    )
    assert not c.loc[code, "courier_ok"]
    assert "courier" in c.loc[code, "why_not"]


def test_a_fixed_pilot_stays_even_if_low_scoring(sample_result):
    v = sample_result.villages
    worst = v["score"].idxmin()
    assert v.loc[worst, "tier"] == "not ready"
    sel = _sel(sample_result, must_include=[worst], courier_within_km=1.0)
    s = select_pilots(sample_result, sel)
    _check_constraints(s.picks, sel, s.candidates)
    row = s.picks.set_index("village_code").loc[worst]
    assert row["fixed"] and row["pick"] == 1
    assert "must_include" in row["binding"]
    assert row["marginal_value"] < 0  # the shortlist would score higher without it
    dotted = f"{worst[:2]}.{worst[2:4]}.{worst[4:6]}.{worst[6:]}"
    again = select_pilots(sample_result, _sel(sample_result, must_include=[dotted]), marginal=False)
    assert worst in set(again.picks["village_code"])


def test_an_excluded_village_never_appears(sample_result):
    first = select_pilots(sample_result, marginal=False)
    best = first.picks.sort_values("value").iloc[-1]["village_code"]
    sel = _sel(sample_result, exclude=[best])
    s = select_pilots(sample_result, sel)
    assert best not in set(s.picks["village_code"])
    assert not s.picks["replaced_by"].str.contains(best).any()
    _check_constraints(s.picks, sel, s.candidates)


@pytest.mark.parametrize(
    "update, constraint, words",
    [
        ({"min_categories": 2}, "min_categories", "food_beverage"),
        ({"size": 20}, "size", "only 16 of 300"),
        ({"max_per_regency": 1}, "max_per_regency", "at most 3 pilots"),
        ({"regions": ["bali"]}, "size", "outside regions"),
        (
            {"size": 2, "must_include": ["3401012001", "3401012002", "3401012003"]},
            "must_include",
            "fixes 3 villages",
        ),
    ],
)
def test_infeasible_settings_name_the_constraint_and_the_fix(
    sample_result, update, constraint, words
):
    with pytest.raises(InfeasibleError) as err:
        select_pilots(sample_result, _sel(sample_result, **update))
    assert isinstance(err.value, DesproError)
    assert err.value.constraint == constraint
    assert f"selection.{constraint}" in str(err.value) and "Fix:" in str(err.value)
    assert words in str(err.value)


def _toy(rows) -> pd.DataFrame:
    """A hand-built candidate table (village code, regency, category, value)."""
    c = pd.DataFrame(rows, columns=["code", "regency_code", "flagship_category", "value"])
    c = c.set_index("code")
    for col, val in {
        "village_name": "",
        "province_code": "34",
        "flagship_product": "",
        "tier": "ready",
        "product_score": 50.0,
        "priority_region": True,
        "courier_distance_km": 0.5,
        "imputed": False,
        "tier_ok": True,
        "region_ok": True,
        "courier_ok": True,
        "fixed": False,
        "excluded": False,
        "why_not": "",
    }.items():
        c[col] = val
    c["score"] = c["value"]
    c["rank"] = c["value"].rank(ascending=False, method="first").astype(int)
    return c


def test_jointly_infeasible_constraints_are_diagnosed_by_the_solver(sample_config):
    # 3 categories exist, but two of them only in regency A, where K = 1 allows one pick
    c = _toy(
        [
            ("a1", "A", "x", 90),
            ("a2", "A", "y", 80),
            ("a3", "A", "z", 70),
            ("b1", "B", "x", 60),
            ("c1", "C", "x", 50),
        ]
    )
    sel = sample_config.selection.model_copy(
        update={"size": 3, "max_per_regency": 1, "min_categories": 3}
    )
    with pytest.raises(InfeasibleError) as err:
        solve(SelectionProblem(c, sel))
    msg = str(err.value)
    assert err.value.constraint == "max_per_regency"
    assert "without max_per_regency = 1 or without min_categories = 3" in msg


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_problems_with_diversity_match_brute_force(sample_config, seed):
    rng = np.random.default_rng(seed)
    rows = [
        (f"v{i:02d}", "ABC"[rng.integers(3)], "xyz"[rng.integers(3)], float(rng.integers(40, 100)))
        for i in range(12)
    ]
    c = _toy(rows)
    sel = sample_config.selection.model_copy(
        update={"size": 4, "max_per_regency": 2, "min_categories": 3}
    )
    combos = np.array(list(combinations(range(len(c)), 4)))
    reg = pd.factorize(c["regency_code"])[0][combos]
    cat = pd.factorize(c["flagship_category"])[0][combos]
    ok = np.all([(reg == r).sum(axis=1) <= 2 for r in range(3)], axis=0)
    ok &= np.array([len(set(row)) >= 3 for row in cat])
    if not ok.any():
        with pytest.raises(InfeasibleError):
            solve(SelectionProblem(c, sel))
        return
    best = c["value"].to_numpy()[combos].sum(axis=1)[ok].max()
    assert solve(SelectionProblem(c, sel)).objective == pytest.approx(best)


def test_toy_problem_marginal_values_and_replacements(sample_config):
    c = _toy(
        [
            ("a1", "A", "x", 90),
            ("a2", "A", "x", 85),
            ("b1", "B", "y", 60),
            ("b2", "B", "x", 70),
            ("c1", "C", "x", 40),
        ]
    )
    sel = sample_config.selection.model_copy(
        update={"size": 2, "max_per_regency": 1, "min_categories": 2}
    )
    p = SelectionProblem(c, sel)
    s = explain(p, solve(p)).picks.set_index("village_code")
    assert set(s.index) == {"a1", "b1"}  # b2 (70) is better than b1 but shares category x
    assert s.loc["a1", "marginal_value"] == pytest.approx(90 - 85)  # a2 replaces a1
    assert s.loc["a1", "replaced_by"] == "a2"
    # without b1 no other y exists: nothing can replace it
    assert np.isnan(s.loc["b1", "marginal_value"])
    assert "irreplaceable" in s.loc["b1", "replaced_by"]
    assert "min_categories" in s.loc["b1", "binding"]


def test_bad_codes_and_conflicts_are_config_errors(sample_result):
    with pytest.raises(ConfigError, match="selection.must_include.*9999999999"):
        select_pilots(sample_result, _sel(sample_result, must_include=["9999999999"]))
    code = sample_result.villages.index[0]
    with pytest.raises(ConfigError, match="both in must_include and exclude"):
        select_pilots(sample_result, _sel(sample_result, must_include=[code], exclude=[code]))


def test_selection_section_in_the_config(tmp_path):
    cfg = config_from_dict(
        {
            "villages": {"path": "v.gpkg"},
            "selection": {"size": 5, "regions": ["Java", "51"], "agents": {"radius_km": 3}},
        }
    )
    assert cfg.selection.regions == ["java", "51"] and cfg.selection.agents.radius_km == 3
    assert cfg.selection.priority_regions == ["sumatra", "java", "bali"]
    with pytest.raises(ConfigError, match="selection.regions.*jawa"):
        config_from_dict({"villages": {"path": "v.gpkg"}, "selection": {"regions": ["jawa"]}})
    with pytest.raises(ConfigError, match="selection.max_per_regency"):
        config_from_dict({"villages": {"path": "v.gpkg"}, "selection": {"max_per_regency": 0}})
