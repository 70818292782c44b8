"""The planners' summary on the overview page: tiers per province, what binds, what data
would decide most villages (the tables of :mod:`despro.rules.explain`, as HTML).

Every text from data (province and regency names, input keys) is HTML-escaped here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from despro import layers as registry
from despro.config.vocab import TIERS
from despro.mapsite.data import escape_text as esc
from despro.mapsite.labels import LABELS, fmt_number
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


def summary_html(villages: pd.DataFrame, lang: str) -> str:
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
    return (
        f"<details class='despro-summary' open><summary><b>{esc(t['planner_summary'])}</b>"
        f"</summary>{_province_rows(prov, lang)}"
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
    texts = ex.village_texts(v, labels, lang, registry.titles(lang))
    return {esc(c): esc(x) for c, x in zip(v["village_code"], texts, strict=True) if x}
