"""``despro export --postgis URL``: a run's tables into PostGIS (see :mod:`despro.io.postgis`).

Exit codes: 0 exported; 2 bad input, configuration or a failed export (one line
naming what and the fix; the database is then unchanged); 1 unexpected failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from despro.errors import DesproError

EXIT_BAD_INPUT = 2


def _settings(
    cfg, url: str | None, schema: str | None, prefix: str | None, mode: str | None
) -> dict:
    """Connection and table settings: command-line values over ``[output.postgis]``."""
    from despro.config.settings import PostgisConfig
    from despro.io.postgis import resolve_url

    pg = (cfg.output.postgis if cfg is not None else None) or PostgisConfig()
    return {
        "url": resolve_url(url or pg.url, None if url else pg.url_env),
        "schema": schema or pg.schema_name,
        "prefix": prefix or pg.prefix,
        "mode": mode or pg.mode,
    }


def export_result(result, out_dir: Path | None = None, **overrides):
    """Export an in-memory run with the config's ``[output.postgis]`` (and ``overrides``)."""
    from despro.io.postgis import export
    from despro.io.postgis_tables import from_result
    from despro.ops.runs import new_run_id

    s = _settings(
        result.config, **{k: overrides.get(k) for k in ("url", "schema", "prefix", "mode")}
    )
    tables = from_result(result, new_run_id())
    return export(
        tables, s["url"], schema=s["schema"], prefix=s["prefix"], mode=s["mode"], fault_dir=out_dir
    )


def after_run(result, out_dir: Path) -> str | None:
    """``despro run``: export when the config has ``[output.postgis]`` with ``on_run``."""
    pg = result.config.output.postgis
    if pg is None or not pg.on_run:
        return None
    return _summary(export_result(result, out_dir))


def _summary(s) -> str:
    rows = ", ".join(f"{k} {v:,}" for k, v in s.rows.items())
    return (
        f"postgis: run {s.run_id} -> {s.url} schema {s.schema} ({s.mode}): {rows} "
        f"in {s.seconds:.1f} s"
    )


@click.command("export")
@click.option(
    "--postgis",
    "url",
    default=None,
    metavar="URL",
    help="libpq URL, e.g. postgresql://planner@db.example:5432/despro "
    "(password via PGPASSWORD or ~/.pgpass); default: [output.postgis] url.",
)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="A run folder of 'despro run' (output/) or 'despro rescore' (OUT: its "
    "latest run, or OUT/runs/ID).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="despro.toml: its [output.postgis] settings; without --run, run it first.",
)
@click.option("--schema", default=None, help="Target schema (default public).")
@click.option("--prefix", default=None, help="Table name prefix (default despro_).")
@click.option(
    "--mode",
    type=click.Choice(["replace", "history"]),
    default=None,
    help="replace: the tables hold this run; history: append it (default replace).",
)
@click.option("--quiet", is_flag=True, help="No progress lines while running --config.")
def export_cmd(
    url: str | None,
    run_dir: Path | None,
    config_path: Path | None,
    schema: str | None,
    prefix: str | None,
    mode: str | None,
    quiet: bool,
) -> None:
    """Write villages, cells and the shortlist of a run to PostGIS, in one transaction."""
    from despro.config.settings import load_config
    from despro.io.postgis import export
    from despro.io.postgis_tables import from_run_dir
    from despro.pipeline.runner import run

    try:
        if run_dir is None and config_path is None:
            raise DesproError("give --run DIR (a finished run) or --config FILE (run it now)")
        cfg = load_config(config_path) if config_path is not None else None
        s = _settings(cfg, url, schema, prefix, mode)
        if run_dir is not None:
            summary = export(
                from_run_dir(run_dir),
                s["url"],
                schema=s["schema"],
                prefix=s["prefix"],
                mode=s["mode"],
                fault_dir=run_dir,
            )
        else:
            result = run(cfg, verbose=not quiet)
            summary = export_result(result, cfg.path(cfg.run.output_dir), **s)
    except DesproError as err:
        click.echo(f"despro: error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(_summary(summary))
