"""Village census (Podes style): observed village facts, the most trusted evidence.

Reads a census table (CSV / XLSX), one or several rows per village (Podes lists
one row per village and facility; the village columns repeat and must agree).
Village codes are Kemendagri codes, or BPS codes matched to Kemendagri through
:mod:`despro.layers._crosswalk` (names within parents) with every unmatched or
ambiguous row reported.

Each configured item becomes a ``count`` variable at evidence level ``census``:
1 when the village's code is one of the item's ``yes`` codes, 0 for ``no`` codes,
unknown when empty. Summed over villages it counts villages with the facility.
Each item has its own cover (``census__cover__<item>``, see :mod:`despro.variables`):
a row that answers one item and leaves another blank makes only the answered one
known, so a blank never becomes a census "no"; ``census__cover`` says that the
village has a census row.
The default items are Podes 2024's courier agent (R1007C), 4G signal (R1005D) and
post office (R1007A); rules use them as alternative evidence for I3 and I1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field

from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import numeric_column, read_table, require_columns
from ._podes import PodesCodes, kemendagri_codes

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "census"
LEVEL = "village"


class CensusItem(Model):
    """One census item turned into a village indicator (1 present / 0 absent).

    The item's codes are declared, not guessed: ``yes`` codes make the indicator 1,
    ``no`` codes make it 0, an empty cell is unknown, any other code is an error.
    """

    column: str
    yes: list[int] = [1]
    no: list[int] = [2, 3, 4]
    description: str = ""


def _podes_items() -> dict[str, CensusItem]:
    # Podes 2024 codes (see the data dictionary): 1 = operating ... 4 = none
    return {
        "census_courier_agent": CensusItem(
            column="R1007C",
            description="private courier / expedition agent operating "
            "(R1007C: 1 operating; 2 rarely, 3 not operating, 4 none count as absent)",
        ),
        "census_signal_4g": CensusItem(
            column="R1005D",
            description="4G/LTE/5G mobile internet signal in most of the "
            "village (R1005D: 1 = 4G/5G; 2 = 3G, 3 = 2.5G, 4 = none count as absent)",
        ),
        "census_post_office": CensusItem(
            column="R1007A", description="post office operating (R1007A: 1 operating)"
        ),
    }


class CensusConfig(PodesCodes):
    """Village census (Podes style): observed facts per village, the most trusted evidence."""

    table: Path
    vintage: str = "unknown"
    items: dict[str, CensusItem] = Field(default_factory=_podes_items)


Settings = CensusConfig

#: census items are rule evidence, not map layers
CHOROPLETHS: tuple[Choropleth, ...] = ()
LABELS: dict[str, dict[str, str]] = {"id": {}, "en": {}}


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


def read_table_items(cfg: CensusConfig, config: Config, notes: Notes) -> pd.DataFrame:
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


def read(
    cfg: CensusConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the census table; note the villages that are not in this run.

    Returns
    -------
    LayerInputs
        ``observed``: indicators (0/1, NaN unknown) per Kemendagri village code.
    """
    path = config.path(cfg.table)
    obs = read_table_items(cfg, config, notes)
    stray = sorted(set(obs.index) - set(villages.index))
    if stray:
        notes.add(
            path, "unmatched", "census villages not among the villages of this run", rows=stray
        )
    return LayerInputs([path], {"observed": obs})


def aggregate(inputs: LayerInputs, cfg: CensusConfig, study: Study, notes: Notes) -> LayerResult:
    """Census indicators for the villages of the run (unknown for villages not censused)."""
    vidx = study.village_index
    table = inputs["observed"].reindex(vidx)
    # each item its own cover: a row answering R1005D but not R1007C leaves the
    # courier agent unknown (cover 0), never a census "no"
    cover = table.notna().astype(float)
    table = table.fillna(0.0)  # unknown items have cover 0: their counts finish as NaN
    path = inputs.files[0]
    return LayerResult(NAME, LEVEL, variables(cfg, str(path)), table, cover, [path])
