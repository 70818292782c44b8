"""``despro select``: the optimised pilot shortlist and the analyses around it.

Options override the config's ``[selection]`` section for this call only. Exit
codes (:data:`despro.errors.EXIT_CODES`): 0 success; 2 bad input, config or infeasible
constraints (one line naming the constraint and the fix); 1 unexpected failure.
"""

from __future__ import annotations

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
from despro.errors import ConfigError

if TYPE_CHECKING:
    from despro.config.settings import SelectionConfig


def _split(text: str | None) -> list[str] | None:
    """'a, b,c' -> ['a', 'b', 'c']; None stays None (option not given)."""
    if text is None:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


def overrides(sel: SelectionConfig, **opts) -> SelectionConfig:
    """A copy of ``sel`` (SelectionConfig) with the given options, validated."""
    from pydantic import ValidationError

    from despro.config.settings import SelectionConfig

    data = sel.model_dump()
    nested = {
        "agents_radius_km": ("agents", "radius_km"),
        "agents": ("agents", "count"),
        "agent_sites": ("agents", "sites"),
        "draws": ("sensitivity", "draws"),
        "seed": ("sensitivity", "seed"),
        "labels": ("readiness", "labels"),
    }
    for k, val in opts.items():
        if val is None:
            continue
        if k in nested:
            a, b = nested[k]
            data[a][b] = val
        else:
            data[k] = val
    try:
        return SelectionConfig(**data)
    except ValidationError as err:
        e = err.errors()[0]
        raise ConfigError(
            f"{e['msg']} (got {e.get('input')!r})",
            key="selection." + ".".join(str(p) for p in e["loc"]),
        ) from None


@click.command("select")
@config_option()
@click.option("--n", "size", type=int, default=None, help="Pilots to choose (selection.size).")
@click.option("--max-per-regency", type=int, default=None, help="At most K pilots per regency.")
@click.option(
    "--tiers", default=None, help="Eligible tiers, comma-separated (default ready,near-ready)."
)
@click.option(
    "--regions",
    default=None,
    help="Only these regions: java, bali, sumatra or code prefixes (34, 3404), comma-separated.",
)
@click.option(
    "--must-include",
    default=None,
    help="Village codes that stay (running pilots), comma-separated.",
)
@click.option("--exclude", default=None, help="Village codes never chosen, comma-separated.")
@click.option(
    "--min-categories",
    type=int,
    default=None,
    help="At least M distinct flagship product categories.",
)
@click.option(
    "--courier-within-km", type=float, default=None, help="Nearest courier outlet within X km."
)
@click.option("--agents-radius-km", type=float, default=None, help="Agent coverage radius (km).")
@click.option(
    "--agents",
    type=int,
    default=None,
    help="Agents to place (default: the fewest that cover every pilot).",
)
@click.option(
    "--agent-sites",
    type=click.Choice(["villages", "cells"]),
    default=None,
    help="Candidate agent sites: village points or H3 cell centres (selection.agents.sites).",
)
@click.option("--draws", type=int, default=None, help="Weight draws of the Monte Carlo.")
@click.option("--seed", type=int, default=None, help="Seed of the Monte Carlo.")
@click.option(
    "--labels",
    type=click.Path(path_type=Path),
    default=None,
    help="CSV of village codes with active online sellers: fits the readiness model.",
)
@click.option(
    "--use-imputed",
    is_flag=True,
    default=None,
    help="Let KNN-imputed values decide unknown rules (picks are marked imputed).",
)
@click.option("--no-marginal", is_flag=True, help="Skip the per-pick marginal values.")
@output_dir_option(help="Folder of the selection files (default: <run.output_dir>/selection).")
@maps_dir_option(
    help="Map site with the clusters, agents and imputed values (default: <output-dir>/maps)."
)
@click.option("--no-maps", is_flag=True, help="Skip the map site.")
@quiet_option
def select(
    config_path: Path,
    size: int | None,
    max_per_regency: int | None,
    tiers: str | None,
    regions: str | None,
    must_include: str | None,
    exclude: str | None,
    min_categories: int | None,
    courier_within_km: float | None,
    agents_radius_km: float | None,
    agents: int | None,
    agent_sites: str | None,
    draws: int | None,
    seed: int | None,
    labels: Path | None,
    use_imputed: bool | None,
    no_marginal: bool,
    output_dir: Path | None,
    maps_dir: Path | None,
    no_maps: bool,
    quiet: bool,
) -> None:
    """Choose N pilot villages with an optimiser and explain the choice.

    Writes shortlist_optimised.csv (picks, marginal values, binding constraints),
    selection_constraints.csv, agents.csv, clusters.csv, sensitivity.csv and .png,
    speed_uncertainty.csv, imputed.csv and selection.json; and the run's map site with
    the village clusters, the agents and (with --use-imputed) the imputed values as
    extra layers (<output-dir>/maps/index.html).
    """
    from despro.config.settings import load_config
    from despro.pipeline.job import run_job

    with reported():
        cfg = load_config(config_path)
        sel = overrides(
            cfg.selection,
            size=size,
            max_per_regency=max_per_regency,
            tiers=_split(tiers),
            regions=_split(regions),
            must_include=_split(must_include),
            exclude=_split(exclude),
            min_categories=min_categories,
            courier_within_km=courier_within_km,
            agents_radius_km=agents_radius_km,
            agents=agents,
            agent_sites=agent_sites,
            draws=draws,
            seed=seed,
            labels=labels.resolve() if labels else None,
            use_imputed=True if use_imputed else None,
        )
        out = output_dir or cfg.path(cfg.run.output_dir) / "selection"
        job = run_job(
            cfg,
            maps_dir=maps_dir or out / "maps",
            selection=sel,
            marginal=not no_marginal,
            tables=False,
            maps=not no_maps,
            selection_dir=out,
            verbose=not quiet,
        )
    plan, page, files = job.plan, job.map_page, job.selection_files
    s = plan.shortlist
    click.echo(
        f"{len(s)} pilots (objective {plan.selection.objective:.1f} points; binding: "
        + (
            ", ".join(
                plan.selection.constraints.loc[plan.selection.constraints["binding"], "constraint"]
            )
            or "none"
        )
        + ")"
    )
    for _, r in s.iterrows():
        click.echo(
            f"  {r['pick']:>2}. {r['village_code']} {r['village_name']:<20.20} "
            f"{r['tier']:<10} score {r['score']:5.1f}  robust {r['weight_share']:.2f}"
            + ("  [fixed]" if r["fixed"] else "")
            + ("  [imputed]" if r["imputed"] else "")
        )
    click.echo(
        f"agents:  {len(plan.agents.agents)} ({plan.agents.method}), "
        f"{plan.agents.covered_share:.0%} of pilots within {sel.agents.radius_km} km"
    )
    click.echo(f"outputs: {Path(files['shortlist_optimised.csv']).parent.resolve()}")
    if page is not None:
        click.echo(f"maps:    {page.resolve()}")
