"""Criteria profiles: shipped names, thresholds, and a switch changes exactly the villages
whose rules cross the new thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from despro.config.profiles import profile_names
from despro.config.settings import CriteriaConfig
from despro.config.vocab import READY
from despro.rules.profiles import NO_CROSSING, compare, evaluate_profile, taobao_status


def test_profiles_are_shipped_and_the_default_changes_nothing():
    assert {"despro-table1", "despro-strict", "despro-loose", "taobao-monitoring"} <= set(
        profile_names()
    )
    default = CriteriaConfig()
    assert default.profile == "despro-table1"
    assert CriteriaConfig(profile="despro-table1").rules == default.rules


def test_thresholds_override_the_profile():
    c = CriteriaConfig(profile="despro-strict", thresholds={"I1a": 33})
    t = {r.id: r.threshold for r in c.rules}
    assert t["I1a"] == 33 and t["I1b"] == 62.5 and t["I3"] == 2


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match="despro-loose"):
        CriteriaConfig(profile="nope")


@pytest.mark.parametrize("name", ["despro-strict", "despro-loose"])
def test_a_switch_changes_exactly_the_crossing_villages(sample_result, name):
    r = sample_result
    c = r.config.criteria
    values = r.villages.drop(columns="geometry")
    new = CriteriaConfig(profile=name).rules
    table = compare(
        values, c.rules, new, r.variables, tuple(c.evidence_order), c.near_ready_fraction
    ).set_index("village_code")
    # independently: a gate rule decided by its own variable crosses when the value is on
    # different sides of the old and the new threshold
    long = r.criteria[r.criteria["role"] == "gate"]
    thr_new = {x.id: x.threshold for x in new}
    crossing = set()
    for rule in c.rules:
        if rule.role != "gate" or rule.op != ">=":
            continue
        g = long[(long["rule"] == rule.id) & (long["variable"] == rule.variable)]
        v = g["value"].to_numpy(float)
        known = ~np.isnan(v)
        cross = known & ((v >= rule.threshold) != (v >= thr_new[rule.id]))
        crossing |= set(g["village_code"].to_numpy()[cross])
    changed_rules = set(table.index[table["rules_changed"] != NO_CROSSING])
    assert changed_rules == crossing
    # readiness changes only where a rule crosses
    _, tier_new = evaluate_profile(
        values, new, r.variables, tuple(c.evidence_order), c.near_ready_fraction
    )
    ready_changed = set(values.index[(values["tier"] == READY) != (tier_new == READY)])
    assert ready_changed and ready_changed <= crossing
    assert ready_changed <= set(table.index[table["tier_changed"]])


def test_taobao_monitoring_is_unknown_without_seller_tables(sample_result):
    r = sample_result
    c = CriteriaConfig(profile="taobao-monitoring")
    long, tier = evaluate_profile(
        r.villages.drop(columns="geometry"),
        c.rules,
        r.variables,
        tuple(c.evidence_order),
        c.near_ready_fraction,
    )
    status = taobao_status(long)
    assert len(status) == len(r.villages) and (status == "unknown").all()
    assert (tier == r.villages["tier"]).all()  # info rules decide no tier


def test_taobao_status_with_seller_tables(sample_result):
    r = sample_result
    c = CriteriaConfig(profile="taobao-monitoring")
    values = r.villages.drop(columns="geometry").copy()
    n = len(values)
    values["online_sales_rmb"] = np.where(np.arange(n) % 3 == 0, 2e7, 1e6)
    values["online_shops_active"] = np.where(np.arange(n) % 2 == 0, 150.0, 20.0)
    values["pct_households_selling_online"] = np.nan
    long, _ = evaluate_profile(
        values, c.rules, r.variables, tuple(c.evidence_order), c.near_ready_fraction
    )
    s = taobao_status(long).reindex(values.index).to_numpy()
    i = np.arange(n)
    assert (s[(i % 3 == 0) & (i % 2 == 0)] == "pass").all()
    assert (s[i % 3 != 0] == "fail").all()
    assert (s[(i % 3 == 0) & (i % 2 == 1)] == "unknown").all()  # T2 fails, T3 unknown
