"""The ``dask`` engine: the pipeline's heavy steps per partition of H3 parent cells.

``run(config, engine="dask")`` (CLI ``despro run --engine dask``) runs the same
pipeline as the local engine; only the two steps that grow with the study area go
to a dask cluster, cut into partitions of whole coarse parent cells
(``run.partition_resolution``, default 3; see :mod:`despro.grid.partition`):

1. **Study overlap.** Villages are grouped by the parent cell holding a point on
   their surface; each partition computes its villages' complete overlap rows
   (:func:`despro.aggregate.overlap.polygon_overlap`, unchanged) with every cell they
   touch, also across the partition's edge. The rows are stacked into the one
   villages x cells matrix, entry for entry the local engine's.
2. **Cell tables of the layers.** Cells are grouped by their parent; each
   partition runs the layer (``aggregate(read(...))``) on a study holding all villages but
   only its cells (inside :func:`despro.grid.extent.partition_extent`, so rasters
   are read only around the partition and far polygons are skipped). A cell's
   additive columns depend on that cell alone, so the partitions' tables are
   disjoint parts of the whole table: they combine by concatenation (a sum of
   tables with disjoint support; a village's partial sums from two partitions add
   up in the transfer that follows).

Then the local code takes over on the client: population weights, cell -> village
transfers (sums, minima for distances) as sparse products over the whole matrix,
finished values, criteria, tiers. A village straddling partitions therefore gets
exactly the local engine's numbers, whatever the partition or worker count.

What is parallel: the overlap and the partitioned layers' cell tables (every
partition of one layer at once). What is not: reading the villages, the
village-level layers (statistics, products, census: table joins, built on the
client), layers not known to be cell-local (no ``cell_local(cfg)`` saying so, see
:mod:`despro.layers`), and the
transfer / criteria steps (seconds nationally). Every partition reads its layer's
vector files whole (rasters only around the partition), so more partitions cost
more reading. Data-quality notes are merged (a note raised by every partition is
kept once); a note that counts raster pixels counts those its partition read.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from despro import layers as registry
from despro.aggregate.overlap import polygon_overlap
from despro.aggregate.raster.reduce import cache_directory
from despro.aggregate.study import Study
from despro.config.settings import Config
from despro.errors import ConfigError, DesproError
from despro.grid import cells as grid
from despro.grid import partition
from despro.grid.extent import Extent, partition_extent
from despro.layer import Layer, LayerResult, Notes, build

if TYPE_CHECKING:
    from dask.distributed import Client
    from pydantic import BaseModel


def partitioned(layer: Layer, cfg: BaseModel) -> bool:
    """Whether the layer's cell table may be built per partition of cells.

    True when the layer says (``cell_local(cfg)``) that a cell's row depends only on
    that cell and the inputs, so building it on a partition's cells gives the whole
    study's rows exactly. Any other layer (village-level ones, new ones, or these with
    an option that looks at the whole study) is built on the client on the whole
    study: correct, not parallel.
    """
    cell_local = getattr(layer, "cell_local", None)
    return layer.LEVEL == "cell" and cell_local is not None and bool(cell_local(cfg))


def _overlap_part(geoms: np.ndarray, res: int):
    """Task: complete overlap rows of some villages (see :func:`polygon_overlap`)."""
    return polygon_overlap(geoms, res)


def _layer_part(
    name: str,
    cfg,
    config: Config,
    villages: gpd.GeoDataFrame,
    res: int,
    cells: np.ndarray,
    cell_area: np.ndarray,
    area: sp.csr_matrix,
    weights: sp.csr_matrix,
    weighting: str,
    extent: Extent,
    keep_features: bool,
):
    """Task: one layer's table on one partition's cells; returns (LayerResult, notes)."""
    study = Study(villages, res, cells, area, weights, weighting, cell_area)
    notes = Notes()
    with cache_directory(config.cache_path()), partition_extent(extent):
        r = build(registry.get(name), cfg, study, config, notes)
    if not keep_features:
        r.features = {}
    return r, notes.items


def _peak_rss_mb() -> float:
    """Task: peak resident memory (MB) of the calling process since it started."""
    import resource
    import sys

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)


class DaskEngine:
    """Runs the overlap and the cell-local layers on a dask cluster (see the module).

    Use :meth:`open`; :meth:`close` shuts down a cluster the engine started (never
    one it attached to).
    """

    name = "dask"

    def __init__(self, client, cluster, partitions: int | None, parent_res: int, owns_client: bool):
        self.client = client
        self.cluster = cluster
        self.partitions = partitions
        self.parent_res = parent_res
        self.owns_client = owns_client
        self.used: dict[str, int] = {}  # step -> partitions it ran on
        self._plans: dict[int, tuple] = {}

    @classmethod
    def open(
        cls,
        config: Config,
        partitions: int | None = None,
        partition_resolution: int | None = None,
        workers: int | None = None,
        threads_per_worker: int | None = None,
        processes: bool | None = None,
        scheduler: str | None = None,
        client: Client | None = None,
    ) -> DaskEngine:
        """Start a LocalCluster (or attach to ``scheduler``, or use ``client``).

        Parameters
        ----------
        config : Config
            ``run.partition_resolution`` and ``[run.dask]`` give the defaults.
        partitions : int, optional
            Partitions per step; default twice the cluster's worker threads, never more
            than the parent cells.
        partition_resolution : int, optional
            H3 resolution of the parent cells (0 .. run.resolution; 3 is ~12,000 km2).
        workers, threads_per_worker, processes : optional
            LocalCluster size; default: dask sizes it to the machine (processes).
        scheduler : str, optional
            Address of a running scheduler (``tcp://10.0.0.5:8786``); its workers need
            despro installed and the input files at the same paths.
        client : distributed.Client, optional
            An existing client (kept open by :meth:`close`).
        """
        d = config.run.dask
        pr = (
            config.run.partition_resolution
            if partition_resolution is None
            else partition_resolution
        )
        if not 0 <= pr <= config.run.resolution:
            raise ConfigError(
                f"partition_resolution {pr} must lie in 0..{config.run.resolution}"
                " (run.resolution); use 3 or 4",
                key="run.partition_resolution",
            )
        parts = d.partitions if partitions is None else partitions
        if parts is not None and parts < 1:
            raise ConfigError(f"partitions must be >= 1 (got {parts})", key="run.dask.partitions")
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise DesproError(
                "the dask engine needs dask and distributed. Fix: pip install "
                "'despro[dask]', or use engine 'local'"
            ) from None
        if client is not None:
            return cls(client, None, parts, pr, owns_client=False)
        address = scheduler or d.scheduler
        given = {
            "workers": workers,
            "threads_per_worker": threads_per_worker,
            "processes": processes,
        }
        local_opts = [k for k, v in given.items() if v is not None]
        if address and local_opts:
            raise ConfigError(
                f"{local_opts} size a local cluster and cannot apply to the "
                f"scheduler at {address}; drop them or the scheduler",
                key="run.dask.scheduler",
            )
        if address:
            try:
                c = Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise DesproError(
                    f"cannot reach the dask scheduler at {address}: {exc}. Fix: "
                    "start it (dask scheduler) or drop --scheduler to use a "
                    "local cluster"
                ) from None
            return cls(c, None, parts, pr, owns_client=True)
        n = workers if workers is not None else d.workers
        tpw = threads_per_worker if threads_per_worker is not None else d.threads_per_worker
        if tpw is None and n is not None:
            tpw = 1
        procs = d.processes if processes is None else processes
        # the scheduler's HTTP endpoint (dashboard, health) on a free loopback port
        kwargs = {
            "n_workers": n,
            "threads_per_worker": tpw,
            "processes": procs,
            "dashboard_address": "127.0.0.1:0",
        }
        if procs:
            kwargs["host"] = "127.0.0.1"  # loopback only
        cluster = LocalCluster(**{k: v for k, v in kwargs.items() if v is not None})
        return cls(Client(cluster), cluster, parts, pr, owns_client=True)

    # -- facts -----------------------------------------------------------------------
    def threads(self) -> int:
        """Worker threads in the cluster."""
        return max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        nt = self.client.nthreads()
        where = "local cluster" if self.cluster is not None else self.client.scheduler.address
        kind = ""
        if self.cluster is not None:
            kind = ", processes" if getattr(self.cluster, "processes", True) else ", threads"
        want = self.partitions or 2 * self.threads()
        return (
            f"engine: dask ({where}: {len(nt)} workers, {sum(nt.values())} threads{kind});"
            f" up to {want} partitions of H3 res-{self.parent_res} parent cells"
        )

    def peak_memory_mb(self) -> dict[str, float]:
        """Peak resident memory (MB) of each worker process since it started."""
        return self.client.run(_peak_rss_mb)

    def close(self) -> None:
        """Drop this run's scattered data; close the client and cluster the engine opened."""
        plans, self._plans = self._plans, {}
        scattered = [plan["villages"] for _, plan in plans.values()]
        if scattered and self.client.status == "running":
            self.client.cancel(scattered)
        if self.owns_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def _n(self) -> int:
        return self.partitions or 2 * self.threads()

    def _gather(self, futures: list) -> list:
        try:
            return self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise

    # -- the two steps -----------------------------------------------------------------
    def build_study(self, villages: gpd.GeoDataFrame, res: int) -> Study:
        """The villages x cells overlap, computed per partition of villages."""
        res = grid.check_resolution(res)
        geoms = np.asarray(villages.geometry.values, dtype=object)
        n = len(geoms)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        pts = shapely.point_on_surface(geoms[ok])
        parents = np.zeros(n, grid.CELL_DTYPE)
        parents[ok] = grid.lonlat_to_cells(shapely.get_x(pts), shapely.get_y(pts), self.parent_res)
        work = shapely.get_num_coordinates(geoms) + 1.0
        labels, k = partition.plan(parents, work, self._n())
        groups = [np.flatnonzero(labels == i) for i in range(k)]
        tag = uuid.uuid4().hex[:8]
        futs = [
            self.client.submit(
                _overlap_part, geoms[g], res, pure=False, key=f"despro-overlap-{tag}-{i}"
            )
            for i, g in enumerate(groups)
        ]
        parts = self._gather(futs)
        self.used["study"] = k
        if not parts:
            m = sp.csr_matrix((n, 0))
            return Study(villages, res, np.empty(0, grid.CELL_DTYPE), m, m.copy(), "area")
        cells = grid.unique_cells(np.concatenate([ov.cells for ov in parts]))
        rows, cols, vals = [], [], []
        for g, ov in zip(groups, parts, strict=True):
            coo = ov.matrix.tocoo()
            rows.append(g[coo.row])
            cols.append(np.searchsorted(cells, ov.cells)[coo.col])
            vals.append(coo.data)
        m = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, len(cells)),
        )
        m.sum_duplicates()
        area = np.empty(len(cells))
        for ov in parts:
            area[np.searchsorted(cells, ov.cells)] = ov.cell_area
        study = Study(
            villages, res, cells.astype(grid.CELL_DTYPE), m, m.copy(), "area", cell_area=area
        )
        study.cell_wkb = grid.cell_wkb(study.cells)  # kept (and cached) with the study
        return study

    def _plan(self, study: Study) -> dict:
        """Cell partitions of ``study`` (cached per study object) and what each task needs."""
        hit = self._plans.get(id(study))
        if hit is not None and hit[0] is study:
            return hit[1]
        cells = study.cells
        labels, k = partition.plan(
            grid.parent_cells(cells, self.parent_res), np.ones(len(cells)), self._n()
        )
        villages = self.client.scatter(study.villages, broadcast=True, hash=False)
        area, weights, cell_area = study.area.tocsc(), study.weights.tocsc(), study.cell_area_m2()
        parts = []
        for i in range(k):
            cols = np.flatnonzero(labels == i)
            parts.append(
                dict(
                    cells=cells[cols],
                    cell_area=cell_area[cols],
                    area=area[:, cols].tocsr(),
                    weights=weights[:, cols].tocsr(),
                    extent=Extent(partition.bounds(cells[cols])),
                )
            )
        plan = {"villages": villages, "parts": parts}
        self._plans[id(study)] = (study, plan)
        return plan

    def build_layer(
        self, layer: Layer, cfg: BaseModel, study: Study, config: Config, notes: Notes
    ) -> LayerResult:
        """The layer's table on the whole study: per partition when the layer allows it."""
        name = layer.NAME
        if not partitioned(layer, cfg) or len(study.cells) == 0:
            self.used[name] = 1
            return build(layer, cfg, study, config, notes)
        plan = self._plan(study)
        tag = uuid.uuid4().hex[:8]
        futs = [
            self.client.submit(
                _layer_part,
                name,
                cfg,
                config,
                plan["villages"],
                study.res,
                p["cells"],
                p["cell_area"],
                p["area"],
                p["weights"],
                study.weighting,
                p["extent"],
                i == 0,
                pure=False,
                key=f"despro-{name}-{tag}-{i}",
            )
            for i, p in enumerate(plan["parts"])
        ]
        results = self._gather(futs)
        self.used[name] = len(results)
        return _combine(name, study, results, notes)


def _combine(name: str, study: Study, results: list, notes: Notes) -> LayerResult:
    """One layer's partition results -> the whole study's LayerResult (disjoint cells)."""
    first = results[0][0]
    for r, _ in results:
        if r.level != "cell":
            raise DesproError(
                f"layer '{name}' returned a {r.level}-level table on a partition; "
                "its cell_local() must not say True. Fix: make it return False, "
                "or run with engine 'local'"
            )
        if r.variables != first.variables:
            raise DesproError(
                f"layer '{name}' declared different variables on different "
                "partitions, so its tables cannot be stacked. Fix: make its "
                "cell_local() return False, or run with engine 'local'"
            )
    table = pd.concat([r.table for r, _ in results]).reindex(study.cell_index)
    cover = pd.concat([r.cover for r, _ in results]).reindex(study.cell_index)
    for _, items in results:
        for item in items:
            if item not in notes.items:
                notes.items.append(item)
    return LayerResult(
        name, "cell", first.variables, table, cover, first.inputs, first.features, first.attributes
    )
