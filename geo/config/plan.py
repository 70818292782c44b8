"""``[plan]``: costed interventions and the budgeted rollout (:mod:`despro.rollout`).

Every cost is in **million rupiah** (juta Rp). A default with a public source says so
in its description; every other default is an **assumption for the user to set**
(the description says "assumption"). The README section "Rencana investasi / Plan"
lists them with their sources.

Interventions and the rule each changes:

* ``[plan.site]`` a new 4G site at an H3 cell: cells whose centre lies within
  ``radius_km`` become covered, raising rule ``rule`` (I1b, a coverage rate) of the
  villages they overlap. Candidate cells: within ``max_backbone_km`` of the fibre
  backbone (then a fibre spur of that length is built with it, ``[plan.spur]``) or
  within ``near_site_km`` of a cell already covered (backhaul by radio from that
  site: no spur); thinned to one per H3 parent at ``thin_resolution``, then repaired so
  that every village some candidate could make ready stays reachable
  (:mod:`despro.rollout.sites`).
* ``[plan.outlet]`` a courier partner outlet / Agen Despro at a village: adds one
  company to rule ``rule`` (I3) of every village whose point lies within
  ``radius_km`` (straight line, no road network: a stated proxy).
* ``[plan.programme]`` a device and connectivity programme in a village: adds the
  stated percentage points to the rules of ``effects`` (I1a, I2a, I2b), at a cost
  per household.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from despro.config.base import Model

#: region names of ``[selection]`` (despro.config.settings.REGIONS)
REGION_NAMES = ("sumatra", "java", "bali")


class SiteConfig(Model):
    """``[plan.site]``: a new 4G site (BTS) at a candidate H3 cell."""

    enabled: bool = True
    rule: str = Field("I1b", description="the coverage rule a site raises (a rate variable)")
    cost: float = Field(
        2600.0,
        ge=0,
        description="million Rp per site, without the fibre spur. Source: BAKTI, 4,200 "
        "4G sites in 3T regions for about Rp 11 trillion (Liputan6, 15 April 2022): "
        "~Rp 2.6 bn per site, logistics included; set your own",
    )
    radius_km: float = Field(
        2.0,
        gt=0,
        le=30,
        description="cells whose centre is within this distance are covered "
        "(assumption: a rural 4G cell edge of ~2 km)",
    )
    max_backbone_km: float = Field(
        20.0,
        ge=0,
        description="candidate cells within this distance of the backbone (a fibre spur "
        "of that length is built with the site)",
    )
    near_site_km: float = Field(
        5.0,
        ge=0,
        description="candidate cells within this distance of a cell already covered "
        "(radio backhaul from that site, no spur; assumption)",
    )
    covered_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a cell counts as covered (hosting or near a site) from this coverage share",
    )
    thin_resolution: int | Literal["auto", "off"] = Field(
        "auto",
        description="keep one candidate site per H3 cell of this coarser resolution (the "
        "child whose disk adds the most coverage points), then add back the cells a "
        "village needs to stay reachable; 'auto': the coarsest resolution whose mean edge "
        "is at most radius_km (7 for 2 km); 'off': every eligible cell is a candidate",
    )

    @field_validator("thin_resolution")
    @classmethod
    def _resolution(cls, v: int | str) -> int | str:
        if isinstance(v, int) and not 0 <= v <= 15:
            raise ValueError(f"thin_resolution must be an H3 resolution 0-15 (got {v})")
        return v


class SpurConfig(Model):
    """``[plan.spur]``: the fibre spur from the backbone to a new site."""

    cost_per_km: float = Field(
        150.0, ge=0, description="million Rp per km of fibre spur (assumption; set your own)"
    )
    free_km: float = Field(
        0.0,
        ge=0,
        description="sites within this distance of the backbone need no spur (assumption: 0)",
    )


class OutletConfig(Model):
    """``[plan.outlet]``: a courier partner outlet or Agen Despro at a village."""

    enabled: bool = True
    rule: str = Field("I3", description="the rule an outlet raises by one company")
    cost: float = Field(
        60.0,
        ge=0,
        description="million Rp per outlet: set-up and a first year of an agent "
        "(assumption; set your own)",
    )
    radius_km: float = Field(
        5.0,
        gt=0,
        description="villages whose point is within this straight-line distance are "
        "served (no road network: a proxy)",
    )


class ProgrammeConfig(Model):
    """``[plan.programme]``: a device and connectivity programme in a village."""

    enabled: bool = True
    cost_per_household: float = Field(
        1.5,
        ge=0,
        description="million Rp per household of the village (assumption: a subsidised "
        "smartphone, data and training; set your own)",
    )
    households_if_unknown: float | None = Field(
        None,
        gt=0,
        description="households assumed where the village table has none (assumption; "
        "none: a village without households cannot get a costed programme)",
    )
    effects: dict[str, float] = Field(
        default_factory=lambda: {"I1a": 15.0, "I2a": 20.0, "I2b": 5.0},
        description="rule id -> percentage points added (assumptions; set your own)",
    )

    @field_validator("effects")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"effects must be > 0 percentage points (got {bad})")
        return v


class PlanConfig(Model):
    """``[plan]``: the budget, the objective and the interventions (see module docstring)."""

    budget: float = Field(
        20000.0, ge=0, description="million Rp for the whole plan (all waves when 'waves' is empty)"
    )
    waves: list[float] = Field(
        default_factory=list,
        description="million Rp per wave (e.g. per year); empty: one wave of 'budget'",
    )
    objective: Literal["villages", "population", "p_ready"] = Field(
        "villages",
        description="maximise villages made ready, their population, or villages weighted "
        "by P(ready) (needs [model] enabled)",
    )
    scope: Literal["ready", "infrastructure"] = Field(
        "ready",
        description="'ready': a village counts when every criterion passes (P1-P3 too); "
        "'infrastructure': when I1-I3 pass (what the interventions build), whatever the "
        "product criteria say",
    )
    undetermined: Literal["exclude", "p_ready"] = Field(
        "exclude",
        description="a village with a gate rule unknown that no intervention changes: "
        "'exclude' it, or count it weighted by the modelled probability that those "
        "rules pass (needs [model] enabled)",
    )
    max_cost_per_regency: float | None = Field(
        None, gt=0, description="million Rp at most per regency; none: no cap"
    )
    priority_regions: list[str] = Field(
        default_factory=lambda: ["sumatra", "java", "bali"],
        description="the paper's first regions (names or code prefixes)",
    )
    priority_weight: float = Field(
        2.0,
        ge=1,
        description="a village in a priority region counts this many times in the "
        "objective (reports give plain counts)",
    )
    must_do: list[str] = Field(
        default_factory=list,
        description="item ids always in the plan (site:<h3>, outlet:<code>, programme:<code>)",
    )
    never_do: list[str] = Field(
        default_factory=list,
        description="item ids, kinds (site, outlet, programme) or village codes never planned",
    )
    gap: float = Field(0.01, ge=0, le=1, description="relative optimality gap the solver stops at")
    time_limit_s: float = Field(60.0, gt=0, description="seconds per solve")
    solver: Literal["highs", "cbc"] = Field(
        "highs",
        description="MILP solver: 'highs' (scipy's HiGHS: keeps its time limit and reports "
        "its bound) or 'cbc' (PuLP's bundled CBC, started from the greedy plan)",
    )
    max_milp_variables: int = Field(
        1_000_000,
        ge=1,
        description="above this many MILP variables after the exact reductions (items + "
        "villages + cells) the greedy plan is kept (gap unknown)",
    )
    curve_time_limit_s: float = Field(
        15.0, gt=0, description="seconds per solve of the cost curve (its gap is reported)"
    )
    curve_gap: float = Field(
        0.02,
        ge=0,
        le=1,
        description="relative gap each cost curve point stops at (its gap is reported)",
    )
    curve_points: int = Field(10, ge=2, le=100, description="budgets of the cost curve")
    site: SiteConfig = Field(default_factory=SiteConfig)
    spur: SpurConfig = Field(default_factory=SpurConfig)
    outlet: OutletConfig = Field(default_factory=OutletConfig)
    programme: ProgrammeConfig = Field(default_factory=ProgrammeConfig)

    @field_validator("priority_regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        bad = [r for r in v if r.lower() not in REGION_NAMES and not r.isdigit()]
        if bad:
            raise ValueError(
                f"unknown region(s) {bad}; use {list(REGION_NAMES)} or Kemendagri code prefixes"
            )
        return [r.lower() for r in v]

    @model_validator(mode="after")
    def _check(self) -> PlanConfig:
        both = sorted(set(self.must_do) & set(self.never_do))
        if both:
            raise ValueError(f"item(s) {both} are in both must_do and never_do")
        if any(w < 0 for w in self.waves):
            raise ValueError("wave budgets must be >= 0")
        return self

    def wave_budgets(self) -> list[float]:
        """Budgets of the waves (million Rp): ``waves``, else one wave of ``budget``."""
        return list(self.waves) if self.waves else [self.budget]
