"""``despro.plan(result, budget=...)``: the rollout plan of a run, in memory."""

from __future__ import annotations

from collections.abc import Callable

from despro.config.plan import PlanConfig
from despro.errors import ConfigError
from despro.rollout.problem import inputs_from_result
from despro.rollout.waves import Plan, make_plan


def plan_config(base: PlanConfig, **overrides) -> PlanConfig:
    """A validated copy of ``base`` with the given ``[plan]`` keys (None: unchanged).

    ``budget`` without ``waves`` makes one wave of that budget.

    Raises
    ------
    ConfigError
        Names the ``plan.<key>`` and the value.
    """
    from pydantic import ValidationError

    data = base.model_dump()
    given = {k: v for k, v in overrides.items() if v is not None}
    if "budget" in given and "waves" not in given:
        given["waves"] = []
    data.update(given)
    try:
        return PlanConfig(**data)
    except ValidationError as err:
        e = err.errors()[0]
        raise ConfigError(
            f"{e['msg']} (got {e.get('input')!r})",
            key="plan." + ".".join(str(p) for p in e["loc"]),
        ) from None


def plan(
    result,
    budget: float | None = None,
    waves: list[float] | None = None,
    *,
    curve: bool = True,
    explain: bool = True,
    progress: Callable[[str], None] | None = None,
    **overrides,
) -> Plan:
    """Choose costed interventions that make the most villages ready under a budget.

    Parameters
    ----------
    result : despro.Result
        From :func:`despro.run` (no type hint: the engine does not import the pipeline).
    budget : float, optional
        Million rupiah; default ``[plan] budget`` (one wave).
    waves : list of float, optional
        Million rupiah per wave; default ``[plan] waves``.
    curve : bool
        Compute the cost curve (``[plan] curve_points`` solves).
    explain : bool
        Re-solve without each constraint to say which bind.
    progress : callable, optional
        Receives one line per step.
    **overrides
        Other ``[plan]`` keys (``objective``, ``max_cost_per_regency``, ``must_do``, ...).

    Returns
    -------
    Plan
        Tables ``items`` (plan.csv), ``villages``, ``waves``, ``curve``, ``constraints``,
        a ``summary`` and ``notes``; write them with :func:`despro.io.rollout.write_rollout`.

    Raises
    ------
    ConfigError, InfeasibleError
        A bad key, or constraints no plan meets (the message names the one to relax).
    """
    cfg = plan_config(result.config.plan, budget=budget, waves=waves, **overrides)
    return make_plan(
        inputs_from_result(result), cfg, curve=curve, explain=explain, progress=progress
    )
