"""``despro export --postgis URL``: a run's tables into PostGIS (see :mod:`despro.io.postgis`).

Exit codes (:data:`despro.errors.EXIT_CODES`): 0 exported; 2 bad input, configuration
or a failed export (one line naming what and the fix; the database is then unchanged);
1 unexpected failure.
"""

from __future__ import annotations

from pathlib import Path

import click

from despro.cli.options import config_option, quiet_option, reported
from despro.errors import DesproError


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
@config_option(
    required=False, help="despro.toml: its [output.postgis] settings; without --run, run it first."
)
@click.option("--schema", default=None, help="Target schema (default public).")
@click.option("--prefix", default=None, help="Table name prefix (default despro_).")
@click.option(
    "--mode",
    type=click.Choice(["replace", "history"]),
    default=None,
    help="replace: the tables hold this run; history: append it (default replace).",
)
@quiet_option
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
    from despro.io.postgis_run import export_result, settings, summary_line
    from despro.io.postgis_tables import from_run_dir
    from despro.pipeline.runner import run

    with reported():
        if run_dir is None and config_path is None:
            raise DesproError("give --run DIR (a finished run) or --config FILE (run it now)")
        cfg = load_config(config_path) if config_path is not None else None
        s = settings(cfg, url, schema, prefix, mode)
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
    click.echo(summary_line(summary))
