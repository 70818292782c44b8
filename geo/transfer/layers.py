"""One layer's table carried to both units (cells and villages) and finished.

A layer is aggregated at one level (``cell`` or ``village``, :class:`despro.layer.LayerResult`);
its additive columns move to the other level over the overlap weights
(:mod:`despro.transfer.weights`) and its variables are then finished at both
(:func:`finish`). The result depends on nothing but the layer's table and the weights,
so a run keeps it with the layer in the step cache: when one layer changes, only that
layer is carried and finished again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from despro.layer import LayerResult
from despro.transfer.weights import Weights, frame_to_cells, frame_to_units
from despro.variables import Kind, Variable, additive_columns, finalize, min_columns, uncovered


@dataclass
class Transferred:
    """A layer at both levels.

    Attributes
    ----------
    cell_add : DataFrame or None
        Additive and cover columns per cell, spread from villages; None for a layer
        aggregated at cells (its own table and covers are the cell columns, see
        :meth:`cell_columns`).
    village_add : DataFrame
        Additive and cover columns per village (index: the study's village index).
    cell_values, village_values : DataFrame
        Finished values (:func:`finish`) per cell and per village.
    covers : list of str
        The cover columns (share 0-1), in order.
    """

    cell_add: pd.DataFrame | None
    village_add: pd.DataFrame
    cell_values: pd.DataFrame
    village_values: pd.DataFrame
    covers: list[str]

    def cell_columns(self, layer: LayerResult) -> pd.DataFrame:
        """Additive and cover columns per cell for ``layer`` (the one this was built from)."""
        if self.cell_add is not None:
            return self.cell_add
        return pd.concat([layer.table, layer.cover_table()], axis=1)


def finish(add: pd.DataFrame, decl: list[Variable]) -> pd.DataFrame:
    """Finished values of the variables whose additive columns are all in ``add``.

    Counts and categories read as unknown (NaN) where their cover is not > 0
    (:func:`despro.variables.uncovered`): a sum of nothing is not a zero.
    """
    present = [v for v in decl if all(c in add.columns for c in additive_columns(v))]
    vals = finalize(add, present)
    for v in present:
        unknown = uncovered(add, v)
        if unknown is not None:
            vals.loc[unknown, v.name if v.kind is Kind.COUNT else f"{v.name}_n_classes"] = np.nan
    return vals


def transfer_layer(
    layer: LayerResult, weights: Weights, cell_index: pd.Index, village_index: pd.Index
) -> Transferred:
    """Carry ``layer`` to the other level and finish its variables at both.

    Parameters
    ----------
    layer : LayerResult
        Aggregated at ``cell`` (rows: ``cell_index``) or ``village`` (rows: ``village_index``).
    weights : Weights
        The study's overlap weights (villages x cells).
    cell_index, village_index : Index
        Row labels of the cells and the villages.

    Returns
    -------
    Transferred
        Cell counts are split between the villages sharing a cell and village counts
        spread over their cells, both conserving totals; distances move as minima and
        covers as weighted means (:func:`despro.transfer.weights.frame_to_units`).
    """
    cover = layer.cover_table()
    covers = list(cover.columns)
    tab = pd.concat([layer.table, cover], axis=1)
    if layer.level == "cell":
        mins = min_columns(layer.variables)
        sums = [c for c in layer.table.columns if c not in mins]
        village_add = frame_to_units(tab, weights, village_index, sums, mins, covers)
        cell_add, cells = None, tab
    else:
        village_add = tab
        cell_add = frame_to_cells(tab, weights, cell_index, list(layer.table.columns), covers)
        cells = cell_add
    decl = list(layer.variables)
    return Transferred(
        cell_add, village_add, finish(cells, decl), finish(village_add, decl), covers
    )
