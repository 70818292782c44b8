"""Product potential from a Podes table (small industry by group, flagship products)."""

import tomllib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.errors import ConfigError, InputError
from despro.layers._podes import INDUSTRY_GROUPS
from despro.pipeline.runner import run
from tests.conftest import REPO

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")
INDUSTRY = "podes/podes2024_kota_batu_industry_products.csv"
GROUPS = list(INDUSTRY_GROUPS)


@pytest.fixture(scope="module")
def batu(shared_data):
    data = tomllib.loads((REPO / "examples/kota_batu.toml").read_text())
    return run(config_from_dict(data, base_dir=REPO / "examples"))


def test_batu_products_come_from_podes_with_location_quotients(shared_data, batu):
    raw = pd.read_csv(shared_data / INDUSTRY, dtype=str)
    units = raw[GROUPS].astype(float).to_numpy()
    code = raw["kode_kemendagri"].str.replace(".", "", regex=False).to_numpy()
    v = batu.villages.loc[code]
    assert len(v) == 24
    # LQ recomputed from the raw counts: the largest group's share in the village over
    # its share in all of Kota Batu
    top = units.argmax(axis=1)
    share_v = units[np.arange(24), top] / units.sum(axis=1)
    share_all = units.sum(axis=0)[top] / units.sum()
    np.testing.assert_allclose(
        v["product_location_quotient"].to_numpy(), share_v / share_all, rtol=1e-12
    )
    cats = np.array([INDUSTRY_GROUPS[g][0] for g in GROUPS])
    assert (v["flagship_category"].to_numpy() == cats[top]).all()
    # a declared flagship product (R1203A = 1) is distinctive; none (2) is not
    declared = raw["R1203A"].astype(int).to_numpy() == 1
    np.testing.assert_array_equal(v["product_distinctiveness"].to_numpy(), declared * 1.0)
    temas = v.loc[code[raw["NAMA_DESA"] == "TEMAS"][0]]
    assert temas["flagship_product"] == "Batik Eco Print"  # "-" for food is not a product
    # no category table: demand growth unknown, so P2 is unknown, never pass
    p2 = batu.criteria[batu.criteria["rule"] == "P2"]
    assert (p2["state"] == "unknown").all()
    assert batu.villages["tier"].isin(["undetermined", "not ready"]).all()


def test_code_list_names_regencies_and_provinces(batu):
    # villages.names (the Kemendagri code list) names every regency and province
    v = batu.villages
    assert set(v["regency_name"]) == {"Kota Batu"}
    assert set(v["province_name"]) == {"Jawa Timur"}


def _podes_for_sample(sample_copy, rows):
    v = gpd.read_file(sample_copy / "villages.gpkg")
    codes = v["village_code"].str.replace(".", "", regex=False).iloc[: len(rows)].tolist()
    frame = []
    for code, (units, present, food, nonfood) in zip(codes, rows, strict=True):
        r = {
            "IDDESA": code,
            **{g: str(units.get(g, 0)) for g in GROUPS},
            "R1203A": present,
            "R1203B1": food,
            "R1203B2": nonfood,
        }
        frame.append(r)
    pd.DataFrame(frame).to_csv(sample_copy / "podes.csv", index=False)
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"]["products"] = {
        "table": "podes.csv",
        "format": "podes",
        "podes": {"code_system": "kemendagri"},
    }
    return data, codes


def test_podes_products_on_the_sample(sample_copy):
    rows = [
        ({"R1201A8": 6, "R1201A4": 2}, "1", "Keripik", "-"),  # food village
        ({"R1201A4": 5}, "2", "", ""),  # batik, no flagship
        ({}, "1", "Kopi", ""),  # no industry
        ({"R1201A8": 1, "R1201A9": 1}, "", "", ""),
    ]  # tie, flag unknown
    data, codes = _podes_for_sample(sample_copy, rows)
    pd.DataFrame({"category": ["food"], "demand_growth_pct": [12.0]}).to_csv(
        sample_copy / "podes_growth.csv", index=False
    )
    data["layers"]["products"]["categories"] = "podes_growth.csv"
    r = run(config_from_dict(data, base_dir=sample_copy))
    v = r.villages.loc[codes]
    # totals: food 7, textiles 7, beverages 1 of 15 enterprises
    assert v["flagship_category"].tolist()[:2] == ["food", "textiles"]
    np.testing.assert_allclose(v["product_location_quotient"].iloc[0], (6 / 8) / (7 / 15))
    np.testing.assert_allclose(v["product_location_quotient"].iloc[1], 1.0 / (7 / 15))
    assert v["flagship_product"].iloc[0] == "Keripik"
    assert v["product_distinctiveness"].tolist()[:2] == [1.0, 0.0]
    # no small industry at all: products unknown, not zero
    assert np.isnan(v["product_location_quotient"].iloc[2])
    assert pd.isna(v["flagship_category"].iloc[2])
    # a tie goes to the first group in questionnaire order (R1201A8 food before A9)
    assert v["flagship_category"].iloc[3] == "food"
    assert np.isnan(v["product_distinctiveness"].iloc[3])
    # growth given for food only: P2 decided for food villages, unknown for textiles
    p2 = r.criteria[r.criteria["rule"] == "P2"].set_index("village_code")
    assert p2.loc[codes[0], "state"] == "pass" and p2.loc[codes[1], "state"] == "unknown"
    # the other 296 sample villages are not in the Podes file: unknown, never 0
    rest = r.villages.drop(index=codes)
    assert rest["product_location_quotient"].isna().all()


def test_podes_products_errors_name_file_row_and_fix(sample_copy):
    data, _ = _podes_for_sample(sample_copy, [({"R1201A8": 2}, "1", "x", "")])
    d = pd.read_csv(sample_copy / "podes.csv", dtype=str)
    d.loc[0, "R1201A5"] = ""
    d.to_csv(sample_copy / "podes.csv", index=False)
    with pytest.raises(InputError, match=r"podes.csv.*row 2.*R1201A5 is empty.*write 0"):
        run(config_from_dict(data, base_dir=sample_copy))
    d.loc[0, "R1201A5"] = "0"
    d.loc[0, "R1203A"] = "7"
    d.to_csv(sample_copy / "podes.csv", index=False)
    with pytest.raises(InputError, match=r"podes.csv.*row 2.*R1203A has code 7"):
        run(config_from_dict(data, base_dir=sample_copy))
    d.loc[0, "R1203A"] = "1"
    d.to_csv(sample_copy / "podes.csv", index=False)
    pd.DataFrame({"category": ["batik"], "demand_growth_pct": [12.0]}).to_csv(
        sample_copy / "g.csv", index=False
    )
    data["layers"]["products"]["categories"] = "g.csv"
    with pytest.raises(InputError, match=r"g.csv.*\['batik'\] are not Podes industry groups"):
        run(config_from_dict(data, base_dir=sample_copy))


def test_products_table_without_categories_is_a_config_error(sample_copy):
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    del data["layers"]["products"]["categories"]
    with pytest.raises(ConfigError, match=r"layers.products.*needs 'categories'"):
        config_from_dict(data, base_dir=sample_copy)
