"""despro: site selection and infrastructure readiness for Indonesia's Despro villages.

The package follows the data flow; each step is a sub-package:

``config`` -> ``grid`` -> ``aggregate`` -> ``transfer`` -> ``rules`` -> ``model`` -> ``select``
-> ``pipeline`` -> ``io`` / ``mapsite`` / ``ops`` / ``cli``; the input layers live in
:mod:`despro.layers` and the synthetic sample generator in :mod:`despro.demo`.

The public API is here, at the top::

    import despro
    r = despro.run("data/sample/despro.toml")   # a path or a Config
    r.villages                                    # GeoDataFrame, one row per village
    despro.write_outputs(r, "output")             # tables (GeoParquet, GeoPackage, CSV)
    despro.write_map(r, "maps")                   # the offline map site
    job = despro.run_job("data/sample/despro.toml", select=True)  # all of it, as 'despro demo'
    p = despro.plan(r, budget=9000)               # costed interventions (million Rp)
    despro.write_rollout(p, "output/plan")        # plan.csv, waves.csv, cost curve

Names are imported on first use, so ``import despro`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> module that defines it
_API = {
    "run": "despro.pipeline.runner",
    "Result": "despro.pipeline.runner",
    "validate_inputs": "despro.pipeline.runner",
    "run_job": "despro.pipeline.job",
    "Job": "despro.pipeline.job",
    "load_config": "despro.config.settings",
    "Config": "despro.config.settings",
    "plan_pilots": "despro.select.pilots",
    "PilotPlan": "despro.select.pilots",
    "write_outputs": "despro.io.outputs",
    "write_plan": "despro.io.selection",
    "plan": "despro.rollout.api",
    "Plan": "despro.rollout.waves",
    "write_rollout": "despro.io.rollout",
    "write_map": "despro.mapsite.site",
    "DesproError": "despro.errors",
    "ConfigError": "despro.errors",
    "InputError": "despro.errors",
}

__all__ = [
    "__version__",
    "run",
    "Result",
    "validate_inputs",
    "run_job",
    "Job",
    "load_config",
    "Config",
    "plan_pilots",
    "PilotPlan",
    "write_outputs",
    "write_plan",
    "plan",
    "Plan",
    "write_rollout",
    "write_map",
    "DesproError",
    "ConfigError",
    "InputError",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from despro.config.settings import Config, load_config
    from despro.errors import ConfigError, DesproError, InputError
    from despro.io.outputs import write_outputs
    from despro.io.rollout import write_rollout
    from despro.io.selection import write_plan
    from despro.mapsite.site import write_map
    from despro.pipeline.job import Job, run_job
    from despro.pipeline.runner import Result, run, validate_inputs
    from despro.rollout.api import plan
    from despro.rollout.waves import Plan
    from despro.select.pilots import PilotPlan, plan_pilots


def __getattr__(name: str):
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'despro' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
