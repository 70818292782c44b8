"""A readiness model learnt from villages known to have active online sellers.

Labels: a CSV with ``village_code`` (10 digits, dotted accepted) and optionally
``active_sellers`` (1/0, true/false, yes/no). Without that column every listed
village is a positive and every other village of the run a negative: "not known
to sell" is treated as "does not sell", which biases the scores down where
nobody looked (a positive-unlabelled caveat the report repeats).

Model: scikit-learn ``HistGradientBoostingClassifier`` on the run's finished
numeric variables (missing values are handled by the trees, so no imputation can
leak across folds). Evaluation is *spatial* cross-validation: ``GroupKFold`` with
the regency as the group, so every fold is scored on regencies the model never
saw; :func:`fit_readiness` checks that no test regency is in its training set.
Reported per fold: ROC AUC and average precision (NaN when a test fold has one
class only) and the Brier score; feature importances are permutation importances
(mean drop in ROC AUC over 5 shuffles) on the held-out folds. The final model, fit on all labelled
villages, gives ``readiness_prob`` for every village.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from despro.codes import normalise_codes
from despro.errors import InputError, MissingFileError
from despro.variables import Kind

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

TRUE = {"1", "true", "yes", "y", "ya"}
FALSE = {"0", "false", "no", "n", "tidak"}


@dataclass
class ReadinessModel:
    """Cross-validated readiness model.

    Attributes
    ----------
    folds : DataFrame
        One row per fold: ``fold, test_regencies, train_regencies, n_train, n_test,
        positives_test, roc_auc, average_precision, brier``.
    scores : dict
        Means over folds and the pooled out-of-fold ROC AUC.
    importances : DataFrame
        ``feature, importance_mean, importance_sd`` (ROC AUC drop, held-out folds).
    predictions : DataFrame
        Indexed by village code: ``label`` (NaN unlabelled), ``fold``, ``oof_prob``
        (from the model that did not see the village's regency), ``readiness_prob``
        (final model).
    features : list of str
    notes : list of str
    """

    folds: pd.DataFrame
    scores: dict
    importances: pd.DataFrame
    predictions: pd.DataFrame
    features: list[str]
    notes: list[str]


def read_labels(path: Path | str, codes: pd.Index) -> tuple[pd.Series, list[str]]:
    """Labels (1/0 per village code of the run) from a CSV; see module docstring."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            "labels file not found", file=path, fix="give a CSV with a village_code column"
        )
    df = pd.read_csv(path, dtype=str)
    if "village_code" not in df:
        raise InputError(
            f"no 'village_code' column (columns: {list(df.columns)})",
            file=path,
            fix="name the column of 10-digit village codes 'village_code'",
        )
    code = normalise_codes(df["village_code"], path, errors="coerce")
    notes = []
    if "active_sellers" in df:
        txt = df["active_sellers"].fillna("").str.strip().str.lower()
        bad = ~txt.isin(TRUE | FALSE)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"active_sellers {df['active_sellers'].iloc[i]!r} is not 1/0",
                file=path,
                row=i + 2,
                fix="write 1 (sellers) or 0 (none)",
            )
        lab = pd.Series(txt.isin(TRUE).astype(float).to_numpy(), index=code)
    else:
        lab = pd.Series(1.0, index=code)
    unknown = ~lab.index.isin(codes)
    if unknown.all():
        raise InputError(
            f"none of the {len(lab)} labelled village codes is in the run",
            file=path,
            fix="label villages of the run's area (10-digit codes)",
        )
    if unknown.any():
        notes.append(
            f"{int(unknown.sum())} labelled code(s) not in the run ignored, e.g. "
            f"{df['village_code'].iloc[int(np.flatnonzero(unknown)[0])]}"
        )
    lab = lab[~unknown]
    lab = lab[~lab.index.duplicated(keep="last")]
    if "active_sellers" not in df:
        notes.append(
            "labels list positives only: every other village is taken as a negative "
            "(not known to sell), which biases scores down where nobody looked"
        )
        lab = lab.reindex(codes, fill_value=0.0)
    return lab.reindex(codes), notes


def default_features(result) -> list[str]:
    """Numeric finished variables of the run (counts, rates, intensive, distances).

    ``result`` is a :class:`despro.pipeline.runner.Result`, left without a type hint: the
    engine does not import the pipeline (tests/test_architecture.py).
    """
    v = result.villages
    out = []
    for var in result.variables.values():
        name = f"{var.name}_n_classes" if var.kind is Kind.CATEGORY else var.name
        if name in v and pd.api.types.is_numeric_dtype(v[name]) and v[name].notna().any():
            out.append(name)
    return out


def roc_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``p`` (scores) against labels ``y`` (Mann-Whitney, ties halved)."""
    from scipy.stats import rankdata

    p = np.atleast_2d(p)
    pos = y.astype(bool)
    n1, n0 = pos.sum(), (~pos).sum()
    ranks = rankdata(p, axis=1)
    return (ranks[:, pos].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def permutation_auc_drop(
    model: ClassifierMixin, X: np.ndarray, y: np.ndarray, repeats: int = 5, seed: int = 0
) -> np.ndarray:
    """Permutation importance per feature: mean drop of ROC AUC when the column is shuffled.

    Same definition as ``sklearn.inspection.permutation_importance(scoring="roc_auc")``,
    with a feature's shuffled copies scored in one ``predict_proba`` call.
    """
    rng = np.random.default_rng(seed)
    n, k = X.shape
    base = roc_auc(y, model.predict_proba(X)[:, 1])[0]
    out = np.empty(k)
    for j in range(k):
        stack = np.repeat(X[None], repeats, axis=0)  # repeats x n x k
        for r in range(repeats):
            stack[r, :, j] = X[rng.permutation(n), j]
        p = model.predict_proba(stack.reshape(-1, k))[:, 1].reshape(repeats, n)
        out[j] = (base - roc_auc(y, p)).mean()
    return out


def fit_readiness(
    villages: pd.DataFrame, labels: pd.Series, features: list[str], folds: int = 5, seed: int = 42
) -> ReadinessModel:
    """Spatial cross-validation by regency, importances and a final model.

    Parameters
    ----------
    villages : DataFrame
        Indexed by village code, with ``regency_code`` and the feature columns.
    labels : Series
        1 / 0 per village code; NaN = unlabelled (not used for training or scoring).
    features : list of str
    folds : int
        GroupKFold splits (at most the number of labelled regencies).
    seed : int
    """
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401 (loads OpenMP)
    from threadpoolctl import threadpool_limits

    # one thread (set after sklearn has loaded its OpenMP): after a pipeline run, two
    # OpenMP threads made a 300-village fit take 0.9-7 s against 0.2-0.4 s with one, on
    # a 2-core machine
    with threadpool_limits(limits=1):
        return _fit(villages, labels, features, folds, seed)


def _fit(
    villages: pd.DataFrame, labels: pd.Series, features: list[str], folds: int, seed: int
) -> ReadinessModel:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold

    missing = [f for f in features if f not in villages]
    if missing or not features:
        raise InputError(
            f"feature(s) {missing or '(none)'} not in the run's villages",
            fix="choose selection.readiness.features among the village columns",
        )
    y_all = labels.reindex(villages.index)
    lab = y_all.notna().to_numpy()
    X = villages.loc[lab, features].to_numpy(float)
    y = y_all[lab].to_numpy(int)
    groups = villages.loc[lab, "regency_code"].astype(str).to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise InputError(
            f"labelled villages lie in {n_groups} regency; spatial cross-validation "
            "needs at least 2",
            fix="label villages in more regencies",
        )
    if y.min() == y.max():
        raise InputError(
            f"all {len(y)} labelled villages have label {y[0]}",
            fix="labels need both villages with and without active sellers",
        )
    notes = []

    def model():
        # shallow trees: labelled tables are small (hundreds of villages)
        return HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_depth=3,
            min_samples_leaf=max(5, len(y) // 50),
            random_state=seed,
        )

    k = min(folds, n_groups)
    oof = np.full(len(y), np.nan)
    fold_id = np.full(len(y), -1)
    rows, imps = [], []
    for f, (tr, te) in enumerate(GroupKFold(n_splits=k).split(X, y, groups)):
        train_reg, test_reg = set(groups[tr]), set(groups[te])
        if train_reg & test_reg:  # GroupKFold guarantees this; a leak must never pass
            raise AssertionError(
                f"fold {f}: regencies {sorted(train_reg & test_reg)} in both training and test"
            )
        if y[tr].min() == y[tr].max():
            notes.append(f"fold {f}: training villages have one class only; fold skipped")
            continue
        m = model().fit(X[tr], y[tr])
        p = m.predict_proba(X[te])[:, 1]
        oof[te], fold_id[te] = p, f
        both = y[te].min() != y[te].max()
        rows.append(
            {
                "fold": f,
                "test_regencies": ";".join(sorted(test_reg)),
                "train_regencies": ";".join(sorted(train_reg)),
                "n_train": len(tr),
                "n_test": len(te),
                "positives_test": int(y[te].sum()),
                "roc_auc": roc_auc_score(y[te], p) if both else np.nan,
                "average_precision": average_precision_score(y[te], p) if both else np.nan,
                "brier": brier_score_loss(y[te], p),
            }
        )
        if both:
            imps.append(permutation_auc_drop(m, X[te], y[te], repeats=5, seed=seed + f))
        else:
            notes.append(
                f"fold {f} (regencies {sorted(test_reg)}): one class in the test "
                "set; ROC AUC and importances not computed there"
            )
    fold_frame = pd.DataFrame(rows)
    scored = ~np.isnan(oof)
    pooled = (
        roc_auc_score(y[scored], oof[scored])
        if scored.any() and y[scored].min() != y[scored].max()
        else np.nan
    )
    scores = {
        "folds": len(fold_frame),
        "labelled": int(len(y)),
        "positives": int(y.sum()),
        "roc_auc_mean": float(fold_frame["roc_auc"].mean()) if len(fold_frame) else np.nan,
        "average_precision_mean": float(fold_frame["average_precision"].mean())
        if len(fold_frame)
        else np.nan,
        "brier_mean": float(fold_frame["brier"].mean()) if len(fold_frame) else np.nan,
        "roc_auc_pooled_oof": float(pooled),
        "base_rate": float(y.mean()),
    }
    imp = np.array(imps) if imps else np.full((1, len(features)), np.nan)
    importances = pd.DataFrame(
        {"feature": features, "importance_mean": imp.mean(axis=0), "importance_sd": imp.std(axis=0)}
    ).sort_values("importance_mean", ascending=False, ignore_index=True)
    final = model().fit(X, y)
    pred = pd.DataFrame({"label": y_all, "fold": np.nan, "oof_prob": np.nan}, index=villages.index)
    pred.loc[lab, "fold"] = np.where(fold_id >= 0, fold_id, np.nan)
    pred.loc[lab, "oof_prob"] = oof
    pred["readiness_prob"] = final.predict_proba(villages[features].to_numpy(float))[:, 1]
    return ReadinessModel(fold_frame, scores, importances, pred, list(features), notes)


def readiness_model(
    result,
    labels_path: Path | str,
    features: list[str] | None = None,
    folds: int = 5,
    seed: int = 42,
) -> ReadinessModel:
    """Read labels for a pipeline result and fit :func:`fit_readiness`.

    ``result`` is a :class:`despro.pipeline.runner.Result`, left without a type hint: the
    engine does not import the pipeline (tests/test_architecture.py).
    """
    labels, notes = read_labels(labels_path, result.villages.index)
    m = fit_readiness(result.villages, labels, features or default_features(result), folds, seed)
    m.notes[:0] = notes
    return m
