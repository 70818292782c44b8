"""The ``despro`` command: a thin click layer over the Python API.

Shared options and error reporting are in :mod:`despro.cli.options`; exit codes in
:data:`despro.errors.EXIT_CODES` (0 success; 2 bad input or configuration, one line
naming the file, row / key and the fix; 1 unexpected failure; 3 nothing changed and
4 locked for ``despro rescore``).
"""

from __future__ import annotations

from pathlib import Path

import click

from despro import __version__
from despro.cli.options import (
    config_option,
    engine_kwargs,
    engine_options,
    lang_option,
    maps_dir_option,
    output_dir_option,
    quiet_option,
    reported,
)
from despro.config.vocab import TIERS


def _run_and_report(
    config, output_dir, maps_dir, lang, quiet, engine=None, select=False, single_file=False
):
    """:func:`despro.pipeline.job.run_job`, then its summary lines on stdout."""
    from despro.pipeline.job import run_job

    with reported():
        job = run_job(
            config,
            output_dir,
            maps_dir,
            lang,
            select=select,
            verbose=not quiet,
            single_file=single_file,
            **(engine or {}),
        )
    result, plan = job.result, job.plan
    tiers = result.villages["tier"].value_counts()
    click.echo(
        f"{len(result.villages):,} villages scored on {result.n_cells:,} H3 cells: "
        + ", ".join(f"{k} {tiers.get(k, 0)}" for k in TIERS)
    )
    from despro.mapsite.summary import findings, gate_labels

    lang_ = lang or result.config.run.lang
    for line in findings(result.villages, gate_labels(result.config.criteria.rules, lang_), lang_)[
        1:
    ]:
        click.echo(f"  {line}")
    if plan is not None:
        click.echo(
            f"pilots:  {len(plan.shortlist)} chosen, {len(plan.agents.agents)} agent(s), "
            f"{len(plan.clusters)} cluster(s): "
            f"{job.selection_files['shortlist_optimised.csv'].resolve()}"
        )
    if job.rollout is not None:
        s = job.rollout.summary
        click.echo(
            f"rencana / plan: {s['newly_ready']} desa baru siap / villages made ready for "
            f"Rp {s['cost']:,.0f} juta of {s['budget']:,.0f} ({s['items']} items): "
            f"{Path(job.rollout_files['plan.csv']).resolve()}"
        )
    click.echo(f"outputs: {Path(job.outputs['villages.gpkg']).parent.resolve()}")
    click.echo(f"map:     {job.map_page.resolve()}")
    if job.exported is not None:
        from despro.io.postgis_run import summary_line

        click.echo(summary_line(job.exported))
    return job


single_file_option = click.option(
    "--single-file",
    is_flag=True,
    help="Write the map as one self-contained index.html (small runs: a regency, the demo; "
    "it opens alone, e.g. sent by chat).",
)


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
@output_dir_option(Path("output"), help="Folder of the tables.")
@maps_dir_option(Path("maps"), help="Folder of the offline map site.")
@lang_option
@quiet_option
@click.option(
    "--no-select",
    is_flag=True,
    help="Score and map only: skip choosing the pilots (despro select).",
)
@single_file_option
def demo(
    sample_dir: Path | None,
    output_dir: Path,
    maps_dir: Path,
    lang: str | None,
    quiet: bool,
    no_select: bool,
    single_file: bool,
) -> None:
    """Run the whole pipeline on the bundled synthetic sample, choose its pilots and write
    the maps (pilots, clusters and agents drawn; ``--no-select`` skips the selection)."""
    from despro.demo.sample import ensure_sample

    sample = ensure_sample(sample_dir)
    _run_and_report(
        sample / "despro.toml",
        output_dir,
        maps_dir,
        lang,
        quiet,
        select=not no_select,
        single_file=single_file,
    )


@main.command("run")
@config_option()
@output_dir_option(help="Folder of the tables (overrides run.output_dir).")
@maps_dir_option(help="Folder of the offline map site (overrides run.maps_dir).")
@lang_option
@click.option(
    "--profile",
    default=None,
    help="Criteria profile: despro-table1 (default), despro-strict, despro-loose, "
    "taobao-monitoring ([criteria] profile).",
)
@click.option(
    "--compare-profile",
    default=None,
    help="Also write profile_comparison.csv: which villages change tier under this other "
    "profile, and which rules cross.",
)
@quiet_option
@single_file_option
@engine_options
def run_cmd(
    config_path: Path,
    output_dir: Path | None,
    maps_dir: Path | None,
    lang: str | None,
    profile: str | None,
    compare_profile: str | None,
    quiet: bool,
    single_file: bool,
    **engine,
) -> None:
    """Run the pipeline on your own files as described by a config."""
    config = config_path
    if profile is not None or compare_profile is not None:
        from despro.config.profiles import profile as known_profile
        from despro.config.settings import load_config
        from despro.errors import ConfigError

        with reported():
            config = load_config(config_path, profile=profile)
            if compare_profile is not None:
                try:
                    known_profile(compare_profile)
                except ValueError as err:
                    raise ConfigError(str(err), key="criteria.profile") from None
    job = _run_and_report(
        config,
        output_dir,
        maps_dir,
        lang,
        quiet,
        engine_kwargs(**engine),
        single_file=single_file,
    )
    if compare_profile is not None:
        from despro.cli.plan import compare_profiles, echo_comparison
        from despro.io.outputs import csv_safe

        names = (job.result.config.criteria.profile, compare_profile)
        with reported():
            table = compare_profiles(job.result, names)
            path = Path(job.outputs["villages.gpkg"]).parent / "profile_comparison.csv"
            csv_safe(table).to_csv(path, index=False)
        echo_comparison(table, names)
        click.echo(f"profiles: {path.resolve()}")


@main.command()
@config_option()
def validate(config_path: Path) -> None:
    """Check a config and read every input it names, without scoring or writing."""
    from despro.config.settings import load_config
    from despro.layer import Notes
    from despro.pipeline.runner import validate_inputs

    with reported():
        cfg = load_config(config_path)
        notes = Notes()
        checked = validate_inputs(cfg, notes)
    for line in checked:
        click.echo(f"ok  {line}")
    for n in notes.items:
        click.echo(f"note {n['action']}: {n['file']}: {n['message']} ({n['n_rows']} rows)")
    click.echo("config and inputs are valid")


def _register() -> None:
    from despro.cli.export import export_cmd
    from despro.cli.fetch import fetch
    from despro.cli.plan import plan_cmd, profiles_cmd
    from despro.cli.runs import rescore_cmd, runs
    from despro.cli.select import select

    main.add_command(rescore_cmd)
    main.add_command(runs)
    main.add_command(select)
    main.add_command(plan_cmd)
    main.add_command(profiles_cmd)
    main.add_command(fetch)
    main.add_command(export_cmd)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
