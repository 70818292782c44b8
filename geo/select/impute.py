"""KNN imputation of missing indicators, flagged and never used silently.

A village whose regency has no published computer-ownership rate, or whose cells
no speed test reached, is ``unknown`` on that rule: it cannot be ready. Imputation
estimates the missing value from the ``neighbours`` most similar villages
(scikit-learn ``KNNImputer``, distance-weighted) in a feature space of

* location: east / north kilometres from the villages' mean point (equirectangular,
  fine over a province), so nearby villages are similar;
* covariates (``covariates``: e.g. metres to the backbone and to a courier outlet,
  speed tests) and the other indicators being imputed,

each standardised to mean 0, sd 1 (``nan_euclidean`` distances skip missing
features). A variable missing everywhere is not imputed (noted).

Nothing in the run changes: the original value, rule states and tier stay as
they were. The imputed values come back beside them with a ``<var>_imputed`` flag,
and :func:`rescore_imputed` says what tier each village *would* get if its
unknown rules were decided by imputed values (``tier_imputed``, ``imputed`` =
some rule decided that way). Only ``selection.use_imputed = true`` lets the
optimiser use those tiers, and its picks then carry ``imputed = True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from despro.config.settings import Config, ImputeConfig
from despro.config.vocab import UNKNOWN
from despro.grid.geodesic import EARTH_RADIUS_KM, village_points
from despro.rules.restate import recompute_tiers


@dataclass
class Imputation:
    """Imputed indicators.

    Attributes
    ----------
    values : DataFrame
        Indexed by village code; per imputed variable ``<var>`` (original where known,
        imputed where it was missing) and ``<var>_imputed`` (bool).
    variables : list of str
        The variables imputed.
    notes : list of str
        Variables skipped and why.
    """

    values: pd.DataFrame
    variables: list[str]
    notes: list[str] = field(default_factory=list)

    def flags(self) -> pd.DataFrame:
        """Only the ``<var>_imputed`` columns."""
        return self.values[[f"{v}_imputed" for v in self.variables]]


def _standardise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = np.nanmean(a, axis=0)
    sd = np.nanstd(a, axis=0)
    sd = np.where((sd > 0) & np.isfinite(sd), sd, 1.0)
    return (a - mu) / sd, mu, sd


def impute_indicators(villages: pd.DataFrame, cfg: ImputeConfig) -> Imputation:
    """Fill missing indicators by KNN on location and covariates (see module docstring).

    Parameters
    ----------
    villages : GeoDataFrame
        ``Result.villages`` (indexed by village code, with geometry).
    cfg : ImputeConfig
        ``variables``, ``covariates``, ``neighbours``.
    """
    from sklearn.impute import KNNImputer

    notes: list[str] = []
    targets = []
    for var in cfg.variables:
        if var not in villages:
            notes.append(f"{var}: not in the run (its layer is not configured); not imputed")
        elif villages[var].notna().sum() == 0:
            notes.append(f"{var}: unknown in every village; nothing to impute from")
        else:
            targets.append(var)
    out = pd.DataFrame(index=villages.index)
    if not targets:
        return Imputation(out, [], notes)
    covs = [c for c in cfg.covariates if c in villages and c not in targets]
    lon, lat = village_points(villages)
    lat0 = np.radians(np.nanmean(lat))
    x = EARTH_RADIUS_KM * np.cos(lat0) * np.radians(lon - np.nanmean(lon))
    y = EARTH_RADIUS_KM * np.radians(lat - np.nanmean(lat))
    raw = villages[targets + covs].to_numpy(float)
    feats, mu, sd = _standardise(np.column_stack([raw, x, y]))
    k = min(cfg.neighbours, max(len(villages) - 1, 1))
    filled = KNNImputer(n_neighbors=k, weights="distance", keep_empty_features=True).fit_transform(
        feats
    )
    filled = filled * sd + mu
    for j, var in enumerate(targets):
        miss = np.isnan(raw[:, j])
        out[var] = np.where(miss, filled[:, j], raw[:, j])
        out[f"{var}_imputed"] = miss
    return Imputation(out, targets, notes)


def rescore_imputed(
    villages: pd.DataFrame, long: pd.DataFrame, config: Config, imputation: Imputation
) -> pd.DataFrame:
    """What each village's tier and score would be with unknown rules decided by imputation.

    Only rule rows that are ``unknown`` in the run and whose rule variable was
    imputed are changed (evidence ``imputed``, the rule's own operator and threshold).

    Returns
    -------
    DataFrame indexed by village code: ``tier_imputed``, ``score_imputed`` (0-100),
    ``imputed`` (bool: some rule decided by an imputed value), ``imputed_rules``
    (``rule=state`` list, e.g. ``I2b=pass``) beside the run's ``tier``.
    """
    edited = long.copy()
    changed = np.zeros(len(edited), bool)
    codes = edited["village_code"].to_numpy()
    for r in config.criteria.rules:
        if r.variable not in imputation.variables:
            continue
        rows = (edited["rule"] == r.id).to_numpy() & (edited["state"] == UNKNOWN).to_numpy()
        vals = imputation.values[r.variable].reindex(codes[rows]).to_numpy(float)
        flag = imputation.values[f"{r.variable}_imputed"].reindex(codes[rows]).to_numpy(bool)
        idx = np.flatnonzero(rows)[flag & ~np.isnan(vals)]
        edited.loc[edited.index[idx], ["value", "op", "threshold", "variable", "evidence"]] = (
            pd.DataFrame(
                {
                    "value": vals[flag & ~np.isnan(vals)],
                    "op": r.op,
                    "threshold": r.threshold,
                    "variable": r.variable,
                    "evidence": "imputed",
                },
                index=edited.index[idx],
            )
        )
        changed[idx] = True
    rs = recompute_tiers(edited, config.criteria.weights, config.criteria.near_ready_fraction)
    decided = rs.long[changed]
    rules = (
        (decided["rule"] + "=" + decided["state"].astype(str))
        .groupby(decided["village_code"])
        .agg(";".join)
    )
    out = pd.DataFrame(
        {
            "tier": villages["tier"],
            "tier_imputed": rs.tier.reindex(villages.index),
            "score_imputed": rs.score.reindex(villages.index),
        },
        index=villages.index,
    )
    out["imputed_rules"] = rules.reindex(villages.index).fillna("")
    out["imputed"] = out["imputed_rules"] != ""
    return out
