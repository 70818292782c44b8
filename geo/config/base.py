"""The base of every configuration model, shared by :mod:`despro.config.settings` and
the layers' own settings models (:mod:`despro.layers`).

It lives apart from :mod:`despro.config.settings` so that a layer module can define
its ``[layers.<name>]`` section without importing the whole configuration (which
itself builds ``LayersConfig`` from the layer registry).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A configuration section: unknown keys are errors (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid", frozen=False)
