"""The planners' workbook: one sheet per table, numbers stay numbers in every locale.

``despro.xlsx`` (:func:`write_workbook`, written by :func:`despro.io.outputs.write_outputs`
inside the run's staging folder, so a failed run leaves the previous workbook as it was)
holds the tables a planner opens in a spreadsheet:

* ``catatan`` / ``notes``: what each sheet is, the run, and what was left out;
* ``desa`` / ``villages``: one row per village, the summary columns (tier, score, rank,
  the binding rule and what it would take); left out above :data:`VILLAGE_SHEET_LIMIT`
  villages (a national run: ``villages.parquet`` / ``villages.gpkg`` hold them all);
* ``daftar_pendek`` / ``shortlist``: the ranked shortlist (as ``shortlist.csv``);
* ``pilot``, ``agen``, ``klaster``: the optimised pilots, agents and clusters (with a plan);
* ``kabupaten`` / ``regencies`` and ``provinsi`` / ``provinces``: tier counts per area (as
  ``summary_regency.csv`` / ``summary_province.csv``);
* ``satu_langkah`` / ``one_fix_away`` and ``data_dibutuhkan`` / ``data_needed``: as the
  CSVs of the same names.

Each sheet has a frozen, filterable header row with Indonesian column titles when
``lang = "id"`` and column widths fitted to the text. Numbers are written as numbers,
rounded as in the CSVs (:func:`despro.io.outputs.round_for_csv`) and shown with a number
format of the same decimals, so a spreadsheet set to Indonesian (decimal comma) shows
them right without any import step. Text from the data is always written as a text cell:
a village named ``=HYPERLINK(...)`` stays that text and never becomes a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from despro.pipeline.runner import Result
    from despro.select.pilots import PilotPlan

#: above this many villages the workbook carries no per-village sheet: xlsxwriter writes
#: 50,000-150,000 cells/s here, so the 83,000 villages x 21 columns of a national run cost
#: 12-33 s, over the run's 5 s budget for the workbook (benchmarks/bench_xlsx.py); a
#: province (at most ~8,500 villages) keeps its sheet
VILLAGE_SHEET_LIMIT = 10_000
#: the per-village summary columns, in order (those the run has)
VILLAGE_COLUMNS = (
    "rank",
    "village_code",
    "village_name",
    "regency_name",
    "province_name",
    "tier",
    "score",
    "score_best",
    "score_known_share",
    "n_fail",
    "n_unknown",
    "binding_criterion",
    "binding_rule",
    "binding_gap",
    "binding_unit",
    "binding_text",
    "data_needed_text",
    "flagship_product",
    "population",
    "lat",
    "lon",
)
#: sheet key -> (Indonesian name, English name); Excel names are at most 31 characters
SHEETS = {
    "notes": ("catatan", "notes"),
    "villages": ("desa", "villages"),
    "shortlist": ("daftar_pendek", "shortlist"),
    "pilots": ("pilot", "pilots"),
    "agents": ("agen", "agents"),
    "clusters": ("klaster", "clusters"),
    "regencies": ("kabupaten", "regencies"),
    "provinces": ("provinsi", "provinces"),
    "one_fix_away": ("satu_langkah", "one_fix_away"),
    "data_needed": ("data_dibutuhkan", "data_needed"),
}
SHEET_TEXT = {
    "villages": (
        "satu baris per desa: tingkat kesiapan, skor, peringkat, aturan penentu",
        "one row per village: tier, score, rank, binding rule",
    ),
    "shortlist": (
        "desa peringkat teratas dari tingkat daftar pendek (shortlist.csv)",
        "top-ranked villages of the shortlist tiers (shortlist.csv)",
    ),
    "pilots": (
        "desa pilot hasil optimasi, urut pilihan (selection/shortlist_optimised.csv)",
        "the optimised pilot villages, in pick order (selection/shortlist_optimised.csv)",
    ),
    "agents": ("lokasi Agen Despro dan desa yang dilayani", "where the agents sit"),
    "clusters": (
        "klaster desa pilot dengan kategori produk yang sama",
        "clusters of pilot villages sharing a product category",
    ),
    "regencies": (
        "per kabupaten/kota: jumlah desa per tingkat (summary_regency.csv)",
        "per regency: villages per tier (summary_regency.csv)",
    ),
    "provinces": (
        "per provinsi: jumlah desa per tingkat (summary_province.csv)",
        "per province: villages per tier (summary_province.csv)",
    ),
    "one_fix_away": (
        "desa yang hanya kurang satu aturan (one_fix_away.csv)",
        "villages one rule away (one_fix_away.csv)",
    ),
    "data_needed": (
        "data yang akan memastikan desa terbanyak, per kabupaten (data_needed.csv)",
        "the inputs that would decide most villages, per regency (data_needed.csv)",
    ),
}
#: column -> (Indonesian title, English title); other columns keep their field name
TITLES = {
    "rank": ("Peringkat", "Rank"),
    "pick": ("Urutan pilihan", "Pick"),
    "village_code": ("Kode desa", "Village code"),
    "village_name": ("Nama desa", "Village"),
    "regency_code": ("Kode kabupaten/kota", "Regency code"),
    "regency_name": ("Kabupaten/kota", "Regency"),
    "province_code": ("Kode provinsi", "Province code"),
    "province_name": ("Provinsi", "Province"),
    "tier": ("Tingkat kesiapan", "Tier"),
    "score": ("Skor (0-100)", "Score (0-100)"),
    "score_best": ("Skor terbaik (0-100)", "Best score (0-100)"),
    "score_known_share": ("Bobot diketahui (0-1)", "Known weight share (0-1)"),
    "n_fail": ("Aturan gagal", "Rules failing"),
    "n_unknown": ("Aturan belum diketahui", "Rules unknown"),
    "binding_criterion": ("Kriteria penentu", "Binding criterion"),
    "binding_rule": ("Aturan penentu", "Binding rule"),
    "binding_kind": ("Jenis (gagal/belum diketahui)", "Kind (fail/unknown)"),
    "binding_gap": ("Kekurangan", "Gap"),
    "binding_unit": ("Satuan kekurangan", "Gap unit"),
    "binding_text": ("Yang dibutuhkan", "What it would take"),
    "data_needed": ("Data dibutuhkan", "Data needed"),
    "data_needed_text": ("Data yang dibutuhkan", "Data needed"),
    "flagship_product": ("Produk unggulan", "Flagship product"),
    "flagship_category": ("Kategori produk", "Product category"),
    "population": ("Penduduk", "Population"),
    "households": ("Rumah tangga", "Households"),
    "lat": ("Lintang (derajat)", "Latitude (degrees)"),
    "lon": ("Bujur (derajat)", "Longitude (degrees)"),
    "villages": ("Jumlah desa", "Villages"),
    "n_ready": ("Desa siap", "Villages ready"),
    "n_near_ready": ("Desa hampir siap", "Villages near-ready"),
    "n_undetermined": ("Desa belum dapat ditentukan", "Villages undetermined"),
    "n_not_ready": ("Desa belum siap", "Villages not ready"),
    "top_binding_criterion": ("Kriteria penentu terbanyak", "Most common binding criterion"),
    "top_binding_villages": ("Desa dengan kriteria itu", "Villages bound by it"),
    "pct_tier_decided": ("Tingkat sudah pasti (%)", "Tier decided (%)"),
    "input_rank": ("Peringkat data", "Input rank"),
    "input": ("Data", "Input"),
    "input_label": ("Nama data", "Input name"),
    "villages_decided": ("Desa yang akan pasti", "Villages it would decide"),
    "villages_needing": ("Desa yang menunggu", "Villages waiting"),
    "villages_decided_total": ("Desa yang akan pasti (total)", "Villages it would decide (all)"),
    "villages_needing_total": ("Desa yang menunggu (total)", "Villages waiting (all)"),
    "agent_id": ("Kode agen", "Agent"),
    "cluster_id": ("Kode klaster", "Cluster"),
    "n_covered": ("Desa dilayani", "Villages covered"),
    "n_villages": ("Jumlah desa", "Villages"),
    "span_km": ("Bentang (km)", "Span (km)"),
    "value": ("Nilai", "Value"),
    "site_type": ("Jenis lokasi", "Site type"),
    "site_code": ("Kode lokasi", "Site code"),
    "site_name": ("Nama lokasi", "Site name"),
    "villages_covered": ("Kode desa yang dilayani", "Villages covered (codes)"),
    "category": ("Kategori produk", "Product category"),
    "village_codes": ("Kode desa", "Village codes"),
    "village_names": ("Nama desa", "Villages"),
    "products": ("Produk", "Products"),
    "regencies": ("Kabupaten/kota", "Regencies"),
}
INT_FORMAT, CODE_FORMAT, TEXT_FORMAT = "#,##0", "0", "@"
MAX_WIDTH = 60


def _title(col: str, lang: str, result: Result | None) -> str:
    """The column's title in ``lang``: known names, rule states and margins, variables."""
    i = 0 if lang == "id" else 1
    if col in TITLES:
        return TITLES[col][i]
    if col.startswith("pct_undetermined_"):
        what = col.removeprefix("pct_undetermined_")
        return (f"Belum ditentukan karena {what} (%)", f"Undetermined for {what} (%)")[i]
    if result is None:
        return col
    rules = {r.id: r for r in result.config.criteria.rules}
    base, _, part = col.rpartition("_")
    if base in rules and part in ("state", "margin"):
        unit = f" ({rules[base].unit})" if part == "margin" and rules[base].unit else ""
        word = {"state": ("Status", "State"), "margin": ("Selisih", "Margin")}[part][i]
        return f"{word} {base}{unit}"
    for r in rules.values():
        if r.variable == col and (r.label_id if lang == "id" else r.label_en):
            label = r.label_id if lang == "id" else r.label_en
            return f"{label[:1].upper()}{label[1:]} ({r.unit})" if r.unit else label
    return col


def _is_code(col: str) -> bool:
    return col.endswith("_code") or col in ("rank", "pick", "input_rank")


def _number_format(col: str, series: pd.Series, decimals: int | None) -> str | None:
    """Excel number format for a numeric column (``None``: text or boolean)."""
    if pd.api.types.is_bool_dtype(series):
        return None
    if not pd.api.types.is_numeric_dtype(series):
        return TEXT_FORMAT
    if pd.api.types.is_integer_dtype(series):
        return CODE_FORMAT if _is_code(col) else INT_FORMAT
    if decimals is None:
        return "General"
    return INT_FORMAT if decimals == 0 else f"{INT_FORMAT}.{'0' * decimals}"


def _column_values(series: pd.Series) -> list:
    """Python values for the cells: ``None`` (an empty cell) for missing values."""
    if pd.api.types.is_float_dtype(series):
        a = series.to_numpy(dtype=float, na_value=np.nan)
        out = a.tolist()
        if np.isnan(a).any():
            out = [None if x != x else x for x in out]
        return out
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return series.to_numpy().tolist()
    obj = series.astype(object)
    return obj.where(obj.notna(), None).tolist()


def _width(title: str, values: list, numeric: bool) -> float:
    """Column width (characters) fitting the title and the longest value."""
    if numeric:
        longest = 12
    else:
        lengths = pd.Series(values, dtype=object).dropna().astype(str).str.len()
        longest = int(lengths.max()) if len(lengths) else 0
    return float(min(MAX_WIDTH, max(len(title), longest, 6) + 2))


def _sheet(book, name: str, frame: pd.DataFrame, lang: str, result: Result | None) -> int:
    """One table as one sheet: titles, formats, widths, frozen header, filter."""
    from despro.io.outputs import column_decimals, round_for_csv

    units = _units(result)
    frame = round_for_csv(pd.DataFrame(frame).reset_index(drop=True), units)
    ws = book.add_worksheet(name)
    header = book.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF4"}
    )
    columns = []
    for j, col in enumerate(frame.columns):
        s = frame[col]
        fmt = _number_format(col, s, column_decimals(col, units))
        values = _column_values(s)
        title = _title(str(col), lang, result)
        cell_format = book.add_format({"num_format": fmt}) if fmt else None
        numeric = fmt is not None and fmt != TEXT_FORMAT
        ws.set_column(j, j, _width(title, values, numeric), cell_format)
        ws.write_string(0, j, title, header)
        columns.append(values)
    for i, row in enumerate(zip(*columns, strict=True), start=1):
        ws.write_row(i, 0, row)
    ws.freeze_panes(1, 0)
    if len(frame.columns):
        ws.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)
    return len(frame)


def _units(result: Result | None) -> dict[str, str]:
    if result is None:
        return {}
    from despro.io.outputs import column_units

    return column_units(result)


def village_summary(villages: pd.DataFrame) -> pd.DataFrame:
    """The per-village sheet: :data:`VILLAGE_COLUMNS` that ``villages`` has, by rank."""
    cols = [c for c in VILLAGE_COLUMNS if c in villages.columns and c not in ("lat", "lon")]
    out = pd.DataFrame(villages[cols])
    if "geometry" in villages.columns and {"lat", "lon"} & set(VILLAGE_COLUMNS):
        from despro.pipeline.analysis import point_lat_lon

        where = point_lat_lon(villages)
        out["lat"], out["lon"] = where["lat"].to_numpy(), where["lon"].to_numpy()
    return out.sort_values("rank", kind="stable") if "rank" in out else out


def workbook_tables(
    result: Result,
    plan: PilotPlan | None = None,
    *,
    villages: bool = True,
    planner: dict[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of the workbook by sheet key (:data:`SHEETS`), in sheet order.

    Parameters
    ----------
    result : Result
    plan : PilotPlan, optional
        Adds ``pilots``, ``agents`` and ``clusters``.
    villages : bool
        Include the per-village sheet.
    planner : dict of str to DataFrame, optional
        :func:`despro.io.outputs.planner_tables` when the caller has them already (they
        are the CSVs of the same run; nationally they take seconds to compute).

    Returns
    -------
    dict of str to DataFrame
        Sheet key -> table (geometry dropped, not yet rounded).
    """
    from despro.io.outputs import planner_tables

    out: dict[str, pd.DataFrame] = {}
    if villages:
        out["villages"] = village_summary(result.villages)
    short = result.shortlist()
    out["shortlist"] = pd.DataFrame(short.drop(columns=short.geometry.name))
    if plan is not None:
        from despro.io.geopackage import plan_layers

        for key, g in plan_layers(result, plan).items():
            out[key] = pd.DataFrame(g.drop(columns=g.geometry.name))
    tables = planner if planner is not None else planner_tables(result.villages)
    out["regencies"] = tables["summary_regency.csv"]
    out["provinces"] = tables["summary_province.csv"]
    out["one_fix_away"] = tables["one_fix_away.csv"]
    out["data_needed"] = tables["data_needed.csv"]
    return out


def _notes(
    result: Result, tables: dict[str, pd.DataFrame], lang: str, left_out: bool
) -> pd.DataFrame:
    i = 0 if lang == "id" else 1
    rows = [(SHEETS[k][i], len(t), SHEET_TEXT[k][i]) for k, t in tables.items()]
    if left_out:
        n = len(result.villages)
        rows.insert(
            0,
            (
                SHEETS["villages"][i],
                0,
                (
                    f"tidak ditulis: {n:,} desa melebihi batas {VILLAGE_SHEET_LIMIT:,}; "
                    "semua desa ada di villages.gpkg dan villages.parquet",
                    f"not written: {n:,} villages exceed the limit of {VILLAGE_SHEET_LIMIT:,}; "
                    "every village is in villages.gpkg and villages.parquet",
                )[i],
            ),
        )
    head = (("Lembar", "Baris", "Isi"), ("Sheet", "Rows", "Contents"))[i]
    frame = pd.DataFrame(rows, columns=list(head))
    run = (("Analisis", result.config.run.name, ""), ("Run", result.config.run.name, ""))[i]
    return pd.concat([pd.DataFrame([run], columns=list(head)), frame], ignore_index=True)


def write_workbook(
    result: Result,
    path: Path | str,
    plan: PilotPlan | None = None,
    lang: str | None = None,
    village_limit: int = VILLAGE_SHEET_LIMIT,
    planner: dict[str, pd.DataFrame] | None = None,
) -> dict[str, int]:
    """Write the planners' workbook (see the module docstring).

    Parameters
    ----------
    result : Result
    path : Path or str
        The ``.xlsx`` to write (replaced).
    plan : PilotPlan, optional
        Adds the ``pilots``, ``agents`` and ``clusters`` sheets.
    lang : {'id', 'en'}, optional
        Sheet names and column titles (default: the config's ``run.lang``).
    village_limit : int
        Above this many villages the per-village sheet is left out (said so in the
        notes sheet).
    planner : dict of str to DataFrame, optional
        The run's :func:`despro.io.outputs.planner_tables`, when already computed.

    Returns
    -------
    dict of str to int
        Sheet name -> rows written (header not counted).
    """
    import xlsxwriter

    lang = lang or result.config.run.lang
    if lang not in ("id", "en"):
        raise ValueError(f"lang must be 'id' or 'en', got {lang!r}")
    i = 0 if lang == "id" else 1
    left_out = len(result.villages) > village_limit
    tables = workbook_tables(result, plan, villages=not left_out, planner=planner)
    path = Path(path)
    options = {
        "constant_memory": True,  # rows streamed to disk, not held in memory
        "strings_to_formulas": False,  # text from the data is never a formula
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    book = xlsxwriter.Workbook(str(path), options)
    counts = {}
    try:
        notes = _notes(result, tables, lang, left_out)
        counts[SHEETS["notes"][i]] = _sheet(book, SHEETS["notes"][i], notes, lang, None)
        for key, table in tables.items():
            counts[SHEETS[key][i]] = _sheet(book, SHEETS[key][i], table, lang, result)
    finally:
        book.close()
    return counts
