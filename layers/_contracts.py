"""Data contracts at the door: pandera schemas whose failures become InputErrors.

A layer states what its table must satisfy as a pandera ``DataFrameSchema``:
required columns, dtypes (numbers parsed with decimal commas accepted), ranges,
allowed values, uniqueness and cross-column rules such as numerators not above
denominators. :func:`validate` runs the schema lazily (pandera collects every
failure), then raises one :class:`~despro.errors.InputError` for the first
failing row in file order, naming the file, the row, the column and value, the
rule broken, how many other rows break it, and the fix.

Checks are built with :func:`rule` so that each carries its message (pandera's
``error``) and its fix (pandera's ``description``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from despro.errors import InputError

MISSING = {"": pd.NA, "-": pd.NA, "NA": pd.NA, "nan": pd.NA, "NaN": pd.NA, "None": pd.NA}


def _parse_number(s: pd.Series) -> pd.Series:
    """Text to number-like text: trimmed, decimal comma -> point, '-' / 'NA' -> missing."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s
    t = s.astype("string").str.strip().str.replace(",", ".", regex=False)
    return t.replace(MISSING)


NUMBER = pa.Parser(_parse_number)


def rule(fn: Callable, error: str, fix: str, element_wise: bool = False) -> pa.Check:
    """A pandera check carrying its message (``error``) and its fix (``description``).

    ``fn`` takes a Series (column checks) or the DataFrame (schema checks) and returns
    booleans, True where the row is fine.
    """
    return pa.Check(fn, error=error, description=fix, element_wise=element_wise)


def in_range(lo: float, hi: float, fix: str) -> pa.Check:
    """Values within [lo, hi] (missing values pass)."""
    return rule(lambda s: (s >= lo) & (s <= hi), f"is outside {lo:g}-{hi:g}", fix)


def non_negative(fix: str = "counts must be >= 0; leave unknowns empty") -> pa.Check:
    return rule(lambda s: s >= 0, "is negative", fix)


def at_most(hi: float, fix: str) -> pa.Check:
    """Values at most ``hi`` (a documented physical ceiling; missing values pass)."""
    return rule(lambda s: s <= hi, f"is above {hi:g}", fix)


def whole(fix: str = "a count is a whole number") -> pa.Check:
    """Whole numbers (counts); missing values pass."""
    return rule(lambda s: (s % 1 == 0) | s.isna(), "is not a whole number", fix)


FINITE = rule(lambda s: ~np.isinf(s), "is infinite", "use a finite number; leave unknowns empty")


def number(*checks: pa.Check, required: bool = True, nullable: bool = True) -> pa.Column:
    """A finite float column read from numbers or number-like text (decimal commas accepted)."""
    return pa.Column(
        float,
        [FINITE, *checks],
        parsers=NUMBER,
        coerce=True,
        nullable=nullable,
        required=required,
    )


def percent_checks(scale: str, column_fix: str) -> list[pa.Check]:
    """Percentages in range and in one convention: never a mix of 0-1 and 0-100.

    ``scale`` is 'percent' (values 0-100) or 'fraction' (values 0-1); ``column_fix``
    names the config key that sets the scale (``layers.smartphone.scale``).
    """
    if scale == "fraction":
        return [
            in_range(0, 100, "percentages must lie in 0-100"),
            rule(
                lambda s: s <= 1,
                f"> 1 but {column_fix} = 'fraction'",
                f"set {column_fix} = 'percent'",
            ),
        ]

    def _not_mixed(s: pd.Series) -> pd.Series:
        return ~((s > 0) & (s <= 1)) | ~(s > 1).any()

    def _not_all_fractions(s: pd.Series) -> pd.Series:
        return ~((s > 0) & (s <= 1)) | (s > 1).any()

    return [
        in_range(0, 100, "percentages must lie in 0-100"),
        rule(
            _not_mixed,
            "looks like a fraction (0-1) in a column of percentages (0-100): "
            "the column mixes fractions and percentages",
            "write every value as a percentage (0.45 -> 45)",
        ),
        rule(
            _not_all_fractions,
            "is <= 1 like every value of the column, which look like fractions",
            f"set {column_fix} = 'fraction' or use percentages",
        ),
    ]


def not_above(numerator: str, denominator: str, fix: str) -> pa.Check:
    """Schema check: ``numerator <= denominator`` wherever both are known."""

    def _ok(df: pd.DataFrame) -> pd.Series:
        n, d = df[numerator], df[denominator]
        return ~(n > d).fillna(False)

    return rule(_ok, f"'{numerator}' is larger than '{denominator}'", fix)


def _row_label(label) -> int | str:
    """Spreadsheet row (header = 1) for an integer index label, else the label itself."""
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return "(whole column)"
    try:
        return int(label) + 2
    except (TypeError, ValueError):
        return str(label)


def validate(
    df: pd.DataFrame, schema: pa.DataFrameSchema, path: Path | str, what: str
) -> pd.DataFrame:
    """Validate ``df`` against ``schema``; return the parsed, coerced frame.

    Row numbers in errors come from the index: integer labels are taken as the
    0-based position in the file (as :func:`despro.layers._io.read_table` leaves
    them, kept through filters), other labels (codes) are named as they are.

    Raises
    ------
    InputError
        For the first failure in file order: missing columns first, then values
        that are not numbers, then every other rule; the message counts the other
        failing rows.
    """
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        raise _to_input_error(err.failure_cases, schema, df, path, what) from None
    except pa.errors.SchemaError as err:  # pragma: no cover - lazy mode collects all
        raise InputError(f"{what}: {err}", file=path, fix="fix the value") from None


def _fixes(schema: pa.DataFrameSchema) -> dict[str, str]:
    out = {c.error: c.description for c in schema.checks if c.error}
    for col in schema.columns.values():
        out.update({c.error: c.description for c in col.checks if c.error})
    return out


def _to_input_error(
    fc: pd.DataFrame, schema: pa.DataFrameSchema, df: pd.DataFrame, path, what: str
) -> InputError:
    missing = fc[fc["check"] == "column_in_dataframe"]
    if len(missing):
        cols = [str(c) for c in missing["failure_case"]]
        return InputError(
            f"{what} lacks column(s) {cols}; it has {list(df.columns)[:20]}",
            file=path,
            fix="rename the columns or set them in the config",
        )
    fc = fc.assign(
        _pos=fc["index"].map(
            lambda i: df.index.get_loc(i) if i is not None and i in df.index else -1
        )
    )
    # dtype failures come before value rules: a value rule on unparsed text means nothing
    kind = np.where(fc["check"].astype(str).str.match(r"^(coerce_)?dtype\("), 0, 1)
    ctx = np.where(fc["schema_context"] == "Column", 0, 1)  # a row's own values first
    fc = fc.assign(_kind=kind, _ctx=ctx).sort_values(["_kind", "_pos", "_ctx"], kind="stable")
    first = fc.iloc[0]
    col, check, value = first["column"], str(first["check"]), first["failure_case"]
    if isinstance(value, np.generic):
        value = value.item()
    same = fc[(fc["check"] == first["check"]) & (fc["column"] == col)]
    rows = list(dict.fromkeys(_row_label(i) for i in same["index"]))
    more = f" (and {len(rows) - 1} more row(s): {rows[1:7]})" if len(rows) > 1 else ""
    row = rows[0] if rows else None
    if first["_kind"] == 0:
        return InputError(
            f"{what} column '{col}' has a non-number {value!r}{more}",
            file=path,
            row=row,
            fix="use plain numbers; leave unknowns empty",
        )
    if check == "not_nullable":
        return InputError(
            f"{what} column '{col}' is empty{more}", file=path, row=row, fix="fill it in"
        )
    if check == "field_uniqueness":
        return InputError(
            f"{what} column '{col}' repeats {value!r}{more}",
            file=path,
            row=row,
            fix="each value may appear once",
        )
    fix = _fixes(schema).get(check, "correct the value")
    if first["schema_context"] == "Column":
        return InputError(
            f"{what} column '{col}' value {value!r} {check}{more}", file=path, row=row, fix=fix
        )
    return InputError(f"{what}: {check}{more}", file=path, row=row, fix=fix)
