"""Agreement between observed and modelled evidence for the same rule and village.

A rule may be decided by an observed value (the village census: "4G signal in most of
the village", "a courier agent operates") or by a value modelled from cells (the area
within reach of a tower, the outlets in the village's cells). Where a village has both,
the more trusted one decides (:func:`despro.rules.criteria.evaluate_all`); this module
counts how often the two agree, so a planner can judge the modelled values where
nothing was observed.

For every rule and every pair (observed variable, modelled variable) among its ways to
be decided, each with its own test (``op`` and threshold, as the rule and its evidence
declare them), the villages where both are known are counted in a confusion table:

============  ==================  ==================
..            modelled pass       modelled fail
============  ==================  ==================
observed yes  ``yes_pass``        ``yes_fail``
observed no   ``no_pass``         ``no_fail``
============  ==================  ==================

``agreement`` = (``yes_pass`` + ``no_fail``) / ``villages``. Nationally (all villages
of the run) and per group (province). Pure: a frame in, a frame out; writing is
:mod:`despro.io.quality`'s.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from despro.config.vocab import PASS, UNKNOWN
from despro.rules.criteria import rule_states
from despro.variables import Variable

#: evidence levels that observe a village (a census, a village table)
OBSERVED_LEVELS: tuple[str, ...] = ("census", "village")
#: evidence levels that model a village's value (cells, a fitted model)
MODELLED_LEVELS: tuple[str, ...] = ("cells", "model")
COUNTS = ("yes_pass", "yes_fail", "no_pass", "no_fail")
COLUMNS = [
    "rule",
    "observed_variable",
    "observed_test",
    "observed_source",
    "modelled_variable",
    "modelled_test",
    "modelled_source",
    "scope",
    "area_code",
    "area_name",
    "villages",
    *COUNTS,
    "agreement",
]


def _ways(rule, variables: dict[str, Variable]) -> list[tuple[str, str, str, float]]:
    """(level, variable, op, threshold) of each way the rule can be decided."""
    main = variables.get(rule.variable)
    out = [(main.level if main else "cells", rule.variable, rule.op, rule.threshold)]
    out += [
        (
            e.level,
            e.variable,
            e.op or rule.op,
            rule.threshold if e.threshold is None else e.threshold,
        )
        for e in rule.evidence
    ]
    return out


def _level(values: pd.DataFrame, variable: str, default: str) -> np.ndarray:
    """Per-village evidence level of a variable (its ``<variable>_evidence`` column, if any)."""
    ev = f"{variable}_evidence"
    lv = np.full(len(values), default, dtype=object)
    if ev in values.columns:
        col = values[ev].to_numpy(object)
        given = pd.notna(col) & (col != "none")
        lv[given] = col[given]
    return lv


def agreement(
    values: pd.DataFrame,
    rules: Iterable,
    variables: dict[str, Variable],
    groups: pd.DataFrame | None = None,
    observed_levels: Iterable[str] = OBSERVED_LEVELS,
    modelled_levels: Iterable[str] = MODELLED_LEVELS,
) -> pd.DataFrame:
    """Confusion tables of observed vs modelled evidence, nationally and per group.

    Parameters
    ----------
    values : DataFrame
        Finished village values (one row per village), with the rules' variables and
        optionally ``<variable>_evidence`` (per-village evidence level).
    rules : iterable of Rule
        The run's rules (``criteria.rules``), with their evidence alternatives.
    variables : dict
        Variable name -> declaration (evidence level, layer, source).
    groups : DataFrame, optional
        Same index as ``values``, columns ``code`` and ``name`` (e.g. the province);
        one extra block of rows per group. None: national rows only.
    observed_levels, modelled_levels : iterable of str
        Evidence levels counted as observed and as modelled.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`: one row per (rule, observed variable, modelled variable, area)
        where at least one village has both values; ``scope`` is ``national`` (area
        ``all``) or ``group``; ``villages`` = villages with both known; the four counts
        (villages); ``agreement`` = share (0-1) of those villages where the two agree.
        Tests are written ``op threshold`` (``>= 50``). Empty (with the columns) when
        no village has both.
    """
    obs_lv, mod_lv = set(observed_levels), set(modelled_levels)
    rows = []
    for rule in rules:
        ways = [w for w in _ways(rule, variables) if w[1] in values.columns]
        for o_level, o_var, o_op, o_thr in ways:
            for m_level, m_var, m_op, m_thr in ways:
                if o_var == m_var:
                    continue
                o_is = np.isin(_level(values, o_var, o_level), list(obs_lv))
                m_is = np.isin(_level(values, m_var, m_level), list(mod_lv))
                if not (o_is.any() and m_is.any()):
                    continue
                o_state = _states(values[o_var], rule, o_op, o_thr)
                m_state = _states(values[m_var], rule, m_op, m_thr)
                both = o_is & m_is & (o_state != UNKNOWN) & (m_state != UNKNOWN)
                if not both.any():
                    continue
                frame = pd.DataFrame(
                    {
                        "yes": o_state[both] == PASS,
                        "pass": m_state[both] == PASS,
                    },
                    index=values.index[both],
                )
                head = {
                    "rule": rule.id,
                    "observed_variable": o_var,
                    "observed_test": f"{o_op} {o_thr:g}",
                    "observed_source": _source(variables, o_var),
                    "modelled_variable": m_var,
                    "modelled_test": f"{m_op} {m_thr:g}",
                    "modelled_source": _source(variables, m_var),
                }
                rows.append({**head, "scope": "national", "area_code": "all", "area_name": ""})
                rows[-1].update(_confusion(frame))
                if groups is None:
                    continue
                g = groups.reindex(frame.index)
                for code, sub in frame.groupby(g["code"].astype(str), sort=True):
                    name = g.loc[sub.index, "name"].iloc[0] if "name" in g else ""
                    rows.append(
                        {
                            **head,
                            "scope": "group",
                            "area_code": code,
                            "area_name": "" if pd.isna(name) else str(name),
                            **_confusion(sub),
                        }
                    )
    return pd.DataFrame(rows, columns=COLUMNS)


def _states(v: pd.Series, rule, op: str, thr: float) -> np.ndarray:
    alt = rule.model_copy(update={"op": op, "threshold": thr})
    state, _ = rule_states(v.to_numpy(float), alt)
    return state


def _source(variables: dict[str, Variable], name: str) -> str:
    decl = variables.get(name)
    if decl is None:
        return ""
    return f"{decl.layer}: {decl.source}" if decl.source else decl.layer


def _confusion(frame: pd.DataFrame) -> dict:
    """The four counts and the agreement share of a (yes, pass) boolean frame."""
    yes, ok = frame["yes"].to_numpy(bool), frame["pass"].to_numpy(bool)
    counts = {
        "yes_pass": int((yes & ok).sum()),
        "yes_fail": int((yes & ~ok).sum()),
        "no_pass": int((~yes & ok).sum()),
        "no_fail": int((~yes & ~ok).sum()),
    }
    n = len(frame)
    agree = (counts["yes_pass"] + counts["no_fail"]) / n if n else np.nan
    return {"villages": n, **counts, "agreement": agree}
