"""Declared variables and the additive columns that carry them.

Every number despro aggregates is declared with a :class:`Variable`: its name,
its *kind*, its unit, the file it came from and the data vintage. The kind decides
how the value is stored in cell and village tables and how it is rolled up:

=============  ===============================  ==============================
kind           stored (additive) columns        finished value
=============  ===============================  ==============================
``count``      ``name``                          ``name`` (sum)
``rate``       ``name__num``, ``name__den``      ``100 * num / den`` (percent)
``intensive``  ``name__wsum``, ``name__w``        ``wsum / w`` (weighted mean)
``distance``   ``name`` (metres)                 ``min``
``category``   ``name__<class>`` per class       shares, dominant class
=============  ===============================  ==============================

Cells and villages never hold finished ratios in their additive form: every
roll-up is a sum (or a minimum for distances) followed by one division at the
very end. Where a source has no data its weight / denominator is 0 and the
finished value is NaN (unknown), never 0.

Covers: which rows a layer's data reach
---------------------------------------
A count or category sums to 0 where its source has no data, so the tables also
carry *covers*: per row, the share (0-1) of the cell or village that the data
cover. A row whose cover is 0 finishes as unknown (NaN) for those variables
(:func:`uncovered`). Covers travel between cells and villages as weighted means.

* ``<layer>__cover`` (:func:`cover_column`): the layer's cover. A layer with one
  source gives one cover, and it holds for every variable of the layer. A layer
  that gives a cover per variable gets here the row-wise maximum of them: the
  share reached by at least one of its variables (for a census: the village has a
  census row).
* ``<layer>__cover__<variable>`` (:func:`variable_cover_column`): only for layers
  that give a cover per variable (several sources or items, e.g. the census, where
  one row may answer one item and leave another blank). It decides for its
  variable, so one item's answer never makes another item known. (Not
  ``<variable>__cover``: a variable may share its name with a layer, as the
  villages' ``population`` count does with the population raster's layer.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from despro.errors import DesproError
from despro.rules.labels import labels_from_codes


class Kind(StrEnum):
    """How a variable aggregates."""

    COUNT = "count"
    RATE = "rate"
    INTENSIVE = "intensive"
    DISTANCE = "distance"
    CATEGORY = "category"


@dataclass(frozen=True)
class Variable:
    """A declared variable.

    Parameters
    ----------
    name : str
        Column stem, with its unit where it has one (``download_mbps``).
    kind : Kind
        Aggregation rule, see the module docstring.
    unit : str
        Unit of the finished value (``percent``, ``Mbps``, ``m``, ``outlets``...).
    description : str
        One sentence for people: what it measures, numerator and denominator for rates.
    layer : str
        The layer that produced it.
    source : str
        File (or table) it was read from.
    vintage : str
        Period the data describe (``2024``, ``2024-Q2``), or ``unknown``.
    classes : tuple of str
        For ``category`` variables, the class names.
    level : str
        Evidence level (``census``, ``village``, ``cells``, ``regency``, ``province``,
        ``country``):
        how directly the value observes a village; criteria prefer the level that comes
        first in ``criteria.evidence_order``.
    lower_bound : bool
        The value can only be too low (e.g. coverage modelled from an incomplete,
        crowd-sourced tower list): it proves a ``>=`` rule's pass (a ``<=`` rule's
        fail), never the other way; below the threshold the rule stays unknown.
    """

    name: str
    kind: Kind
    unit: str
    description: str
    layer: str
    source: str = ""
    vintage: str = "unknown"
    classes: tuple[str, ...] = field(default_factory=tuple)
    level: str = "cells"
    lower_bound: bool = False

    def columns(self) -> list[str]:
        """The additive columns that store this variable in cell / village tables."""
        return additive_columns(self)


def additive_columns(var: Variable) -> list[str]:
    """Names of the additive columns of ``var`` (see the module table)."""
    if var.kind is Kind.COUNT or var.kind is Kind.DISTANCE:
        return [var.name]
    if var.kind is Kind.RATE:
        return [f"{var.name}__num", f"{var.name}__den"]
    if var.kind is Kind.INTENSIVE:
        return [f"{var.name}__wsum", f"{var.name}__w"]
    if var.kind is Kind.CATEGORY:
        return [f"{var.name}__{c}" for c in var.classes]
    raise DesproError(f"unknown kind {var.kind!r}")


def cover_column(layer: str) -> str:
    """Name of the column holding the share (0-1) of each cell (or village) that
    ``layer``'s data cover (see "Covers" in the module docstring)."""
    return f"{layer}__cover"


def variable_cover_column(layer: str, variable: str) -> str:
    """Name of the column holding the share (0-1) of each cell (or village) where
    ``variable`` of ``layer`` is known, for layers that give a cover per variable."""
    return f"{cover_column(layer)}__{variable}"


def cover_of(table: pd.DataFrame, var: Variable) -> str | None:
    """The cover column of ``table`` that decides where ``var`` is known: its own
    (``<layer>__cover__<variable>``) when present, else its layer's, else None."""
    for col in (variable_cover_column(var.layer, var.name), cover_column(var.layer)):
        if col in table:
            return col
    return None


def uncovered(table: pd.DataFrame, var: Variable) -> np.ndarray | None:
    """Rows of ``table`` where ``var`` is unknown for want of data, not 0.

    A count or category sums to 0 where its source has no data; those rows (cover not
    > 0, a missing cover included) must read as unknown. The variable's own cover
    decides when the table has one, else its layer's (:func:`cover_of`). None for the
    other kinds, whose additive columns already say so (a zero denominator or weight),
    and for tables without a cover column for ``var``.
    """
    cov = cover_of(table, var)
    if var.kind not in (Kind.COUNT, Kind.CATEGORY) or cov is None:
        return None
    return ~(table[cov].to_numpy(float) > 0)


def min_columns(variables: Iterable[Variable]) -> list[str]:
    """Additive columns that combine by minimum (distances) rather than by sum."""
    return [v.name for v in variables if v.kind is Kind.DISTANCE]


def finalize(table: pd.DataFrame, variables: Iterable[Variable]) -> pd.DataFrame:
    """Finished values from additive columns.

    Parameters
    ----------
    table : DataFrame
        Holds the additive columns of every variable.
    variables : iterable of Variable

    Returns
    -------
    DataFrame
        Same index; one column per variable (``name``), plus for categories
        ``name_dominant`` (the class with the largest weight) and
        ``name_n_classes`` (classes with weight > 0, i.e. distinct classes present).
        Rates are percentages; a zero denominator gives NaN.
    """
    out = {}
    for v in variables:
        if v.kind is Kind.COUNT:
            out[v.name] = table[v.name].astype(float)
        elif v.kind is Kind.DISTANCE:
            out[v.name] = table[v.name].astype(float)
        elif v.kind is Kind.RATE:
            out[v.name] = 100.0 * _ratio(table[f"{v.name}__num"], table[f"{v.name}__den"])
        elif v.kind is Kind.INTENSIVE:
            out[v.name] = _ratio(table[f"{v.name}__wsum"], table[f"{v.name}__w"])
        elif v.kind is Kind.CATEGORY:
            cols = additive_columns(v)
            if not cols:
                out[f"{v.name}_n_classes"] = pd.Series(np.nan, index=table.index)
                out[f"{v.name}_dominant"] = pd.Series(pd.NA, index=table.index, dtype="string")
                continue
            n, dominant, none = _classes_present(table, cols)
            out[f"{v.name}_n_classes"] = pd.Series(n, index=table.index)
            dom = labels_from_codes(v.classes, dominant, none, dtype="string")
            out[f"{v.name}_dominant"] = dom.set_axis(table.index)
    return pd.DataFrame(out, index=table.index, copy=False)


def _classes_present(
    table: pd.DataFrame, cols: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a category's class weights: classes with weight > 0 (NaN where every
    weight is unknown), position of the largest weight (the first on ties) and whether
    there is no dominant class (nothing known or all weights 0).

    Column by column: reductions across a few columns of 2.5 M rows are several times
    faster this way than along the short axis of a (rows x classes) array.
    """
    known = np.zeros(len(table), bool)
    n = np.zeros(len(table))
    total = np.zeros(len(table))
    best = dominant = None
    for j, c in enumerate(cols):
        w = table[c].to_numpy(dtype=float)
        if np.isfinite(w).all():  # e.g. every cell column (spread from villages)
            known[:] = True
        else:
            known |= ~np.isnan(w)
            w = np.nan_to_num(w)
        n += w > 0
        total += w
        if best is None:
            best, dominant = w.copy(), np.zeros(len(table), np.int32)
        else:
            dominant[w > best] = j
            np.maximum(best, w, out=best)
    n[~known] = np.nan
    return n, dominant, (total <= 0) | ~known


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(float)
    den = den.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    return r.where(den > 0)
