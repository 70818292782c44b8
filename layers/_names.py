"""Admin unit names -> Kemendagri codes, for tables and boundary files without usable codes.

"Kab. Bantul", "KABUPATEN BANTUL" and "Bantul" are Kabupaten Bantul (34.02);
"Kota Yogyakarta" is the city 34.71, not a regency; "DI Yogyakarta", "D.I. Yogyakarta"
and "Daerah Istimewa Yogyakarta" are province 34; "DKI Jakarta" is "Daerah Khusus
Ibukota Jakarta"; "Kep. Riau" is "Kepulauan Riau". Names are normalised by
:func:`despro.layers._crosswalk.normalise_name` (admin prefixes, punctuation, case),
after expanding the abbreviations above.

Regencies: a city keeps a ``KOTA`` marker, so Kota Bogor and Kabupaten Bogor stay
apart; a bare name is a kabupaten (BPS's convention: "Bogor", "Kota Bogor"), except
that a bare name which only a city carries ("Jakarta Barat") matches that city. A
name that matches no unit, or several, is reported with the reason; nothing is guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from despro.codes import normalise_codes
from despro.errors import InputError
from despro.layers._crosswalk import normalise_name

from ._contracts import validate
from ._io import read_table

DOTS = {"province": 0, "regency": 1, "district": 2, "village": 3}
DIGITS = {"province": 2, "regency": 4, "district": 6, "village": 10}
_ABBREVIATIONS = [
    (r"\bKEP\b\.?", "KEPULAUAN "),
    (r"^\s*(D\.\s*K\.\s*I\.?|DKI|DKJ|DAERAH KHUSUS( IBU ?KOTA)?)\s+", ""),
    (r"^\s*(NANGGROE ACEH DARUSSALAM|NAD)\s*$", "ACEH"),
]
CODE_LIST = pa.DataFrameSchema(
    {
        "kode": pa.Column(
            str,
            pa.Check.str_matches(
                r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$",
                error="is not a Kemendagri code like 34.02.01.2001",
                description="use the dotted Kemendagri codes (kode, nama)",
            ),
            unique=True,
            coerce=True,
        ),
        "nama": pa.Column(str, coerce=True),
    }
)


def admin_key(name: object, level: str) -> str:
    """Matching key of an admin name (spaces ignored; cities marked at regency level)."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return ""
    s = str(name).upper()
    for pat, rep in _ABBREVIATIONS:
        s = re.sub(pat, rep, s)
    return normalise_name(s, keep_kota=level == "regency").replace(" ", "")


def _bare(name: object) -> bool:
    """True when the name carries no admin prefix ("Jakarta Barat", not "DI Yogyakarta")."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return False
    s = str(name).upper()
    return normalise_name(s) == " ".join(re.sub(r"[^A-Z0-9 ]", " ", s).split())


def read_code_table(path: Path) -> pd.DataFrame:
    """The Kemendagri code list as published (``kode`` dotted, ``nama``), validated."""
    df = read_table(path, "Kemendagri code list", dtype=str)
    return validate(df, CODE_LIST, path, "Kemendagri code list")


def read_code_list(path: Path) -> pd.DataFrame:
    """Kemendagri code list (``kode`` dotted, ``nama``) -> ``code, level, name``.

    Every level may be present (codes_kemendagri.csv holds all four).
    """
    df = read_code_table(path)
    kode = df["kode"].str.strip()
    level = kode.str.count(r"\.").map({v: k for k, v in DOTS.items()})
    return pd.DataFrame(
        {
            "code": normalise_codes(kode, path, "kode", None, "Kemendagri code").to_numpy(),
            "level": level.to_numpy(),
            "name": df["nama"].to_numpy(),
        }
    )


def match_names(
    names: pd.Series, units: pd.DataFrame, level: str, within: str | pd.Series | None = None
) -> pd.DataFrame:
    """Kemendagri code of each name among the units of ``level``.

    Parameters
    ----------
    names : Series
        Unit names as written in the table or boundary file.
    units : DataFrame
        From :func:`read_code_list`.
    level : 'province', 'regency', 'district' or 'village'
    within : str or Series, optional
        Code prefix (digits) the match must start with: one for all rows (a
        ``code_prefix``) or one per row (the matched parent's code).

    Returns
    -------
    DataFrame
        Same index as ``names``: ``code`` (digits; missing where unmatched) and
        ``problem`` ('' when matched, else 'not found' or 'ambiguous: n units').
    """
    u = units[units["level"] == level]
    ukey = u["name"].map(lambda n: admin_key(n, level)).to_numpy()
    rows = pd.DataFrame(
        {"key": names.map(lambda n: admin_key(n, level)).to_numpy(), "row": np.arange(len(names))}
    )
    if isinstance(within, pd.Series):
        rows["within"] = within.fillna("").astype(str).to_numpy()
    else:
        rows["within"] = within or ""
    code, n = _lookup(rows, pd.DataFrame({"key": ukey, "code": u["code"].to_numpy()}))
    code, n = code.copy(), n.copy()
    if level == "regency":  # a bare name only a city carries: "Jakarta Barat"
        loose = pd.DataFrame(
            {
                "key": pd.Series(ukey).str.replace(r"^KOTA", "", regex=True),
                "code": u["code"].to_numpy(),
            }
        )
        retry = (n == 0) & names.map(_bare).to_numpy(dtype=bool)
        code2, n2 = _lookup(rows[retry], loose)
        code[retry], n[retry] = code2, n2
    problem = np.where(
        n == 1, "", np.where(n == 0, "not found", "ambiguous: " + n.astype(str) + " units")
    )
    return pd.DataFrame(
        {"code": pd.array(np.where(n == 1, code, None), dtype="string"), "problem": problem},
        index=names.index,
    )


def _lookup(rows: pd.DataFrame, units: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(code, number of candidates) per row: units with the row's key and code prefix."""
    m = rows[rows["key"] != ""].merge(units, on="key", how="inner")
    if len(m):
        plen = m["within"].str.len().to_numpy()
        ok = [c[:k] == w for c, k, w in zip(m["code"], plen, m["within"], strict=True)]
        m = m[np.array(ok, dtype=bool)]
    n = m.groupby("row").size().reindex(rows["row"]).fillna(0).to_numpy(int)
    code = m.drop_duplicates("row").set_index("row")["code"].reindex(rows["row"])
    return code.to_numpy(dtype=object), n


def codes_from_names(
    names: pd.Series,
    units_path: Path,
    level: str,
    path: Path | str,
    what: str,
    notes,
    within: str | pd.Series | None = None,
) -> pd.Series:
    """Kemendagri codes for a column of names; unmatched rows are noted and left missing.

    ``names`` carries the file rows as its index (see :func:`despro.layers._io.file_row`).
    Raises InputError when no name matches at all (wrong level or wrong code list).
    """
    units = read_code_list(units_path)
    m = match_names(names, units, level, within)
    bad = m["problem"] != ""
    if bad.all():
        raise InputError(
            f"none of the {len(m)} {level} names in {what} matches the "
            f"Kemendagri list (first: {names.iloc[0]!r})",
            file=path,
            fix=f"check the level ('{level}') and the code list {units_path}",
        )
    if bad.any():
        rows = [f"{_row(i)}{names.loc[i]!s} ({m.loc[i, 'problem']})" for i in m.index[bad]]
        notes.add(
            path,
            "unmatched",
            f"{what}: {level} names not matched to a Kemendagri code (their rows are left out)",
            rows=rows,
        )
    return m["code"]


def _row(label) -> str:
    """'row N: ' for a file row (integer index label), '' for a unit named by its label."""
    try:
        return f"row {int(label) + 2}: "
    except (TypeError, ValueError):
        return ""
