"""The honest score: missing data never flatter a village (worst case, best case, share)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from despro.config.settings import default_rules
from despro.rules.criteria import CRITERIA, combine, evaluate
from despro.rules.restate import recompute_tiers
from despro.rules.score import CAP, composite, honest_score, rank, tiers

GATES = [r for r in default_rules() if r.role == "gate"]
EQUAL = {c: 1.0 for c in CRITERIA}


def _long(rows: list[dict[str, float]]):
    """Long rule table of villages v0, v1, ... whose values are given per variable."""
    values = pd.DataFrame(rows, index=[f"v{i}" for i in range(len(rows))])
    return evaluate(values.reindex(columns=[r.variable for r in GATES]), GATES, {})


def _at(factor: float, **unknown: bool) -> dict[str, float]:
    """Every gate variable at ``factor`` x its threshold; the named ones unknown."""
    return {r.variable: np.nan if unknown.get(r.variable) else factor * r.threshold for r in GATES}


def _scored(long, weights=EQUAL):
    states = combine(long)
    out = composite(long, weights).reindex(states.index)
    out["tier"] = tiers(long, states, 0.2)
    return out


def test_everything_known_at_twice_the_thresholds_scores_100():
    s = _scored(_long([_at(2.0)])).iloc[0]
    assert (s["tier"], s["score"], s["score_best"], s["score_known_share"]) == (
        "ready",
        100.0,
        100.0,
        1.0,
    )


def test_one_unknown_criterion_counts_0_and_no_surplus_in_the_worst_case():
    # five criteria at twice their thresholds, I3 unknown: the known-only mean said 100
    s = _scored(_long([_at(2.0, courier_companies=True)])).iloc[0]
    assert s["tier"] == "undetermined"
    assert s["score"] == pytest.approx(50.0 * 5 / 6)  # each met criterion counts 1, I3 0
    assert s["score_best"] == pytest.approx(100.0)  # I3 at the cap: ready at 100
    assert s["score_known_share"] == pytest.approx(5 / 6)
    ready = _scored(_long([_at(1.0)])).iloc[0]  # exactly at every threshold
    assert ready["tier"] == "ready" and ready["score"] == pytest.approx(50.0)
    assert s["score"] < ready["score"]


def test_an_unknown_rule_makes_its_criterion_unknown_though_another_rule_passes():
    # I2a passes at twice its threshold, I2b unknown: I2 is unknown, not 2
    s = _scored(_long([_at(2.0, pct_households_computer=True)])).iloc[0]
    assert s["score_known_share"] == pytest.approx(5 / 6)
    assert s["score"] == pytest.approx(50.0 * 5 / 6)


def test_a_failing_criterion_caps_the_best_case_below_50():
    row = _at(2.0, courier_companies=True)
    row["pct_individuals_mobile_phone"] = 25.0  # I2a at half its threshold: fails
    s = _scored(_long([row])).iloc[0]
    assert s["tier"] == "not ready"
    assert s["score"] == pytest.approx(50.0 * (4 + 0.5 + 0) / 6)
    assert s["score_best"] == pytest.approx(50.0 * (4 + 0.5 + 1) / 6)


def test_nothing_known_has_no_score_and_weight_0_does_not_count():
    s = _scored(_long([_at(1.0, **{r.variable: True for r in GATES})])).iloc[0]
    assert np.isnan(s["score"]) and np.isnan(s["score_best"]) and s["score_known_share"] == 0
    w = {**EQUAL, "I3": 0.0}
    s = _scored(_long([_at(2.0, courier_companies=True)]), w).iloc[0]
    assert s["score"] == s["score_best"] == pytest.approx(100.0)
    assert s["score_known_share"] == 1.0


def test_every_criterion_short_of_a_rule_scores_0_not_unknown():
    # as nationally: one rule of each two-rule criterion known, every other rule unknown
    keep = {"pct_households_internet", "pct_individuals_mobile_phone"}
    row = _at(2.0, **{r.variable: r.variable not in keep for r in GATES})
    s = _scored(_long([row])).iloc[0]
    assert (s["score"], s["score_known_share"]) == (0.0, 0.0)
    assert s["score_best"] == pytest.approx(100.0)


def test_weight_draws_give_the_score_of_each_weighting():
    att = np.array([[2.0, 1.5, 0.2], [1.0, 1.2, 1.9]])
    met = np.array([False, True])
    draws = np.array([[1.0, 1.0, 1.0], [0.2, 0.3, 0.5]])
    both = honest_score(att, met, draws)
    for d in range(len(draws)):
        assert both[:, d] == pytest.approx(honest_score(att, met, draws[d]))
    assert both[0, 0] == pytest.approx(50.0 * (1 + 1 + 0.2) / 3)
    assert both[1, 0] == pytest.approx(50.0 * (1 + 1.2 + 1.9) / 3)


# a value per gate variable, as a multiple of its threshold (exact hits included): any
# value or unknown; passing or unknown (undetermined villages); passing (ready villages)
PASSING = st.one_of(st.sampled_from([1.0, 2.0, 3.0]), st.floats(1.0, 3.0))
ANY = st.one_of(st.none(), st.sampled_from([0.0, 0.85]), st.floats(0.0, 3.0), PASSING)
OPEN = st.one_of(st.none(), PASSING)
VILLAGE = st.one_of(*(st.fixed_dictionaries({r.variable: f for r in GATES}) for f in (ANY, OPEN)))
READY = st.fixed_dictionaries({r.variable: PASSING for r in GATES})
WEIGHT = st.floats(0.05, 5.0)


@settings(max_examples=200, deadline=None)
@given(
    villages=st.lists(VILLAGE, min_size=1, max_size=25),
    ready_villages=st.lists(READY, min_size=1, max_size=3),
    weights=st.fixed_dictionaries({c: WEIGHT for c in CRITERIA}),
)
def test_no_village_short_of_every_criterion_outscores_a_ready_one(
    villages, ready_villages, weights
):
    villages = villages + ready_villages
    thr = {r.variable: r.threshold for r in GATES}
    rows = [
        {v: np.nan if f is None else f * max(thr[v], 1.0) for v, f in row.items()}
        for row in villages
    ]
    s = _scored(_long(rows), weights)
    ready = s.loc[s["tier"] == "ready", "score"]
    assert len(ready) >= len(ready_villages)
    others = s.loc[s["tier"] != "ready", "score"].dropna()
    if len(others):
        assert others.max() <= ready.min() + 1e-9
    undetermined = s.loc[s["tier"] == "undetermined", "score"].dropna()
    if len(undetermined):
        assert undetermined.max() < ready.min()  # an unknown weighted criterion costs
    scored = s.dropna(subset=["score"])
    assert (scored["score"] <= scored["score_best"] + 1e-9).all()
    full = scored[scored["score_known_share"] == 1.0]
    assert np.array_equal(full["score"], full["score_best"])
    assert (s["score"].dropna().between(0, 50 * CAP + 1e-9)).all()
    # rank: tier first, so a ready village always ranks above every other one
    r = rank(s["tier"], s["score"])
    if (s["tier"] != "ready").any():
        assert r[s["tier"] == "ready"].max() < r[s["tier"] != "ready"].min()


def test_demo_sample_no_undetermined_village_above_the_best_ready(sample_result):
    v = sample_result.villages
    ready = v.loc[v["tier"] == "ready", "score"]
    undetermined = v.loc[v["tier"] == "undetermined", "score"]
    assert len(ready) and len(undetermined)
    assert undetermined.max() < ready.max()
    assert undetermined.max() < ready.min()  # not even above the weakest ready village
    assert (v["score_known_share"][v["tier"] == "undetermined"] < 1).all()
    assert (v["score"] <= v["score_best"]).all()
    full = v["score_known_share"] == 1.0
    assert (v.loc[full, "score"] == v.loc[full, "score_best"]).all()


def test_rescoring_in_memory_gives_the_run(sample_result):
    cfg = sample_result.config.criteria
    rs = recompute_tiers(sample_result.criteria, cfg.weights, cfg.near_ready_fraction)
    v = sample_result.villages
    pd.testing.assert_series_equal(rs.score.reindex(v.index), v["score"], check_names=False)
    pd.testing.assert_series_equal(
        rs.score_best.reindex(v.index), v["score_best"], check_names=False
    )
    pd.testing.assert_series_equal(
        rs.score_known_share.reindex(v.index), v["score_known_share"], check_names=False
    )
    assert (rs.rank.reindex(v.index) == v["rank"]).all()
