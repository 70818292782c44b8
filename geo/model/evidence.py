"""Per-rule models of observed village answers, validated province by province.

For every rule with an observed evidence level (``census`` by default, e.g. I1b's
``census_signal_4g``), the village's observed state of that candidate is a label
(pass 1, fail 0). A scikit-learn ``HistGradientBoostingClassifier`` learns it from
features every village has: the run's finished numeric variables except those of an
observed level (no answer may predict itself), plus ``urban`` from the code's 5th
group (first digit of the last four: 1 kelurahan -> 1, 2 desa -> 0). Missing values
are handled by the trees, so nothing is imputed across folds. Features constant within
every training province (province statistics) are left out (:func:`within_province`).

Which villages train it. Only provinces that observe *both* answers, at least
``min_per_class`` villages each: a source that records one answer only (Jawa Barat's
signal file records only "no signal"; a courier agent's absence decides nothing, so I3
has positives only) is a sample selected by its questionnaire, whose class share says
nothing about the province; treating "not recorded" as "no" would be a positive-
unlabelled guess. A rule without two such provinces gets no model, and says why.

Validation leaves a whole province out (``LeaveOneGroupOut`` on the first two code
digits): each held-out province is predicted by a model that saw none of its villages
(:func:`leave_province_out` checks it). Per held-out province: villages, observed pass
share, mean probability, ROC AUC (NaN with one class), Brier score, and calibration
by decile of the predicted probability (mean probability vs observed share); the
pooled out-of-fold predictions give the ``all`` rows. The final model, fit on every
training village, gives ``<rule>_model_prob`` = P(rule passes) for every village,
recalibrated (:func:`recalibration`, Platt on the held-out predictions) so that a
model that does not carry from one province to another says so: its probabilities
shrink to the observed share. The table reports the held-out predictions *before*
that recalibration (it is fit on them, so scoring it there would flatter it).

How it enters the results (:func:`p_ready`). ``model`` is the lowest evidence level,
after every observed and official one: it is used only where the rule is ``unknown``
after :func:`despro.rules.criteria.evaluate_all`, and it never changes a state, a tier
or a score. ``<rule>_prob`` is 1 / 0 where the rule passed / failed on its evidence,
the model probability where it is unknown and modelled, NaN otherwise;
``<rule>_prob_evidence`` names the level. ``p_ready`` is the product over the gate
rules of ``<rule>_prob``: it assumes the rules' outcomes are independent given the
features (they are not exactly: signal and couriers both follow roads), so read it as
a ranking aid, not a frequency. It is 0 where a gate rule fails, otherwise NaN where
any gate rule is unknown and unmodelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from despro.codes import village_areas
from despro.config.settings import Rule
from despro.config.vocab import FAIL, MODEL_LEVEL, PASS
from despro.rules.criteria import rule_states
from despro.rules.labels import labels_from_codes
from despro.rules.verdicts import FAIL_CODE, PASS_CODE, UNKNOWN_CODE, Verdicts

VALIDATION_COLUMNS = [
    "rule",
    "province",
    "decile",
    "n",
    "n_train",
    "observed_share",
    "mean_prob",
    "roc_auc",
    "brier",
]


@dataclass
class ModelEvidence:
    """Modelled probabilities and their validation.

    Attributes
    ----------
    probs : DataFrame
        Indexed by village code: ``<rule>_model_prob`` (P(pass), 0-1) per modelled rule.
    validation : DataFrame
        ``VALIDATION_COLUMNS``: per rule and held-out province (``all`` = pooled) one row
        with ``decile`` 0 (whole province: ``roc_auc``, ``brier``, ``n_train``), then one
        row per decile 1-10 of the predicted probability (``n``, ``mean_prob``,
        ``observed_share``).
    features : dict
        Rule -> feature names used.
    notes : list of str
        One sentence per rule modelled or skipped (with the reason).
    """

    probs: pd.DataFrame
    validation: pd.DataFrame
    features: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _digits(codes: pd.Index) -> pd.Series:
    return pd.Series(codes.astype(str), index=codes).str.replace(r"\D", "", regex=True)


def province_of(codes: pd.Index) -> pd.Series:
    """Province code (first two digits) of each village code."""
    return _digits(codes).str[:2]


def urban_of(codes: pd.Index) -> pd.Series:
    """1.0 kelurahan, 0.0 desa, NaN otherwise (:func:`despro.codes.village_areas`)."""
    area = village_areas(codes)
    return pd.Series(np.select([area == "urban", area == "rural"], [1.0, 0.0], np.nan), index=codes)


def observed_labels(values: pd.DataFrame, rule: Rule, levels: tuple[str, ...]) -> pd.Series:
    """1 / 0 / NaN per village: the rule's state on its first observed evidence candidate.

    Parameters
    ----------
    values : DataFrame
        Village values (index: village code).
    rule : Rule
    levels : tuple of str
        Evidence levels that count as observed (e.g. ``("census",)``).

    Returns
    -------
    Series
        1.0 pass, 0.0 fail, NaN not observed (or no observed candidate in ``values``).
    """
    out = pd.Series(np.nan, index=values.index)
    for e in rule.evidence:
        if e.level not in levels or e.variable not in values:
            continue
        alt = rule.model_copy(
            update={
                "variable": e.variable,
                "op": e.op or rule.op,
                "threshold": rule.threshold if e.threshold is None else e.threshold,
            }
        )
        state, _ = rule_states(values[e.variable].to_numpy(float), alt)
        lab = np.select([state == PASS, state == FAIL], [1.0, 0.0], np.nan)
        out = out.fillna(pd.Series(lab, index=values.index))
    return out


def within_province(x: pd.DataFrame, province: pd.Series) -> list[str]:
    """Columns of ``x`` that vary inside at least one province (NaN counts as a value).

    A province statistic carried to every village is constant within each province: with
    a few training provinces it can only memorise their base rates, which a held-out
    province does not share, so it is left out.
    """
    keep = []
    for c in x.columns:
        n = x[c].fillna(-np.inf).groupby(province.to_numpy()).nunique()
        if (n > 1).any():
            keep.append(c)
    return keep


def feature_frame(values: pd.DataFrame, exclude: set[str]) -> pd.DataFrame:
    """Numeric features every village can have: ``values`` less ``exclude``, plus ``urban``."""
    cols = [
        c
        for c in values.columns
        if c not in exclude
        and not c.endswith("_evidence")
        and pd.api.types.is_numeric_dtype(values[c])
        and not pd.api.types.is_bool_dtype(values[c])
    ]
    x = values[cols].astype(float)
    x = x.loc[:, x.notna().any()]
    return x.assign(urban=urban_of(values.index).to_numpy())


def _classifier(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        random_state=seed,
    )


def _deciles(prob: np.ndarray) -> np.ndarray:
    """Decile 1-10 of each probability by rank (ties broken by position)."""
    order = np.argsort(prob, kind="stable")
    d = np.empty(len(prob), int)
    d[order] = np.arange(len(prob)) * 10 // max(len(prob), 1) + 1
    return d


def _summary(rule: str, prov: str, y: np.ndarray, p: np.ndarray, n_train: int) -> list[dict]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    auc = roc_auc_score(y, p) if len(np.unique(y)) == 2 else np.nan
    rows = [
        {
            "rule": rule,
            "province": prov,
            "decile": 0,
            "n": len(y),
            "n_train": n_train,
            "observed_share": float(y.mean()),
            "mean_prob": float(p.mean()),
            "roc_auc": float(auc),
            "brier": float(brier_score_loss(y, p)),
        }
    ]
    dec = _deciles(p)
    for k in range(1, 11):
        m = dec == k
        if m.any():
            rows.append(
                {
                    "rule": rule,
                    "province": prov,
                    "decile": k,
                    "n": int(m.sum()),
                    "n_train": n_train,
                    "observed_share": float(y[m].mean()),
                    "mean_prob": float(p[m].mean()),
                    "roc_auc": np.nan,
                    "brier": np.nan,
                }
            )
    return rows


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def recalibration(oof: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt recalibration of held-out probabilities: ``P = sigmoid(a logit(p) + b)``.

    Fit on the out-of-fold (held-out province) predictions, so it corrects the
    over-confidence a model shows in a province it never saw; a slope ``a`` that would
    be negative (predictions ranking the wrong way) is set to 0, leaving the observed
    share.

    Parameters
    ----------
    oof : ndarray
        Out-of-fold P(pass), 0-1.
    y : ndarray
        Observed labels 1 / 0.

    Returns
    -------
    (slope, intercept)
        On the logit scale.
    """
    from sklearn.linear_model import LogisticRegression

    ok = ~np.isnan(oof)
    lr = LogisticRegression(C=1e4).fit(_logit(oof[ok])[:, None], y[ok])
    slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if slope <= 0:
        share = float(np.clip(y[ok].mean(), 1e-4, 1 - 1e-4))
        return 0.0, float(np.log(share / (1 - share)))
    return slope, intercept


def leave_province_out(
    x: pd.DataFrame, y: pd.Series, province: pd.Series, seed: int = 42, rule: str = "rule"
) -> tuple[pd.DataFrame, pd.Series]:
    """Leave-one-province-out cross-validation of one rule's model.

    Parameters
    ----------
    x : DataFrame
        Features of the training villages (index: village code).
    y : Series
        Labels 1 / 0 of the same villages.
    province : Series
        Province code of the same villages (the groups).
    seed : int
    rule : str
        Rule id written into the table.

    Returns
    -------
    (validation, oof)
        ``validation``: rows of ``VALIDATION_COLUMNS`` per held-out province and pooled
        (``all``); ``oof``: out-of-fold P(pass) per training village.

    Raises
    ------
    RuntimeError
        If a training fold contains a village of its held-out province (a broken split).
    """
    from sklearn.model_selection import LeaveOneGroupOut

    groups = province.to_numpy(str)
    yv = y.to_numpy(float)
    oof = np.full(len(y), np.nan)
    rows: list[dict] = []
    for tr, te in LeaveOneGroupOut().split(x, yv, groups):
        held = np.unique(groups[te])
        if np.isin(groups[tr], held).any():
            raise RuntimeError(f"{rule}: a training row comes from held-out province {held}")
        # a feature known only in the held-out province cannot be learnt (nor binned)
        cols = x.columns[x.iloc[tr].notna().any()]
        clf = _classifier(seed).fit(x.iloc[tr][cols], yv[tr])
        oof[te] = clf.predict_proba(x.iloc[te][cols])[:, 1]
        rows += _summary(rule, str(held[0]), yv[te], oof[te], len(tr))
    rows += _summary(rule, "all", yv, oof, len(yv))
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS), pd.Series(oof, index=y.index)


def model_evidence(
    values: pd.DataFrame,
    rules: list,
    variables: dict,
    observed_levels: tuple[str, ...] = ("census",),
    min_per_class: int = 20,
    seed: int = 42,
    extra: pd.DataFrame | None = None,
) -> ModelEvidence:
    """Fit, validate and apply one model per rule with observed village answers.

    Parameters
    ----------
    values : DataFrame
        Finished village values (index: village code), as evaluated by the rules.
    rules : list of Rule
        The run's rules; those with an evidence candidate at an observed level are
        candidates for a model.
    variables : dict
        Variable name -> declaration; variables of an observed level are not features.
    observed_levels : tuple of str
        Evidence levels whose answers are labels.
    min_per_class : int
        A province trains a model only with at least this many villages of each answer.
    seed : int
    extra : DataFrame, optional
        More features per village (index: village code), e.g. ``area_km2`` and
        ``population_per_km2`` from the study area.

    Returns
    -------
    ModelEvidence
        See the module docstring; empty (no columns, no rows) when no rule qualifies.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as despro.select.readiness_model: 1 thread is faster
        return _model_evidence(
            values, rules, variables, observed_levels, min_per_class, seed, extra
        )


def _model_evidence(values, rules, variables, observed_levels, min_per_class, seed, extra):
    observed = {n for n, v in variables.items() if v.level in observed_levels}
    observed |= {e.variable for r in rules for e in r.evidence if e.level in observed_levels}
    x_all = feature_frame(values, observed)
    if extra is not None:
        x_all = pd.concat([x_all, extra.reindex(values.index).astype(float)], axis=1)
    prov = province_of(values.index)
    probs: dict[str, np.ndarray] = {}
    tables, feats, notes = [], {}, []
    for r in rules:
        if not any(e.level in observed_levels for e in r.evidence):
            continue
        y = observed_labels(values, r, observed_levels)
        seen = y.notna()
        counts = pd.crosstab(prov[seen], y[seen]) if seen.any() else pd.DataFrame()
        both = [
            p
            for p in counts.index
            if all(
                counts.get(c, pd.Series(0, index=counts.index))[p] >= min_per_class
                for c in (0.0, 1.0)
            )
        ]
        if len(both) < 2:
            notes.append(
                f"{r.id}: not modelled: {len(both)} province(s) observe both answers with "
                f">= {min_per_class} villages each (2 needed to leave one out); "
                f"{int(seen.sum())} villages observed, "
                f"{int((y == 1).sum())} pass, {int((y == 0).sum())} fail"
            )
            continue
        train = seen & prov.isin(both)
        x = x_all.loc[train]
        x = x[within_province(x.loc[:, x.notna().any()], prov[train])]
        val, oof = leave_province_out(x, y[train], prov[train], seed, r.id)
        slope, intercept = recalibration(oof.to_numpy(float), y[train].to_numpy(float))
        final = _classifier(seed).fit(x, y[train].to_numpy(float))
        raw = final.predict_proba(x_all[x.columns])[:, 1]
        probs[f"{r.id}_model_prob"] = _sigmoid(slope * _logit(raw) + intercept)
        tables.append(val)
        feats[r.id] = list(x.columns)
        pooled = val[(val["province"] == "all") & (val["decile"] == 0)].iloc[0]
        notes.append(
            f"{r.id}: modelled from {int(train.sum())} observed villages in provinces "
            f"{', '.join(both)}; leave-one-province-out AUC {pooled['roc_auc']:.3f}, "
            f"Brier {pooled['brier']:.3f} (pooled, before recalibration); probabilities "
            f"recalibrated on the held-out predictions: slope {slope:.2f}, intercept "
            f"{intercept:.2f} (slope 0: the features do not carry from one province to "
            "another and every village gets the observed share)"
        )
    validation = (
        pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=VALIDATION_COLUMNS)
    )
    return ModelEvidence(pd.DataFrame(probs, index=values.index), validation, feats, notes)


def p_ready(long: pd.DataFrame, probs: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """Per-rule probabilities (``model`` as the lowest evidence level) and ``p_ready``.

    Parameters
    ----------
    long : DataFrame
        The rule table of :func:`despro.rules.criteria.evaluate_all`.
    probs : DataFrame
        ``<rule>_model_prob`` columns (:attr:`ModelEvidence.probs`).
    index : Index
        Village codes of the output.

    Returns
    -------
    DataFrame
        Indexed by ``index``: per gate rule ``<rule>_prob`` (1 pass, 0 fail, model
        P(pass) where unknown and modelled, NaN otherwise) and ``<rule>_prob_evidence``
        (the long table's level, ``model``, or ``none``), then ``p_ready`` (product over
        gate rules, rules assumed independent; 0 where a gate rule fails; otherwise NaN
        where a gate rule is unknown and unmodelled). Empty (no columns) when ``probs`` has none.
        (:func:`p_ready_codes` on :meth:`~despro.rules.verdicts.Verdicts.from_long`.)
    """
    if probs.shape[1] == 0:
        return pd.DataFrame(index=index)
    v = Verdicts.from_long(long)
    v = replace(v, villages=index, village=index.get_indexer(v.villages)[v.village])
    return p_ready_codes(v, probs)


def p_ready_codes(verdicts: Verdicts, probs: pd.DataFrame) -> pd.DataFrame:
    """:func:`p_ready` of integer-coded verdicts, indexed by ``verdicts.villages``."""
    index = verdicts.villages
    out = pd.DataFrame(index=index)
    if probs.shape[1] == 0:
        return out
    g = verdicts
    n = len(index)
    p = np.ones(n)
    failed = np.zeros(n, bool)
    gate = g.gate & (g.village >= 0)
    levels = np.asarray([*g.evidence_labels, np.nan, None], dtype=object)  # -2, -1
    # the levels as text gathered from codes (evidence levels, then "none", "model")
    labels = [*g.evidence_labels, "none", MODEL_LEVEL]
    as_codes = all(isinstance(x, str) for x in labels)
    for r in pd.unique(g.rule[gate]):
        # -1: the village has no row for the rule
        state = g.by_village(r, g.state, -1).astype(np.int8)
        prob = np.select([state == PASS_CODE, state == FAIL_CODE], [1.0, 0.0], np.nan)
        rule = g.rule_ids[r]
        col = f"{rule}_model_prob"
        if col in probs:
            ev = g.by_village(r, g.evidence, -2)  # -1 missing (None), -2 no row (NaN)
            m = probs[col].reindex(index).to_numpy(float)
            use = (state == UNKNOWN_CODE) & ~np.isnan(m)
            prob = np.where(use, m, prob)
            if as_codes:
                code = np.where(state != UNKNOWN_CODE, ev, len(labels) - 2)
                code = np.where(use, len(labels) - 1, code)
                level = labels_from_codes(labels, np.maximum(code, 0), code < 0).set_axis(index)
            else:
                level = levels[np.where(ev < 0, len(levels) + ev, ev)]
                level = np.where(state != UNKNOWN_CODE, level, "none")
                level = np.where(use, MODEL_LEVEL, level)
            out[f"{rule}_prob"] = prob
            out[f"{rule}_prob_evidence"] = level
        p = p * prob
        failed |= state == FAIL_CODE
    # a failing gate rule settles it (0) whatever else is unknown
    out["p_ready"] = np.where(failed, 0.0, p)
    return out
