"""Smartphone penetration and household ICT: official statistics by admin unit.

Reads BPS Susenas style tables (CSV / XLSX), one row per regency or province,
wide (one column per indicator) or long (``indicator`` / ``value`` rows, BPS's
own export layout). BPS publishes each indicator in its own table, so several
tables (``[[layers.smartphone.sources]]``, each with its level, filters and
vintage) may feed the layer, each variable coming from one of them:

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
from despro.geo.config import Config, SmartphoneConfig, SmartphoneSource
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import filter_rows, numeric_column, read_table, require_columns
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


def variables(cfg: SmartphoneConfig, config: Config | None = None) -> list[Variable]:
    """The variables this layer yields (those mapped in each source's ``columns``)."""
    out = []
    for src in cfg.all_sources():
        path = str(config.path(src.table)) if config is not None else str(src.table)
        out += [Variable(v, Kind.RATE, "percent", DESCRIPTION[v], NAME, path, src.vintage,
                         level=src.level) for v in src.columns]
    return out


def _wide(cfg: SmartphoneSource, df: pd.DataFrame, path) -> pd.DataFrame:
    if cfg.format == "wide":
        require_columns(df, [cfg.code_column, *cfg.columns.values()], path, "ICT statistics")
        return filter_rows(df, cfg.filters, path, "ICT statistics", "layers.smartphone.filters")
    require_columns(df, [cfg.code_column, cfg.indicator_column, cfg.value_column], path,
                    "ICT statistics")
    sub = filter_rows(df, cfg.filters, path, "ICT statistics", "layers.smartphone.filters")
    present = sub[cfg.indicator_column].astype("string").str.strip()
    absent = [ind for ind in cfg.columns.values() if not (present == ind).any()]
    if absent:
        raise InputError(f"indicator(s) {absent} not found in column "
                         f"'{cfg.indicator_column}' (after filters {cfg.filters}); it has "
                         f"{sorted(present.dropna().unique())[:10]}", file=path,
                         fix="correct layers.smartphone.columns or the filters")
    wide = {}
    for ind in cfg.columns.values():
        rows = sub[(present == ind).to_numpy()]
        dup = rows[cfg.code_column].duplicated()
        if dup.any():
            raise InputError(f"indicator '{ind}' appears twice for code "
                             f"{rows[cfg.code_column][dup].iloc[0]!r} after filtering",
                             file=path, fix="add a filter (e.g. year, area) to pick one row")
        wide[ind] = rows.set_index(cfg.code_column)[cfg.value_column]
    out = pd.DataFrame(wide)
    out.index.name = cfg.code_column
    return out.reset_index()


def read(cfg: SmartphoneSource, config: Config, notes: Notes) -> pd.DataFrame:
    """Read one table; return percentages (0-100) indexed by Kemendagri unit code.

    ``cfg`` is one source (:meth:`SmartphoneConfig.all_sources`), or a single-table
    :class:`SmartphoneConfig`.
    """
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
    """Carry the unit rates of every source down to villages as numerator / denominator."""
    vil = study.villages
    area = study.area.sum(axis=1).A.ravel()
    weights = {
        "households": _weights(vil["households"].to_numpy(float),
                               vil["population"].to_numpy(float), area),
        "population": _weights(vil["population"].to_numpy(float), None, area),
    }
    cols, covers, inputs = {}, [], []
    for src in cfg.all_sources():
        path = config.path(src.table)
        stats = read(src, config, notes)
        unit = (vil["regency_code"] if src.level == "regency" else
                vil["province_code"]).to_numpy()
        unmatched = [c for c in stats.index if c not in set(unit)]
        if unmatched:
            notes.add(path, "unmatched", f"{src.level} codes with no village in this run",
                      rows=unmatched)
        missing = sorted(set(unit) - set(stats.index))
        if missing:
            notes.add(path, "unmatched", f"{src.level} codes of villages absent from the "
                      "table (their villages stay unknown)", rows=missing)
        for var in src.columns:
            rate = stats[var].reindex(unit).to_numpy(float)  # NaN: unit or value unknown
            den = weights[DENOMINATOR[var]]
            known = ~np.isnan(rate)
            cols[f"{var}__num"] = np.where(known, rate / 100.0 * den, 0.0)
            cols[f"{var}__den"] = np.where(known, den, 0.0)
        covers.append(pd.Index(unit).isin(stats.index).astype(float))
        inputs.append(path)
    table = pd.DataFrame(cols, index=vil.index)
    # a village is covered when any source has its unit (the layer's cover is one number)
    cover = pd.Series(np.max(covers, axis=0), index=vil.index)
    return LayerResult(NAME, "village", variables(cfg, config), table, cover, inputs)


def _weights(primary: np.ndarray, secondary: np.ndarray | None, area: np.ndarray) -> np.ndarray:
    """Village denominators: the first known of primary, secondary, area."""
    w = primary.copy()
    if secondary is not None:
        w = np.where(np.isnan(w), secondary, w)
    return np.where(np.isnan(w) | (w <= 0), area, w)
