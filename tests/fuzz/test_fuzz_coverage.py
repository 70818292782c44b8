"""The fuzz generator covers every kind of damage issue 20 names, for every input it fits.

Only the cases are made here (no command runs): 10,000 cases of seed 1, the full run's.
"""

from __future__ import annotations

from collections import defaultdict

from benchmarks.fuzz.cases import TARGETS, make_case

#: damage family (issue 20, item 8) -> case kinds that are it
FAMILIES = {
    "truncation": {"bytes-truncate", "cut-last-line"},
    "byte flips": {"bytes-flip", "bytes-junk"},
    "wrong types": {
        "bytes-wrong-file",
        "bad-number",
        "tile-text",
        "text-coordinate",
        "wrong-type-path",
        "resolution",
        "threshold",
        "bad-code",
    },
    "nan / inf / huge / negative": {
        "bad-number",
        "out-of-range",
        "speed",
        "tests",
        "population",
        "threshold",
        "weights-nan",
        "weights-inf",
        "nan-coordinate",
        "nan-vertex",
    },
    "encodings and BOMs": {"bytes-utf16", "bytes-latin1", "bytes-bom"},
    "wrong geometry types": {"as-lines", "as-points", "wrong-geometry-type"},
    "empty geometries": {"empty-geometry", "null-geometry", "tile-empty"},
    "swapped coordinates": {"swap-lonlat", "swap-lonlat-all", "swap-lonlat-one", "tile-swapped"},
    "out-of-country coordinates": {"elsewhere", "elsewhere-all", "elsewhere-one", "tile-elsewhere"},
    "wrong CRS labels": {"crs-utm-label", "crs-none", "tile-utm"},
    "duplicated columns": {"duplicate-column", "duplicate-key"},
    "missing columns": {"drop-required", "drop-code", "drop-column", "drop-property"},
    "formula and HTML text": {"hostile-text", "hostile-name"},
}
#: families that cannot apply to an input (a binary format has no text encoding, a table
#: no geometry (TABLE, for every CSV), a raster is damaged byte-wise; GeoPackage and
#: Parquet cannot hold two columns of one name, nor a GeoJSON object two keys)
NOT_APPLICABLE = {
    "despro.toml": {
        "wrong geometry types",
        "empty geometries",
        "swapped coordinates",
        "out-of-country coordinates",
        "wrong CRS labels",
        "missing columns",
        "formula and HTML text",
    },
    "villages.gpkg": {"encodings and BOMs", "duplicated columns"},
    "ookla_fixed_2024q2.parquet": {
        "encodings and BOMs",
        "duplicated columns",
        "wrong geometry types",
        "formula and HTML text",
    },
    "coverage_4g.tif": set(FAMILIES) - {"truncation", "byte flips", "wrong types"},
    "population.tif": set(FAMILIES) - {"truncation", "byte flips", "wrong types"},
    "admin_codes.csv": {"nan / inf / huge / negative"},  # codes and names: no numbers
    "courier_outlets.geojson": {"duplicated columns"},
    "backbone_routes.geojson": {"duplicated columns"},
    "backbone_nodes.geojson": {"duplicated columns"},
}
TABLE = {
    "wrong geometry types",
    "empty geometries",
    "swapped coordinates",
    "out-of-country coordinates",
    "wrong CRS labels",
}


def test_every_family_of_damage_reaches_every_input_it_fits():
    kinds = defaultdict(set)
    for i in range(10_000):
        c = make_case(1, i)
        kinds[c.target].add(c.kind)
    assert set(kinds) == set(TARGETS)
    missing = []
    for target in TARGETS:
        skip = NOT_APPLICABLE.get(target, set()) | (TABLE if target.endswith(".csv") else set())
        for family, members in FAMILIES.items():
            if family not in skip and not kinds[target] & members:
                missing.append((target, family))
    assert missing == []


def test_locale_numbers_overlaps_and_controls_are_among_the_cases():
    kinds = {make_case(1, i).kind for i in range(10_000)}
    assert {"locale-id", "locale-en", "mixed-marks", "ambiguous-thousands"} <= kinds
    assert {"overlap", "overlap-partial"} <= kinds
    expects = {make_case(1, i).expect for i in range(2_000)}
    assert expects == {"error", "accept", "either"}
