"""The planners' summary on the overview page: tiers per province, what binds, what data
would decide most villages (the tables of :mod:`despro.rules.explain`, as HTML).

Every text from data (province and regency names, input keys) is HTML-escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from despro import layers as registry
from despro.config.settings import Rule
from despro.config.vocab import FAIL, TIERS
from despro.mapsite.data import escape_text as esc
from despro.mapsite.labels import LABELS
from despro.numbertext import fmt_number
from despro.rules import explain as ex

if TYPE_CHECKING:
    from despro.pipeline.runner import Result

#: inputs shown in the ranked table; the rest are in data_needed.csv
TOP_INPUTS = 5
#: regencies named per input
TOP_REGENCIES = 3


def _tier_column(t: str) -> str:
    return f"n_{t.replace('-', '_').replace(' ', '_')}"


def _province_rows(summary: pd.DataFrame, lang: str) -> str:
    t = LABELS[lang]
    inputs = [c for c in summary.columns if c.startswith("pct_undetermined_")]
    rows = []
    for _, r in summary.iterrows():
        name = r.get("province_name")
        place = f"{r['province_code']} {name}" if isinstance(name, str) else str(r["province_code"])
        top = r["top_binding_criterion"]
        binding = f"{top} ({fmt_number(r['top_binding_villages'], lang, 0)})" if top else "\u2013"
        missing = sorted(((r[c], c) for c in inputs if r[c] > 0), reverse=True)[:2]
        needed = ", ".join(
            f"{ex.input_label(c.removeprefix('pct_undetermined_'), lang, registry.titles(lang))} "
            f"{fmt_number(share, lang, 0)} %"
            for share, c in missing
        )
        cells = [
            place,
            fmt_number(r["villages"], lang, 0),
            *(fmt_number(r[_tier_column(x)], lang, 0) for x in TIERS),
            fmt_number(r["pct_tier_decided"], lang, 1) + " %",
            binding,
            needed or "\u2013",
        ]
        rows.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    head = [
        t["province"],
        t["villages_n"],
        *(t[x] for x in TIERS),
        t["decided_pct"],
        t["top_binding"],
        t["missing"],
    ]
    return (
        "<table class='despro-summary-table'><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _data_rows(needed: pd.DataFrame, lang: str) -> str:
    t = LABELS[lang]
    if needed.empty:
        return f"<div>{esc(t['no_data_needed'])}</div>"
    items = []
    for _, grp in list(needed.groupby("input_rank", sort=True))[:TOP_INPUTS]:
        first = grp.iloc[0]
        top = grp[grp["villages_decided"] > 0].head(TOP_REGENCIES)
        where = "; ".join(
            (
                f"{r['regency_name']}"
                if isinstance(r.get("regency_name"), str)
                else r["regency_code"]
            )
            + f" ({fmt_number(r['villages_decided'], lang, 0)})"
            for _, r in top.iterrows()
        )
        text = t["decides"] % (
            first["input_label"],
            fmt_number(first["villages_decided_total"], lang, 0),
            fmt_number(first["villages_needing_total"], lang, 0),
        )
        items.append(f"<li>{esc(text)}" + (f"<br><small>{esc(where)}</small>" if where else ""))
    return "<ol>" + "".join(items) + "</ol>"


#: a gate rule failing in at least this share of the villages is named in the findings
FINDING_FAIL_SHARE = 0.25

FINDINGS = {
    "id": {
        "tiers": "{n} desa: {counts}.",
        "none_ready": "Tidak ada desa yang siap.",
        "fails": "{rule} ({label}) gagal di {n} desa ({pct} %).",
        "fails_all": "{rule} ({label}) gagal di semua desa: selama itu tidak ada desa yang "
        "bisa siap.",
        "data": "Yang belum dapat ditentukan menunggu data: {inputs}.",
        "data_item": "{input} ({n} desa)",
    },
    "en": {
        "tiers": "{n} villages: {counts}.",
        "none_ready": "No village is ready.",
        "fails": "{rule} ({label}) fails in {n} villages ({pct} %).",
        "fails_all": "{rule} ({label}) fails in every village: until it changes, no village "
        "can be ready.",
        "data": "The undetermined villages wait for data: {inputs}.",
        "data_item": "{input} ({n} villages)",
    },
}


def gate_labels(rules: Iterable[Rule], lang: str = "id") -> dict[str, str]:
    """Gate rule id -> its label in ``lang`` (``label_id`` / ``label_en``, else the id)."""
    key = "label_id" if lang == "id" else "label_en"
    return {r.id: getattr(r, key) or r.id for r in rules if r.role == "gate"}


def findings(
    villages: pd.DataFrame,
    rule_labels: dict[str, str],
    lang: str = "id",
    needed: pd.DataFrame | None = None,
) -> list[str]:
    """What a planner should read first, as short sentences in ``lang`` (plain text).

    The tier counts; "no village is ready" when so; every gate rule failing in at least
    :data:`FINDING_FAIL_SHARE` of the villages, most failing first (one failing in all
    says that no village can be ready until it changes); and the inputs the undetermined
    villages wait for, with how many need each, in the order that decides most villages
    (:func:`despro.rules.explain.data_needed`).

    Parameters
    ----------
    villages : DataFrame
        ``tier``, ``<rule>_state`` per rule, and the columns of
        :func:`despro.rules.explain.explain` when present.
    rule_labels : dict
        Gate rule id -> its label in ``lang`` (only these rules are considered).
    lang : 'id' or 'en'
    needed : DataFrame, optional
        :func:`despro.rules.explain.data_needed` of ``villages`` in ``lang`` when the
        caller has it already (nationally it takes half a second).
    """
    w, t = FINDINGS[lang], LABELS[lang]
    n = len(villages)
    tiers = villages["tier"].value_counts()
    counts = ", ".join(f"{t[x]} {fmt_number(tiers.get(x, 0), lang, 0)}" for x in TIERS)
    out = [w["tiers"].format(n=fmt_number(n, lang, 0), counts=counts)]
    if n and tiers.get(TIERS[0], 0) == 0:
        out.append(w["none_ready"])
    fails = []
    for rule, label in rule_labels.items():
        col = f"{rule}_state"
        if col in villages.columns and n:
            k = int((villages[col] == FAIL).sum())
            if k >= FINDING_FAIL_SHARE * n:
                fails.append((k, rule, label))
    for k, rule, label in sorted(fails, key=lambda x: (-x[0], x[1])):
        key = "fails_all" if k == n else "fails"
        out.append(
            w[key].format(
                rule=rule,
                label=label,
                n=fmt_number(k, lang, 0),
                pct=fmt_number(100 * k / n, lang, 0),
            )
        )
    if "data_needed" in villages.columns:
        if needed is None:
            needed = ex.data_needed(villages, lang, registry.titles(lang))
        if len(needed):
            per_input = needed.drop_duplicates("input")  # ranked: most decisive first
            items = [
                w["data_item"].format(
                    input=r["input_label"], n=fmt_number(r["villages_needing_total"], lang, 0)
                )
                for _, r in per_input.iterrows()
            ]
            out.append(w["data"].format(inputs=", ".join(items)))
    return out


def summary_html(
    villages: pd.DataFrame, lang: str, rule_labels: dict[str, str] | None = None
) -> str:
    """The summary block of the overview page (HTML; every data text escaped).

    Parameters
    ----------
    villages : DataFrame
        The run's villages with the columns of :func:`despro.rules.explain.explain`.
    lang : 'id' or 'en'
    """
    t = LABELS[lang]
    v = pd.DataFrame(villages).drop(columns="geometry", errors="ignore")
    if "binding_criterion" not in v.columns:
        return ""
    prov = ex.summary(v, "province")
    needed = ex.data_needed(v, lang, registry.titles(lang))
    lines = "".join(f"<li>{esc(x)}</li>" for x in findings(v, rule_labels or {}, lang, needed))
    return (
        f"<details class='despro-summary' open><summary><b>{esc(t['planner_summary'])}</b>"
        f"</summary><ul class='despro-findings'>{lines}</ul>{_province_rows(prov, lang)}"
        f"<b>{esc(t['data_needed'])}</b>{_data_rows(needed, lang)}"
        f"<small>{esc(t['summary_files'])}</small></details>"
    )


def why_texts(result: Result, lang: str) -> dict[str, str]:
    """Escaped code -> escaped "what it would take" line of every village that has one
    (:func:`despro.rules.explain.village_texts`, rule labels in ``lang``)."""
    v = result.villages
    if "binding_rule" not in v.columns:
        return {}
    key = "label_id" if lang == "id" else "label_en"
    labels = {r.id: getattr(r, key) or r.id for r in result.config.criteria.rules}
    thresholds = {r.id: r.threshold for r in result.config.criteria.rules}
    texts = ex.village_texts(v, labels, lang, registry.titles(lang), thresholds)
    return {esc(c): esc(x) for c, x in zip(v["village_code"], texts, strict=True) if x}
