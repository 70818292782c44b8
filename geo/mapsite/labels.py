"""Words and numbers of the map site, in Bahasa Indonesia (``id``) and English (``en``).

Every label a page shows is in :data:`LABELS`: the site's own words here, and each
layer's words (its map layers and features) in its module's ``LABELS``, found
through the layer registry (:mod:`despro.layers`). Numbers are written with the
language's separators (``1.234,5`` in Indonesian, ``1,234.5`` in English). The
functions here return plain text: callers HTML-escape it (``html.escape``) before
it reaches a page, as they do every text that comes from data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
from numpy.typing import ArrayLike

from despro import layers as registry
from despro.config.vocab import FAIL, UNKNOWN
from despro.numbertext import DASH, fmt_numbers
from despro.rules.explain import is_presence

LANGS = ("id", "en")

#: the site's own words (a layer's words are in its module's LABELS)
SITE_LABELS = {
    "id": {
        "title": "Kesiapan Desa Produksi Online (Despro)",
        "overview": "Ikhtisar nasional",
        "province": "Provinsi",
        "provinces": "Halaman provinsi",
        "cells_at": "sel H3 resolusi",
        "rolled_up": "digabung dari resolusi",
        "villages": "Desa menurut tingkat kesiapan",
        "shortlist": "Daftar pendek",
        "no_basemap": "Tanpa peta dasar",
        "outlines": "Batas wilayah (dari poligon desa)",
        "osm": "OpenStreetMap (perlu internet)",
        "criterion": "Kriteria",
        "value": "Nilai",
        "threshold": "Ambang",
        "state": "Status",
        "margin": "Selisih",
        "source": "Sumber",
        "rank": "Peringkat",
        "tier": "Tingkat",
        "product": "Produk unggulan",
        "pass": "lulus",
        "fail": "gagal",
        "unknown": "tidak diketahui",
        "ready": "siap",
        "near-ready": "hampir siap",
        "undetermined": "belum dapat ditentukan",
        "not ready": "belum siap",
        "yes": "ya",
        "no": "tidak",
        "needs": "perlu",
        "fall": "perlu turun",
        "absent": "belum ada",
        "spare": "lebih",
        "under": "di bawah batas",
        "changes": "Perubahan sejak proses sebelumnya",
        "ev_census": "sensus desa (Podes)",
        "ev_village": "tabel desa",
        "ev_cells": "sel H3 (model)",
        "ev_regency": "statistik kabupaten/kota",
        "ev_province": "statistik provinsi",
        "ev_country": "statistik nasional",
        "ev_none": "tidak ada data",
        "search": "Cari desa...",
        "no_match": "tidak ada desa yang cocok",
        "run": "Proses",
        "generated": "dibuat",
        "vintages": "Periode data",
        "thresholds": "Ambang yang dipakai",
        "summary": "Ringkasan",
        "pass_rate": "Tingkat lulus per kriteria (% desa)",
        "tier_counts": "Jumlah desa per tingkat",
        "villages_n": "desa",
        "overview_villages": "Desa siap, hampir siap dan daftar pendek "
        "saja; semua desa ada di halaman provinsi",
        "weights": "bobot",
        "tier_cells": "Tingkat desa per sel (terbanyak)",
        "score": "Skor kesiapan (0-100)",
        "score_incomplete": "skor dari data tidak lengkap",
        "score_range": "{lo} \u2013 {hi} jika data lengkap; {known} % bobot diketahui",
        "partial": "data hanya di %s % sel; jumlah minimum",
        "regency": "Kabupaten/Kota",
        "regencies": "Halaman kabupaten/kota",
        "province_split": "Provinsi ini terlalu besar untuk satu halaman: sel digabung; "
        "setiap desa ada di halaman kabupaten/kotanya.",
        "imputed": "diimputasi (KNN)",
        "imputed_tier": "Tingkat jika nilai imputasi dipakai",
        "imputed_note": "Nilai imputasi (perkiraan KNN, bukan data)",
        "clusters": "Klaster desa (DBSCAN)",
        "cluster": "Klaster",
        "category": "Kategori",
        "span": "Bentang",
        "products": "Produk",
        "agents": "Agen Despro",
        "agent": "Agen",
        "agent_site": "Lokasi",
        "radius": "Radius",
        "covers": "Melayani",
        "pilots": "Pilot terpilih (optimasi)",
        "pilot": "Pilot",
        "pilot_score": "Skor",
        "robust_share": "Terpilih di %s skenario bobot",
        "robust_yes": "kokoh",
        "robust_no": "tidak kokoh",
        "marginal": "Nilai marjinal",
        "points": "poin",
        "replaced_by": "pengganti",
        "binding": "Batasan mengikat",
        "fixed": "tetap (pilot berjalan)",
        "imputed_pick": "dipilih dengan nilai imputasi",
        "pick_order": "nomor = urutan pilihan",
        "planner_summary": "Ringkasan untuk perencana",
        "why": "Yang dibutuhkan",
        "top_binding": "Kriteria pengikat terbanyak (desa)",
        "missing": "Belum dapat ditentukan karena data kurang (% desa)",
        "decided_pct": "Tingkat pasti (%)",
        "data_needed": "Data yang akan memutuskan desa terbanyak, urut",
        "decides": "%s: memutuskan %s desa lagi (bersama data di atasnya); dibutuhkan %s desa",
        "no_data_needed": "Tidak ada desa yang menunggu data.",
        "summary_files": "Lengkap: summary_province.csv, summary_regency.csv, "
        "data_needed.csv, one_fix_away.csv",
    },
    "en": {
        "title": "Despro village readiness (Desa Produksi Online)",
        "overview": "National overview",
        "province": "Province",
        "provinces": "Province pages",
        "cells_at": "H3 cells at resolution",
        "rolled_up": "rolled up from resolution",
        "villages": "Villages by readiness tier",
        "shortlist": "Shortlist",
        "no_basemap": "No basemap",
        "outlines": "Boundaries (from village polygons)",
        "osm": "OpenStreetMap (needs internet)",
        "criterion": "Criterion",
        "value": "Value",
        "threshold": "Threshold",
        "state": "State",
        "margin": "Margin",
        "source": "Source",
        "rank": "Rank",
        "tier": "Tier",
        "product": "Flagship product",
        "pass": "pass",
        "fail": "fail",
        "unknown": "unknown",
        "ready": "ready",
        "near-ready": "near-ready",
        "undetermined": "undetermined",
        "not ready": "not ready",
        "yes": "yes",
        "no": "no",
        "needs": "needs",
        "fall": "must fall by",
        "absent": "none yet",
        "spare": "to spare",
        "under": "under the limit",
        "changes": "Changes since the previous run",
        "ev_census": "village census (Podes)",
        "ev_village": "village table",
        "ev_cells": "H3 cells (modelled)",
        "ev_regency": "regency statistics",
        "ev_province": "province statistics",
        "ev_country": "national statistics",
        "ev_none": "no data",
        "search": "Search village...",
        "no_match": "no matching village",
        "run": "Run",
        "generated": "generated",
        "vintages": "Data vintages",
        "thresholds": "Thresholds used",
        "summary": "Summary",
        "pass_rate": "Pass rate per criterion (% of villages)",
        "tier_counts": "Villages per tier",
        "villages_n": "villages",
        "overview_villages": "Ready, near-ready and shortlisted villages only; every "
        "village is on the province pages",
        "weights": "weights",
        "tier_cells": "Village tier per cell (most villages)",
        "score": "Readiness score (0-100)",
        "score_incomplete": "score from incomplete data",
        "score_range": "{lo} \u2013 {hi} with complete data; {known} % of the weight known",
        "partial": "data in only %s % of cells; a lower bound",
        "regency": "Regency",
        "regencies": "Regency pages",
        "province_split": "This province is too large for one page: cells rolled up; "
        "every village is on its regency page.",
        "imputed": "imputed (KNN)",
        "imputed_tier": "Tier if imputed values are used",
        "imputed_note": "Imputed values (KNN estimates, not data)",
        "clusters": "Village clusters (DBSCAN)",
        "cluster": "Cluster",
        "category": "Category",
        "span": "Span",
        "products": "Products",
        "agents": "Agen Despro (agents)",
        "agent": "Agent",
        "agent_site": "Site",
        "radius": "Radius",
        "covers": "Covers",
        "pilots": "Chosen pilots (optimised)",
        "pilot": "Pilot",
        "pilot_score": "Score",
        "robust_share": "Picked in %s of weight draws",
        "robust_yes": "robust",
        "robust_no": "not robust",
        "marginal": "Marginal value",
        "points": "points",
        "replaced_by": "replacement",
        "binding": "Binding constraint",
        "fixed": "fixed (running pilot)",
        "imputed_pick": "picked on imputed values",
        "pick_order": "number = pick order",
        "planner_summary": "Summary for planners",
        "why": "What it would take",
        "top_binding": "Most common binding criterion (villages)",
        "missing": "Undetermined for want of data (% of villages)",
        "decided_pct": "Tier decided (%)",
        "data_needed": "Data that would decide most villages, in order",
        "decides": "%s: decides %s more villages (with the data above); %s villages need it",
        "no_data_needed": "No village is waiting for data.",
        "summary_files": "In full: summary_province.csv, summary_regency.csv, "
        "data_needed.csv, one_fix_away.csv",
    },
}


class _Labels(Mapping):
    """The words of one language: the site's, then those of every registered layer
    (looked up when asked, so a layer registered later is found too)."""

    def __init__(self, lang: str):
        self.lang = lang

    def _maps(self) -> list[dict[str, str]]:
        own = [SITE_LABELS[self.lang]]
        return own + [layer.LABELS.get(self.lang, {}) for layer in registry.all_layers()]

    def __getitem__(self, key: str) -> str:
        for words in self._maps():
            if key in words:
                return words[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for words in self._maps() for k in words))

    def __len__(self) -> int:
        return sum(1 for _ in self)


LABELS: dict[str, Mapping[str, str]] = {lang: _Labels(lang) for lang in LANGS}

OPS = {">=": "\u2265", ">": ">", "<=": "\u2264", "<": "<"}
UNITS_ID = {
    "companies": "perusahaan",
    "outlets": "gerai",
    "enterprises": "usaha",
    "tests": "uji",
    "devices": "perangkat",
    "people": "jiwa",
    "households": "rumah tangga",
}


def unit_display(unit: str, lang: str) -> tuple[float, str, str]:
    """How a unit is shown: (scale, value suffix, margin suffix).

    Percentages show as ``%`` with margins in percentage points (``pp``); metres
    as kilometres; unitless scores and ratios without a suffix; counted things in
    the page language.
    """
    if unit.startswith("percent"):
        return 1.0, "%", "pp"
    if unit == "m":
        return 1e-3, "km", "km"
    if unit in ("ratio", "") or unit.startswith("score"):
        return 1.0, "", ""
    word = UNITS_ID.get(unit, unit) if lang == "id" else unit
    return 1.0, word, word


def _with_suffix(numbers: np.ndarray, suffix: str) -> np.ndarray:
    if not suffix:
        return numbers
    out = numbers.astype(object)
    known = out != DASH
    out[known] = [f"{n} {suffix}" for n in out[known].tolist()]
    return out


def value_texts(values: ArrayLike, unit: str, lang: str) -> np.ndarray:
    """Many values of a rule as shown in popups (object array, see :func:`value_text`)."""
    scale, suffix, _ = unit_display(unit, lang)
    return _with_suffix(fmt_numbers(np.asarray(values, dtype=float) * scale, lang), suffix)


def value_text(v: float, unit: str, lang: str) -> str:
    """A rule's value as shown in a popup (``45,2 %``, ``12,3 km``)."""
    return value_texts([v], unit, lang)[0]


def threshold_text(op: str, threshold: float, unit: str, lang: str) -> str:
    """``≥ 30 %``: the rule's operator, threshold and unit."""
    return f"{OPS.get(op, op)} {value_text(threshold, unit, lang)}"


def margin_texts(
    margins: ArrayLike,
    states: ArrayLike,
    op: str,
    unit: str,
    lang: str,
    threshold: float | None = None,
) -> np.ndarray:
    """How far villages are from a rule's threshold, in words (object array).

    A failing ``>=`` rule: ``perlu +7,0 pp`` / ``needs +7.0 pp``; a failing ``<=`` rule
    (the value must fall): ``perlu turun 5,9 km`` / ``must fall by 5.9 km``; a count the
    village has none of (``threshold`` given, :func:`despro.rules.explain.is_presence`):
    ``belum ada`` / ``none yet``. Passing: ``lebih 3,4 pp`` / ``3.4 pp to spare`` (a
    ``<=`` rule: ``4,0 km di bawah batas`` / ``4.0 km under the limit``); unknown: an en
    dash.
    """
    t = LABELS[lang]
    m = np.asarray(margins, dtype=float)
    states = np.asarray(states, dtype=object)
    unknown = (states == UNKNOWN) | np.isnan(m)
    scale, _, suffix = unit_display(unit, lang)
    amounts = _with_suffix(fmt_numbers(np.abs(m) * scale, lang), suffix)
    rise = op in (">=", ">")
    out = np.full(len(m), DASH, dtype=object)
    fail = ~unknown & (states == FAIL)
    ok = ~unknown & ~fail
    if rise:
        out[fail] = [f"{t['needs']} +{a}" for a in amounts[fail].tolist()]
        if threshold is not None:
            none = fail & np.array(
                [is_presence(unit, threshold, x + threshold) for x in m.tolist()], dtype=bool
            )
            out[none] = t["absent"]
        if lang == "id":
            out[ok] = [f"{t['spare']} {a}" for a in amounts[ok].tolist()]
        else:
            out[ok] = [f"{a} {t['spare']}" for a in amounts[ok].tolist()]
    else:
        out[fail] = [f"{t['fall']} {a}" for a in amounts[fail].tolist()]
        out[ok] = [f"{a} {t['under']}" for a in amounts[ok].tolist()]
    return out


def score_texts(score: ArrayLike, best: ArrayLike, known_share: ArrayLike, lang: str) -> list[str]:
    """Per village, its score as the popup shows it (not escaped).

    Parameters
    ----------
    score, best : array-like
        Worst-case and best-case score (0-100, NaN when nothing is known).
    known_share : array-like
        Share of the weights fully known (0-1).
    lang : str
        ``id`` or ``en``.

    Returns
    -------
    list of str
        ``"Readiness score (0-100): 41.7"``, followed when part of the data is missing by
        the range with complete data and the known share of the weight.
    """
    t = LABELS[lang]
    lo = fmt_numbers(score, lang)
    hi = fmt_numbers(best, lang)
    share = np.asarray(known_share, dtype=float)
    known = fmt_numbers(np.floor(100.0 * share), lang, 0)
    out = []
    for i in range(len(lo)):
        text = f"{t['score']}: {lo[i]}"
        if not share[i] >= 1.0:
            text += " (" + t["score_range"].format(lo=lo[i], hi=hi[i], known=known[i]) + ")"
        out.append(text)
    return out
