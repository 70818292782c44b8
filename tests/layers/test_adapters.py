"""Adapters for the files planners bring: each source loads into its layer, checked independently.

Real files come from ``../shared/data`` (see its SOURCES.md) and are never copied
into the repository; anything derived from them (a quarter per file, a KMZ, an
HDX-style or geoBoundaries-style boundary file, a header-less OpenCellID export)
is written under ``tmp_path``. Formats with no real file there (OpenStreetMap) use
small fixtures generated here. Expected values are computed with pandas, shapely,
pyproj and h3-py, not with the code under test.
"""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from despro.aggregate.study import build_study
from despro.config.settings import config_from_dict, load_config
from despro.layer import Notes, build
from despro.layers import backbone, broadband, courier, population, smartphone, villages
from despro.layers._names import match_names, read_code_list
from despro.layers.smartphone import SmartphoneSource
from despro.variables import finalize
from tests.end_to_end.test_real_data import HOUSEHOLDS, KEL, OOKLA, VILLAGES
from tests.layers.test_contracts import OSM_HEAD, SAMPLE

CELLS = "infra/opencellid_510_indonesia_locatebts.csv"
CODES = "admin/codes_kemendagri.csv"
SUMBAR = "ict/bps_kabkota_sumbar_mobile_internet_2025.csv"
HKV = "population/population_jakarta_hkv_utm48n_50m.tif"
EQUAL_AREA = "EPSG:6933"  # cylindrical equal area: areas in m2 for the checks

pytestmark = pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning")


@pytest.fixture(scope="module")
def real(shared_data) -> Path:
    if not (shared_data / CELLS).is_file():
        pytest.fail(f"{shared_data / CELLS} is missing from the shared data")
    return shared_data


def _study(real: Path, prefix: str, **layers):
    cfg = config_from_dict(
        {"villages": {**VILLAGES, "code_prefix": prefix}, "layers": layers}, base_dir=real
    )
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    return SimpleNamespace(cfg=cfg, villages=vil, study=build_study(vil, 8), notes=notes)


@pytest.fixture(scope="module")
def jakbar(real):
    """Kota Jakarta Barat (31.73): 56 villages, dense LTE."""
    return _study(real, "3173", broadband={"towers": [CELLS]})


# ---------------------------------------------------------------- OpenCellID cell lists


@pytest.mark.shared_data
def test_opencellid_rows_filters_and_caps_match_the_file(real):
    """All 25,384 Indonesian cells load; the capped ranges are exactly those above 5 km."""
    cfg = config_from_dict(
        {"villages": {"path": "x"}, "layers": {"broadband": {"towers": [CELLS]}}}, base_dir=real
    )
    notes = Notes()
    t = broadband.read_towers(real / CELLS, cfg.layers.broadband, notes)
    raw = pd.read_csv(real / CELLS)
    assert len(t) == len(raw) == 25_384
    assert t["radio"].value_counts().to_dict() == raw["radio"].value_counts().to_dict()
    np.testing.assert_array_equal(t.geometry.x, raw["lon"])
    np.testing.assert_array_equal(t["radius_m"], raw["range"].clip(500, 5000))
    (cap,) = [n for n in notes.items if "modelled as 5,000 m" in n["message"]]
    assert cap["n_rows"] == int((raw["range"] > 5000).sum()) == 280
    assert cap["rows"][0] == str(int(np.flatnonzero(raw["range"] > 5000)[0]) + 2)


@pytest.mark.shared_data
def test_opencellid_headerless_gzip_export_reads_the_same(real, tmp_path):
    """OpenCellID's per-country downloads have no header and come gzipped: same result."""
    f = tmp_path / "510.csv.gz"
    body = (real / CELLS).read_bytes().split(b"\n", 1)[1]
    f.write_bytes(gzip.compress(body))
    cfg = config_from_dict(
        {"villages": {"path": "x"}, "layers": {"broadband": {"towers": [str(f)]}}}
    )
    a = broadband.read_towers(real / CELLS, cfg.layers.broadband, Notes())
    b = broadband.read_towers(f, cfg.layers.broadband, Notes())
    pd.testing.assert_frame_equal(
        a.drop(columns="geometry").reset_index(drop=True),
        b.drop(columns="geometry").reset_index(drop=True),
    )


@pytest.mark.shared_data
def test_tower_counts_per_radio_in_jakarta_barat_cells(real, jakbar):
    """towers__<radio> per cell = cells of the file whose point falls in it (h3-py)."""
    res = build(broadband, jakbar.cfg.layers.broadband, jakbar.study, jakbar.cfg, Notes())
    raw = pd.read_csv(real / CELLS)
    cell = np.array(
        [
            h3.str_to_int(h3.latlng_to_cell(la, lo, 8))
            for lo, la in zip(raw["lon"], raw["lat"], strict=True)
        ],
        dtype=np.uint64,
    )
    inside = np.isin(cell, jakbar.study.cells)
    expected = raw[inside].groupby("radio").size().to_dict()
    got = res.table.filter(like="towers__").sum()
    assert {k.split("__")[1]: v for k, v in got.items() if v} == expected
    assert expected["LTE"] > 1000  # a dense city
    names = {v.name for v in res.variables}
    assert {
        "towers",
        "pct_area_lte_modelled",
        "pct_area_gsm_modelled",
        "pct_area_nr_modelled",
    } <= names


@pytest.mark.shared_data
def test_modelled_lte_coverage_equals_a_direct_overlay(real, jakbar):
    """Covered share per cell = area(cell n union of capped discs) / area(cell), EPSG:6933."""
    res = build(broadband, jakbar.cfg.layers.broadband, jakbar.study, jakbar.cfg, Notes())
    pct = finalize(res.table, res.variables)["pct_area_lte_modelled"]
    assert pct.between(0, 100).all() and pct.notna().all()
    raw = pd.read_csv(real / CELLS)
    lte = raw[(raw["radio"] == "LTE")]
    lte = lte[lte["lon"].between(106.4, 107.1) & lte["lat"].between(-6.5, -5.9)]
    geod = pyproj.Geod(ellps="WGS84")
    az = np.linspace(0, 360, 32, endpoint=False)
    discs = []
    for lo, la, r in zip(lte["lon"], lte["lat"], lte["range"].clip(500, 5000), strict=True):
        x, y, _ = geod.fwd(np.full(32, lo), np.full(32, la), az, np.full(32, r))
        discs.append(shapely.Polygon(np.c_[x, y]))
    cover = gpd.GeoSeries([shapely.union_all(discs)], crs=4326).to_crs(EQUAL_AREA).iloc[0]
    rng = np.random.default_rng(8)
    sample = rng.choice(len(jakbar.study.cells), 40, replace=False)
    cells = gpd.GeoSeries(
        [
            shapely.Polygon([(b, a) for a, b in h3.cell_to_boundary(h3.int_to_str(int(c)))])
            for c in jakbar.study.cells[sample]
        ],
        crs=4326,
    ).to_crs(EQUAL_AREA)
    direct = 100 * shapely.area(shapely.intersection(cells.values, cover)) / cells.area
    np.testing.assert_allclose(pct.to_numpy()[sample], direct, atol=0.5)
    assert (pct > 99.9).mean() > 0.5  # Jakarta is mostly within reach of an LTE cell


# ---------------------------------------------------------------- Ookla quarters in separate files


@pytest.mark.shared_data
def test_ookla_quarters_from_separate_files_pool_like_one_file(real, tmp_path):
    """Three quarters, each its own file (Parquet as Ookla publishes, and CSV): same cells."""
    d = pd.read_csv(real / OOKLA, dtype={"quadkey": str})
    d = d[d["area"] == "balikpapan"]
    files = []
    for i, (q, part) in enumerate(d.groupby("quarter_start")):
        cols = ["quadkey", "tile", "avg_d_kbps", "avg_u_kbps", "avg_lat_ms", "tests", "devices"]
        f = tmp_path / f"{q}_performance_fixed_tiles.{'csv' if i == 0 else 'parquet'}"
        (part[cols].to_csv(f, index=False) if i == 0 else part[cols].to_parquet(f, index=False))
        files.append(str(f))
    assert len(files) == 3
    pooled = _study(
        real, "6471", broadband={"tiles": [OOKLA], "tiles_filters": {"area": "balikpapan"}}
    )
    split = _study(real, "6471", broadband={"tiles": files})
    a = build(broadband, pooled.cfg.layers.broadband, pooled.study, pooled.cfg, Notes()).table
    b = build(broadband, split.cfg.layers.broadband, split.study, split.cfg, Notes()).table
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    assert a["speedtest_tests"].sum() == pytest.approx(d["tests"].sum(), rel=0.05)
    # pooled speed = tests-weighted mean over the quarters' tiles inside the cells
    ratio = a["download_mbps__wsum"].sum() / a["download_mbps__w"].sum()
    assert 0.5 * d["avg_d_kbps"].min() / 1000 < ratio < d["avg_d_kbps"].max() / 1000


# ---------------------------------------------------------------- backbone: KML, KMZ, GeoPackage


def _kml(routes: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame) -> str:
    """A KML document as cable maps publish it: a folder of routes, a folder of landings."""

    def coords(line) -> str:
        return " ".join(f"{x!r},{y!r},0" for x, y in shapely.get_coordinates(line).tolist())

    def placemark(name, geom) -> str:
        if geom.geom_type == "Point":
            g = f"<Point><coordinates>{float(geom.x)!r},{float(geom.y)!r},0</coordinates></Point>"
        else:
            g = (
                "<MultiGeometry>"
                + "".join(
                    f"<LineString><coordinates>{coords(p)}</coordinates></LineString>"
                    for p in shapely.get_parts(geom)
                )
                + "</MultiGeometry>"
            )
        return f"<Placemark><name>{name}</name>{g}</Placemark>"

    folders = [
        (
            f,
            "".join(
                placemark(n.replace("&", "&amp;"), g)
                for n, g in zip(gdf["name"], gdf.geometry, strict=True)
            ),
        )
        for f, gdf in (("Cables", routes), ("Landing points", nodes))
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document>"
        + "".join(f"<Folder><name>{f}</name>{p}</Folder>" for f, p in folders)
        + "</Document></kml>"
    )


@pytest.fixture(scope="module")
def cables(real, tmp_path_factory):
    """Indonesia's cables and landing points (TeleGeography) as GeoJSON, KML, KMZ, GeoPackage."""
    d = tmp_path_factory.mktemp("cables")
    ids = json.loads((real / "telegeography/country-indonesia.json").read_text())
    routes = gpd.read_file(real / "telegeography/cable-geo.json")
    routes = routes[routes["slug"].isin([c["id"] for c in ids["cables"]])]
    routes = routes.rename(columns={"slug": "name"})[["name", "geometry"]]
    nodes = gpd.read_file(real / "telegeography/landing-point-geo.json")
    nodes = nodes[
        nodes["id"].astype(int).isin([p["landing_point_id"] for p in ids["landing_points"]])
    ]
    nodes = nodes[["name", "geometry"]]
    assert len(routes) == 55 and len(nodes) >= 200
    routes.to_file(d / "routes.geojson")
    nodes.to_file(d / "nodes.geojson")
    (d / "backbone.kml").write_text(_kml(routes, nodes), encoding="utf-8")
    with zipfile.ZipFile(d / "backbone.kmz", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(d / "backbone.kml", "doc.kml")
    routes.to_file(d / "backbone.gpkg", layer="cables")
    nodes.to_file(d / "backbone.gpkg", layer="landing_points")
    return SimpleNamespace(dir=d, routes=routes, nodes=nodes)


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["kml", "kmz", "gpkg"])
def test_backbone_from_kml_kmz_and_geopackage_equals_geojson(real, cables, jakbar, fmt):
    """Routes and landing points in one KML / KMZ / GeoPackage give the GeoJSON's distances."""
    f = str(cables.dir / f"backbone.{fmt}")
    layers = {"routes_layer": "cables", "nodes_layer": "landing_points"} if fmt == "gpkg" else {}
    cfg = config_from_dict(
        {"villages": {"path": "x"}, "layers": {"backbone": {"routes": f, "nodes": f, **layers}}}
    )
    ref = config_from_dict(
        {
            "villages": {"path": "x"},
            "layers": {
                "backbone": {
                    "routes": str(cables.dir / "routes.geojson"),
                    "nodes": str(cables.dir / "nodes.geojson"),
                }
            },
        }
    )
    notes = Notes()
    got = build(backbone, cfg.layers.backbone, jakbar.study, cfg, notes)
    exp = build(backbone, ref.layers.backbone, jakbar.study, ref, Notes())
    pd.testing.assert_frame_equal(got.table, exp.table, rtol=1e-9)
    assert len(got.features["backbone_routes"]) == len(exp.features["backbone_routes"])
    assert len(got.features["backbone_nodes"]) == len(exp.features["backbone_nodes"]) > 100
    assert got.inputs == [Path(f)]  # one file read once
    if fmt != "gpkg":
        assert set(got.features["backbone_routes"]["kml_folder"]) == {"Cables"}
    assert (got.table["backbone_distance_m"] < 30_000).all()


# ---------------------------------------------------------------- BPS tables by name


@pytest.mark.shared_data
def test_name_spellings_match_kemendagri_units(real):
    """The spellings planners meet, at regency and province level."""
    units = read_code_list(real / CODES)
    reg = pd.Series(
        [
            "Kab. Bantul",
            "KABUPATEN BANTUL",
            "Bantul",
            "Kota Yogyakarta",
            "KOTA YOGYAKARTA",
            "Kab. Bogor",
            "Bogor",
            "Kota Bogor",
            "Kota Adm. Jakarta Barat",
            "Jakarta Barat",
            "Kab. Kep. Mentawai",
            "DI Yogyakarta",
            "Kota Atlantis",
        ]
    )
    m = match_names(reg, units, "regency")
    assert m["code"].tolist()[:11] == [
        "3402",
        "3402",
        "3402",
        "3471",
        "3471",
        "3201",
        "3201",
        "3271",
        "3173",
        "3173",
        "1309",
    ]
    # a province name is no regency; an unknown name is reported, not guessed
    assert m["problem"].tolist()[11:] == ["not found", "not found"]
    prov = pd.Series(
        [
            "DI Yogyakarta",
            "D.I. Yogyakarta",
            "Daerah Istimewa Yogyakarta",
            "DKI JAKARTA",
            "KEP. RIAU",
            "Kep. Bangka Belitung",
            "PAPUA BARAT DAYA",
            "Prov. Jawa Timur",
            "INDONESIA",
        ]
    )
    m = match_names(prov, units, "province")
    assert m["code"].tolist() == ["34", "34", "34", "31", "21", "19", "96", "35", pd.NA]


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["csv-long", "xlsx-wide"])
def test_bps_regency_table_by_name_sumatera_barat(real, tmp_path, fmt):
    """Sumatera Barat's BPS regency codes differ from Kemendagri's: names put them right."""
    raw = pd.read_csv(real / SUMBAR, dtype=str)
    ind = "pct_population_5plus_accessed_internet_3m"
    src = {
        "level": "regency",
        "name_column": "name",
        "names": str(real / CODES),
        "columns": {"pct_households_internet": ind},
    }
    if fmt == "csv-long":
        table = real / SUMBAR
        src |= {"format": "long", "filters": {"area": "Perkotaan+Perdesaan"}}
    else:
        wide = raw[raw["indicator"] == ind][["name", "value"]].rename(columns={"value": ind})
        table = tmp_path / "sumbar.xlsx"
        wide.to_excel(table, index=False)
    stats = smartphone.read_source(
        SmartphoneSource(table=table, **src),
        config_from_dict({"villages": {"path": "x"}}),
        notes := Notes(),
    )
    assert not notes.items
    assert len(stats) == 19 and stats.index.str.startswith("13").all()
    units = read_code_list(real / CODES).set_index("code")
    published = raw[raw["indicator"] == ind].set_index("name")["value"].astype(float)
    for code, row in stats.iterrows():
        kname = units.loc[code, "name"]  # "Kabupaten Kepulauan Mentawai" ...
        bps_name = kname.replace("Kabupaten ", "Kab. ")
        assert row["pct_households_internet"] == published[bps_name], (code, kname)
    # BPS 1301 (Kab. Kepulauan Mentawai) is Kemendagri 13.09, not 13.01 (Pesisir Selatan)
    assert stats.loc["1309", "pct_households_internet"] == published["Kab. Kepulauan Mentawai"]


@pytest.mark.shared_data
def test_bps_province_table_by_name_reports_every_unmatched_row(real):
    """Matched by name, the 2024 table's 38 provinces land right; the national row is listed."""
    src = SmartphoneSource(
        table=real / HOUSEHOLDS,
        level="province",
        name_column="name",
        names=real / CODES,
        format="long",
        filters={"year": "2024", "area": "Perkotaan+Perdesaan"},
        columns={"pct_households_internet": "pct_households_accessed_internet_3m"},
    )
    notes = Notes()
    by_name = smartphone.read_source(src, config_from_dict({"villages": {"path": "x"}}), notes)
    by_code = smartphone.read_source(
        src.model_copy(
            update={
                "name_column": None,
                "code_column": "code",
                "code_system": "bps",
                "filters": {**src.filters, "level": "province"},
            }
        ),
        config_from_dict({"villages": {"path": "x"}}),
        Notes(),
    )
    assert len(by_name) == 38
    pd.testing.assert_frame_equal(by_name.sort_index(), by_code.sort_index())
    (un,) = [n for n in notes.items if n["action"] == "unmatched"]
    assert un["rows"] == ["INDONESIA (not found)"]


# ---------------------------------------------------------------- administrative boundaries


@pytest.fixture(scope="module")
def kel(real):
    return gpd.read_parquet(real / KEL, columns=["kode", "nama", "geometry"])


@pytest.mark.shared_data
def test_hdx_cod_ab_pcodes(real, kel, tmp_path):
    """HDX-style ADM4_PCODE ('ID' + 10 digits) and ADM4_EN read as Kemendagri codes."""
    jogja = kel[kel["kode"].str.startswith("34.71.")]
    hdx = gpd.GeoDataFrame(
        {
            "ADM4_PCODE": "ID" + jogja["kode"].str.replace(".", ""),
            "ADM4_EN": jogja["nama"],
            "ADM0_EN": "Indonesia",
        },
        geometry=jogja.geometry.values,
        crs=4326,
    )
    hdx.to_file(tmp_path / "idn_admbnda_adm4.gpkg")
    cfg = config_from_dict(
        {
            "villages": {
                "path": str(tmp_path / "idn_admbnda_adm4.gpkg"),
                "code": "ADM4_PCODE",
                "name": "ADM4_EN",
            }
        }
    )
    vil = villages.read(cfg.villages, cfg, Notes())
    assert sorted(vil["village_code"]) == sorted(jogja["kode"].str.replace(".", ""))
    assert set(vil["regency_code"]) == {"3471"} and len(vil) == 45


@pytest.mark.shared_data
def test_bps_coded_boundaries_are_matched_by_name(real, kel, tmp_path):
    """BPS-numbered P-codes (Kota Batu, Podes names) -> the Kemendagri codes Podes matched."""
    podes = pd.read_csv(real / "podes/podes2024_kota_batu_industry_products.csv", dtype=str)
    geo = kel.set_index("kode").loc[podes["kode_kemendagri"]]
    hdx = gpd.GeoDataFrame(
        {
            "ADM4_PCODE": "ID" + podes["IDDESA"],
            "ADM4_EN": podes["NAMA_DESA"],
            "ADM3_EN": podes["NAMA_KEC"],
            "ADM2_EN": podes["NAMA_KAB"],
        },
        geometry=geo.geometry.values,
        crs=4326,
    )
    hdx.to_file(tmp_path / "batu.gpkg")
    cfg = config_from_dict(
        {
            "villages": {
                "path": str(tmp_path / "batu.gpkg"),
                "code": "ADM4_PCODE",
                "name": "ADM4_EN",
                "code_system": "bps",
                "names": str(real / CODES),
                "regency_name": "ADM2_EN",
                "district_name": "ADM3_EN",
            }
        }
    )
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    assert len(vil) == 24
    expected = dict(
        zip(podes["NAMA_DESA"], podes["kode_kemendagri"].str.replace(".", ""), strict=True)
    )
    assert (vil["village_code"] == vil["village_name"].map(expected)).all()
    assert (vil["regency_code"] == "3579").all()  # from the Kemendagri code, not BPS's


@pytest.mark.shared_data
def test_geoboundaries_names_within_a_regency(real, kel, tmp_path):
    """geoBoundaries files carry names only (shapeName, shapeID): matched within code_prefix."""
    jogja = kel[kel["kode"].str.startswith("34.71.")].reset_index(drop=True)
    gb = gpd.GeoDataFrame(
        {
            "shapeName": jogja["nama"].str.upper(),
            "shapeID": [f"IDN-ADM4-{i}" for i in range(len(jogja))],
            "shapeGroup": "IDN",
            "shapeType": "ADM4",
        },
        geometry=jogja.geometry.values,
        crs=4326,
    )
    gb.loc[0, "shapeName"] = "Kelurahan Tidak Ada"
    gb.to_file(tmp_path / "geoBoundaries-IDN-ADM4.geojson")
    cfg = config_from_dict(
        {
            "villages": {
                "path": str(tmp_path / "geoBoundaries-IDN-ADM4.geojson"),
                "name": "shapeName",
                "code_system": "name",
                "names": str(real / CODES),
                "code_prefix": "3471",
            }
        }
    )
    notes = Notes()
    vil = villages.read(cfg.villages, cfg, notes)
    names = dict(zip(jogja["nama"].str.upper(), jogja["kode"].str.replace(".", ""), strict=True))
    dup = jogja["nama"].str.upper().duplicated(keep=False)
    assert len(vil) == 44 - int(dup[1:].sum())
    assert (vil["village_code"] == vil["village_name"].map(names)).all()
    (un,) = [n for n in notes.items if n["action"] == "unmatched"]
    assert un["rows"][0] == "row 2: Kelurahan Tidak Ada (not found)"


# ---------------------------------------------------------------- OpenStreetMap outlets


def _to_pbf(xml: Path) -> Path:
    """The same extract as a real .osm.pbf (what Geofabrik serves), written by pyosmium."""
    import osmium

    pbf = xml.with_suffix(".osm.pbf")
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    finally:
        writer.close()
    return pbf


@pytest.mark.parametrize("fmt", ["osm", "pbf"])
def test_osm_outlets_with_operator_names(tmp_path, fmt):
    """post_office / office=courier / shop=courier nodes and a building; names normalised;
    the same from OSM XML and from a .osm.pbf extract."""
    nodes = [
        (
            1,
            -7.834,
            110.356,
            {
                "amenity": "post_office",
                "name": "Kantor Pos Bantul",
                "operator": "PT Pos Indonesia (Persero)",
            },
        ),
        (2, -7.861, 110.174, {"shop": "courier", "name": "J&amp;T Express Sentolo"}),
        (3, -7.80, 110.30, {"office": "courier", "brand": "JNE", "name": "Agen JNE Gamping"}),
        (4, -7.90, 110.40, {"shop": "courier", "operator": "SiCepat Ekspres"}),
        (5, -7.95, 110.45, {"shop": "courier", "name": "Lion Parcel Imogiri"}),
        (6, -7.70, 110.60, {"office": "courier", "name": "Toko Kirim Cepat"}),
        (7, -7.75, 110.50, {"shop": "bakery", "name": "Roti JNE"}),
        (8, -7.76, 110.51, {"amenity": "post_office", "name": "Kantor Pos &quot;Wates&quot;"}),
    ]
    square = [(10, -7.8, 110.3), (11, -7.8, 110.301), (12, -7.801, 110.301), (13, -7.801, 110.3)]
    way = "".join(f'<node id="{i}" lat="{la}" lon="{lo}" version="1"/>' for i, la, lo in square)
    way += (
        '<way id="100" version="1">'
        + "".join(f'<nd ref="{i}"/>' for i in (10, 11, 12, 13, 10))
        + '<tag k="building" v="yes"/><tag k="amenity" v="post_office"/>'
        '<tag k="name" v="Kantor Pos Gamping"/></way>'
    )
    body = "\n".join(
        f'<node id="{i}" lat="{la}" lon="{lo}" version="1">'
        + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())
        + "</node>"
        for i, la, lo, t in nodes
    )
    f = tmp_path / "yogyakarta.osm"
    f.write_text(OSM_HEAD + body + "\n" + way + "\n</osm>\n", encoding="utf-8")
    if fmt == "pbf":
        f = _to_pbf(f)
        assert f.name == "yogyakarta.osm.pbf" and f.read_bytes()[4:15] == b"\n\tOSMHeader"
    shutil.copytree(SAMPLE, tmp_path / "s")
    cfg = load_config(tmp_path / "s" / "despro.toml")
    c = cfg.layers.courier.model_copy(update={"outlets": f})
    notes = Notes()
    pts = courier.read_outlets(c, cfg, notes)
    assert pts.set_index("osm_id")["operator"].to_dict() == {
        "node/1": "Pos Indonesia",
        "node/2": "J&T Express",
        "node/3": "JNE",
        "node/4": "SiCepat",
        "node/5": "Lion Parcel",
        "node/8": "Pos Indonesia",
        "way/100": "Pos Indonesia",
    }
    assert (
        pts.set_index("osm_id")
        .loc["way/100"]
        .geometry.within(shapely.box(110.3, -7.801, 110.301, -7.8))
    )
    (dropped,) = [n for n in notes.items if n["action"] == "dropped"]
    assert dropped["n_rows"] == 1  # Toko Kirim Cepat: no known company; the bakery is no outlet
    # through the layer: distinct companies per cell, as for any other outlet file
    vil = villages.read(cfg.villages, cfg, Notes())
    res = build(courier, c, build_study(vil, 8), cfg, Notes())
    assert res.table.filter(like="courier_outlets__").sum().sum() == 7


# ---------------------------------------------------------------- population rasters


@pytest.mark.shared_data
def test_population_density_surface_scaled_to_the_official_total(real):
    """HKV's Jakarta surface (a density) rescaled to Dukcapil's count for Jakarta Barat."""
    s = _study(real, "3173")
    dukcapil = pd.read_csv(real / "admin/population_2025_dukcapil.csv", dtype=str)
    total = float(dukcapil.loc[dukcapil["kode"].str.replace(".", "") == "3173", "total"].iloc[0])
    cfg = config_from_dict(
        {"villages": VILLAGES, "population": {"path": HKV, "scale_to_total": total}}, base_dir=real
    )
    raw = config_from_dict({"villages": VILLAGES, "population": {"path": HKV}}, base_dir=real)
    notes = Notes()
    scaled = build(population, cfg.population, s.study, cfg, notes).table["population_raster"]
    plain = build(population, raw.population, s.study, raw, Notes()).table["population_raster"]
    assert scaled.sum() == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(scaled / plain.where(plain > 0), total / plain.sum(), rtol=1e-9)
    assert any(n["message"].startswith("population raster scaled by") for n in notes.items)
