"""Compare two despro output folders value by value (used to prove a refactor changes no result).

    python benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR [--allow-added-columns]

Tables (GeoParquet, GeoPackage) are compared column by column, exactly (geometry as WKB);
CSV, Markdown and JSON files as text, except the fields that record when and how long a run
took (timings, timestamps, run ids, package versions). Map pages (``*.html``) are compared as
text with the same exceptions. With ``--allow-added-columns``, columns that exist only AFTER are
listed, and every column both have is still compared value by value (CSV tables too).
Prints one line per file and exits 1 on any difference.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

# Fields that legitimately differ between two runs of the same inputs.
VOLATILE_KEYS = {
    "timings",
    "created_utc",
    "started_utc",
    "finished_utc",
    "run_id",
    "versions",
    "elapsed_s",
    "generated_utc",
    "python",
    "platform",
    "despro_version",
    "timings_s",
    "packages",
    "config_file",
    "output_dir",
    "maps_dir",
}
VOLATILE_TEXT = [
    re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?"),  # ISO timestamps
    re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?( UTC)?"),
    re.compile(r"\b\d{8}T\d{6}Z?(-[0-9a-f]+)?\b"),  # run ids
    re.compile(r"_[0-9a-f]{32}(?![0-9a-f])"),  # folium's random element ids in map pages
]


def _scrub(obj):
    if isinstance(obj, dict):
        return {k: _scrub(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    if isinstance(obj, str):
        return _text(obj)
    return obj


def _text(s: str) -> str:
    for pat in VOLATILE_TEXT:
        s = pat.sub("<T>", s)
    return s


# bookkeeping, not a result: the list of files the last run committed (despro.io.staging)
BOOKKEEPING = {".despro-files.json"}


def _kept(p: Path) -> bool:
    return p.name not in BOOKKEEPING


ALLOW_ADDED = False
ADDED: dict[str, list[str]] = {}


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame, name: str = "") -> str | None:
    if list(a.columns) != list(b.columns):
        added = [c for c in b.columns if c not in a.columns]
        if not ALLOW_ADDED or set(a.columns) - set(b.columns):
            return f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"
        ADDED[name] = added
        b = b[list(a.columns)]
    if len(a) != len(b):
        return f"rows {len(a)} vs {len(b)}"
    for c in a.columns:
        x, y = a[c], b[c]
        if isinstance(x, gpd.GeoSeries) or getattr(x, "dtype", None) == "geometry":
            x, y = gpd.GeoSeries(x).to_wkb(), gpd.GeoSeries(y).to_wkb()
        try:
            pd.testing.assert_series_equal(x, y, check_exact=True, check_names=False)
        except AssertionError as err:
            return f"column {c!r}: {str(err).splitlines()[0:3]}"
    return None


def compare_file(a: Path, b: Path) -> str | None:
    """None when the two files hold the same results, else what differs."""
    suffix = a.suffix.lower()
    if suffix == ".parquet":
        meta = pq.read_schema(a).metadata or {}
        read = gpd.read_parquet if b"geo" in meta else pd.read_parquet
        return _frames_equal(read(a), read(b), a.name)
    if suffix == ".gpkg":
        import pyogrio

        layers = [x[0] for x in pyogrio.list_layers(a)]
        if layers != [x[0] for x in pyogrio.list_layers(b)]:
            return "layers differ"
        for layer in layers:
            diff = _frames_equal(
                gpd.read_file(a, layer=layer), gpd.read_file(b, layer=layer), a.name
            )
            if diff:
                return f"layer {layer}: {diff}"
        return None
    if suffix == ".json":
        x = _scrub(json.loads(a.read_text("utf-8")))
        y = _scrub(json.loads(b.read_text("utf-8")))
        return None if x == y else "JSON differs"
    if suffix in {".csv", ".md", ".html", ".txt", ".js", ".css", ".geojson"}:
        x, y = _text(a.read_text("utf-8")), _text(b.read_text("utf-8"))
        if x == y:
            return None
        if suffix == ".csv" and ALLOW_ADDED and x.splitlines()[:1] != y.splitlines()[:1]:
            read = dict(dtype=str, keep_default_na=False)
            return _frames_equal(pd.read_csv(a, **read), pd.read_csv(b, **read), a.name)
        for i, (p, q) in enumerate(zip(x.splitlines(), y.splitlines(), strict=False)):
            if p != q:
                return f"line {i + 1}: {p[:120]!r} vs {q[:120]!r}"
        return "lengths differ"
    return None if a.read_bytes() == b.read_bytes() else "bytes differ"


def main(before: Path, after: Path) -> int:
    files_a = {p.relative_to(before) for p in before.rglob("*") if p.is_file() and _kept(p)}
    files_b = {p.relative_to(after) for p in after.rglob("*") if p.is_file() and _kept(p)}
    bad = 0
    for rel in sorted(files_a ^ files_b):
        print(f"ONLY IN {'before' if rel in files_a else 'after'}: {rel}")
        bad += 1
    for rel in sorted(files_a & files_b):
        diff = compare_file(before / rel, after / rel)
        print(f"{'same' if diff is None else 'DIFFERENT'}  {rel}" + (f": {diff}" if diff else ""))
        bad += diff is not None
    for name, cols in ADDED.items():
        print(f"added columns in {name} (not compared): {cols}")
    print(f"{len(files_a & files_b)} files compared, {bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--allow-added-columns"]
    ALLOW_ADDED = len(args) < len(sys.argv) - 1
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(args[0]), Path(args[1])))
