"""Real Indonesian data: the loaders read the published files and every kind aggregates.

The files live in ``../shared/data`` (see its SOURCES.md) and are never copied into
the repository; anything derived from them is written under pytest's ``tmp_path``
only. Without the folder these tests are skipped, except under ``CI=true`` where
that is a failure.

Each test checks what a user would check on the real files, with the expected
numbers computed independently of the engine (pandas, shapely, pyproj, h3-py):
village counts against the GeoParquet, BPS rates against the CSV, test counts and
test-weighted speeds against the Ookla tiles, people against the raster's pixels,
distances against brute-force geodesics, companies against the outlet names.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely

from despro.aggregate.study import build_study
from despro.config.settings import config_from_dict, load_config
from despro.errors import ConfigError, InputError
from despro.grid import cells as grid
from despro.layer import Notes, build
from despro.layers import broadband, courier, population, smartphone, villages
from despro.layers._io import INDONESIA_BOUNDS, read_vector
from despro.pipeline.runner import run
from despro.rules.criteria import rule_states
from despro.variables import finalize
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"
KEL = "admin/admin_kel.parquet"
HOUSEHOLDS = "ict/bps_prov_households_internet_2022_2024.csv"
PHONES = "ict/bps_prov_pop_owning_mobile_phone_2020_2024.csv"
OOKLA = "infra/ookla_fixed_tiles_balikpapan_depok.csv"
JAKBAR_POST = "infra/kantorpos_courier_points_jakarta_barat.geojson"
VILLAGES = {"path": KEL, "code": "kode", "name": "nama"}
BPS_2024 = {"year": "2024", "area": "Perkotaan+Perdesaan", "level": "province"}

pytestmark = [
    pytest.mark.shared_data,
    # GDAL reads TeleGeography's duplicated landing-point ids as feature ids and says so
    pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning"),
]


@pytest.fixture(scope="session")
def real_data(shared_data) -> Path:
    """``../shared/data`` (conftest: skipped when missing, a failure under CI=true)."""
    if not (shared_data / KEL).is_file():
        pytest.fail(f"{shared_data / KEL} is missing from the shared data")
    return shared_data


def _config(real_data: Path, **sections):
    """A validated config whose relative paths point into the real data folder."""
    return config_from_dict(sections, base_dir=real_data)


def _villages_and_study(cfg, res: int = 8):
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    return vil, build_study(vil, res), notes


@pytest.fixture(scope="module")
def kel(real_data) -> pd.DataFrame:
    """The village file's codes and names, read with plain geopandas (no despro)."""
    return gpd.read_parquet(real_data / KEL, columns=["kode", "nama", "geometry"])


@pytest.fixture(scope="module")
def bps_2024(real_data) -> dict[str, pd.DataFrame]:
    """The 2024 province totals of both BPS tables, read with plain pandas."""
    out = {}
    for key, f in (("households", HOUSEHOLDS), ("phones", PHONES)):
        d = pd.read_csv(real_data / f, dtype=str)
        d = d[
            (d["year"] == "2024")
            & (d["area"] == "Perkotaan+Perdesaan")
            & (d["level"] == "province")
        ]
        out[key] = d.assign(value=d["value"].astype(float)).set_index("code")
    return out


@pytest.fixture(scope="module")
def bali(real_data):
    """``examples/bali.toml`` run end to end (Bali villages, BPS 2024, TeleGeography)."""
    cfg = load_config(EXAMPLES / "bali.toml")
    return SimpleNamespace(config=cfg, result=run(cfg))


# ---------------------------------------------------------------- villages


def test_bali_villages_match_the_geoparquet(bali, kel):
    """All 716 Bali villages, 10-digit codes, names, derived regency / province, valid shapes."""
    expected = kel[kel["kode"].str.startswith("51.")]
    vil = bali.result.study.villages
    assert len(vil) == len(expected) == 716
    assert vil["village_code"].str.fullmatch(r"51\d{8}").all()
    assert set(vil["village_code"]) == set(expected["kode"].str.replace(".", "", regex=False))
    names = dict(
        zip(expected["kode"].str.replace(".", "", regex=False), expected["nama"], strict=True)
    )
    assert (vil["village_name"] == vil["village_code"].map(names)).all()
    assert (vil["regency_code"] == vil["village_code"].str[:4]).all()
    assert set(vil["regency_code"]) == set(expected["kode"].str[:5].str.replace(".", ""))
    assert (vil["province_code"] == "51").all()
    assert vil["population"].isna().all() and vil["households"].isna().all()
    geom = vil.geometry.values
    assert shapely.is_valid(geom).all() and not shapely.is_empty(geom).any()
    assert set(vil.geom_type) <= {"Polygon", "MultiPolygon"}
    # the same land as in the file: nothing clipped or lost on the way
    assert shapely.area(geom).sum() == pytest.approx(
        shapely.area(expected.geometry.values).sum(), rel=1e-12
    )


def test_bbox_filters_geoparquet_and_collections_become_polygons(real_data, kel):
    """``bbox`` works on GeoParquet too; a stored GeometryCollection is reduced to polygons."""
    box = (114.40, -8.90, 115.75, -8.00)  # Bali, plus the Banyuwangi shore of Java
    cfg = _config(real_data, villages={**VILLAGES, "bbox": list(box)})
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    hit = kel.geometry.intersects(shapely.box(*box))
    assert len(vil) == int(hit.sum()) < len(kel)
    assert set(vil["village_code"]) == set(kel.loc[hit, "kode"].str.replace(".", "", regex=False))
    bali_codes = set(kel.loc[kel["kode"].str.startswith("51."), "kode"].str.replace(".", ""))
    assert bali_codes < set(vil["village_code"])  # all of Bali, and Java's shore across
    assert {"35", "51"} <= set(vil["province_code"])
    # the one GeometryCollection in the file (Sangginora, polygon + stray line)
    gc = kel[kel.geom_type == "GeometryCollection"]
    assert list(gc["kode"]) == ["72.02.19.2002"]
    cfg = _config(real_data, villages={**VILLAGES, "code_prefix": "720219"})
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    one = vil.loc["7202192002"]
    assert one.geometry.geom_type in ("Polygon", "MultiPolygon") and one.geometry.is_valid
    assert one.geometry.area == pytest.approx(gc.geometry.iloc[0].area, rel=1e-12)
    repaired = [n for n in notes.items if n["action"] == "repaired"]
    assert repaired and "7202192002" in repaired[0]["rows"]


# ---------------------------------------------------------------- smartphone (BPS)


def test_bps_province_codes_map_to_kemendagri(real_data, bps_2024):
    """All 38 BPS 2024 provinces land on Kemendagri codes; Papua's six by name too."""
    prov = pd.read_parquet(real_data / "admin/admin_prov.parquet", columns=["kode", "nama"])
    kab = pd.read_parquet(real_data / "admin/admin_kab.parquet", columns=["kode"])
    kemendagri = set(kab["kode"].str[:2])
    assert len(kemendagri) == 38 and "63" not in set(prov["kode"])  # 63: no province polygon
    names = dict(zip(prov["kode"], prov["nama"].str.upper(), strict=True))
    for key, f, indicator, variable in (
        (
            "households",
            HOUSEHOLDS,
            "pct_households_accessed_internet_3m",
            "pct_households_internet",
        ),
        ("phones", PHONES, "pct_population_owning_mobile_phone", "pct_individuals_mobile_phone"),
    ):
        cfg = _config(
            real_data,
            villages=VILLAGES,
            layers={
                "smartphone": {
                    "table": f,
                    "level": "province",
                    "code_column": "code",
                    "code_system": "bps",
                    "format": "long",
                    "filters": BPS_2024,
                    "columns": {variable: indicator},
                }
            },
        )
        stats = smartphone.read_source(cfg.layers.smartphone, cfg, Notes())
        assert len(stats) == 38 and set(stats.index) == kemendagri
        assert set(stats.index) - {"63"} <= set(prov["kode"])
        published = bps_2024[key]
        for bps_code, row in published.iterrows():
            kd = smartphone.BPS_TO_KEMENDAGRI_PROVINCE.get(bps_code, bps_code)
            assert stats.loc[kd, variable] == row["value"]
            if bps_code >= "91":  # Papua: BPS and Kemendagri number the provinces apart
                assert names[kd] == row["name"].upper(), (bps_code, kd)
        # BPS 97 Papua Pegunungan is Kemendagri 95, not 97 (which does not exist)
        assert stats.loc["95", variable] == published.loc["97", "value"]
        assert "97" not in stats.index


def test_bali_villages_inherit_the_published_bps_rates(bali, bps_2024):
    """Every Bali village carries Bali's 2024 rate; summing villages returns it exactly."""
    layer = bali.result.layers["smartphone"]
    t = layer.table
    assert len(t) == 716 and (layer.cover == 1).all()
    for var, key in (
        ("pct_households_internet", "households"),
        ("pct_individuals_mobile_phone", "phones"),
    ):
        published = bps_2024[key].loc["51", "value"]
        assert published in (92.16, 75.27)
        num, den = t[f"{var}__num"].to_numpy(), t[f"{var}__den"].to_numpy()
        assert (den > 0).all()  # no households / population: village area weights
        np.testing.assert_allclose(100 * num / den, published, rtol=1e-13, atol=0)
        np.testing.assert_allclose(bali.result.villages[var], published, rtol=1e-13, atol=0)
        assert 100 * num.sum() / den.sum() == pytest.approx(published, rel=1e-14, abs=0)
    src = {v.name: v for v in layer.variables}
    assert src["pct_households_internet"].source.endswith(HOUSEHOLDS.split("/")[1])
    assert src["pct_individuals_mobile_phone"].source.endswith(PHONES.split("/")[1])
    assert [str(p.name) for p in layer.inputs] == [HOUSEHOLDS.split("/")[1], PHONES.split("/")[1]]


def test_rate_exactly_at_threshold_passes_in_every_village(real_data, bali, tmp_path):
    """Bali's household rate set to the I1a threshold: every village must pass (Table 1 >=)."""
    d = pd.read_csv(real_data / HOUSEHOLDS, dtype=str)
    d.loc[(d["code"] == "51") & (d["year"] == "2024"), "value"] = "30.00"
    d.to_csv(tmp_path / "households.csv", index=False)
    sp = bali.config.layers.smartphone
    src = sp.sources[0].model_copy(update={"table": tmp_path / "households.csv"})
    sp = sp.model_copy(update={"sources": [src]})
    res = build(smartphone, sp, bali.result.study, bali.config, Notes())
    values = finalize(res.table, res.variables)
    rule = next(r for r in bali.config.criteria.rules if r.id == "I1a")
    state, _ = rule_states(values[rule.variable].to_numpy(), rule)
    assert (state == "pass").all(), f"{(state != 'pass').sum()} of {len(state)} villages fail"


def test_several_tables_config_is_checked():
    """A variable from two sources, or both forms at once, is a config error."""
    base = {"villages": {"path": "v.gpkg"}}
    with pytest.raises(ConfigError, match="comes from sources 0 and 1"):
        config_from_dict(
            {
                **base,
                "layers": {"smartphone": {"sources": [{"table": "a.csv"}, {"table": "b.csv"}]}},
            }
        )
    with pytest.raises(ConfigError, match="either 'table' or"):
        config_from_dict(
            {**base, "layers": {"smartphone": {"table": "a.csv", "sources": [{"table": "b.csv"}]}}}
        )
    cfg = config_from_dict(
        {
            **base,
            "layers": {
                "smartphone": {
                    "level": "province",
                    "filters": {"year": "2024"},
                    "sources": [
                        {"table": "a.csv", "columns": {"pct_households_internet": "x"}},
                        {
                            "table": "b.csv",
                            "columns": {"pct_individuals_mobile_phone": "y"},
                            "filters": {"year": "2023"},
                        },
                    ],
                }
            },
        }
    )
    a, b = cfg.layers.smartphone.all_sources()
    assert (a.level, a.filters, b.level, b.filters) == (
        "province",
        {"year": "2024"},
        "province",
        {"year": "2023"},
    )


# ---------------------------------------------------------------- backbone (TeleGeography)


def test_worldwide_cable_files_are_clipped_and_noted(real_data, bali):
    """cable-geo.json is worldwide: the default check rejects it, the backbone clips it."""
    with pytest.raises(InputError, match="outside Indonesia"):
        read_vector(real_data / "telegeography/cable-geo.json", "backbone routes")
    feats = bali.result.layers["backbone"].features
    for name, n_file in (("backbone_routes", 490), ("backbone_nodes", 1439)):
        b = feats[name].total_bounds
        assert 0 < len(feats[name]) < n_file
        assert b[0] >= INDONESIA_BOUNDS[0] and b[2] <= INDONESIA_BOUNDS[2]
        assert b[1] >= INDONESIA_BOUNDS[1] and b[3] <= INDONESIA_BOUNDS[3]
    slugs = set(feats["backbone_routes"]["slug"])
    assert {
        "palapa-ring-west",
        "palapa-ring-middle",
        "palapa-ring-east",
        "java-bali-cable-system-jbcs",
    } <= slugs
    msgs = [
        (n["action"], n["message"]) for n in bali.result.notes.items if "telegeography" in n["file"]
    ]
    assert ("dropped", "backbone routes: 412 of 490 features lie wholly outside Indonesia") in msgs
    assert any(a == "repaired" and "cross Indonesia's bounds" in m for a, m in msgs)
    assert any(a == "dropped" and m.startswith("backbone nodes:") for a, m in msgs)


def test_backbone_distances_on_bali_cells(real_data, bali):
    """Finite, plausible, and equal to a brute-force geodesic to the landing points."""
    cells = bali.result.cells
    d_route = cells["backbone_distance_m"].to_numpy()
    d_node = cells["backbone_node_distance_m"].to_numpy()
    assert np.isfinite(d_route).all() and np.isfinite(d_node).all()
    # Bali is ringed by cables: nothing is farther than ~56 km from one
    assert (d_route >= 0).all() and d_route.max() < 100_000
    assert (d_node >= 0).all() and d_node.max() < 100_000
    # nearest landing point, brute force over every landing point in Indonesia's bounds
    lp = gpd.read_file(real_data / "telegeography/landing-point-geo.json")
    lp = lp.cx[INDONESIA_BOUNDS[0] : INDONESIA_BOUNDS[2], INDONESIA_BOUNDS[1] : INDONESIA_BOUNDS[3]]
    lon, lat = grid.cell_centres(cells["h3_int"].to_numpy(np.uint64))
    n, m = len(lon), len(lp)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(
        np.repeat(lon, m),
        np.repeat(lat, m),
        np.tile(lp.geometry.x.to_numpy(), n),
        np.tile(lp.geometry.y.to_numpy(), n),
    )
    brute = dist.reshape(n, m).min(axis=1)
    # every candidate within the frame's distortion is measured geodesically: exact
    np.testing.assert_allclose(d_node, brute, rtol=1e-9, atol=0.01)
    # cells holding Bali's landing points (Denpasar, Sanur, Jimbaran ...) sit on the backbone
    bali_lp = lp.cx[114.4:115.8, -8.9:-8.0]
    ids = [h3.str_to_int(h3.latlng_to_cell(p.y, p.x, 8)) for p in bali_lp.geometry]
    at = (
        cells.set_index("h3_int")
        .reindex(np.array(ids, np.uint64))
        .dropna(subset=["backbone_node_distance_m"])
    )
    assert len(at) >= 6 and "Denpasar, Indonesia" in set(bali_lp["name"])
    assert (at["backbone_node_distance_m"] < 600).all()  # res-8 cell radius is ~530 m
    assert (at["backbone_distance_m"] < 600).all()


# ---------------------------------------------------------------- broadband (Ookla tiles)


@pytest.mark.parametrize(
    "filters",
    [
        {"area": "balikpapan"},  # three quarters pooled
        {"area": "balikpapan", "quarter_start": "2023-01-01"},
    ],
)
def test_ookla_tests_and_speeds_are_conserved_into_balikpapan_cells(real_data, filters):
    """Tests in cells = tests of the tiles' parts inside the cells; same test-weighted speed."""
    cfg = _config(
        real_data,
        villages={**VILLAGES, "code_prefix": "6471"},
        layers={"broadband": {"tiles": [OOKLA], "tiles_filters": filters}},
    )
    vil, study, notes = _villages_and_study(cfg)
    assert len(vil) == 34
    t = build(broadband, cfg.layers.broadband, study, cfg, notes).table
    # the tiles, read with pandas; each tile's share inside the study cells, with shapely
    d = pd.read_csv(real_data / OOKLA, dtype={"quadkey": str})
    for col, val in filters.items():
        d = d[d[col] == val]
    tiles = shapely.from_wkt(d["tile"].to_numpy())
    inside = shapely.union_all(grid.cell_polygons(study.cells))
    share = shapely.area(shapely.intersection(tiles, inside)) / shapely.area(tiles)
    tests = d["tests"].to_numpy(float)
    whole = share > 1 - 1e-9
    assert whole.mean() > 0.9 and (share < 1 - 1e-9).any()  # coastal tiles stick out
    total = t["speedtest_tests"].sum()
    assert tests[whole].sum() <= total <= tests[share > 0].sum()
    assert total == pytest.approx((tests * share).sum(), rel=1e-6)
    assert t["download_mbps__w"].sum() == pytest.approx(total, rel=1e-12)
    mean = t["download_mbps__wsum"].sum() / t["download_mbps__w"].sum()
    expected = (d["avg_d_kbps"].to_numpy() / 1000 * tests * share).sum() / (tests * share).sum()
    assert mean == pytest.approx(expected, rel=1e-6)
    assert t["speedtest_devices"].sum() == pytest.approx(
        (d["devices"].to_numpy() * share).sum(), rel=1e-6
    )


# ---------------------------------------------------------------- population rasters


@pytest.fixture(scope="module")
def dki(real_data):
    """DKI Jakarta's 267 villages (code prefix 31) and their study."""
    cfg = _config(real_data, villages={**VILLAGES, "code_prefix": "31"})
    vil, study, _ = _villages_and_study(cfg)
    return SimpleNamespace(config=cfg, villages=vil, study=study)


def _pixels(path: Path, offset: str = "center") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lon, lat (of the pixel's centre or a corner) and value of every valid pixel."""
    with rasterio.open(path) as src:
        a = src.read(1).astype(float)
        ok = np.isfinite(a) & ((a != src.nodata) if src.nodata is not None else True)
        rows, cols = np.nonzero(ok)
        x, y = rasterio.transform.xy(src.transform, rows, cols, offset=offset)
        lon, lat = pyproj.Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True).transform(
            np.asarray(x), np.asarray(y)
        )
    return np.asarray(lon), np.asarray(lat), a[ok]


def _in_study(lon, lat, study) -> np.ndarray:
    cells = np.array(
        [h3.str_to_int(h3.latlng_to_cell(b, a, 8)) for a, b in zip(lon, lat, strict=True)],
        dtype=np.uint64,
    )
    return np.isin(cells, study.cells)


@pytest.mark.parametrize(
    "tif, negative",
    [
        ("population/population_jakarta_hkv_utm48n_50m.tif", 3),
        ("population/asiapop_2015adj_100m_north_jakarta_clip.tif", 0),
    ],
)
def test_population_raster_sums_per_cell(real_data, dki, tif, negative):
    """People in cells: every pixel wholly inside the study cells counts fully, pixels on the
    study's edge count in part (exact area shares), pixels outside not at all (h3-py)."""
    cfg = _config(real_data, villages=VILLAGES, population={"path": tif})
    notes = Notes()
    res = build(population, cfg.population, dki.study, cfg, notes)
    lon, lat, v = _pixels(real_data / tif)
    assert (v < 0).sum() == negative
    people = np.where(v < 0, 0.0, v)
    corners = [
        _in_study(*_pixels(real_data / tif, off)[:2], dki.study) for off in ("ul", "ur", "ll", "lr")
    ]
    inside, touching = np.logical_and.reduce(corners), np.logical_or.reduce(corners)
    got = res.table["population_raster"].sum()
    assert people[inside].sum() - 1e-6 <= got <= people[touching].sum() + 1e-6
    # and close to the pixel-centre count (edge pixels are split, not moved)
    centre = _in_study(lon, lat, dki.study)
    assert got == pytest.approx(people[centre].sum(), rel=1e-3)
    # the study (all of DKI) covers the raster: almost every person is counted
    assert got >= 0.995 * people.sum()
    if touching.all() and inside.all():
        assert got == pytest.approx(people.sum(), rel=1e-12)
    neg_notes = [n for n in notes.items if "negative" in n["message"]]
    if negative:
        assert neg_notes and neg_notes[0]["action"] == "repaired"
        assert neg_notes[0]["message"].startswith(f"{negative} negative pixel(s)")
    else:
        assert not neg_notes


# ---------------------------------------------------------------- courier / post outlets


def test_jakarta_barat_outlet_names_give_operators(real_data):
    """RBI schema, names in REMARK: 9 Pos Indonesia + 2 J&T outlets; the shop is dropped."""
    cfg = load_config(EXAMPLES / "jakarta_barat.toml")
    notes = Notes()
    pts = courier.read_outlets(cfg.layers.courier, cfg, notes)
    assert pts["operator"].value_counts().to_dict() == {"Pos Indonesia": 9, "J&T Express": 2}
    raw = gpd.read_file(real_data / JAKBAR_POST)
    dropped = raw.loc[~raw.index.isin(pts.index), "REMARK"].tolist()
    assert dropped == ["ANS COLLECTIONS"]
    assert [n["rows"] for n in notes.items if n["action"] == "dropped"] == [["5"]]
    # without a name column or a constant the file has no operator: a clear error
    plain = cfg.layers.courier.model_copy(update={"operator_from": []})
    with pytest.raises(InputError, match=r"lacks column\(s\) \['operator'\]"):
        courier.read_outlets(plain, cfg, Notes())


@pytest.mark.parametrize(
    "source", [{"operator_constant": "Pos Indonesia"}, {"operator_from": ["NAMOBJ"]}]
)
@pytest.mark.parametrize(
    "f, n",
    [
        ("infra/rbi_kantorpos_bandar_lampung.geojson", 12),
        ("infra/rbi_kantorpos_pesawaran.geojson", 3),
    ],
)
def test_rbi_post_offices_are_pos_indonesia(real_data, source, f, n):
    """RBI post-office layers have no operator column: a constant or NAMOBJ names it."""
    cfg = _config(real_data, villages=VILLAGES, layers={"courier": {"outlets": f, **source}})
    pts = courier.read_outlets(cfg.layers.courier, cfg, Notes())
    assert len(pts) == n and set(pts["operator"]) == {"Pos Indonesia"}


def test_jakarta_barat_distinct_companies_per_village(real_data):
    """courier_companies counts companies, not spellings, in the cells a village touches."""
    cfg = load_config(EXAMPLES / "jakarta_barat.toml")
    r = run(cfg)
    v = r.villages
    assert len(v) == 56 and v["village_code"].str.startswith("3173").all()
    # every outlet lies in Jakarta Barat's cells: outlet counts per company are conserved
    out = r.cells.filter(regex=r"^courier_outlets__").sum()
    assert out.to_dict() == {
        "courier_outlets__J&T Express": 2.0,
        "courier_outlets__Pos Indonesia": 9.0,
    }
    # independent count: distinct operators among outlets in the village's cells (h3-py)
    pts = courier.read_outlets(cfg.layers.courier, cfg, Notes())
    pcell = np.array(
        [h3.str_to_int(h3.latlng_to_cell(p.y, p.x, 8)) for p in pts.geometry], dtype=np.uint64
    )
    w = r.study.area.tocsr()
    expected = []
    for i in range(w.shape[0]):
        touched = r.study.cells[w.indices[w.indptr[i] : w.indptr[i + 1]]]
        expected.append(len(set(pts["operator"][np.isin(pcell, touched)])))
    got = v["courier_companies"].reindex(r.study.village_index).to_numpy()
    np.testing.assert_array_equal(got, expected)
    assert got.max() <= 2 and (got >= 1).sum() >= 10
    # a village holding an outlet passes I3; one with none nearby fails (not unknown)
    holder = gpd.sjoin(pts, v[["village_code", "geometry"]], predicate="within")
    assert (v.loc[holder["village_code"].unique(), "I3_state"] == "pass").all()
    assert set(v["I3_state"]) == {"pass", "fail"}
    assert any(n["message"].startswith("3 negative pixel(s)") for n in r.notes.items)


# ---------------------------------------------------------------- end to end


def test_bali_end_to_end_unknown_never_passes(bali, kel):
    """examples/bali.toml: I1a / I2a decided everywhere; P1-P3 unknown so nobody is ready."""
    v = bali.result.villages
    assert len(v) == int(kel["kode"].str.startswith("51.").sum())
    assert v["I1a_state"].isin(["pass", "fail"]).all()
    assert v["I2a_state"].isin(["pass", "fail"]).all()
    for c in ("P1", "P2", "P3", "I3"):
        assert (v[f"{c}_state"] == "unknown").all(), c
    # I1b (4G coverage) and I2b (computers) have no Bali data: their criteria stay open
    assert (v["I1b_state"] == "unknown").all() and (v["I2b_state"] == "unknown").all()
    assert (v["I1_state"] == "unknown").all() and (v["I2_state"] == "unknown").all()
    assert set(v["tier"]) <= {"undetermined", "not ready"}
    assert not v["tier"].isin(["ready", "near-ready"]).any()
    assert v["backbone_distance_m"].notna().all()
    crit = bali.result.criteria
    p = crit[crit["criterion"].isin(["P1", "P2", "P3"])]
    assert (p["state"] == "unknown").all() and (p["layer"] == "(not configured)").all()
    assert bali.result.shortlist().empty  # ready / near-ready only: nothing to pick yet
