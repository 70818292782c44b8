"""``despro plan``: costed interventions and a budgeted rollout in waves.

Options override the config's ``[plan]`` section for this call only; costs are in
million rupiah (juta Rp). Exit codes (:data:`despro.errors.EXIT_CODES`): 0 success;
2 bad input, config or infeasible constraints (one line naming the constraint and
the fix); 1 unexpected failure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from despro.cli.options import (
    config_option,
    maps_dir_option,
    output_dir_option,
    quiet_option,
    reported,
)
from despro.rollout.notes import note_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from despro.pipeline.runner import Result


def _floats(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {text!r}") from None


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


@click.command("plan")
@config_option()
@click.option("--budget", type=float, default=None, help="Million Rp for one wave (plan.budget).")
@click.option(
    "--waves",
    default=None,
    help="Million Rp per wave, comma-separated (plan.waves), e.g. 3000,3000.",
)
@click.option(
    "--objective",
    type=click.Choice(["villages", "population", "p_ready"]),
    default=None,
    help="Maximise villages made ready, their population, or P(ready)-weighted villages.",
)
@click.option(
    "--scope",
    type=click.Choice(["ready", "infrastructure"]),
    default=None,
    help="Count villages ready on all criteria, or on I1-I3 only (plan.scope).",
)
@click.option(
    "--undetermined",
    type=click.Choice(["exclude", "p_ready"]),
    default=None,
    help="Villages with an unknown rule no intervention changes: exclude, or weight by P.",
)
@click.option(
    "--max-cost-per-regency", type=float, default=None, help="Million Rp at most per regency."
)
@click.option("--must-do", default=None, help="Item ids always planned, comma-separated.")
@click.option("--never-do", default=None, help="Item ids, kinds or village codes never planned.")
@click.option("--no-curve", is_flag=True, help="Skip the cost curve.")
@click.option("--no-explain", is_flag=True, help="Skip the binding-constraint re-solves.")
@output_dir_option(help="Folder of the plan files (default: <run.output_dir>/plan).")
@maps_dir_option(
    help="Also write the map with the plan drawn on it (sites, outlets, programmes, each "
    "village's ready wave, the cost curve) into this folder."
)
@quiet_option
def plan_cmd(
    config_path: Path,
    budget: float | None,
    waves: str | None,
    objective: str | None,
    scope: str | None,
    undetermined: str | None,
    max_cost_per_regency: float | None,
    must_do: str | None,
    never_do: str | None,
    no_curve: bool,
    no_explain: bool,
    output_dir: Path | None,
    maps_dir: Path | None,
    quiet: bool,
) -> None:
    """Choose 4G sites, fibre spurs, courier outlets and programmes under a budget.

    Writes plan.csv (the chosen items, wave, cost, marginal value), plan_villages.csv
    (tier before / after, ready wave, thanks to which items), waves.csv,
    cost_curve.csv / .png, plan_constraints.csv, plan.json and plan.gpkg.
    """
    from despro.config.settings import load_config
    from despro.io.rollout import write_rollout
    from despro.pipeline.runner import run
    from despro.rollout.api import plan, plan_config

    def say(msg: str) -> None:
        if not quiet:
            print(f"[plan] {msg}", file=sys.stderr, flush=True)

    with reported():
        cfg = load_config(config_path)
        pc = plan_config(
            cfg.plan,
            budget=budget,
            waves=_floats(waves),
            objective=objective,
            scope=scope,
            undetermined=undetermined,
            max_cost_per_regency=max_cost_per_regency,
            must_do=_split(must_do),
            never_do=_split(never_do),
        )
        cfg = cfg.model_copy(update={"plan": pc})
        result = run(cfg, verbose=not quiet)
        p = plan(result, curve=not no_curve, explain=not no_explain, progress=say)
        out = output_dir or cfg.path(cfg.run.output_dir) / "plan"
        files = write_rollout(p, out)
        if maps_dir is not None:
            from despro.mapsite.site import write_map

            page = write_map(result, maps_dir, cfg.run.lang, rollout=p)
    s = p.summary
    click.echo(
        f"{s['newly_ready']} desa baru siap / villages made ready "
        f"({s['already_ready']} sudah siap / already ready; {s['targets']} dapat disiapkan / "
        f"reachable) for Rp {s['cost']:,.0f} juta of {s['budget']:,.0f}; "
        f"{s['items']} items; gap {s['gap']:.2%}"
    )
    for _, w in p.waves.iterrows():
        click.echo(
            f"  wave {int(w['wave'])}: +{int(w['newly_ready'])} ready "
            f"(total {int(w['villages_ready'])}), Rp {w['cost']:,.0f} juta, "
            f"{int(w['sites'])} sites, {int(w['outlets'])} outlets, "
            f"{int(w['programmes'])} programmes"
        )
    if len(p.constraints):
        bind = p.constraints.loc[p.constraints["binding"], "constraint"].tolist()
        click.echo(f"binding: {', '.join(bind) or 'none'}")
    for n in p.notes:  # Indonesian first where the note has it, as the other lines
        id_text = note_text(n, "id")
        click.echo(f"catatan: {id_text}" + (f"\n  note: {n}" if id_text != n else ""))
    click.echo(f"outputs: {Path(files['plan.csv']).parent}")
    if maps_dir is not None:
        click.echo(f"map: {page}")


@click.command("profiles")
@config_option()
@click.option(
    "--compare",
    default="despro-table1,despro-strict",
    show_default=True,
    help="Two criteria profiles, comma-separated.",
)
@output_dir_option(help="Folder of profile_comparison.csv (default: <run.output_dir>).")
@quiet_option
def profiles_cmd(config_path: Path, compare: str, output_dir: Path | None, quiet: bool) -> None:
    """Compare two criteria profiles on one run: which villages change tier, and why.

    Writes profile_comparison.csv (one row per village whose tier or a gate rule's state
    changes) and prints the profiles known.
    """
    from despro.config.profiles import profile, profile_names
    from despro.config.settings import load_config
    from despro.errors import ConfigError
    from despro.io.outputs import csv_safe
    from despro.pipeline.runner import run

    with reported():
        names = _split(compare) or []
        if len(names) != 2:
            raise ConfigError(f"--compare takes two profile names, got {names}", key="profile")
        for n in names:
            try:
                profile(n)
            except ValueError as err:
                raise ConfigError(str(err), key="criteria.profile") from None
        cfg = load_config(config_path)
        result = run(cfg, verbose=not quiet)
        table = compare_profiles(result, (names[0], names[1]))
        out = output_dir or cfg.path(cfg.run.output_dir)
        Path(out).mkdir(parents=True, exist_ok=True)
        csv_safe(table).to_csv(Path(out) / "profile_comparison.csv", index=False)
    echo_comparison(table, (names[0], names[1]))
    click.echo(f"profiles: {', '.join(profile_names())}")
    click.echo(f"outputs: {Path(out) / 'profile_comparison.csv'}")


def compare_profiles(result: Result, names: tuple[str, str]) -> pd.DataFrame:
    """Which villages change tier (and which rules cross) between two criteria profiles,
    evaluated on the values of one run (:func:`despro.rules.profiles.compare`).

    Parameters
    ----------
    result : despro.Result
    names : (str, str)
        Two profile names (``despro profiles`` lists them).

    Returns
    -------
    DataFrame
        ``profile_comparison.csv``: one row per village whose tier or a gate rule's state
        changes.
    """
    from despro.config.settings import CriteriaConfig
    from despro.rules.profiles import compare

    cfg = result.config
    crit = cfg.criteria.model_dump()
    rules = []
    for n in names:
        data = {**crit, "profile": n}
        data.pop("rules")
        rules.append(CriteriaConfig(**data).rules)
    return compare(
        result.villages.drop(columns="geometry"),
        rules[0],
        rules[1],
        result.variables,
        tuple(cfg.criteria.evidence_order),
        cfg.criteria.near_ready_fraction,
        names,
    )


def echo_comparison(table: pd.DataFrame, names: tuple[str, str]) -> None:
    """The comparison's summary lines: villages changing tier, by pair of tiers."""
    moved = table[table["tier_changed"]]
    click.echo(
        f"{names[0]} -> {names[1]}: {len(moved)} villages change tier, {len(table)} change "
        "a rule's state"
    )
    for (a, b), g in moved.groupby([f"tier_{names[0]}", f"tier_{names[1]}"]):
        click.echo(f"  {a} -> {b}: {len(g)}")
