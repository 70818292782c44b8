"""Podes (Potensi Desa, BPS village census) tables: village codes and small industry.

Podes rows carry BPS village codes (``IDDESA``); BPS and Kemendagri number some
districts differently, so BPS codes are matched to Kemendagri codes by names
within parents (:mod:`despro.layers._crosswalk`), every unmatched or ambiguous row
reported. Used by the census layer (facility items) and the products layer
(small-industry counts and flagship products).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from despro.codes import normalise_codes
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Notes
from despro.layers._crosswalk import bps_villages_to_kemendagri, kemendagri_units

from ._io import numeric_column, read_table, require_columns

if TYPE_CHECKING:  # pragma: no cover
    from despro.config.settings import Config


class PodesCodes(Model):
    """How the village rows of a Podes-style table find their Kemendagri village."""

    code_column: str = "IDDESA"
    code_system: Literal["kemendagri", "bps"] = Field(
        "bps",
        description="'bps': codes are matched to Kemendagri by name within parents "
        "(needs 'names'); 'kemendagri': codes are used as they are",
    )
    names: Path | None = Field(
        None,
        description="Kemendagri code list (kode, nama) for the "
        "BPS crosswalk, e.g. codes_kemendagri.csv",
    )
    regency_name_column: str = "NAMA_KAB"
    district_name_column: str = "NAMA_KEC"
    village_name_column: str = "NAMA_DESA"


# Podes 2024 block XII, R1201A1-A16: micro and small industry units (< 20 workers)
# by group. Category ids are despro's; labels follow the Podes questionnaire.
INDUSTRY_GROUPS: dict[str, tuple[str, str, str]] = {
    "R1201A1": ("leather", "Kulit, barang kulit dan alas kaki", "Leather goods and footwear"),
    "R1201A2": ("furniture", "Furnitur", "Furniture"),
    "R1201A3": ("metal_goods", "Barang logam bukan mesin", "Metal goods (not machinery)"),
    "R1201A4": ("textiles", "Tekstil (tenun, songket, batik)", "Textiles (weaving, batik)"),
    "R1201A5": ("apparel", "Pakaian jadi", "Apparel"),
    "R1201A6": ("ceramics", "Galian bukan logam, gerabah, keramik", "Pottery, ceramics, bricks"),
    "R1201A7": ("wood_bamboo", "Kayu, anyaman bambu dan rotan", "Wood, bamboo and rattan"),
    "R1201A8": ("food", "Makanan olahan", "Processed food"),
    "R1201A9": ("beverages", "Minuman", "Beverages"),
    "R1201A10": ("tobacco", "Pengolahan tembakau", "Tobacco processing"),
    "R1201A11": ("paper", "Kertas dan barang dari kertas", "Paper goods"),
    "R1201A12": ("printing", "Percetakan dan reproduksi media", "Printing and media"),
    "R1201A13": (
        "transport_equipment",
        "Alat angkutan (perahu, rakit)",
        "Transport equipment (boats, rafts)",
    ),
    "R1201A14": ("crafts", "Kerajinan dan lainnya (mainan, perhiasan)", "Crafts (toys, jewellery)"),
    "R1201A15": ("repair", "Reparasi dan pemasangan mesin", "Machine repair and installation"),
    "R1201A16": ("other_industry", "Industri lainnya", "Other industry"),
}
FLAGSHIP_PRESENT = "R1203A"  # 1 = the village has a flagship product, 2 = none
FLAGSHIP_NAMES = ("R1203B1", "R1203B2")  # food / non-food flagship product, free text
NO_NAME = {"", "-", "0", "nan", "tidak ada"}


def _units(path: Path) -> pd.DataFrame:
    """The Kemendagri code list at ``path`` as units (see :func:`kemendagri_units`); read
    once per file version, as the census and products tables usually share it."""
    stat = Path(path).stat() if Path(path).is_file() else None
    key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size) if stat else None
    return _read_units(path, key)


@lru_cache(maxsize=4)
def _read_units_cached(path: Path, key: tuple) -> pd.DataFrame:
    names = read_table(path, "Kemendagri code list", dtype=str)
    require_columns(names, ["kode", "nama"], path, "Kemendagri code list")
    return kemendagri_units(names)


def _read_units(path: Path, key: tuple | None) -> pd.DataFrame:
    if key is None:  # missing file: read_table raises the usual error
        names = read_table(path, "Kemendagri code list", dtype=str)
        require_columns(names, ["kode", "nama"], path, "Kemendagri code list")
        return kemendagri_units(names)
    return _read_units_cached(path, key).copy()


def kemendagri_codes(
    codes: PodesCodes, df: pd.DataFrame, config: Config, notes: Notes, path, what: str, key: str
) -> pd.Series:
    """Kemendagri village code of every row of a Podes-style table (NaN: unmatched).

    ``key`` is the config section (e.g. ``layers.census``) named in errors.
    """
    if codes.code_system == "kemendagri":
        return normalise_codes(df[codes.code_column], path, codes.code_column)
    if codes.names is None:
        raise InputError(
            f"{what} codes are BPS codes but no Kemendagri code list is given",
            file=config.source_file,
            fix=f"set {key}.names (e.g. codes_kemendagri.csv)",
        )
    units = _units(config.path(codes.names))
    require_columns(
        df,
        [
            codes.code_column,
            codes.regency_name_column,
            codes.district_name_column,
            codes.village_name_column,
        ],
        path,
        what,
    )
    x = bps_villages_to_kemendagri(
        df,
        units,
        code=codes.code_column,
        regency_name=codes.regency_name_column,
        district_name=codes.district_name_column,
        village_name=codes.village_name_column,
    )
    bad = x["problem"] != ""
    if bad.any():
        notes.add(
            path,
            "unmatched",
            f"{what} rows with no unique Kemendagri village: "
            + "; ".join(sorted(set(x.loc[bad, "problem"]))),
            rows=(x.loc[bad, "bps_code"]).tolist(),
        )
    notes.add(
        path,
        "warning",
        f"BPS -> Kemendagri crosswalk: {int((~bad).sum())} of {len(x)} rows matched by name",
        rows=[],
    )
    return x["kemendagri_code"]


def industry_categories() -> pd.DataFrame:
    """The Podes industry groups as a category table (demand growth unknown)."""
    rows = [
        {"category": c, "label_id": lid, "label_en": len_, "podes_column": col}
        for col, (c, lid, len_) in INDUSTRY_GROUPS.items()
    ]
    return pd.DataFrame(rows).assign(demand_growth_pct=np.nan).set_index("category")


def products_from_podes(df: pd.DataFrame, codes: pd.Series, path) -> pd.DataFrame:
    """Podes rows -> the products layer's long table (one row per village and group).

    * ``enterprises``: the village's units in each industry group (R1201A1-A16);
      groups with no units are left out, an empty count is an error.
    * ``flagship``: the group with the most units (ties: the first in questionnaire
      order). Podes names flagship products only as free text, so their group is
      not known; the largest group stands for the village's specialisation.
    * ``distinctiveness``: 1 when the village declares a flagship product
      (R1203A = 1), 0 when it declares none (2), unknown when empty.
    * ``product``: the declared flagship products (R1203B1 food, R1203B2 non-food)
      joined with "; ", else the group's label.

    Villages with no small industry at all get no rows: their P1-P3 stay unknown.
    """
    cols = list(INDUSTRY_GROUPS)
    require_columns(df, [*cols, FLAGSHIP_PRESENT], path, "Podes products")
    units = np.column_stack([numeric_column(df, c, path, "Podes products") for c in cols])
    missing = np.isnan(units)
    if missing.any():
        r, c = np.argwhere(missing)[0]
        raise InputError(
            f"Podes industry count {cols[c]} is empty",
            file=path,
            row=int(r) + 2,
            fix="write 0 where the village has no unit of that group",
        )
    if (units < 0).any():
        r, c = np.argwhere(units < 0)[0]
        raise InputError(
            f"Podes industry count {cols[c]} is negative",
            file=path,
            row=int(r) + 2,
            fix="counts are >= 0",
        )
    present = numeric_column(df, FLAGSHIP_PRESENT, path, "Podes products")
    odd = ~np.isnan(present) & ~np.isin(present, [1, 2])
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        raise InputError(
            f"{FLAGSHIP_PRESENT} has code {present[i]:g} (1 = flagship product, 2 = none)",
            file=path,
            row=i + 2,
            fix="use 1, 2 or leave it empty",
        )
    distinct = np.where(np.isnan(present), np.nan, (present == 1).astype(float))
    names = [
        df[c].astype("string").str.strip() if c in df else pd.Series(pd.NA, index=df.index)
        for c in FLAGSHIP_NAMES
    ]
    named = [n.where(~n.fillna("").str.lower().isin(NO_NAME)) for n in names]
    product = named[0]
    for more in named[1:]:  # "a; b" where both are named, else whichever is
        product = product.str.cat(more, sep="; ").fillna(product).fillna(more)
    top = units.argmax(axis=1)
    i, j = np.nonzero(units > 0)
    cats = np.array([INDUSTRY_GROUPS[c][0] for c in cols])
    labels = np.array([INDUSTRY_GROUPS[c][1] for c in cols])
    flagship = j == top[i]
    out = pd.DataFrame(
        {
            "village_code": codes.to_numpy()[i],
            "category": cats[j],
            "enterprises": units[i, j],
            "flagship": flagship,
            "distinctiveness": np.where(flagship, distinct[i], np.nan),
            "product": np.where(flagship, product.to_numpy()[i], labels[j]),
        }
    )
    out["product"] = out["product"].where(out["product"].notna(), labels[j])
    return out[out["village_code"].notna()].reset_index(drop=True)
