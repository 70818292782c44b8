"""Roll-ups of additive tables: villages -> regencies / provinces, cells -> parent cells.

Every roll-up sums the additive columns (minimum for distances) and divides once
at the end, so a regency's rate re-aggregated from its villages is exactly the
ratio of summed numerators and denominators, never a mean of percentages.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from despro.grid import cells as grid
from despro.variables import Kind, Variable, additive_columns, finalize


def _split(add: pd.DataFrame, variables: list[Variable]) -> tuple[list[Variable], list, list]:
    present = [v for v in variables if all(c in add.columns for c in additive_columns(v))]
    mins = [v.name for v in present if v.kind is Kind.DISTANCE]
    sums = [c for v in present if v.kind is not Kind.DISTANCE for c in additive_columns(v)]
    return present, sums, mins


def group_additive(
    add: pd.DataFrame, keys: np.ndarray | pd.Series, variables: list[Variable]
) -> pd.DataFrame:
    """Sum (min for distances) the additive columns of ``add`` by ``keys``."""
    present, sums, mins = _split(add, variables)
    keys = np.asarray(keys)
    parts = []
    if sums:
        parts.append(add[sums].groupby(keys).sum(min_count=1))
    if mins:
        parts.append(add[mins].groupby(keys).min())
    return pd.concat(parts, axis=1)


def villages_to_admin(
    village_additive: pd.DataFrame,
    villages: pd.DataFrame,
    variables: list[Variable],
    level: Literal["regency", "province"] = "regency",
) -> pd.DataFrame:
    """Finished values per regency (4-digit code) or province (2-digit code).

    Parameters
    ----------
    village_additive : DataFrame
        Additive columns per village (``Result.village_additive``).
    villages : DataFrame
        With ``regency_code`` / ``province_code``, same index.
    variables : list of Variable
    """
    key = villages[f"{level}_code"].reindex(village_additive.index)
    add = group_additive(village_additive, key, variables)
    present, _, _ = _split(village_additive, variables)
    out = finalize(add, present)
    out.index.name = f"{level}_code"
    return out


def cells_to_parents(
    cell_additive: pd.DataFrame, cells: np.ndarray, res: int, variables: list[Variable]
) -> pd.DataFrame:
    """Finished values per parent cell at the coarser resolution ``res`` (for maps)."""
    parents = grid.parent_cells(np.asarray(cells, dtype=grid.CELL_DTYPE), res)
    add = group_additive(cell_additive, parents, variables)
    present, _, _ = _split(cell_additive, variables)
    out = pd.concat(
        [
            add,
            finalize(add, present).drop(
                columns=[c for c in add.columns if c in {v.name for v in present}], errors="ignore"
            ),
        ],
        axis=1,
    )
    out.index.name = "cell"
    return out
