"""Modelled evidence: learns a known relation, leaves each province out, never decides a tier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import Evidence, Rule
from despro.config.vocab import READY, UNDETERMINED
from despro.io.quality import model_markdown
from despro.model import MODEL_LEVEL, model_evidence, p_ready
from despro.model.evidence import leave_province_out, urban_of
from despro.rules.criteria import CRITERIA, combine, evaluate_all
from despro.rules.score import tiers
from despro.variables import Kind, Variable

PROVINCES = ["15", "16", "17", "18"]


def _codes(n_per: int) -> list[str]:
    """10-digit codes, n_per per province; the 7th digit alternates kelurahan 1 / desa 2."""
    return [f"{p}0101{1 + i % 2}{i:03d}" for p in PROVINCES for i in range(n_per)]


def _var(name: str, level: str) -> Variable:
    return Variable(name, Kind.RATE, "x", "d", layer="t", source="s", vintage="v", level=level)


def _rules() -> list[Rule]:
    return [
        Rule(
            id="I1b",
            criterion="I1",
            variable="coverage",
            op=">=",
            threshold=50.0,
            evidence=[Evidence(level="census", variable="census_signal_4g", op=">=", threshold=1)],
        ),
        Rule(
            id="I3",
            criterion="I3",
            variable="couriers",
            op=">=",
            threshold=1.0,
            evidence=[Evidence(level="census", variable="census_courier", op=">=", threshold=1)],
        ),
    ]


def _synthetic(n_per: int = 300, seed: int = 0, flip: str = "18") -> pd.DataFrame:
    """Signal observed where ``x > 0`` (plus noise); inverted in province ``flip``.

    ``prov_id`` is a feature that names the province: a model that saw the held-out
    province's villages could learn its inversion from it; one that did not, cannot.
    """
    rng = np.random.default_rng(seed)
    codes = _codes(n_per)
    n = len(codes)
    x = rng.normal(size=n)
    prov = np.array([c[:2] for c in codes])
    signal = (x + 0.3 * rng.normal(size=n)) > 0
    signal = np.where(prov == flip, ~signal, signal)
    return pd.DataFrame(
        {
            "x": x,
            # varies inside each province (so it is kept) yet names the province
            "prov_id": prov.astype(float) + 0.01 * rng.random(n),
            "province_rate": prov.astype(float),  # a province statistic: left out
            "coverage": np.nan,  # the rule's own value: unknown everywhere
            "couriers": np.nan,
            "census_signal_4g": signal.astype(float),
            # couriers: only positives are recorded, absence decides nothing
            "census_courier": np.where(rng.random(n) < 0.3, 1.0, np.nan),
        },
        index=pd.Index(codes),
    )


def _variables() -> dict:
    return {
        "coverage": _var("coverage", "cells"),
        "couriers": _var("couriers", "cells"),
        "census_signal_4g": _var("census_signal_4g", "census"),
        "census_courier": _var("census_courier", "census"),
    }


def test_learns_a_known_relation_and_leaves_each_province_out():
    values = _synthetic()
    me = model_evidence(values, _rules(), _variables())
    v = me.validation
    whole = v[(v["decile"] == 0) & (v["province"] != "all")].set_index("province")
    assert sorted(whole.index) == PROVINCES
    n_per = len(values) // len(PROVINCES)
    # every fold trained on exactly the other provinces' villages
    assert (whole["n"] == n_per).all() and (whole["n_train"] == len(values) - n_per).all()
    for p in ["15", "16", "17"]:
        assert whole.loc[p, "roc_auc"] > 0.8
    # the inverted province is predicted from the others only: its inversion is not learnt
    assert whole.loc["18", "roc_auc"] < 0.1
    # the observed answer never predicts itself; urban comes from the code
    assert "census_signal_4g" not in me.features["I1b"] and "urban" in me.features["I1b"]
    probs = me.probs["I1b_model_prob"]
    assert probs.between(0, 1).all()
    assert "prov_id" in me.features["I1b"] and "province_rate" not in me.features["I1b"]
    # one province in four ranks the other way: the recalibrated probabilities shrink
    # towards the observed share (about 0.5) instead of claiming 0 / 1
    assert probs.between(0.2, 0.8).all()
    # I3 has positives only: no model, and the reason is given
    assert "I3_model_prob" not in me.probs
    assert any(n.startswith("I3: not modelled") for n in me.notes)


def test_calibration_by_decile_on_a_well_specified_case():
    values = _synthetic(flip="none")
    v = model_evidence(values, _rules(), _variables()).validation
    dec = v[(v["province"] == "all") & (v["decile"] > 0)]
    whole = v[(v["decile"] == 0) & (v["province"] != "all")]
    assert (whole["roc_auc"] > 0.9).all() and (whole["brier"] < 0.12).all()
    assert dec["decile"].tolist() == list(range(1, 11))
    assert dec["n"].sum() == len(values)
    assert (dec["mean_prob"] - dec["observed_share"]).abs().max() < 0.15
    assert dec["observed_share"].iloc[0] < 0.1 and dec["observed_share"].iloc[-1] > 0.9
    me = model_evidence(values, _rules(), _variables())
    probs = me.probs["I1b_model_prob"]
    assert probs[values["x"] > 1].mean() > 0.85 and probs[values["x"] < -1].mean() < 0.15
    md = model_markdown(me)
    assert "leave one province out" in md and "| 15 |" in md


def test_a_broken_split_is_refused(monkeypatch):
    """The guard itself: a splitter that leaks the held-out province raises."""
    import sklearn.model_selection as ms

    class Leaky:
        def split(self, x, y, groups):
            idx = np.arange(len(groups))
            yield idx, idx[groups == groups[0]]

    monkeypatch.setattr(ms, "LeaveOneGroupOut", Leaky)
    values = _synthetic(n_per=50)
    y = values["census_signal_4g"]
    prov = pd.Series([c[:2] for c in values.index], index=values.index)
    with pytest.raises(RuntimeError, match="held-out province"):
        leave_province_out(values[["x"]], y, prov)


def test_a_feature_known_in_one_province_only():
    """Its fold trains without it (a column of NaN only cannot be binned)."""
    values = _synthetic(n_per=100)
    values["local"] = np.where(values.index.str.startswith("15"), 1.0, np.nan)
    values.loc[values.index.str.startswith("15"), "local"] += np.arange(100)
    me = model_evidence(values, _rules(), _variables())
    assert "local" in me.features["I1b"]
    assert me.validation["roc_auc"].notna().any()


def test_one_province_is_not_enough():
    values = _synthetic()
    values.loc[~values.index.str.startswith("15"), "census_signal_4g"] = np.nan
    me = model_evidence(values, _rules(), _variables())
    assert me.probs.shape[1] == 0 and me.validation.empty
    assert any("I1b: not modelled: 1 province" in n for n in me.notes)


def test_urban_from_the_fifth_group():
    u = urban_of(pd.Index(["1501011001", "15.01.01.2001", "1501013001"]))
    assert u.iloc[0] == 1.0 and u.iloc[1] == 0.0 and np.isnan(u.iloc[2])


def _all_pass_but_i1b(n: int) -> tuple[pd.DataFrame, list[Rule], dict]:
    """One gate rule per criterion, every one passing except I1b (unknown)."""
    codes = pd.Index([f"150101200{i}" for i in range(n)])
    rules, variables, cols = [], {}, {}
    for c in CRITERIA:
        name = f"v_{c}"
        rules.append(Rule(id=c, criterion=c, variable=name, op=">=", threshold=1.0))
        variables[name] = _var(name, "cells")
        cols[name] = np.full(n, 2.0)
    rules.append(
        Rule(
            id="I1b",
            criterion="I1",
            variable="coverage",
            op=">=",
            threshold=50.0,
            evidence=[Evidence(level="census", variable="census_signal_4g", op=">=", threshold=1)],
        )
    )
    variables["coverage"] = _var("coverage", "cells")
    cols["coverage"] = np.full(n, np.nan)
    cols["census_signal_4g"] = np.r_[1.0, np.full(n - 1, np.nan)]  # village 0 observed
    return pd.DataFrame(cols, index=codes), rules, variables


def test_model_evidence_never_makes_a_village_ready():
    values, rules, variables = _all_pass_but_i1b(3)
    long, _ = evaluate_all(values, rules, variables)
    tier = tiers(long, combine(long), 0.2)
    probs = pd.DataFrame({"I1b_model_prob": [0.5, 0.99, np.nan]}, index=values.index)
    out = p_ready(long, probs, values.index)
    # observed: ready, P 1; modelled 0.99: still undetermined, P 0.99; unmodelled: NaN
    assert tier.tolist() == [READY, UNDETERMINED, UNDETERMINED]
    assert out["I1b_prob"].tolist()[:2] == [1.0, 0.99] and np.isnan(out["I1b_prob"].iloc[2])
    assert out["I1b_prob_evidence"].tolist() == ["census", MODEL_LEVEL, "none"]
    assert out["p_ready"].iloc[1] == pytest.approx(0.99) and np.isnan(out["p_ready"].iloc[2])
    # the rule table itself is untouched: the modelled village stays unknown
    # a failing rule settles P(ready) at 0 even with I1b unknown and unmodelled
    values.loc[values.index[2], "v_P1"] = 0.0
    long, _ = evaluate_all(values, rules, variables)
    assert p_ready(long, probs, values.index)["p_ready"].iloc[2] == 0.0
    i1b = long[long["rule"] == "I1b"].set_index("village_code")["state"]
    assert i1b.iloc[1] == "unknown"


def test_without_observed_answers_it_adds_nothing():
    """The demo case: no census, so no model, no column, no row."""
    values = _synthetic().drop(columns=["census_signal_4g", "census_courier"])
    me = model_evidence(values, _rules(), _variables())
    assert me.probs.shape == (len(values), 0) and me.validation.empty
    declared = {k: v for k, v in _variables().items() if not k.startswith("census")}
    long, _ = evaluate_all(values, _rules(), declared)
    assert p_ready(long, me.probs, values.index).shape[1] == 0
