"""Product potential: each village's products, their category, demand growth and distinctiveness.

Reads
    * a products table (CSV / XLSX), one row per village and product:
      ``village_code`` (10 digits, dots allowed), ``product``, ``category``,
      ``enterprises`` (small industries producing it, a count), ``flagship``
      (true for the village's flagship product, one per village) and
      ``distinctiveness`` (0-1 score, or a yes / no flag);
    * a category table: ``category``, ``demand_growth_pct`` (yearly growth of online
      demand, percent), optional ``label_id`` / ``label_en``.

Yields (per village; cells receive them through the overlap weights)
    ``product_enterprises`` (category: enterprises per product category),
    ``product_demand_growth_pct`` and ``product_distinctiveness`` (intensive,
    weighted by the flagship's enterprises), and derived after aggregation
    ``product_location_quotient`` for P1:

        LQ = (e[v, f] / E[v]) / (E[f] / E)

    with f the village's flagship category, e enterprises, and the reference E
    all villages of the run. LQ >= 1 means the village is at least as specialised
    in its flagship category as the study area (comparative advantage, P1).
Villages without any product row stay unknown on P1-P3.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from despro.codes import normalise_codes
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import numeric_column, read_table, require_columns
from ._podes import PodesCodes, industry_categories, kemendagri_codes, products_from_podes

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "products"
LEVEL = "village"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "produk", "en": "product"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = (
    "product_location_quotient",
    "product_demand_growth_pct",
    "product_distinctiveness",
)


class ProductsConfig(Model):
    """Village products: a products table plus a category table, or a Podes table.

    ``format = "table"``: ``table`` lists products per village and ``categories`` the
    category table (demand growth). ``format = "podes"``: ``table`` is a Podes file
    with the small-industry counts R1201A1-A16 and the flagship questions R1203A/B1/B2
    (see :mod:`despro.layers.products`); ``categories`` is optional there and, when
    given, supplies demand growth for the Podes industry groups.
    """

    table: Path
    categories: Path | None = None
    format: Literal["table", "podes"] = "table"
    podes: PodesCodes = Field(
        default_factory=PodesCodes, description="village codes of a Podes table (format = 'podes')"
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto",
        description="decimal mark of the products and category tables' numbers written "
        "as text: ',' (Indonesian "
        "1.234,5), '.' (1,234.5) or 'auto' (decided per column by its unambiguous "
        "values, else by its range; never guessed: see despro.layers._numbers)",
    )
    vintage: str = "unknown"

    @model_validator(mode="after")
    def _categories_for_tables(self):
        if self.format == "table" and self.categories is None:
            raise ValueError(
                "a products table needs 'categories' (the category table with "
                "demand_growth_pct); or set format = 'podes' for a Podes file"
            )
        return self


Settings = ProductsConfig

CHOROPLETHS = (
    Choropleth(
        "product_enterprises",
        "product_enterprises",
        "enterprises",
        (1, 5, 20, 50),
        digits=0,
        position=90,
    ),
    Choropleth(
        "product_demand_growth_pct",
        "product_demand_growth_pct",
        "percent per year",
        (0, 5, 10, 20, 30),
        position=100,
    ),
    Choropleth(
        "product_distinctiveness",
        "product_distinctiveness",
        "score 0-1",
        (0.25, 0.5, 0.75),
        digits=2,
        position=110,
    ),
)
LABELS = {
    "id": {
        "product_enterprises": "Potensi produk: usaha produk unggulan",
        "product_demand_growth_pct": "Potensi produk: pertumbuhan permintaan daring",
        "product_distinctiveness": "Potensi produk: kekhasan",
    },
    "en": {
        "product_enterprises": "Product potential: flagship enterprises",
        "product_demand_growth_pct": "Product potential: online demand growth",
        "product_distinctiveness": "Product potential: distinctiveness",
    },
}
TRUE = {"true", "1", "yes", "ya", "y", "t"}
FALSE = {"false", "0", "no", "tidak", "n", "f", ""}


def variables(cfg: ProductsConfig, categories: tuple[str, ...], source: str = "") -> list[Variable]:
    """The variables this layer yields."""
    v = cfg.vintage
    return [
        Variable(
            "product_enterprises",
            Kind.CATEGORY,
            "enterprises",
            "small enterprises per product category",
            NAME,
            source,
            v,
            categories,
            level="village",
        ),
        Variable(
            "product_demand_growth_pct",
            Kind.INTENSIVE,
            "percent per year",
            "online demand growth of the flagship category, weighted by its enterprises",
            NAME,
            source,
            v,
            level="village",
        ),
        Variable(
            "product_distinctiveness",
            Kind.INTENSIVE,
            "score 0-1",
            "distinctiveness of the flagship product, weighted by its enterprises",
            NAME,
            source,
            v,
            level="village",
        ),
    ]


def _flag(values: pd.Series, path, col: str) -> np.ndarray:
    s = values.astype("string").str.strip().str.lower().fillna("")
    bad = ~s.isin(TRUE | FALSE)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"column '{col}' value {values.iloc[i]!r} is not true/false",
            file=path,
            row=i + 2,
            fix="use true / false",
        )
    return s.isin(TRUE).to_numpy()


#: declared ranges: a market shrinks at most 100 % a year; no village has a million workshops
GROWTH_RANGE = (-100.0, 10_000.0)
MAX_ENTERPRISES = 1_000_000
#: the config key declaring the tables' decimal mark
DECIMAL_KEY = "layers.products.decimal"


def read_categories(path: Path, notes: Notes, decimal: str = "auto") -> pd.DataFrame:
    """Category table indexed by category code (``decimal``: the declared decimal mark)."""
    df = read_table(path, "product categories", dtype={"category": str})
    require_columns(df, ["category", "demand_growth_pct"], path, "product categories")
    df["demand_growth_pct"] = numeric_column(
        df,
        "demand_growth_pct",
        path,
        "product categories",
        lo=GROWTH_RANGE[0],
        hi=GROWTH_RANGE[1],
        unit="percent per year",
        decimal=decimal,
        decimal_key=DECIMAL_KEY,
    )
    dup = df["category"].duplicated()
    if dup.any():
        raise InputError(
            f"category {df['category'][dup].iloc[0]!r} listed twice",
            file=path,
            row=int(np.flatnonzero(dup.to_numpy())[0]) + 2,
            fix="one row per category",
        )
    return df.set_index("category")


def read_products(
    path: Path, categories: pd.DataFrame, notes: Notes, decimal: str = "auto"
) -> pd.DataFrame:
    """Validated product rows with a 10-digit ``village_code`` (``decimal``: declared mark)."""
    df = read_table(path, "products", dtype={"village_code": str})
    require_columns(
        df,
        ["village_code", "product", "category", "enterprises", "flagship", "distinctiveness"],
        path,
        "products",
    )
    df["village_code"] = normalise_codes(df["village_code"], path, "village_code").to_numpy()
    return validate_products(df, categories, notes, path, decimal)


def read_podes(
    cfg: ProductsConfig, config: Config, notes: Notes
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(products, categories) from a Podes table (``format = "podes"``).

    Categories are the Podes industry groups; a category table, when configured,
    supplies their demand growth (unknown otherwise, so P2 stays unknown).
    """
    path = config.path(cfg.table)
    raw = read_table(path, "Podes products", dtype=str)
    require_columns(raw, [cfg.podes.code_column], path, "Podes products")
    # Podes master files repeat the village columns on one row per facility
    raw = raw.drop_duplicates(subset=[cfg.podes.code_column]).reset_index(drop=True)
    codes = kemendagri_codes(
        cfg.podes, raw, config, notes, path, "Podes products", "layers.products.podes"
    )
    cats = industry_categories()
    if cfg.categories is not None:
        cpath = config.path(cfg.categories)
        given = read_categories(cpath, notes, cfg.decimal)
        extra = sorted(set(given.index) - set(cats.index))
        if extra:
            raise InputError(
                f"categories {extra} are not Podes industry groups ({sorted(cats.index)})",
                file=cpath,
                fix="use the Podes group ids listed",
            )
        cats.loc[given.index, "demand_growth_pct"] = given["demand_growth_pct"]
    df = products_from_podes(raw, codes, path)
    notes.add(
        path,
        "warning",
        "flagship category = the village's largest small-industry "
        "group (Podes R1201); distinctiveness = a declared flagship product (R1203A)"
        + ("" if cfg.categories else "; no category table: demand growth (P2) unknown"),
        rows=[],
    )
    return validate_products(df, cats, notes, path), cats


def validate_products(
    df: pd.DataFrame, categories: pd.DataFrame, notes: Notes, path: Path, decimal: str = "auto"
) -> pd.DataFrame:
    """Check and normalise product rows (categories known, counts >= 0, one flagship)."""
    df["enterprises"] = numeric_column(
        df,
        "enterprises",
        path,
        "products",
        allow_missing=False,
        lo=0,
        hi=MAX_ENTERPRISES,
        whole=True,
        unit="enterprises",
        decimal=decimal,
        decimal_key=DECIMAL_KEY,
    )
    unknown = ~df["category"].isin(categories.index)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(
            f"category {df['category'].iloc[i]!r} is not in the category table "
            f"({sorted(categories.index)})",
            file=path,
            row=i + 2,
            fix="add it to the category table or correct the spelling",
        )
    df["flagship"] = _flag(df["flagship"], path, "flagship")
    d = df["distinctiveness"].astype("string").str.strip().str.lower()
    flag = d.isin((TRUE | FALSE) - {""}).to_numpy()
    score = numeric_column(
        df.assign(distinctiveness=d.where(~flag, "0")),
        "distinctiveness",
        path,
        "products",
        lo=0,
        hi=1,
        decimal=decimal,
        decimal_key=DECIMAL_KEY,
    )
    df["distinctiveness"] = np.where(flag, d.isin(TRUE).to_numpy().astype(float), score)
    out_of_range = (df["distinctiveness"] < 0) | (df["distinctiveness"] > 1)
    if out_of_range.any():
        i = int(np.flatnonzero(out_of_range.to_numpy())[0])
        raise InputError(
            f"distinctiveness {df['distinctiveness'].iloc[i]} outside 0-1",
            file=path,
            row=i + 2,
            fix="use a 0-1 score or true / false",
        )
    n_flag = df.groupby("village_code")["flagship"].sum()
    many = n_flag[n_flag > 1]
    if len(many):
        raise InputError(
            f"village {many.index[0]} has {int(many.iloc[0])} flagship products",
            file=path,
            fix="mark exactly one product per village as flagship",
        )
    none = n_flag[n_flag == 0].index
    if len(none):
        # the village's largest product by enterprises becomes its flagship
        sub = df[df["village_code"].isin(none)]
        top = sub.sort_values("enterprises", ascending=False).drop_duplicates("village_code")
        df.loc[top.index, "flagship"] = True
        notes.add(
            path,
            "repaired",
            "no flagship marked; the largest product (by enterprises) was taken",
            rows=list(none),
        )
    return df


def read(
    cfg: ProductsConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the products and categories; rows of villages not in the run are noted
    and dropped (``products``: product rows, ``categories``: the category table)."""
    ppath = config.path(cfg.table)
    if cfg.format == "podes":
        df, cats = read_podes(cfg, config, notes)
        files = [ppath] + ([config.path(cfg.categories)] if cfg.categories else [])
    else:
        cpath = config.path(cfg.categories)
        cats = read_categories(cpath, notes, cfg.decimal)
        df = read_products(ppath, cats, notes, cfg.decimal)
        files = [ppath, cpath]
    vidx = villages.index
    stray = sorted(set(df["village_code"]) - set(vidx))
    if stray:
        notes.add(
            ppath, "unmatched", "village codes not among the villages of this run", rows=stray
        )
        df = df[df["village_code"].isin(vidx)]
    return LayerInputs(files, {"products": df, "categories": cats})


def aggregate(inputs: LayerInputs, cfg: ProductsConfig, study: Study, notes: Notes) -> LayerResult:
    """Per-village product variables and flagship attributes."""
    df, cats, inputs = inputs["products"], inputs["categories"], list(inputs.files)
    vidx = study.village_index
    classes = tuple(sorted(cats.index))
    ent = (
        df.pivot_table(
            index="village_code", columns="category", values="enterprises", aggfunc="sum"
        )
        .reindex(index=vidx, columns=list(classes))
        .fillna(0.0)
    )
    table = ent.set_axis([f"product_enterprises__{c}" for c in classes], axis=1)
    flag = df[df["flagship"]].set_index("village_code").reindex(vidx)
    w = flag["enterprises"].fillna(0.0).to_numpy()
    growth = cats["demand_growth_pct"].reindex(flag["category"]).to_numpy(float)
    has_g = ~np.isnan(growth)
    has_d = ~np.isnan(flag["distinctiveness"].to_numpy(float))
    table["product_demand_growth_pct__wsum"] = np.where(has_g, np.nan_to_num(growth) * w, 0.0)
    table["product_demand_growth_pct__w"] = np.where(has_g, w, 0.0)
    dist = flag["distinctiveness"].to_numpy(float)
    table["product_distinctiveness__wsum"] = np.where(has_d, np.nan_to_num(dist) * w, 0.0)
    table["product_distinctiveness__w"] = np.where(has_d, w, 0.0)
    table.index = vidx
    labels = cats.get("label_en", pd.Series(cats.index, index=cats.index))
    labels_id = cats.get("label_id", labels)  # the map shows categories in its language
    attrs = pd.DataFrame(
        {
            "flagship_product": flag["product"].astype("string").to_numpy(),
            "flagship_category": flag["category"].astype("string").to_numpy(),
            "flagship_category_label": labels.reindex(flag["category"]).astype("string").to_numpy(),
            "flagship_category_label_id": labels_id.reindex(flag["category"])
            .astype("string")
            .to_numpy(),
        },
        index=vidx,
    )
    # the table lists the village: its enterprise counts are known (the only variable
    # the cover decides; growth and distinctiveness carry their own weights), whatever
    # the flagship row says (a blank product name must not make the counts unknown)
    cover = pd.Series(vidx.isin(df["village_code"]).astype(float), index=vidx)
    return LayerResult(
        NAME,
        LEVEL,
        variables(cfg, classes, ", ".join(map(str, inputs))),
        table,
        cover,
        inputs,
        attributes=attrs,
    )


def derive(
    values: pd.DataFrame, additive: pd.DataFrame, attributes: pd.DataFrame, layer: LayerResult
) -> tuple[pd.DataFrame, list[Variable]]:
    """Location quotient of each village's flagship category (P1), NaN where unknown."""
    cols = [c for c in additive.columns if c.startswith("product_enterprises__")]
    ent = additive[cols].to_numpy(float)
    classes = [c.removeprefix("product_enterprises__") for c in cols]
    e_v = ent.sum(axis=1)
    e_f_total = ent.sum(axis=0)
    total = e_f_total.sum()
    flag = attributes["flagship_category"].reindex(values.index)
    pos = pd.Series(range(len(classes)), index=classes).reindex(flag).to_numpy()
    lq = np.full(len(values), np.nan)
    ok = ~np.isnan(pos) & (e_v > 0) & (total > 0)
    j = pos[ok].astype(int)
    rows = np.flatnonzero(ok)
    with np.errstate(divide="ignore", invalid="ignore"):
        lq[ok] = (ent[rows, j] / e_v[ok]) / (e_f_total[j] / total)
    src = layer.variables[0]
    decl = Variable(
        "product_location_quotient",
        Kind.INTENSIVE,
        "ratio",
        "share of the village's enterprises in its flagship category / the same "
        "share over all villages of the run",
        NAME,
        src.source,
        src.vintage,
        level=src.level,
    )
    return pd.DataFrame({"product_location_quotient": lq}, index=values.index), [decl]
