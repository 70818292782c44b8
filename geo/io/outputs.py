"""Writers at the edge: every file is written to a temporary name, then renamed.

A run's files are first written into a staging folder inside the output folder;
only when all of them are complete are they moved into place (renames, see
:func:`despro.io.staging.move_file`). A run that fails before that leaves the previous
outputs as they were.

Text that reaches a CSV a planner opens in a spreadsheet is neutralised: a cell
starting with ``= + - @`` (or a tab / carriage return) gets a leading apostrophe
so it cannot act as a formula.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from despro import layers as registry
from despro._hashing import sha256
from despro.io.csvtext import csv_bytes
from despro.io.geopackage import write_geopackage
from despro.io.geoparquet import write_geoparquet
from despro.io.quality import quality_markdown
from despro.io.staging import move_file
from despro.rules import explain
from despro.rules.agreement import agreement

if TYPE_CHECKING:
    from despro.pipeline.runner import Result
    from despro.select.pilots import PilotPlan

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PACKAGES = (
    "despro",
    "geopandas",
    "shapely",
    "pyogrio",
    "rasterio",
    "h3",
    "h3ronpy",
    "numpy",
    "pandas",
    "pyarrow",
    "folium",
    "scikit-learn",
)


def safe_csv_text(value: object) -> object:
    """Prefix a formula-looking string with an apostrophe; leave other values alone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text columns cannot act as spreadsheet formulas.

    Each distinct text is checked once (a national criteria table repeats a few hundred
    texts over 830,000 rows); only the rows holding a formula-looking text change.
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if not (col.dtype == object or pd.api.types.is_string_dtype(col)):
            continue
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        risky = np.fromiter(
            (isinstance(u, str) and u.startswith(FORMULA_START) for u in uniques),
            dtype=bool,
            count=len(uniques),
        )
        if not risky.any():
            continue
        rows = (codes >= 0) & risky[np.maximum(codes, 0)]
        out.loc[rows, c] = col[rows].map(safe_csv_text)
    return out


#: decimals kept in CSVs, by unit (the precision of the sources: percent to 0.1, metres
#: to 1, Mbps to 0.1); columns of other units keep 10 significant digits
DECIMALS = {
    "percent": 1,
    "pp": 1,
    "%": 1,
    "m": 0,
    "metres": 0,
    "km": 2,
    "Mbps": 1,
    "ms": 0,
    "m2": 0,
    "0-1": 3,
    "0-100": 1,
    "degrees": 6,
    "ratio": 3,
}
#: decimals of columns despro names (scores 0-100, shares 0-1, coordinates)
COLUMN_DECIMALS = {
    "score": 1,
    "score_best": 1,
    "score_known_share": 3,
    "village_score": 1,
    "lat": 6,
    "lon": 6,
    "p_ready": 3,
}
#: rows formatted at a time by :func:`write_csv` (the national ``criteria.csv``, 832,460
#: rows, as one text held about 0.6 GB more while it was built)
CSV_ROWS = 200_000
FLOAT_FORMAT = "%.10g"  # after rounding: no 29.599999999999994 from binary fractions


def _unit_decimals(unit: object) -> int | None:
    u = str(unit or "").strip()
    if u in DECIMALS:
        return DECIMALS[u]
    if u.startswith("percent"):
        return 1
    return None


def column_decimals(column: str, units: dict[str, str] | None = None) -> int | None:
    """Decimals a float column keeps in the CSVs (and shows in the workbook).

    Parameters
    ----------
    column : str
    units : dict, optional
        Column -> unit (see :data:`DECIMALS`).

    Returns
    -------
    int or None
        ``None``: not rounded (written with :data:`FLOAT_FORMAT`).
    """
    c = str(column)
    d = COLUMN_DECIMALS.get(c)
    if d is None:
        d = _unit_decimals((units or {}).get(c))
    if d is None and (c.endswith("__cover") or "__cover__" in c or c.endswith("_prob")):
        d = 3
    return d


def round_for_csv(df: pd.DataFrame, units: dict[str, str] | None = None) -> pd.DataFrame:
    """Copy of ``df`` with floats rounded to the precision of their source.

    Parameters
    ----------
    df : DataFrame
    units : dict, optional
        Column -> unit (``percent``, ``m``, ``Mbps``, ...; see :data:`DECIMALS`). A long
        table with a ``unit`` column (``criteria.csv``) is rounded row by row in
        ``value``, ``threshold`` and ``margin``.

    Returns
    -------
    DataFrame
        Percent to 0.1, metres to 1, Mbps to 0.1, scores to 0.1, shares to 0.001,
        coordinates to 1e-6 degrees; other floats unchanged (written with
        :data:`FLOAT_FORMAT`).
    """
    units = units or {}
    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_float_dtype(out[c]):
            continue
        d = column_decimals(c, units)
        if d is not None:
            out[c] = out[c].round(d)
    if "unit" in out.columns:
        codes, uniques = pd.factorize(out["unit"])  # a few units over many rows
        per_unit = np.array([_unit_decimals(u) for u in uniques] + [None], dtype=float)
        per_row = pd.Series(per_unit[np.where(codes < 0, len(uniques), codes)])
        for d in sorted(set(per_row.dropna().astype(int))):
            rows = (per_row == d).to_numpy()
            for c in ("value", "threshold", "margin", "other_value"):
                if c in out.columns and pd.api.types.is_float_dtype(out[c]):
                    out.loc[rows, c] = out.loc[rows, c].round(d)
    return out


def column_units(result: Result) -> dict[str, str]:
    """Column -> unit for the run's tables: each variable's unit, and each rule's unit for
    its ``<rule>_margin`` and (as rules read it) its variable."""
    units = {name: v.unit for name, v in result.variables.items()}
    for r in result.config.criteria.rules:
        if r.unit:
            units[f"{r.id}_margin"] = r.unit
    return units


def write_csv(
    df: pd.DataFrame,
    path: Path,
    units: dict[str, str] | None = None,
    sep: str = ",",
    decimal: str = ".",
) -> None:
    """A spreadsheet-safe, rounded CSV (see :func:`csv_safe`, :func:`round_for_csv`).

    ``sep=";"`` and ``decimal=","`` write what a spreadsheet set to Indonesian reads.
    """
    safe = csv_safe(round_for_csv(df, units))
    with open(path, "wb") as f:  # in slices of rows: the text of one slice at a time
        for a in range(0, max(len(safe), 1), CSV_ROWS):
            part = safe.iloc[a : a + CSV_ROWS]
            f.write(csv_bytes(part, sep, decimal, FLOAT_FORMAT, header=a == 0))


@contextmanager
def staged(outdir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``outdir`` atomically.

    On an exception the staging folder is removed and ``outdir`` is untouched.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=outdir))
    try:
        yield stage
        for f in sorted(stage.rglob("*")):
            if f.is_file():
                dest = outdir / f.relative_to(stage)
                dest.parent.mkdir(parents=True, exist_ok=True)
                move_file(f, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_atomic_text(path: Path, text: str) -> None:
    """Write one text file atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def manifest(result: Result, outputs: list[str]) -> dict:
    """Run manifest: inputs with sha256 and vintages, config, versions, timings, counts."""
    cfg = result.config
    inputs = [
        {
            "file": cfg.portable(cfg.resolve(cfg.villages.path)),
            "layer": "villages",
            "sha256": sha256(cfg.path(cfg.villages.path)),
        }
    ]
    for name, r in result.layers.items():
        vintages = sorted({v.vintage for v in r.variables})
        for p in r.inputs:
            inputs.append(
                {
                    "file": cfg.portable(Path(p).resolve()),
                    "layer": name,
                    "sha256": sha256(p),
                    "vintage": ", ".join(vintages),
                }
            )
    tiers = result.villages["tier"].value_counts().to_dict()
    return {
        "despro_run": cfg.run.name,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "config_file": Path(cfg.source_file).name if cfg.source_file else None,
        "config": json.loads(cfg.model_dump_json()),
        "inputs": inputs,
        "packages": package_versions(),
        "timings_s": result.timings,
        "counts": {
            "villages": int(len(result.villages)),
            "cells": int(result.n_cells),
            "h3_resolution": cfg.run.resolution,
            "weights": result.study.weighting,
            "tiers": {k: int(v) for k, v in tiers.items()},
        },
        "variables": [
            {
                "name": v.name,
                "kind": str(v.kind),
                "unit": v.unit,
                "layer": v.layer,
                "source": v.source,
                "vintage": v.vintage,
                "description": v.description,
            }
            for v in result.variables.values()
        ],
        "data_quality": result.notes.items,
        "outputs": outputs,
    }


def agreement_table(result: Result) -> pd.DataFrame:
    """The run's agreement report (observed vs modelled, nationally and per province)."""
    v = result.villages
    groups = None
    if "province_code" in v:
        groups = pd.DataFrame(
            {
                "code": v["province_code"],
                "name": v["province_name"] if "province_name" in v else "",
            },
            index=v.index,
        )
    return agreement(
        pd.DataFrame(v.drop(columns=v.geometry.name)),
        result.config.criteria.rules,
        result.variables,
        groups,
    )


def planner_tables(villages: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables a planner reads first, by file name (see :mod:`despro.rules.explain`).

    ``one_fix_away.csv`` (villages where exactly one rule fails or is unknown, with that
    rule and its gap), ``summary_province.csv`` and ``summary_regency.csv`` (counts per
    tier, the most common binding criterion, the share of villages each missing input
    leaves undetermined) and ``data_needed.csv`` (the inputs that would decide most
    villages, per regency, ranked).

    Parameters
    ----------
    villages : DataFrame
        ``Result.villages`` (with the columns of :func:`despro.rules.explain.explain`); a
        geometry column is dropped.

    Returns
    -------
    dict of str to DataFrame
        File name -> table (not yet CSV-safe: :func:`csv_safe` before writing).
    """
    geometry = [c for c in villages.columns if str(villages[c].dtype) == "geometry"]
    v = pd.DataFrame(villages.drop(columns=geometry))
    return {
        "one_fix_away.csv": explain.one_fix_away(v),
        "summary_province.csv": explain.summary(v, "province"),
        "summary_regency.csv": explain.summary(v, "regency"),
        "data_needed.csv": explain.data_needed(v, "id", registry.titles("id")),
    }


def write_outputs(
    result: Result,
    outdir: Path | str,
    plan: PilotPlan | None = None,
    csv_locale: str = "en",
    lang: str | None = None,
) -> dict[str, Path]:
    """Write cells, villages, criteria, shortlist and manifest into ``outdir``.

    Every file is written to a staging folder first and moved into place only when all
    are written, so a failed run leaves the previous outputs as they were.

    Parameters
    ----------
    result : Result
        From :func:`despro.run`.
    outdir : path
        Output folder (created when missing).
    plan : PilotPlan, optional
        The chosen pilots (:func:`despro.plan_pilots`): adds the ``pilots``, ``agents``
        and ``clusters`` layers to ``villages.gpkg``.
    csv_locale : 'en' or 'id'
        ``id`` writes the CSVs with ``;`` between fields and a decimal comma, as a
        spreadsheet set to Indonesian expects.
    lang : 'id' or 'en', optional
        Sheet names and column titles of ``despro.xlsx`` (default: the config's
        ``run.lang``).

    Returns
    -------
    dict of str to Path
        File name -> path of every file written.

    Files: ``cells.parquet`` (GeoParquet; ``h3`` string and ``h3_int``),
    ``villages.parquet`` and ``villages.gpkg`` (layers ``villages``, ``cells``,
    ``shortlist``, ``regencies``, ``provinces`` and with a plan ``pilots``, ``agents``,
    ``clusters``; QGIS styles in ``layer_styles``, see :mod:`despro.io.geopackage`),
    ``criteria.csv`` (one row per village and rule), ``shortlist.csv``, the planners'
    tables of :func:`planner_tables` (``one_fix_away.csv``, ``summary_province.csv``,
    ``summary_regency.csv``, ``data_needed.csv``),
    ``despro.xlsx`` (the planners' workbook, one sheet per table, see
    :mod:`despro.io.xlsx`),
    ``data_quality.json``, ``data_quality.md`` (the same notes as a readable page, see
    :mod:`despro.io.quality`) and ``manifest.json``. ``data_quality.json`` holds
    ``notes`` (the data-quality notes) and ``agreement`` (observed vs modelled
    confusion counts, see :mod:`despro.rules.agreement`); ``model_validation.csv`` only
    with ``[model] enabled`` (leave-one-province-out AUC, Brier and calibration by
    decile, see :mod:`despro.model`).
    """
    outdir = Path(outdir)
    names = [
        "cells.parquet",
        "villages.parquet",
        "villages.gpkg",
        "criteria.csv",
        "conflicts.csv",
        "shortlist.csv",
        "one_fix_away.csv",
        "summary_province.csv",
        "summary_regency.csv",
        "data_needed.csv",
        "despro.xlsx",
        "data_quality.json",
        "data_quality.md",
        "manifest.json",
    ]
    model = getattr(result, "model", None)
    if model is not None:  # [model] enabled: leave-one-province-out validation
        names.insert(-1, "model_validation.csv")
    if csv_locale not in ("en", "id"):
        raise ValueError(f"csv_locale must be 'en' or 'id', got {csv_locale!r}")
    fmt = {"sep": ";", "decimal": ","} if csv_locale == "id" else {}
    units = column_units(result)
    with staged(outdir) as st:
        if model is not None:
            write_csv(model.validation, st / "model_validation.csv", **fmt)
        result.write_cells(st / "cells.parquet")
        write_geoparquet(result.villages, st / "villages.parquet")
        planner = planner_tables(result.villages)
        summaries = {k: planner[f"summary_{k}.csv"] for k in ("regency", "province")}
        write_geopackage(result, st / "villages.gpkg", plan, summaries)
        write_csv(result.criteria, st / "criteria.csv", **fmt)
        write_csv(result.shortlist().drop(columns="geometry"), st / "shortlist.csv", units, **fmt)
        write_csv(result.conflicts, st / "conflicts.csv", units, **fmt)
        for name, table in planner.items():
            write_csv(table, st / name, units, **fmt)
        from despro.io import xlsx

        xlsx.write_workbook(result, st / "despro.xlsx", plan, lang, planner=planner)
        agree = agreement_table(result)
        (st / "data_quality.json").write_text(
            json.dumps(
                {"notes": result.notes.items, "agreement": agree.to_dict("records")},
                indent=2,
                default=float,
            ),
            encoding="utf-8",
        )
        man = manifest(result, names)
        (st / "data_quality.md").write_text(
            quality_markdown(
                result.notes.items,
                result.config.run.name,
                [(i["layer"], i["file"]) for i in man["inputs"]],
                agree,
                model,
            ),
            encoding="utf-8",
        )
        (st / "manifest.json").write_text(json.dumps(man, indent=2, default=str), encoding="utf-8")
    return {n: outdir / n for n in names}
