"""``despro fetch``: download open datasets for a region into the cache (see :mod:`.fetch`).

Each subcommand prints one line per file (status, sha256, size, path) and the config
line that points a run at it. Exit codes (:data:`despro.errors.EXIT_CODES`): 0 done;
1 download failed (run again to resume); 2 bad arguments.
"""

from __future__ import annotations

from pathlib import Path

import click

from despro.cli.options import quiet_option, reported

_cache = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache folder (default: $DESPRO_CACHE or ~/.cache/despro).",
)


def _base(default_name: str):
    return click.option(
        "--base-url", default=None, hidden=True, help=f"Mirror of {default_name} (tests, proxies)."
    )


def _progress(quiet: bool):
    if quiet:
        return None
    state = {"last": -1}

    def show(done: int, total: int | None) -> None:
        mib = done >> 20
        if mib != state["last"] and (mib % 16 == 0 or (total and done >= total)):
            state["last"] = mib
            of = f" of {total / 2**20:,.0f}" if total else ""
            click.echo(f"  {done / 2**20:,.0f}{of} MiB", err=True)

    return show


def _report(files, config_line: str) -> None:
    for f in files:
        click.echo(f"{f.status:10s} {f.sha256[:16]}  {f.bytes:>14,} B  {f.path}")
    click.echo(f"config: {config_line}")


def _run(fn):
    with reported():
        return fn()


@click.group()
def fetch() -> None:
    """Download open datasets (Ookla, WorldPop, geoBoundaries) into the cache.

    Downloads resume where an interrupted one stopped; every file is recorded
    with its sha256 in <cache>/despro-fetch.json and not downloaded twice.
    """


@fetch.command()
@click.option("--year", type=int, required=True, help="Year of the quarter (2019 on).")
@click.option(
    "--quarter", type=click.IntRange(1, 4), required=True, help="Quarter of the year (1-4)."
)
@click.option(
    "--type",
    "kind",
    type=click.Choice(["fixed", "mobile"]),
    default="fixed",
    show_default=True,
    help="Fixed broadband or mobile network tests.",
)
@click.option(
    "--bbox",
    type=float,
    nargs=4,
    default=None,
    metavar="MINX MINY MAXX MAXY",
    help="Also write the tiles touching this lon/lat box.",
)
@_cache
@_base("ookla-open-data.s3.amazonaws.com")
@quiet_option
def ookla(
    year: int,
    quarter: int,
    kind: str,
    bbox: tuple[float, float, float, float] | None,
    cache_dir: Path | None,
    base_url: str | None,
    quiet: bool,
) -> None:
    """Speedtest by Ookla tiles for one quarter (worldwide Parquet, optional region clip)."""
    from despro.io.fetch import OOKLA_BASE, default_cache, fetch_ookla

    cache = cache_dir or default_cache()
    files = _run(
        lambda: fetch_ookla(
            cache,
            year,
            quarter,
            kind,
            tuple(bbox) if bbox else None,
            base_url or OOKLA_BASE,
            progress=_progress(quiet),
        )
    )
    _report(
        files,
        f'[layers.broadband] tiles = ["{files[-1].path}"]  tiles_vintage = "{year}-Q{quarter}"',
    )


@fetch.command()
@click.option("--iso3", default="IDN", show_default=True, help="ISO 3166 alpha-3 country code.")
@click.option(
    "--year",
    type=int,
    default=2020,
    show_default=True,
    help="Year of the estimate (constrained: 2020 only).",
)
@click.option(
    "--product",
    type=click.Choice(["constrained", "unconstrained", "unconstrained-unadj"]),
    default="constrained",
    show_default=True,
    help="WorldPop product: constrained to mapped settlements, unconstrained, or "
    "unconstrained and adjusted to UN national totals.",
)
@_cache
@_base("data.worldpop.org")
@quiet_option
def worldpop(
    iso3: str,
    year: int,
    product: str,
    cache_dir: Path | None,
    base_url: str | None,
    quiet: bool,
) -> None:
    """WorldPop population counts (people per ~100 m pixel) for a country."""
    from despro.io.fetch import WORLDPOP_BASE, default_cache, fetch_worldpop

    cache = cache_dir or default_cache()
    f = _run(
        lambda: fetch_worldpop(
            cache, iso3, year, product, base_url or WORLDPOP_BASE, progress=_progress(quiet)
        )
    )
    _report([f], f'[population] path = "{f.path}"  vintage = "{year} (WorldPop)"')


@fetch.command()
@click.option("--iso3", default="IDN", show_default=True, help="ISO 3166 alpha-3 country code.")
@click.option(
    "--level",
    type=click.IntRange(0, 5),
    default=2,
    show_default=True,
    help="ADM level: 1 province, 2 regency, 3 district, 4 village.",
)
@_cache
@_base("www.geoboundaries.org")
@quiet_option
def boundaries(
    iso3: str, level: int, cache_dir: Path | None, base_url: str | None, quiet: bool
) -> None:
    """geoBoundaries (gbOpen) polygons for a country and ADM level."""
    from despro.io.fetch import GEOBOUNDARIES_BASE, default_cache, fetch_geoboundaries

    cache = cache_dir or default_cache()
    f = _run(
        lambda: fetch_geoboundaries(
            cache, iso3, level, base_url=base_url or GEOBOUNDARIES_BASE, progress=_progress(quiet)
        )
    )
    _report([f], f'[villages] path = "{f.path}"  name = "shapeName"  code_system = "name"')
