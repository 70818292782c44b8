"""``--engine`` and the dask options shared by the commands that run the pipeline."""

from __future__ import annotations

import click

_OPTIONS = [
    click.option(
        "--engine",
        type=click.Choice(["local", "dask"]),
        default=None,
        help="Where the heavy steps run (default: run.engine, 'local'). 'dask': "
        "partitioned by H3 parent cell on a dask cluster; same results.",
    ),
    click.option(
        "--partitions",
        type=click.IntRange(min=1),
        default=None,
        help="dask: partitions per step (default: 2 x worker threads).",
    ),
    click.option(
        "--partition-resolution",
        type=click.IntRange(0, 15),
        default=None,
        help="dask: H3 resolution of the parent cells (default: run.partition_resolution, 3).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="dask: LocalCluster worker processes (default: sized to the machine).",
    ),
    click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="dask: attach to this scheduler (tcp://host:8786) instead of starting a LocalCluster.",
    ),
]


def engine_options(f):
    """Decorate a click command with the engine options (keyword arguments)."""
    for opt in reversed(_OPTIONS):
        f = opt(f)
    return f


def engine_kwargs(
    engine: str | None,
    partitions: int | None,
    partition_resolution: int | None,
    workers: int | None,
    scheduler: str | None,
) -> dict:
    """Keyword arguments for :func:`despro.pipeline.runner.run` (only those given).

    A dask option alone implies ``engine='dask'``.
    """
    dask = {
        k: v
        for k, v in dict(
            partitions=partitions,
            partition_resolution=partition_resolution,
            workers=workers,
            scheduler=scheduler,
        ).items()
        if v is not None
    }
    if dask and engine is None:
        engine = "dask"
    return ({"engine": engine} if engine else {}) | dask
