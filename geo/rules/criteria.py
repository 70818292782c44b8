"""Despro rules -> pass / fail / unknown per village, with value, threshold, margin and source.

Rules are data (:class:`~despro.config.settings.Rule`, defaults in
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

from despro.config.settings import Rule
from despro.config.vocab import EVIDENCE_ORDER, FAIL, PASS, STATES, UNKNOWN
from despro.errors import ConfigError
from despro.rules.labels import codes_of, labels_from_codes
from despro.variables import Variable

CRITERIA = ("P1", "P2", "P3", "I1", "I2", "I3")
LONG_COLUMNS = [
    "village_code",
    "rule",
    "criterion",
    "role",
    "variable",
    "value",
    "op",
    "threshold",
    "unit",
    "state",
    "margin",
    "evidence",
    "layer",
    "source",
    "vintage",
]
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


def _candidates(
    rule: Rule, values: pd.DataFrame, variables: dict[str, Variable], order: tuple[str, ...]
) -> list[dict]:
    """The rule's ways to be decided, most trusted evidence level first."""
    alts = [
        (
            variables[rule.variable].level if rule.variable in variables else "cells",
            rule.variable,
            rule.op,
            rule.threshold,
        )
    ]
    alts += [
        (
            e.level,
            e.variable,
            e.op or rule.op,
            rule.threshold if e.threshold is None else e.threshold,
        )
        for e in rule.evidence
    ]
    rank = {lvl: i for i, lvl in enumerate(order)}
    alts.sort(key=lambda a: rank.get(a[0], len(rank)))
    out = []
    for level, var, op, thr in alts:
        if var in values.columns:
            v = values[var].to_numpy(float)
        elif var in variables:
            raise ConfigError(
                f"variable '{var}' was declared but not computed", key=f"criteria.rules.{rule.id}"
            )
        else:
            v = np.full(len(values), np.nan)  # its layer is not configured: unknown
        alt = rule.model_copy(update={"variable": var, "op": op, "threshold": thr})
        state, margin = rule_states(v, alt)
        decl = variables.get(var)
        if decl is not None and decl.lower_bound:  # a lower bound proves one side only
            unproven = state == (FAIL if op in (">=", ">") else PASS)
            state = np.where(unproven, UNKNOWN, state).astype(object)
        ev = f"{var}_evidence"  # a layer may say, per village, which level decided the value
        level_v = (
            np.where(values[ev].isin(["none", None]), level, values[ev].astype(object)).astype(
                object
            )
            if ev in values.columns
            else np.full(len(values), level, dtype=object)
        )
        out.append(
            {
                "level": level_v,
                "variable": var,
                "op": op,
                "threshold": thr,
                "value": v,
                "state": state,
                "margin": margin,
                "layer": decl.layer if decl else "(not configured)",
                "source": decl.source if decl else "",
                "vintage": decl.vintage if decl else "",
            }
        )
    return out


def evaluate_all(
    values: pd.DataFrame,
    rules: list[Rule],
    variables: dict[str, Variable],
    order: tuple[str, ...] | list[str] = EVIDENCE_ORDER,
) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    conflicts = []
    codes = values.index.to_numpy()
    n, rows = len(values), np.arange(len(values))
    cols: dict[str, list] = {
        k: []
        for k in (
            "value",
            "threshold",
            "state",
            "margin",
            "evidence",
            "variable",
            "op",
            "layer",
            "source",
            "vintage",
            "pick",
        )
    }
    for r in rules:
        cands = _candidates(r, values, variables, order)
        chosen = np.full(n, -1)
        for i, c in enumerate(cands):
            chosen = np.where((chosen < 0) & (c["state"] != UNKNOWN), i, chosen)
        pick = np.where(chosen < 0, 0, chosen)
        per_village = {
            k: np.stack([c[k] for c in cands])[pick, rows]
            for k in ("value", "state", "margin", "level")
        }
        cols["value"].append(per_village["value"].astype(float))
        cols["threshold"].append(np.array([c["threshold"] for c in cands], float)[pick])
        cols["state"].append(per_village["state"])
        cols["margin"].append(per_village["margin"].astype(float))
        cols["evidence"].append(np.where(chosen < 0, "none", per_village["level"]))
        for k in ("variable", "op", "layer", "source", "vintage"):
            cols[k].append([c[k] for c in cands])  # the rule's candidates; rows pick one
        cols["pick"].append(pick)
        for i, c in enumerate(cands):
            other = (chosen >= 0) & (chosen != i) & (c["state"] != UNKNOWN)
            win_state = per_village["state"]
            disagree = other & (c["state"] != win_state)
            if disagree.any():
                conflicts.append(
                    pd.DataFrame(
                        {
                            "village_code": codes[disagree],
                            "rule": r.id,
                            "evidence": per_village["level"][disagree],
                            "state": win_state[disagree],
                            "value": per_village["value"][disagree].astype(float),
                            "other_evidence": c["level"][disagree],
                            "other_state": c["state"][disagree],
                            "other_value": c["value"][disagree],
                            "other_variable": c["variable"],
                        }
                    )
                )
    conf_cols = [
        "village_code",
        "rule",
        "evidence",
        "state",
        "value",
        "other_evidence",
        "other_state",
        "other_value",
        "other_variable",
    ]
    conf = pd.concat(conflicts, ignore_index=True) if conflicts else pd.DataFrame(columns=conf_cols)
    return _long_table(values.index, rules, cols), conf


def _long_table(index: pd.Index, rules: list[Rule], cols: dict[str, list]) -> pd.DataFrame:
    """The long rule table from per-rule pieces: rule-major, villages in ``index`` order.

    Text columns repeat a few labels 830 k times nationally; they are gathered from
    codes (:func:`~despro.rules.labels.labels_from_codes`) rather than converted from
    Python strings row by row. Any label that is not a string falls back to pandas'
    own inference over the values, so the dtypes are what pandas would give either way.
    """
    n, n_rules = len(index), len(rules)
    if n_rules == 0:
        return pd.DataFrame(columns=LONG_COLUMNS)
    village = index.take(np.tile(np.arange(n), n_rules))
    per_rule = np.repeat(np.arange(n_rules), n)
    offsets = np.cumsum([0, *(len(c) for c in cols["variable"][:-1])])
    per_candidate = np.concatenate([o + p for o, p in zip(offsets, cols["pick"], strict=True)])

    def text(labels: list, codes: np.ndarray):
        if all(isinstance(x, str) for x in labels):
            return labels_from_codes(labels, codes).array
        return np.asarray(labels, dtype=object)[codes]

    def flat(k: str) -> list:
        return [x for per in cols[k] for x in per]

    state = np.concatenate(cols["state"])
    state_codes = np.select([state == PASS, state == FAIL], [0, 1], 2)
    evidence = np.concatenate(cols["evidence"])
    evidence_codes, evidence_labels = codes_of(evidence)
    return pd.DataFrame(
        {
            "village_code": village.array if village.dtype != object else village.to_numpy(),
            "rule": text([r.id for r in rules], per_rule),
            "criterion": text([r.criterion for r in rules], per_rule),
            "role": text([r.role for r in rules], per_rule),
            "variable": text(flat("variable"), per_candidate),
            "value": np.concatenate(cols["value"]),
            "op": text(flat("op"), per_candidate),
            "threshold": np.concatenate(cols["threshold"]),
            "unit": text([r.unit for r in rules], per_rule),
            "state": text(list(STATES), state_codes),
            "margin": np.concatenate(cols["margin"]),
            "evidence": (
                text(evidence_labels, evidence_codes) if (evidence_codes >= 0).all() else evidence
            ),
            "layer": text(flat("layer"), per_candidate),
            "source": text(flat("source"), per_candidate),
            "vintage": text(flat("vintage"), per_candidate),
        },
        copy=False,
    )


def evaluate(
    values: pd.DataFrame,
    rules: list[Rule],
    variables: dict[str, Variable],
    order: tuple[str, ...] | list[str] = EVIDENCE_ORDER,
) -> pd.DataFrame:
    """The long rule table of :func:`evaluate_all` (without the conflicts)."""
    return evaluate_all(values, rules, variables, order)[0]


def combine(long: pd.DataFrame) -> pd.DataFrame:
    """Criterion state per village (columns P1 ... I3) from the gate rules.

    Criteria with no gate rule (all removed from the config) are unknown. Villages come
    in their order of first appearance in ``long``.
    """
    # counted with integer keys (village x criterion): grouping 830 k text rows by two
    # text columns took a second nationally
    codes, villages = pd.factorize(long["village_code"])
    crit = pd.Index(CRITERIA).get_indexer(long["criterion"])
    use = (long["role"] == "gate").to_numpy() & (crit >= 0) & (codes >= 0)
    key = codes[use] * len(CRITERIA) + crit[use]
    size = len(villages) * len(CRITERIA)
    rows = np.bincount(key, minlength=size)
    fails = np.bincount(key, weights=(long["state"] == FAIL).to_numpy(bool)[use], minlength=size)
    passes = np.bincount(key, weights=(long["state"] == PASS).to_numpy(bool)[use], minlength=size)
    out = np.where(fails > 0, FAIL, np.where((rows > 0) & (passes == rows), PASS, UNKNOWN))
    return pd.DataFrame(
        out.astype(object).reshape(len(villages), len(CRITERIA)),
        dtype=object,
        index=pd.Index(villages),
        columns=pd.Index(list(CRITERIA), name="criterion"),
    )
