"""Data contracts at the door: a corpus of bad input files, each with a clear error or a note.

Every case copies the synthetic sample into ``tmp_path``, breaks one file the way
real files break (cut off by a failed download, an error page saved as data, a
column of fractions among percentages, swapped coordinates ...), reads it with the
layer's own reader, and expects either an :class:`InputError` naming the file and
saying what to fix, or a recorded repair / drop / unmatched note. The files are
generated here; none is committed. ``tests/end_to_end/test_bad_inputs.py`` holds the
end-to-end cases that run the whole pipeline.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from despro.config.settings import load_config
from despro.errors import InputError
from despro.io.quality import escape, quality_markdown
from despro.layer import Notes
from despro.layers import backbone, broadband, courier, population, products, smartphone
from despro.layers import villages as villages_layer
from despro.layers.smartphone import SmartphoneSource
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"


# ---------------------------------------------------------------- fixtures written by code


def towers_csv(d: Path, rows: list[list] | None = None, header: bool = True) -> Path:
    """A small OpenCellID-layout cell list inside the sample's area (Yogyakarta-like)."""
    cols = broadband.OPENCELLID_COLUMNS
    base = rows or [
        ["LTE", 510, 10, 1201, 1001, 0, 110.356, -7.834, 1200, 12, 1, 1, 2, 0],
        ["LTE", 510, 10, 1201, 1002, 0, 110.360, -7.830, 800, 5, 1, 1, 2, 0],
        ["LTE", 510, 1, 1201, 1003, 0, 110.174, -7.861, 9000, 3, 1, 1, 2, 0],
        ["GSM", 510, 10, 499, 14091, 0, 110.300, -7.900, 2095, 22, 1, 1, 2, 0],
        ["GSM", 510, 11, 499, 14092, 0, 110.700, -7.700, None, 1, 1, 1, 2, 0],
        ["UMTS", 510, 89, 77, 5, 0, 110.500, -7.950, 1000, 2, 1, 1, 2, 0],
    ]
    f = d / "towers.csv"
    pd.DataFrame(base, columns=cols).to_csv(f, index=False, header=header)
    return f


def codes_csv(d: Path) -> Path:
    """A Kemendagri-style code list (kode, nama) for the sample's synthetic regencies."""
    reg = pd.read_csv(d / "regencies.csv", dtype=str)
    names = reg["regency_name"].str.replace(r"^Kab\. ", "Kabupaten ", regex=True)
    rows = [("34", "Daerah Istimewa Yogyakarta")] + list(
        zip(reg["regency_code"].str[:2] + "." + reg["regency_code"].str[2:], names, strict=True)
    )
    f = d / "codes.csv"
    pd.DataFrame(rows, columns=["kode", "nama"]).to_csv(f, index=False)
    return f


OSM_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'


def osm_xml(d: Path, nodes: list[tuple[int, float, float, dict]], ways: str = "") -> Path:
    """A tiny OpenStreetMap XML extract (GDAL's OSM driver reads .osm as well as .pbf)."""
    body = []
    for i, lat, lon, tags in nodes:
        t = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        body.append(f'<node id="{i}" lat="{lat}" lon="{lon}" version="1">{t}</node>')
    f = d / "outlets.osm"
    f.write_text(OSM_HEAD + "\n".join(body) + ways + "\n</osm>\n", encoding="utf-8")
    return f


# ---------------------------------------------------------------- ways to break a sample


def cut(rel: str, keep: float = 0.6) -> Callable[[Path], None]:
    """Keep the first ``keep`` share of a file's bytes (an interrupted download)."""

    def f(d: Path) -> None:
        p = d / rel
        b = p.read_bytes()
        p.write_bytes(b[: int(len(b) * keep)])

    return f


def edit_csv(rel: str, fn) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        df = pd.read_csv(d / rel, dtype=str, keep_default_na=False)
        out = fn(df)
        (df if out is None else out).to_csv(d / rel, index=False)

    return f


def edit_tiles(fn) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = d / "ookla_fixed_2024q2.parquet"
        t = pd.read_parquet(p)
        out = fn(t)
        (t if out is None else out).to_parquet(p, index=False)

    return f


def edit_vector(rel: str, fn, layer: str | None = None) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        g = gpd.read_file(d / rel)
        out = fn(g)
        kw = {"layer": layer} if layer else {}
        (g if out is None else out).to_file(d / rel, **kw)

    return f


def toml(old: str, new: str) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        t = d / "despro.toml"
        text = t.read_text()
        assert old in text, old
        t.write_text(text.replace(old, new, 1))

    return f


def both(*fns) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        for fn in fns:
            fn(d)

    return f


def _set(col: str, i: int, value) -> Callable:
    def fn(df):
        df.loc[df.index[i], col] = value

    return fn


def _last_line_cut(d: Path) -> None:
    p = d / "ict_regency.csv"
    text = p.read_text().rstrip("\n")
    p.write_text(text[: text.rfind(",", 0, text.rfind(",") - 5)])


def _latin1(d: Path) -> None:
    p = d / "ict_regency.csv"
    p.write_bytes(p.read_text().replace("Kulon Tirto", "Kulon Tírto").encode("latin-1"))


def _xlsx_cut(d: Path) -> None:
    pd.read_csv(d / "ict_regency.csv", dtype=str).to_excel(d / "ict_regency.xlsx", index=False)
    cut("ict_regency.xlsx", 0.7)(d)
    toml('table = "ict_regency.csv"', 'table = "ict_regency.xlsx"')(d)


def _shp_cut(d: Path) -> None:
    gpd.read_file(d / "backbone_routes.geojson").to_file(d / "routes.shp")
    cut("routes.shp", 0.5)(d)
    toml('routes = "backbone_routes.geojson"', 'routes = "routes.shp"')(d)


def _kmz(content: dict[str, str]) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        with zipfile.ZipFile(d / "routes.kmz", "w") as z:
            for name, text in content.items():
                z.writestr(name, text)
        toml('routes = "backbone_routes.geojson"', 'routes = "routes.kmz"')(d)

    return f


def _raster_without_crs(d: Path) -> None:
    p = d / "population.tif"
    with rasterio.open(p) as src:
        a, prof = src.read(), src.profile
    prof.pop("crs", None)
    with rasterio.open(p, "w", **prof) as dst:
        dst.write(a)


def _villages_without_crs(d: Path) -> None:
    """A Shapefile whose .prj went missing (GeoPackage and GeoJSON always carry a CRS)."""
    gpd.read_file(d / "villages.gpkg").to_file(d / "villages.shp")
    (d / "villages.prj").unlink()
    toml('path = "villages.gpkg"', 'path = "villages.shp"')(d)


def _empty_geometry(g):
    g.loc[6, "geometry"] = shapely.Polygon()


def _outlets_as_polygons(g):
    g["geometry"] = g.geometry.buffer(0.001)


def _routes_far_away(g):
    g["geometry"] = shapely.transform(g.geometry.values, lambda xy: xy + [-200.0, 40.0])


def _tiles_quadkey_only(d: Path) -> None:
    t = pd.read_parquet(d / "ookla_fixed_2024q2.parquet").drop(columns="tile")
    t.loc[3, "quadkey"] = "31001312023131x1"
    t.to_csv(d / "tiles.csv", index=False)
    toml('tiles = ["ookla_fixed_2024q2.parquet"]', 'tiles = ["tiles.csv"]')(d)


def _towers(rows_fn=None, header: bool = True) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        p = towers_csv(d, header=header)
        if rows_fn is not None:
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
            out = rows_fn(df)
            (df if out is None else out).to_csv(p, index=False)

    return f


def _swap_lonlat(df):
    df["lon"], df["lat"] = df["lat"].copy(), df["lon"].copy()


def _ict_by_name(fn=None) -> Callable[[Path], None]:
    def f(d: Path) -> None:
        codes_csv(d)
        df = pd.read_csv(d / "ict_regency.csv", dtype=str).drop(columns="regency_code")
        if fn is not None:
            fn(df)
        df.to_csv(d / "ict_names.csv", index=False)

    return f


def _osm_without_couriers(d: Path) -> None:
    osm_xml(
        d,
        [
            (1, -7.83, 110.35, {"shop": "bakery", "name": "Roti Enak"}),
            (2, -7.84, 110.36, {"amenity": "bank", "operator": "BRI"}),
        ],
    )


# ---------------------------------------------------------------- readers, by target


def _load(target: str, d: Path, notes: Notes):
    cfg = load_config(d / "despro.toml")
    lay = cfg.layers
    readers = {
        "villages": lambda: villages_layer.read(cfg.villages, cfg, notes),
        "population": lambda: population.check_raster(cfg.path(cfg.population.path), "population"),
        "tiles": lambda: broadband.read_tile_files(
            [cfg.path(p) for p in lay.broadband.tiles], lay.broadband.tiles_filters, notes
        ),
        "towers": lambda: broadband.read_towers(d / "towers.csv", lay.broadband, notes),
        "routes": lambda: backbone.read_routes(cfg.path(lay.backbone.routes), notes),
        "nodes": lambda: backbone.read_nodes(cfg.path(lay.backbone.nodes), notes),
        "ict": lambda: smartphone.read_source(lay.smartphone.all_sources()[0], cfg, notes),
        "ict_names": lambda: smartphone.read_source(
            SmartphoneSource(
                table=d / "ict_names.csv", name_column="regency_name", names=d / "codes.csv"
            ),
            cfg,
            notes,
        ),
        "outlets": lambda: courier.read_outlets(lay.courier, cfg, notes),
        "osm": lambda: courier.read_outlets(
            lay.courier.model_copy(update={"outlets": d / "outlets.osm"}), cfg, notes
        ),
        "categories": lambda: products.read_categories(cfg.path(lay.products.categories), notes),
        "products": lambda: products.read_products(
            cfg.path(lay.products.table),
            products.read_categories(cfg.path(lay.products.categories), notes),
            notes,
        ),
    }
    return readers[target]()


# name, target, how the sample is broken, expected: ("error", regex) or ("note", action, regex)
CORPUS = [
    # files cut off, damaged, or not data at all
    (
        "geojson_cut_midway",
        "outlets",
        cut("courier_outlets.geojson"),
        ("error", r"courier_outlets\.geojson.*truncated.*JSON"),
    ),
    (
        "csv_last_line_cut",
        "ict",
        _last_line_cut,
        ("error", r"ict_regency\.csv, row 6: .*last line has \d of 7 fields.*cut off"),
    ),
    (
        "parquet_cut",
        "tiles",
        cut("ookla_fixed_2024q2.parquet"),
        ("error", r"ookla_fixed_2024q2\.parquet.*truncated.*PAR1"),
    ),
    (
        "geopackage_cut",
        "villages",
        cut("villages.gpkg", 0.5),
        ("error", r"villages\.gpkg.*truncated.*header says"),
    ),
    (
        "geotiff_cut",
        "population",
        cut("population.tif", 0.5),
        ("error", r"population\.tif.*cannot read population raster"),
    ),
    ("xlsx_cut", "ict", _xlsx_cut, ("error", r"ict_regency\.xlsx.*truncated.*ZIP")),
    ("shapefile_cut", "routes", _shp_cut, ("error", r"routes\.shp.*truncated.*header says")),
    (
        "kmz_not_a_zip",
        "routes",
        both(_kmz({"doc.kml": "x"}), cut("routes.kmz", 0.5)),
        ("error", r"routes\.kmz.*(truncated|not a valid zip)"),
    ),
    (
        "kmz_without_kml",
        "routes",
        _kmz({"readme.txt": "no map here"}),
        ("error", r"routes\.kmz.*holds no \.kml"),
    ),
    (
        "error_page_saved_as_csv",
        "categories",
        lambda d: (d / "categories.csv").write_text(
            "<!DOCTYPE html><html><body>403 Forbidden</body></html>\n"
        ),
        ("error", r"categories\.csv.*web page, not data"),
    ),
    ("csv_not_utf8", "ict", _latin1, ("error", r"ict_regency\.csv.*not UTF-8")),
    (
        "geojson_no_features",
        "routes",
        lambda d: (d / "backbone_routes.geojson").write_text(
            '{"type": "FeatureCollection", "features": []}'
        ),
        ("error", r"backbone_routes\.geojson.*no features"),
    ),
    # Ookla tiles
    (
        "ookla_devices_above_tests",
        "tiles",
        edit_tiles(_set("devices", 4, 99)),
        ("error", r"row 6: Ookla tiles: 'devices' is larger than 'tests'"),
    ),
    (
        "ookla_zero_tests",
        "tiles",
        edit_tiles(_set("tests", 2, 0)),
        ("error", r"row 4: .*'tests' value 0\.0 is below 1 test"),
    ),
    (
        "ookla_negative_speed",
        "tiles",
        edit_tiles(_set("avg_u_kbps", 7, -5)),
        ("error", r"row 9: .*'avg_u_kbps' value -5\.0 is negative"),
    ),
    (
        "ookla_text_in_number",
        "tiles",
        edit_tiles(
            lambda t: t.astype({"avg_d_kbps": str}).pipe(
                lambda x: x.assign(avg_d_kbps=["fast"] + list(x["avg_d_kbps"][1:]))
            )
        ),
        ("error", r"row 2: .*'avg_d_kbps' has a non-number 'fast'"),
    ),
    (
        "ookla_bad_quadkey",
        "tiles",
        _tiles_quadkey_only,
        ("error", r"tiles\.csv, row 5: .*not a quadkey"),
    ),
    (
        "ookla_same_quarter_twice",
        "tiles",
        toml(
            'tiles = ["ookla_fixed_2024q2.parquet"]',
            'tiles = ["ookla_fixed_2024q2.parquet", "./ookla_fixed_2024q2.parquet"]',
        ),
        ("error", r"listed twice.*count\s+twice"),
    ),
    # villages
    (
        "households_above_population",
        "villages",
        edit_vector("villages.gpkg", _set("households", 10, 99999), "villages"),
        ("error", r"villages\.gpkg, row 12: villages: 'households' is larger than 'population'"),
    ),
    (
        "negative_population",
        "villages",
        edit_vector("villages.gpkg", _set("population", 3, -40), "villages"),
        ("error", r"row 5: villages column 'population' value -40\.0 is negative"),
    ),
    (
        "village_without_geometry",
        "villages",
        edit_vector("villages.gpkg", _empty_geometry, "villages"),
        ("error", r"villages\.gpkg, feature 3401\d+: villages has 1 feature\(s\) with no geometry"),
    ),
    (
        "villages_without_crs",
        "villages",
        _villages_without_crs,
        ("error", r"villages\.shp: villages file has no CRS"),
    ),
    (
        "bps_codes_without_code_list",
        "villages",
        both(
            toml('code = "village_code"', 'code = "village_code"\ncode_system = "bps"'),
            toml('names = "admin_codes.csv"', ""),
        ),
        ("error", r"despro\.toml.*needs the Kemendagri code list"),
    ),
    # official statistics
    (
        "ict_duplicate_regency",
        "ict",
        edit_csv("ict_regency.csv", _set("regency_code", 1, "3401")),
        ("error", r"row 3: regency code '3401' appears more than once \(rows \[2, 3\]\)"),
    ),
    (
        "ict_negative_percent",
        "ict",
        edit_csv("ict_regency.csv", _set("pct_households_computer", 3, "-2.5")),
        ("error", r"row 5: .*'pct_households_computer' value -2\.5 is outside 0-100"),
    ),
    (
        "ict_percent_under_scale_fraction",
        "ict",
        both(
            edit_csv(
                "ict_regency.csv",
                lambda df: df.assign(
                    **{
                        c: (pd.to_numeric(df[c]) / 100).astype(str)
                        for c in (
                            "pct_individuals_mobile_phone",
                            "pct_households_internet",
                            "pct_households_computer",
                        )
                    }
                ).pipe(
                    lambda x: x.assign(
                        pct_households_internet=["58.2"] + list(x["pct_households_internet"][1:])
                    )
                ),
            ),
            toml('level = "regency"', 'level = "regency"\nscale = "fraction"'),
        ),
        ("error", r"row 2: .*value 58\.2 > 1 but layers\.smartphone\.scale = 'fraction'"),
    ),
    (
        "ict_name_not_matched",
        "ict_names",
        _ict_by_name(
            lambda df: df.__setitem__(
                "regency_name", ["Kab. Atlantis"] + list(df["regency_name"][1:])
            )
        ),
        ("note", "unmatched", r"regency names not matched"),
    ),
    (
        "code_list_with_bad_code",
        "ict_names",
        both(_ict_by_name(), edit_csv("codes.csv", _set("kode", 2, "34-02"))),
        (
            "error",
            r"codes\.csv, row 4: Kemendagri code list column 'kode' value '34-02' is not a "
            r"Kemendagri code",
        ),
    ),
    # products
    (
        "category_listed_twice",
        "categories",
        edit_csv("categories.csv", _set("category", 1, "food_beverage")),
        ("error", r"categories\.csv, row 3: category 'food_beverage' listed twice"),
    ),
    (
        "flagship_not_boolean",
        "products",
        edit_csv("products.csv", _set("flagship", 2, "maybe")),
        ("error", r"products\.csv, row 4: column 'flagship' value 'maybe' is not true/false"),
    ),
    # outlets
    (
        "outlets_outside_indonesia",
        "outlets",
        edit_vector(
            "courier_outlets.geojson",
            lambda g: g.__setitem__(
                "geometry",
                [shapely.Point(2.35, 48.86), shapely.Point(151.2, -33.9)] + list(g.geometry[2:]),
            ),
        ),
        ("note", "dropped", r"courier outlets: features outside Indonesia"),
    ),
    (
        "outlets_are_polygons",
        "outlets",
        edit_vector("courier_outlets.geojson", _outlets_as_polygons),
        (
            "error",
            r"courier_outlets\.geojson, row 1: courier outlet is a Polygon, expected a point",
        ),
    ),
    (
        "osm_without_couriers",
        "osm",
        _osm_without_couriers,
        ("error", r"outlets\.osm.*no OpenStreetMap feature tagged amenity=post_office"),
    ),
    # backbone
    (
        "routes_are_points",
        "routes",
        lambda d: shutil.copy(d / "backbone_nodes.geojson", d / "backbone_routes.geojson"),
        ("error", r"backbone_routes\.geojson, row 1: backbone route is a Point, expected a line"),
    ),
    (
        "nodes_are_lines",
        "nodes",
        lambda d: shutil.copy(d / "backbone_routes.geojson", d / "backbone_nodes.geojson"),
        ("error", r"backbone_nodes\.geojson, row 1: backbone node is a LineString"),
    ),
    (
        "routes_nowhere_near_indonesia",
        "routes",
        edit_vector("backbone_routes.geojson", _routes_far_away),
        ("error", r"none of the 4 features reaches Indonesia"),
    ),
    # cell towers (OpenCellID layout)
    (
        "towers_other_country",
        "towers",
        _towers(lambda df: df.__setitem__("mcc", "525")),
        ("error", r"towers\.csv: no cell with mcc in \[510\] \(the file has \[525\]\)"),
    ),
    (
        "towers_unknown_radio",
        "towers",
        _towers(_set("radio", 1, "LTE-A")),
        ("error", r"towers\.csv, row 3: cell towers column 'radio' value 'LTE-A' is not a radio"),
    ),
    (
        "towers_lat_lon_swapped",
        "towers",
        _towers(_swap_lonlat),
        (
            "error",
            r"towers\.csv, row 2: .*'lat' value 110\.356 is outside -90-90.*lon and lat "
            r"are swapped",
        ),
    ),
    (
        "towers_latitude_out_of_range",
        "towers",
        _towers(_set("lat", 4, "-778.3")),
        ("error", r"row 6: .*'lat' value -778\.3 is outside -90-90"),
    ),
    (
        "towers_cell_listed_twice",
        "towers",
        _towers(lambda df: pd.concat([df, df.iloc[[0]].assign(samples="1")], ignore_index=True)),
        ("note", "repaired", r"cells listed more than once"),
    ),
    (
        "towers_at_null_island",
        "towers",
        _towers(
            lambda df: df.assign(lon=["0"] + list(df["lon"][1:]), lat=["0"] + list(df["lat"][1:]))
        ),
        ("error", r"towers\.csv, row 2: cell towers: 1 feature\(s\) lie at exactly 0, 0"),
    ),
    (
        "towers_negative_range",
        "towers",
        _towers(_set("range", 2, "-1")),
        ("error", r"row 4: .*'range' value -1\.0 is negative"),
    ),
    (
        "towers_cut_midway",
        "towers",
        both(_towers(), cut("towers.csv", 0.93)),
        ("error", r"towers\.csv, row 7: cell towers: the last line has \d+ of 14 fields"),
    ),
]


def test_the_corpus_is_large_and_distinct():
    """At least 25 bad inputs, none repeating test_bad_inputs.py's cases by name."""
    names = [c[0] for c in CORPUS]
    assert len(names) >= 25 and len(set(names)) == len(names)
    other = (Path(__file__).parents[1] / "end_to_end" / "test_bad_inputs.py").read_text()
    assert not any(f"def test_{n}(" in other for n in names)


@pytest.mark.parametrize("name, target, breaker, expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_gets_a_clear_error_or_a_recorded_note(tmp_path, name, target, breaker, expected):
    d = tmp_path / "sample"
    shutil.copytree(SAMPLE, d)
    breaker(d)
    notes = Notes()
    if expected[0] == "error":
        with pytest.raises(InputError) as e:
            _load(target, d, notes)
        err = e.value
        assert re.search(expected[1], str(err), re.DOTALL), str(err)
        assert err.file and err.fix, str(err)  # names the file and says what to do
        assert "Fix: " in str(err) and "\n" not in str(err)
    else:
        _load(target, d, notes)
        action, pattern = expected[1], expected[2]
        hits = [
            n for n in notes.items if n["action"] == action and re.search(pattern, n["message"])
        ]
        assert hits, notes.items
        assert hits[0]["n_rows"] >= 1 and hits[0]["rows"]


def test_unmatched_names_are_listed_by_row(tmp_path):
    d = tmp_path / "sample"
    shutil.copytree(SAMPLE, d)
    _ict_by_name(
        lambda df: df.__setitem__(
            "regency_name", ["Kab. Atlantis", "INDONESIA"] + list(df["regency_name"][2:])
        )
    )(d)
    notes = Notes()
    stats = _load("ict_names", d, notes)
    assert sorted(stats.index) == ["3403", "3404", "3471"]
    (note,) = [n for n in notes.items if n["action"] == "unmatched"]
    assert note["rows"] == ["row 2: Kab. Atlantis (not found)", "row 3: INDONESIA (not found)"]


def test_percentage_contract_reports_every_offending_row(tmp_path):
    d = tmp_path / "sample"
    shutil.copytree(SAMPLE, d)
    edit_csv(
        "ict_regency.csv",
        lambda df: df.assign(pct_households_internet=["0.58", "71.5", "0.4", "0.3", "60"]),
    )(d)
    with pytest.raises(InputError) as e:
        _load("ict", d, Notes())
    msg = str(e.value)
    assert "row 2" in msg and "mixes fractions and percentages" in msg
    assert "(and 2 more row(s): [4, 5])" in msg


# ---------------------------------------------------------------- the data-quality page


def test_quality_page_escapes_and_groups_by_file():
    items = [
        {
            "file": "a|b.csv",
            "action": "repaired",
            "message": "fixed <script>alert(1)</script>",
            "rows": ["row 2: *bold* [x](y)"],
            "n_rows": 1,
        },
        {
            "file": "a|b.csv",
            "action": "dropped",
            "message": "outside Indonesia",
            "rows": [str(i) for i in range(50)],
            "n_rows": 75,
        },
        {"file": "c.csv", "action": "unmatched", "message": "names", "rows": [], "n_rows": 0},
    ]
    md = quality_markdown(items, "run_1", inputs=[("villages", "v.gpkg"), ("x", "c.csv")])
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "## a\\|b.csv" in md and "\\*bold\\* \\[x\\]\\(y\\)" in md
    # rejected rows come before repairs within a file; long lists are cut with a count
    assert md.index("rejected (rows left out)") < md.index("| repaired |")
    assert "(+55 more)" in md and "(75 rows)" in md
    assert "| villages | v.gpkg |" in md and "| x | c.csv |" not in md
    for line in md.splitlines():
        if line.startswith(("| rejected", "| repaired", "| unmatched")):
            assert len(re.findall(r"(?<!\\)\|", line)) == 4, line  # no cell spills over
    assert escape("a\nb") == "a b"


def test_run_writes_the_quality_page(sample_copy, tmp_path):
    from despro.io.outputs import write_outputs
    from despro.pipeline.runner import run

    edit_vector(
        "courier_outlets.geojson",
        lambda g: g.__setitem__("geometry", [shapely.Point(2.35, 48.86)] + list(g.geometry[1:])),
    )(sample_copy)
    r = run(load_config(sample_copy / "despro.toml"))
    files = write_outputs(r, tmp_path / "out")
    md = files["data_quality.md"].read_text()
    assert "courier\\_outlets.geojson" in md and "rejected (rows left out)" in md
    assert "| 1 |" in md  # the dropped outlet's row
    assert "| villages |" in md  # files read without notes are listed too
    assert np.all([n in files for n in ("data_quality.json", "data_quality.md")])
