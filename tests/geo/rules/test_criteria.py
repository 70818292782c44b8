"""Despro rules: threshold edges, unknowns, criterion combination, tiers, scores."""

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import Rule, config_from_dict, default_rules
from despro.errors import ConfigError
from despro.rules.criteria import combine, evaluate, rule_states
from despro.rules.score import composite, rank, tiers


def _rule(op=">=", t=30.0, **kw):
    return Rule(id="I1a", criterion="I1", variable="x", op=op, threshold=t, **kw)


def test_exactly_at_threshold_passes_and_margin_sign():
    state, margin = rule_states(np.array([30.0, 29.999, 45.0, np.nan]), _rule())
    assert state.tolist() == ["pass", "fail", "pass", "unknown"]
    assert margin[1] == pytest.approx(-0.001)
    assert margin[2] == 15.0
    assert np.isnan(margin[3])


def test_at_most_rule():
    state, margin = rule_states(np.array([20_000.0, 25_000.0]), _rule("<=", 20_000.0))
    assert state.tolist() == ["pass", "fail"]
    assert margin[1] == -5000.0


def test_default_rules_are_table_1():
    r = {x.id: x for x in default_rules()}
    assert (r["I1a"].variable, r["I1a"].op, r["I1a"].threshold) == (
        "pct_households_internet",
        ">=",
        30.0,
    )
    assert r["I2a"].threshold == 50.0 and r["I2b"].threshold == 20.0
    assert r["I3"].variable == "courier_companies" and r["I3"].threshold == 1.0
    assert {x.criterion for x in r.values() if x.role == "gate"} == {
        "P1",
        "P2",
        "P3",
        "I1",
        "I2",
        "I3",
    }


def test_threshold_override_by_rule_id_and_unknown_id_rejected():
    cfg = config_from_dict(
        {"villages": {"path": "v.gpkg"}, "criteria": {"thresholds": {"I2a": 60}}}
    )
    assert {r.id: r.threshold for r in cfg.criteria.rules}["I2a"] == 60
    with pytest.raises(ConfigError, match="I9"):
        config_from_dict({"villages": {"path": "v.gpkg"}, "criteria": {"thresholds": {"I9": 1}}})


def _village_values(**cols):
    return pd.DataFrame(cols, index=[f"v{i}" for i in range(len(next(iter(cols.values()))))])


def test_unknown_part_never_becomes_pass_or_fail():
    rules = [
        Rule(id="I2a", criterion="I2", variable="phone", op=">=", threshold=50),
        Rule(id="I2b", criterion="I2", variable="pc", op=">=", threshold=20),
    ]
    vals = _village_values(phone=[60.0, 60.0, 40.0], pc=[np.nan, 25.0, np.nan])
    states = combine(evaluate(vals, rules, {}))
    assert states.loc["v0", "I2"] == "unknown"  # phone passes, computer unknown
    assert states.loc["v1", "I2"] == "pass"
    assert states.loc["v2", "I2"] == "fail"  # a known failing part decides


def test_rule_on_unconfigured_layer_is_unknown():
    long = evaluate(_village_values(a=[1.0]), [_rule()], {})
    assert long["state"].tolist() == ["unknown"]
    assert long["layer"].iloc[0] == "(not configured)"


def _all_rules():
    return [r for r in default_rules() if r.role == "gate"]


def _values(**over):
    base = dict(
        product_location_quotient=1.5,
        product_demand_growth_pct=20.0,
        product_distinctiveness=0.8,
        pct_households_internet=60.0,
        pct_area_4g_coverage=80.0,
        pct_individuals_mobile_phone=70.0,
        pct_households_computer=25.0,
        courier_companies=2.0,
    )
    base.update(over)
    return pd.DataFrame({k: [v] for k, v in base.items()}, index=["v0"])


@pytest.mark.parametrize(
    "over,tier",
    [
        ({}, "ready"),
        ({"pct_individuals_mobile_phone": 42.0}, "near-ready"),  # within 20 % of 50
        ({"pct_individuals_mobile_phone": 30.0}, "not ready"),
        ({"pct_individuals_mobile_phone": 45.0, "courier_companies": 0.0}, "not ready"),
        ({"pct_households_computer": np.nan}, "undetermined"),
        ({"pct_households_computer": np.nan, "courier_companies": 0.0}, "not ready"),
    ],
)
def test_tier_rule(over, tier):
    long = evaluate(_values(**over), _all_rules(), {})
    assert tiers(long, combine(long), 0.2).iloc[0] == tier


def test_score_is_50_at_thresholds_and_rank_orders_tiers():
    at = _values(
        product_location_quotient=1.0,
        product_demand_growth_pct=10.0,
        product_distinctiveness=0.5,
        pct_households_internet=30.0,
        pct_area_4g_coverage=50.0,
        pct_individuals_mobile_phone=50.0,
        pct_households_computer=20.0,
        courier_companies=1.0,
    )
    long = evaluate(at, _all_rules(), {})
    w = {c: 1.0 for c in ("P1", "P2", "P3", "I1", "I2", "I3")}
    assert composite(long, w)["score"].iloc[0] == pytest.approx(50.0)
    t = pd.Series(["not ready", "ready", "ready"], index=["a", "b", "c"])
    s = pd.Series([99.0, 60.0, 70.0], index=["a", "b", "c"])
    assert rank(t, s).to_dict() == {"a": 3, "b": 2, "c": 1}


def test_rate_rounded_by_float_arithmetic_still_passes_at_threshold():
    # 100 * (30 / 100 * den) / den is 29.999999999999996 for many den
    den = np.arange(1.0, 2000.0)
    v = 100 * (30.0 / 100 * den) / den
    assert (v < 30).any()
    state, margin = rule_states(v, _rule())
    assert (state == "pass").all() and (margin == 0).all()
