"""Village census (Podes style): observed village facts, the most trusted evidence.

Reads a census table (CSV / XLSX), one or several rows per village (Podes lists
one row per village and facility; the village columns repeat and must agree).
Village codes are Kemendagri codes, or BPS codes matched to Kemendagri through
:mod:`despro.layers._crosswalk` (names within parents) with every unmatched or
ambiguous row reported.

Each configured item becomes a ``count`` variable at evidence level ``census``:
1 when the village's code is one of the item's ``yes`` codes, 0 for ``no`` codes,
unknown when empty. Summed over villages it counts villages with the facility.
The default items are Podes 2024's courier agent (R1007C), 4G signal (R1005D) and
post office (R1007A); rules use them as alternative evidence for I3 and I1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from despro.aggregate.study import Study
from despro.config.settings import CensusConfig, Config
from despro.errors import InputError
from despro.layer import LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import numeric_column, read_table, require_columns
from ._podes import kemendagri_codes

NAME = "census"


def variables(cfg: CensusConfig, source: str = "") -> list[Variable]:
    """One indicator (count of villages, 0/1 per village) per configured item."""
    return [
        Variable(
            name,
            Kind.COUNT,
            "villages (0/1)",
            item.description or item.column,
            NAME,
            source,
            cfg.vintage,
            level="census",
        )
        for name, item in cfg.items.items()
    ]


def read(cfg: CensusConfig, config: Config, notes: Notes) -> pd.DataFrame:
    """Indicators (0/1, NaN unknown) per Kemendagri village code."""
    path = config.path(cfg.table)
    df = read_table(path, "census", dtype=str)
    require_columns(df, [cfg.code_column, *(i.column for i in cfg.items.values())], path, "census")
    first = ~df[cfg.code_column].duplicated()
    # several rows per village (one per facility): the village columns must agree
    cols = [i.column for i in cfg.items.values()]
    per_village = df.groupby(cfg.code_column)[cols].nunique(dropna=False)
    clash = per_village[(per_village > 1).any(axis=1)]
    if len(clash):
        raise InputError(
            f"village {clash.index[0]} has different values of "
            f"{list(clash.columns[(clash.iloc[0] > 1).to_numpy()])} on its rows",
            file=path,
            fix="keep one value per village for census items",
        )
    df = df[first].reset_index(drop=True)
    codes = kemendagri_codes(cfg, df, config, notes, path, "census", "layers.census")
    out = pd.DataFrame(index=pd.Index(codes.to_numpy(), name="village_code"))
    for name, item in cfg.items.items():
        v = numeric_column(df, item.column, path, "census")
        known = ~np.isnan(v)
        odd = known & ~np.isin(v, item.yes + item.no)
        if odd.any():
            i = int(np.flatnonzero(odd)[0])
            raise InputError(
                f"census item {item.column} has code {v[i]:g}, not among the "
                f"declared yes {item.yes} / no {item.no}",
                file=path,
                row=i + 2,
                fix=f"declare its meaning in layers.census.items.{name}",
            )
        out[name] = np.where(known, np.isin(v, item.yes).astype(float), np.nan)
    out = out[out.index.notna()]
    dup = out.index.duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"two census rows map to village {out.index[dup][0]}",
            file=path,
            fix="check the codes / names of those rows",
        )
    return out


def build(cfg: CensusConfig, study: Study, config: Config, notes: Notes) -> LayerResult:
    """Census indicators for the villages of the run (unknown for villages not censused)."""
    path = config.path(cfg.table)
    obs = read(cfg, config, notes)
    vidx = study.village_index
    stray = sorted(set(obs.index) - set(vidx))
    if stray:
        notes.add(
            path, "unmatched", "census villages not among the villages of this run", rows=stray
        )
    table = obs.reindex(vidx)
    cover = pd.Series(table.notna().any(axis=1).astype(float).to_numpy(), index=vidx)
    table = table.fillna(0.0)  # unknown rows have cover 0: their counts finish as NaN
    return LayerResult(NAME, "village", variables(cfg, str(path)), table, cover, [path])
