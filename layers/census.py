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

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import read_table, require_columns
from ._podes import PodesCodes, code_strings, kemendagri_codes

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "census"
LEVEL = "village"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "sensus desa (Podes)", "en": "village census (Podes)"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = ()


Code = int | str


class CensusItem(Model):
    """One census item turned into a village indicator (1 present / 0 absent).

    The item's codes are declared, not guessed: ``yes`` codes make the indicator 1,
    ``no`` codes make it 0, ``recorded`` codes are valid answers that decide nothing
    (the indicator stays unknown, so the rule falls to weaker evidence), ``blank``
    codes mean "not answered" (as an empty cell), any other code is an error.
    Codes are compared as text (``1``, ``"1"`` and ``"1.0"`` are the same code).
    """

    column: str
    yes: list[Code] = [1]
    no: list[Code] = [2, 3, 4]
    recorded: list[Code] = []
    blank: list[Code] = []
    description: str = ""

    @model_validator(mode="after")
    def _decides_something(self) -> CensusItem:
        if not self.yes and not self.no:
            raise ValueError(f"item {self.column} has neither yes nor no codes: it decides nothing")
        return self


#: items whose absence in the village does not disprove the rule they feed: a
#: courier agent *in* the village proves I3 passes, but couriers also serve villages
#: from outside, so "no agent here" must never decide I3 = fail
PRESENCE_ONLY = {
    "census_courier_agent": "a courier agent's absence in the village does not disprove "
    "courier service (couriers serve villages from outside)",
}


def _podes_items() -> dict[str, CensusItem]:
    # Podes 2024 codes (see the data dictionary): 1 = operating ... 4 = none
    return {
        "census_courier_agent": CensusItem(
            column="R1007C",
            no=[],
            recorded=[2, 3, 4],
            description="private courier / expedition agent operating in the village "
            "(R1007C: 1 operating proves I3; 2 rarely, 3 not operating, 4 none are "
            "recorded but decide nothing)",
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


_YEAR = re.compile(r"(19|20)\d\d")


class CensusSource(PodesCodes):
    """One census table (one Podes round, one village-signal file) and its items."""

    table: Path
    vintage: str = "unknown"
    year: int | None = Field(
        None,
        description="year the source observed (the newer source decides); default: "
        "the first year written in 'vintage'",
    )
    year_column: str | None = Field(
        None, description="column of each row's year, for a table with several years"
    )
    items: dict[str, CensusItem] = Field(default_factory=_podes_items)

    @model_validator(mode="after")
    def _presence_only(self) -> CensusSource:
        for name, why in PRESENCE_ONLY.items():
            item = self.items.get(name)
            if item is not None and item.no:
                raise ValueError(
                    f"items.{name} declares no codes {item.no}, but {why}; "
                    f"fix: move them to items.{name}.recorded"
                )
        return self

    def observed_year(self) -> int | None:
        """The year this source observed (``year``, else the first in ``vintage``)."""
        if self.year is not None:
            return self.year
        m = _YEAR.search(self.vintage)
        return int(m.group()) if m else None


class CensusConfig(Model):
    """Village censuses (Podes style): observed facts per village, the most trusted evidence.

    Several sources (``[[layers.census.sources]]``); the single-table form
    (``table``, ``code_column``, ``items``, ... directly under ``[layers.census]``)
    is read as one source.
    """

    sources: list[CensusSource]

    @model_validator(mode="before")
    @classmethod
    def _single_table(cls, data: Any) -> Any:
        if isinstance(data, dict) and "table" in data:
            if "sources" in data:
                raise ValueError("give either 'table' or 'sources', not both")
            return {"sources": [data]}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> CensusConfig:
        if not self.sources:
            raise ValueError("no census source: add [[layers.census.sources]]")
        return self


Settings = CensusConfig

#: census items are rule evidence, not map layers
CHOROPLETHS: tuple[Choropleth, ...] = ()
LABELS: dict[str, dict[str, str]] = {"id": {}, "en": {}}


def variables(cfg: CensusConfig, source: str = "") -> list[Variable]:
    """One indicator (count of villages, 0/1 per village) per item of any source.

    ``source`` is the census files joined by "; "; the vintage joins every source's.
    """
    out: dict[str, list] = {}
    for src in cfg.sources:
        for name, item in src.items.items():
            out.setdefault(name, []).append((src, item))
    return [
        Variable(
            name,
            Kind.COUNT,
            "villages (0/1)",
            " | ".join(dict.fromkeys(i.description or i.column for _, i in pairs)),
            NAME,
            source,
            "; ".join(dict.fromkeys(s.vintage for s, _ in pairs)),
            level="census",
        )
        for name, pairs in out.items()
    ]


def _codes_text(v: pd.Series) -> pd.Series:
    """Census answers as text: stripped, integral numbers without ``.0``, blank -> NA."""
    s = v.astype("string").str.strip()
    s = s.mask(s.str.fullmatch(r"-?\d+\.0+").fillna(False), s.str.replace(r"\.0+$", "", regex=True))
    return s.replace({"": pd.NA, "nan": pd.NA, "NA": pd.NA})


def _items_long(
    src: CensusSource, config: Config, notes: Notes, key: str, alone: bool = True
) -> pd.DataFrame:
    """One source as rows ``village_code, year, item, value`` (value NaN: answered, decides
    nothing); unanswered items have no row."""
    path = config.path(src.table)
    df = read_table(path, "census", dtype=str)
    cols = [i.column for i in src.items.values()]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"census source lacks the declared item column(s) {missing} "
            f"(Podes item numbers change between rounds); it has {list(df.columns)[:20]}",
            file=path,
            fix=f"declare this round's columns in {key}.items",
        )
    if src.year_column:
        require_columns(df, [src.year_column], path, "census")
        year = pd.to_numeric(df[src.year_column], errors="coerce")
        if year.isna().any() or (year % 1 != 0).any():
            i = int(np.flatnonzero((year.isna() | (year % 1 != 0)).to_numpy())[0])
            raise InputError(
                f"census year '{df[src.year_column].iloc[i]}' is not a year",
                file=path,
                row=i + 2,
                fix=f"write whole years in {src.year_column}",
            )
        year = year.astype(int)
    else:
        y = src.observed_year()
        if y is None and not alone:
            raise InputError(
                f"census source {path.name}: no year in vintage '{src.vintage}'",
                file=config.source_file,
                fix=f"set {key}.year (the newer source decides where sources overlap)",
            )
        year = pd.Series(y or 0, index=df.index)
    codes = kemendagri_codes(src, df, config, notes, path, "census", key)
    raw = code_strings(src, df, path)
    frames = []
    for name, item in src.items.items():
        v = _codes_text(df[item.column])
        yes, no, rec, blank = (
            {str(c) for c in lst} for lst in (item.yes, item.no, item.recorded, item.blank)
        )
        odd = v.notna() & ~v.isin(yes | no | rec | blank)
        if odd.any():
            i = int(np.flatnonzero(odd.to_numpy())[0])
            raise InputError(
                f"census item {item.column} has code {v.iloc[i]}, not among the "
                f"declared yes {item.yes} / no {item.no} / recorded {item.recorded} "
                f"/ blank {item.blank} ({int(odd.sum())} such rows)",
                file=path,
                row=i + 2,
                fix=f"declare its meaning in {key}.items.{name}",
            )
        for codes_, label in ((blank, "blank (not answered)"), (rec, "recorded, deciding nothing")):
            hit = v.isin(codes_) if codes_ else pd.Series(False, index=v.index)
            if hit.any():
                why = PRESENCE_ONLY.get(name, "")
                notes.add(
                    path,
                    "warning",
                    f"census item {item.column} ({name}): {int(hit.sum())} rows with codes "
                    f"{sorted(set(v[hit]))} are {label}"
                    + (f": {why}" if why and codes_ is rec else "")
                    + "; the rule falls to weaker evidence or stays unknown (file rows listed)",
                    rows=(np.flatnonzero(hit.to_numpy()) + 2).tolist(),
                )
        answered = v.notna() & ~v.isin(blank)
        value = np.where(v.isin(yes), 1.0, np.where(v.isin(no), 0.0, np.nan))
        frames.append(
            pd.DataFrame(
                {
                    "village_code": codes.to_numpy(),
                    "year": year.to_numpy(),
                    "item": name,
                    "value": value,
                    "row": np.arange(len(df)) + 2,
                    "bps": raw.to_numpy(),
                }
            )[answered.to_numpy() & codes.notna().to_numpy()]
        )
    out = pd.concat(frames, ignore_index=True)
    # several rows per village and year (one per facility): the answers must agree
    # values are 1, 0 or NaN: NaN as -1, so "answered, decides nothing" counts as an answer
    answer = out["value"].fillna(-1.0).rename("answer")
    clash = answer.groupby([out["bps"], out["year"], out["item"]]).transform("nunique") > 1
    if clash.any():
        r = out[clash].iloc[0]
        raise InputError(
            f"village {r['bps']} has different answers to {r['item']} for {r['year']} on its rows",
            file=path,
            row=int(r["row"]),
            fix="keep one value per village for census items",
        )
    out = out.drop_duplicates(["bps", "year", "item"])
    # two census villages matched to one village of the run: neither is trusted
    two = out.groupby(["village_code", "year"])["bps"].transform("nunique") > 1
    if two.any():
        d = out[two].drop_duplicates(["village_code", "bps"])
        notes.add(
            path,
            "unmatched",
            f"census rows of {d['bps'].nunique()} codes map to {d['village_code'].nunique()} "
            "villages shared with another row; dropped, the villages stay unknown "
            "(rows: file row, code -> village); fix: check those codes / names",
            rows=[f"row {r.row}, {r.bps} -> {r.village_code}" for r in d.itertuples()],
        )
        out = out[~two]
    return out.drop(columns=["bps", "row"]).assign(source=path.name)


def newest_answers(long: pd.DataFrame, notes: Notes) -> pd.DataFrame:
    """Per village and item, the newest answer decides; older answers that differ are noted.

    Parameters
    ----------
    long : DataFrame
        ``village_code, year, item, value, source`` (value 0/1, NaN: answered but
        deciding nothing), from every source.

    Returns
    -------
    DataFrame
        One column per item, indexed by village code: 0/1, NaN where unknown.
    """
    long = long.sort_values(["village_code", "item", "year"], kind="stable")
    newest = long.drop_duplicates(["village_code", "item"], keep="last")
    older = long.merge(
        newest[["village_code", "item", "year", "value", "source"]],
        on=["village_code", "item"],
        suffixes=("", "_new"),
    )
    differ = (older["year"] < older["year_new"]) & (
        older["value"].fillna(-1) != older["value_new"].fillna(-1)
    )
    if differ.any():
        d = older[differ]
        for (item, src, src_new), grp in d.groupby(["item", "source", "source_new"]):
            notes.add(
                src,
                "warning",
                f"census {item}: {grp['village_code'].nunique()} villages where "
                + (
                    f"a newer year of {src} disagrees with an older one"
                    if src == src_new
                    else f"the newer {src_new} disagrees with {src}"
                )
                + "; the newer decides (rows: village: older year answer -> newer year "
                "answer); fix: none needed, check the older source if in doubt",
                rows=[
                    f"{r.village_code}: {r.year} {_answer(r.value)} -> {r.year_new} "
                    f"{_answer(r.value_new)}"
                    for r in grp.itertuples()
                ],
            )
    return newest.pivot(index="village_code", columns="item", values="value")


def _answer(v: float) -> str:
    return "unknown" if np.isnan(v) else ("yes" if v == 1 else "no")


def read_table_items(cfg: CensusConfig, config: Config, notes: Notes) -> pd.DataFrame:
    """Indicators (0/1, NaN unknown) per Kemendagri village code, newest source first."""
    many = len(cfg.sources) > 1
    long = pd.concat(
        [
            _items_long(
                s,
                config,
                notes,
                f"layers.census.sources[{i}]" if many else "layers.census",
                not many,
            )
            for i, s in enumerate(cfg.sources)
        ],
        ignore_index=True,
    )
    names = list(dict.fromkeys(n for s in cfg.sources for n in s.items))
    out = newest_answers(long, notes).reindex(columns=names)
    out.index.name = "village_code"
    out.columns.name = None
    return out


def read(
    cfg: CensusConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the census tables; note the villages that are not in this run.

    Returns
    -------
    LayerInputs
        ``observed``: indicators (0/1, NaN unknown) per Kemendagri village code.
    """
    paths = [config.path(s.table) for s in cfg.sources]
    obs = read_table_items(cfg, config, notes)
    stray = sorted(set(obs.index) - set(villages.index))
    if stray:
        notes.add(
            paths[0] if len(paths) == 1 else "; ".join(p.name for p in paths),
            "unmatched",
            "census villages not among the villages of this run",
            rows=stray,
        )
    return LayerInputs(paths, {"observed": obs})


def aggregate(inputs: LayerInputs, cfg: CensusConfig, study: Study, notes: Notes) -> LayerResult:
    """Census indicators for the villages of the run (unknown for villages not censused)."""
    vidx = study.village_index
    table = inputs["observed"].reindex(vidx)
    # each item its own cover: a row answering R1005D but not R1007C leaves the
    # courier agent unknown (cover 0), never a census "no"
    cover = table.notna().astype(float)
    table = table.fillna(0.0)  # unknown items have cover 0: their counts finish as NaN
    source = "; ".join(str(p) for p in inputs.files)
    return LayerResult(NAME, LEVEL, variables(cfg, source), table, cover, list(inputs.files))
