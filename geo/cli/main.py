"""The ``despro`` command: a thin click layer over the Python API.

Exit codes: 0 success; 2 bad input or configuration (one line naming the file,
row / key and the fix); 1 unexpected failure; 3 nothing changed and 4 locked
(``despro rescore``, see :mod:`despro.cli.runs`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from despro import __version__
from despro.cli.engine import engine_kwargs, engine_options
from despro.errors import DesproError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _fail(err: DesproError) -> None:
    click.echo(f"despro: error: {err}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _run_and_write(
    config_path: Path,
    output_dir: Path | None,
    maps_dir: Path | None,
    lang: str | None,
    quiet: bool,
    engine: dict | None = None,
    select: bool = False,
) -> None:
    """Run a config, write its tables and map site; with ``select``, also choose the pilots
    (``[selection]``), write them to ``<output>/selection`` and draw them on the maps."""
    from despro.cli.export import after_run
    from despro.config.settings import load_config
    from despro.io.outputs import write_outputs
    from despro.io.selection import write_plan
    from despro.mapsite.analysis import from_plan
    from despro.mapsite.site import write_map
    from despro.pipeline.runner import Progress, run
    from despro.select.pilots import plan_pilots

    plan = None
    try:
        cfg = load_config(config_path)
        result = run(cfg, verbose=not quiet, **(engine or {}))
        out = output_dir or cfg.path(cfg.run.output_dir)
        maps = maps_dir or cfg.path(cfg.run.maps_dir)
        files = write_outputs(result, out)
        if select:
            progress = Progress(verbose=not quiet)
            plan = plan_pilots(result, log=lambda name, msg: progress.step(name, msg))
            write_plan(plan, out / "selection")
        page = write_map(
            result,
            maps,
            lang or cfg.run.lang,
            analysis=from_plan(plan) if plan is not None else None,
        )
        exported = after_run(result, out)
    except DesproError as err:
        _fail(err)
    tiers = result.villages["tier"].value_counts()
    click.echo(
        f"{len(result.villages):,} villages scored on {result.n_cells:,} H3 cells: "
        + ", ".join(
            f"{k} {tiers.get(k, 0)}" for k in ("ready", "near-ready", "undetermined", "not ready")
        )
    )
    if plan is not None:
        click.echo(
            f"pilots:  {len(plan.shortlist)} chosen, {len(plan.agents.agents)} agent(s), "
            f"{len(plan.clusters)} cluster(s): "
            f"{(out / 'selection' / 'shortlist_optimised.csv').resolve()}"
        )
    click.echo(f"outputs: {Path(files['villages.gpkg']).parent.resolve()}")
    click.echo(f"map:     {page.resolve()}")
    if exported:
        click.echo(exported)


@click.group()
@click.version_option(__version__, prog_name="despro")
def main() -> None:
    """Despro: pick pilot villages for online production (Desa Produksi Online)."""


@main.command()
@click.option(
    "--sample-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the sample lives (default: the repository's data/sample; "
    "generated there if missing).",
)
@click.option(
    "--output-dir", type=click.Path(path_type=Path), default=Path("output"), show_default=True
)
@click.option(
    "--maps-dir", type=click.Path(path_type=Path), default=Path("maps"), show_default=True
)
@click.option(
    "--lang",
    type=click.Choice(["id", "en"]),
    default=None,
    help="Map language (default from the config: id).",
)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option(
    "--no-select",
    is_flag=True,
    help="Score and map only: skip choosing the pilots (despro select).",
)
def demo(
    sample_dir: Path | None,
    output_dir: Path,
    maps_dir: Path,
    lang: str | None,
    quiet: bool,
    no_select: bool,
) -> None:
    """Run the whole pipeline on the bundled synthetic sample, choose its pilots and write
    the maps (pilots, clusters and agents drawn; ``--no-select`` skips the selection)."""
    from despro.demo.sample import ensure_sample

    sample = ensure_sample(sample_dir)
    _run_and_write(sample / "despro.toml", output_dir, maps_dir, lang, quiet, select=not no_select)


@main.command("run")
@click.option(
    "--config", "config_path", required=True, type=click.Path(path_type=Path), help="despro.toml"
)
@click.option(
    "--output-dir", type=click.Path(path_type=Path), default=None, help="Override run.output_dir."
)
@click.option(
    "--maps-dir", type=click.Path(path_type=Path), default=None, help="Override run.maps_dir."
)
@click.option("--lang", type=click.Choice(["id", "en"]), default=None)
@click.option("--quiet", is_flag=True, help="No progress lines.")
@engine_options
def run_cmd(
    config_path: Path,
    output_dir: Path | None,
    maps_dir: Path | None,
    lang: str | None,
    quiet: bool,
    **engine,
) -> None:
    """Run the pipeline on your own files as described by a config."""
    _run_and_write(config_path, output_dir, maps_dir, lang, quiet, engine_kwargs(**engine))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path))
def validate(config_path: Path) -> None:
    """Check a config and read every input it names, without scoring or writing."""
    from despro.config.settings import load_config
    from despro.layer import Notes
    from despro.pipeline.runner import validate_inputs

    try:
        cfg = load_config(config_path)
        notes = Notes()
        checked = validate_inputs(cfg, notes)
    except DesproError as err:
        _fail(err)
    for line in checked:
        click.echo(f"ok  {line}")
    for n in notes.items:
        click.echo(f"note {n['action']}: {n['file']}: {n['message']} ({n['n_rows']} rows)")
    click.echo("config and inputs are valid")


def _register() -> None:
    from despro.cli.export import export_cmd
    from despro.cli.fetch import fetch
    from despro.cli.runs import rescore, runs
    from despro.cli.select import select

    main.add_command(rescore)
    main.add_command(runs)
    main.add_command(select)
    main.add_command(fetch)
    main.add_command(export_cmd)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
