"""CSV text as pandas' ``to_csv`` writes it, built per distinct value and joined by Arrow.

``DataFrame.to_csv`` formats and quotes every cell in Python: nationally
``criteria.csv`` (832,460 rows x 15 columns) took ~10 s, most of it on a few hundred
distinct texts repeated over the rows. Here each column is factorised, each distinct
value formatted and quoted once (:func:`column_text`), and the rows are joined by
``pyarrow.compute.binary_join_element_wise`` into one buffer (:func:`csv_bytes`): the
same bytes (tested against ``to_csv``) in a fraction of the time.

The rules are pandas' defaults with ``index=False``: missing values are empty, floats
as ``float_format`` (``%.10g`` in despro's tables; ``-0`` is written ``0``), booleans
``True`` / ``False``, other values ``str()``; a field is quoted (``"..."``, inner
quotes doubled) when it holds the separator, a quote or a line break; lines end with
``\\n``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def quote(text: str, sep: str) -> str:
    """``text`` as one CSV field (quoted when it holds ``sep``, a quote or a line break)."""
    if sep in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _float_texts(values: pd.Series, float_format: str, decimal: str):
    v = values.to_numpy(dtype=float, na_value=np.nan) + 0.0  # -0.0 + 0.0 is 0.0
    known = ~np.isnan(v)
    uniq, inverse = np.unique(v[known], return_inverse=True)
    texts = [float_format % x for x in uniq.tolist()]
    if decimal != ".":
        texts = [t.replace(".", decimal) for t in texts]
    codes = np.full(len(v), len(texts), dtype=np.int64)  # the last text: missing
    codes[known] = inverse
    return codes, texts


def _other_texts(values: pd.Series):
    if values.dtype == object:  # mixed types: 1 and True are equal keys, not equal texts
        missing = pd.isna(values).to_numpy()
        values = pd.Series(np.where(missing, None, values.astype(str)), dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [str(u) for u in np.asarray(uniques, dtype=object)]
    codes = np.where(codes < 0, len(texts), codes)
    return codes, texts


def column_text(
    values: pd.Series, sep: str = ",", decimal: str = ".", float_format: str = "%.10g"
) -> pa.Array:
    """One column as CSV fields (quoted where needed, missing as empty), an Arrow string array.

    Parameters
    ----------
    values : Series
    sep : str
        Field separator (quoting depends on it).
    decimal : str
        Decimal mark of floats (``","`` for an Indonesian spreadsheet).
    float_format : str
        printf-style format of floats.
    """
    if pd.api.types.is_float_dtype(values):
        codes, texts = _float_texts(values, float_format, decimal)
    else:
        codes, texts = _other_texts(values)
    fields = pa.array([quote(t, sep) for t in texts] + [""], pa.large_string())
    return fields.take(pa.array(codes, pa.int64()))


def csv_bytes(
    df: pd.DataFrame,
    sep: str = ",",
    decimal: str = ".",
    float_format: str = "%.10g",
    header: bool = True,
) -> bytes:
    """``df.to_csv(index=False, sep=sep, decimal=decimal, float_format=float_format,
    header=header)`` as bytes (UTF-8), see the module docstring."""
    if df.shape[1] == 0 or len(df) == 0:  # nothing to gain: pandas' own text
        return df.to_csv(index=False, sep=sep, header=header).encode("utf-8")
    header = sep.join(quote(str(c), sep) for c in df.columns) + "\n" if header else ""
    cols = [column_text(df.iloc[:, j], sep, decimal, float_format) for j in range(df.shape[1])]
    rows = pc.binary_join_element_wise(*cols, pa.scalar(sep, pa.large_string()))
    end = pa.scalar("", pa.large_string())
    lines = pc.binary_join_element_wise(rows, end, pa.scalar("\n", pa.large_string()))
    offsets = np.frombuffer(lines.buffers()[1], np.int64)
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1]
    body = lines.buffers()[2].to_pybytes()[int(offsets[0]) : int(offsets[-1])]
    return header.encode("utf-8") + body
