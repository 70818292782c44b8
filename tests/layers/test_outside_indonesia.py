"""``run.outside_indonesia``: places abroad dropped with a report per layer, or refused.

Unset (the default), a village abroad is an error and outlets / towers abroad are dropped
and reported; ``'drop'`` drops villages too (their codes reported); ``'reject'`` refuses
outlets and towers abroad as well, naming the row.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.affinity import translate

from despro.config.settings import Config, load_config
from despro.errors import InputError
from despro.layer import Notes
from despro.layers import broadband, courier
from despro.layers import villages as villages_layer
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
KUALA_LUMPUR = (101.69, 3.14)


def _config(d: Path, mode: str | None) -> Config:
    cfg = load_config(d / "despro.toml")
    return cfg.model_copy(update={"run": cfg.run.model_copy(update={"outside_indonesia": mode})})


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    d = tmp_path / "sample"
    shutil.copytree(SAMPLE, d)
    return d


def _outlets_abroad(d: Path, k: int = 2) -> list[int]:
    """Move the first ``k`` courier outlets to Kuala Lumpur; their feature numbers."""
    f = d / "courier_outlets.geojson"
    fc = json.loads(f.read_text(encoding="utf-8"))
    for feat in fc["features"][:k]:
        feat["geometry"]["coordinates"] = list(KUALA_LUMPUR)
    f.write_text(json.dumps(fc), encoding="utf-8")
    return list(range(1, k + 1))


def _village_abroad(d: Path) -> str:
    """Move the village file's fourth village to Kuala Lumpur; its code."""
    v = gpd.read_file(d / "villages.gpkg", layer="villages")
    g = v.geometry.iloc[3]
    c = g.centroid
    v.loc[3, v.geometry.name] = translate(g, KUALA_LUMPUR[0] - c.x, KUALA_LUMPUR[1] - c.y)
    v.to_file(d / "villages.gpkg", layer="villages", driver="GPKG")
    return str(v["village_code"].iloc[3]).replace(".", "")  # the file writes it dotted


@pytest.mark.parametrize("mode", [None, "drop"])
def test_outlets_abroad_are_dropped_and_reported_by_default_and_with_drop(sample, mode):
    rows = _outlets_abroad(sample)
    cfg = _config(sample, mode)
    notes = Notes()
    n_all = len(gpd.read_file(sample / "courier_outlets.geojson"))
    got = courier.read_outlets(cfg.layers.courier, cfg, notes)
    assert len(got) == n_all - 2
    (note,) = [n for n in notes.items if "outside Indonesia" in n["message"]]
    assert note["action"] == "dropped" and note["rows"] == [str(r) for r in rows]
    assert f"2 of {n_all}" in note["message"] and "courier outlets" in note["message"]


def test_outlets_abroad_are_refused_with_reject(sample):
    _outlets_abroad(sample)
    cfg = _config(sample, "reject")
    with pytest.raises(InputError) as err:
        courier.read_outlets(cfg.layers.courier, cfg, Notes())
    msg = str(err.value)
    assert "courier_outlets.geojson" in msg and "row 1" in msg and "2 of" in msg
    assert "outside_indonesia = 'drop'" in msg


def test_towers_abroad_in_a_csv_are_reported_by_spreadsheet_row_or_refused(sample):
    f = sample / "towers.csv"
    head = ",".join(broadband.OPENCELLID_COLUMNS)
    lines = [
        "LTE,510,10,1201,1001,0,110.356,-7.834,1200,12,1,1,2,0",
        f"LTE,510,10,1201,1002,0,{KUALA_LUMPUR[0]},{KUALA_LUMPUR[1]},800,5,1,1,2,0",
        "LTE,510,10,1201,1003,0,110.360,-7.830,800,5,1,1,2,0",
    ]
    f.write_text("\n".join([head, *lines]) + "\n", encoding="utf-8")
    cfg = _config(sample, None)
    notes = Notes()
    got = broadband.read_towers(f, cfg.layers.broadband, notes, None)
    assert len(got) == 2
    (note,) = [n for n in notes.items if "outside Indonesia" in n["message"]]
    assert note["rows"] == ["3"]  # the header is row 1
    with pytest.raises(InputError, match="row 3"):
        broadband.read_towers(f, cfg.layers.broadband, Notes(), "reject")


@pytest.mark.parametrize("mode", [None, "reject"])
def test_a_village_abroad_is_refused_by_default_and_with_reject(sample, mode):
    code = _village_abroad(sample)
    cfg = _config(sample, mode)
    with pytest.raises(InputError) as err:
        villages_layer.read(cfg.villages, cfg, Notes())
    assert code in str(err.value) and "outside Indonesia" in str(err.value)


def test_a_village_abroad_is_dropped_and_reported_with_drop(sample):
    code = _village_abroad(sample)
    cfg = _config(sample, "drop")
    notes = Notes()
    got = villages_layer.read(cfg.villages, cfg, notes)
    n_all = len(gpd.read_file(sample / "villages.gpkg", layer="villages"))
    assert len(got) == n_all - 1 and code not in got.index
    (note,) = [n for n in notes.items if "outside Indonesia" in n["message"]]
    assert note["action"] == "dropped" and note["rows"] == [code]
    assert f"1 of {n_all}" in note["message"]


def test_the_key_takes_only_drop_or_reject(sample):
    text = (sample / "despro.toml").read_text(encoding="utf-8")
    (sample / "despro.toml").write_text(
        text.replace("[run]\n", '[run]\noutside_indonesia = "keep"\n', 1), encoding="utf-8"
    )
    with pytest.raises(Exception, match="outside_indonesia"):
        load_config(sample / "despro.toml")
