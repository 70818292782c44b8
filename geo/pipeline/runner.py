"""The whole run, wired: config -> layers -> cells -> villages -> criteria -> scores.

``run(config)`` is pure apart from reading the inputs: it returns a
:class:`Result` holding GeoDataFrames; writing files is :mod:`despro.io.outputs`
and :mod:`despro.mapsite.site`. The CLI and notebooks call the same functions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from despro import layers as registry
from despro.aggregate.raster.reduce import cache_directory
from despro.aggregate.shared_ground import OVERLAP_TINY, shared_ground
from despro.aggregate.study import Study
from despro.config.settings import Config, load_config
from despro.config.vocab import STATES, UNDETERMINED
from despro.grid import cells as grid
from despro.grid.celltable import LazyCells
from despro.layer import LayerResult, Notes
from despro.model import ModelEvidence, model_evidence, p_ready_codes
from despro.pipeline import analysis, background
from despro.pipeline.background import ModelWorker
from despro.pipeline.cache import StepCache, step_key
from despro.pipeline.engines import Engine, LocalEngine, make_engine
from despro.pipeline.layersteps import build_layers, cached_step
from despro.rules.criteria import (
    CRITERIA,
    conflicts_table,
    criterion_codes,
    evaluate_verdicts,
    long_table,
)
from despro.rules.explain import explain_codes, rule_inputs
from despro.rules.labels import labels_from_codes
from despro.rules.score import (
    TIER_CODES,
    bounds_codes,
    composite_codes,
    far_fail_codes,
    rank_codes,
    tier_codes,
    tier_labels,
)
from despro.rules.verdicts import Verdicts
from despro.transfer.layers import finish, transfer_layer
from despro.transfer.weights import Weights, frame_to_cells
from despro.variables import Kind, Variable

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import lonboard


@dataclass
class Result:
    """Everything a run produces, in memory.

    Attributes
    ----------
    cells : GeoDataFrame
        One row per H3 cell: ``h3`` (string), ``h3_int`` (uint64), additive columns,
        finished values and the covers (``<layer>__cover``, and
        ``<layer>__cover__<variable>`` for a layer with a cover per variable; see
        :mod:`despro.variables`), ``village_score``, ``area_m2``; hexagon geometry
        (EPSG:4326). A run keeps the hexagons as WKB
        (:class:`~despro.grid.celltable.LazyCells`) and builds the GeoDataFrame on first
        access; :attr:`cell_columns` gives the columns without building it, and
        :meth:`cells_of` the cells of one village.
    villages : GeoDataFrame
        One row per village (index: the 10-digit ``village_code``), in this order:
        identity (``village_code``, ``village_name``, ``regency_code``,
        ``province_code``, ``regency_name``, ``province_name`` when known); per-village
        attributes (``<variable>_evidence``: the level that gave a value, flagship
        product); ``population``, ``households``; one column per finished variable,
        named as the variable, in its unit (``pct_*`` percent, ``*_mbps``, ``*_m``
        metres, counts); the covers; per rule ``<rule>_state`` (pass / fail / unknown)
        and ``<rule>_margin`` (in the rule's unit, negative = short by; the value the
        rule read and its threshold are in :attr:`criteria`); per criterion
        ``<criterion>_state`` (P1 ... I3); ``tier``, ``score``, ``score_best``,
        ``score_known_share``, ``rank``; why and what it would take
        (:data:`despro.rules.explain.EXPLAIN_COLUMNS`: ``binding_*``, ``n_fail``,
        ``n_unknown``, ``data_needed``); with ``[model] enabled``, ``<rule>_model_prob``,
        ``<rule>_prob``, ``<rule>_prob_evidence`` and ``p_ready``; village polygons.
    criteria : DataFrame
        Long table, one row per village and rule: value, op, threshold, state, margin and
        the evidence, layer, source and vintage that decided it (see
        :func:`despro.rules.criteria.evaluate_all`).
    conflicts : DataFrame
        Villages and rules where two evidence levels are known and disagree (the more
        trusted one decided; see :func:`despro.rules.criteria.evaluate_all`).
    village_additive : DataFrame
        The villages' additive columns (numerators, denominators, weights, counts), for
        exact roll-ups (:mod:`despro.transfer.rollup`).
    village_values : DataFrame
        What the rules read per village (finished values and ``<variable>_evidence``);
        :meth:`with_thresholds` and :meth:`with_weights` re-evaluate from it in memory.
    variables : dict
        Every declared variable by name.
    model : ModelEvidence or None
        Modelled evidence and its leave-one-province-out validation (``[model] enabled``;
        see :mod:`despro.model`), else None.
    verdicts : Verdicts or None
        The rules' verdicts as integer codes (:mod:`despro.rules.verdicts`), from which
        :meth:`with_thresholds` and :meth:`with_weights` re-evaluate; None in a Result
        made by an older despro (they then evaluate every rule again).

    The analysis methods (:meth:`with_thresholds`, :meth:`with_weights`, :meth:`explain`,
    :meth:`diff`, :meth:`cells_of`, :meth:`to_admin`, :meth:`shortlist`,
    :meth:`explore`) are in :mod:`despro.pipeline.analysis`.
    """

    config: Config
    _cells: gpd.GeoDataFrame | LazyCells
    villages: gpd.GeoDataFrame
    criteria: pd.DataFrame
    variables: dict[str, Variable]
    layers: dict[str, LayerResult]
    study: Study
    notes: Notes
    village_additive: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    step_keys: dict[str, str] = field(default_factory=dict)
    conflicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: ModelEvidence | None = None
    village_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    verdicts: Verdicts | None = field(default=None, repr=False, compare=False)
    #: regency / province outlines once built (:func:`despro.pipeline.analysis.admin_outlines`)
    outline_cache: dict[str, pd.Series] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def cells(self) -> gpd.GeoDataFrame:
        """The cell table (see the class docstring); built from the WKB on first access."""
        if isinstance(self._cells, LazyCells):
            self._cells = self._cells.geodataframe()
        return self._cells

    @cells.setter
    def cells(self, value: gpd.GeoDataFrame) -> None:
        self._cells = value

    @property
    def cell_columns(self) -> pd.DataFrame:
        """The cell table's columns without the geometry (never builds the hexagons)."""
        if isinstance(self._cells, LazyCells):
            return self._cells.columns
        return pd.DataFrame(self._cells.select_dtypes(exclude="geometry"))

    @property
    def n_cells(self) -> int:
        """Number of cells (without building the hexagons)."""
        return len(self._cells)

    def write_cells(self, path: Path | str) -> None:
        """Write the cell table as GeoParquet 1.1 (straight from the WKB while it is kept),
        with a ``bbox`` covering column and row groups of whole H3 parents
        (:meth:`~despro.grid.celltable.LazyCells.to_parquet`).

        Parameters
        ----------
        path : path
            The ``.parquet`` file to write (hexagons in EPSG:4326).
        """
        cells = self._cells
        if not isinstance(cells, LazyCells):  # built: back to WKB, for the same file
            import pyarrow as pa
            import shapely

            geom = cells.geometry.name
            cells = LazyCells(
                pd.DataFrame(cells.drop(columns=geom)),
                pa.array(shapely.to_wkb(cells.geometry.to_numpy(), flavor="iso"), pa.binary()),
                str(cells.crs),
            )
        cells.to_parquet(path)

    def to_admin(
        self,
        level: Literal["regency", "province"] = "regency",
        geometry: bool = True,
        summary: pd.DataFrame | None = None,
    ) -> gpd.GeoDataFrame:
        """Names, tier counts, exact rates and outlines per regency or province.

        Parameters
        ----------
        level : {'regency', 'province'}
        geometry : bool
            Add each unit's outline (the union of its H3 cells).
        summary : DataFrame, optional
            ``despro.rules.explain.summary(villages, level)`` when already computed.

        Returns
        -------
        GeoDataFrame
            See :func:`despro.pipeline.analysis.to_admin` (rates re-aggregated from
            summed numerators and denominators, never a mean of percentages).
        """
        return analysis.to_admin(self, level, geometry, summary)

    def shortlist(self) -> gpd.GeoDataFrame:
        """The top villages of the shortlist tiers, by rank.

        Returns
        -------
        GeoDataFrame
            ``rank``, names, ``lat`` / ``lon`` first, then every village column, with
            the village polygons (see :func:`despro.pipeline.analysis.shortlist`).
        """
        return analysis.shortlist(self)

    def with_thresholds(self, **thresholds: float) -> Result:
        """A new Result with rule thresholds changed, re-evaluated in memory.

        Parameters
        ----------
        **thresholds : float
            Rule id -> threshold in the rule's unit (``I2b=18``).

        Returns
        -------
        Result
            Equal to a rerun with those thresholds (see
            :func:`despro.pipeline.analysis.with_thresholds`).
        """
        return analysis.with_thresholds(self, **thresholds)

    def with_weights(self, **weights: float) -> Result:
        """A new Result with criterion weights of the composite score changed.

        Parameters
        ----------
        **weights : float
            Criterion (P1 ... I3) -> weight (>= 0, relative).

        Returns
        -------
        Result
            Same tiers, new scores and ranks (see
            :func:`despro.pipeline.analysis.with_weights`).
        """
        return analysis.with_weights(self, **weights)

    def explain(self, code: str, lang: str | None = None) -> pd.DataFrame:
        """One village's rules, values, thresholds, margins, evidence and what would decide it.

        Parameters
        ----------
        code : str
            10-digit village code (dotted accepted).
        lang : 'id' or 'en', optional
            Default ``config.run.lang``.

        Returns
        -------
        DataFrame
            One row per rule, with a heading in notebooks (see
            :func:`despro.pipeline.analysis.explain`).
        """
        return analysis.explain(self, code, lang)

    def diff(self, other: Result) -> pd.DataFrame:
        """Villages whose tier differs in ``other``, and the rules that moved.

        Parameters
        ----------
        other : Result
            Another run or what-if over the same villages.

        Returns
        -------
        GeoDataFrame
            See :func:`despro.pipeline.analysis.diff`.
        """
        return analysis.diff(self, other)

    def cells_of(self, code: str) -> gpd.GeoDataFrame:
        """The H3 cells one village overlaps.

        Parameters
        ----------
        code : str
            10-digit village code.

        Returns
        -------
        GeoDataFrame
            The cells' rows with ``overlap_m2``, ``share_of_village`` and
            ``share_of_cell`` (see :func:`despro.pipeline.analysis.cells_of`).
        """
        return analysis.cells_of(self, code)

    def explore(
        self,
        column: str = "tier",
        engine: Literal["folium", "lonboard"] = "folium",
        **kwargs: object,
    ) -> folium.Map | lonboard.Map:
        """An interactive map of the villages.

        Parameters
        ----------
        column : str
            Village column to colour by (tiers in colour-blind-safe colours).
        engine : {'folium', 'lonboard'}
            ``folium`` (a few thousand villages) or ``lonboard`` (deck.gl over GeoArrow,
            the optional ``despro[lonboard]`` extra: a national run's cells by
            ``village_score`` plus the villages, see :mod:`despro.io.lonboard_map`).
        **kwargs
            Passed to :meth:`geopandas.GeoDataFrame.explore` (folium) or
            :func:`despro.io.lonboard_map.explore` (``cells``, ``villages``...).

        Returns
        -------
        folium.Map or lonboard.Map
            See :func:`despro.pipeline.analysis.explore`.
        """
        if engine == "lonboard":
            from despro.io import lonboard_map

            return lonboard_map.explore(self, column, **kwargs)
        if engine != "folium":
            raise ValueError(f"engine must be 'folium' or 'lonboard', got {engine!r}")
        return analysis.explore(self, column, **kwargs)


class Progress:
    """Timed progress lines on stderr (silent when ``verbose`` is False).

    ``log_format='json'`` prints one JSON object per line (``ts``, ``elapsed_s``,
    ``step``, ``message``) for schedulers and log collectors.
    """

    def __init__(self, verbose: bool = True, log_format: str = "text", t0: float | None = None):
        self.verbose = verbose
        self.log_format = log_format
        self.t0 = time.perf_counter() if t0 is None else t0  # elapsed times count from t0
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def step(self, name: str, message: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
        if not self.verbose:
            return
        if self.log_format == "json":
            print(
                json.dumps(
                    {
                        "ts": datetime.now(UTC).isoformat(timespec="seconds"),
                        "elapsed_s": round(now - self.t0, 3),
                        "step": name,
                        "message": message,
                    }
                ),
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"[{now - self.t0:7.1f}s] {message}", file=sys.stderr, flush=True)


def _village_counts(study: Study) -> tuple[list[Variable], pd.DataFrame]:
    """Village population and households as count variables (they travel to cells)."""
    v = study.villages
    src = "villages"
    decl = [
        Variable(
            "population",
            Kind.COUNT,
            "people",
            "village population",
            "villages",
            src,
            level="village",
        ),
        Variable(
            "households",
            Kind.COUNT,
            "households",
            "village households",
            "villages",
            src,
            level="village",
        ),
    ]
    return decl, v[["population", "households"]].astype(float)


def validate_inputs(config: Config, notes: Notes) -> list[str]:
    """Read and check every input a config names; return one line per input checked.

    Runs each layer's ``read()`` only (contracts, codes, CRS, joins with the villages):
    no village <-> cell overlap is built and nothing is aggregated.

    Parameters
    ----------
    config : Config
        From :func:`despro.load_config`.
    notes : Notes
        Receives the repairs, dropped and unmatched rows found (the data-quality log).

    Returns
    -------
    list of str
        One line per input read, naming it.

    Raises
    ------
    InputError
        An input breaks its contract (the message names the file, row and fix).
    """
    villages = registry.VILLAGES.read(config.villages, config, notes)
    lines = [f"villages: {len(villages):,} from {config.path(config.villages.path)}"]
    if config.population is not None:
        registry.WEIGHTS.read(config.population, config, notes, villages)
        lines.append(f"population: {config.path(config.population.path)}")
    for layer in registry.LAYERS:
        cfg = getattr(config.layers, layer.NAME)
        if cfg is not None:
            inputs = layer.read(cfg, config, notes, villages)
            lines.append(f"{layer.NAME}: {', '.join(str(p) for p in inputs.files)}")
    return lines


def step_keys(config: Config) -> dict[str, str]:
    """Cache keys of every step (study, population, each layer) without running any.

    A key changes when the step's config section or the content of a file it reads
    changes, or when a step it depends on changes (every layer depends on the study
    and, through the transfer weights, on the population raster).
    """
    keys = {"study": step_key("study", config.villages, config, str(config.run.resolution))}
    if config.population is not None:
        keys["population"] = step_key("population", config.population, config, keys["study"])
    for layer in registry.LAYERS:
        cfg = getattr(config.layers, layer.NAME)
        if cfg is not None:
            keys[layer.NAME] = step_key(
                layer.NAME,
                cfg,
                config,
                keys["study"],
                keys.get("population", ""),
                config.run.weights,
            )
    return keys


def _read_study(
    config: Config, notes: Notes, engine: Engine | None = None
) -> tuple[gpd.GeoDataFrame, Study]:
    villages = registry.VILLAGES.read(config.villages, config, notes)
    study = (engine or LocalEngine()).build_study(villages, config.run.resolution)
    _note_shared_ground(study, villages, config, notes)
    return villages, study


def _note_shared_ground(
    study: Study, villages: gpd.GeoDataFrame, config: Config, notes: Notes
) -> None:
    """Note the pairs of villages that share ground (:mod:`despro.aggregate.shared_ground`)."""
    geoms = villages.geometry.reindex(study.village_index).to_numpy()
    pairs = shared_ground(study.area, study.cell_area_m2(), geoms)
    if pairs.empty:
        return
    codes = np.asarray(study.village_index.astype(str))
    notes.add(
        config.path(config.villages.path),
        "warning",
        f"{len(pairs)} pair(s) of villages share ground: at least {100 * OVERLAP_TINY:g} % of "
        "the smaller one lies in the other (found through the H3 cells they share; the ground "
        "is counted in both villages; kept: check the boundaries)",
        rows=[
            f"{codes[int(r.a)]} / {codes[int(r.b)]}: {100 * r.share:.1f} %"
            for r in pairs.itertuples()
        ],
    )


def run(
    config: Config | str | Path,
    verbose: bool = False,
    cache: StepCache | None = None,
    log_format: str = "text",
    *,
    engine: str | None = None,
    **engine_options,
) -> Result:
    """Run the pipeline on a config and return the in-memory :class:`Result`.

    Parameters
    ----------
    config : Config, str or Path
        A :class:`~despro.config.settings.Config` (from
        :func:`~despro.config.settings.load_config`) or the path of a ``despro.toml``.
    verbose : bool
        Print timed progress lines to stderr.
    cache : StepCache, optional
        Reuse the study overlap and layer tables whose config and input files are
        unchanged (see :mod:`despro.pipeline.cache`); ``Result.step_keys`` records the keys.
    engine : 'local' or 'dask', optional
        Where the overlap and the layers' cell tables are computed (default
        ``config.run.engine``); both give the same result (see :mod:`despro.pipeline.engines`).
    **engine_options
        For 'dask': ``partitions``, ``partition_resolution``, ``workers``,
        ``threads_per_worker``, ``processes``, ``scheduler`` or an open ``client``
        (see :meth:`despro.pipeline.dask.DaskEngine.open`); they override ``[run.dask]``.

    Returns
    -------
    Result
        Villages, cells, the criteria long table, conflicts and the declared variables,
        in memory; nothing is written (:func:`despro.write_outputs`,
        :func:`despro.write_map`).

    Raises
    ------
    ConfigError, InputError
        A bad config key or input (the message names the file, row or key and the fix).
    """
    if not isinstance(config, Config):
        config = load_config(config)
    eng = make_engine(config, engine, **engine_options)
    try:
        with cache_directory(config.cache_path()), ModelWorker() as worker:
            return _run(config, verbose, cache, log_format, eng, worker)
    finally:
        eng.close()


def _run(
    config: Config,
    verbose: bool,
    cache: StepCache | None,
    log_format: str,
    eng: Engine,
    worker: ModelWorker,
) -> Result:
    p = Progress(verbose, log_format)
    notes = Notes()
    if eng.name != "local":
        p.step("engine", eng.describe())

    def cached(name: str, key: str, build):
        """Build a step (``build(notes)``), or reuse it from ``cache``."""
        return cached_step(cache, name, key, notes, build)

    keys = step_keys(config)
    villages, study = cached("study", keys["study"], lambda n: _read_study(config, n, eng))
    if config.model.enabled and len(villages) >= background.MIN_VILLAGES:
        worker.start()  # imports scikit-learn on the other core while the layers load
    p.step(
        "grid",
        f"villages: {len(villages):,}; grid: {len(study.cells):,} H3 cells at "
        f"resolution {study.res}",
    )

    results: dict[str, LayerResult] = {}
    if config.population is not None:
        pop = cached(
            "population",
            keys["population"],
            lambda n: eng.build_layer(registry.WEIGHTS, config.population, study, config, n),
        )
        results["population"] = pop
        if config.run.weights == "population":
            study = study.with_population(pop.table["population_raster"])
        p.step("population", f"population: raster summed per cell; weights = {study.weighting}")
    built = {registry.WEIGHTS.NAME: registry.WEIGHTS}
    todo = [
        (layer, getattr(config.layers, layer.NAME))
        for layer in registry.LAYERS
        if getattr(config.layers, layer.NAME) is not None
    ]
    built.update({layer.NAME: layer for layer, _ in todo})
    weights = Weights(study.weights)  # normalised once for every layer's transfer

    def carry(r: LayerResult):
        return transfer_layer(r, weights, study.cell_index, study.village_index)

    # each layer carried to the other level and finished, kept with the layer in the
    # cache: when one layer changes, only that one is carried and finished again
    moved = {}
    if "population" in results:
        moved["population"] = cached(
            "population.transfer", keys["population"], lambda n: carry(pop)
        )
    layer_results, layer_moved = build_layers(
        todo,
        lambda layer, cfg, n: eng.build_layer(layer, cfg, study, config, n),
        carry,
        keys,
        cache,
        notes,
        parallel=eng.name == "local" and len(villages) >= background.MIN_VILLAGES,
        done=lambda name, r: p.step(name, f"{name}: {', '.join(v.name for v in r.variables)}"),
    )
    results.update(layer_results)
    moved.update(layer_moved)

    vdecl, vcounts = _village_counts(study)
    variables: dict[str, Variable] = {v.name: v for v in vdecl}
    for r in results.values():
        variables.update({v.name: v for v in r.variables})

    vcells = frame_to_cells(vcounts, weights, study.cell_index, list(vcounts.columns), [])
    cells_add = pd.concat(
        [vcells, *(t.cell_columns(results[name]) for name, t in moved.items())], axis=1
    )
    vil_add = pd.concat([vcounts, *(t.village_add for t in moved.values())], axis=1)
    covers = [c for t in moved.values() for c in t.covers]  # in order (see despro.variables)
    p.step("transfer", "cells <-> villages transferred")

    cell_vals = pd.concat([finish(vcells, vdecl), *(t.cell_values for t in moved.values())], axis=1)
    vil_vals = pd.concat(
        [finish(vcounts, vdecl), *(t.village_values for t in moved.values())], axis=1
    )
    attrs = [r.attributes for r in results.values() if r.attributes is not None]
    attributes = pd.concat(attrs, axis=1) if attrs else pd.DataFrame(index=villages.index)
    for name, r in results.items():
        derive = getattr(built[name], "derive", None)
        if derive is not None:
            extra, decl = derive(vil_vals, vil_add, attributes, r)
            vil_vals = pd.concat([vil_vals, extra], axis=1)
            variables.update({v.name: v for v in decl})

    # no folder of this machine in any output: sources and notes relative to the config
    variables = {k: replace(v, source=config.portable(v.source)) for k, v in variables.items()}
    notes.items = [
        {
            **n,
            # a file named relative to the working folder ("examples/../data/x.csv") is
            # named from the config's folder, as the config names it
            "file": config.portable(
                os.path.abspath(n["file"]) if n["file"] and os.path.exists(n["file"]) else n["file"]
            ),
            "message": config.portable(n["message"]),
        }
        for n in notes.items
    ]

    rules = config.criteria.rules
    per_village_level = [c for c in attributes.columns if c.endswith("_evidence")]
    evaluated = pd.concat([vil_vals, attributes[per_village_level]], axis=1)
    if config.model.enabled:  # fitted in the worker (if started) while the rules run here
        worker.submit(*model_args(evaluated, config, variables, study, villages))
    scored = score_villages(evaluated, config, variables, villages.index)
    p.step("criteria", f"criteria: {len(rules)} rules on {len(villages):,} villages")
    village_gdf = _village_table(villages, vil_vals, vil_add[covers], attributes)
    score = pd.Series(scored.score["score"], index=scored.verdicts.villages)
    cell_vals["village_score"] = _score_to_cells(study, score.reindex(village_gdf.index))
    cells = _cell_table(study, cells_add, cell_vals)
    modelled = None
    if config.model.enabled:  # the lowest evidence level: never changes a state or a tier
        modelled = worker.result()
        p.step("model", "; ".join(modelled.notes) or "model: no rule has observed answers")
    village_gdf = scored_columns(village_gdf, scored, modelled)
    long, conflicts = scored.long, scored.conflicts
    p.step("tables", "tables assembled")
    return Result(
        config,
        cells,
        village_gdf,
        long,
        variables,
        results,
        study,
        notes,
        vil_add,
        p.timings,
        keys,
        conflicts,
        modelled,
        evaluated,
        scored.verdicts,
    )


def _village_extent(study: Study, villages: pd.DataFrame) -> pd.DataFrame:
    """``area_km2`` (overlap with the study's cells) and ``population_per_km2`` per village."""
    area = pd.Series(
        np.asarray(study.area.sum(axis=1)).ravel() / 1e6, index=study.village_index
    ).reindex(villages.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = villages["population"].astype(float) / area.where(area > 0)
    return pd.DataFrame({"area_km2": area, "population_per_km2": density})


@dataclass
class Scored:
    """The rules' verdicts on every village (see :func:`score_villages`), as codes.

    Arrays are per village of ``verdicts.villages`` (the values' index); :func:`scored_columns`
    turns them into the village table's columns.
    """

    verdicts: Verdicts
    long: pd.DataFrame
    conflicts: pd.DataFrame
    states: np.ndarray  # villages x criteria state codes (P1 ... I3)
    tier: np.ndarray  # tier codes (positions in TIERS)
    score: dict[str, np.ndarray]  # score, score_best, score_known_share (0-100, 0-100, 0-1)
    rank: np.ndarray  # 1 = best
    why: pd.DataFrame  # EXPLAIN_COLUMNS


def score_villages(
    values: pd.DataFrame,
    config: Config,
    variables: dict[str, Variable],
    index: pd.Index,
    previous: tuple[Verdicts, pd.DataFrame] | None = None,
) -> Scored:
    """Evaluate the config's rules on the villages' values: states, tiers, scores, ranks, why.

    The one place a run and an in-memory re-evaluation (:mod:`despro.pipeline.analysis`)
    decide villages, so both give identical tables. Everything is computed on integer
    codes (:mod:`despro.rules.verdicts`); labels are gathered once, for the long table
    and the village columns.

    Parameters
    ----------
    values : DataFrame
        What the rules read per village (``Result.village_values``).
    config : Config
        Its ``[criteria]`` (rules, thresholds, evidence order, weights, tier rule).
    variables : dict
        Declared variables by name.
    index : Index
        The villages' codes (order of the village table).
    previous : (Verdicts, DataFrame), optional
        The verdicts and long table of an earlier evaluation of the same ``values``
        (``Result.verdicts``, ``Result.criteria``): rules defined as before are not
        evaluated again and unchanged text columns are shared. The result is the same.

    Returns
    -------
    Scored
    """
    crit = config.criteria
    rules = crit.rules
    verdicts = evaluate_verdicts(
        values,
        rules,
        variables,
        crit.evidence_order,
        previous=previous[0] if previous is not None else None,
    )
    long = long_table(verdicts, previous)
    states = criterion_codes(verdicts)
    tier = tier_codes(states, far_fail_codes(verdicts, crit.near_ready_fraction))
    sc = composite_codes(bounds_codes(verdicts), crit.weights)
    rk = rank_codes(tier, sc["score"], verdicts.code_order())
    why = explain_codes(
        verdicts,
        tier == TIER_CODES[UNDETERMINED],
        {r.id: r.label_id or r.id for r in rules},
        inputs=rule_inputs(rules, variables, registry.providers()),
        titles=registry.titles("id"),
    )
    return Scored(verdicts, long, conflicts_table(verdicts), states, tier, sc, rk, why)


def fit_model(
    values: pd.DataFrame,
    config: Config,
    variables: dict[str, Variable],
    study: Study,
    villages: pd.DataFrame,
) -> ModelEvidence:
    """Modelled evidence (``[model]``) for the villages' values (see :mod:`despro.model`)."""
    return model_evidence(*model_args(values, config, variables, study, villages))


def model_args(
    values: pd.DataFrame,
    config: Config,
    variables: dict[str, Variable],
    study: Study,
    villages: pd.DataFrame,
) -> tuple:
    """The arguments of :func:`despro.model.model_evidence` for a run's villages."""
    return (
        values,
        config.criteria.rules,
        variables,
        tuple(config.model.observed_levels),
        config.model.min_per_class,
        config.model.seed,
        _village_extent(study, villages),
    )


def _village_table(villages, vals, covers, attributes) -> gpd.GeoDataFrame:
    names = [c for c in ("regency_name", "province_name") if c in villages]
    out = villages[["village_code", "village_name", "regency_code", "province_code", *names]].copy()
    out = pd.concat([out, attributes.reindex(out.index)], axis=1)
    vals = vals.drop(columns=[c for c in ("population", "households") if c in vals])
    out = pd.concat([out, villages[["population", "households"]], vals], axis=1)
    out = pd.concat([out, covers], axis=1)
    return gpd.GeoDataFrame(out, geometry=villages.geometry, crs="EPSG:4326")


def scored_columns(
    base: gpd.GeoDataFrame,
    scored: Scored,
    modelled: ModelEvidence | None = None,
    previous: tuple[Verdicts, pd.DataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """``base`` (the village table up to the covers) with the verdict columns appended.

    Per rule ``<rule>_state`` / ``_margin``, per criterion ``<criterion>_state``, ``tier``,
    ``score``, ``score_best``, ``score_known_share``, ``rank``, the explain columns and,
    with a model, its probabilities and ``p_ready``. Labels are gathered from the codes
    here, once; ``previous`` (the verdicts and village table of an earlier evaluation of
    the same villages) lends the state columns of the rules evaluated with the same arrays.
    """
    v = scored.verdicts
    at = v.villages

    def series(x: object, dtype: object = None) -> pd.Series:
        return pd.Series(x, index=at, dtype=dtype, copy=False)

    cols: dict[str, pd.Series] = {}
    for name, col in _rule_columns(v, previous).items():
        cols[name] = series(col)
    states = np.asarray(STATES, dtype=object)[scored.states]
    for j, c in enumerate(CRITERIA):
        cols[f"{c}_state"] = series(states[:, j], object)
    cols["tier"] = tier_labels(scored.tier, at)
    for k in ("score", "score_best", "score_known_share"):
        cols[k] = series(scored.score[k])
    cols["rank"] = series(scored.rank.astype(int))
    cols.update(dict(scored.why.items()))  # why, and what it would take
    if modelled is not None:
        extra = pd.concat([modelled.probs.reindex(at), p_ready_codes(v, modelled.probs)], axis=1)
        cols.update(dict(extra.items()))
    if not base.index.equals(at):
        cols = {k: s.reindex(base.index) for k, s in cols.items()}
    else:
        cols = {k: s.set_axis(base.index) for k, s in cols.items()}
    geom = base.geometry.name
    head = {c: base[c] for c in base.columns if c != geom and c not in cols}
    # not consolidated (copy=False): the columns are used as they are
    out = pd.DataFrame({**head, **cols, geom: base[geom]}, copy=False)  # the polygons last
    return gpd.GeoDataFrame(out, geometry=geom, crs=base.crs, copy=False)


def _rule_columns(
    verdicts: Verdicts, previous: tuple[Verdicts, pd.DataFrame] | None = None
) -> dict[str, object]:
    """``<rule>_state`` and ``<rule>_margin`` per village of ``verdicts.villages``
    (missing where the rule has no row), rules in order. A rule whose arrays are those
    of ``previous`` (verdicts and their village table, same villages) keeps its state
    column from there instead of gathering its labels again."""
    v = verdicts
    same = {}
    if previous is not None and previous[0].parts is not None and v.parts is not None:
        old, table = previous
        if old.villages is v.villages or old.villages.equals(v.villages):
            same = {id(p): p.rule.id for p in old.parts}
    out: dict[str, object] = {}
    for j, rule in enumerate(v.rule_ids):
        part = v.parts[j] if v.parts is not None else None
        if part is not None and same.get(id(part)) == rule and f"{rule}_state" in table:
            out[f"{rule}_state"] = table[f"{rule}_state"].array
        else:
            state = v.by_village(j, v.state, -1).astype(np.int64)
            out[f"{rule}_state"] = labels_from_codes(
                list(STATES), np.maximum(state, 0), state < 0
            ).array
        out[f"{rule}_margin"] = v.by_village(j, v.margin, np.nan)
    return out


def _score_to_cells(study: Study, score: pd.Series) -> np.ndarray:
    """Weighted mean score of the villages sharing each cell (NaN where none is known)."""
    s = score.reindex(study.village_index).to_numpy(float)
    known = (~np.isnan(s)).astype(float)
    w = study.weights.T.tocsr()
    num = w @ np.nan_to_num(s)
    den = w @ known
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _cell_table(study: Study, add: pd.DataFrame, vals: pd.DataFrame) -> LazyCells:
    ids = study.cells
    # one frame built from the columns as they are: no concat / insert / reset_index, no
    # copies or block consolidation of 2.5 M rows; the hexagons stay WKB (see LazyCells)
    cols = {"h3": grid.cells_to_str_series(ids).array, "h3_int": ids.astype(np.uint64)}
    cols.update({c: add[c].array for c in add.columns})
    cols.update({c: vals[c].array for c in vals.columns if c not in cols})
    cols["area_m2"] = study.cell_area_m2()
    return LazyCells(pd.DataFrame(cols, copy=False), study.cell_wkb_array())
