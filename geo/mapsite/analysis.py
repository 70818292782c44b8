"""Pilot-analysis layers of the map site: chosen pilots, clusters, Agen Despro, imputed values.

``despro select`` computes a :class:`~despro.select.pilots.PilotPlan`;
:func:`from_plan` keeps what the maps draw (:class:`MapAnalysis`) and
:func:`despro.mapsite.site.write_site` adds, per page:

- **pilots** (:mod:`despro.select.problem`): the optimised picks, numbered in pick order; the
  popup gives score, how robust the pick is to the score weights (share of Monte Carlo
  weight draws that pick it), its marginal value and replacement, the binding constraint,
  its agent and cluster, and whether it was fixed (a running pilot) or picked on imputed
  values;
- **clusters** (DBSCAN, :mod:`despro.select.clusters`): the convex hull of each cluster's
  villages, coloured by flagship category; its popup gives id, category, size,
  products and villages;
- **agents** (:mod:`despro.select.agents`): a marker per agent with its coverage radius;
  its popup lists the villages it covers;
- **imputed values** (:mod:`despro.select.impute`), only when the selection used them
  (``selection.use_imputed``): per village, the rules an imputed value would decide,
  with that value and state. The run's own state stays as it was (``unknown``): an
  imputed pass is shown as imputed, never as a pass.

Popups are assembled here with every text from data HTML-escaped (``mapsite.data.escape_text``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.colors import to_hex

from despro.config.vocab import UNDETERMINED, UNKNOWN
from despro.mapsite import data as md
from despro.mapsite.data import escape_text as esc
from despro.mapsite.labels import LABELS, value_text
from despro.numbertext import fmt_number

if TYPE_CHECKING:
    import geopandas as gpd

    from despro.pipeline.runner import Result
    from despro.select.pilots import PilotPlan

NO_IMPUTATION = pd.DataFrame(columns=["imputed_rules", "tier_imputed"])


@dataclass
class MapAnalysis:
    """What the map draws of a pilot plan.

    Attributes
    ----------
    clusters, members : DataFrame
        ``PilotPlan.clusters`` / ``cluster_members``.
    agents : DataFrame
        ``AgentPlan.agents`` (``agent_id, site_type, site_code, site_name, lon, lat,
        n_covered, villages_covered``).
    radius_km : float
        Agent coverage radius (km).
    imputed : DataFrame
        Per village ``imputed_rules`` (``I2b=pass;...``) and ``tier_imputed``; empty when
        the selection did not use imputed values.
    values : DataFrame
        Imputed indicator values by variable (``Imputation.values``).
    pilots : DataFrame
        ``PilotPlan.shortlist``: the optimised picks (``village_code, pick, score,
        weight_share, robust, marginal_value, replaced_by, binding, agent_id,
        agent_distance_km, cluster_id, fixed, imputed``...); empty: no pilots layer.
    """

    clusters: pd.DataFrame
    members: pd.DataFrame
    agents: pd.DataFrame
    radius_km: float
    imputed: pd.DataFrame
    values: pd.DataFrame
    pilots: pd.DataFrame = field(default_factory=pd.DataFrame)


def from_plan(plan: PilotPlan) -> MapAnalysis:
    """The map layers of a :class:`~despro.select.pilots.PilotPlan`."""
    used = bool(plan.sel.use_imputed)
    imputed = plan.imputed[plan.imputed["imputed"]] if used else NO_IMPUTATION
    return MapAnalysis(
        plan.clusters,
        plan.cluster_members,
        plan.agents.agents,
        float(plan.agents.radius_km),
        imputed,
        plan.imputation.values,
        plan.shortlist,
    )


def _names(villages, codes: list[str]) -> str:
    known = [c for c in codes if c in villages.index]
    names = villages["village_name"].reindex(known).astype(str)
    return ", ".join(f"{esc(n)} ({esc(c)})" for c, n in zip(known, names, strict=True))


def category_colours(analysis: MapAnalysis) -> dict[str, str]:
    """A colour per flagship category of the clusters (alphabetical, tab10)."""
    cats = (
        sorted(analysis.clusters["category"].astype(str).unique()) if len(analysis.clusters) else []
    )
    cmap = colormaps["tab10"]
    return {c: to_hex(cmap(i % 10)) for i, c in enumerate(cats)}


def legends(analysis: MapAnalysis, lang: str) -> dict[str, str]:
    """Escaped legend HTML of the cluster and agent layers."""
    t = LABELS[lang]
    rows = "".join(
        f"<div><i style='background:{c}'></i>{esc(k)}</div>"
        for k, c in category_colours(analysis).items()
    )
    radius = esc(fmt_number(analysis.radius_km, lang))
    return {
        "pilots": f"<b>{esc(t['pilots'])}</b><div><i class='despro-pilot-key'>1</i>"
        f"{esc(t['pick_order'])}</div>",
        "clusters": f"<b>{esc(t['clusters'])}</b>{rows}",
        "agents": f"<b>{esc(t['agents'])}</b><div><i style='background:#e6550d;"
        f"border-radius:50%'></i>{esc(t['radius'])} {radius} km</div>",
    }


def clusters_payload(
    result: Result, analysis: MapAnalysis, scope: gpd.GeoDataFrame, lang: str
) -> list[list]:
    """Clusters with a member in ``scope``: [encoded hull, colour, escaped popup HTML]."""
    t = LABELS[lang]
    v = result.villages
    colour = category_colours(analysis)
    out = []
    for _, c in analysis.clusters.iterrows():
        codes = str(c["village_codes"]).split(";")
        if not scope.index.isin(codes).any():
            continue
        geoms = v.geometry.reindex([x for x in codes if x in v.index]).to_numpy()
        hull = shapely.convex_hull(shapely.union_all(geoms))
        popup = (
            f"<b>{esc(t['cluster'])} {esc(c['cluster_id'])}</b><br>"
            f"{esc(t['category'])}: {esc(c['category'])} &middot; "
            f"{int(c['n_villages'])} {esc(t['villages_n'])} &middot; "
            f"{esc(t['span'])}: {esc(fmt_number(float(c['span_km']), lang))} km<br>"
            f"{esc(t['products'])}: {esc(str(c['products']).replace(';', ', '))}<br>"
            f"<small>{_names(v, codes)}</small>"
        )
        for ring in md.encode_geometries([hull]):
            out.append([ring, colour[str(c["category"])], popup])
    return out


def agents_payload(
    result: Result, analysis: MapAnalysis, scope: gpd.GeoDataFrame, lang: str
) -> list[list]:
    """Agents covering a village of ``scope`` or sitting in it:
    [lat, lon, radius in metres, escaped popup HTML]."""
    t = LABELS[lang]
    v = result.villages
    out = []
    for _, a in analysis.agents.iterrows():
        covered = [c for c in str(a["villages_covered"]).split(";") if c]
        if not (scope.index.isin(covered).any() or str(a["site_code"]) in scope.index):
            continue
        site = (
            f"{esc(a['site_name'])} ({esc(a['site_code'])})"
            if a["site_name"]
            else f"{esc(a['site_type'])} {esc(a['site_code'])}"
        )
        popup = (
            f"<b>{esc(t['agent'])} {esc(a['agent_id'])}</b><br>"
            f"{esc(t['agent_site'])}: {site} &middot; {esc(t['radius'])}: "
            f"{esc(fmt_number(analysis.radius_km, lang))} km<br>"
            f"{esc(t['covers'])} {len(covered)} {esc(t['villages_n'])}: "
            f"<small>{_names(v, covered)}</small>"
        )
        out.append(
            [
                round(float(a["lat"]), 5),
                round(float(a["lon"]), 5),
                round(analysis.radius_km * 1000),
                popup,
            ]
        )
    return out


def _known(x) -> bool:
    return x is not None and not (isinstance(x, float) and np.isnan(x)) and str(x) != ""


def pilots_payload(
    result: Result, analysis: MapAnalysis, scope: gpd.GeoDataFrame, lang: str
) -> list[list]:
    """Picks in ``scope``, in pick order: [lat, lon, pick number, escaped popup HTML]."""
    t = LABELS[lang]
    v = result.villages
    picks = analysis.pilots
    if not len(picks):
        return []
    picks = picks[picks["village_code"].isin(scope.index)].sort_values("pick")
    pts = v.geometry.reindex(picks["village_code"]).representative_point()
    out = []
    for (_, p), pt in zip(picks.iterrows(), pts, strict=True):
        code = str(p["village_code"])
        share = fmt_number(100 * float(p["weight_share"]), lang, 0) + " %"
        lines = [
            f"<b>{esc(t['pilot'])} {int(p['pick'])}</b>: "
            f"<b class='despro-name'>{esc(v.loc[code, 'village_name'])}</b> ({esc(code)})",
            f"{esc(t['tier'])}: {esc(t[str(p['tier'])])} &middot; {esc(t['pilot_score'])}: "
            f"{esc(fmt_number(float(p['score']), lang))}",
        ]
        if _known(p.get("flagship_product")):
            lines.append(f"{esc(t['product'])}: {esc(p['flagship_product'])}")
        robust = t["robust_yes"] if bool(p["robust"]) else t["robust_no"]
        lines.append(esc(t["robust_share"].replace("%s", share)) + f" ({esc(robust)})")
        if _known(p.get("marginal_value")):
            text = (
                f"{esc(t['marginal'])}: {esc(fmt_number(float(p['marginal_value']), lang))}"
                f" {esc(t['points'])}"
            )
            if _known(p.get("replaced_by")):
                rep = str(p["replaced_by"])
                name = v["village_name"].get(rep)
                text += f" &middot; {esc(t['replaced_by'])}: " + (
                    f"{esc(name)} ({esc(rep)})" if name is not None else esc(rep)
                )
            lines.append(text)
        if _known(p.get("binding")):
            lines.append(f"{esc(t['binding'])}: {esc(p['binding'])}")
        extra = []
        if _known(p.get("agent_id")):
            extra.append(
                f"{esc(t['agent'])} {esc(p['agent_id'])}"
                + (
                    f" ({esc(fmt_number(float(p['agent_distance_km']), lang))} km)"
                    if _known(p.get("agent_distance_km"))
                    else ""
                )
            )
        if _known(p.get("cluster_id")):
            extra.append(f"{esc(t['cluster'])} {esc(p['cluster_id'])}")
        if extra:
            lines.append(" &middot; ".join(extra))
        flags = ([t["fixed"]] if bool(p["fixed"]) else []) + (
            [t["imputed_pick"]] if bool(p["imputed"]) else []
        )
        if flags:
            lines.append("<i>" + esc(", ".join(flags)) + "</i>")
        out.append([round(pt.y, 5), round(pt.x, 5), int(p["pick"]), "<br>".join(lines)])
    return out


def imputed_records(result: Result, analysis: MapAnalysis | None, lang: str) -> dict[str, list]:
    """Per village with an imputed decision: [tier index with imputation,
    [[rule index, escaped imputed value text, state letter], ...]]."""
    if analysis is None or not len(analysis.imputed):
        return {}
    rules = {r.id: (j, r) for j, r in enumerate(result.config.criteria.rules)}
    tiers = {k: i for i, k in enumerate(md.TIERS)}
    out = {}
    for code, row in analysis.imputed.iterrows():
        decided = []
        for part in str(row["imputed_rules"]).split(";"):
            rid, _, state = part.partition("=")
            if rid not in rules:
                continue
            j, rule = rules[rid]
            value = (
                analysis.values[rule.variable].get(code, np.nan)
                if rule.variable in analysis.values
                else np.nan
            )
            decided.append(
                [
                    j,
                    esc(value_text(float(value), rule.unit, lang)),
                    (state or UNKNOWN)[0],
                ]
            )
        if decided:
            out[code] = [tiers.get(row["tier_imputed"], tiers[UNDETERMINED]), decided]
    return out
