"""Several census sources: official crosswalk first, newest answer decides, I3 asymmetry.

The real-data tests read the Podes 2019 Jambi, Podes 2021 Sumatera Selatan and Jawa
Barat village-signal files of ../shared/data through the sources declared in
``examples/indonesia.toml``.
"""

import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.errors import ConfigError, InputError
from despro.layer import Notes
from despro.layers.census import newest_answers, read_table_items
from tests.conftest import REPO

#: match-rate floors (%) of the BPS -> Kemendagri join, measured 99.4 and 96.3
FLOORS = {"podes2019_jambi_village.csv": 99.0, "podes2021_sumsel_harmonised.csv": 96.0}


def _national_source(name: str) -> dict:
    data = tomllib.loads((REPO / "examples/indonesia.toml").read_text())
    (src,) = [s for s in data["layers"]["census"]["sources"] if s["table"].endswith(name)]
    return src


def _config(census: dict, base_dir):
    return config_from_dict(
        {"villages": {"path": "villages.gpkg"}, "layers": {"census": census}}, base_dir=base_dir
    )


def _read(census: dict, base_dir=REPO / "examples"):
    config = _config(census, base_dir)
    notes = Notes()
    return read_table_items(config.layers.census, config, notes), notes


def _note(notes: Notes, pattern: str) -> dict:
    hits = [n for n in notes.items if re.search(pattern, n["message"])]
    assert len(hits) == 1, [n["message"] for n in notes.items]
    return hits[0]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_crosswalk_first_match_rate_above_floor_and_every_unmatched_row_reported(shared_data, name):
    obs, notes = _read(_national_source(name))
    rate = _note(notes, r"^BPS -> Kemendagri")["message"]
    m = re.search(
        r"(\d+) of (\d+) rows matched \(([\d.]+) %\): (\d+) by the official "
        r"crosswalk, (\d+) by name within parents, (\d+) unmatched",
        rate,
    )
    matched, rows, pct, by_x, by_name, unmatched = (float(g) for g in m.groups())
    assert rows == len(pd.read_csv(shared_data / "podes" / name, usecols=[0]))
    assert pct >= FLOORS[name] and by_x > by_name > 0  # the crosswalk does most of the work
    assert matched + unmatched == rows and unmatched > 0
    assert _note(notes, r"no unique Kemendagri village")["n_rows"] == unmatched
    assert obs.index.str.fullmatch(r"\d{10}").all() and obs.index.is_unique


@pytest.mark.shared_data
def test_jambi_crosswalk_codes_mapping_to_two_villages_are_reported_not_duplicated(shared_data):
    obs, notes = _read(_national_source("podes2019_jambi_village.csv"))
    x = pd.read_csv(shared_data / "admin/crosswalk_bps_kemendagri_2017_desa.csv", dtype=str)
    j = pd.read_csv(shared_data / "podes/podes2019_jambi_village.csv", dtype=str)
    code = j["R101"] + j["R102"] + j["R103"] + j["R104"]
    two = sorted(set(code) & set(x.loc[x["kode_bps"].duplicated(), "kode_bps"]))
    n = _note(notes, r"maps \d+ BPS code\(s\) to two or more villages")
    assert len(two) > 0 and n["n_rows"] == len(two)
    assert sorted(r.split(":")[0] for r in n["rows"]) == two
    assert obs.index.is_unique


@pytest.mark.shared_data
def test_jambi_r707c_courier_agent_proves_i3_but_its_absence_decides_nothing(shared_data):
    obs, notes = _read(_national_source("podes2019_jambi_village.csv"))
    j = pd.read_csv(shared_data / "podes/podes2019_jambi_village.csv", dtype=str)
    agent = obs["census_courier_agent"]
    # only R707C = 1 decides; 2 (rarely), 3 (not operating), 4 (none) stay unknown, never 0
    assert (agent.dropna() == 1).all() and not (agent == 0).any()
    n_agents = int((j["R707C"] == "1").sum())
    # every agent row that found its village (99 % of rows do) proves I3 there
    assert 0.95 * n_agents <= int(agent.notna().sum()) <= n_agents
    rec = _note(notes, r"R707C .* recorded, deciding nothing")
    assert rec["n_rows"] == int(j["R707C"].isin(["2", "3", "4"]).sum())
    # the signal item does decide both ways
    assert {0.0, 1.0} <= set(obs["census_signal_4g"].dropna())


def test_a_no_code_for_the_courier_agent_is_refused(tmp_path):
    census = {
        "table": "c.csv",
        "code_system": "kemendagri",
        "items": {"census_courier_agent": {"column": "R707C", "yes": [1], "no": [2, 3, 4]}},
    }
    with pytest.raises(ConfigError, match="does not disprove courier service"):
        _config(census, tmp_path)


def _village_csv(path, codes, values, column="signal"):
    pd.DataFrame({"kode": codes, column: values}).to_csv(path, index=False)


def test_the_newer_source_decides_and_the_older_is_reported_when_they_disagree(tmp_path):
    a, b, c = "3201022001", "3201022002", "3201022003"
    _village_csv(tmp_path / "old.csv", [a, b, c], ["1", "1", "1"])
    _village_csv(tmp_path / "new.csv", [a, b], ["2", "1"])
    item = {"census_signal_4g": {"column": "signal", "yes": [1], "no": [2]}}
    src = {"code_column": "kode", "code_system": "kemendagri", "items": item}
    census = {
        "sources": [
            {**src, "table": "new.csv", "vintage": "Podes 2021"},
            {**src, "table": "old.csv", "vintage": "Podes 2019"},
        ]
    }
    obs, notes = _read(census, tmp_path)
    s = obs["census_signal_4g"]
    assert s[a] == 0 and s[b] == 1 and s[c] == 1  # c: only the older source has it
    n = _note(notes, r"newer new.csv disagrees with old.csv")
    assert n["rows"] == [f"{a}: 2019 yes -> 2021 no"] and n["file"].endswith("old.csv")


def test_a_newer_answer_that_decides_nothing_still_overrides_an_older_yes():
    long = pd.DataFrame(
        {
            "village_code": ["1", "1"],
            "year": [2019, 2024],
            "item": ["census_courier_agent"] * 2,
            "value": [1.0, np.nan],  # 2019 agent; 2024 "no agent" (recorded)
            "source": ["p2019.csv", "p2024.csv"],
        }
    )
    notes = Notes()
    out = newest_answers(long, notes)
    assert np.isnan(out.loc["1", "census_courier_agent"])
    assert notes.items[0]["rows"] == ["1: 2019 yes -> 2024 unknown"]


def test_codes_written_as_floats_are_read_as_integers_and_reported(tmp_path):
    names = pd.DataFrame(
        {
            "kode": ["32", "32.01", "32.01.19", "32.01.19.2006"],
            "nama": ["JAWA BARAT", "BOGOR", "GUNUNG PUTRI", "WANAHERANG"],
        }
    )
    names.to_csv(tmp_path / "codes.csv", index=False)
    pd.DataFrame(
        {"kode_bps": ["3201190006"], "kode_dagri": ["32.01.19.2006"], "nama_dagri": ["WANAHERANG"]}
    ).to_csv(tmp_path / "xw.csv", index=False)
    _village_csv(tmp_path / "sig.csv", ["3201190006.0"], ["TIDAK ADA SINYAL"], "status")
    census = {
        "table": "sig.csv",
        "code_column": "kode",
        "code_system": "bps",
        "names": "codes.csv",
        "crosswalk": "xw.csv",
        "items": {
            "census_signal_4g": {
                "column": "status",
                "yes": [],
                "no": ["TIDAK ADA SINYAL"],
                "recorded": ["SINYAL KUAT", "SINYAL LEMAH"],
            }
        },
    }
    obs, notes = _read(census, tmp_path)
    assert obs.loc["3201192006", "census_signal_4g"] == 0  # by the crosswalk
    n = _note(notes, r"written as floats")
    assert (
        n["file"].endswith("sig.csv")
        and n["rows"] == ["2"]
        and "write codes as text" in (n["message"])
    )
    _village_csv(tmp_path / "sig.csv", ["3201190006.5"], ["SINYAL KUAT"], "status")
    with pytest.raises(InputError, match=r"sig.csv.*row 2.*not a number"):
        _read(census, tmp_path)


def test_a_bps_code_the_crosswalk_maps_to_two_villages_is_reported_not_duplicated(tmp_path):
    pd.DataFrame(
        {
            "kode": ["32", "32.01", "32.01.19", "32.01.19.2006", "32.01.19.2007"],
            "nama": list("ABCDE"),
        }
    ).to_csv(tmp_path / "codes.csv", index=False)
    pd.DataFrame(
        {
            "kode_bps": ["3201190006", "3201190006"],
            "kode_dagri": ["32.01.19.2006", "32.01.19.2007"],
            "nama_dagri": ["D", "E"],
        }
    ).to_csv(tmp_path / "xw.csv", index=False)
    _village_csv(tmp_path / "c.csv", ["3201190006"], ["1"])
    census = {
        "table": "c.csv",
        "code_column": "kode",
        "names": "codes.csv",
        "crosswalk": "xw.csv",
        "items": {"census_signal_4g": {"column": "signal"}},
    }
    obs, notes = _read(census, tmp_path)
    assert obs["census_signal_4g"].notna().sum() == 0  # no names: neither village is chosen
    n = _note(notes, r"maps 1 BPS code\(s\) to two or more villages")
    assert n["rows"] == [
        "3201190006: crosswalk maps this BPS code to 2 villages: 3201192006, 3201192007"
    ]
    assert _note(notes, r"no unique Kemendagri village")["rows"][0].startswith("row 2, 3201190006")


@pytest.mark.shared_data
def test_a_podes_round_with_the_items_of_another_round_is_refused(shared_data):
    src = _national_source("podes2019_jambi_village.csv")
    src.pop("items")  # the default items are Podes 2024's R1005D / R1007A / R1007C
    with pytest.raises(
        InputError,
        match=r"podes2019_jambi_village.csv.*lacks the declared "
        r"item column\(s\) \['R1007C', 'R1005D', 'R1007A'\].*layers.census.items",
    ):
        _read(src)


@pytest.mark.shared_data
def test_undeclared_item_code_on_real_rows_names_the_file_row_and_fix(shared_data):
    src = _national_source("podes2019_jambi_village.csv")
    del src["items"]["census_signal_4g"]["blank"]  # R705D = 0 (not answered) undeclared
    j = pd.read_csv(shared_data / "podes/podes2019_jambi_village.csv", dtype=str)
    row = int(np.flatnonzero(j["R705D"] == "0")[0]) + 2
    with pytest.raises(
        InputError,
        match=rf"jambi_village.csv.*row {row}.*R705D has code 0.*"
        r"items.census_signal_4g",
    ):
        _read(src)


@pytest.mark.shared_data
def test_jabar_phone_signal_only_decides_i1b_where_there_is_no_signal(shared_data):
    obs, notes = _read(_national_source("jabar_desa_phone_signal_2019_2023.csv"))
    j = pd.read_csv(shared_data / "village/jabar_desa_phone_signal_2019_2023.csv", dtype=str)
    newest = j.sort_values("tahun").drop_duplicates("kemendagri_kode_desa_kelurahan", keep="last")
    none = newest.loc[
        newest["status_sinyal_telepon_seluler"] == "TIDAK ADA SINYAL",
        "kemendagri_kode_desa_kelurahan",
    ].str.replace(".", "")
    s = obs["census_signal_4g"]
    assert (s.dropna() == 0).all()  # a strong phone signal never proves 4G
    assert sorted(s.dropna().index) == sorted(none)
    assert _note(notes, r"newer year of jabar.* disagrees")["n_rows"] > 0
