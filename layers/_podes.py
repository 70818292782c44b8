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
from despro.layers._crosswalk import (
    bps_codes_by_crosswalk,
    bps_villages_to_kemendagri,
    kemendagri_units,
    read_official_crosswalk,
)

from ._io import numeric_column, read_table, require_columns

if TYPE_CHECKING:  # pragma: no cover
    from despro.config.settings import Config


class PodesCodes(Model):
    """How the village rows of a Podes-style table find their Kemendagri village."""

    code_column: str | list[str] = Field(
        "IDDESA",
        description="column of the village code, or the columns whose digits make it "
        "(Podes 2019: R101 province, R102 regency, R103 district, R104 village)",
    )
    code_system: Literal["kemendagri", "bps"] = Field(
        "bps",
        description="'bps': codes are matched to Kemendagri through 'crosswalk' first, "
        "then by name within parents (needs 'names'); 'kemendagri': used as they are",
    )
    names: Path | None = Field(
        None,
        description="Kemendagri code list (kode, nama) for the "
        "BPS crosswalk, e.g. codes_kemendagri.csv",
    )
    crosswalk: Path | None = Field(
        None,
        description="official BPS <-> Kemendagri village bridge (kode_bps, kode_dagri, "
        "nama_dagri), e.g. crosswalk_bps_kemendagri_2017_desa.csv; used before names",
    )
    name_table: Path | None = Field(
        None,
        description="a second table with the village names, when the census table has "
        "only codes (Podes 2021 Sumatera Selatan: podes2021_sumsel_main_df.csv)",
    )
    name_table_code_column: str = "iddesa"
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


def _crosswalk_table(path: Path) -> pd.DataFrame:
    """The official crosswalk at ``path`` (see :func:`read_official_crosswalk`), read once
    per file version (every census source of a run usually shares it)."""
    stat = Path(path).stat() if Path(path).is_file() else None
    if stat is None:  # missing file: read_table raises the usual error
        read_table(path, "BPS <-> Kemendagri crosswalk", dtype=str)
    return _crosswalk_cached(path, (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=2)
def _crosswalk_cached(path: Path, key: tuple) -> pd.DataFrame:
    xt = read_table(path, "BPS <-> Kemendagri crosswalk", dtype=str)
    require_columns(xt, ["kode_bps", "kode_dagri"], path, "BPS <-> Kemendagri crosswalk")
    return read_official_crosswalk(xt)


def code_strings(
    codes: PodesCodes, df: pd.DataFrame, path, notes: Notes | None = None
) -> pd.Series:
    """The village code of every row as digits.

    ``code_column`` may name several columns whose digits are joined (Podes 2019).
    Codes written as floats (``3201190006.0``, a spreadsheet's doing) are read as
    the integer and reported; any other non-digit code is an error naming the row.
    """
    cols = [codes.code_column] if isinstance(codes.code_column, str) else codes.code_column
    require_columns(df, cols, path, "census")
    parts = [df[c].astype("string").str.strip().fillna("") for c in cols]
    floaty = pd.concat([p.str.fullmatch(r"\d+\.0+") for p in parts], axis=1).any(axis=1)
    parts = [
        p.mask(p.str.fullmatch(r"\d+\.0+"), p.str.replace(r"\.0+$", "", regex=True)) for p in parts
    ]
    code = parts[0]
    for p in parts[1:]:
        code = code + p
    if floaty.any() and notes is not None:
        rows = (np.flatnonzero(floaty.to_numpy()) + 2).tolist()
        notes.add(
            path,
            "repaired",
            f"village codes in {cols} written as floats (e.g. "
            f"'{df.loc[floaty, cols[0]].iloc[0]}') read as integers, file rows listed; "
            "fix: write codes as text",
            rows=rows,
        )
    bad = ~code.str.fullmatch(r"\d+") & (code != "")
    if codes.code_system == "kemendagri":
        bad = bad & ~code.str.fullmatch(r"[\d.]+")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"village code '{code.iloc[i]}' in {cols} is not a number",
            file=path,
            row=i + 2,
            fix="write village codes as digits (10 for a BPS village)",
        )
    return code.where(code != "").astype(object)


def _with_names(codes: PodesCodes, df: pd.DataFrame, bps: pd.Series, config: Config):
    """``df`` with the name columns, taken from ``name_table`` where it has none."""
    if codes.name_table is None:
        return df
    path = config.path(codes.name_table)
    names = read_table(path, "census names", dtype=str)
    cols = [codes.regency_name_column, codes.district_name_column, codes.village_name_column]
    require_columns(names, [codes.name_table_code_column, *cols], path, "census names")
    names = names.drop_duplicates(codes.name_table_code_column).set_index(
        codes.name_table_code_column
    )[cols]
    return df.drop(columns=[c for c in cols if c in df]).assign(
        **{c: bps.map(names[c]).to_numpy() for c in cols}
    )


def kemendagri_codes(
    codes: PodesCodes, df: pd.DataFrame, config: Config, notes: Notes, path, what: str, key: str
) -> pd.Series:
    """Kemendagri village code of every row of a Podes-style table (NaN: unmatched).

    BPS codes go through the official crosswalk first (when ``crosswalk`` is set),
    then by names within parents; the match rate, every unmatched row and every
    BPS code the crosswalk maps to several villages are noted. ``key`` is the
    config section (e.g. ``layers.census``) named in errors.
    """
    raw = code_strings(codes, df, path, notes)
    if codes.code_system == "kemendagri":
        return normalise_codes(raw, path, str(codes.code_column))
    if codes.names is None:
        raise InputError(
            f"{what} codes are BPS codes but no Kemendagri code list is given",
            file=config.source_file,
            fix=f"set {key}.names (e.g. codes_kemendagri.csv)",
        )
    units = _units(config.path(codes.names))
    out = pd.Series(np.nan, index=df.index, dtype=object)
    method = pd.Series("", index=df.index, dtype=object)
    todo = pd.Series(True, index=df.index)
    if codes.crosswalk is not None:
        xpath = config.path(codes.crosswalk)
        by = bps_codes_by_crosswalk(raw.fillna(""), _crosswalk_table(xpath), units)
        many = by["problem"].str.startswith("crosswalk maps")
        if many.any():
            notes.add(
                path,
                "warning",
                f"{what}: the crosswalk {xpath.name} maps {int(many.sum())} BPS code(s) to "
                "two or more villages; not duplicated, matched by name or left unmatched "
                "(rows: BPS code: villages); fix: name the village in the crosswalk",
                rows=(raw[many] + ": " + by.loc[many, "problem"]).tolist(),
            )
        ok = by["problem"] == ""
        out[ok], method[ok], todo = by.loc[ok, "kemendagri_code"], "crosswalk", ~ok
    name_cols = [codes.regency_name_column, codes.district_name_column, codes.village_name_column]
    named = _with_names(codes, df, raw, config)
    have_names = all(c in named for c in name_cols)
    if codes.crosswalk is None or (have_names and todo.any()):
        require_columns(named, name_cols, path, what)
        sub = named[todo].assign(**{"_bps": raw[todo]}).reset_index(drop=True)
        x = bps_villages_to_kemendagri(
            sub,
            units,
            code="_bps",
            regency_name=codes.regency_name_column,
            district_name=codes.district_name_column,
            village_name=codes.village_name_column,
        )
        x.index = df.index[todo.to_numpy()]
        hit = x["problem"] == ""
        out[hit.index[hit]] = x.loc[hit, "kemendagri_code"]
        method[hit.index[hit]] = "name"
        reason = x["problem"].where(~hit)
    else:
        reason = pd.Series("no names to match by", index=df.index[todo])
    bad = out.isna()
    if bad.any():
        why = reason.reindex(df.index).fillna("no code").where(bad)
        notes.add(
            path,
            "unmatched",
            f"{what} rows with no unique Kemendagri village (rows: file row, BPS code: "
            "reason); fix: add the village to the crosswalk or correct its names",
            rows=[
                f"row {i + 2}, {c}: {w}"
                for i, c, w in zip(np.flatnonzero(bad.to_numpy()), raw[bad], why[bad], strict=True)
            ],
        )
    n_x, n_n = int((method == "crosswalk").sum()), int((method == "name").sum())
    notes.add(
        path,
        "warning",
        f"BPS -> Kemendagri: {n_x + n_n} of {len(df)} rows matched "
        f"({100 * (n_x + n_n) / max(len(df), 1):.1f} %): {n_x} by the official crosswalk, "
        f"{n_n} by name within parents, {int(bad.sum())} unmatched",
        rows=[],
    )
    return out


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
