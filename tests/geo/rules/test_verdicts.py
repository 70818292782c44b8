"""The rules engine on integer codes (despro.rules.verdicts): the same answers as the long
table's functions, and a re-evaluation that reuses unchanged rules equals a fresh one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from despro.config.settings import Evidence, Rule
from despro.model import p_ready, p_ready_codes
from despro.rules.criteria import (
    combine,
    conflicts_table,
    criterion_codes,
    criterion_frame,
    evaluate_all,
    evaluate_verdicts,
    long_table,
)
from despro.rules.explain import explain, explain_codes
from despro.rules.score import (
    TIER_CODES,
    bounds_codes,
    composite,
    composite_codes,
    far_fail_codes,
    rank,
    rank_codes,
    tier_codes,
    tier_labels,
    tiers,
)
from despro.rules.verdicts import Verdicts
from despro.variables import Kind, Variable

WEIGHTS = {"P1": 1.0, "P2": 1.0, "P3": 2.0, "I1": 1.0, "I2": 1.0, "I3": 0.5}


def _var(name: str, level: str = "cells", lower_bound: bool = False) -> Variable:
    return Variable(
        name,
        Kind.RATE,
        "percent",
        "d",
        layer=f"layer_{name}",
        source="s.csv",
        vintage="2024",
        level=level,
        lower_bound=lower_bound,
    )


def _case(n: int = 400, seed: int = 3):
    """Villages with gaps, a rule with census evidence over a lower-bound coverage (so a
    threshold moves which evidence decides), an at-most rule and an info rule."""
    rng = np.random.default_rng(seed)
    codes = pd.Index([f"{15 + i % 3}0101{1 + i % 2}{i:03d}" for i in range(n)])

    def vals(lo, hi, missing):
        x = rng.uniform(lo, hi, n)
        return np.where(rng.random(n) < missing, np.nan, x)

    values = pd.DataFrame(
        {
            "lq": vals(0.8, 3, 0.05),
            "growth": vals(8, 40, 0.05),
            "distinct": vals(0.4, 1.5, 0.1),
            "internet": vals(25, 90, 0.05),
            "coverage": vals(40, 100, 0.1),
            "census_4g": np.where(rng.random(n) < 0.3, rng.integers(0, 2, n), np.nan),
            "phones": vals(45, 90, 0.0),
            "couriers": vals(0.9, 5, 0.1),
            "distance": vals(0, 40_000, 0.1),
        },
        index=codes,
    )
    variables = {c: _var(c) for c in values.columns}
    variables["coverage"] = _var("coverage", lower_bound=True)
    variables["census_4g"] = _var("census_4g", "census")
    rules = [
        Rule(id="P1", criterion="P1", variable="lq", op=">=", threshold=1.0),
        Rule(id="P2", criterion="P2", variable="growth", op=">=", threshold=10.0),
        Rule(id="P3", criterion="P3", variable="distinct", op=">=", threshold=0.5),
        Rule(id="I1a", criterion="I1", variable="internet", op=">=", threshold=30.0),
        Rule(
            id="I1b",
            criterion="I1",
            variable="coverage",
            op=">=",
            threshold=50.0,
            evidence=[Evidence(level="census", variable="census_4g", op=">=", threshold=1)],
        ),
        Rule(id="I2a", criterion="I2", variable="phones", op=">=", threshold=50.0),
        Rule(id="I3", criterion="I3", variable="couriers", op=">=", threshold=1.0),
        Rule(id="X2", criterion="I1", variable="distance", op="<=", threshold=20_000, role="info"),
    ]
    return values, rules, variables


def test_the_long_table_functions_equal_the_code_functions():
    values, rules, variables = _case()
    v = evaluate_verdicts(values, rules, variables)
    long, conflicts = evaluate_all(values, rules, variables)
    assert_frame_equal(long_table(v), long)
    assert_frame_equal(conflicts_table(v), conflicts)
    assert len(conflicts)  # census and coverage disagree somewhere

    states = criterion_codes(v)
    assert_frame_equal(criterion_frame(states, values.index), combine(long))
    tier = tier_codes(states, far_fail_codes(v, 0.2))
    tier_series = tiers(long, combine(long), 0.2)
    assert_series_equal(tier_labels(tier, values.index), tier_series)
    assert len(set(tier)) == 4  # the case exercises every tier

    sc = composite_codes(bounds_codes(v), WEIGHTS)
    frame = composite(long, WEIGHTS)
    for k in ("score", "score_best", "score_known_share"):
        np.testing.assert_array_equal(sc[k], frame[k].to_numpy())
    assert (sc["score"] <= sc["score_best"] + 1e-12)[~np.isnan(sc["score"])].all()
    np.testing.assert_array_equal(
        rank_codes(tier, sc["score"], v.code_order()),
        rank(tier_series, frame["score"]).to_numpy(),
    )

    undetermined = tier == TIER_CODES["undetermined"]
    why = explain_codes(v, undetermined, {"I3": "couriers"}, inputs={"I3": "courier"})
    assert_frame_equal(
        why, explain(long, tier_series, {"I3": "couriers"}, inputs={"I3": "courier"})
    )
    assert (why.loc[undetermined, "data_needed"] != "").all()

    probs = pd.DataFrame({"I1b_model_prob": np.linspace(0, 1, len(values))}, index=values.index)
    assert_frame_equal(p_ready_codes(v, probs), p_ready(long, probs, values.index))


@pytest.mark.parametrize(
    "change",
    [
        {"I1b": 30.0},  # lower-bound coverage: which evidence decides moves
        {"I1a": 25.0, "X2": 15_000.0},
        {},
    ],
)
def test_reusing_unchanged_rules_equals_a_fresh_evaluation(change):
    values, rules, variables = _case()
    before = evaluate_verdicts(values, rules, variables)
    long_before = long_table(before)
    new = [r.model_copy(update={"threshold": change[r.id]}) if r.id in change else r for r in rules]
    fresh = evaluate_verdicts(values, new, variables)
    again = evaluate_verdicts(values, new, variables, previous=before)
    reused = [p is q for p, q in zip(again.parts, before.parts, strict=True)]
    assert reused == [r.id not in change for r in rules]
    assert_frame_equal(long_table(again, (before, long_before)), long_table(fresh))
    assert_frame_equal(conflicts_table(again), conflicts_table(fresh))
    for k in ("state", "value", "threshold", "margin", "candidate", "evidence"):
        np.testing.assert_array_equal(getattr(again, k), getattr(fresh, k))
    if "I1b" in change:  # the threshold did move evidence: the spliced columns are exercised
        assert not np.array_equal(again.parts[4].pick, before.parts[4].pick)


def test_verdicts_from_an_edited_long_table():
    """A long table with villages in another order and a row missing still reads right."""
    values, rules, variables = _case(60)
    long, _ = evaluate_all(values, rules, variables)
    edited = long.sample(frac=1.0, random_state=1).iloc[1:].reset_index(drop=True)
    v = Verdicts.from_long(edited)
    assert list(v.rule_ids) == list(pd.unique(edited["rule"]))
    states = combine(edited)
    assert_frame_equal(
        states, combine(edited.sort_values(["rule", "village_code"])).loc[states.index]
    )
    got = tiers(edited, states, 0.2)
    assert got.index.equals(states.index) and got.isin(list(TIER_CODES)).all()
