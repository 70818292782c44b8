"""Where the pipeline's heavy steps execute: this process, or a dask cluster.

:func:`despro.pipeline.runner.run` asks an engine for the two steps whose cost grows
with the study area: the village <-> cell overlap (:meth:`build_study`) and each
layer's table (:meth:`build_layer`). Everything after them (transfers, finished
values, criteria, tiers) is the same code for every engine, on the assembled
tables. :class:`LocalEngine` calls the kernels directly;
:class:`despro.pipeline.dask.DaskEngine` calls the same kernels per partition
of H3 parent cells and assembles exactly the tables the local engine builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import geopandas as gpd

from despro.aggregate.study import Study, build_study
from despro.config.settings import Config
from despro.errors import ConfigError
from despro.layer import Layer, LayerResult, Notes, build

if TYPE_CHECKING:
    from pydantic import BaseModel

ENGINES = ("local", "dask")


class Engine(Protocol):
    """What the pipeline needs from an engine."""

    name: str

    def describe(self) -> str:
        """One line for the progress log."""

    def build_study(self, villages: gpd.GeoDataFrame, res: int) -> Study:
        """Overlap of every village with the H3 cells at ``res`` it touches (area weights)."""

    def build_layer(
        self, layer: Layer, cfg: BaseModel, study: Study, config: Config, notes: Notes
    ) -> LayerResult:
        """The layer's table on the whole study (its ``aggregate(read(...))``)."""

    def close(self) -> None:
        """Release what the engine started (a cluster); idempotent."""


class LocalEngine:
    """Everything in this process (the kernels use a few threads where they can)."""

    name = "local"

    def describe(self) -> str:
        return "engine: local"

    def build_study(self, villages: gpd.GeoDataFrame, res: int) -> Study:
        return build_study(villages, res)

    def build_layer(
        self, layer: Layer, cfg: BaseModel, study: Study, config: Config, notes: Notes
    ) -> LayerResult:
        return build(layer, cfg, study, config, notes)

    def close(self) -> None:
        pass


def make_engine(config: Config, engine: str | None = None, **options) -> Engine:
    """The engine named by ``engine`` (default ``config.run.engine``).

    ``options`` go to :meth:`despro.pipeline.dask.DaskEngine.open` (``partitions``,
    ``partition_resolution``, ``workers``, ``threads_per_worker``, ``processes``,
    ``scheduler``, ``client``); they override ``[run.dask]`` of the config.
    """
    name = engine or config.run.engine
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; use one of {list(ENGINES)}", key="run.engine")
    if name == "local":
        given = sorted(k for k, v in options.items() if v is not None)
        if given:
            raise ConfigError(
                f"{given} only apply to engine 'dask'; add engine='dask' (CLI: --engine dask)",
                key="run.engine",
            )
        return LocalEngine()
    from despro.pipeline.dask import DaskEngine

    return DaskEngine.open(config, **options)
