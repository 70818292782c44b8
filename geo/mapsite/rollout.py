"""The rollout plan on the national map (issue 21): the payload key ``rollout`` of ``site.js``.

:func:`rollout_payload` turns a :class:`despro.rollout.waves.Plan` into what
``lib/despro/despro-gl-plan.js`` draws:

- ``items``: the planned sites, outlets and programmes as points (``[lon, lat, kind,
  popup]``), coloured by kind, each with a popup (item id, village, wave, cost, fibre
  spur, villages it alone makes ready);
- ``ready``: per village code, the line its popup gets: "siap di gelombang k berkat ..." /
  "ready in wave k thanks to ..." (the items that act on it);
- ``panel``: the plan's summary, the cost curve as a chart (inline SVG) and a table, for
  the side panel of the index page.

Every text from data (village names, item ids) is HTML-escaped here; numbers are
formatted with the page language's separators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from despro.mapsite.data import escape_text as esc
from despro.numbertext import fmt_number
from despro.rollout.notes import note_text

if TYPE_CHECKING:
    from despro.rollout.waves import Plan

#: kind -> colour of its marker's ring (white inside: never mistaken for a tier marker)
KIND_COLOURS = {"site": "#6a3d9a", "outlet": "#e7298a", "programme": "#1b9e77"}

WORDS = {
    "id": {
        "title": "Rencana investasi",
        "layer": "Lokasi rencana (menara, gerai, program)",
        "site": "Menara 4G baru",
        "outlet": "Gerai kurir / Agen Despro",
        "programme": "Program perangkat & konektivitas",
        "ready": "siap di gelombang %k berkat %t",
        "wave": "Gelombang",
        "cost": "Biaya (juta Rp)",
        "spur": "Serat optik ke backbone (km)",
        "marginal": "Desa yang siap karena item ini saja",
        "village": "Desa",
        "budget": "Anggaran (miliar Rp)",
        "newly": "Desa baru siap",
        "used": "Terpakai (miliar Rp)",
        "gap": "Gap",
        "curve": "Kurva biaya: desa baru siap menurut anggaran",
        "summary": "%n desa baru siap untuk Rp %c miliar dari %b miliar (%i item; gap %g)",
        "none": "Rencana ini tidak membuat desa baru siap.",
    },
    "en": {
        "title": "Investment plan",
        "layer": "Planned sites, outlets and programmes",
        "site": "New 4G site",
        "outlet": "Courier outlet / Agen Despro",
        "programme": "Device & connectivity programme",
        "ready": "ready in wave %k thanks to %t",
        "wave": "Wave",
        "cost": "Cost (million Rp)",
        "spur": "Fibre spur to the backbone (km)",
        "marginal": "Villages ready thanks to this item alone",
        "village": "Village",
        "budget": "Budget (billion Rp)",
        "newly": "Villages newly ready",
        "used": "Spent (billion Rp)",
        "gap": "Gap",
        "curve": "Cost curve: villages newly ready by budget",
        "summary": "%n villages newly ready for Rp %c bn of %b bn (%i items; gap %g)",
        "none": "This plan makes no village newly ready.",
    },
}


def _gap_text(gap: float, lang: str) -> str:
    return "–" if gap != gap else f"{fmt_number(100.0 * gap, lang, 1)} %"


def _item_popup(row: pd.Series, w: dict[str, str], lang: str) -> str:
    kind = str(row["kind"])
    lines = [
        f"<b>{esc(w.get(kind, kind))}</b> <code>{esc(row['item_id'])}</code>",
        f"{esc(w['village'])}: {esc(row.get('village_name', ''))} ({esc(row['village_code'])})",
        f"{esc(w['wave'])}: {int(row['wave'])}",
        f"{esc(w['cost'])}: {fmt_number(float(row['cost']), lang, 0)}",
    ]
    if kind == "site" and float(row.get("spur_km", 0) or 0) > 0:
        lines.append(f"{esc(w['spur'])}: {fmt_number(float(row['spur_km']), lang, 1)}")
    if "marginal_villages" in row and row["marginal_villages"] == row["marginal_villages"]:
        lines.append(f"{esc(w['marginal'])}: {int(row['marginal_villages'])}")
    return "<div class='dg-popup'>" + "<br>".join(lines) + "</div>"


def _thanks(ids: str, kinds: dict[str, str], w: dict[str, str]) -> str:
    parts = []
    for iid in filter(None, str(ids).split(";")):
        kind = kinds.get(iid, iid.split(":", 1)[0])
        parts.append(f"{esc(w.get(kind, kind))} <code>{esc(iid)}</code>")
    return ", ".join(parts)


def curve_svg(curve: pd.DataFrame, budget: float | None, lang: str) -> str:
    """The cost curve (villages newly ready against budget) as an inline SVG step chart."""
    w = WORDS[lang]
    width, height, pad_l, pad_b, pad_t, pad_r = 300, 170, 40, 30, 10, 10
    x = curve["budget"].to_numpy(float) / 1000.0
    y = curve["newly_ready"].to_numpy(float)
    xmax = max(float(x.max()) if len(x) else 1.0, (budget or 0) / 1000.0, 1e-9)
    ymax = max(float(y.max()) if len(y) else 1.0, 1.0)

    def px(v: float) -> float:
        return pad_l + (width - pad_l - pad_r) * v / xmax

    def py(v: float) -> float:
        return height - pad_b - (height - pad_b - pad_t) * v / ymax

    pts = []
    for k in range(len(x)):
        if k:
            pts.append(f"{px(x[k]):.1f},{py(y[k - 1]):.1f}")
        pts.append(f"{px(x[k]):.1f},{py(y[k]):.1f}")
    dots = "".join(
        f"<circle cx='{px(a):.1f}' cy='{py(b):.1f}' r='2.5'/>" for a, b in zip(x, y, strict=True)
    )
    mark = ""
    if budget:
        bx = px(budget / 1000.0)
        mark = (
            f"<line x1='{bx:.1f}' y1='{pad_t}' x2='{bx:.1f}' y2='{height - pad_b}' "
            "stroke='#d7301f' stroke-dasharray='4 3'/>"
        )
    return (
        f"<svg class='dg-curve' viewBox='0 0 {width} {height}' width='100%' role='img' "
        f"aria-label='{esc(w['curve'])}'>"
        f"<line x1='{pad_l}' y1='{height - pad_b}' x2='{width - pad_r}' y2='{height - pad_b}' "
        "stroke='#555'/>"
        f"<line x1='{pad_l}' y1='{pad_t}' x2='{pad_l}' y2='{height - pad_b}' stroke='#555'/>"
        f"<text x='{pad_l - 4}' y='{pad_t + 8}' text-anchor='end' font-size='9'>"
        f"{fmt_number(ymax, lang, 0)}</text>"
        f"<text x='{pad_l - 4}' y='{height - pad_b}' text-anchor='end' font-size='9'>0</text>"
        f"<text x='{width - pad_r}' y='{height - pad_b + 12}' text-anchor='end' font-size='9'>"
        f"{fmt_number(xmax, lang, 0)}</text>"
        f"<text x='{(width + pad_l) / 2}' y='{height - 4}' text-anchor='middle' font-size='9'>"
        f"{esc(w['budget'])}</text>"
        f"{mark}<polyline fill='none' stroke='#1f78b4' stroke-width='2' "
        f"points='{' '.join(pts)}'/><g fill='#1f78b4'>{dots}</g></svg>"
    )


def panel_html(plan: Plan, lang: str) -> str:
    """The plan's summary, the cost curve chart and its table (side panel)."""
    w = WORDS[lang]
    s = plan.summary
    if s.get("newly_ready", 0):
        head = (
            w["summary"]
            .replace("%n", fmt_number(s["newly_ready"], lang, 0))
            .replace("%c", fmt_number(s["cost"] / 1000.0, lang, 1))
            .replace("%b", fmt_number(s["budget"] / 1000.0, lang, 1))
            .replace("%i", fmt_number(s["items"], lang, 0))
            .replace("%g", _gap_text(float(s["gap"]), lang))
        )
    else:
        head = w["none"]
    notes = "".join(f"<li>{esc(note_text(n, lang))}</li>" for n in plan.notes)
    out = f"<div class='dg-note' id='dg-rollout-summary'>{esc(head)}</div>"
    if notes:
        out += f"<ul class='dg-note'>{notes}</ul>"
    legend = "".join(
        f"<div><span class='dg-ring' style='border-color:{c}'></span> {esc(w[k])}</div>"
        for k, c in KIND_COLOURS.items()
    )
    out += f"<div class='dg-rollout-legend'>{legend}</div>"
    c = plan.curve
    if len(c):
        rows = "".join(
            "<tr>"
            f"<td class='dg-n'>{fmt_number(r.budget / 1000.0, lang, 1)}</td>"
            f"<td class='dg-n'>{fmt_number(r.newly_ready, lang, 0)}</td>"
            f"<td class='dg-n'>{fmt_number(r.cost_used / 1000.0, lang, 1)}</td>"
            f"<td class='dg-n'>{_gap_text(float(r.gap), lang)}</td></tr>"
            for r in c.itertuples()
        )
        out += (
            f"<h2>{esc(w['curve'])}</h2>{curve_svg(c, s.get('budget'), lang)}"
            "<table class='dg-counts' id='dg-curve-table'><tr>"
            f"<th>{esc(w['budget'])}</th><th>{esc(w['newly'])}</th><th>{esc(w['used'])}</th>"
            f"<th>{esc(w['gap'])}</th></tr>{rows}</table>"
        )
    return out


def rollout_payload(plan: Plan, lang: str) -> dict:
    """The ``rollout`` key of the national map's ``site.js`` (module docstring).

    Parameters
    ----------
    plan : Plan
        From :func:`despro.plan`.
    lang : {'id', 'en'}

    Returns
    -------
    dict
        ``items``, ``kinds``, ``ready``, ``panel``, ``words`` (every text escaped).
    """
    w = WORDS[lang]
    kinds = list(KIND_COLOURS)
    items = plan.items
    out_items = [
        [
            round(float(r["lon"]), 5),
            round(float(r["lat"]), 5),
            kinds.index(r["kind"]) if r["kind"] in kinds else 0,
            _item_popup(r, w, lang),
        ]
        for _, r in items.iterrows()
        if np.isfinite(r["lon"]) and np.isfinite(r["lat"])
    ]
    kind_of = dict(zip(plan.problem.items["item_id"], plan.problem.items["kind"], strict=True))
    v = plan.villages
    ready = {}
    new = v[v["ready_wave"].fillna(0) > 0]
    for code, wave, thanks in zip(new.index, new["ready_wave"], new["thanks_to"], strict=True):
        ready[esc(code)] = (
            esc(w["ready"]).replace("%k", str(int(wave))).replace("%t", _thanks(thanks, kind_of, w))
        )
    return {
        "items": out_items,
        "kinds": [[esc(w[k]), c] for k, c in KIND_COLOURS.items()],
        "ready": ready,
        "panel": panel_html(plan, lang),
        "words": {"title": esc(w["title"]), "layer": esc(w["layer"])},
    }
