"""The dask engine gives the local engine's results, whatever the partitions and workers."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.errors import ConfigError
from despro.grid import cells as grid
from despro.grid import partition
from despro.pipeline.runner import run
from tests.conftest import SAMPLE

RTOL = 1e-12


def _distributed():
    try:
        import distributed
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("dask.distributed is not installed (pip install -e '.[test]')")
        pytest.skip("dask.distributed is not installed")
    return distributed


@pytest.fixture(scope="module")
def clients():
    """Thread-based LocalClusters of 1 and 2 workers, shared by the runs below."""
    d = _distributed()
    made = {}
    try:
        for n in (1, 2):
            cluster = d.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
            )
            made[n] = (cluster, d.Client(cluster))
        yield {n: c for n, (_, c) in made.items()}
    finally:
        for cluster, client in made.values():
            client.close()
            cluster.close()


def assert_same_table(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    """Same rows, same columns; numbers equal to RTOL relative, everything else exactly."""
    a = pd.DataFrame(a.drop(columns=[c for c in ("geometry",) if c in a]))
    b = pd.DataFrame(b.drop(columns=[c for c in ("geometry",) if c in b]))
    assert list(a.columns) == list(b.columns), what
    assert a.index.equals(b.index), what
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            assert np.array_equal(np.isnan(xv), np.isnan(yv)), f"{what}.{c}: unknowns differ"
            ok = ~np.isnan(xv)
            np.testing.assert_allclose(yv[ok], xv[ok], rtol=RTOL, atol=0, err_msg=f"{what}.{c}")
        else:
            assert (
                x.astype(object).where(x.notna(), None).tolist()
                == y.astype(object).where(y.notna(), None).tolist()
            ), f"{what}.{c}"


def assert_same_result(local, dist) -> None:
    assert dist.villages["village_code"].tolist() == local.villages["village_code"].tolist()
    assert (dist.villages["tier"] == local.villages["tier"]).all()
    states = [c for c in local.villages.columns if c.endswith("_state")]
    assert (dist.villages[states] == local.villages[states]).all(axis=None)
    assert_same_table(local.villages, dist.villages, "villages")
    assert_same_table(local.cells, dist.cells, "cells")
    assert_same_table(local.criteria, dist.criteria, "criteria")
    assert_same_table(local.village_additive, dist.village_additive, "village_additive")
    assert dist.villages.geometry.equals(local.villages.geometry)
    assert dist.cells.geometry.equals(local.cells.geometry)
    assert dist.notes.items == local.notes.items


# (workers, partitions, parent resolution): one partition, two, and many small ones
CASES = [(1, 1, 3), (2, 2, 3), (1, 2, 4), (2, 16, 5)]


@pytest.mark.parametrize("workers,partitions,parent_res", CASES)
def test_dask_engine_equals_local(
    sample_config, sample_result, clients, workers, partitions, parent_res
):
    dist = run(
        sample_config,
        engine="dask",
        client=clients[workers],
        partitions=partitions,
        partition_resolution=parent_res,
    )
    assert "engine" in dist.timings and "engine" not in sample_result.timings
    assert_same_result(sample_result, dist)


def test_attaching_to_a_running_scheduler_leaves_it_running(sample_config, sample_result, clients):
    address = clients[2].scheduler.address
    dist = run(sample_config, engine="dask", scheduler=address, partitions=3)
    assert_same_result(sample_result, dist)
    assert clients[2].submit(sum, [1, 2]).result() == 3  # the cluster was not shut down


def test_many_partitions_split_villages(sample_result):
    """The many-partition case really cuts villages: their cells lie in several partitions."""
    study = sample_result.study
    labels, k = partition.plan(grid.parent_cells(study.cells, 5), np.ones(len(study.cells)), 16)
    assert k >= 12
    coo = study.area.tocoo()
    per_village = pd.Series(labels[coo.col]).groupby(coo.row).nunique()
    assert (per_village > 1).sum() >= 10  # villages that straddle partitions


def test_partition_plan_keeps_parents_whole():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(106, 112, 4000), rng.uniform(-8, -6, 4000)
    cells = grid.lonlat_to_cells(lon, lat, 8)
    parents = grid.parent_cells(cells, 4)
    labels, k = partition.plan(parents, rng.uniform(0, 3, 4000), 6)
    assert k == 6 and set(labels) == set(range(k))
    per_parent = pd.Series(labels).groupby(parents).nunique()
    assert (per_parent == 1).all()
    assert partition.plan(parents, np.ones(4000), 10_000)[1] == len(np.unique(parents))
    labels1, k1 = partition.plan(parents, np.ones(4000), 1)
    assert k1 == 1 and (labels1 == 0).all()


def test_engine_settings_are_checked(sample_config):
    base = {"villages": {"path": "v.gpkg"}}
    with pytest.raises(ConfigError, match="partition_resolution 9 is finer"):
        config_from_dict({**base, "run": {"resolution": 8, "partition_resolution": 9}})
    with pytest.raises(ConfigError, match="run.engine"):
        config_from_dict({**base, "run": {"engine": "spark"}})
    cfg = config_from_dict(
        {
            **base,
            "run": {
                "engine": "dask",
                "partition_resolution": 4,
                "dask": {"workers": 2, "partitions": 8},
            },
        }
    )
    assert cfg.run.dask.workers == 2 and cfg.run.partition_resolution == 4
    with pytest.raises(ConfigError, match="only apply to engine 'dask'"):
        run(sample_config, partitions=4)


def test_cli_run_with_dask_engine_on_two_worker_processes(sample_result, tmp_path):
    """The command line starts a real LocalCluster (2 processes) and writes the same tables."""
    _distributed()
    out = tmp_path / "out"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "despro.cli.main",
            "run",
            "--config",
            str(SAMPLE / "despro.toml"),
            "--output-dir",
            str(out),
            "--maps-dir",
            str(tmp_path / "maps"),
            "--engine",
            "dask",
            "--workers",
            "2",
            "--partitions",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "engine: dask (local cluster: 2 workers, 2 threads, processes)" in r.stderr
    villages = gpd.read_parquet(out / "villages.parquet")
    local = sample_result.villages.reset_index(drop=True)
    assert_same_table(local, villages, "villages.parquet")
