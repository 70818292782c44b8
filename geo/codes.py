"""Administrative codes (Kemendagri, BPS) as digit strings: the one normaliser.

Codes arrive dotted (``34.02.01.2001``), with an HDX ``ID`` prefix (``ID3402012001``),
as spreadsheet numbers (``3402012001.0``) or padded with spaces; inside despro a code
is its digits as text (``"3402012001"``), so leading zeros would survive and codes from
every source compare equal. Province codes have 2 digits, regencies 4, districts 6,
villages 10 (:data:`DIGITS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from despro.errors import InputError

#: Digits of a code per administrative level.
DIGITS = {"province": 2, "regency": 4, "district": 6, "village": 10}


def normalise_codes(
    values: pd.Series | Iterable[object],
    file: Path | str | None = None,
    column: str = "village_code",
    digits: int | None = 10,
    what: str = "village code",
    *,
    errors: Literal["raise", "coerce"] = "raise",
) -> pd.Series:
    """Codes as digit strings: dots, spaces, an ``ID`` prefix and a trailing ``.0`` dropped.

    Parameters
    ----------
    values : Series or iterable
        Codes as read (text, integers or floats; missing values allowed).
    file, column : optional
        The file and column the codes come from, named in the error.
    digits : int or None
        Digits a code must have after cleaning (10: village, see :data:`DIGITS`);
        None accepts any non-empty run of digits (a code list mixing levels).
    what : str
        What the codes are, named in the error ("regency code").
    errors : {'raise', 'coerce'}
        'raise': the first missing or malformed code raises :class:`InputError` naming
        ``file``, its row (the header is row 1) and ``column``; 'coerce': such codes
        become missing (``<NA>``) and the caller reports them.

    Returns
    -------
    Series
        Object dtype, same index as ``values`` (a fresh RangeIndex for an iterable);
        digit strings, ``<NA>`` where a code is bad (only with ``errors='coerce'``).
    """
    raw = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    s = raw.astype("string").str.strip()
    s = s.str.replace(r"^ID(?=\d)", "", regex=True, case=False)  # HDX P-codes: ID3402...
    # codes read by a spreadsheet as numbers come back as "3402012001.0"
    s = s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    s = s.str.replace(r"[.\s]", "", regex=True)
    pattern = r"\d+" if digits is None else rf"\d{{{digits}}}"
    good = s.fillna("").str.fullmatch(pattern).to_numpy(bool)
    if not good.all() and errors == "raise":
        i = int(np.flatnonzero(~good)[0])
        size = "digits" if digits is None else f"{digits} digits"
        raise InputError(
            f"{what} {raw.iloc[i]!r} in column '{column}' is not {size} "
            "(dotted form like 34.02.01.2001 is fine)",
            file=file,
            row=i + 2,
            fix="keep codes as text so leading zeros survive",
        )
    return s.where(good).astype(object)


#: First digit of a Kemendagri village code's 5th group (its 7th digit) -> area:
#: 1xxx kelurahan (urban), 2xxx desa (rural).
AREA_OF_DIGIT = {"1": "urban", "2": "rural"}


def village_areas(codes: pd.Series | pd.Index | Iterable[object]) -> np.ndarray:
    """Area of each village from its Kemendagri code: ``urban``, ``rural`` or ``other``.

    The 5th group of a 10-digit code (``PP.RR.DD.NNNN``) starts with 1 for a kelurahan
    (urban) and 2 for a desa (rural); anything else (e.g. Papua's Desa Adat, 3xxx) is
    ``other``. Dots and other non-digits are ignored.

    Parameters
    ----------
    codes : Series, Index or iterable of str
        Village codes.

    Returns
    -------
    ndarray of str
        One of ``urban``, ``rural``, ``other`` per code.
    """
    digits = pd.Series(np.asarray(list(codes), dtype=object)).astype("string")
    digit = digits.str.replace(r"\D", "", regex=True).str[6]
    return digit.map(AREA_OF_DIGIT).fillna("other").to_numpy(object)
