"""Numbers written as people write them: ``1.234,5`` (Indonesian) or ``1,234.5`` (English).

A statistics table from BPS or a regency office writes a decimal comma and a thousands
dot; one exported by English software the other way round. Read naively, ``1.234`` in
an Indonesian table (one thousand two hundred thirty-four) becomes 1.234. The rule,
per column (:func:`locale_numbers`):

1. ``decimal = "."`` or ``","`` declared in the config: every value is read that way;
   a value that can only be the other way (``45,2`` when ``decimal = "."``) is an error
   naming the row.
2. ``decimal = "auto"`` (the default): the column's unambiguous values decide. A value
   with both marks (``1.234,5`` / ``1,234.5``) has its decimal mark last; a single mark
   not followed by exactly three digits (``45,2``, ``1,2345``), a mark after a leading
   zero (``0.125``: a thousands group never starts with 0) or a mark repeated
   (``1.234.567``) is unambiguous too. Values deciding both ways in one column are an
   error naming both rows.
3. Left undecided (every separated value looks like ``1.234`` / ``12,345``), the
   column's declared range decides: the reading under which every such value fits
   (a percentage 0-100 cannot be 1234; a count must be whole, so ``1.234`` enterprises
   are 1234). If both readings fit, it is an error naming the row with the fix
   ``decimal = ","`` or ``"."``: a number is never guessed.

Values already numbers (XLSX numeric cells, Parquet) are taken as they are; spaces
around a value are ignored; anything else (``abc``, ``1,5,7``) is left as text for the
caller to report as a non-number.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from despro.errors import InputError

#: a decimal-point number: 12 / -0.5 / .5 / 1e308 / 1.5E-3
_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: grouped thousands with an optional decimal part, for mark t (thousands) and d (decimal)
_GROUPED = {
    (".", ","): re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+(,\d+)?"),
    (",", "."): re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?"),
}
#: one mark followed by exactly three digits after a valid thousands lead: ambiguous
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}")
_COMMA_DECIMAL = re.compile(r"[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?")
MARKS = ("auto", ".", ",")


def _reading(text: str, decimal: str) -> str | None:
    """``text`` as a plain decimal-point number under ``decimal``, or None if it is not one."""
    thousands = "," if decimal == "." else "."
    if _GROUPED[(thousands, decimal)].fullmatch(text):
        return text.replace(thousands, "").replace(",", ".")
    if decimal == "." and _PLAIN.fullmatch(text):
        return text
    if decimal == "," and _COMMA_DECIMAL.fullmatch(text):
        return text.replace(",", ".")
    return None


def _vote(text: str) -> str | None:
    """The decimal mark ``text`` shows unambiguously, or None (plain integer, ambiguous, junk)."""
    if "." not in text and "," not in text:
        return None
    if _AMBIGUOUS.fullmatch(text):
        return None
    dot, comma = _reading(text, "."), _reading(text, ",")
    if dot is not None and comma is None:
        return "."
    if comma is not None and dot is None:
        return ","
    return None


def _fits(values: list[str], decimal: str, lo: float, hi: float, whole: bool) -> bool:
    for t in values:
        r = _reading(t, decimal)
        if r is None:
            return False
        x = float(r)
        if not (lo <= x <= hi) or (whole and x % 1 != 0):
            return False
    return True


def locale_numbers(
    df: pd.DataFrame,
    col: str,
    path: Path,
    what: str,
    decimal: str = "auto",
    lo: float = -np.inf,
    hi: float = np.inf,
    whole: bool = False,
    key: str | None = None,
) -> pd.Series:
    """Column ``col`` with locale-written numbers turned into decimal-point text.

    Parameters
    ----------
    df : DataFrame
        The table as read (:func:`despro.layers._io.read_table`: CSV cells are text).
    col : str
        The column.
    path : Path
        The file, named in errors.
    what : str
        What the table is, named in errors.
    decimal : {"auto", ".", ","}
        The declared decimal mark (the config key ``key``), or ``auto`` (the module's rule).
    lo, hi : float
        The column's declared range (in its unit), used only to decide an undecided column.
    whole : bool
        The column holds counts (whole numbers).
    key : str, optional
        The config key that declares the mark, named in the fix; without one the fix is
        to write the numbers without thousands marks.

    Returns
    -------
    Series
        Same index; number cells unchanged, text cells rewritten as ``1234.5`` where they
        read as a number, other text (non-numbers) unchanged.
    """
    from ._io import file_row

    raw = df[col]
    is_text = raw.map(lambda v: isinstance(v, str)).to_numpy(bool)
    if not is_text.any():
        return raw
    text = raw[is_text].str.strip()
    uniq = pd.unique(text.to_numpy())
    if decimal not in MARKS:
        raise ValueError(decimal)
    votes = {t: _vote(t) for t in uniq}

    def first_row(pred) -> tuple[int, str]:
        pos = np.flatnonzero(is_text)
        for k, t in zip(pos, text.to_numpy(), strict=True):
            if pred(t):
                return file_row(df, int(k)), t
        return -1, ""

    chosen = decimal
    if decimal == "auto":
        marks = {v for v in votes.values() if v}
        if len(marks) == 2:
            r1, t1 = first_row(lambda t: votes.get(t) == ".")
            r2, t2 = first_row(lambda t: votes.get(t) == ",")
            raise InputError(
                f"{what} column '{col}' mixes decimal points and decimal commas "
                f"(row {r1}: {t1!r}, row {r2}: {t2!r}); the numbers cannot be read safely",
                file=path,
                row=max(r1, r2),
                fix="write every number the same way"
                + (f', or set {key} = "." or ","' if key else " (no thousands marks)"),
            )
        if marks:
            chosen = marks.pop()
        else:
            amb = [t for t in uniq if _AMBIGUOUS.fullmatch(t)]
            if not amb:
                chosen = "."
            else:
                fit = [d for d in (".", ",") if _fits(amb, d, lo, hi, whole)]
                if len(fit) == 2:
                    r, t = first_row(lambda t: t in set(amb))
                    alt = _reading(t, ",")
                    raise InputError(
                        f"{what} column '{col}' value {t!r} could be {t.replace(',', '.')} "
                        f"(decimal point) or {alt} (thousands dot): no value of the column "
                        "shows which mark is the decimal one",
                        file=path,
                        row=r,
                        fix=(
                            f'set {key} = "," (Indonesian: 1.234,5) or {key} = "." (1,234.5)'
                            if key
                            else "write 1234 without the thousands mark, or the decimal with "
                            "a fourth digit "
                            "(1.2340)"
                        ),
                    )
                chosen = fit[0] if fit else "."
    else:
        other = "," if decimal == "." else "."
        wrong = [t for t in uniq if votes[t] == other]
        if wrong:
            r, t = first_row(lambda t: t in set(wrong))
            raise InputError(
                f"{what} column '{col}' value {t!r} has a decimal {other!r} but "
                f'{key} = "{decimal}"',
                file=path,
                row=r,
                fix=f'set {key} = "{other}" (or "auto"), or correct the value',
            )
    mapped = {t: _reading(t, chosen) for t in uniq}
    out = raw.astype(object).copy()
    out[is_text] = [mapped[t] if mapped[t] is not None else t for t in text.to_numpy()]
    return out
