"""Online sellers and sales per village: the inputs of the ``taobao-monitoring`` profile.

A table with one row per village (CSV / XLSX / Parquet) and any of these columns:

* yearly **online sales**, in ``sales_unit``: ``RMB`` (as AliResearch counts), ``Rp``
  or ``juta Rp`` (million rupiah). Rupiah are converted to RMB at ``rp_per_rmb`` (Rp per
  RMB: the default, 2,200, is the 2024 average of about Rp 15,850 per USD over
  CNY 7.19 per USD, an **assumption**: set the rate of the sales' year). Variable
  ``online_sales_rmb`` (RMB per year), rule T1 (>= 10 million RMB);
* **active online shops** (a count): ``online_shops_active``, rule T2 (>= 100);
* **households selling online**, either as a count with the village's households
  (``households_selling_column`` / ``households_column``: a rate,
  ``pct_households_selling_online`` = 100 x selling / households, never above 100) or
  as a ready percentage (``pct_selling_column``; where a row has both, the count
  decides): rule T3 (>= 10 %).

A column left at its default name may be absent (that variable is then unknown); a
column named in the config must exist.

Each variable is known only where its column has a value (a blank cell stays unknown,
never 0: a cover per variable), so the profile's rules read the table where it has
answers and stay ``unknown`` elsewhere, and without this layer. Rows of villages not
in the run are noted and dropped; a village listed twice is an error naming both rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field

from despro.codes import normalise_codes
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import file_row, numeric_column, read_table, require_columns

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "sellers"
LEVEL = "village"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "penjual daring", "en": "online sellers"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = (
    "online_sales_rmb",
    "online_shops_active",
    "pct_households_selling_online",
)
#: Rp per million Rp
JUTA = 1e6
#: above this many RMB a year a village's sales are refused as a typo (100 billion)
MAX_SALES_RMB = 1e11


class SellersConfig(Model):
    """``[layers.sellers]``: a village table of online sales, shops and sellers."""

    table: Path
    code_column: str = Field("village_code", description="Kemendagri village code column")
    sales_column: str | None = Field("online_sales", description="yearly online sales")
    sales_unit: Literal["RMB", "Rp", "juta Rp"] = Field(
        "RMB", description="unit of the sales column: RMB, Rp or juta Rp (million Rp)"
    )
    rp_per_rmb: float = Field(
        2200.0,
        gt=0,
        description="Rp per RMB for sales in rupiah (assumption: ~2,200, the 2024 average "
        "of Rp 15,850 / USD over CNY 7.19 / USD; set the rate of the sales' year)",
    )
    shops_column: str | None = Field(
        "online_shops_active", description="active online shops in the village"
    )
    households_selling_column: str | None = Field(
        "households_selling_online", description="households selling online (a count)"
    )
    households_column: str | None = Field(
        "households", description="households of the village (the count's denominator)"
    )
    pct_selling_column: str | None = Field(
        "pct_households_selling_online",
        description="percent of households selling online (where the count is missing)",
    )
    vintage: str = "unknown"


Settings = SellersConfig

CHOROPLETHS: tuple[Choropleth, ...] = ()
LABELS: dict[str, dict[str, str]] = {"id": {}, "en": {}}


def variables(cfg: SellersConfig, source: str = "") -> list[Variable]:
    """The variables this layer yields (all at the village level)."""
    v = cfg.vintage
    unit_note = (
        "" if cfg.sales_unit == "RMB" else f" (read in {cfg.sales_unit}, {cfg.rp_per_rmb:g} Rp/RMB)"
    )
    return [
        Variable(
            "online_sales_rmb",
            Kind.COUNT,
            "RMB per year",
            "yearly online sales of the village's sellers" + unit_note,
            NAME,
            source,
            v,
            level="village",
        ),
        Variable(
            "online_shops_active",
            Kind.COUNT,
            "shops",
            "active online shops run from the village",
            NAME,
            source,
            v,
            level="village",
        ),
        Variable(
            "pct_households_selling_online",
            Kind.RATE,
            "percent",
            "households selling online / households of the village",
            NAME,
            source,
            v,
            level="village",
        ),
    ]


def _column(cfg: SellersConfig, key: str) -> str | None:
    name = getattr(cfg, key)
    return name or None


def read_sellers(cfg: SellersConfig, path: Path) -> pd.DataFrame:
    """The table with ``village_code``, ``sales_rmb``, ``shops``, ``selling``,
    ``households`` and ``pct`` (NaN where a column is absent or a cell blank)."""
    df = read_table(path, "sellers", dtype={cfg.code_column: str})
    cols = {
        k: _column(cfg, k)
        for k in (
            "sales_column",
            "shops_column",
            "households_selling_column",
            "households_column",
            "pct_selling_column",
        )
    }
    named = {k: c for k, c in cols.items() if c and (c in df.columns or k in cfg.model_fields_set)}
    require_columns(df, [cfg.code_column, *named.values()], path, "sellers")
    cols = {k: named.get(k) for k in cols}
    if not any(cols[k] for k in ("sales_column", "shops_column", "households_selling_column")) and (
        not cols["pct_selling_column"]
    ):
        raise InputError(
            "the sellers table has no column of sales, shops or households selling online",
            file=path,
            fix="name them with sales_column, shops_column, households_selling_column or "
            "pct_selling_column",
        )
    code = normalise_codes(df[cfg.code_column], path, cfg.code_column)
    dup = code.duplicated(keep=False)
    if dup.any():
        rows = [file_row(df, int(i)) for i in np.flatnonzero(dup.to_numpy())[:2]]
        raise InputError(
            f"village {code[dup].iloc[0]} is listed twice (rows {rows[0]} and {rows[1]})",
            file=path,
            row=rows[0],
            fix="one row per village: add up its sales and shops",
        )
    out = pd.DataFrame({"village_code": code.to_numpy()}, index=df.index)
    nan = np.full(len(df), np.nan)
    if cols["sales_column"]:
        hi = {"RMB": MAX_SALES_RMB, "Rp": MAX_SALES_RMB * cfg.rp_per_rmb}
        hi["juta Rp"] = hi["Rp"] / JUTA
        raw = numeric_column(
            df,
            cols["sales_column"],
            path,
            "sellers",
            lo=0,
            hi=hi[cfg.sales_unit],
            unit=cfg.sales_unit,
        )
        scale = {"RMB": 1.0, "Rp": 1.0 / cfg.rp_per_rmb, "juta Rp": JUTA / cfg.rp_per_rmb}
        out["sales_rmb"] = raw * scale[cfg.sales_unit]
    else:
        out["sales_rmb"] = nan
    for key, name in (("shops_column", "shops"), ("households_selling_column", "selling")):
        out[name] = (
            numeric_column(df, cols[key], path, "sellers", lo=0, whole=True, unit="count")
            if cols[key]
            else nan
        )
    out["households"] = (
        numeric_column(
            df, cols["households_column"], path, "sellers", lo=0, whole=True, unit="households"
        )
        if cols["households_column"]
        else nan
    )
    out["pct"] = (
        numeric_column(df, cols["pct_selling_column"], path, "sellers", lo=0, hi=100, unit="%")
        if cols["pct_selling_column"]
        else nan
    )
    over = out["selling"] > out["households"]
    if over.any():
        i = int(np.flatnonzero(over.to_numpy())[0])
        raise InputError(
            f"{int(out['selling'].iloc[i])} households selling online, more than the "
            f"village's {int(out['households'].iloc[i])} households",
            file=path,
            row=file_row(df, i),
            fix="check the two columns (a count of households, not of people or shops)",
        )
    return out


def read(
    cfg: SellersConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the sellers table; rows of villages not in the run are noted and
    dropped."""
    path = config.path(cfg.table)
    df = read_sellers(cfg, path)
    stray = sorted(set(df["village_code"]) - set(villages.index))
    if stray:
        notes.add(path, "unmatched", "village codes not among the villages of this run", stray)
        df = df[df["village_code"].isin(villages.index)]
    return LayerInputs([path], {"sellers": df})


def aggregate(inputs: LayerInputs, cfg: SellersConfig, study: Study, notes: Notes) -> LayerResult:
    """Per-village sales (RMB), shops and the share of households selling online; a
    cover per variable (known where the table has a value)."""
    vidx = study.village_index
    df = inputs["sellers"].set_index("village_code").reindex(vidx)
    sales = df["sales_rmb"].to_numpy(float)
    shops = df["shops"].to_numpy(float)
    pct = df["pct"].to_numpy(float)
    selling = df["selling"].to_numpy(float)
    hh = df["households"].to_numpy(float)
    from_count = ~np.isnan(selling) & (hh > 0)  # the count decides where both are given
    # a ready percentage is carried as num / den over 100 "households"
    num = np.where(from_count, selling, np.where(np.isnan(pct), 0.0, pct))
    den = np.where(from_count, hh, np.where(np.isnan(pct), 0.0, 100.0))
    table = pd.DataFrame(
        {
            "online_sales_rmb": np.nan_to_num(sales),
            "online_shops_active": np.nan_to_num(shops),
            "pct_households_selling_online__num": num,
            "pct_households_selling_online__den": den,
        },
        index=vidx,
    )
    cover = {
        "online_sales_rmb": pd.Series((~np.isnan(sales)).astype(float), index=vidx),
        "online_shops_active": pd.Series((~np.isnan(shops)).astype(float), index=vidx),
        "pct_households_selling_online": pd.Series((den > 0).astype(float), index=vidx),
    }
    return LayerResult(
        NAME, LEVEL, variables(cfg, ", ".join(map(str, inputs.files))), table, cover, inputs.files
    )
