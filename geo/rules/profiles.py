"""Compare criteria profiles on one run's values, and the Taobao monitoring status.

:func:`compare` evaluates the rules of two profiles on the same finished village values
(:func:`despro.rules.criteria.evaluate_verdicts`, the pipeline's own evaluation) and lists
every village whose tier changes, with the rules whose state changes and why (value,
old and new threshold). A village's tier can change only where one of its gate rules
crosses from one threshold to the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from despro.config.settings import Rule
from despro.config.vocab import FAIL, PASS, UNKNOWN
from despro.rules.criteria import criterion_codes, evaluate_verdicts, long_table
from despro.rules.score import far_fail_codes, tier_codes, tier_labels

TAOBAO_RULES = ("T1", "T2", "T3")
#: a tier that changes while no rule changes state: the near-ready band moved with the
#: threshold of a failing rule (``near_ready_fraction`` of the threshold)
NO_CROSSING = "no rule crosses; the near-ready band of a failing rule moved"


def evaluate_profile(
    values: pd.DataFrame,
    rules: list[Rule],
    variables: dict,
    order: tuple[str, ...],
    near_fraction: float,
) -> tuple[pd.DataFrame, pd.Series]:
    """The long rule table and the tier per village of ``rules`` on ``values`` (on integer
    codes, as a run: :func:`despro.rules.criteria.evaluate_verdicts`)."""
    v = evaluate_verdicts(values, rules, variables, order)
    tier = tier_codes(criterion_codes(v), far_fail_codes(v, near_fraction))
    return long_table(v), tier_labels(tier, v.villages).reindex(values.index)


def compare(
    values: pd.DataFrame,
    rules_a: list[Rule],
    rules_b: list[Rule],
    variables: dict,
    order: tuple[str, ...],
    near_fraction: float,
    names: tuple[str, str] = ("a", "b"),
) -> pd.DataFrame:
    """Villages whose tier or any gate rule's state differs between two rule sets.

    Parameters
    ----------
    values : DataFrame
        Finished village values (``Result.villages`` without geometry), by village code.
    rules_a, rules_b : list of Rule
        The two profiles' rules.
    variables : dict
    order : tuple of str
        Evidence order.
    near_fraction : float
    names : (str, str)
        Profile names for the column headers.

    Returns
    -------
    DataFrame
        One row per village that changes: ``village_code, tier_<a>, tier_<b>,
        tier_changed, rules_changed`` (e.g. ``I1a fail->pass (value 32; 35 -> 30)``).
    """
    la, ta = evaluate_profile(values, rules_a, variables, order, near_fraction)
    lb, tb = evaluate_profile(values, rules_b, variables, order, near_fraction)
    key = ["village_code", "rule"]
    a = la[la["role"] == "gate"].set_index(key)
    b = lb[lb["role"] == "gate"].set_index(key)
    both = a.merge(b, left_index=True, right_index=True, how="inner", suffixes=("_a", "_b"))
    moved = both[both["state_a"].astype(str) != both["state_b"].astype(str)].reset_index()
    text = pd.Series(
        [
            f"{r} {sa}->{sb} (value {v:.4g}; {t1:.4g} -> {t2:.4g})"
            for r, sa, sb, v, t1, t2 in zip(
                moved["rule"],
                moved["state_a"],
                moved["state_b"],
                moved["value_a"].astype(float),
                moved["threshold_a"].astype(float),
                moved["threshold_b"].astype(float),
                strict=True,
            )
        ],
        dtype=object,
    )
    why = text.groupby(moved["village_code"].to_numpy()).agg("; ".join)
    codes = ta.index[(ta != tb).to_numpy()].union(pd.Index(why.index))
    out = pd.DataFrame(
        {
            f"tier_{names[0]}": ta.reindex(codes).to_numpy(),
            f"tier_{names[1]}": tb.reindex(codes).to_numpy(),
        },
        index=pd.Index(codes, name="village_code"),
    )
    out["tier_changed"] = out.iloc[:, 0] != out.iloc[:, 1]
    out["rules_changed"] = why.reindex(codes).fillna(NO_CROSSING).to_numpy()
    return out.reset_index()


def taobao_status(long: pd.DataFrame) -> pd.Series:
    """Taobao village test per village: T1 and (T2 or T3), from the info rules T1-T3.

    ``pass`` / ``fail`` when decided, ``unknown`` otherwise (no seller / sales tables).
    Empty when the rules are not in use (profile ``taobao-monitoring`` adds them).
    """
    t = long[long["rule"].isin(TAOBAO_RULES)]
    if t.empty:
        return pd.Series(dtype=object, name="taobao_status")
    s = t.pivot_table(index="village_code", columns="rule", values="state", aggfunc="first")
    s = s.reindex(columns=list(TAOBAO_RULES)).fillna(UNKNOWN)
    t1, t2, t3 = (s[c].to_numpy(object) for c in TAOBAO_RULES)
    either_pass = (t2 == PASS) | (t3 == PASS)
    both_fail = (t2 == FAIL) & (t3 == FAIL)
    out = np.where(
        (t1 == PASS) & either_pass,
        PASS,
        np.where((t1 == FAIL) | both_fail, FAIL, UNKNOWN),
    )
    return pd.Series(out, index=s.index, name="taobao_status")
