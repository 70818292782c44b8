"""The base of every configuration model, shared by :mod:`despro.config.settings` and
the layers' own settings models (:mod:`despro.layers`).

It lives apart from :mod:`despro.config.settings` so that a layer module can define
its ``[layers.<name>]`` section without importing the whole configuration (which
itself builds ``LayersConfig`` from the layer registry).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A configuration section: unknown keys are errors and a loaded config is frozen.

    ``nan`` and ``inf`` are refused for every number (TOML allows them; no setting means
    them).

    Change a setting by copying: ``cfg.model_copy(update={"run": cfg.run.model_copy(
    update={"resolution": 7})})``. ``model_copy`` does not validate ``update``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
