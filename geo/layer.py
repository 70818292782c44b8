"""The contract between a layer module and the engine.

Every layer module (:mod:`despro.layers`, listed in its registry) has the same
parts, described by :class:`Layer`: ``NAME``, ``LEVEL``, a settings model, a
``read()`` that opens and checks its inputs (:class:`LayerInputs`), a pure
``aggregate()`` that turns them into a :class:`LayerResult`, an optional
``derive()``, and its map styles (:class:`Choropleth`) and labels. :func:`build`
runs one layer: ``aggregate(read(...))``.

A layer hands the engine a :class:`LayerResult`: its declared variables and a
table holding exactly their additive columns (see :mod:`despro.variables`),
either per H3 cell or per village. The engine refuses undeclared columns, so a
rate can never sneak in as a finished percentage and be summed.

Its ``cover`` says where the data reach: one Series for a layer whose variables
share one source, or one column per variable for a layer with several sources or
items (see "Covers" in :mod:`despro.variables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import geopandas as gpd
import pandas as pd

from despro.errors import DesproError
from despro.variables import Variable, additive_columns, cover_column, variable_cover_column

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from despro.aggregate.study import Study
    from despro.config.settings import Config


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
    cover : Series, DataFrame or mapping of variable name to Series
        Per row, fraction (0-1) of the cell / village that the data cover. A Series
        holds for every variable (a layer with one source). A DataFrame (or a
        mapping, turned into one) has one column per declared variable, named by the
        variable: a layer with several sources or items says where each variable is
        known, so one item's answer never makes another known. Where a variable is
        unknown its cover is 0 and it finishes as NaN (unknown), never 0.
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
    cover: pd.Series | pd.DataFrame
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
        if isinstance(self.cover, Mapping):
            self.cover = pd.DataFrame(dict(self.cover))  # indexes that differ fail below
        if not self.table.index.equals(self.cover.index):
            raise DesproError(f"layer '{self.name}': cover index differs from table index")
        if isinstance(self.cover, pd.DataFrame):
            names = [v.name for v in self.variables]
            if sorted(self.cover.columns) != sorted(names):
                raise DesproError(
                    f"layer '{self.name}' gives a cover per variable for "
                    f"{sorted(self.cover.columns)} but declares {sorted(names)}: give one "
                    "column per declared variable, or one Series for all of them"
                )

    @property
    def cover_column(self) -> str:
        """Name of the layer's cover column (``<layer>__cover``)."""
        return cover_column(self.name)

    @property
    def per_variable(self) -> bool:
        """Whether the layer gives a cover per variable rather than one for all."""
        return isinstance(self.cover, pd.DataFrame)

    def cover_table(self) -> pd.DataFrame:
        """The cover columns the engine carries with the layer's table (share 0-1).

        ``<layer>__cover`` always; for a cover per variable it is the row-wise maximum
        (the share reached by at least one variable) and each variable adds its own
        ``<layer>__cover__<variable>`` (:func:`despro.variables.variable_cover_column`).
        """
        if not self.per_variable:
            return self.cover.rename(self.cover_column).to_frame()
        cols = {self.cover_column: self.cover.max(axis=1).astype(float)}
        for v in self.variables:
            cols[variable_cover_column(self.name, v.name)] = self.cover[v.name].astype(float)
        return pd.DataFrame(cols, index=self.table.index)


@dataclass
class LayerInputs:
    """What a layer's ``read()`` hands its ``aggregate()``: checked inputs, nothing aggregated.

    Attributes
    ----------
    files : list of Path
        Files read, in the order the layer reads them (hashed into the manifest).
    data : dict
        The validated inputs by name (frames, GeoDataFrames, arrays, or the path of a
        checked raster that ``aggregate()`` streams block by block).
    """

    files: list[Path] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __contains__(self, key: str) -> bool:
        return key in self.data


@dataclass(frozen=True)
class Choropleth:
    """One cell layer of the map site: which finished column, its classes and colours.

    ``breaks`` are in display units (after the unit's scale); a rule threshold on the
    same variable is added as a break so that the colours change exactly there. The
    caption is the map label named ``key`` (a layer's ``LABELS``). ``position`` orders
    the cell layers in the map's layer list (lower first; score is 0).
    """

    key: str
    column: str
    unit: str
    breaks: tuple[float, ...]
    higher_is_better: bool = True
    digits: int = 1
    show: bool = False
    position: int = 1000


class Layer(Protocol):
    """The shape of a layer module (the registry :data:`despro.layers.LAYERS` lists them).

    Attributes
    ----------
    NAME : str
        Its config section (``[layers.<NAME>]``), cover column and step name.
    LEVEL : 'cell' or 'village'
        The level of its table.
    Settings : type of pydantic model
        The model of its config section.
    CHOROPLETHS : tuple of Choropleth
        Its cell layers on the map site.
    LABELS : dict
        ``{"id": {key: text}, "en": {key: text}}``: the map labels it adds.
    TITLE : dict
        ``{"id": text, "en": text}``: the input's name in texts ("perlu data kurir").
    PROVIDES : tuple of str
        The variables it can give that a rule may name (configured or not).

    Optional parts: ``derive(values, additive, attributes, result) -> (frame,
    variables)``, village variables computed after the transfer (``values`` and
    ``additive`` are the villages' finished and additive columns); ``cell_local(cfg) ->
    bool``, True when a cell's row depends on that cell alone, so the dask engine may
    build the table per partition of cells (:mod:`despro.pipeline.dask`).
    """

    NAME: str
    LEVEL: Literal["cell", "village"]
    Settings: type[BaseModel]
    CHOROPLETHS: tuple[Choropleth, ...]
    LABELS: dict[str, dict[str, str]]
    TITLE: dict[str, str]
    PROVIDES: tuple[str, ...]

    def read(
        self, cfg: Any, config: Config, notes: Notes, villages: gpd.GeoDataFrame
    ) -> LayerInputs:
        """Open and check the inputs (contracts, codes, CRS, joins with ``villages``)."""

    def aggregate(self, inputs: LayerInputs, cfg: Any, study: Study, notes: Notes) -> LayerResult:
        """The layer's table on the study's cells or villages, from ``read()``'s inputs."""


def build(layer: Layer, cfg: Any, study: Study, config: Config, notes: Notes) -> LayerResult:
    """Run one layer on a study: ``layer.aggregate(layer.read(...))``.

    Parameters
    ----------
    layer : Layer
        A layer module of the registry (or any object of that shape).
    cfg : pydantic model
        The layer's settings (its ``[layers.<name>]`` section).
    study : Study
        Villages, cells and their overlap.
    config : Config
        The whole run's configuration (paths are resolved against its file).
    notes : Notes
        Collects what was repaired, dropped or unmatched.
    """
    inputs = layer.read(cfg, config, notes, study.villages)
    return layer.aggregate(inputs, cfg, study, notes)
