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

Urban / rural: BPS publishes most rates for urban (Perkotaan), rural (Perdesaan)
and all areas (Perkotaan+Perdesaan). With ``area_column`` set, a source reads each
area and carries the urban rate to kelurahan and the rural rate to desa, told apart
by the village code's 5th group (Kemendagri ``PP.RR.DD.NNNN``: ``1xxx`` kelurahan,
``2xxx`` desa); a village whose unit has no rate for its area, or whose 5th group
starts with neither 1 nor 2 (noted), takes the total. Re-aggregating a unit's desa
returns its published rural rate exactly, its kelurahan the urban rate. Which
area's rate each village carries is in the attribute ``<variable>_area`` (``urban``,
``rural``, ``total``, ``none``).

Country: a ``level = "country"`` source (one row, e.g. BPS's national household
computer ownership) applies to every village that no regency or province table
covers, as the weakest evidence level ``country`` (``<variable>_evidence``).

Tables without usable codes (a regency list by name only, or BPS regency codes
that Kemendagri numbers differently, as in Sumatera Barat) are matched by name:
``name_column`` and ``names`` (the Kemendagri code list) in the source; see
:mod:`despro.layers._names`. Every row whose name matches no unit, or several,
is reported as unmatched.

Contract (pandera, :mod:`despro.layers._contracts`): every mapped column is a
number in 0-100 (0-1 with ``scale = "fraction"``), never a mix of fractions and
percentages; one row per unit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa
from pydantic import Field, field_validator, model_validator

from despro.codes import normalise_codes, village_areas
from despro.config.base import Model
from despro.errors import InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.layers._crosswalk import BPS_TO_KEMENDAGRI_PROVINCE
from despro.variables import Kind, Variable

from ._contracts import number, percent_checks, validate
from ._io import file_row, filter_rows, numeric_column, read_table, require_columns
from ._names import codes_from_names
from ._numbers import locale_numbers

#: the config key declaring a table's decimal mark (each of ``sources`` has its own)
DECIMAL_KEY = "layers.smartphone.decimal"

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "smartphone"
LEVEL = "village"


SMARTPHONE_VARIABLES = (
    "pct_individuals_mobile_phone",
    "pct_households_internet",
    "pct_households_computer",
)
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "TIK BPS", "en": "BPS ICT"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = SMARTPHONE_VARIABLES


class SmartphoneSource(Model):
    """One official ICT statistics table (BPS Susenas style), one row per admin unit."""

    table: Path
    level: Literal["regency", "province", "country"] = Field(
        "regency", description="'country': one national row, carried to every village"
    )
    code_column: str = "regency_code"
    code_system: Literal["kemendagri", "bps"] = Field(
        "kemendagri", description="'bps' maps BPS province codes to Kemendagri (Papua differs)"
    )
    name_column: str | None = Field(
        None,
        description="match units by the names in this column instead of by code "
        "('Kab. Bantul', 'KOTA YOGYAKARTA', 'D.I. Yogyakarta'); needs 'names'",
    )
    names: Path | None = Field(
        None,
        description="Kemendagri code list (kode, nama), e.g. codes_kemendagri.csv, for name_column",
    )
    vintage: str = "unknown"
    scale: Literal["percent", "fraction"] = "percent"
    format: Literal["wide", "long"] = Field(
        "wide",
        description="wide: one column per variable; long: BPS style rows "
        "(indicator_column, value_column) with 'columns' mapping variable -> indicator",
    )
    area_column: str | None = Field(
        None,
        description="column naming each row's area (BPS 'area'); when set, the urban rate "
        "goes to kelurahan and the rural rate to desa (village code's 5th group 1xxx / "
        "2xxx), the total where a unit has no rate for that area",
    )
    area_values: dict[Literal["urban", "rural", "total"], str] = Field(
        default_factory=lambda: {
            "urban": "Perkotaan",
            "rural": "Perdesaan",
            "total": "Perkotaan+Perdesaan",
        },
        description="value of area_column for urban, rural and all areas",
    )
    indicator_column: str = "indicator"
    value_column: str = "value"
    filters: dict[str, str] = Field(
        default_factory=dict,
        description="keep rows where column == value, e.g. "
        "{year = '2024', area = 'Perkotaan+Perdesaan', level = 'province'}",
    )
    columns: dict[str, str] = Field(
        default_factory=lambda: {v: v for v in SMARTPHONE_VARIABLES},
        description="despro variable -> column (wide) or indicator (long) in the table",
    )
    sheet: str | int = Field(0, description="XLSX sheet (name or 0-based position)")
    skip_rows: int = Field(0, ge=0, description="title lines above the header")
    header_rows: int = Field(
        1,
        ge=1,
        le=5,
        description="lines the header spans (BPS: a merged title over a year row); their "
        "texts are joined per column, e.g. 'Persentase rumah tangga ... 2024'",
    )
    counts: dict[str, tuple[str, str]] = Field(
        default_factory=dict,
        description="variable -> [numerator, denominator] columns of counts (wide tables), "
        "e.g. { pct_households_internet = ['households_online', 'households'] }: the "
        "percentage is 100 x numerator / denominator, numerator <= denominator checked",
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto",
        description="decimal mark of the numbers written as text: ',' (Indonesian "
        "1.234,5), '.' (1,234.5) or 'auto' (decided per column by its unambiguous "
        "values, else by its range; never guessed: see despro.layers._numbers)",
    )

    @field_validator("columns")
    @classmethod
    def _known(cls, v: dict[str, str]) -> dict[str, str]:
        bad = set(v) - set(SMARTPHONE_VARIABLES)
        if bad:
            raise ValueError(
                f"unknown variable(s) {sorted(bad)}; expected some of "
                f"{sorted(SMARTPHONE_VARIABLES)}"
            )
        return v


class SmartphoneConfig(SmartphoneSource):
    """ICT statistics: one ``table``, or several ``[[layers.smartphone.sources]]``.

    BPS publishes each indicator in its own table, so ``sources`` lists several
    tables, each with its own settings; a key set once at ``[layers.smartphone]``
    (``level``, ``code_system``, ``format``, ``filters`` ...) is the default of every
    source. Each variable must come from exactly one source::

        [layers.smartphone]
        level = "province"
        code_column = "code"
        code_system = "bps"
        format = "long"
        filters = { year = "2024", area = "Perkotaan+Perdesaan", level = "province" }

        [[layers.smartphone.sources]]
        table = "ict/bps_prov_households_internet_2022_2024.csv"
        columns = { pct_households_internet = "pct_households_accessed_internet_3m" }
    """

    table: Path | None = None
    sources: list[SmartphoneSource] = []

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data):
        """Top-level keys are the defaults of every source."""
        if isinstance(data, dict) and isinstance(data.get("sources"), list):
            shared = {k: v for k, v in data.items() if k not in ("sources", "table")}
            data = {
                **data,
                "sources": [{**shared, **s} if isinstance(s, dict) else s for s in data["sources"]],
            }
        return data

    @model_validator(mode="after")
    def _one_form(self) -> SmartphoneConfig:
        if (self.table is None) == (not self.sources):
            raise ValueError(
                "give either 'table' or a list of [[layers.smartphone.sources]], "
                "not both and not neither"
            )
        seen: dict[tuple[str, str], int] = {}
        for i, src in enumerate(self.sources):
            for var in src.columns:
                if (var, src.level) in seen:
                    raise ValueError(
                        f"variable '{var}' comes from sources "
                        f"{seen[(var, src.level)]} and {i} at the same level "
                        f"({src.level}); set 'columns' in each source so that a "
                        "variable comes from one table per level"
                    )
                seen[(var, src.level)] = i
        return self

    def all_sources(self) -> list[SmartphoneSource]:
        """The tables to read: ``sources``, or the single ``table`` form as one source."""
        if self.sources:
            return list(self.sources)
        return [SmartphoneSource(**self.model_dump(exclude={"sources"}))]


Settings = SmartphoneConfig

CHOROPLETHS = (
    Choropleth(
        "pct_individuals_mobile_phone",
        "pct_individuals_mobile_phone",
        "percent",
        (30, 40, 50, 60, 70),
        position=40,
    ),
    Choropleth(
        "pct_households_internet",
        "pct_households_internet",
        "percent",
        (15, 30, 45, 60),
        position=50,
    ),
    Choropleth(
        "pct_households_computer",
        "pct_households_computer",
        "percent",
        (10, 20, 30, 40),
        position=60,
    ),
)
LABELS = {
    "id": {
        "pct_individuals_mobile_phone": "Individu memiliki smartphone",
        "pct_households_internet": "Rumah tangga mengakses internet",
        "pct_households_computer": "Rumah tangga memiliki komputer",
    },
    "en": {
        "pct_individuals_mobile_phone": "Individuals owning a smartphone",
        "pct_households_internet": "Households accessing the internet",
        "pct_households_computer": "Households owning a computer",
    },
}
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
LEVEL_ORDER = ("regency", "province", "country")  # most specific first
AREAS = ("urban", "rural", "total")


def variables(cfg: SmartphoneConfig, config: Config | None = None) -> list[Variable]:
    """The variables this layer yields: one per mapped variable, whatever its sources.

    A variable given by both a regency and a province table is declared at the more
    specific level; the level that decided each village is in the layer's attributes
    (``<variable>_evidence``).
    """
    by_var: dict[str, list] = {}
    for src in cfg.all_sources():
        for v in src.columns:
            by_var.setdefault(v, []).append(src)
    out = []
    for v, srcs in by_var.items():
        srcs = sorted(srcs, key=lambda s: LEVEL_ORDER.index(s.level))
        paths = ", ".join(
            str(config.path(s.table)) if config is not None else str(s.table) for s in srcs
        )
        vintage = ", ".join(dict.fromkeys(s.vintage for s in srcs))
        out.append(
            Variable(
                v, Kind.RATE, "percent", DESCRIPTION[v], NAME, paths, vintage, level=srcs[0].level
            )
        )
    return out


def _wide(cfg: SmartphoneSource, df: pd.DataFrame, path) -> pd.DataFrame:
    """One row per unit and one column per indicator (long tables pivoted).

    Wide rows keep their file index; pivoted rows are labelled by their unit.
    """
    key = cfg.name_column or cfg.code_column
    if cfg.format == "wide":
        require_columns(df, [key, *cfg.columns.values()], path, "ICT statistics")
        return filter_rows(df, cfg.filters, path, "ICT statistics", "layers.smartphone.filters")
    require_columns(df, [key, cfg.indicator_column, cfg.value_column], path, "ICT statistics")
    sub = filter_rows(df, cfg.filters, path, "ICT statistics", "layers.smartphone.filters")
    present = sub[cfg.indicator_column].astype("string").str.strip()
    absent = [ind for ind in cfg.columns.values() if not (present == ind).any()]
    if absent:
        raise InputError(
            f"indicator(s) {absent} not found in column "
            f"'{cfg.indicator_column}' (after filters {cfg.filters}); it has "
            f"{sorted(present.dropna().unique())[:10]}",
            file=path,
            fix="correct layers.smartphone.columns or the filters",
        )
    wide = {}
    for ind in cfg.columns.values():
        rows = sub[(present == ind).to_numpy()]
        dup = rows[key].duplicated()
        if dup.any():
            raise InputError(
                f"indicator '{ind}' appears twice for {rows[key][dup].iloc[0]!r} after filtering",
                file=path,
                row=file_row(rows, int(np.flatnonzero(dup.to_numpy())[0])),
                fix="add a filter (e.g. year, area) to pick one row",
            )
        wide[ind] = rows.set_index(key)[cfg.value_column]
    out = pd.DataFrame(wide)
    out[key] = out.index.astype(str)
    out.index = key + " " + out[key]  # errors name the unit: "code 51"
    return out


_TOTAL = re.compile(r"^\s*(jumlah|total|indonesia)\b", re.IGNORECASE)


def _published_rows(
    cfg: SmartphoneSource, raw: pd.DataFrame, path: Path, notes: Notes
) -> pd.DataFrame:
    """A published table's data rows: total rows and notes below the table set aside.

    A row with no unit (code or name) or with no value in any of the table's other
    columns (a footnote, a source line) and a total row (Jumlah / Total / Indonesia)
    are left out and reported.
    """
    key = cfg.name_column or cfg.code_column
    require_columns(raw, [key], path, "ICT statistics")
    unit = raw[key].astype("string").str.strip()
    others = raw.drop(columns=[key]).astype("string").apply(lambda c: c.str.strip())
    empty = (others.isna() | (others == "")).all(axis=1).to_numpy()
    empty |= (unit.isna() | (unit == "")).to_numpy()
    total = unit.str.match(_TOTAL).fillna(False).to_numpy() & ~empty
    for mask, what in ((total, "total rows"), (empty, "rows without values (notes, sources)")):
        if mask.any():
            notes.add(
                path,
                "dropped",
                f"ICT statistics: {what} left out",
                rows=[file_row(raw, i) for i in np.flatnonzero(mask)],
            )
    return raw.loc[~(empty | total)]


def _from_counts(cfg: SmartphoneSource, raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Percentages from numerator / denominator count columns (``counts``)."""
    if not cfg.counts:
        return raw
    out = raw.copy()
    for var, (num_col, den_col) in cfg.counts.items():
        require_columns(raw, [num_col, den_col], path, "ICT statistics")
        kw = {"lo": 0, "whole": True, "decimal": cfg.decimal, "decimal_key": DECIMAL_KEY}
        num = numeric_column(raw, num_col, path, "ICT statistics", **kw)
        den = numeric_column(raw, den_col, path, "ICT statistics", **kw)
        over = num > den
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise InputError(
                f"ICT statistics: '{num_col}' ({num[i]:g}) is larger than '{den_col}' "
                f"({den[i]:g}): more counted than there are ({int(over.sum())} row(s))",
                file=path,
                row=file_row(raw, i),
                fix=f"check the two columns are not swapped (numerator {num_col}, "
                f"denominator {den_col}) and the counts",
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(den > 0, 100.0 * num / den, np.nan)
        out[cfg.columns.get(var, var)] = pct
    return out


def read_source(cfg: SmartphoneSource, config: Config, notes: Notes) -> pd.DataFrame:
    """Read one table; return percentages (0-100) indexed by Kemendagri unit code.

    ``cfg`` is one source (:meth:`SmartphoneConfig.all_sources`), or a single-table
    :class:`SmartphoneConfig`.
    """
    path = config.path(cfg.table)
    key = cfg.name_column or cfg.code_column
    raw = read_table(
        path,
        "ICT statistics",
        dtype={key: str},
        sheet=cfg.sheet,
        skip_rows=cfg.skip_rows,
        header_rows=cfg.header_rows,
    )
    if cfg.skip_rows or cfg.header_rows > 1:
        raw = _published_rows(cfg, raw, path, notes)
    raw = _from_counts(cfg, raw, path)
    df = _wide(cfg, raw, path)
    top = 1.0 if cfg.scale == "fraction" else 100.0
    for col in dict.fromkeys(cfg.columns.values()):
        if col in df.columns:
            df[col] = locale_numbers(
                df, col, path, "ICT statistics", cfg.decimal, 0.0, top, key=DECIMAL_KEY
            )
    schema = pa.DataFrameSchema(
        {
            col: number(*percent_checks(cfg.scale, "layers.smartphone.scale"))
            for col in dict.fromkeys(cfg.columns.values())
        }
    )
    df = validate(df, schema, path, "ICT statistics")
    codes = _unit_codes(cfg, df, config, path, notes)
    known = codes.notna().to_numpy()
    out = pd.DataFrame(index=pd.Index(codes[known].to_numpy(str), name="unit_code"))
    for var, col in cfg.columns.items():
        v = df[col].to_numpy(float)[known]
        out[var] = v * (100.0 if cfg.scale == "fraction" else 1.0)
    dup = out.index.duplicated()
    if dup.any():
        code = out.index[dup][0]
        rows = [file_row(df[known], i) for i in np.flatnonzero(out.index == code)]
        raise InputError(
            f"{cfg.level} code {code!r} appears more than once (rows {rows})",
            file=path,
            row=rows[-1],
            fix="keep one row per unit (filter year / area)",
        )
    return out


def _unit_codes(
    cfg: SmartphoneSource, df: pd.DataFrame, config: Config, path, notes: Notes
) -> pd.Series:
    """Kemendagri unit codes per row: from the code column, or matched by name.

    A country table's rows all belong to the one unit ``"country"``.
    """
    if cfg.level == "country":
        return pd.Series("country", index=df.index, dtype=object)
    if cfg.name_column:
        if cfg.names is None:
            raise InputError(
                "layers.smartphone.name_column is set but 'names' (the "
                "Kemendagri code list) is not",
                file=config.source_file,
                fix="set names = 'codes_kemendagri.csv' (kode, nama)",
            )
        return codes_from_names(
            df[cfg.name_column], config.path(cfg.names), cfg.level, path, "ICT statistics", notes
        )
    digits = 4 if cfg.level == "regency" else 2
    codes = normalise_codes(df[cfg.code_column], path, cfg.code_column, digits, f"{cfg.level} code")
    if cfg.code_system == "bps":
        prov = codes.str[:2].map(BPS_TO_KEMENDAGRI_PROVINCE).fillna(codes.str[:2])
        codes = prov + codes.str[2:]
    return codes


def read_areas(cfg: SmartphoneSource, config: Config, notes: Notes) -> dict[str, pd.DataFrame]:
    """Read one source per area: ``{"total": rates}``, or urban / rural / total rates.

    Without ``area_column`` the source's own filters pick its rows and give the
    ``total``. With it, the rows of each area (``area_values``) are read apart; an area
    with no row in the table is skipped and noted (its villages take the total).

    Returns
    -------
    dict of str to DataFrame
        Area -> percentages (0-100) indexed by Kemendagri unit code (see
        :func:`read_source`); at least one area.
    """
    if cfg.area_column is None:
        return {"total": read_source(cfg, config, notes)}
    path = config.path(cfg.table)
    raw = read_table(path, "ICT statistics", dtype={cfg.area_column: str})
    require_columns(raw, [cfg.area_column], path, "ICT statistics")
    present = set(raw[cfg.area_column].astype("string").str.strip().dropna())
    out = {}
    for area in AREAS:
        label = cfg.area_values.get(area)
        if label is None or label not in present:
            notes.add(
                path,
                "warning",
                f"no {area} rows ({cfg.area_column} = {label!r}); villages take the "
                "rate of another area (urban / rural, else total)",
            )
            continue
        sub = cfg.model_copy(update={"filters": {**cfg.filters, cfg.area_column: label}})
        out[area] = read_source(sub, config, notes)
    if not out:
        raise InputError(
            f"column '{cfg.area_column}' has none of {sorted(cfg.area_values.values())}",
            file=path,
            fix="set layers.smartphone.area_values to the file's area names",
        )
    return out


def read(
    cfg: SmartphoneConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check every source table and its join with the villages' units.

    Returns
    -------
    LayerInputs
        ``sources``: (source settings, {area: rates per Kemendagri unit code}) per table,
        the most specific level first (:func:`read_areas`); ``variables``: the declared
        variables.
    """
    sources, files = [], []
    if any(s.area_column for s in cfg.all_sources()):
        other = villages["village_code"][village_areas(villages["village_code"]) == "other"]
        if len(other):
            notes.add(
                config.source_file or "layers.smartphone",
                "warning",
                "village codes whose 5th group starts with neither 1 (kelurahan, urban) nor "
                "2 (desa, rural): they take their unit's total rate, not an urban / rural one",
                rows=other.tolist(),
            )
    for src in sorted(cfg.all_sources(), key=lambda s: LEVEL_ORDER.index(s.level)):
        path = config.path(src.table)
        stats = read_areas(src, config, notes)
        sources.append((src, stats))
        files.append(path)
        if src.level == "country":
            continue
        units = pd.Index(sorted(set().union(*(s.index for s in stats.values()))))
        unit = villages["regency_code" if src.level == "regency" else "province_code"].to_numpy()
        present = set(unit)  # once, not once per table row
        unmatched = [c for c in units if c not in present]
        if unmatched:
            notes.add(
                path, "unmatched", f"{src.level} codes with no village in this run", rows=unmatched
            )
        missing = sorted(present - set(units))
        if missing:
            notes.add(
                path,
                "unmatched",
                f"{src.level} codes of villages absent from the "
                "table (their villages stay unknown, or take a coarser table)",
                rows=missing,
            )
    return LayerInputs(files, {"sources": sources, "variables": variables(cfg, config)})


def aggregate(
    inputs: LayerInputs, cfg: SmartphoneConfig, study: Study, notes: Notes
) -> LayerResult:
    """Carry the unit rates of every source down to villages as numerator / denominator.

    The most specific table that knows a village's unit decides (regency, province,
    country); within it the rate of the village's area (urban for kelurahan, rural for
    desa, :func:`village_areas`), else the total. Attributes per variable:
    ``<variable>_evidence`` (level) and, when a source is split by area,
    ``<variable>_area`` (area of the rate).
    """
    vil = study.villages
    area = study.area.sum(axis=1).A.ravel()
    weights = {
        "households": _weights(
            vil["households"].to_numpy(float), vil["population"].to_numpy(float), area
        ),
        "population": _weights(vil["population"].to_numpy(float), None, area),
    }
    kind = village_areas(vil["village_code"])
    cols, covers, evidence, areas, files = {}, [], {}, {}, {}
    rates: dict[str, np.ndarray] = {}
    for (src, stats), path in zip(inputs["sources"], inputs.files, strict=True):
        unit = _units(src, vil)
        for var in src.columns:
            rate, which = _area_rates(stats, var, unit, kind)
            have = rates.get(var)
            fill = np.isnan(have) & ~np.isnan(rate) if have is not None else ~np.isnan(rate)
            # the most specific table that knows the village's unit decides
            rates[var] = rate if have is None else np.where(fill, rate, have)
            ev = evidence.setdefault(var, np.full(len(vil), "none", dtype=object))
            ev[fill] = src.level
            ar = areas.setdefault(var, np.full(len(vil), "none", dtype=object))
            ar[fill] = which[fill]
            files.setdefault(var, []).append(str(path))
        known_units = set().union(*(s.index for s in stats.values()))
        covers.append(pd.Index(unit).isin(list(known_units)).astype(float))
    for var, rate in rates.items():
        den = weights[DENOMINATOR[var]]
        known = ~np.isnan(rate)
        cols[f"{var}__num"] = np.where(known, rate / 100.0 * den, 0.0)
        cols[f"{var}__den"] = np.where(known, den, 0.0)
    table = pd.DataFrame(cols, index=vil.index)
    # one cover for the layer: a village is covered when any source has its unit. It
    # decides no value: every variable is a rate, whose unknowns (unit missing from
    # the tables, empty value) its zero denominator carries, variable by variable
    cover = pd.Series(np.max(covers, axis=0), index=vil.index)
    attrs = {f"{v}_evidence": e for v, e in evidence.items()}
    if any(src.area_column for src, _ in inputs["sources"]):  # say so only when split
        attrs |= {f"{v}_area": a for v, a in areas.items()}
        _note_areas(files, areas, notes)
    attrs = pd.DataFrame(attrs, index=vil.index)
    return LayerResult(
        NAME, LEVEL, inputs["variables"], table, cover, list(inputs.files), attributes=attrs
    )


def _units(src: SmartphoneSource, vil: pd.DataFrame) -> np.ndarray:
    """Each village's unit code at the source's level (``"country"`` for all)."""
    if src.level == "country":
        return np.full(len(vil), "country", dtype=object)
    return vil["regency_code" if src.level == "regency" else "province_code"].to_numpy()


def _area_rates(
    stats: dict[str, pd.DataFrame], var: str, unit: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rate (percent, NaN unknown) per village and the area it was published for.

    Kelurahan (``kind == "urban"``) take their unit's urban rate, desa the rural rate;
    where that is unknown, or the village is neither, the unit's total.
    """

    def of(area: str) -> np.ndarray:
        s = stats.get(area)
        if s is None or var not in s.columns:
            return np.full(len(unit), np.nan)
        return s[var].reindex(unit).to_numpy(float)

    rate = of("total")
    which = np.where(np.isnan(rate), "none", "total").astype(object)
    for area in ("urban", "rural"):
        r = of(area)
        use = (kind == area) & ~np.isnan(r)
        rate = np.where(use, r, rate)
        which[use] = area
    return rate, which


def _note_areas(files: dict[str, list[str]], areas: dict[str, np.ndarray], notes: Notes) -> None:
    """Say, per variable, how many villages carry an urban, rural or total rate."""
    for var, a in areas.items():
        n = pd.Series(a).value_counts()
        counts = ", ".join(f"{k} {int(n.get(k, 0)):,}" for k in (*AREAS, "none"))
        notes.add(
            ", ".join(files[var]), "warning", f"{var}: villages carrying an area's rate: {counts}"
        )


def _weights(primary: np.ndarray, secondary: np.ndarray | None, area: np.ndarray) -> np.ndarray:
    """Village denominators: the first known of primary, secondary, area."""
    w = primary.copy()
    if secondary is not None:
        w = np.where(np.isnan(w), secondary, w)
    return np.where(np.isnan(w) | (w <= 0), area, w)
