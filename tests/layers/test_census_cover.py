"""A census row that answers one item and leaves another blank: each item has its own cover.

A blank census item is unknown, never a census "no": the village's courier agent
(R1007C) stays unknown when only its 4G signal (R1005D) was answered, so I3 is
decided by other evidence, or stays unknown when there is none.
"""

from __future__ import annotations

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.mapsite.data import cell_additive, known_share_column
from despro.pipeline.runner import run
from despro.variables import cover_column, variable_cover_column

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")


def _census_run(sample, rows: dict[str, list[str]], courier: bool):
    """Run the sample with a census table of ``rows`` (optionally without the courier layer)."""
    pd.DataFrame(rows).to_csv(sample / "census.csv", index=False)
    data = tomllib.loads((sample / "despro.toml").read_text())
    data["layers"]["census"] = {
        "table": "census.csv",
        "code_column": "kode",
        "code_system": "kemendagri",
    }
    if not courier:
        del data["layers"]["courier"]
    return run(config_from_dict(data, base_dir=sample))


def _codes(sample, n: int) -> list[str]:
    v = gpd.read_file(sample / "villages.gpkg")
    return [c.replace(".", "") for c in v["village_code"].iloc[:n]]


def test_blank_courier_item_is_unknown_not_a_census_no(sample_copy):
    (code,) = _codes(sample_copy, 1)
    r = _census_run(
        sample_copy, {"kode": [code], "R1007C": [""], "R1005D": ["1"], "R1007A": ["1"]}, False
    )
    v = r.villages.loc[code]
    assert np.isnan(v["census_courier_agent"])  # unknown, not 0
    assert v["census_signal_4g"] == 1 and v["census_post_office"] == 1
    assert v[variable_cover_column("census", "census_courier_agent")] == 0
    assert v[variable_cover_column("census", "census_signal_4g")] == 1
    assert v[cover_column("census")] == 1  # the village has a census row
    crit = r.criteria.set_index(["village_code", "rule"])
    i3 = crit.loc[(code, "I3")]
    assert i3["state"] == "unknown"  # no courier layer: nothing else knows
    assert v["I3_state"] == "unknown"
    i1b = crit.loc[(code, "I1b")]
    assert i1b["evidence"] == "census" and i1b["state"] == "pass"  # the answered item decides


def test_blank_courier_item_falls_back_to_the_cells(sample_copy):
    first, second = _codes(sample_copy, 2)
    r = _census_run(
        sample_copy,
        {
            "kode": [first, second],
            "R1007C": ["", "1"],
            "R1005D": ["1", ""],
            "R1007A": ["1", "1"],
        },
        True,
    )
    i3 = r.criteria[r.criteria["rule"] == "I3"].set_index("village_code")
    assert i3.loc[first, "evidence"] == "cells"  # the census did not answer R1007C here
    assert i3.loc[second, "evidence"] == "census" and i3.loc[second, "state"] == "pass"
    i1b = r.criteria[r.criteria["rule"] == "I1b"].set_index("village_code")
    assert i1b.loc[first, "evidence"] == "census"
    assert i1b.loc[second, "evidence"] != "census"  # R1005D blank there
    assert np.isnan(r.villages.loc[second, "census_signal_4g"])
    # the cells receive each item with its own cover: in the first village's cells
    # the signal is known and the courier agent is not
    cells = r.cell_columns
    agent = cells[variable_cover_column("census", "census_courier_agent")].to_numpy()
    signal = cells[variable_cover_column("census", "census_signal_4g")].to_numpy()
    only_signal = (signal > 0) & (agent == 0)
    assert only_signal.any() and ((agent > 0) & (signal == 0)).any()
    add, variables = cell_additive(r)  # the map's cells: counts unknown where uncovered
    assert np.isnan(add["census_courier_agent"].to_numpy()[only_signal]).all()
    assert (add["census_signal_4g"].to_numpy()[only_signal] > 0).all()
    names = {v.name for v in variables}
    assert known_share_column("census", "census_courier_agent") in names
    assert known_share_column("census") not in names  # every item has its own
    layer = cells[cover_column("census")].to_numpy()
    assert (np.maximum(agent, signal) <= layer + 1e-12).all()
