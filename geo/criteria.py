"""Despro rules -> pass / fail / unknown per village, with value, threshold, margin and source.

Rules are data (:class:`~despro.geo.config.Rule`, defaults in
``criteria_defaults.toml`` = Table 1). For each village and rule the engine
records the value, the threshold, the state, the margin (how far above the
threshold it is, in the rule's unit; negative = short by), the variable's layer,
source file and vintage. A missing value gives ``unknown``: never pass, never fail.
Exactly at a threshold passes.

A criterion (P1 ... I3) combines its *gate* rules: fail if any fails, pass if all
pass, otherwise unknown. *Info* rules are reported but decide nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Rule
from .errors import ConfigError
from .variables import Variable

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
CRITERIA = ("P1", "P2", "P3", "I1", "I2", "I3")
ROUNDOFF = 1e-9  # relative tolerance for "exactly at the threshold"


def rule_states(value: np.ndarray, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """State ('pass' / 'fail' / 'unknown') and margin of one rule over an array of values."""
    v = np.asarray(value, dtype=float)
    t = rule.threshold
    # a value within float round-off of the threshold is at it (and passes): rates come
    # back as 100 * (r / 100 * den) / den, e.g. 29.999999999999996 for a published 30.00
    v = np.where(np.abs(v - t) <= ROUNDOFF * max(1.0, abs(t)), t, v)
    with np.errstate(invalid="ignore"):
        if rule.op == ">=":
            ok, margin = v >= t, v - t
        elif rule.op == ">":
            ok, margin = v > t, v - t
        elif rule.op == "<=":
            ok, margin = v <= t, t - v
        else:
            ok, margin = v < t, t - v
    known = ~np.isnan(v)
    state = np.where(known, np.where(ok, PASS, FAIL), UNKNOWN).astype(object)
    return state, np.where(known, margin, np.nan)


def evaluate(values: pd.DataFrame, rules: list[Rule],
             variables: dict[str, Variable]) -> pd.DataFrame:
    """Evaluate every rule for every village.

    Parameters
    ----------
    values : DataFrame
        Finished village values, indexed by village code.
    rules : list of Rule
    variables : dict
        Variable name -> declaration (for layer, source and vintage). A rule on a
        variable whose layer is not configured evaluates to unknown for every village.

    Returns
    -------
    DataFrame
        Long table: ``village_code, rule, criterion, role, variable, value, op,
        threshold, unit, state, margin, layer, source, vintage``.
    """
    frames = []
    for r in rules:
        if r.variable in values.columns:
            v = values[r.variable].to_numpy(float)
        elif r.variable in variables:
            raise ConfigError(f"variable '{r.variable}' was declared but not computed",
                              key=f"criteria.rules.{r.id}")
        else:
            v = np.full(len(values), np.nan)  # layer not configured: unknown
        state, margin = rule_states(v, r)
        decl = variables.get(r.variable)
        frames.append(pd.DataFrame({
            "village_code": values.index.to_numpy(), "rule": r.id, "criterion": r.criterion,
            "role": r.role, "variable": r.variable, "value": v, "op": r.op,
            "threshold": r.threshold, "unit": r.unit, "state": state, "margin": margin,
            "layer": decl.layer if decl else "(not configured)",
            "source": decl.source if decl else "", "vintage": decl.vintage if decl else "",
        }))
    return pd.concat(frames, ignore_index=True)


def combine(long: pd.DataFrame) -> pd.DataFrame:
    """Criterion state per village (columns P1 ... I3) from the gate rules.

    Criteria with no gate rule (all removed from the config) are unknown.
    """
    gates = long[long["role"] == "gate"]
    fail = (gates["state"] == FAIL).groupby([gates["village_code"], gates["criterion"]]).any()
    allpass = (gates["state"] == PASS).groupby([gates["village_code"], gates["criterion"]]).all()
    state = pd.Series(np.where(fail, FAIL, np.where(allpass, PASS, UNKNOWN)), index=fail.index)
    wide = state.unstack("criterion")
    villages = long["village_code"].unique()
    wide = wide.reindex(index=villages, columns=list(CRITERIA)).astype(object).fillna(UNKNOWN)
    wide.index.name = None
    return wide
