"""The rules' verdicts as integer-coded arrays: the form every decision is computed in.

One row per village and rule, as the long table (``Result.criteria``), but as numpy
arrays: the village and the rule as positions, the state as a small integer code
(:data:`STATE_CODES`, positions in :data:`despro.config.vocab.STATES`), the criterion
as a position in :data:`CRITERIA`. Criterion states, tiers, the honest score and its
range, ranks, the explain columns and ``p_ready`` are computed from these arrays
(:func:`despro.rules.criteria.criterion_codes`, :mod:`despro.rules.score`,
:func:`despro.rules.explain.explain_codes`, :func:`despro.model.p_ready_codes`); the
text labels are gathered once, at the end (:func:`despro.rules.labels.labels_from_codes`).
Grouping 830 k text rows by village code took seconds nationally; the same with
integer positions takes milliseconds.

The pipeline builds :class:`Verdicts` directly (:func:`despro.rules.criteria.evaluate_verdicts`);
the functions that take a long DataFrame (:func:`despro.rules.criteria.combine`,
:func:`despro.rules.score.composite` ...) convert it with :meth:`Verdicts.from_long`
and call the same array functions, so both give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from despro.config.vocab import FAIL, PASS, STATES, UNKNOWN

CRITERIA = ("P1", "P2", "P3", "I1", "I2", "I3")
#: state -> its integer code (the position in ``STATES``: pass 0, fail 1, unknown 2)
STATE_CODES = {s: i for i, s in enumerate(STATES)}
PASS_CODE, FAIL_CODE, UNKNOWN_CODE = STATE_CODES[PASS], STATE_CODES[FAIL], STATE_CODES[UNKNOWN]
#: operators under which a smaller value is better
BELOW_OPS = ("<=", "<")
#: the layer of a rule whose variable no configured layer gives
NOT_CONFIGURED = "(not configured)"


def state_codes(states: object) -> np.ndarray:
    """int8 codes (:data:`STATE_CODES`) of state labels; anything else is unknown."""
    s = pd.Series(states, copy=False) if not isinstance(states, pd.Series) else states
    return np.select(
        [(s == PASS).to_numpy(bool), (s == FAIL).to_numpy(bool)],
        [PASS_CODE, FAIL_CODE],
        UNKNOWN_CODE,
    ).astype(np.int8)


@dataclass
class Verdicts:
    """Rows (one per village and rule) of the rules' verdicts, as arrays.

    Attributes
    ----------
    villages : Index
        Village codes; ``village`` holds positions in it.
    village : ndarray of int64
        Per row: the village's position in ``villages``.
    rule : ndarray of int64
        Per row: the rule's position in ``rule_ids``.
    rule_ids : list of str
        Rule ids, in rule order (the order of first appearance in a long table).
    criterion : ndarray of int8
        Per row: position of the rule's criterion in :data:`CRITERIA` (-1: none).
    gate : ndarray of bool
        Per row: the rule is a gate rule (decides its criterion).
    state : ndarray of int8
        Per row: :data:`STATE_CODES`.
    value, threshold, margin : ndarray of float64
        Per row, in the rule's unit (margin: negative = short by; NaN where unknown).
    below : ndarray of bool
        Per row: the rule's operator is ``<=`` or ``<``.
    candidate : ndarray of int64
        Per row: position in ``candidates`` of the way the row's rule was decided.
    candidates : list of dict
        Per candidate: ``rule`` (id), ``layer`` and ``variable`` (and, when evaluated,
        ``op``, ``source``, ``vintage``).
    evidence : ndarray of int64
        Per row: position in ``evidence_labels`` of the level that decided (-1: none).
    evidence_labels : list
        Evidence levels.
    rule_criterion, rule_unit, rule_role : list of str
        Per rule: its criterion (P1 ... I3), unit and role (gate / info).
    parts : list of RuleVerdict, optional
        Per rule, its arrays as evaluated (:func:`despro.rules.criteria.evaluate_verdicts`;
        None when read from a long table): what a re-evaluation reuses.
    order : tuple of str
        The evidence order they were evaluated with.
    """

    villages: pd.Index
    village: np.ndarray
    rule: np.ndarray
    rule_ids: list[str]
    criterion: np.ndarray
    gate: np.ndarray
    state: np.ndarray
    value: np.ndarray
    threshold: np.ndarray
    margin: np.ndarray
    below: np.ndarray
    candidate: np.ndarray
    candidates: list[dict]
    evidence: np.ndarray
    evidence_labels: list
    rule_criterion: list[str]
    rule_unit: list[str]
    rule_role: list[str] = field(default_factory=list)
    parts: list | None = field(default=None, repr=False)
    order: tuple = ()
    _code_order: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def n_villages(self) -> int:
        """Number of villages."""
        return len(self.villages)

    def code_order(self) -> np.ndarray:
        """Per village: its position when the village codes are sorted (rank's last key);
        computed once and shared by the verdicts re-evaluated from these."""
        if self._code_order is None:
            order = np.argsort(np.asarray(self.villages, dtype=object), kind="stable")
            out = np.empty(len(order), np.int64)
            out[order] = np.arange(len(order))
            self._code_order = out
        return self._code_order

    @classmethod
    def from_long(cls, long: pd.DataFrame) -> Verdicts:
        """The verdicts of a long rule table (``Result.criteria``, or an edited copy).

        Villages come in their order of first appearance, rules likewise. Columns the
        table lacks are filled as unknown / NaN.
        """
        n = len(long)

        def col(name: str, default: object) -> pd.Series:
            return long[name] if name in long.columns else pd.Series(default, index=long.index)

        village, villages = pd.factorize(long["village_code"])
        rule_c, rule_u = pd.factorize(col("rule", ""), use_na_sentinel=False)
        crit = pd.Index(CRITERIA).get_indexer(col("criterion", None)).astype(np.int8)
        layer_c, layer_u = pd.factorize(col("layer", None), use_na_sentinel=False)
        var_c, var_u = pd.factorize(col("variable", None), use_na_sentinel=False)
        combo = (rule_c.astype(np.int64) * (len(layer_u) + 1) + layer_c) * (len(var_u) + 1) + var_c
        combo_u, cand_c = np.unique(combo, return_inverse=True)
        candidates = []
        for c in combo_u.tolist():
            rest, v = divmod(c, len(var_u) + 1)
            r, lay = divmod(rest, len(layer_u) + 1)
            candidates.append({"rule": rule_u[r], "layer": layer_u[lay], "variable": var_u[v]})
        ev_c, ev_u = pd.factorize(col("evidence", None))
        first = np.unique(rule_c, return_index=True)[1] if n else np.array([], int)
        return cls(
            villages=pd.Index(villages),
            village=village.astype(np.int64),
            rule=rule_c.astype(np.int64),
            rule_ids=[str(r) for r in rule_u],
            criterion=crit,
            gate=(col("role", "") == "gate").to_numpy(bool),
            state=state_codes(col("state", UNKNOWN)),
            value=col("value", np.nan).to_numpy(float),
            threshold=col("threshold", np.nan).to_numpy(float),
            margin=col("margin", np.nan).to_numpy(float),
            below=col("op", ">=").isin(BELOW_OPS).to_numpy(bool),
            candidate=cand_c.astype(np.int64),
            candidates=candidates,
            evidence=ev_c.astype(np.int64),
            evidence_labels=list(ev_u),
            rule_criterion=list(col("criterion", None).to_numpy(object)[first]),
            rule_unit=list(col("unit", None).to_numpy(object)[first]),
            rule_role=list(col("role", None).to_numpy(object)[first]),
        )

    def by_village(self, i: int, values: np.ndarray, fill: object) -> np.ndarray:
        """Per village (``villages`` order): the row of rule ``i`` from ``values`` (an array
        per row), ``fill`` where the village has no row for it.

        Rule-major verdicts of every village (:func:`~despro.rules.criteria.evaluate_verdicts`)
        hold rule ``i`` in one block of rows: its slice, without a search.
        """
        n = self.n_villages
        if self.parts is not None:
            return values[i * n : (i + 1) * n]
        rows = np.flatnonzero((self.rule == i) & (self.village >= 0))
        out = np.full(n, fill, dtype=np.result_type(values.dtype, np.min_scalar_type(fill)))
        out[self.village[rows]] = values[rows]
        return out
