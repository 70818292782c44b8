"""``despro plan``: costed interventions and a budgeted rollout in waves.

Options override the config's ``[plan]`` section for this call only; costs are in
million rupiah (juta Rp). Exit codes (:data:`despro.errors.EXIT_CODES`): 0 success;
2 bad input, config or infeasible constraints (one line naming the constraint and
the fix); 1 unexpected failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from despro.cli.options import config_option, output_dir_option, quiet_option, reported


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
@quiet_option
def plan_cmd(
    config_path: Path,
    budget: float | None,
    waves: str | None,
    objective: str | None,
    undetermined: str | None,
    max_cost_per_regency: float | None,
    must_do: str | None,
    never_do: str | None,
    no_curve: bool,
    no_explain: bool,
    output_dir: Path | None,
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
    for n in p.notes:
        click.echo(f"note: {n}")
    click.echo(f"outputs: {Path(files['plan.csv']).parent}")
