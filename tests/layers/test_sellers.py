"""The sellers layer (online sales, active shops, households selling online) feeds the
``taobao-monitoring`` profile's rules T1-T3: known where the table has a value, unknown
elsewhere; rupiah converted to RMB at the declared rate. The table is a tiny synthetic
one under tests/layers/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from despro.config.settings import load_config
from despro.errors import InputError
from despro.layers.sellers import SellersConfig, read_sellers
from despro.pipeline.runner import run
from despro.rules.profiles import taobao_status

TINY = Path(__file__).parent / "data" / "sellers_tiny.csv"

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")


def _with_sellers(sample_copy: Path, extra: str = "") -> Path:
    shutil.copy(TINY, sample_copy / "sellers.csv")
    toml = sample_copy / "despro.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace("[criteria]\n", '[criteria]\nprofile = "taobao-monitoring"\n', 1)
    toml.write_text(
        text + f'\n[layers.sellers]\ntable = "sellers.csv"\nvintage = "2025 (synthetic)"\n{extra}',
        encoding="utf-8",
    )
    return toml


def test_the_profile_reads_the_table_and_is_unknown_elsewhere(sample_copy):
    r = run(load_config(_with_sellers(sample_copy)))
    v = r.villages
    states = v[["T1_state", "T2_state", "T3_state"]]
    assert states.loc["3401012001"].tolist() == ["pass", "pass", "pass"]  # 50 / 400 = 12.5 %
    assert states.loc["3401012002"].tolist() == ["fail", "pass", "unknown"]
    assert states.loc["3401012003"].tolist() == ["unknown", "fail", "fail"]  # 4 %
    assert states.loc["3401012004"].tolist() == ["pass", "unknown", "unknown"]
    assert states.loc["3401012005"].tolist() == ["pass", "fail", "pass"]  # the 15 % column
    listed = v.index.isin([f"340101200{i}" for i in range(1, 6)])
    assert (states[~listed] == "unknown").all().all()
    assert np.isnan(v.loc[~listed, "online_sales_rmb"]).all()
    assert v.loc["3401012003", "pct_households_selling_online"] == pytest.approx(4.0)
    status = taobao_status(r.criteria)
    assert status["3401012001"] == "pass" and status["3401012002"] == "fail"
    assert status["3401012003"] == "fail"  # T2 and T3 both fail
    assert status["3401012004"] == "unknown" and status["3401012005"] == "pass"
    assert (status[~status.index.isin(v.index[listed])] == "unknown").all()
    # the gate rules and so the tiers do not move: T1-T3 are informative
    base = run(load_config(sample_copy / "despro.toml", profile="despro-table1"))
    assert (base.villages["tier"] == v["tier"]).all()


def test_sales_in_rupiah_are_converted_at_the_declared_rate(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "kode,sales_rp\n3401012001,22000000000\n3401012002,18000000000\n3401012003,\n",
        encoding="utf-8",
    )
    cfg = SellersConfig(
        table=path, code_column="kode", sales_column="sales_rp", sales_unit="Rp", rp_per_rmb=2000
    )
    df = read_sellers(cfg, path).set_index("village_code")
    assert df.loc["3401012001", "sales_rmb"] == pytest.approx(11e6)
    assert df.loc["3401012002", "sales_rmb"] == pytest.approx(9e6)
    assert np.isnan(df.loc["3401012003", "sales_rmb"])
    juta = SellersConfig(
        table=path, code_column="kode", sales_column="sales_rp", sales_unit="juta Rp"
    )
    path.write_text("kode,sales_rp\n3401012001,22000\n", encoding="utf-8")
    assert read_sellers(juta, path)["sales_rmb"].iloc[0] == pytest.approx(22000e6 / 2200)


def test_bad_tables_name_the_file_the_row_and_the_fix(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "village_code,households_selling_online,households\n3401012001,90,40\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="more than the village's 40 households") as e:
        read_sellers(SellersConfig(table=path), path)
    assert e.value.row == 2
    path.write_text("village_code,online_shops_active\n3401012001,3\n34.01.01.2001,4\n")
    with pytest.raises(InputError, match="listed twice"):
        read_sellers(SellersConfig(table=path), path)
    path.write_text("village_code,other\n3401012001,3\n")
    with pytest.raises(InputError, match="no column of sales"):
        read_sellers(SellersConfig(table=path), path)
    with pytest.raises(InputError, match="online_sales_x"):
        read_sellers(SellersConfig(table=path, sales_column="online_sales_x"), path)
