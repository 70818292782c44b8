"""BPS <-> Kemendagri codes: one crosswalk, by code where the systems agree, by name otherwise.

BPS (statistics) and Kemendagri (home affairs) number Indonesia's units
differently in places: Papua's provinces (BPS 91/92/94-97 vs Kemendagri
92/96/91/93/94/95), some regencies (e.g. in Sumatera Barat) and many districts
and villages (e.g. Kota Batu: BPS 3579010001 ORO-ORO OMBO is Kemendagri
35.79.01.2006). Matching goes top-down:

1. province: the fixed Papua table, equal codes elsewhere;
2. regency: the equal code if its normalised name agrees, else the name within
   the matched province;
3. district and village: the normalised name (spaces ignored) within the matched
   parent, then within the matched regency (districts are renumbered more often
   than villages are renamed).

Every row that matches nothing, or more than one unit, is reported with the
reason; nothing is guessed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from despro.codes import normalise_codes

BPS_TO_KEMENDAGRI_PROVINCE = {
    "91": "92",
    "92": "96",
    "94": "91",
    "95": "93",
    "96": "94",
    "97": "95",
}
_PREFIXES = (
    r"^(PROVINSI|PROV|KABUPATEN|KAB|KOTA ADMINISTRASI|KOTA ADM|KOTA|KECAMATAN|KEC|DESA|"
    r"KELURAHAN|KEL|DAERAH ISTIMEWA|DI)\b\.?\s*"
)


def normalise_name(name: object, keep_kota: bool = False) -> str:
    """Upper-case name without admin prefixes, punctuation or doubled spaces.

    ``"Kab. Bantul"``, ``"KABUPATEN BANTUL"`` -> ``"BANTUL"``; ``"D.I. Yogyakarta"``,
    ``"DI Yogyakarta"`` -> ``"YOGYAKARTA"``; ``"Oro-oro Ombo"`` -> ``"ORO ORO OMBO"``.
    With ``keep_kota`` a city keeps a ``KOTA`` marker so that Kota Bogor and
    Kabupaten Bogor stay apart.
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    s = str(name).upper().replace("D.I.", "DI ").replace("D. I.", "DI ")
    is_kota = bool(re.match(r"^KOTA\b", s.strip()))
    s = re.sub(r"[^A-Z0-9 ]", " ", s)
    s = " ".join(s.split())
    while True:
        t = re.sub(_PREFIXES, "", s).strip()
        if t == s:
            break
        s = t
    return f"KOTA {s}" if keep_kota and is_kota else s


def name_key(name: object) -> str:
    """Matching key: the normalised name without spaces ("SUMBER BRANTAS" = "Sumberbrantas")."""
    return normalise_name(name).replace(" ", "")


def name_keys(names: pd.Series) -> pd.Series:
    """:func:`name_key` of every name (missing -> ""), computed once per distinct name
    (the national code list repeats many village names)."""
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    keys = np.array([name_key(u) for u in uniques] + [""], dtype=object)
    return pd.Series(keys[np.where(codes < 0, len(uniques), codes)], index=names.index)


def kemendagri_units(codes: pd.DataFrame) -> pd.DataFrame:
    """Kemendagri code list (``kode`` dotted, ``nama``) as a table with level and parent."""
    k = codes.assign(kode=codes["kode"].astype(str).str.strip())
    parts = k["kode"].str.count(r"\.")
    level = parts.map({0: "province", 1: "regency", 2: "district", 3: "village"})
    return pd.DataFrame(
        {
            "code": normalise_codes(k["kode"], None, "kode", None, errors="coerce"),
            "level": level,
            "parent": k["kode"]
            .str.rsplit(".", n=1)
            .str[0]
            .str.replace(".", "", regex=False)
            .where(parts > 0, ""),
            "name": k["nama"],
            "key": name_keys(k["nama"]),
        }
    )


def _match_by_name(rows: pd.DataFrame, units: pd.DataFrame, level: str) -> pd.DataFrame:
    """Match ``rows`` (parent_k, key) to units of ``level`` by (parent, name key)."""
    u = units[units["level"] == level][["parent", "key", "code"]]
    counts = u.groupby(["parent", "key"]).size().rename("n").reset_index()
    # one row per (parent, key), so an ambiguous name never duplicates input rows
    u = u.drop_duplicates(["parent", "key"])
    m = rows.reset_index(drop=True).merge(
        u, left_on=["parent_k", "key"], right_on=["parent", "key"], how="left"
    )
    m = m.merge(counts, on=["parent", "key"], how="left")
    m.loc[m["n"] > 1, "code"] = None
    return m


def bps_villages_to_kemendagri(
    table: pd.DataFrame,
    units: pd.DataFrame,
    *,
    code: str = "IDDESA",
    regency_name: str = "NAMA_KAB",
    district_name: str = "NAMA_KEC",
    village_name: str = "NAMA_DESA",
) -> pd.DataFrame:
    """Kemendagri village code for each BPS village row.

    Parameters
    ----------
    table : DataFrame
        One row per BPS village: 10-digit BPS code and the regency, district and
        village names (Podes layout by default).
    units : DataFrame
        From :func:`kemendagri_units`.

    Returns
    -------
    DataFrame
        ``bps_code, kemendagri_code, method, problem`` per input row (same order);
        ``kemendagri_code`` is empty where ``problem`` says why.
    """
    bps = table[code].astype(str).str.strip()
    prov_b, reg_b = bps.str[:2], bps.str[:4]
    prov_k = prov_b.map(BPS_TO_KEMENDAGRI_PROVINCE).fillna(prov_b)
    reg_units = units[units["level"] == "regency"].set_index("code")
    reg_key = name_keys(table[regency_name])
    same = prov_k + reg_b.str[2:]
    equal_ok = same.isin(reg_units.index) & (
        reg_units["key"].reindex(same).to_numpy() == reg_key.to_numpy()
    )
    by_name = _match_by_name(pd.DataFrame({"parent_k": prov_k, "key": reg_key}), units, "regency")
    reg_k = np.where(equal_ok, same, by_name["code"].to_numpy())
    dist = _match_by_name(
        pd.DataFrame({"parent_k": reg_k, "key": name_keys(table[district_name])}),
        units,
        "district",
    )
    vil_key = name_keys(table[village_name])
    vil = _match_by_name(pd.DataFrame({"parent_k": dist["code"], "key": vil_key}), units, "village")
    # a district renamed or merged: fall back to the name within the whole regency
    in_reg = units[units["level"] == "village"].assign(parent=lambda d: d["code"].str[:4])
    vil_r = _match_by_name(pd.DataFrame({"parent_k": reg_k, "key": vil_key}), in_reg, "village")
    code_k = vil["code"].where(vil["code"].notna(), vil_r["code"])
    method = np.where(
        vil["code"].notna(),
        "name within district",
        np.where(vil_r["code"].notna(), "name within regency", ""),
    )
    problem = np.select(
        [pd.isna(reg_k), (vil["n"] > 1) | (vil_r["n"] > 1), code_k.isna()],
        [
            "regency not matched",
            "village name ambiguous in its parent",
            "village name not found in its district or regency",
        ],
        default="",
    )
    return pd.DataFrame(
        {
            "bps_code": bps.to_numpy(),
            "kemendagri_code": code_k.to_numpy(),
            "method": method,
            "problem": problem,
        }
    )


def read_official_crosswalk(table: pd.DataFrame) -> pd.DataFrame:
    """The BPS <-> Kemendagri village bridge (``kode_bps``, ``kode_dagri``, ``nama_dagri``).

    Returns
    -------
    DataFrame
        ``bps_code`` (10 digits), ``kemendagri_code`` (digits, no dots), ``key``
        (the Kemendagri name's matching key), ``n`` (villages the BPS code maps to).
    """
    x = pd.DataFrame(
        {
            "bps_code": table["kode_bps"].astype(str).str.strip(),
            "kemendagri_code": table["kode_dagri"].astype(str).str.strip().str.replace(".", ""),
            "key": name_keys(table["nama_dagri"])
            if "nama_dagri" in table
            else pd.Series("", index=table.index),
        }
    ).drop_duplicates(["bps_code", "kemendagri_code"])
    return x.assign(n=x.groupby("bps_code")["bps_code"].transform("size"))


def bps_codes_by_crosswalk(bps: pd.Series, crosswalk: pd.DataFrame, units: pd.DataFrame):
    """Kemendagri village code of each BPS code through the official crosswalk.

    A crosswalk code is accepted only when the village still exists under that
    code with the same name (the code list of the run's year); a renamed or
    renumbered village, or a BPS code the crosswalk maps to several villages, is
    left to the name matcher and reported.

    Parameters
    ----------
    bps : Series
        10-digit BPS village codes.
    crosswalk : DataFrame
        From :func:`read_official_crosswalk`.
    units : DataFrame
        From :func:`kemendagri_units`.

    Returns
    -------
    DataFrame
        Same index as ``bps``: ``kemendagri_code`` (missing where not accepted) and
        ``problem`` ('' when accepted, else why not).
    """
    vil = units[units["level"] == "village"].drop_duplicates("code").set_index("code")["key"]
    one = crosswalk.drop_duplicates("bps_code").set_index("bps_code")
    k = bps.map(one["kemendagri_code"])
    n = bps.map(one["n"]).fillna(0).astype(int)
    many = crosswalk[crosswalk["n"] > 1].groupby("bps_code")["kemendagri_code"].agg(", ".join)
    exists = k.isin(vil.index)
    same_name = exists & (k.map(vil).to_numpy() == bps.map(one["key"]).to_numpy())
    problem = np.select(
        [n == 0, n > 1, ~exists, ~same_name],
        [
            "BPS code not in the crosswalk",
            "crosswalk maps this BPS code to "
            + n.astype(str)
            + " villages: "
            + bps.map(many).astype(object).fillna("").astype(str),
            "crosswalk's Kemendagri code no longer exists",
            "crosswalk's Kemendagri code now names another village",
        ],
        default="",
    )
    return pd.DataFrame(
        {"kemendagri_code": k.where(problem == ""), "problem": problem}, index=bps.index
    )
