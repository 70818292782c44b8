"""String columns built from integer codes, in arrow, without a Python string per row.

Long tables repeat a handful of labels (rule ids, states, layer names) hundreds of
thousands of times; converting such object arrays to pandas' arrow-backed strings
costs seconds at national scale. Here row i is ``labels[codes[i]]``, gathered by
arrow from the few distinct labels. The dtypes are pandas' own: ``str`` (missing =
NaN, what pandas infers from Python strings) or ``string`` (missing = ``pd.NA``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa


def labels_from_codes(
    labels: Sequence[str], codes: np.ndarray, missing: np.ndarray | None = None, dtype: str = "str"
) -> pd.Series:
    """String column whose row i is ``labels[codes[i]]`` (missing where ``missing``).

    Parameters
    ----------
    labels : sequence of str
    codes : ndarray of int
        Positions in ``labels``, one per row.
    missing : ndarray of bool, optional
        Rows without a label.
    dtype : 'str' or 'string'
        Pandas dtype of the result: ``str`` is what pandas infers from Python strings;
        ``string`` is the nullable string dtype (missing as ``pd.NA``).
    """
    codes = np.asarray(codes)
    if len(labels) == 0:
        codes = np.zeros(len(codes), np.int32)
        labels = [""]
        missing = np.ones(len(codes), bool)
    dictionary = pa.array(list(labels), pa.large_string())
    arr = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=missing), dictionary
    ).cast(pa.large_string())
    if dtype == "string":
        return pd.Series(pd.arrays.ArrowStringArray(arr), copy=False)
    if dtype == "str":
        return arr.to_pandas()
    raise ValueError(f"dtype must be 'str' or 'string', got {dtype!r}")


def codes_of(values: np.ndarray) -> tuple[np.ndarray, list]:
    """Integer codes and the distinct values of an object array (code -1: missing)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, list(uniques)
