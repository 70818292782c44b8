"""Moving additive columns between units (villages, tiles, admin areas) and cells.

Both directions are sparse matrix products over the overlap weights ``W``
(units x cells, see :mod:`despro.aggregate.overlap`):

* unit -> cells: each unit's quantity is spread over its cells in proportion to
  its weights (``W`` normalised by row);
* cells -> units: each cell's quantity is split between the units that share it in
  proportion to their weights (``W`` normalised by column).

Both conserve totals exactly (up to float rounding) for every cell / unit with a
positive weight. Coverage fractions are intensive and move as weighted means;
distances move as minima over the cells a unit touches.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _normalise(w: sp.csr_matrix, axis: int) -> sp.csr_matrix:
    s = np.asarray(w.sum(axis=axis)).ravel()
    inv = np.divide(1.0, s, out=np.zeros_like(s, dtype=float), where=s > 0)
    d = sp.diags(inv)
    return (d @ w).tocsr() if axis == 1 else (w @ d).tocsr()


class Weights:
    """Overlap weights (units x cells) with their normalised forms, each computed once.

    Every transfer of a run moves columns over the same matrix; normalising it again
    for each layer cost as much as the products themselves at national scale. Pass a
    ``Weights`` wherever a function below takes ``w`` to share the normalisations.
    """

    def __init__(self, w: sp.spmatrix):
        self.matrix = sp.csr_matrix(w)

    @cached_property
    def by_unit(self) -> sp.csr_matrix:
        """Rows sum to 1: a unit's share in each of its cells."""
        return _normalise(self.matrix, axis=1)

    @cached_property
    def by_cell(self) -> sp.csr_matrix:
        """Columns sum to 1: each unit's share of a cell."""
        return _normalise(self.matrix, axis=0)

    # cells x units, stored by row: a product with it runs several times faster than
    # with the column-stored transpose that ``.T`` gives
    @cached_property
    def by_unit_transposed(self) -> sp.csr_matrix:
        """``by_unit.T`` (cells x units), row-stored."""
        return self.by_unit.T.tocsr()

    @cached_property
    def by_cell_transposed(self) -> sp.csr_matrix:
        """``by_cell.T`` (cells x units), row-stored."""
        return self.by_cell.T.tocsr()


def _zero_nan(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values)``, without the copy when every value is finite already."""
    v = np.asarray(values)
    return v if np.isfinite(v).all() else np.nan_to_num(v, nan=0.0)


def _weights(w: sp.spmatrix | Weights) -> Weights:
    return w if isinstance(w, Weights) else Weights(w)


def units_to_cells(values: np.ndarray, w: sp.spmatrix | Weights) -> np.ndarray:
    """Spread extensive unit values (n_units x k) onto cells (n_cells x k)."""
    return np.asarray(_weights(w).by_unit_transposed @ _zero_nan(values))


def cells_to_units(values: np.ndarray, w: sp.spmatrix | Weights) -> np.ndarray:
    """Collect extensive cell values (n_cells x k) into units (n_units x k)."""
    return np.asarray(_weights(w).by_cell @ _zero_nan(values))


def mean_to_units(values: np.ndarray, w: sp.spmatrix | Weights) -> np.ndarray:
    """Weighted mean over each unit's cells of an intensive cell value (e.g. cover)."""
    return np.asarray(_weights(w).by_unit @ _zero_nan(values))


def mean_to_cells(values: np.ndarray, w: sp.spmatrix | Weights) -> np.ndarray:
    """Weighted mean over each cell's units of an intensive unit value."""
    return np.asarray(_weights(w).by_cell_transposed @ _zero_nan(values))


def min_to_units(values: np.ndarray, w: sp.spmatrix | Weights) -> np.ndarray:
    """Minimum over the cells each unit touches (NaN where none is known).

    Parameters
    ----------
    values : ndarray, shape (n_cells,) or (n_cells, k)
    w : csr_matrix, shape (n_units, n_cells), or :class:`Weights`
    """
    v = np.asarray(values, dtype=float)
    squeeze = v.ndim == 1
    v = v.reshape(len(v), -1)
    w = _weights(w).matrix
    out = np.full((w.shape[0], v.shape[1]), np.nan)
    has = np.diff(w.indptr) > 0
    if has.any():
        # reduceat over the CSR column lists: one vectorised pass, no Python loop per unit
        starts = w.indptr[:-1][has]
        gathered = v[w.indices]
        gathered = np.where(np.isnan(gathered), np.inf, gathered)
        mins = np.minimum.reduceat(gathered, starts, axis=0)
        mins[np.isinf(mins)] = np.nan
        out[has] = mins
    return out[:, 0] if squeeze else out


def frame_to_units(
    cells: pd.DataFrame,
    w: sp.spmatrix | Weights,
    index: pd.Index,
    sum_cols: list[str],
    min_cols: list[str],
    mean_cols: list[str],
) -> pd.DataFrame:
    """Apply the right transfer to each column of a cell table (rows = columns of ``w``).

    The frames wrap the fresh result arrays (``copy=False``): copying 2.5 M-row blocks
    again was a second of a national rerun.
    """
    parts = []
    if sum_cols:
        parts.append(
            pd.DataFrame(
                cells_to_units(cells[sum_cols].to_numpy(float), w),
                index=index,
                columns=sum_cols,
                copy=False,
            )
        )
    if min_cols:
        parts.append(
            pd.DataFrame(
                min_to_units(cells[min_cols].to_numpy(float), w),
                index=index,
                columns=min_cols,
                copy=False,
            )
        )
    if mean_cols:
        parts.append(
            pd.DataFrame(
                mean_to_units(cells[mean_cols].to_numpy(float), w),
                index=index,
                columns=mean_cols,
                copy=False,
            )
        )
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=index)


def frame_to_cells(
    units: pd.DataFrame,
    w: sp.spmatrix | Weights,
    index: pd.Index,
    sum_cols: list[str],
    mean_cols: list[str],
) -> pd.DataFrame:
    """Spread a unit table's extensive columns and average its intensive ones onto cells."""
    parts = []
    if sum_cols:
        parts.append(
            pd.DataFrame(
                units_to_cells(units[sum_cols].to_numpy(float), w),
                index=index,
                columns=sum_cols,
                copy=False,
            )
        )
    if mean_cols:
        parts.append(
            pd.DataFrame(
                mean_to_cells(units[mean_cols].to_numpy(float), w),
                index=index,
                columns=mean_cols,
                copy=False,
            )
        )
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=index)
