"""Smartphone penetration and household ICT: official statistics by admin unit.

Reads a BPS Susenas style table (CSV / XLSX), one row per regency or province,
wide (one column per indicator) or long (``indicator`` / ``value`` rows, BPS's
own export layout), with:

* ``pct_individuals_mobile_phone``: % of individuals owning a mobile phone
  (BPS counts any mobile phone; despro uses it as the smartphone criterion I2 and
  says so), denominator individuals (village population);
* ``pct_households_internet``: % of households where someone accessed the
  internet (I1), denominator households;
* ``pct_households_computer``: % of households owning a computer (I2),
  denominator households.

Statistics live at their own level (see DESIGN idea 4): the unit's rate is
carried down to each village as numerator = rate x village denominator, so every
village inherits its unit's published rate and re-aggregating the villages of a
unit returns the published rate exactly. Village denominators are households /
population from the village file; where unknown, population (for households),
then the village area, are used as relative weights and the fallback is noted.
A unit missing from the table, or an empty value, leaves its villages unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from despro.geo.config import Config, SmartphoneConfig
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import numeric_column, read_table, require_columns
from .villages import normalise_codes

NAME = "smartphone"
DENOMINATOR = {
    "pct_individuals_mobile_phone": "population",
    "pct_households_internet": "households",
    "pct_households_computer": "households",
}
DESCRIPTION = {
    "pct_individuals_mobile_phone": "individuals owning a mobile phone / individuals",
    "pct_households_internet": "households accessing the internet / households",
    "pct_households_computer": "households owning a computer / households",
}
# BPS and Kemendagri province codes agree except for Papua's provinces.
BPS_TO_KEMENDAGRI_PROVINCE = {"91": "92", "92": "96", "94": "91", "95": "93", "96": "94",
                              "97": "95"}


def variables(cfg: SmartphoneConfig, source: str = "") -> list[Variable]:
    """The variables this layer yields (those mapped in ``columns``)."""
    return [Variable(v, Kind.RATE, "percent", DESCRIPTION[v], NAME, source, cfg.vintage)
            for v in cfg.columns]


def _wide(cfg: SmartphoneConfig, df: pd.DataFrame, path) -> pd.DataFrame:
    if cfg.format == "wide":
        require_columns(df, [cfg.code_column, *cfg.columns.values()], path, "ICT statistics")
        return df
    require_columns(df, [cfg.code_column, cfg.indicator_column, cfg.value_column,
                         *cfg.filters], path, "ICT statistics")
    keep = np.ones(len(df), bool)
    for col, val in cfg.filters.items():
        keep &= (df[col].astype(str).str.strip() == str(val)).to_numpy()
    sub = df.loc[keep]
    if sub.empty:
        raise InputError(f"no rows match filters {cfg.filters}", file=path,
                         fix="check layers.smartphone.filters against the file's values")
    wide = {}
    for ind in cfg.columns.values():
        rows = sub[sub[cfg.indicator_column] == ind]
        if rows.empty:
            continue  # indicator absent: the variable stays unknown
        dup = rows[cfg.code_column].duplicated()
        if dup.any():
            raise InputError(f"indicator '{ind}' appears twice for code "
                             f"{rows[cfg.code_column][dup].iloc[0]!r} after filtering",
                             file=path, fix="add a filter (e.g. year, area) to pick one row")
        wide[ind] = rows.set_index(cfg.code_column)[cfg.value_column]
    out = pd.DataFrame(wide)
    out.index.name = cfg.code_column
    for ind in cfg.columns.values():
        if ind not in out:
            out[ind] = np.nan
    return out.reset_index()


def read(cfg: SmartphoneConfig, config: Config, notes: Notes) -> pd.DataFrame:
    """Read the table; return percentages (0-100) indexed by Kemendagri unit code."""
    path = config.path(cfg.table)
    digits = 4 if cfg.level == "regency" else 2
    raw = read_table(path, "ICT statistics", dtype={cfg.code_column: str})
    df = _wide(cfg, raw, path)
    codes = normalise_codes(df[cfg.code_column], path, cfg.code_column, digits,
                            f"{cfg.level} code")
    if cfg.code_system == "bps":
        prov = codes.str[:2].map(BPS_TO_KEMENDAGRI_PROVINCE).fillna(codes.str[:2])
        codes = prov + codes.str[2:]
    out = pd.DataFrame(index=pd.Index(codes.to_numpy(), name="unit_code"))
    for var, col in cfg.columns.items():
        v = numeric_column(df, col, path, "ICT statistics")
        _check_scale(v, cfg.scale, path, col)
        out[var] = v * (100.0 if cfg.scale == "fraction" else 1.0)
    dup = out.index.duplicated(keep=False)
    if dup.any():
        raise InputError(f"{cfg.level} code {out.index[dup][0]!r} appears more than once",
                         file=path, row=int(np.flatnonzero(dup)[0]) + 2,
                         fix="keep one row per unit (filter year / area)")
    return out


def _check_scale(v: np.ndarray, scale: str, path, col: str) -> None:
    """Percentages in range and in one convention (never a mix of 0-1 and 0-100)."""
    known = ~np.isnan(v)
    if ((v[known] < 0) | (v[known] > 100)).any():
        i = int(np.flatnonzero(known & ((v < 0) | (v > 100)))[0])
        raise InputError(f"column '{col}' value {v[i]} is outside 0-100", file=path,
                         row=i + 2, fix="percentages must lie in 0-100")
    if scale == "fraction":
        if (v[known] > 1).any():
            i = int(np.flatnonzero(known & (v > 1))[0])
            raise InputError(f"column '{col}' value {v[i]} > 1 but scale = 'fraction'",
                             file=path, row=i + 2, fix="set layers.smartphone.scale = 'percent'")
        return
    small = known & (v <= 1) & (v > 0)
    if small.any() and (known & (v > 1)).any():
        rows = (np.flatnonzero(small) + 2).tolist()
        raise InputError(f"column '{col}' mixes fractions (0-1) and percentages (0-100): "
                         f"rows {rows[:8]} look like fractions", file=path, row=rows[0],
                         fix="write every value as a percentage (0.45 -> 45)")
    if small.any():
        raise InputError(f"column '{col}' holds only values <= 1, which look like fractions",
                         file=path, row=int(np.flatnonzero(small)[0]) + 2,
                         fix="set layers.smartphone.scale = 'fraction' or use percentages")


def build(cfg: SmartphoneConfig, study: Study, config: Config, notes: Notes,
          progress=None) -> LayerResult:
    """Carry the unit rates down to villages as numerator / denominator pairs."""
    path = config.path(cfg.table)
    stats = read(cfg, config, notes)
    vil = study.villages
    unit = (vil["regency_code"] if cfg.level == "regency" else vil["province_code"]).to_numpy()
    matched_units = set(unit)
    unmatched = [c for c in stats.index if c not in matched_units]
    if unmatched:
        notes.add(path, "unmatched", f"{cfg.level} codes with no village in this run",
                  rows=unmatched)
    missing = sorted(set(unit) - set(stats.index))
    if missing:
        notes.add(path, "unmatched", f"{cfg.level} codes of villages absent from the table "
                  "(their villages stay unknown)", rows=missing)
    area = study.area.sum(axis=1).A.ravel()
    weights = {
        "households": _weights(vil["households"].to_numpy(float),
                               vil["population"].to_numpy(float), area),
        "population": _weights(vil["population"].to_numpy(float), None, area),
    }
    cols = {}
    for var in cfg.columns:
        rate = stats[var].reindex(unit).to_numpy(float)  # NaN where unit or value unknown
        den = weights[DENOMINATOR[var]]
        known = ~np.isnan(rate)
        cols[f"{var}__num"] = np.where(known, rate / 100.0 * den, 0.0)
        cols[f"{var}__den"] = np.where(known, den, 0.0)
    table = pd.DataFrame(cols, index=vil.index)
    cover = pd.Series(pd.Index(unit).isin(stats.index).astype(float), index=vil.index)
    return LayerResult(NAME, "village", variables(cfg, str(path)), table, cover, [path])


def _weights(primary: np.ndarray, secondary: np.ndarray | None, area: np.ndarray) -> np.ndarray:
    """Village denominators: the first known of primary, secondary, area."""
    w = primary.copy()
    if secondary is not None:
        w = np.where(np.isnan(w), secondary, w)
    return np.where(np.isnan(w) | (w <= 0), area, w)
