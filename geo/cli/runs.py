"""``despro rescore`` and ``despro runs list|show|diff``: the operators' commands.

Exit codes (:data:`despro.errors.EXIT_CODES`, also in the README): 0 success,
1 unexpected failure, 2 bad input or config, 3 nothing changed since the last
successful run, 4 another run holds the lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from despro.cli.options import config_option, output_dir_option, quiet_option, reported
from despro.errors import EXIT_UNCHANGED, DesproError, LockedError, exit_code


def _emit(log_format: str, **fields) -> None:
    if log_format == "json":
        click.echo(json.dumps(fields, default=str))
    else:
        click.echo(fields.pop("message"))


@click.command("rescore")
@config_option()
@output_dir_option(help="Run folder (default: the config's run.output_dir).")
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Successful runs to keep.",
)
@click.option("--force", is_flag=True, help="Run even if nothing changed.")
@click.option("--no-maps", is_flag=True, help="Skip the HTML map of the run.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line on stdout and stderr.",
)
@quiet_option
def rescore_cmd(
    config_path: Path,
    output_dir: Path | None,
    keep: int,
    force: bool,
    no_maps: bool,
    log_format: str,
    quiet: bool,
) -> None:
    """Rescore when inputs changed; keep the run history; switch 'latest' atomically."""
    from despro.ops.rescore import rescore

    try:
        o = rescore(
            config_path,
            output_dir,
            keep=keep,
            force=force,
            verbose=not quiet,
            log_format=log_format,
            write_maps=not no_maps,
        )
    except LockedError as err:
        _emit(log_format, status="locked", message=f"despro: {err}")
        sys.exit(exit_code(err))
    except DesproError as err:
        _emit(log_format, status="bad_input", message=f"despro: error: {err}")
        sys.exit(exit_code(err))
    for action in o.recovered:
        _emit(log_format, status="recovered", message=f"recovered: {action}")
    if o.status == "unchanged":
        _emit(
            log_format,
            status="unchanged",
            run=o.previous_id,
            message=f"nothing changed since run {o.previous_id}; no new run",
        )
        sys.exit(EXIT_UNCHANGED)
    _emit(
        log_format,
        status="success",
        run=o.run_id,
        previous=o.previous_id,
        recomputed=o.recomputed,
        villages_changed=o.villages_changed,
        tier_changes=o.tier_changes,
        pruned=o.pruned,
        message=f"run {o.run_id}: recomputed {', '.join(o.recomputed) or 'nothing'}; "
        f"{o.villages_changed} villages changed, {o.tier_changes} changed tier"
        + (f"; pruned {len(o.pruned)} old run(s)" if o.pruned else ""),
    )


@click.group()
def runs() -> None:
    """Inspect the run history of an output folder."""


def _store(output_dir: Path):
    from despro.ops.runs import RunStore

    store = RunStore(output_dir)
    if not store.db_path.exists():
        raise DesproError(f"no run history in {output_dir} (run 'despro rescore')")
    return store


_out_opt = output_dir_option(help="The folder 'despro rescore' writes to.", required=True)


@runs.command("list")
@_out_opt
@click.option("--json", "as_json", is_flag=True, help="All fields of every run, as JSON.")
def runs_list(output_dir: Path, as_json: bool) -> None:
    """One line per run, newest first."""
    with reported():
        store = _store(output_dir)
    latest = store.latest_id()
    recs = store.records()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in recs], default=str, indent=1))
        return
    for r in recs:
        mark = "*" if r.id == latest else " "
        tiers = r.counts.get("tiers", {})
        click.echo(
            f"{mark} {r.id}  {r.status:<11} {r.started_utc}  "
            f"ready={tiers.get('ready', '-')}  {r.message or ''}"
        )


@runs.command("show")
@_out_opt
@click.argument("run_id")
def runs_show(output_dir: Path, run_id: str) -> None:
    """Everything recorded about one run (id or unique prefix)."""
    with reported():
        r = _store(output_dir).get(run_id)
    click.echo(json.dumps(r.__dict__, default=str, indent=2))


@runs.command("diff")
@_out_opt
@click.argument("run_a")
@click.argument("run_b")
def runs_diff(output_dir: Path, run_a: str, run_b: str) -> None:
    """Villages whose tier or criteria changed from RUN_A to RUN_B, and the inputs behind it."""
    from despro.ops.rundiff import diff_runs, tier_changes, write_diff

    with reported():
        store = _store(output_dir)
        a, b = store.get(run_a), store.get(run_b)
        for r in (a, b):
            if not (store.runs_dir / r.id).is_dir():
                raise DesproError(
                    f"run {r.id} has no folder (status {r.status}, pruned={bool(r.pruned)})"
                )
    changes = diff_runs(store.runs_dir / a.id, store.runs_dir / b.id)
    dest = store.out / "diffs"
    csv_path, html_path = dest / f"{a.id}__{b.id}.csv", dest / f"{a.id}__{b.id}.html"
    write_diff(changes, a.id, b.id, csv_path, html_path)
    click.echo(
        f"{changes['village_code'].nunique()} villages changed, "
        f"{len(tier_changes(changes))} changed tier"
    )
    click.echo(f"csv:  {csv_path}\nhtml: {html_path}")
