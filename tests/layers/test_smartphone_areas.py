"""Urban / rural BPS rates carried to kelurahan / desa, and the national (country) level.

Kelurahan (5th code group 1xxx) carry their province's urban rate, desa (2xxx) its
rural rate, so re-aggregating a province's desa returns the published rural rate
exactly and its kelurahan the urban rate; a province with only a total gives the
total, and says so per village. A national table is the weakest evidence, ``country``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from despro.aggregate.study import build_study
from despro.codes import village_areas
from despro.config.settings import config_from_dict
from despro.config.vocab import EVIDENCE_ORDER
from despro.layer import Notes, build
from despro.layers import smartphone, villages
from despro.transfer.rollup import villages_to_admin
from tests.conftest import REPO

HH = "pct_households_internet"
PC = "pct_households_computer"
IND = "pct_households_accessed_internet_3m"
HOUSEHOLDS = "ict/bps_prov_households_internet_2022_2024.csv"
NATIONAL = "ict/bps_national_households_computer_internet_2020_2023_via_databoks.csv"
AREA = {"urban": "Perkotaan", "rural": "Perdesaan", "total": "Perkotaan+Perdesaan"}


def _rollup(res, study, mask: np.ndarray, variables) -> pd.DataFrame:
    """Province rates re-aggregated from the villages in ``mask`` only."""
    idx = study.villages.index[mask]
    return villages_to_admin(res.table.loc[idx], study.villages.loc[idx], variables, "province")


def _run(cfg):
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    study = build_study(vil, 8)
    res = build(smartphone, cfg.layers.smartphone, study, cfg, notes)
    return SimpleNamespace(study=study, res=res, notes=notes)


# ---------------------------------------------------------------- synthetic


@pytest.fixture
def toy(tmp_path: Path):
    """Six villages in two provinces: 15 (urban, rural, total) and 16 (total only)."""
    codes = ["1501011001", "1501012001", "1501012002", "1601011001", "1601012001", "1501013001"]
    boxes = [shapely.box(103 + i * 0.05, -1.6, 103.04 + i * 0.05, -1.56) for i in range(6)]
    gpd.GeoDataFrame(
        {
            "village_code": codes,
            "village_name": [f"V{i}" for i in range(6)],
            "population": [4000.0, 3000, 1000, 2000, 500, 800],
            "households": [1000.0, 700, 300, 500, 120, 200],
        },
        geometry=boxes,
        crs="EPSG:4326",
    ).to_file(tmp_path / "v.gpkg")
    rows = [
        ("15", "urban", 93.01),
        ("15", "rural", 89.41),
        ("15", "total", 90.59),
        ("16", "total", 88.0),
    ]
    pd.DataFrame(
        [
            {"level": "province", "code": c, "year": "2024", "indicator": IND}
            | {"area": AREA[a], "value": v}
            for c, a, v in rows
        ]
    ).to_csv(tmp_path / "hh.csv", index=False)
    pd.DataFrame(
        [
            {"level": "country", "code": "ID", "year": y, "indicator": "pc"}
            | {"area": AREA["total"], "value": v}
            for y, v in (("2022", 18.04), ("2023", 18.06))
        ]
    ).to_csv(tmp_path / "pc.csv", index=False)
    return tmp_path


def _toy_config(base: Path, **hh):
    return config_from_dict(
        {
            "villages": {"path": "v.gpkg"},
            "layers": {
                "smartphone": {
                    "level": "province",
                    "code_column": "code",
                    "format": "long",
                    "filters": {"year": "2024", "area": AREA["total"]},
                    "sources": [
                        {"table": "hh.csv", "columns": {HH: IND}} | hh,
                        {
                            "table": "pc.csv",
                            "level": "country",
                            "filters": {"year": "2023"},
                            "columns": {PC: "pc"},
                        },
                    ],
                }
            },
        },
        base_dir=base,
    )


def test_kelurahan_take_the_urban_rate_and_desa_the_rural_rate(toy):
    """Synthetic: 1xxx urban, 2xxx rural, province 16 total, 3xxx total and noted."""
    run = _run(_toy_config(toy, area_column="area"))
    t, attrs = run.res.table, run.res.attributes
    rate = 100 * t[f"{HH}__num"] / t[f"{HH}__den"]
    np.testing.assert_array_equal(rate.round(10), [93.01, 89.41, 89.41, 88.0, 88.0, 90.59])
    assert attrs[f"{HH}_area"].tolist() == ["urban", "rural", "rural", "total", "total", "total"]
    assert (attrs[f"{HH}_evidence"] == "province").all()
    (odd,) = [n for n in run.notes.items if "neither 1" in n["message"]]
    assert odd["rows"] == ["1501013001"]
    kind = village_areas(run.study.villages["village_code"])
    variables = run.res.variables
    for area, published in (("rural", 89.41), ("urban", 93.01)):
        got = _rollup(
            run.res,
            run.study,
            (kind == area) & (run.study.villages["province_code"] == "15").to_numpy(),
            variables,
        )
        assert got.loc["15", HH] == pytest.approx(published, rel=1e-14, abs=0)
    # the national computer figure reaches every village as the weakest level
    pc = 100 * t[f"{PC}__num"] / t[f"{PC}__den"]
    np.testing.assert_allclose(pc, 18.06, rtol=1e-14)
    assert (attrs[f"{PC}_evidence"] == "country").all()
    assert (attrs[f"{PC}_area"] == "total").all()
    decl = {v.name: v for v in variables}
    assert decl[PC].level == "country" and EVIDENCE_ORDER[-1] == "country"


def test_without_area_column_every_village_takes_the_total(toy):
    """No split configured: one rate for kelurahan and desa alike, no area attribute."""
    run = _run(_toy_config(toy))
    t = run.res.table
    rate = 100 * t[f"{HH}__num"] / t[f"{HH}__den"]
    np.testing.assert_array_equal(rate.round(10), [90.59, 90.59, 90.59, 88.0, 88.0, 90.59])
    assert f"{HH}_area" not in run.res.attributes.columns


def test_a_table_without_urban_rows_falls_back_to_the_total_and_says_so(toy):
    """area_column on a total-only table: a note per missing area, totals everywhere."""
    d = pd.read_csv(toy / "hh.csv")
    d[d["area"] == AREA["total"]].to_csv(toy / "hh.csv", index=False)
    run = _run(_toy_config(toy, area_column="area"))
    missing = [n["message"] for n in run.notes.items if n["message"].startswith("no ")]
    assert len(missing) == 2 and "urban" in missing[0] and "rural" in missing[1]
    assert (run.res.attributes[f"{HH}_area"] == "total").all()


def test_a_country_table_with_two_rows_after_filters_is_an_error(toy):
    """The national table filtered to no single year: two rows for one unit, named."""
    cfg = _toy_config(toy)
    src = cfg.layers.smartphone.sources[1].model_copy(update={"filters": {}})
    with pytest.raises(Exception, match="appears twice"):
        smartphone.read_source(src, cfg, Notes())


# ---------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_jambi_desa_return_the_published_rural_rate_and_kelurahan_the_urban(shared_data):
    """BPS 2024, Jambi (15): desa re-aggregate to Perdesaan, kelurahan to Perkotaan."""
    d = pd.read_csv(shared_data / HOUSEHOLDS, dtype=str)
    d = d[(d["year"] == "2024") & (d["code"] == "15")].set_index("area")["value"].astype(float)
    cfg = config_from_dict(
        {
            "villages": {
                "path": "admin/admin_kel.parquet",
                "code": "kode",
                "name": "nama",
                "code_prefix": "15",
            },
            "layers": {
                "smartphone": {
                    "level": "province",
                    "code_column": "code",
                    "code_system": "bps",
                    "format": "long",
                    "filters": {"year": "2024", "level": "province"},
                    "sources": [
                        {"table": HOUSEHOLDS, "columns": {HH: IND}, "area_column": "area"},
                        {
                            "table": NATIONAL,
                            "level": "country",
                            "filters": {"year": "2023", "level": "country"},
                            "columns": {PC: "pct_households_owning_computer"},
                        },
                    ],
                }
            },
        },
        base_dir=shared_data,
    )
    run = _run(cfg)
    kind = village_areas(run.study.villages["village_code"])
    assert (kind == "urban").sum() > 100 and (kind == "rural").sum() > 1000
    assert (kind != "other").all()
    area = run.res.attributes[f"{HH}_area"].to_numpy()
    assert (area == kind).all()
    for k, label in (("rural", "Perdesaan"), ("urban", "Perkotaan")):
        got = _rollup(run.res, run.study, kind == k, run.res.variables)
        assert got.loc["15", HH] == pytest.approx(d[label], rel=1e-14, abs=0), k
    # the total re-aggregates to neither: the split carries information
    assert d["Perkotaan"] != d["Perdesaan"]
    pc = pd.read_csv(shared_data / NATIONAL, dtype=str)
    pc = pc[(pc["year"] == "2023") & (pc["indicator"] == "pct_households_owning_computer")]
    t = run.res.table
    np.testing.assert_allclose(
        100 * t[f"{PC}__num"] / t[f"{PC}__den"], float(pc["value"].iloc[0]), rtol=1e-14
    )
    assert (run.res.attributes[f"{PC}_evidence"] == "country").all()


def test_readme_names_the_country_level():
    """The evidence-precedence paragraph lists every level of the order, country last."""
    text = (REPO / "README.md").read_text()
    assert " > ".join(f"`{lvl}`" for lvl in EVIDENCE_ORDER) in text


@pytest.mark.shared_data
def test_national_example_uses_the_split_the_country_level_and_the_newest_years(shared_data):
    """examples/indonesia.toml: each indicator from its newest year; I1a split; I2b country."""
    from despro.config.settings import load_config

    cfg = load_config(REPO / "examples" / "indonesia.toml")
    sp = cfg.layers.smartphone
    by_var = {var: src for src in sp.all_sources() for var in src.columns}
    assert by_var[HH].area_column == "area"
    assert by_var[PC].level == "country"
    for var, src in by_var.items():
        d = pd.read_csv(cfg.path(src.table), dtype=str)
        d = d[d["indicator"] == src.columns[var]]
        assert src.filters["year"] == max(d["year"]), var
        if src.area_column is None:  # a table that has a split must use it
            assert set(d["area"]) == {AREA["total"]}, var
