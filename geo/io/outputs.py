"""Writers at the edge: every file is written to a temporary name, then renamed.

A run's files are first written into a staging folder inside the output folder;
only when all of them are complete are they moved into place (``os.replace``, atomic
per file on POSIX). A run that fails before that leaves the previous outputs as
they were.

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
from despro.io.quality import quality_markdown
from despro.rules import explain
from despro.rules.agreement import agreement

if TYPE_CHECKING:
    from despro.pipeline.runner import Result

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
                os.replace(f, dest)
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


def _gpkg_ready(gdf):
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        if pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].astype(object)
        elif out[c].dtype == np.uint64:
            out[c] = out[c].astype(np.int64)
    return out


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


def write_outputs(result: Result, outdir: Path | str) -> dict[str, Path]:
    """Write cells, villages, criteria, shortlist and manifest into ``outdir``.

    Every file is written to a staging folder first and moved into place only when all
    are written, so a failed run leaves the previous outputs as they were.

    Parameters
    ----------
    result : Result
        From :func:`despro.run`.
    outdir : path
        Output folder (created when missing).

    Returns
    -------
    dict of str to Path
        File name -> path of every file written.

    Files: ``cells.parquet`` (GeoParquet; ``h3`` string and ``h3_int``),
    ``villages.parquet`` and ``villages.gpkg`` (layer ``villages``, opens in QGIS),
    ``criteria.csv`` (one row per village and rule), ``shortlist.csv``, the planners'
    tables of :func:`planner_tables` (``one_fix_away.csv``, ``summary_province.csv``,
    ``summary_regency.csv``, ``data_needed.csv``),
    ``data_quality.json``, ``data_quality.md`` (the same notes as a readable page, see
    :mod:`despro.io.quality`) and ``manifest.json``.
    ``criteria.csv`` (one row per village and rule), ``shortlist.csv``,
    ``data_quality.json`` (``notes``: the data-quality notes; ``agreement``: observed
    vs modelled confusion counts, see :mod:`despro.rules.agreement`),
    ``data_quality.md`` (the same as a readable page, see :mod:`despro.io.quality`),
    ``model_validation.csv`` (only with ``[model] enabled``: leave-one-province-out AUC,
    Brier and calibration by decile, see :mod:`despro.model`) and ``manifest.json``.
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
        "data_quality.json",
        "data_quality.md",
        "manifest.json",
    ]
    model = getattr(result, "model", None)
    if model is not None:  # [model] enabled: leave-one-province-out validation
        names.insert(-1, "model_validation.csv")
    with staged(outdir) as st:
        if model is not None:
            csv_safe(model.validation).to_csv(st / "model_validation.csv", index=False)
        result.write_cells(st / "cells.parquet")
        result.villages.to_parquet(st / "villages.parquet", index=False)
        _gpkg_ready(result.villages).to_file(
            st / "villages.gpkg", layer="villages", driver="GPKG", engine="pyogrio"
        )
        csv_safe(result.criteria).to_csv(st / "criteria.csv", index=False)
        csv_safe(result.shortlist()).to_csv(st / "shortlist.csv", index=False)
        csv_safe(result.conflicts).to_csv(st / "conflicts.csv", index=False)
        for name, table in planner_tables(result.villages).items():
            csv_safe(table).to_csv(st / name, index=False)
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
