"""Village census evidence (Podes, Kota Batu), the BPS <-> Kemendagri crosswalk, precedence."""

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.layers._crosswalk import bps_villages_to_kemendagri, kemendagri_units, normalise_name
from despro.pipeline.runner import run
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")
EXTRACT = "podes/podes2024_kota_batu_village_readiness_extract.csv"


@pytest.fixture(scope="module")
def units(shared_data):
    return kemendagri_units(pd.read_csv(shared_data / "admin/codes_kemendagri.csv", dtype=str))


def _batu_config(shared_data, outlets=None):
    data = tomllib.loads((REPO / "examples/kota_batu.toml").read_text())
    if outlets is not None:
        data["layers"]["courier"] = {"outlets": str(outlets)}
    return config_from_dict(data, base_dir=REPO / "examples")


@pytest.fixture(scope="module")
def batu(shared_data):
    return run(_batu_config(shared_data))


def test_names_normalise_across_publishers():
    for n in ("Kab. Bantul", "KABUPATEN BANTUL", "Kabupaten  Bantul"):
        assert normalise_name(n) == "BANTUL"
    for n in ("DI Yogyakarta", "D.I. Yogyakarta", "DAERAH ISTIMEWA YOGYAKARTA"):
        assert normalise_name(n) == "YOGYAKARTA"
    assert normalise_name("Kota Bogor", keep_kota=True) != normalise_name(
        "Kab. Bogor", keep_kota=True
    )


def test_all_24_batu_census_villages_join_to_their_kemendagri_codes(shared_data, units):
    t = pd.read_csv(shared_data / EXTRACT, dtype=str)
    x = bps_villages_to_kemendagri(t, units)
    truth = pd.read_csv(
        shared_data / "podes/podes2024_kota_batu_industry_products.csv", dtype=str
    ).set_index("IDDESA")["kode_kemendagri"]
    assert len(x) == 24 and (x["problem"] == "").all()
    assert (x["kemendagri_code"] == x["bps_code"].map(truth).str.replace(".", "")).all()
    # BPS and Kemendagri number Batu's districts differently: codes alone would fail
    assert (x["bps_code"].str[4:7] != x["kemendagri_code"].str[4:6] + "0").any()


def test_unmatched_and_ambiguous_rows_are_reported_not_guessed(units):
    t = pd.DataFrame(
        {
            "IDDESA": ["3579010001", "3579010099"],
            "NAMA_KAB": ["BATU", "BATU"],
            "NAMA_KEC": ["BATU", "BATU"],
            "NAMA_DESA": ["ORO-ORO OMBO", "DESA TIDAK ADA"],
        }
    )
    x = bps_villages_to_kemendagri(t, units)
    assert x["kemendagri_code"].iloc[0] == "3579012006"
    assert pd.isna(x["kemendagri_code"].iloc[1]) and "not found" in x["problem"].iloc[1]


def test_census_items_decide_courier_and_signal_criteria(shared_data, batu):
    c = batu.criteria.set_index(["village_code", "rule"])
    t = pd.read_csv(shared_data / EXTRACT, dtype=str)
    x = bps_villages_to_kemendagri(
        t, kemendagri_units(pd.read_csv(shared_data / "admin/codes_kemendagri.csv", dtype=str))
    )
    agent = pd.Series((t["R1007C"] == "1").to_numpy(), index=x["kemendagri_code"])
    signal = pd.Series((t["R1005D"] == "1").to_numpy(), index=x["kemendagri_code"])
    assert len(batu.villages) == 24
    for code in agent.index:
        i3, i1b = c.loc[(code, "I3")], c.loc[(code, "I1b")]
        assert i1b["evidence"] == "census" and (i1b["state"] == "pass") == signal[code]
        # an agent in the village proves I3; "no agent" decides nothing (no courier layer here)
        if agent[code]:
            assert i3["evidence"] == "census" and i3["state"] == "pass"
            assert "podes2024" in i3["source"] and i3["vintage"] == "Podes 2024 (BPS)"
        else:
            assert i3["evidence"] == "none" and i3["state"] == "unknown"
    assert agent.any() and not agent.all()


def test_census_no_courier_agent_leaves_I3_to_the_outlet_cells(shared_data, tmp_path):
    t = pd.read_csv(shared_data / EXTRACT, dtype=str)
    no_agent = t[t["R1007C"] != "1"].iloc[0]  # the census says no courier agent here
    pt = gpd.GeoDataFrame(
        {"operator": ["JNE"]},
        crs="EPSG:4326",
        geometry=gpd.points_from_xy(
            [float(no_agent["R307B_LONG"])], [float(no_agent["R307B_LAT"])]
        ),
    )
    pt.to_file(tmp_path / "outlet.geojson")
    r = run(_batu_config(shared_data, outlets=tmp_path / "outlet.geojson"))
    code = bps_villages_to_kemendagri(
        t[t["IDDESA"] == no_agent["IDDESA"]],
        kemendagri_units(pd.read_csv(shared_data / "admin/codes_kemendagri.csv", dtype=str)),
    )["kemendagri_code"].iloc[0]
    row = r.criteria.set_index(["village_code", "rule"]).loc[(code, "I3")]
    # no agent in the village does not disprove courier service: the cells decide
    assert row["evidence"] == "cells" and row["state"] == "pass"
    assert r.villages.loc[code, "courier_companies"] >= 1
    assert np.isnan(r.villages.loc[code, "census_courier_agent"])
    conf = r.conflicts[(r.conflicts["village_code"] == code) & (r.conflicts["rule"] == "I3")]
    assert len(conf) == 0


def test_villages_without_census_fall_back_to_modelled_evidence(sample_copy):
    # a census naming one sample village only: the other 299 are decided by cells
    v = gpd.read_file(sample_copy / "villages.gpkg")
    code = v["village_code"].iloc[0].replace(".", "")
    pd.DataFrame({"kode": [code], "R1007C": ["4"], "R1005D": ["1"], "R1007A": ["1"]}).to_csv(
        sample_copy / "census.csv", index=False
    )
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"]["census"] = {
        "table": "census.csv",
        "code_column": "kode",
        "code_system": "kemendagri",
    }
    r = run(config_from_dict(data, base_dir=sample_copy))
    i3 = r.criteria[r.criteria["rule"] == "I3"].set_index("village_code")
    # R1007C = 4 (no agent) is recorded but decides nothing: the cells decide I3 there too
    assert i3.loc[code, "evidence"] == "cells"
    i1b = r.criteria[r.criteria["rule"] == "I1b"].set_index("village_code")
    assert i1b.loc[code, "evidence"] == "census" and i1b.loc[code, "state"] == "pass"
    others = i3.drop(index=code)
    assert (others["evidence"] == "cells").all()
    assert np.isnan(r.villages.drop(index=code)["census_courier_agent"]).all()


def test_undeclared_census_code_is_an_error(sample_copy):
    v = gpd.read_file(sample_copy / "villages.gpkg")
    pd.DataFrame(
        {"kode": [v["village_code"].iloc[0]], "R1007C": ["7"], "R1005D": ["1"], "R1007A": ["1"]}
    ).to_csv(sample_copy / "census.csv", index=False)
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"]["census"] = {
        "table": "census.csv",
        "code_column": "kode",
        "code_system": "kemendagri",
    }
    from despro.errors import InputError

    with pytest.raises(InputError, match=r"census.csv.*row 2.*R1007C has code 7"):
        run(config_from_dict(data, base_dir=sample_copy))


def test_bakti_sites_become_towers_with_match_rate_and_misplaced_sites_reported(shared_data):
    """BAKTI 4G sites (Kemendagri village codes + lon/lat) on Nusa Tenggara Timur (53)."""
    cfg = config_from_dict(
        {
            "villages": {
                "path": "admin/admin_kel.parquet",
                "code": "kode",
                "name": "nama",
                "code_prefix": "53",
                "bbox": [118.8, -11.1, 125.3, -7.9],
            },
            "layers": {
                "broadband": {
                    "sites": ["infra/bakti_bts4g_sites_kepmendagri.xlsx"],
                    "sites_vintage": "BAKTI 2021",
                }
            },
        },
        base_dir=shared_data,
    )
    r = run(cfg)
    sites = pd.read_csv(shared_data / "infra/bakti_bts4g_sites_kepmendagri.csv", dtype=str)
    codes = sites["kode kel./desa"].str.replace(".", "", regex=False)
    expected = int(codes.isin(r.villages.index).sum())
    rate = [n for n in r.notes.items if "matching a village" in n["message"]]
    assert rate and f"{expected} of {len(sites)}" in rate[0]["message"]
    outside = [n for n in r.notes.items if "outside the village their code names" in n["message"]]
    # an independent point-in-polygon count of the sites that name an NTT village
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(sites["long"].astype(float), sites["lat"].astype(float)),
        crs="EPSG:4326",
    )[codes.isin(r.villages.index).to_numpy()]
    own = r.villages.geometry.reindex(codes[codes.isin(r.villages.index)]).to_numpy()
    n_out = int((~np.array([o.covers(p) for o, p in zip(own, pts.geometry, strict=True)])).sum())
    assert n_out > 0 and outside and outside[0]["n_rows"] == n_out
    # every site inside a study cell is a tower there; LTE coverage is modelled around them
    assert r.cells["towers__LTE"].sum() >= expected - n_out
    assert (r.villages["pct_area_lte_modelled"] > 0).sum() > 0


def test_regency_statistics_take_precedence_over_province_statistics(sample_copy):
    """Regency table where it has the village's regency, province table elsewhere; says which."""
    reg = pd.read_csv(sample_copy / "ict_regency.csv", dtype={"regency_code": str})
    reg[reg["regency_code"] != "3401"].to_csv(sample_copy / "ict_regency.csv", index=False)
    pd.DataFrame(
        {
            "province_code": ["34"],
            "pct_households_internet": [41.0],
            "pct_individuals_mobile_phone": [66.0],
        }
    ).to_csv(sample_copy / "ict_province.csv", index=False)
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"]["smartphone"] = {
        "sources": [
            {"table": "ict_regency.csv", "level": "regency", "code_column": "regency_code"},
            {
                "table": "ict_province.csv",
                "level": "province",
                "code_column": "province_code",
                "columns": {
                    "pct_households_internet": "pct_households_internet",
                    "pct_individuals_mobile_phone": "pct_individuals_mobile_phone",
                },
            },
        ]
    }
    r = run(config_from_dict(data, base_dir=sample_copy))
    v = r.villages
    in_3401 = v["regency_code"] == "3401"
    assert np.allclose(v.loc[in_3401, "pct_households_internet"], 41.0)  # province fills in
    other = reg.set_index("regency_code")["pct_households_internet"]
    assert np.allclose(
        v.loc[~in_3401, "pct_households_internet"],
        other.reindex(v.loc[~in_3401, "regency_code"]).to_numpy(),
    )
    i1a = r.criteria[r.criteria["rule"] == "I1a"].set_index("village_code")
    assert (i1a.loc[v.index[in_3401], "evidence"] == "province").all()
    assert (i1a.loc[v.index[~in_3401], "evidence"] == "regency").all()


def test_name_keys_equal_name_key_one_by_one():
    """The vectorised keys are the one-name-at-a-time keys, prefixes and punctuation too."""
    import numpy as np
    import pandas as pd

    from despro.layers._crosswalk import name_key, name_keys

    names = pd.Series(
        [
            "Kab. Bantul",
            "KABUPATEN BANTUL",
            "D.I. Yogyakarta",
            "D. I. Yogyakarta",
            "Oro-oro Ombo",
            "KAB. KOTA X",
            "Kota Adm. Jakarta Pusat",
            "  desa  Sukamaju ",
            "Kel.Kebon Jeruk",
            "Kecamatan Kec. Ngaglik",
            "KOTAMOBAGU",
            "Kota",
            "PROVINSI",
            "Sumber Brantas",
            "Sumberbrantas",
            "Ñ É 2",
            None,
            np.nan,
        ],
        dtype=object,
    )
    want = [name_key(n) if isinstance(n, str) else "" for n in names]
    assert name_keys(names).tolist() == want
    assert name_keys(names)[13] == name_keys(names)[14] == "SUMBERBRANTAS"
