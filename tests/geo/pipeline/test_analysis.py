"""Result's analysis methods (despro.pipeline.analysis) on the sample."""

from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

import despro
from despro.config.settings import config_from_dict
from despro.rules.criteria import CRITERIA
from despro.rules.explain import EXPLAIN_COLUMNS
from tests.conftest import SAMPLE


def _rerun(**criteria) -> despro.Result:
    data = tomllib.loads((SAMPLE / "despro.toml").read_text())
    data.setdefault("criteria", {}).update(criteria)
    return despro.run(config_from_dict(data, base_dir=SAMPLE))


#: the verdict columns a what-if recomputes (every one is compared, with every other column)
VERDICT_COLUMNS = [
    "tier",
    "score",
    "score_best",
    "score_known_share",
    "rank",
    *EXPLAIN_COLUMNS,
]


def _same(a: despro.Result, b: despro.Result) -> None:
    rules = [r.id for r in b.config.criteria.rules]
    states = [f"{x}_state" for x in (*rules, *CRITERIA)] + [f"{x}_margin" for x in rules]
    assert set(VERDICT_COLUMNS + states) <= set(b.villages.columns)
    assert_frame_equal(pd.DataFrame(a.villages), pd.DataFrame(b.villages))
    assert_frame_equal(a.criteria, b.criteria)
    assert_frame_equal(a.conflicts, b.conflicts)


@pytest.mark.parametrize(
    "what", [{"thresholds": {"I2b": 18}}, {"thresholds": {"I3": 2, "P3": 0.4}}]
)
def test_with_thresholds_equals_a_rerun(sample_result, what):
    quick = sample_result.with_thresholds(**what["thresholds"])
    _same(quick, _rerun(**what))
    assert quick is not sample_result
    assert quick.config.criteria.thresholds == what["thresholds"]
    assert (sample_result.villages["tier"] != quick.villages["tier"]).any()  # tiers do move


def test_with_weights_equals_a_rerun(sample_result):
    weights = {"P1": 1, "P2": 1, "P3": 3, "I1": 1, "I2": 0.5, "I3": 1}
    quick = sample_result.with_weights(P3=3, I2=0.5)
    _same(quick, _rerun(weights=weights))
    assert (quick.villages["tier"] == sample_result.villages["tier"]).all()
    assert not np.allclose(quick.villages["score"], sample_result.villages["score"])


def test_with_thresholds_leaves_the_original_alone(sample_result):
    before = sample_result.villages["tier"].copy()
    sample_result.with_thresholds(I2b=5)
    pd.testing.assert_series_equal(sample_result.villages["tier"], before)
    assert sample_result.config.criteria.thresholds == {}


def test_unknown_rule_or_criterion_is_named(sample_result):
    with pytest.raises(ValueError, match="I9"):
        sample_result.with_thresholds(I9=3)
    with pytest.raises(ValueError, match="Q1"):
        sample_result.with_weights(Q1=3)


def test_diff_lists_tier_changes_and_the_rules_that_moved(sample_result):
    after = sample_result.with_thresholds(I2b=18)
    d = sample_result.diff(after)
    changed = sample_result.villages["tier"] != after.villages["tier"]
    assert set(d.index) == set(changed[changed].index)
    assert (d["tier_before"] != d["tier_after"]).all()
    assert d["rules_changed"].str.contains("I2b").all()
    assert d["why"].str.contains("threshold 20 -> 18").all()
    assert isinstance(d, gpd.GeoDataFrame) and d.geometry.notna().all()
    assert sample_result.diff(sample_result).empty


def test_explain_one_failing_village(sample_result):
    v = sample_result.villages
    code = v[v["tier"] == "not ready"].sort_values("rank").index[0]
    e = sample_result.explain(code)
    rows = sample_result.criteria[sample_result.criteria["village_code"] == code]
    assert list(e["rule"]) == list(rows["rule"])
    np.testing.assert_array_equal(e["threshold"], rows["threshold"])
    assert e.loc[e["binding"], "rule"].tolist() == [v.loc[code, "binding_rule"]]
    failing = e[e["state"] == "fail"]
    assert len(failing) and failing["would_decide"].str.startswith("perlu").all()
    assert (e.loc[e["state"] == "pass", "would_decide"] == "").all()
    page = e._repr_html_()
    assert v.loc[code, "village_name"] in page and "<table" in page
    assert e.heading["tier"] == "not ready"
    dotted = f"{code[:2]}.{code[2:4]}.{code[4:6]}.{code[6:]}"
    assert_frame_equal(pd.DataFrame(sample_result.explain(dotted)), pd.DataFrame(e))
    with pytest.raises(KeyError, match="no village"):
        sample_result.explain("9999999999")


def test_explain_escapes_text_from_data(sample_result):
    e = sample_result.explain(sample_result.villages.index[0])
    e.heading["village"] = "<script>alert(1)</script>"
    assert "<script>" not in e._repr_html_()


def test_cells_of_a_village(sample_result):
    code = sample_result.villages.index[5]
    cells = sample_result.cells_of(code)
    assert len(cells) > 0 and cells.geometry.notna().all()
    assert cells["share_of_village"].sum() == pytest.approx(1.0)
    assert (cells["share_of_cell"] > 0).all() and (cells["share_of_cell"] <= 1 + 1e-9).all()
    village = sample_result.villages.loc[[code]].to_crs(6933).geometry.iloc[0]
    assert cells["overlap_m2"].sum() == pytest.approx(village.area, rel=0.02)
    full = sample_result.cells.set_index("h3").loc[cells["h3"]]
    np.testing.assert_allclose(full["population"], cells["population"].to_numpy())


def test_to_admin_names_counts_outlines_and_exact_rates(sample_result):
    v = sample_result.villages
    reg = sample_result.to_admin("regency")
    assert isinstance(reg, gpd.GeoDataFrame) and reg.geometry.notna().all()
    assert reg["villages"].sum() == len(v)
    assert (
        reg[["n_ready", "n_near_ready", "n_undetermined", "n_not_ready"]].sum(axis=1)
        == reg["villages"]
    ).all()
    assert reg["regency_name"].notna().all()
    add = sample_result.village_additive
    num = add["pct_households_internet__num"].groupby(v["regency_code"]).sum()
    den = add["pct_households_internet__den"].groupby(v["regency_code"]).sum()
    expected = (100 * num / den).reindex(reg.index)
    np.testing.assert_allclose(reg["pct_households_internet"], expected, rtol=1e-12)
    prov = sample_result.to_admin("province", geometry=False)
    assert prov["villages"].sum() == len(v) and "province_name" in prov
    # a province's outline is its regencies' outlines merged: same area, one piece per
    # island, no seams left inside
    prov = sample_result.to_admin("province")
    for code, outline in prov.geometry.items():
        parts = reg.geometry[reg.index.str.startswith(code)]
        assert outline.area == pytest.approx(parts.area.sum(), rel=1e-9)
        assert outline.symmetric_difference(parts.union_all()).area < 1e-12
        assert shapely.get_num_interior_rings(outline) == shapely.get_num_interior_rings(
            parts.union_all()
        )


def test_shortlist_keeps_geometry_and_says_where(sample_result):
    s = sample_result.shortlist()
    assert isinstance(s, gpd.GeoDataFrame) and s.geometry.notna().all()
    assert list(s.columns[:4]) == ["rank", "village_code", "village_name", "regency_name"]
    assert s["rank"].is_monotonic_increasing
    inside = gpd.points_from_xy(s["lon"], s["lat"], crs=4326)
    assert all(g.contains(p) for g, p in zip(s.geometry, inside, strict=True))


def test_explore_colours_tiers(sample_result):
    m = sample_result.explore()
    html = m.get_root().render()
    assert "#009E73" in html  # ready, in its colour
    assert sample_result.villages.explore(column="tier") is not None  # mapclassify installed


def test_other_evidence_order_takes_the_full_path_and_equals_a_rerun(sample_result):
    from despro.pipeline import analysis

    order = list(reversed(sample_result.config.criteria.evidence_order))
    data = sample_result.config.criteria.model_dump()
    data["evidence_order"] = order
    quick = analysis.rescored(sample_result, analysis.CriteriaConfig.model_validate(data))
    _same(quick, _rerun(evidence_order=order))


def test_a_what_if_of_a_what_if_and_a_result_without_verdicts(sample_result):
    """Reusing the kept arrays (a what-if's own, or none at all) changes nothing."""
    from dataclasses import replace

    back = sample_result.with_thresholds(I2b=18).with_thresholds(I2b=20)
    _same(back, sample_result)
    bare = replace(sample_result, verdicts=None)  # as a Result pickled by an older despro
    _same(bare.with_thresholds(I2b=18), sample_result.with_thresholds(I2b=18))
    _same(bare.with_weights(P3=3), sample_result.with_weights(P3=3))


def test_the_model_is_refit_only_when_its_labels_change():
    """I1b's census evidence keeps its own threshold: moving I1b's does not change what the
    model learns; evidence that takes the rule's threshold does."""
    from types import SimpleNamespace

    from despro.config.settings import CriteriaConfig, Evidence, Rule
    from despro.pipeline.analysis import _model_changes

    census = Evidence(level="census", variable="census_rate", op=">=")  # the rule's threshold
    rules = [
        Rule(
            id="I1b",
            criterion="I1",
            variable="coverage",
            op=">=",
            threshold=50.0,
            evidence=[Evidence(level="census", variable="census_4g", op=">=", threshold=1)],
        ),
        Rule(id="I3", criterion="I3", variable="couriers", op=">=", threshold=1.0),
        Rule(
            id="I2a", criterion="I2", variable="phones", op=">=", threshold=50.0, evidence=[census]
        ),
    ]
    values = pd.DataFrame(
        {"census_4g": [1.0, 0.0, np.nan], "census_rate": [30.0, 60.0, 45.0]},
        index=pd.Index(["1501012001", "1501012002", "1501012003"]),
    )
    old = CriteriaConfig(rules=rules)
    config = SimpleNamespace(model=SimpleNamespace(observed_levels=["census"]))
    result = SimpleNamespace(
        model=object(), config=SimpleNamespace(criteria=old), village_values=values
    )

    def changes(**thresholds) -> bool:
        new = CriteriaConfig(rules=rules, thresholds=thresholds)
        return _model_changes(result, new, config)

    assert not changes(I1b=40)  # census answers at their own threshold: same labels
    assert not changes(I3=2)  # no observed evidence
    assert not changes(I2a=55)  # 30 fail, 60 pass either way
    assert changes(I2a=40)  # 45 now passes: other labels, the model is refit
