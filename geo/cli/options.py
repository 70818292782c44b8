"""The options the ``despro`` commands share, and how every command reports an error.

Each option is declared once here (name, type, help) and applied with a decorator;
a command that needs another default or help line passes it. Errors: every command
runs its work inside :func:`reported`, which prints ``despro: error: <message>`` on
one line and exits with the code of :data:`despro.errors.EXIT_CODES`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click

from despro.errors import DesproError, exit_code

LANGS = ("id", "en")


def config_option(
    required: bool = True,
    help: str = "despro.toml: the run's configuration (paths in it are relative to it).",
) -> Callable:
    """``--config FILE`` (passed as ``config_path``)."""
    return click.option(
        "--config",
        "config_path",
        required=required,
        type=click.Path(path_type=Path),
        metavar="FILE",
        help=help,
    )


def output_dir_option(
    default: Path | None = None,
    help: str = "Folder of the tables (default: the config's run.output_dir).",
    required: bool = False,
) -> Callable:
    """``--output-dir DIR``."""
    return click.option(
        "--output-dir",
        type=click.Path(path_type=Path),
        default=default,
        required=required,
        show_default=default is not None,
        metavar="DIR",
        help=help,
    )


def maps_dir_option(
    default: Path | None = None,
    help: str = "Folder of the offline map site (default: the config's run.maps_dir).",
) -> Callable:
    """``--maps-dir DIR``."""
    return click.option(
        "--maps-dir",
        type=click.Path(path_type=Path),
        default=default,
        show_default=default is not None,
        metavar="DIR",
        help=help,
    )


lang_option = click.option(
    "--lang",
    type=click.Choice(LANGS),
    default=None,
    help="Map language (default: the config's run.lang, id).",
)

quiet_option = click.option("--quiet", is_flag=True, help="No progress lines.")

_ENGINE_OPTIONS = [
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


def engine_options(f: Callable) -> Callable:
    """Decorate a click command with ``--engine`` and the dask options (keyword arguments)."""
    for opt in reversed(_ENGINE_OPTIONS):
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


def fail(err: BaseException, prefix: str = "despro: error: ") -> NoReturn:
    """Print ``err`` on one line of stderr; exit with its code (:func:`despro.errors.exit_code`)."""
    click.echo(f"{prefix}{err}", err=True)
    sys.exit(exit_code(err))


@contextmanager
def reported() -> Iterator[None]:
    """Run a command's work; a :class:`~despro.errors.DesproError` becomes one line and a code.

    Anything else propagates (click prints the traceback and exits 1: a bug).
    """
    try:
        yield
    except DesproError as err:
        fail(err)
