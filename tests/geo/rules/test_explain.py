"""Why, and what it would take: binding rule, gaps, counts, the one-fix list, the summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro import layers as registry
from despro.config.settings import default_rules
from despro.config.vocab import FAIL, NEAR_READY, NOT_READY, PASS, READY, UNDETERMINED, UNKNOWN
from despro.io.outputs import csv_safe, planner_tables
from despro.rules import explain as ex
from despro.variables import Kind, Variable

# rule id -> (criterion, role, op, threshold, unit, layer, variable)
RULES = {
    "I1b": ("I1", "gate", ">=", 50.0, "percent of village (weighted)", "broadband", "cov"),
    "I2a": ("I2", "gate", ">=", 50.0, "percent of individuals", "smartphone", "phone"),
    "I3": ("I3", "gate", ">=", 1.0, "companies", "courier", "couriers"),
    "P2": ("P2", "gate", ">=", 10.0, "percent per year", "(not configured)", "growth"),
    "X2": ("info", "info", "<=", 20000.0, "m", "backbone", "dist"),
}
# village -> values per rule (NaN: unknown)
VALUES = {
    "A": {"I1b": 80, "I2a": 60, "I3": 2, "P2": 12, "X2": 90000},  # ready (info fails)
    "B": {"I1b": 80, "I2a": 43, "I3": 2, "P2": 12, "X2": 0},  # near-ready: +7 pp phones
    "C": {"I1b": 10, "I2a": 45, "I3": 0, "P2": 12, "X2": 0},  # I3 furthest (100 % short)
    "D": {"I1b": 80, "I2a": 60, "I3": np.nan, "P2": 12, "X2": 0},  # needs courier data only
    "E": {"I1b": 80, "I2a": 60, "I3": np.nan, "P2": np.nan, "X2": 0},  # two inputs missing
    "F": {"I1b": 30, "I2a": 60, "I3": np.nan, "P2": 12, "X2": 0},  # one fail + one unknown
}
TIER = {
    "A": READY,
    "B": NEAR_READY,
    "C": NOT_READY,
    "D": UNDETERMINED,
    "E": UNDETERMINED,
    "F": NOT_READY,
}
REGENCY = {"A": "1101", "B": "1101", "C": "1102", "D": "1101", "E": "1102", "F": "1201"}
LABELS = {"I2a": "kepemilikan ponsel", "I3": "perusahaan kurir", "I1b": "cakupan 4G"}


def _long() -> pd.DataFrame:
    rows = []
    for rule, (crit, role, op, thr, unit, layer, var) in RULES.items():  # rule-major
        for v, vals in VALUES.items():
            x = float(vals[rule])
            margin = (x - thr) if op == ">=" else (thr - x)
            state = UNKNOWN if np.isnan(x) else (PASS if margin >= 0 else FAIL)
            rows.append(
                {
                    "village_code": v,
                    "rule": rule,
                    "criterion": crit,
                    "role": role,
                    "variable": var,
                    "value": x,
                    "op": op,
                    "threshold": thr,
                    "unit": unit,
                    "state": state,
                    "margin": margin,
                    "layer": layer,
                }
            )
    return pd.DataFrame(rows)


def _tier() -> pd.Series:
    return pd.Series(TIER, name="tier")


@pytest.fixture
def why() -> pd.DataFrame:
    return ex.explain(_long(), _tier(), LABELS, titles=registry.titles("id"))


@pytest.fixture
def villages(why) -> pd.DataFrame:
    v = why.assign(
        village_code=why.index,
        village_name=[f"Desa {c}" for c in why.index],
        regency_code=[REGENCY[c] for c in why.index],
        province_code=[REGENCY[c][:2] for c in why.index],
        province_name=[{"11": "Aceh", "12": "Sumatera Utara"}[REGENCY[c][:2]] for c in why.index],
        tier=_tier(),
        rank=range(1, len(why) + 1),
    )
    return v.reset_index(drop=True)


def test_binding_rule_is_the_furthest_failing_relative_to_its_threshold(why):
    assert why["binding_rule"].isna()["A"]  # ready: nothing binds (info rules never do)
    assert why.loc["B", ["binding_rule", "binding_criterion"]].tolist() == ["I2a", "I2"]
    # C: I1b short 40/50 = 0.8, I2a 5/50 = 0.1, I3 1/1 = 1.0 -> I3 binds
    assert why.loc["C", "binding_rule"] == "I3"
    assert why.loc["C", "binding_gap"] == pytest.approx(1.0)
    # F: a failing rule binds before an unknown one
    assert why.loc["F", ["binding_rule", "binding_kind"]].tolist() == ["I1b", FAIL]


def test_gap_in_the_rules_unit_and_text_in_indonesian_and_english(why):
    assert why.loc["B", "binding_gap"] == pytest.approx(7.0)
    assert why.loc["B", "binding_unit"] == "percent of individuals"
    assert why.loc["B", "binding_text"] == "perlu +7,0 pp kepemilikan ponsel"
    en = ex.explain(
        _long(), _tier(), {"I2a": "smartphone ownership"}, lang="en", titles=registry.titles("en")
    )
    assert en.loc["B", "binding_text"] == "needs +7.0 pp smartphone ownership"
    # a count the village has none of reads as presence, not "+1"
    assert why.loc["C", "binding_text"] == "perlu perusahaan kurir (belum ada)"
    assert en.loc["C", "binding_text"] == "needs I3 (none yet)"
    assert en.loc["D", "binding_text"] == "needs courier data"


def test_gap_words_follow_the_rules_direction():
    """+ must rise ("perlu +7,0 pp"), - must fall ("perlu turun 5,9 km", metres shown
    in km), a count of none: presence; more than one missing: a number."""
    assert ex.gap_text(7.0, "percent of households", "L", "id") == "perlu +7,0 pp L"
    assert ex.gap_text(-5900.0, "m", "jarak", "id") == "jarak perlu turun 5,9 km"
    assert ex.gap_text(-5900.0, "m", "distance", "en") == "distance must fall by 5.9 km"
    assert ex.gap_text(-300.0, "m", "jarak", "id") == "jarak perlu turun 300 m"
    assert ex.gap_text(1.0, "companies", "kurir", "id", threshold=1.0) == "perlu kurir (belum ada)"
    assert ex.gap_text(2.0, "companies", "kurir", "id", threshold=3.0) == "perlu +2 kurir"
    assert ex.gap_text(0.5, "percent of households", "L", "id", threshold=1.0).startswith("perlu +")


def test_counts_of_failing_and_unknown_gate_rules(why):
    assert why["n_fail"].to_dict() == {"A": 0, "B": 1, "C": 3, "D": 0, "E": 0, "F": 1}
    assert why["n_unknown"].to_dict() == {"A": 0, "B": 0, "C": 0, "D": 1, "E": 2, "F": 1}
    assert why["n_fail"].dtype == np.int64


def test_data_needed_for_undetermined_villages_only(why):
    assert why.loc["D", "binding_kind"] == UNKNOWN
    assert np.isnan(why.loc["D", "binding_gap"])
    assert why.loc["D", "data_needed"] == "courier"
    assert why.loc["D", "data_needed_text"] == "perlu data kurir"
    # an input whose layer is not configured is named by its variable
    assert why.loc["E", "data_needed"] == "courier; growth"
    assert why.loc["E", "binding_rule"] == "I3"  # the first unknown in rule order
    assert why.loc["F", "data_needed"] == ""  # not ready: no data changes that


def test_one_fix_away_lists_villages_with_exactly_one_rule_open(villages):
    one = ex.one_fix_away(villages)
    assert one["village_code"].tolist() == ["B", "D"]
    assert one["binding_rule"].tolist() == ["I2a", "I3"]
    assert one.loc[0, "binding_gap"] == pytest.approx(7.0)


def test_summary_gives_the_share_decided_and_the_share_left_to_the_model(villages):
    # D, E undetermined; the model gives D a p_ready and E none; I1b: A-D decided,
    # E and F known only through the model
    v = villages.assign(
        p_ready=villages["village_code"].map({"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.4}),
        I1b_state=villages["village_code"].map(
            {"A": PASS, "B": PASS, "C": FAIL, "D": PASS, "E": UNKNOWN, "F": UNKNOWN}
        ),
        I1b_prob_evidence=villages["village_code"].map(
            {"A": "census", "B": "cells", "C": "census", "D": "cells", "E": "model", "F": "model"}
        ),
    )
    prov = ex.summary(v, "province").set_index("province_code")
    # province 11 = A-E: 3 of 5 tiers decided, 1 of 5 (D) left to the model's p_ready
    assert prov.loc["11", "pct_tier_decided"] == pytest.approx(60.0)
    assert prov.loc["11", "pct_p_ready_model"] == pytest.approx(20.0)
    assert prov.loc["11", "pct_I1b_decided"] == pytest.approx(80.0)
    assert prov.loc["11", "pct_I1b_model"] == pytest.approx(20.0)
    # province 12 = F alone: not ready (decided) although I1b is modelled only
    assert prov.loc["12", "pct_tier_decided"] == 100.0
    assert prov.loc["12", "pct_I1b_model"] == 100.0


def test_summary_counts_tiers_and_the_top_binding_criterion(villages):
    prov = ex.summary(villages, "province").set_index("province_code")
    assert prov.loc["11", "villages"] == 5
    assert prov.loc[
        "11", ["n_ready", "n_near_ready", "n_undetermined", "n_not_ready"]
    ].tolist() == [
        1,
        1,
        2,
        1,
    ]
    # province 11: B (I2), C (I3), D (I3), E (I3) -> I3 binds three villages
    assert prov.loc["11", "top_binding_criterion"] == "I3"
    assert prov.loc["11", "top_binding_villages"] == 3
    assert prov.loc["11", "province_name"] == "Aceh"
    # courier data missing leaves D and E undetermined: 2 of 5 villages
    assert prov.loc["11", "pct_undetermined_courier"] == pytest.approx(40.0)
    assert prov.loc["11", "pct_undetermined_growth"] == pytest.approx(20.0)
    assert prov.loc["12", "pct_undetermined_courier"] == 0
    reg = ex.summary(villages, "regency").set_index("regency_code")
    assert reg["villages"].sum() == len(villages)
    with pytest.raises(ValueError, match="level"):
        ex.summary(villages, "district")


def test_data_needed_ranks_the_inputs_that_decide_most_villages(villages):
    d = ex.data_needed(villages, "id", registry.titles("id"))
    # courier alone decides D (1101); with courier in hand, growth decides E (1102)
    assert d["input"].tolist() == ["courier", "courier", "growth"]
    assert d["input_rank"].tolist() == [1, 1, 2]
    assert d["regency_code"].tolist() == ["1101", "1102", "1102"]
    assert d["villages_decided"].tolist() == [1, 0, 1]
    assert d["villages_needing"].tolist() == [1, 1, 1]
    assert d["villages_decided_total"].tolist() == [1, 1, 1]
    assert d["villages_needing_total"].tolist() == [2, 2, 1]
    assert d["input_label"].tolist() == ["kurir", "kurir", "growth"]
    assert ex.data_needed(villages.assign(data_needed="")).empty


def test_data_needed_ranking_is_greedy_over_inputs_needed_together():
    # four villages need {a, b}, three need {c}: a or b alone decides nothing, c decides 3;
    # then a (needed as often as b, first by name), then b decides the four
    needs = ["a; b"] * 4 + ["c"] * 3
    v = pd.DataFrame(
        {"village_code": [str(i) for i in range(7)], "regency_code": "1101", "data_needed": needs}
    )
    d = ex.data_needed(v)
    assert d["input"].tolist() == ["c", "a", "b"]
    assert d["villages_decided_total"].tolist() == [3, 0, 4]
    assert d["villages_needing_total"].tolist() == [3, 4, 4]
    assert d["villages_decided_total"].sum() == len(v)


def test_planner_tables_are_csv_safe(villages):
    hostile = villages.assign(village_name="=HYPERLINK(1)")
    tables = planner_tables(hostile)
    assert set(tables) == {
        "one_fix_away.csv",
        "summary_province.csv",
        "summary_regency.csv",
        "data_needed.csv",
    }
    safe = csv_safe(tables["one_fix_away.csv"])
    assert (safe["village_name"] == "'=HYPERLINK(1)").all()


def test_on_the_demo_sample(sample_result):
    v = sample_result.villages
    open_ = v[v["tier"] != READY]
    assert open_["binding_rule"].notna().all()
    assert (open_["binding_text"] != "").all()
    assert v.loc[v["tier"] == READY, "binding_rule"].isna().all()
    und = v[v["tier"] == UNDETERMINED]
    assert len(und) and (und["data_needed"] != "").all()
    assert und["data_needed_text"].str.startswith("perlu data").all()
    assert (v.loc[v["tier"] != UNDETERMINED, "data_needed"] == "").all()
    tables = planner_tables(v)
    prov = tables["summary_province.csv"]
    tiers = prov[["n_ready", "n_near_ready", "n_undetermined", "n_not_ready"]].sum(axis=1)
    assert (tiers == prov["villages"]).all()
    assert prov["villages"].sum() == len(v)
    expected = v.groupby("province_code").size()
    assert prov.set_index("province_code")["villages"].to_dict() == expected.to_dict()
    one = tables["one_fix_away.csv"]
    assert ((one["binding_kind"] == FAIL) | (one["binding_kind"] == UNKNOWN)).all()
    assert set(one["village_code"]) == set(
        v.loc[(v["n_fail"] + v["n_unknown"]) == 1, "village_code"]
    )


def test_unknown_rules_name_the_input_of_their_own_variable():
    long = _long()
    long.loc[long["rule"] == "I3", ["layer", "variable"]] = ["census", "census_courier_agent"]
    assert ex.explain(long, _tier())["data_needed"]["D"] == "census"  # the row's layer
    why = ex.explain(long, _tier(), inputs={"I3": "courier"}, titles=registry.titles("id"))
    assert why.loc["D", "data_needed"] == "courier"
    assert why.loc["D", "binding_text"] == "perlu data kurir"
    # from the rules: the declared variable's layer, else the registered layer that
    # provides the variable (its PROVIDES), else the variable itself
    declared = {"courier_companies": Variable("courier_companies", Kind.COUNT, "", "", "osm", "")}
    inputs = ex.rule_inputs(default_rules(), declared, registry.providers())
    assert ex.rule_inputs(default_rules(), {})["P1"] == "product_location_quotient"
    assert inputs["I3"] == "osm"
    assert inputs["P1"] == "products"
    assert inputs["I2b"] == "smartphone"
