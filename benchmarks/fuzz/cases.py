"""The malformed variants: one seeded case = one input of the sample changed in one way.

A :class:`Case` names the input it breaks, the kind of damage and what a careful tool
must do with it (``expect``):

- ``error``: wrong; ``despro validate`` must stop with a clean error (exit 2), or accept
  it while printing a data-quality note for it (a documented acceptance, e.g. a point
  outside Indonesia dropped and reported);
- ``accept``: a valid variant (a control: a BOM, ``;`` with decimal commas, reordered
  or extra columns, the villages in a real projected CRS); it must pass;
- ``either``: damage that may or may not change a value (a flipped byte in pixel data,
  a CSV cut exactly at a line end); only a traceback or a hang is a failure.

:func:`make_case` is deterministic in ``(seed, index)``; :func:`materialise` writes the
case into a folder: every sample file linked, the broken one (and ``despro.toml``) written.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

#: values written into a numeric cell of a table: text -> expected outcome
BAD_NUMBERS = {
    "nan": "either",
    "inf": "error",
    "-inf": "error",
    "-5": "error",
    "1e308": "error",
    "abc": "error",
    "1,5,7": "error",
    "true": "error",
}
#: places that are not Indonesia (lon, lat)
ELSEWHERE = {
    "null island": (0.0, 0.0),
    "europe": (10.0, 50.0),
    "antarctica": (0.0, -85.0),
    "kuala lumpur": (101.69, 3.14),
    "singapore": (103.82, 1.35),
    "australia": (133.0, -25.0),
}
HOSTILE_TEXT = ["=1+1", "+cmd|' /C calc'!A0", "<script>alert(1)</script>", "@SUM(A1)", "é😀\u202e"]


@dataclass(frozen=True)
class Case:
    """One variant: which input, what was done to it, what must happen."""

    index: int
    target: str  # file name in the sample, or "despro.toml"
    kind: str
    expect: str  # "error", "accept" or "either"
    detail: str = ""

    @property
    def name(self) -> str:
        return f"{self.index:05d}-{self.target}-{self.kind}"


# ---------------------------------------------------------------- generic byte damage


def _bytes_mutation(rng: random.Random, target: str) -> tuple[str, str, str]:
    text = target.endswith((".csv", ".geojson", ".toml"))
    kinds = ["truncate", "flip", "empty", "junk", "wrong-file"]
    if text:
        kinds += ["utf16", "latin1", "bom", "crlf"]
    kind = rng.choice(kinds)
    if kind == "truncate":
        return kind, "either" if text else "error", str(rng.random())
    if kind == "flip":
        return kind, "either", str(rng.randrange(1, 6))
    if kind in ("empty", "junk", "wrong-file"):
        return kind, "error", ""
    if kind == "utf16":
        return kind, "either", ""
    return kind, "accept" if kind in ("bom", "crlf") else "either", ""


def _apply_bytes(kind: str, detail: str, data: bytes, rng: random.Random) -> bytes:
    if kind == "truncate":
        cut = max(1, int(len(data) * float(detail) * 0.98))
        return data[:cut]
    if kind == "flip":
        b = bytearray(data)
        n = int(float(detail) * 5) + 1 if "." in detail else int(detail)
        for _ in range(n if b else 0):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        return bytes(b)
    if kind == "empty":
        return b""
    if kind == "junk":
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
    if kind == "utf16":
        return data.decode("utf-8-sig").encode("utf-16")
    if kind == "latin1":
        return data.decode("utf-8-sig").replace("a", "ã", 3).encode("latin-1", "replace")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    raise ValueError(kind)


# ---------------------------------------------------------------- CSV tables

CSV_NUMERIC = {
    "ict_regency.csv": [
        "pct_individuals_mobile_phone",
        "pct_households_internet",
        "pct_households_computer",
    ],
    "products.csv": ["enterprises", "distinctiveness"],
    "categories.csv": ["demand_growth_pct"],
}
CSV_TEXT = {
    "ict_regency.csv": ["regency_name", "source"],
    "products.csv": ["product"],
    "categories.csv": ["label_id", "label_en", "source"],
    "admin_codes.csv": ["nama"],
}
CSV_REQUIRED = {
    "ict_regency.csv": ["regency_code", "pct_households_internet"],
    "products.csv": ["village_code", "category", "enterprises"],
    "categories.csv": ["category", "demand_growth_pct"],
    "admin_codes.csv": ["kode", "nama"],
}
#: numbers in either locale (issue 20): kind -> target -> (column, value written, expect).
#: ``locale-id`` writes the table with ``;`` and decimal commas first; the others keep ``,``.
LOCALE = {
    "locale-id": {  # Indonesian: thousands dot, decimal comma
        "products.csv": ("enterprises", "1.234", "accept"),  # a count: 1234
        "categories.csv": ("demand_growth_pct", "1.234,5", "accept"),
        "ict_regency.csv": ("pct_households_internet", "1.234,5", "error"),  # 1234.5 %
    },
    "locale-en": {  # English: thousands comma, decimal point
        "products.csv": ("enterprises", "1,234", "accept"),
        "categories.csv": ("demand_growth_pct", "1,234.5", "accept"),
        "ict_regency.csv": ("pct_households_internet", "1,234.5", "error"),
    },
    "mixed-marks": {  # one decimal comma in a column of decimal points
        "products.csv": ("distinctiveness", "0,5", "error"),
        "categories.csv": ("demand_growth_pct", "12,75", "error"),
        "ict_regency.csv": ("pct_households_computer", "45,25", "error"),
    },
    "ambiguous-thousands": {  # 1.250: 1250 or 1.25? (categories: only integers besides)
        "products.csv": ("enterprises", "1.250", "accept"),  # a count: 1250
        "categories.csv": ("demand_growth_pct", "1.250", "error"),  # both fit: refused
        "ict_regency.csv": ("pct_households_internet", "1.250", "accept"),  # 1.25 %
    },
}
#: the Kemendagri code list (kode, nama) has no numbers: these kinds apply to it
CODE_LIST_KINDS = {
    "hostile-text": "accept",
    "drop-required": "error",
    "duplicate-column": "error",
    "duplicate-row": "either",
    "bad-code": "error",
    "short-row": "error",
    "cut-last-line": "either",
    "header-only": "error",
    "bytes": "",
}
CSV_RANGE = {  # out of range for the column's declared unit
    "pct_individuals_mobile_phone": ["150", "100.5", "-0.1"],
    "pct_households_internet": ["101", "250"],
    "pct_households_computer": ["1000"],
    "enterprises": ["3.5", "-2", "1e12"],
    "distinctiveness": ["1.5", "-0.2"],
    "demand_growth_pct": ["-1000", "1e9"],
}

CSV_KINDS = [
    "bad-number",
    "out-of-range",
    "hostile-text",
    "drop-required",
    "duplicate-column",
    "duplicate-row",
    "semicolon-decimal-comma",
    "reorder-columns",
    "extra-column",
    "cut-last-line",
    "short-row",
    "header-only",
    *LOCALE,
    "bytes",
]


def _csv_rows(data: bytes) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _csv_bytes(rows: list[list[str]], sep: str = ",") -> bytes:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _csv_case(rng: random.Random, target: str) -> tuple[str, str, str]:
    if target == "admin_codes.csv":
        kind = rng.choice(list(CODE_LIST_KINDS))
        if kind == "hostile-text":
            return kind, "accept", f"nama={rng.choice(HOSTILE_TEXT)}"
        if kind in ("drop-required", "duplicate-column"):
            return kind, "error", rng.choice(CSV_REQUIRED[target])
        if kind == "bad-code":
            return kind, "error", f"kode={rng.choice(['abc', '34.0x', '3.4.0.1.2'])}"
        if kind != "bytes":
            return kind, CODE_LIST_KINDS[kind], ""
    else:
        kind = rng.choice(CSV_KINDS)
    if kind in LOCALE:
        col, val, expect = LOCALE[kind][target]
        return kind, expect, f"{col}={val}"
    if kind == "bad-number":
        col = rng.choice(CSV_NUMERIC[target])
        val = rng.choice(list(BAD_NUMBERS))
        if col == "distinctiveness" and val == "true":  # a yes / no flag is allowed there
            return kind, "accept", f"{col}={val}"
        if col == "demand_growth_pct" and val == "-5":  # a shrinking market is real
            return kind, "accept", f"{col}={val}"
        return kind, BAD_NUMBERS[val], f"{col}={val}"
    if kind == "out-of-range":
        col = rng.choice(CSV_NUMERIC[target])
        return kind, "error", f"{col}={rng.choice(CSV_RANGE[col])}"
    if kind == "hostile-text":
        return kind, "accept", f"{rng.choice(CSV_TEXT[target])}={rng.choice(HOSTILE_TEXT)}"
    if kind == "drop-required":
        return kind, "error", rng.choice(CSV_REQUIRED[target])
    if kind == "duplicate-column":
        return kind, "error", rng.choice(CSV_REQUIRED[target])
    if kind == "duplicate-row":
        return kind, "error" if target != "products.csv" else "either", ""
    if kind in ("semicolon-decimal-comma", "reorder-columns", "extra-column"):
        return kind, "accept", ""
    if kind in ("cut-last-line", "short-row", "header-only"):
        return kind, "error", ""
    sub, expect, detail = _bytes_mutation(rng, target)
    return f"bytes-{sub}", expect, detail


def _apply_csv(kind: str, detail: str, data: bytes, rng: random.Random) -> bytes:
    if kind.startswith("bytes-"):
        return _apply_bytes(kind[6:], detail, data, rng)
    rows = _csv_rows(data)
    head, body = rows[0], rows[1:]
    r = rng.randrange(len(body))
    if kind in ("bad-number", "out-of-range", "hostile-text", "bad-code"):
        col, val = detail.split("=", 1)
        body[r][head.index(col)] = val
    elif kind in LOCALE:
        col, val = detail.split("=", 1)
        c = head.index(col)
        if kind == "ambiguous-thousands" and col == "demand_growth_pct":
            for row in body:  # only whole numbers besides: nothing shows the decimal mark
                row[c] = str(round(float(row[c]))) if row[c] else row[c]
        if kind == "locale-id":
            rows = [head] + [
                [x.replace(".", ",") if re.fullmatch(r"-?\d+\.\d+", x) else x for x in row]
                for row in body
            ]
            rows[r + 1][c] = val
            return _csv_bytes(rows, ";")
        body[r][c] = val
    elif kind == "drop-required":
        i = head.index(detail)
        rows = [row[:i] + row[i + 1 :] for row in rows]
        return _csv_bytes(rows)
    elif kind == "duplicate-column":
        i = head.index(detail)
        rows = [row + [row[i]] for row in rows]
        return _csv_bytes(rows)
    elif kind == "duplicate-row":
        body.insert(r, list(body[r]))
    elif kind == "semicolon-decimal-comma":
        out = [
            [c.replace(".", ",") if re.fullmatch(r"-?\d+\.\d+", c) else c for c in row]
            for row in rows
        ]
        return _csv_bytes(out, ";")
    elif kind == "reorder-columns":
        order = list(range(len(head)))
        rng.shuffle(order)
        return _csv_bytes([[row[i] for i in order] for row in rows])
    elif kind == "extra-column":
        return _csv_bytes([row + (["note"] if k == 0 else ["x"]) for k, row in enumerate(rows)])
    elif kind == "cut-last-line":
        text = _csv_bytes(rows).rstrip(b"\n")
        last = text.rfind(b",")
        return text[: last + 1]
    elif kind == "short-row":
        body[r] = body[r][: len(head) - 1 - rng.randrange(max(1, len(head) - 2))]
    elif kind == "header-only":
        body = []
    return _csv_bytes([head, *body])


# ---------------------------------------------------------------- GeoJSON points and lines

GEOJSON_KINDS = [
    "elsewhere-one",
    "elsewhere-all",
    "swap-lonlat-all",
    "swap-lonlat-one",
    "crs-utm-label",
    "wrong-geometry-type",
    "null-geometry",
    "empty-geometry",
    "nan-coordinate",
    "text-coordinate",
    "operator",
    "hostile-text",
    "drop-property",
    "no-features",
    "bytes",
]
OPERATORS = {"123": "error", "-": "error", "": "error", "???": "error", "JNE Express": "either"}


def _geojson_case(rng: random.Random, target: str) -> tuple[str, str, str]:
    kinds = [k for k in GEOJSON_KINDS if k != "operator" or target == "courier_outlets.geojson"]
    kind = rng.choice(kinds)
    if kind.startswith("elsewhere"):
        # one backbone node or route abroad is real, and so are routes from Singapore or
        # Malaysia into Indonesian waters (cables land there); a file far away is not
        place = rng.choice(list(ELSEWHERE))
        cable = target.startswith("backbone") and (
            kind == "elsewhere-one" or place in ("kuala lumpur", "singapore")
        )
        return kind, "either" if cable else "error", place
    if kind == "operator":
        op = rng.choice(list(OPERATORS))
        return kind, OPERATORS[op], op
    if kind == "hostile-text":
        return kind, "accept", rng.choice(HOSTILE_TEXT)
    if kind == "no-features":
        return kind, "either", ""
    if kind == "drop-property":  # backbone names are optional; a courier's operator is not
        return kind, "error" if target == "courier_outlets.geojson" else "either", ""
    if kind == "null-geometry":
        return kind, "error", ""
    if kind == "bytes":
        sub, expect, detail = _bytes_mutation(rng, target)
        return f"bytes-{sub}", expect, detail
    return kind, "error", ""


def _coords_map(geom: dict, fn: Callable) -> dict:
    def walk(c):
        if isinstance(c, list) and c and isinstance(c[0], (int, float)):
            return fn(c)
        return [walk(x) for x in c]

    return {**geom, "coordinates": walk(geom["coordinates"])}


def _apply_geojson(kind: str, detail: str, data: bytes, rng: random.Random) -> bytes:
    if kind.startswith("bytes-"):
        return _apply_bytes(kind[6:], detail, data, rng)
    fc = json.loads(data)
    feats = fc["features"]
    i = rng.randrange(len(feats))
    f = feats[i]
    if kind in ("elsewhere-one", "elsewhere-all"):
        lon, lat = ELSEWHERE[detail]
        todo = feats if kind == "elsewhere-all" else [f]
        for g in todo:
            x0, y0 = _first_xy(g["geometry"])
            g["geometry"] = _coords_map(
                g["geometry"], lambda c, x0=x0, y0=y0: [c[0] - x0 + lon, c[1] - y0 + lat]
            )
    elif kind in ("swap-lonlat-all", "swap-lonlat-one"):
        for g in feats if kind.endswith("all") else [f]:
            g["geometry"] = _coords_map(g["geometry"], lambda c: [c[1], c[0]])
    elif kind == "crs-utm-label":
        fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32749"}}
    elif kind == "wrong-geometry-type":
        g = f["geometry"]
        x, y = _first_xy(g)
        if g["type"] == "Point":
            f["geometry"] = {"type": "LineString", "coordinates": [[x, y], [x + 0.01, y]]}
        else:
            f["geometry"] = {"type": "Point", "coordinates": [x, y]}
    elif kind == "null-geometry":
        f["geometry"] = None
    elif kind == "empty-geometry":
        f["geometry"] = {"type": f["geometry"]["type"], "coordinates": []}
    elif kind == "nan-coordinate":
        f["geometry"] = _coords_map(f["geometry"], lambda c: [float("nan"), c[1]])
    elif kind == "text-coordinate":
        f["geometry"] = _coords_map(f["geometry"], lambda c: ["abc", c[1]])
    elif kind == "operator":
        f["properties"]["operator"] = detail
    elif kind == "hostile-text":
        f["properties"]["name"] = detail
    elif kind == "drop-property":
        key = "operator" if "operator" in f["properties"] else next(iter(f["properties"]))
        for g in feats:
            g["properties"].pop(key, None)
    elif kind == "no-features":
        fc["features"] = []
    return json.dumps(fc).encode()


def _first_xy(geom: dict) -> tuple[float, float]:
    c = geom["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return c[0], c[1]


# ---------------------------------------------------------------- villages (GeoPackage)

VILLAGE_KINDS = {
    "swap-lonlat": "error",
    "elsewhere": "error",
    "crs-utm-label": "error",
    "crs-none": "either",
    "as-lines": "error",
    "as-points": "error",
    "nan-vertex": "error",
    "empty-geometry": "error",
    "null-geometry": "error",
    "huge-village": "error",
    "overlap": "error",
    "overlap-partial": "error",
    "duplicate-code": "error",
    "bad-code": "error",
    "population": "error",
    "households": "error",
    "drop-code": "error",
    "hostile-name": "accept",
    "reproject-utm": "accept",
    "multipolygon": "accept",
    "bytes": "",
}
POPULATION = {
    "-1": "error",
    "inf": "error",
    "1e12": "error",
    "nan": "either",
    "abc": "error",
    "2.5": "error",
}


def _villages_case(rng: random.Random) -> tuple[str, str, str]:
    kind = rng.choice(list(VILLAGE_KINDS))
    if kind == "bytes":
        sub = rng.choice(["truncate", "flip", "empty", "junk", "wrong-file"])
        return f"bytes-{sub}", "either" if sub == "flip" else "error", str(rng.random())
    if kind == "elsewhere":
        return kind, "error", rng.choice(list(ELSEWHERE))
    if kind == "population":
        v = rng.choice(list(POPULATION))
        return kind, POPULATION[v], v
    if kind == "hostile-name":
        return kind, "accept", rng.choice(HOSTILE_TEXT)
    return kind, VILLAGE_KINDS[kind], ""


def _apply_villages(kind: str, detail: str, src: Path, dest: Path, rng: random.Random) -> None:
    if kind.startswith("bytes-"):
        sub = kind[6:]
        dt = str(rng.randrange(1, 6)) if sub == "flip" else detail
        dest.write_bytes(_apply_bytes(sub, dt, src.read_bytes(), rng))
        return
    import geopandas as gpd
    import numpy as np
    import shapely
    from shapely import affinity

    v = gpd.read_file(src, layer="villages")
    i = rng.randrange(len(v))
    g = v.geometry
    if kind == "swap-lonlat":
        v = v.set_geometry(shapely.transform(g.values, lambda c: c[:, ::-1]), crs=v.crs)
    elif kind == "elsewhere":
        lon, lat = ELSEWHERE[detail]
        c = g.union_all().centroid
        v = v.set_geometry(g.translate(lon - c.x, lat - c.y))
    elif kind == "crs-utm-label":
        v = v.set_crs(32749, allow_override=True)
    elif kind == "crs-none":
        v = v.set_crs(None, allow_override=True)
    elif kind == "as-lines":
        v = v.set_geometry(g.boundary)
    elif kind == "as-points":
        v = v.set_geometry(g.representative_point())
    elif kind == "nan-vertex":
        coords = shapely.get_coordinates(g.iloc[i]).copy()
        coords[1, 0] = np.nan
        v.loc[i, v.geometry.name] = shapely.Polygon(coords)
    elif kind == "empty-geometry":
        v.loc[i, v.geometry.name] = shapely.Polygon()
    elif kind == "null-geometry":
        v.loc[i, v.geometry.name] = None
    elif kind == "huge-village":
        v.loc[i, v.geometry.name] = affinity.scale(g.iloc[i], 200, 200)
    elif kind == "overlap":
        v.loc[i, v.geometry.name] = g.iloc[(i + 1) % len(v)]
    elif kind == "overlap-partial":  # a neighbour's boundary shifted by a fifth of its width
        other = g.iloc[(i + 1) % len(v)]
        x0, _, x1, _ = other.bounds
        v.loc[i, v.geometry.name] = affinity.translate(other, xoff=0.2 * (x1 - x0))
    elif kind == "duplicate-code":
        v.loc[i, "village_code"] = v.loc[(i + 1) % len(v), "village_code"]
    elif kind == "bad-code":
        v.loc[i, "village_code"] = rng.choice(["abc", "12", "34.01.01.20010", ""])
    elif kind == "population":
        v["population"] = v["population"].astype(object)
        v.loc[i, "population"] = detail
    elif kind == "households":
        v["households"] = v["households"].astype(float)
        v.loc[i, "households"] = float(v.loc[i, "population"]) * 3 + 10
    elif kind == "drop-code":
        v = v.drop(columns="village_code")
    elif kind == "hostile-name":
        v.loc[i, "village_name"] = detail
    elif kind == "reproject-utm":
        v = v.to_crs(32749)
    elif kind == "multipolygon":
        v = v.set_geometry(gpd.GeoSeries([shapely.MultiPolygon([p]) for p in g], crs=v.crs))
    v.to_file(dest, layer="villages", driver="GPKG", engine="pyogrio")


# ---------------------------------------------------------------- Ookla tiles (GeoParquet-like)

OOKLA_KINDS = {
    "tile-utm": "error",
    "tile-huge": "error",
    "tile-swapped": "error",
    "tile-elsewhere": "either",  # worldwide files are fine: a tile abroad is real data
    "tile-empty": "error",
    "tile-text": "error",
    "speed": "",
    "tests": "",
    "drop-column": "error",
    "no-rows": "either",
    "bytes": "",
}
SPEEDS = {"-100": "error", "inf": "error", "1e15": "error", "nan": "either"}
TESTS = {"-3": "error", "0.5": "error", "1e15": "error"}


def _ookla_case(rng: random.Random) -> tuple[str, str, str]:
    kind = rng.choice(list(OOKLA_KINDS))
    if kind == "bytes":
        sub = rng.choice(["truncate", "flip", "empty", "junk", "wrong-file"])
        return f"bytes-{sub}", "either" if sub == "flip" else "error", ""
    if kind == "speed":
        v = rng.choice(list(SPEEDS))
        return kind, SPEEDS[v], f"{rng.choice(['avg_d_kbps', 'avg_u_kbps'])}={v}"
    if kind == "tests":
        v = rng.choice(list(TESTS))
        return kind, TESTS[v], f"{rng.choice(['tests', 'devices'])}={v}"
    if kind == "drop-column":  # without 'tile' the tiles come from 'quadkey': fine
        col = rng.choice(["tile", "avg_d_kbps", "tests"])
        return kind, "either" if col == "tile" else "error", col
    if kind == "tile-elsewhere":
        return kind, "either", rng.choice(list(ELSEWHERE))
    return kind, OOKLA_KINDS[kind], ""


def _apply_ookla(kind: str, detail: str, src: Path, dest: Path, rng: random.Random) -> None:
    if kind.startswith("bytes-"):
        sub = kind[6:]
        dt = str(rng.randrange(1, 6)) if sub == "flip" else str(rng.random())
        dest.write_bytes(_apply_bytes(sub, dt, src.read_bytes(), rng))
        return
    import pandas as pd
    import shapely
    from pyproj import Transformer

    t = pd.read_parquet(src)
    i = rng.randrange(len(t))
    if kind == "tile-utm":
        tr = Transformer.from_crs(4326, 32749, always_xy=True)
        geoms = shapely.from_wkt(t["tile"].to_numpy())
        t["tile"] = shapely.to_wkt(
            shapely.transform(geoms, lambda c: _stack(tr.transform(c[:, 0], c[:, 1])))
        )
    elif kind == "tile-huge":
        x, y = 110.0, -7.8
        t.loc[i, "tile"] = (
            f"POLYGON(({x} {y}, {x + 20} {y}, {x + 20} {y - 20}, {x} {y - 20}, {x} {y}))"
        )
    elif kind == "tile-swapped":
        geoms = shapely.from_wkt(t["tile"].to_numpy())
        t["tile"] = shapely.to_wkt(shapely.transform(geoms, lambda c: c[:, ::-1]))
    elif kind == "tile-elsewhere":
        lon, lat = ELSEWHERE[detail]
        g = shapely.from_wkt(t.loc[i, "tile"])
        c = g.centroid
        t.loc[i, "tile"] = shapely.to_wkt(shapely.affinity.translate(g, lon - c.x, lat - c.y))
    elif kind == "tile-empty":
        t.loc[i, "tile"] = "POLYGON EMPTY"
    elif kind == "tile-text":
        t.loc[i, "tile"] = "not a tile"
    elif kind in ("speed", "tests"):
        col, val = detail.split("=")
        t[col] = t[col].astype(float)
        t.loc[i, col] = float(val)
    elif kind == "drop-column":
        t = t.drop(columns=detail)
    elif kind == "no-rows":
        t = t.iloc[:0]
    t.to_parquet(dest, index=False)


def _stack(xy):
    import numpy as np

    return np.column_stack(xy)


# ---------------------------------------------------------------- the config

CONFIG_EDITS: list[tuple[str, str, str, str]] = [
    # (kind, section, line to add, expect)
    ("threshold", "criteria", "thresholds = {{ I1a = {v} }}", ""),
    (
        "weights-zero",
        "criteria",
        "weights = { P1 = 0, P2 = 0, P3 = 0, I1 = 0, I2 = 0, I3 = 0 }",
        "error",
    ),
    (
        "weights-nan",
        "criteria",
        "weights = { P1 = nan, P2 = 1, P3 = 1, I1 = 1, I2 = 1, I3 = 1 }",
        "error",
    ),
    (
        "weights-inf",
        "criteria",
        "weights = { P1 = inf, P2 = 1, P3 = 1, I1 = 1, I2 = 1, I3 = 1 }",
        "error",
    ),
    ("weights-unknown", "criteria", "weights = { X9 = 1, P2 = 1 }", "error"),
    ("near-nan", "criteria", "near_ready_fraction = nan", "error"),
    ("tiers-empty", "shortlist", "tiers = []", "error"),
    ("tiers-unknown", "shortlist", 'tiers = ["excellent"]', "error"),
    ("size-zero", "shortlist", "size = 0", "error"),
    ("resolution", "run", "resolution = {v}", "error"),
    ("coverage-value", "layers.broadband", "coverage_value = {v}", "error"),
    ("unknown-key", "run", "colour = 'red'", "error"),
    ("code-prefix-int", "villages", "code_prefix = 34", "either"),
    ("missing-file", "layers.courier", 'outlets = "nowhere.geojson"', "error"),
    ("directory-path", "layers.smartphone", 'table = "."', "error"),
    ("wrong-type-path", "layers.smartphone", 'table = "ookla_fixed_2024q2.parquet"', "error"),
    ("wrong-type-path2", "layers.courier", 'outlets = "products.csv"', "error"),
    ("villages-as-csv", "villages", 'path = "products.csv"', "error"),
    ("duplicate-key", "run", 'name = "again"', "error"),
]
THRESHOLDS = {
    "nan": "error",
    "inf": "error",
    "-inf": "error",
    "-30": "error",
    "3000": "error",
    '"abc"': "error",
    "true": "error",
    "45": "accept",
}
RESOLUTIONS = {
    "true": "error",
    "3.5": "error",
    "20": "error",
    "-1": "error",
    '"8"': "either",
    "7": "accept",
}
COVERAGE = {
    "99": "error",
    "0": "either",  # 0 is a real pixel value here; it may mean covered
    "-1": "error",
    "1.5": "error",
    "nan": "error",
    "1": "accept",
}


def _config_case(rng: random.Random) -> tuple[str, str, str]:
    if rng.random() < 0.25:
        sub, expect, detail = _bytes_mutation(rng, "despro.toml")
        return f"bytes-{sub}", expect, detail
    kind, _, _, expect = rng.choice(CONFIG_EDITS)
    table = {"threshold": THRESHOLDS, "resolution": RESOLUTIONS, "coverage-value": COVERAGE}.get(
        kind
    )
    if table:
        v = rng.choice(list(table))
        return kind, table[v], v
    return kind, expect, ""


def _apply_config(kind: str, detail: str, text: str, rng: random.Random) -> bytes:
    if kind.startswith("bytes-"):
        return _apply_bytes(kind[6:], detail, text.encode(), rng)
    _, section, line, _ = next(e for e in CONFIG_EDITS if e[0] == kind)
    line = (
        line.replace("{{", "{").replace("}}", "}").replace("{v}", detail) if "{v}" in line else line
    )
    key = line.split("=", 1)[0].strip()
    lines = text.splitlines()
    start = lines.index(f"[{section}]")
    end = next((k for k in range(start + 1, len(lines)) if lines[k].startswith("[")), len(lines))
    body = [
        ln
        for ln in lines[start + 1 : end]
        if kind == "duplicate-key" or ln.split("=", 1)[0].strip() != key
    ]
    lines[start + 1 : end] = [line, *body]
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------- the catalogue

#: input -> share of the cases
TARGETS = {
    "despro.toml": 3,
    "villages.gpkg": 3,
    "ookla_fixed_2024q2.parquet": 2,
    "courier_outlets.geojson": 2,
    "backbone_routes.geojson": 1,
    "backbone_nodes.geojson": 1,
    "ict_regency.csv": 2,
    "products.csv": 2,
    "categories.csv": 1,
    "admin_codes.csv": 1,
    "coverage_4g.tif": 1,
    "population.tif": 1,
}
CONTROL_SHARE = 0.03  # the sample itself, unchanged


def make_case(seed: int, index: int) -> Case:
    """The ``index``-th case of a seeded run (the same every time)."""
    rng = random.Random(seed * 1_000_003 + index)
    if rng.random() < CONTROL_SHARE:
        return Case(index, "despro.toml", "unchanged", "accept")
    target = rng.choices(list(TARGETS), weights=list(TARGETS.values()))[0]
    if target == "despro.toml":
        kind, expect, detail = _config_case(rng)
    elif target == "villages.gpkg":
        kind, expect, detail = _villages_case(rng)
    elif target.endswith(".parquet"):
        kind, expect, detail = _ookla_case(rng)
    elif target.endswith(".geojson"):
        kind, expect, detail = _geojson_case(rng, target)
    elif target.endswith(".csv"):
        kind, expect, detail = _csv_case(rng, target)
    else:  # rasters: byte damage only
        sub = rng.choice(["truncate", "flip", "empty", "junk", "wrong-file"])
        kind, expect, detail = (
            f"bytes-{sub}",
            "either" if sub == "flip" else "error",
            str(rng.random()),
        )
    return Case(index, target, kind, expect, detail)


def materialise(case: Case, seed: int, folder: Path) -> Path:
    """Write ``case`` into ``folder`` (the sample linked, the broken file written).

    Returns the path of the case's ``despro.toml``.
    """
    rng = random.Random(seed * 7_000_001 + case.index)
    folder.mkdir(parents=True, exist_ok=True)
    for f in SAMPLE.iterdir():
        if f.is_file() and f.name not in (case.target, "despro.toml", "README.md"):
            (folder / f.name).symlink_to(f)
    config = (SAMPLE / "despro.toml").read_text(encoding="utf-8")
    config = config.replace('output_dir = "../../output"', 'output_dir = "out"').replace(
        'maps_dir = "../../maps"', 'maps_dir = "maps"'
    )
    src, dest = SAMPLE / case.target, folder / case.target
    if case.kind.endswith("wrong-file") and case.target == "despro.toml":
        shutil.copyfile(SAMPLE / "products.csv", dest)
        return dest
    if case.kind.endswith("wrong-file"):
        other = "products.csv" if case.target != "products.csv" else "population.tif"
        shutil.copyfile(SAMPLE / other, dest)
    elif case.target == "despro.toml":
        if case.kind == "unchanged":
            dest.write_text(config, encoding="utf-8")
        else:
            dest.write_bytes(_apply_config(case.kind, case.detail, config, rng))
        return dest
    elif case.target == "villages.gpkg":
        _apply_villages(case.kind, case.detail, src, dest, rng)
    elif case.target.endswith(".parquet"):
        _apply_ookla(case.kind, case.detail, src, dest, rng)
    elif case.target.endswith(".geojson"):
        dest.write_bytes(_apply_geojson(case.kind, case.detail, src.read_bytes(), rng))
    elif case.target.endswith(".csv"):
        dest.write_bytes(_apply_csv(case.kind, case.detail, src.read_bytes(), rng))
    else:
        dest.write_bytes(_apply_bytes(case.kind[6:], case.detail, src.read_bytes(), rng))
    (folder / "despro.toml").write_text(config, encoding="utf-8")
    return folder / "despro.toml"
