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


DEFAULT_ORDER = ("census", "village", "cells", "regency", "province")


def _candidates(rule: Rule, values: pd.DataFrame, variables: dict[str, Variable],
                order: tuple[str, ...]) -> list[dict]:
    """The rule's ways to be decided, most trusted evidence level first."""
    alts = [(variables[rule.variable].level if rule.variable in variables else "cells",
             rule.variable, rule.op, rule.threshold)]
    alts += [(e.level, e.variable, e.op or rule.op,
              rule.threshold if e.threshold is None else e.threshold) for e in rule.evidence]
    rank = {lvl: i for i, lvl in enumerate(order)}
    alts.sort(key=lambda a: rank.get(a[0], len(rank)))
    out = []
    for level, var, op, thr in alts:
        if var in values.columns:
            v = values[var].to_numpy(float)
        elif var in variables:
            raise ConfigError(f"variable '{var}' was declared but not computed",
                              key=f"criteria.rules.{rule.id}")
        else:
            v = np.full(len(values), np.nan)  # its layer is not configured: unknown
        alt = rule.model_copy(update={"variable": var, "op": op, "threshold": thr})
        state, margin = rule_states(v, alt)
        decl = variables.get(var)
        ev = f"{var}_evidence"  # a layer may say, per village, which level decided the value
        level_v = (np.where(values[ev].isin(["none", None]), level,
                            values[ev].astype(object)).astype(object)
                   if ev in values.columns else np.full(len(values), level, dtype=object))
        out.append({"level": level_v, "variable": var, "op": op, "threshold": thr, "value": v,
                    "state": state, "margin": margin,
                    "layer": decl.layer if decl else "(not configured)",
                    "source": decl.source if decl else "",
                    "vintage": decl.vintage if decl else ""})
    return out


def evaluate_all(values: pd.DataFrame, rules: list[Rule], variables: dict[str, Variable],
                 order: tuple[str, ...] | list[str] = DEFAULT_ORDER) -> tuple[
                     pd.DataFrame, pd.DataFrame]:
    """Evaluate every rule for every village, choosing evidence by precedence.

    For each village and rule the first evidence level in ``order`` with a known
    value decides (observed village census before values modelled from cells before
    regency statistics before province statistics, by default). Where two levels
    are known and disagree, the village is listed in the conflicts table: the
    precedence still decides, but nothing is resolved silently.

    Parameters
    ----------
    values : DataFrame
        Finished village values, indexed by village code.
    rules : list of Rule
    variables : dict
        Variable name -> declaration (layer, source, vintage, evidence level). A rule
        on a variable whose layer is not configured evaluates to unknown.
    order : sequence of str
        Evidence levels, most trusted first.

    Returns
    -------
    (long, conflicts)
        ``long``: one row per village and rule: ``village_code, rule, criterion, role,
        variable, value, op, threshold, unit, state, margin, evidence, layer, source,
        vintage``. ``conflicts``: ``village_code, rule, evidence, state, value,
        other_evidence, other_state, other_value, other_variable``.
    """
    order = tuple(order)
    frames, conflicts = [], []
    codes = values.index.to_numpy()
    for r in rules:
        cands = _candidates(r, values, variables, order)
        chosen = np.full(len(values), -1)
        for i, c in enumerate(cands):
            chosen = np.where((chosen < 0) & (c["state"] != UNKNOWN), i, chosen)
        pick = np.where(chosen < 0, 0, chosen)
        rows = np.arange(len(values))
        per_village = {k: np.stack([c[k] for c in cands])[pick, rows]
                       for k in ("value", "state", "margin", "level")}
        per_level = {k: np.array([c[k] for c in cands], dtype=object)[pick]
                     for k in ("variable", "op", "threshold", "layer", "source", "vintage")}
        take = {**per_village, **per_level}.__getitem__

        frames.append(pd.DataFrame({
            "village_code": codes, "rule": r.id, "criterion": r.criterion, "role": r.role,
            "variable": take("variable"), "value": take("value").astype(float),
            "op": take("op"), "threshold": take("threshold").astype(float), "unit": r.unit,
            "state": take("state"), "margin": take("margin").astype(float),
            "evidence": np.where(chosen < 0, "none", take("level")),
            "layer": take("layer"), "source": take("source"), "vintage": take("vintage"),
        }))
        for i, c in enumerate(cands):
            other = (chosen >= 0) & (chosen != i) & (c["state"] != UNKNOWN)
            win_state = per_village["state"]
            disagree = other & (c["state"] != win_state)
            if disagree.any():
                conflicts.append(pd.DataFrame({
                    "village_code": codes[disagree], "rule": r.id,
                    "evidence": take("level")[disagree], "state": win_state[disagree],
                    "value": take("value")[disagree].astype(float),
                    "other_evidence": c["level"][disagree], "other_state": c["state"][disagree],
                    "other_value": c["value"][disagree], "other_variable": c["variable"]}))
    cols = ["village_code", "rule", "evidence", "state", "value", "other_evidence",
            "other_state", "other_value", "other_variable"]
    conf = pd.concat(conflicts, ignore_index=True) if conflicts else pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True), conf


def evaluate(values: pd.DataFrame, rules: list[Rule], variables: dict[str, Variable],
             order: tuple[str, ...] | list[str] = DEFAULT_ORDER) -> pd.DataFrame:
    """The long rule table of :func:`evaluate_all` (without the conflicts)."""
    return evaluate_all(values, rules, variables, order)[0]


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
