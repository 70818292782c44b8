"""Despro rules -> pass / fail / unknown per village, with value, threshold, margin and source.

Rules are data (:class:`~despro.config.settings.Rule`, defaults in
``criteria_defaults.toml`` = Table 1). For each village and rule the engine
records the value, the threshold, the state, the margin (how far above the
threshold it is, in the rule's unit; negative = short by), the variable's layer,
source file and vintage. A missing value gives ``unknown``: never pass, never fail.
Exactly at a threshold passes.

A criterion (P1 ... I3) combines its *gate* rules: fail if any fails, pass if all
pass, otherwise unknown. *Info* rules are reported but decide nothing.

Everything is computed on integer codes (:mod:`despro.rules.verdicts`):
:func:`evaluate_verdicts` gives the arrays, :func:`long_table` the long table's labels
(once), :func:`criterion_codes` the criterion states. :func:`evaluate_all` and
:func:`combine` are the same on and to long tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from despro.config.settings import Rule
from despro.config.vocab import EVIDENCE_ORDER, STATES
from despro.errors import ConfigError
from despro.rules.labels import labels_from_codes
from despro.rules.verdicts import (
    BELOW_OPS,
    CRITERIA,
    FAIL_CODE,
    NOT_CONFIGURED,
    PASS_CODE,
    UNKNOWN_CODE,
    Verdicts,
)
from despro.variables import Variable

_STATE_LABELS = np.asarray(STATES, dtype=object)
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


def rule_state_codes(value: np.ndarray, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """State codes (int8, :data:`~despro.rules.verdicts.STATE_CODES`) and margins of one
    rule over an array of values (see :func:`rule_states`)."""
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
    state = np.where(known, np.where(ok, PASS_CODE, FAIL_CODE), UNKNOWN_CODE).astype(np.int8)
    return state, np.where(known, margin, np.nan)


def rule_states(value: np.ndarray, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """State ('pass' / 'fail' / 'unknown') and margin of one rule over an array of values."""
    state, margin = rule_state_codes(value, rule)
    return _STATE_LABELS[state], margin


@dataclass
class RuleVerdict:
    """One rule's verdict on every village (arrays in the villages' order).

    ``pick`` is the candidate (way to decide the rule, :func:`_candidates`) each village
    was decided on (the first with a known state, else the first); ``evidence`` codes
    index ``evidence_labels`` (-1: missing); ``conflicts``: frames of the villages where
    another candidate is known and disagrees.
    """

    rule: Rule
    value: np.ndarray
    threshold: np.ndarray
    margin: np.ndarray
    state: np.ndarray
    pick: np.ndarray
    candidates: list[dict]
    evidence: np.ndarray
    evidence_labels: list
    conflicts: list[pd.DataFrame]


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
        state, margin = rule_state_codes(v, alt)
        decl = variables.get(var)
        if decl is not None and decl.lower_bound:  # a lower bound proves one side only
            unproven = state == (FAIL_CODE if op in (">=", ">") else PASS_CODE)
            state = np.where(unproven, UNKNOWN_CODE, state).astype(np.int8)
        ev = f"{var}_evidence"  # a layer may say, per village, which level decided the value
        level_v = (
            np.where(values[ev].isin(["none", None]), level, values[ev].astype(object)).astype(
                object
            )
            if ev in values.columns
            else None  # the candidate's level for every village
        )
        out.append(
            {
                "level": level,
                "levels": level_v,
                "variable": var,
                "op": op,
                "threshold": thr,
                "value": v,
                "state": state,
                "margin": margin,
                "layer": decl.layer if decl else NOT_CONFIGURED,
                "source": decl.source if decl else "",
                "vintage": decl.vintage if decl else "",
            }
        )
    return out


def _levels(c: dict, n: int) -> np.ndarray:
    """The evidence level of candidate ``c`` per village (object array)."""
    return c["levels"] if c["levels"] is not None else np.full(n, c["level"], dtype=object)


def evaluate_rule(
    values: pd.DataFrame,
    rule: Rule,
    variables: dict[str, Variable],
    order: tuple[str, ...] | list[str] = EVIDENCE_ORDER,
) -> RuleVerdict:
    """One rule on every village, choosing evidence by precedence (see :func:`evaluate_all`)."""
    order = tuple(order)
    codes = values.index.to_numpy()
    n, rows = len(values), np.arange(len(values))
    cands = _candidates(rule, values, variables, order)
    chosen = np.full(n, -1)
    for i, c in enumerate(cands):
        chosen = np.where((chosen < 0) & (c["state"] != UNKNOWN_CODE), i, chosen)
    pick = np.where(chosen < 0, 0, chosen)
    single = len(cands) == 1

    def per_village(k: str) -> np.ndarray:
        return cands[0][k] if single else np.stack([c[k] for c in cands])[pick, rows]

    value = per_village("value").astype(float)
    state = per_village("state").astype(np.int8)
    margin = per_village("margin").astype(float)
    # evidence codes: the chosen candidate's level, "none" where no candidate is known
    labels: list = ["none"]
    ev = np.zeros(n, np.int64)
    level_of: list[np.ndarray] = []
    for i, c in enumerate(cands):
        mine = chosen == i
        if c["levels"] is None:
            if c["level"] not in labels:
                labels.append(c["level"])
            ev[mine] = labels.index(c["level"])
        else:
            lc, lu = pd.factorize(c["levels"][mine])
            at = []
            for x in lu:
                if x not in labels:
                    labels.append(x)
                at.append(labels.index(x))
            ev[mine] = np.where(lc >= 0, np.asarray(at + [-1], np.int64)[lc], -1)
        level_of.append(_levels(c, n) if len(cands) > 1 else None)
    conflicts = []
    if len(cands) > 1:
        win_state = _STATE_LABELS[state]
        win_level = np.stack(level_of)[pick, rows]
        for i, c in enumerate(cands):
            other = (chosen >= 0) & (chosen != i) & (c["state"] != UNKNOWN_CODE)
            disagree = other & (c["state"] != state)
            if disagree.any():
                conflicts.append(
                    pd.DataFrame(
                        {
                            "village_code": codes[disagree],
                            "rule": rule.id,
                            "evidence": win_level[disagree],
                            "state": win_state[disagree],
                            "value": value[disagree],
                            "other_evidence": level_of[i][disagree],
                            "other_state": _STATE_LABELS[c["state"][disagree]],
                            "other_value": c["value"][disagree],
                            "other_variable": c["variable"],
                        }
                    )
                )
    return RuleVerdict(
        rule=rule,
        value=value,
        threshold=np.array([c["threshold"] for c in cands], float)[pick],
        margin=margin,
        state=state,
        pick=pick,
        candidates=[
            {k: c[k] for k in ("variable", "op", "layer", "source", "vintage")} for c in cands
        ],
        evidence=ev,
        evidence_labels=labels,
        conflicts=conflicts,
    )


def evaluate_verdicts(
    values: pd.DataFrame,
    rules: list[Rule],
    variables: dict[str, Variable],
    order: tuple[str, ...] | list[str] = EVIDENCE_ORDER,
    previous: Verdicts | None = None,
) -> Verdicts:
    """Every rule on every village (:func:`evaluate_all`), as integer-coded arrays.

    Parameters
    ----------
    values, rules, variables, order
        As :func:`evaluate_all`.
    previous : Verdicts, optional
        Verdicts evaluated before from the same ``values`` and ``order``
        (:attr:`Verdicts.parts`): a rule equal to one of its rules is not evaluated
        again, its arrays are reused (a threshold change evaluates one rule).

    Returns
    -------
    Verdicts
        Rule-major rows (every village for the first rule, then the second ...),
        villages in ``values.index`` order; ``parts`` holds the per-rule arrays and
        ``conflicts`` the villages where two known evidence levels disagree.
    """
    order = tuple(order)
    reuse: list[RuleVerdict] = []
    if previous is not None and previous.parts is not None and previous.order == order:
        if previous.villages is values.index or previous.villages.equals(values.index):
            reuse = previous.parts

    def part(rule: Rule) -> RuleVerdict:
        for p in reuse:  # rules are frozen models; equal definitions decide alike
            if p.rule == rule:
                return p
        return evaluate_rule(values, rule, variables, order)

    out = verdicts_of(values.index, [part(r) for r in rules], order)
    if reuse:
        out._code_order = previous._code_order
    return out


def verdicts_of(index: pd.Index, parts: list[RuleVerdict], order: tuple = ()) -> Verdicts:
    """Rule-major :class:`Verdicts` from one :class:`RuleVerdict` per rule."""
    n, n_rules = len(index), len(parts)
    offsets = np.cumsum([0, *(len(p.candidates) for p in parts[:-1])]).astype(np.int64)
    candidates = [
        {"rule": p.rule.id, **c, "below": c["op"] in BELOW_OPS} for p in parts for c in p.candidates
    ]
    below = np.array([c["below"] for c in candidates], bool)
    evidence_labels: list = []
    ev = []
    for p in parts:
        at = []
        for x in p.evidence_labels:
            if x not in evidence_labels:
                evidence_labels.append(x)
            at.append(evidence_labels.index(x))
        ev.append(np.where(p.evidence >= 0, np.asarray(at + [-1], np.int64)[p.evidence], -1))
    crit_of_rule = pd.Index(CRITERIA).get_indexer([p.rule.criterion for p in parts])
    candidate = (
        np.concatenate([o + p.pick for o, p in zip(offsets, parts, strict=True)]).astype(np.int64)
        if parts
        else np.zeros(0, np.int64)
    )

    def cat(k: str, dtype) -> np.ndarray:
        return (
            np.concatenate([getattr(p, k) for p in parts]).astype(dtype)
            if parts
            else np.zeros(0, dtype)
        )

    return Verdicts(
        villages=index,
        village=np.tile(np.arange(n, dtype=np.int64), n_rules),
        rule=np.repeat(np.arange(n_rules, dtype=np.int64), n),
        rule_ids=[p.rule.id for p in parts],
        criterion=np.repeat(crit_of_rule.astype(np.int8), n),
        gate=np.repeat(np.array([p.rule.role == "gate" for p in parts], bool), n),
        state=cat("state", np.int8),
        value=cat("value", float),
        threshold=cat("threshold", float),
        margin=cat("margin", float),
        below=below[candidate],
        candidate=candidate,
        candidates=candidates,
        evidence=np.concatenate(ev) if ev else np.zeros(0, np.int64),
        evidence_labels=evidence_labels,
        rule_criterion=[p.rule.criterion for p in parts],
        rule_unit=[p.rule.unit for p in parts],
        rule_role=[p.rule.role for p in parts],
        parts=parts,
        order=tuple(order),
    )


CONFLICT_COLUMNS = [
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


def conflicts_table(verdicts: Verdicts) -> pd.DataFrame:
    """The villages and rules where two known evidence levels disagree (see
    :func:`evaluate_all`), from evaluated verdicts."""
    pieces = [c for p in verdicts.parts or [] for c in p.conflicts]
    return (
        pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=CONFLICT_COLUMNS)
    )


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
        The same tables as :func:`long_table` and :func:`conflicts_table` of
        :func:`evaluate_verdicts`.
    """
    verdicts = evaluate_verdicts(values, rules, variables, order)
    return long_table(verdicts), conflicts_table(verdicts)


def _text(labels: list, codes: np.ndarray):
    """Rows ``labels[codes]``: arrow strings gathered from codes, or (a label that is
    not a string) pandas' own inference over the values."""
    if all(isinstance(x, str) for x in labels):
        return labels_from_codes(labels, codes).array
    return np.asarray(labels, dtype=object)[codes]


def long_table(
    verdicts: Verdicts, previous: tuple[Verdicts, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """The long rule table of evaluated verdicts: rule-major, villages in index order.

    Text columns repeat a few labels 830 k times nationally; they are gathered from
    codes (:func:`~despro.rules.labels.labels_from_codes`) rather than converted from
    Python strings row by row. Any label that is not a string falls back to pandas'
    own inference over the values, so the dtypes are what pandas would give either way.

    Parameters
    ----------
    verdicts : Verdicts
        From :func:`evaluate_verdicts`.
    previous : (Verdicts, DataFrame), optional
        Verdicts of the same villages and rules (ids, criteria, roles, units) and their
        long table: the text of a rule whose codes did not change is shared from it
        (arrow slices, no copy) instead of gathered again, so a threshold change
        gathers the text of its own rule only. The table is the same either way.
    """
    if verdicts.parts is None:
        raise ValueError("a long table is built from evaluated verdicts (evaluate_verdicts)")
    if not verdicts.parts:
        return pd.DataFrame(columns=LONG_COLUMNS)
    v = verdicts
    n, n_rules = len(v.villages), len(v.parts)

    def shape(x: Verdicts) -> list[tuple]:
        return [(p.rule.id, p.rule.criterion, p.rule.role, p.rule.unit) for p in x.parts]

    old, old_long = previous if previous is not None else (None, None)
    if not (
        old is not None
        and old.parts is not None
        and len(old_long) == len(v.state)
        and (old.villages is v.villages or old.villages.equals(v.villages))
        and shape(old) == shape(v)
    ):
        old = None

    def village():
        taken = v.villages.take(np.tile(np.arange(n), n_rules))
        return taken.array if taken.dtype != object else taken.to_numpy()

    def rule_text(k: str):
        return _text([getattr(p.rule, k) for p in v.parts], v.rule)

    def evidence(codes: np.ndarray, labels: list):
        if (codes >= 0).all():
            return _text(labels, codes)
        return np.asarray([*labels, None], dtype=object)[codes]

    def column(name: str, whole, block, same) -> object:
        """The column ``name``: shared from ``old_long`` where ``same(old part, part)``,
        per rule; built whole (``whole()``) without a previous table."""
        if old is None:
            return whole()
        kept = [p is q or same(q, p) for p, q in zip(v.parts, old.parts, strict=True)]
        prior = old_long[name].array
        if all(kept):
            return prior
        if not any(kept) or not isinstance(prior, pd.arrays.ArrowStringArray):
            return whole()
        chunks = []
        for i, (p, keep) in enumerate(zip(v.parts, kept, strict=True)):
            part = prior[i * n : (i + 1) * n] if keep else block(p)
            if not isinstance(part, pd.arrays.ArrowStringArray):
                return whole()
            chunks += part._pa_array.chunks
        return pa.chunked_array(chunks, type=prior._pa_array.type).to_pandas().array

    def cand(k: str):
        return column(
            k,
            lambda: _text([c[k] for c in v.candidates], v.candidate),
            lambda p: _text([c[k] for c in p.candidates], p.pick),
            lambda q, p: (
                [c[k] for c in q.candidates] == [c[k] for c in p.candidates]
                and np.array_equal(q.pick, p.pick)
            ),
        )

    def fixed(name: str, build):
        return old_long[name].array if old is not None else build()

    return pd.DataFrame(
        {
            "village_code": fixed("village_code", village),
            "rule": fixed("rule", lambda: rule_text("id")),
            "criterion": fixed("criterion", lambda: rule_text("criterion")),
            "role": fixed("role", lambda: rule_text("role")),
            "variable": cand("variable"),
            "value": v.value,
            "op": cand("op"),
            "threshold": v.threshold,
            "unit": fixed("unit", lambda: rule_text("unit")),
            "state": column(
                "state",
                lambda: _text(list(STATES), v.state),
                lambda p: _text(list(STATES), p.state),
                lambda q, p: np.array_equal(q.state, p.state),
            ),
            "margin": v.margin,
            "evidence": column(
                "evidence",
                lambda: evidence(v.evidence, v.evidence_labels),
                lambda p: evidence(p.evidence, p.evidence_labels),
                lambda q, p: (
                    q.evidence_labels == p.evidence_labels
                    and np.array_equal(q.evidence, p.evidence)
                ),
            ),
            "layer": cand("layer"),
            "source": cand("source"),
            "vintage": cand("vintage"),
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


def criterion_codes(verdicts: Verdicts) -> np.ndarray:
    """Criterion state codes (villages x :data:`CRITERIA`, int8) from the gate rules.

    A criterion fails if any of its gate rules fails, passes if all pass, is unknown
    otherwise (and when it has no gate rule).
    """
    v = verdicts
    use = v.gate & (v.criterion >= 0) & (v.village >= 0)
    key = v.village[use] * len(CRITERIA) + v.criterion[use]
    size = v.n_villages * len(CRITERIA)
    state = v.state[use]
    rows = np.bincount(key, minlength=size)
    fails = np.bincount(key[state == FAIL_CODE], minlength=size)
    passes = np.bincount(key[state == PASS_CODE], minlength=size)
    out = np.where(
        fails > 0, FAIL_CODE, np.where((rows > 0) & (passes == rows), PASS_CODE, UNKNOWN_CODE)
    )
    return out.astype(np.int8).reshape(v.n_villages, len(CRITERIA))


def criterion_frame(codes: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Criterion states as labels (columns P1 ... I3, object dtype) from their codes."""
    return pd.DataFrame(
        _STATE_LABELS[codes],
        dtype=object,
        index=pd.Index(index),
        columns=pd.Index(list(CRITERIA), name="criterion"),
    )


def combine(long: pd.DataFrame) -> pd.DataFrame:
    """Criterion state per village (columns P1 ... I3) from the gate rules.

    Criteria with no gate rule (all removed from the config) are unknown. Villages come
    in their order of first appearance in ``long``. (:func:`criterion_codes` on
    :meth:`Verdicts.from_long`.)
    """
    v = Verdicts.from_long(long)
    return criterion_frame(criterion_codes(v), v.villages)
