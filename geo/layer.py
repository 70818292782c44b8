"""The contract between a layer module and the engine.

A layer hands the engine a :class:`LayerResult`: its declared variables and a
table holding exactly their additive columns (see :mod:`despro.variables`),
either per H3 cell or per village. The engine refuses undeclared columns, so a
rate can never sneak in as a finished percentage and be summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd

from despro.errors import DesproError
from despro.variables import Variable, additive_columns, cover_column


@dataclass
class Notes:
    """What a run repaired, dropped or could not match, by file and row (data-quality log).

    Every row is kept (``data_quality.json`` lists them all; the readable
    ``data_quality.md`` shows the first rows of each note and the count).
    """

    items: list[dict] = field(default_factory=list)

    def add(self, file: str | Path, action: str, message: str, rows: list | None = None) -> None:
        """Record one note; ``action`` is 'repaired', 'dropped', 'unmatched' or 'warning'."""
        self.items.append(
            {
                "file": str(file),
                "action": action,
                "message": message,
                "rows": [str(r) for r in (rows or [])],
                "n_rows": len(rows or []),
            }
        )


@dataclass
class LayerResult:
    """What a layer gives the engine.

    Attributes
    ----------
    name : str
        Layer name (``broadband``, ``backbone``, ``smartphone``, ``courier``, ``products``).
    level : 'cell' or 'village'
        Whether ``table`` is indexed by uint64 cell id or by village code.
    variables : list of Variable
    table : DataFrame
        Exactly the additive columns of ``variables``.
    cover : Series
        Per row, fraction (0-1) of the cell / village that the source covers.
    inputs : list of Path
        Files read (hashed into the manifest).
    features : dict of GeoDataFrame
        Source features worth drawing on maps (routes, outlets).
    attributes : DataFrame, optional
        Village-level text attributes that are not aggregated (flagship product name).
    """

    name: str
    level: Literal["cell", "village"]
    variables: list[Variable]
    table: pd.DataFrame
    cover: pd.Series
    inputs: list[Path] = field(default_factory=list)
    features: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    attributes: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        declared = [c for v in self.variables for c in additive_columns(v)]
        extra = set(self.table.columns) - set(declared)
        missing = set(declared) - set(self.table.columns)
        if extra or missing:
            raise DesproError(
                f"layer '{self.name}' table does not match its declared variables: "
                f"undeclared {sorted(extra)}, missing {sorted(missing)}"
            )
        if not self.table.index.equals(self.cover.index):
            raise DesproError(f"layer '{self.name}': cover index differs from table index")

    @property
    def cover_column(self) -> str:
        return cover_column(self.name)
