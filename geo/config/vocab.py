"""The words of a result, defined once: rule states, tiers and evidence levels.

Every module that writes or reads these words imports them from here, so a tier
renamed or an evidence level added is one edit.
"""

from __future__ import annotations

from typing import Literal, get_args

#: State of one rule, and of one criterion, for one village.
State = Literal["pass", "fail", "unknown"]
STATES: tuple[str, ...] = get_args(State)
PASS, FAIL, UNKNOWN = STATES

#: Tiers a village can be drawn from for pilots (shortlist, selection, clusters).
PilotTier = Literal["ready", "near-ready"]
#: Every tier, best first (see :func:`despro.rules.score.tiers`).
TierName = Literal[PilotTier, "undetermined", "not ready"]
TIERS: tuple[str, ...] = get_args(TierName)
READY, NEAR_READY, UNDETERMINED, NOT_READY = TIERS
#: Default tiers of the selection and the clusters: ready and near-ready.
PILOT_TIERS: tuple[str, ...] = get_args(PilotTier)

#: Evidence levels, most trusted first: observed village census, village tables, cells
#: modelled from points / rasters / tiles, regency, province and national statistics
#: (default of ``[criteria] evidence_order``).
EVIDENCE_ORDER: tuple[str, ...] = (
    "census",
    "village",
    "cells",
    "regency",
    "province",
    "country",
)
#: The lowest evidence level, after every level of the order: a probability learnt from
#: observed villages (:mod:`despro.model`). It decides no rule, tier or score.
MODEL_LEVEL = "model"
