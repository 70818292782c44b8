"""Numbers as text in the reader's language: ``12.345,6`` in Indonesian, ``12,345.6`` in English.

One formatter for every place that shows a number to a person: the map's pages and
panels (:mod:`despro.mapsite.labels` re-exports it) and the plan's notes
(:mod:`despro.rollout.notes`). A missing value is an en dash, never 0.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

DASH = "\u2013"


_ID_SEPARATORS = str.maketrans({",": ".", ".": ","})


def fmt_numbers(values: ArrayLike, lang: str, digits: int = 1) -> np.ndarray:
    """Texts of many numbers at once (object array): see :func:`fmt_number`.

    Each distinct value is formatted once (statistics of a province repeat over its
    villages).
    """
    v = np.asarray(values, dtype=float).ravel() + 0.0  # -0.0 -> 0.0: no "-0"
    uniq, inverse = np.unique(v, return_inverse=True)
    texts = np.full(len(uniq), DASH, dtype=object)
    known = ~np.isnan(uniq)
    spec, whole = f",.{digits}f", "." + "0" * digits
    formatted = []
    for x in uniq[known].tolist():
        text = format(x, spec)  # correctly rounded, like round(x, digits)
        if digits and (abs(x) >= 1e5 or text.endswith(whole)):
            text = format(x, ",.0f")
        formatted.append(text.translate(_ID_SEPARATORS) if lang == "id" else text)
    texts[known] = formatted
    return texts[inverse]


def fmt_number(v: float | None, lang: str, digits: int = 1) -> str:
    """``v`` with the language's separators; an en dash for a missing value.

    Whole numbers (after rounding to ``digits``) and numbers of 100,000 or more are
    written without decimals.
    """
    if v is None:
        return DASH
    return fmt_numbers([v], lang, digits)[0]
