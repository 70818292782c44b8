"""Agreement of observed and modelled evidence: a hand-made case, and Kota Batu for real."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import Evidence, Rule, config_from_dict
from despro.io.outputs import agreement_table, write_outputs
from despro.io.quality import agreement_markdown
from despro.pipeline.runner import run
from despro.rules.agreement import COLUMNS, agreement
from despro.variables import Kind, Variable
from tests.conftest import REPO

I1B = Rule(
    id="I1b",
    criterion="I1",
    variable="pct_area_4g_coverage",
    op=">=",
    threshold=50.0,
    evidence=[Evidence(level="census", variable="census_signal_4g", threshold=1)],
)
VARS = {
    "pct_area_4g_coverage": Variable(
        "pct_area_4g_coverage", Kind.RATE, "percent", "modelled", "broadband", "towers.csv"
    ),
    "census_signal_4g": Variable(
        "census_signal_4g", Kind.RATE, "share", "observed", "census", "podes.csv", level="census"
    ),
}


def _tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    # v1 yes/pass, v2 yes/fail, v3 no/pass, v4 no/fail, v5 census unknown,
    # v6 modelled unknown, v7 exactly at 50 % (passes), v8 census value from a
    # province statistic (not observed): left out
    values = pd.DataFrame(
        {
            "census_signal_4g": [1, 1, 0, 0, np.nan, 1, 1, 0],
            "pct_area_4g_coverage": [80, 10, 60, 0, 90, np.nan, 50, 70],
            "census_signal_4g_evidence": [None] * 7 + ["province"],
        },
        index=[f"v{i}" for i in range(1, 9)],
    )
    groups = pd.DataFrame(
        {"code": ["15"] * 3 + ["16"] * 5, "name": ["Jambi"] * 3 + ["Sumatera Selatan"] * 5},
        index=values.index,
    )
    return values, groups


def test_confusion_counts_on_a_hand_made_case():
    values, groups = _tiny()
    t = agreement(values, [I1B], VARS, groups)
    assert list(t.columns) == COLUMNS and len(t) == 3
    nat = t[t["scope"] == "national"].iloc[0]
    assert (nat["observed_variable"], nat["modelled_variable"]) == (
        "census_signal_4g",
        "pct_area_4g_coverage",
    )
    assert (nat["observed_test"], nat["modelled_test"]) == (">= 1", ">= 50")
    assert nat[["villages", "yes_pass", "yes_fail", "no_pass", "no_fail"]].tolist() == [
        5,
        2,
        1,
        1,
        1,
    ]
    assert nat["agreement"] == pytest.approx(3 / 5)
    prov = t[t["scope"] == "group"].set_index("area_code")
    assert prov.loc["15", ["yes_pass", "yes_fail", "no_pass", "no_fail"]].tolist() == [1, 1, 1, 0]
    assert prov.loc["15", "agreement"] == pytest.approx(1 / 3)
    assert prov.loc["16", ["villages", "agreement"]].tolist() == [2, 1.0]
    assert prov.loc["16", "area_name"] == "Sumatera Selatan"
    md = agreement_markdown(t)
    assert "| **national** | 5 | 2 | 1 | 1 | 1 | 60.0 % |" in md
    assert "| 15 Jambi | 3 | 1 | 1 | 1 | 0 | 33.3 % |" in md


def test_no_pair_when_only_one_side_is_known():
    values, _ = _tiny()
    t = agreement(values.drop(columns="pct_area_4g_coverage"), [I1B], VARS)
    assert t.empty and list(t.columns) == COLUMNS
    assert "No village has both" in agreement_markdown(t)


@pytest.mark.shared_data
def test_kota_batu_census_signal_vs_modelled_towers(shared_data, tmp_path):
    """Podes 2024 R1005D (1 = 4G) vs the area within reach of OpenCellID LTE / BAKTI sites."""
    data = tomllib.loads((REPO / "examples/kota_batu.toml").read_text())
    data["layers"]["broadband"] = {
        "towers": [str(shared_data / "infra/opencellid_510_indonesia_locatebts.csv")],
        "towers_radios": ["LTE"],
        "sites": [str(shared_data / "infra/bakti_bts4g_sites_kepmendagri.csv")],
        "coverage_from_towers": True,
    }
    r = run(config_from_dict(data, base_dir=REPO / "examples"))
    t = agreement_table(r)
    nat = t[(t["rule"] == "I1b") & (t["scope"] == "national")]
    assert len(nat) == 1
    nat = nat.iloc[0]
    # independent: the census file's R1005D joined by name-checked codes, the modelled share
    podes = pd.read_csv(shared_data / "podes/podes2024_kota_batu_village_readiness_extract.csv")
    prod = pd.read_csv(
        shared_data / "podes/podes2024_kota_batu_industry_products.csv", dtype=str
    ).set_index("IDDESA")["kode_kemendagri"]
    code = podes["IDDESA"].astype(str).map(prod).str.replace(".", "", regex=False)
    yes = pd.Series((podes["R1005D"] == 1).to_numpy(), index=code)
    cov = r.villages.set_index("village_code")["pct_area_4g_coverage"].reindex(yes.index)
    ok = cov >= 50
    assert nat["villages"] == len(podes) == 24
    assert nat["yes_pass"] == int((yes & ok).sum())
    assert nat["yes_fail"] == int((yes & ~ok).sum())
    assert nat["no_pass"] == int((~yes & ok).sum())
    assert nat["no_fail"] == int((~yes & ~ok).sum())
    prov = t[(t["rule"] == "I1b") & (t["scope"] == "group")]
    assert prov["area_code"].tolist() == ["35"] and prov["villages"].sum() == 24
    # the report reaches both files
    write_outputs(r, tmp_path)
    page = (tmp_path / "data_quality.md").read_text()
    assert "## Agreement: observed vs modelled" in page and "census\\_signal\\_4g" in page
    doc = json.loads((tmp_path / "data_quality.json").read_text())
    got = [a for a in doc["agreement"] if a["rule"] == "I1b" and a["scope"] == "national"]
    assert got[0]["yes_pass"] == nat["yes_pass"] and isinstance(doc["notes"], list)
