"""The planners' HTML map: an H3 score choropleth and village markers that explain themselves.

Every text that comes from data (village and product names) is HTML-escaped
before it reaches the page. Labels exist in Bahasa Indonesia (default) and English.
"""

from __future__ import annotations

import html
from pathlib import Path

import branca.colormap as cm
import folium
import numpy as np
import pandas as pd

from .outputs import write_atomic_text

TIER_COLOURS = {"ready": "#1a9850", "near-ready": "#fee08b", "undetermined": "#9e9e9e",
                "not ready": "#d73027"}
STATE_COLOURS = {"pass": "#1a9850", "fail": "#d73027", "unknown": "#757575"}
LABELS = {
    "id": {"score": "Skor kesiapan (0-100)", "villages": "Desa menurut tingkat kesiapan",
           "backbone": "Jaringan serat optik (Palapa Ring)", "outlets": "Gerai kurir",
           "criterion": "Kriteria", "value": "Nilai", "threshold": "Ambang", "state": "Status",
           "margin": "Selisih", "source": "Sumber", "rank": "Peringkat", "tier": "Tingkat",
           "product": "Produk unggulan", "pass": "lulus", "fail": "gagal",
           "unknown": "tidak diketahui", "ready": "siap", "near-ready": "hampir siap",
           "undetermined": "belum dapat ditentukan", "not ready": "belum siap",
           "shortlist": "Daftar pendek", "yes": "ya", "no": "tidak"},
    "en": {"score": "Readiness score (0-100)", "villages": "Villages by readiness tier",
           "backbone": "Fibre backbone (Palapa Ring)", "outlets": "Courier outlets",
           "criterion": "Criterion", "value": "Value", "threshold": "Threshold",
           "state": "State", "margin": "Margin", "source": "Source", "rank": "Rank",
           "tier": "Tier", "product": "Flagship product", "pass": "pass", "fail": "fail",
           "unknown": "unknown", "ready": "ready", "near-ready": "near-ready",
           "undetermined": "undetermined", "not ready": "not ready",
           "shortlist": "Shortlist", "yes": "yes", "no": "no"},
}


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "&ndash;"
    return f"{v:,.1f}" if abs(v) < 1e5 else f"{v:,.0f}"


def popup_html(row: pd.Series, rules: pd.DataFrame, lang: str, on_shortlist: bool) -> str:
    """Popup table for one village: each rule's value, threshold, state, margin, source."""
    t = LABELS[lang]
    e = html.escape
    label = "label_id" if lang == "id" else "label_en"
    head = (f"<b>{e(str(row['village_name']))}</b> ({e(str(row['village_code']))})<br>"
            f"{t['tier']}: <b>{e(t[row['tier']])}</b> &middot; {t['rank']}: {int(row['rank'])}"
            f" &middot; {t['shortlist']}: {t['yes'] if on_shortlist else t['no']}<br>")
    prod = row.get("flagship_product")
    if isinstance(prod, str) and prod:
        head += f"{t['product']}: {e(prod)}<br>"
    body = [f"<tr><th>{t['criterion']}</th><th>{t['value']}</th><th>{t['threshold']}</th>"
            f"<th>{t['state']}</th><th>{t['margin']}</th><th>{t['source']}</th></tr>"]
    for r in rules.itertuples():
        colour = STATE_COLOURS[r.state]
        body.append(
            f"<tr><td title='{e(getattr(r, label))}'>{e(r.rule)} {e(getattr(r, label))}</td>"
            f"<td>{_fmt(r.value)}</td><td>{e(r.op)} {_fmt(r.threshold)} {e(r.unit)}</td>"
            f"<td style='color:{colour}'><b>{e(t[r.state])}</b></td>"
            f"<td>{_fmt(r.margin)}</td><td>{e(r.layer)} ({e(str(r.vintage))})</td></tr>")
    return head + "<table class='despro-criteria'>" + "".join(body) + "</table>"


def build_map(result, lang: str = "id") -> folium.Map:
    """A folium map of one run (cells, villages, backbone, outlets)."""
    t = LABELS[lang]
    v = result.villages
    b = v.total_bounds
    m = folium.Map(location=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2], zoom_start=10,
                   tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", show=True).add_to(m)

    cells = result.cells[["h3", "village_score", "geometry"]].copy()
    cells["village_score"] = cells["village_score"].round(1)
    cmap = cm.LinearColormap(["#d73027", "#fee08b", "#1a9850"], vmin=0, vmax=100,
                             caption=t["score"])
    folium.GeoJson(
        cells.to_json(drop_id=True), name=t["score"],
        style_function=lambda f: {
            "fillColor": "#bdbdbd" if f["properties"]["village_score"] is None
            else cmap(f["properties"]["village_score"]),
            "color": "none", "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(["h3", "village_score"]),
    ).add_to(m)
    cmap.add_to(m)

    rules = {r.id: r for r in result.config.criteria.rules}
    crit = result.criteria.assign(
        label_id=lambda d: d["rule"].map(lambda i: rules[i].label_id),
        label_en=lambda d: d["rule"].map(lambda i: rules[i].label_en))
    by_village = dict(list(crit.groupby("village_code")))
    shortlisted = set(result.shortlist()["village_code"])
    group = folium.FeatureGroup(name=t["villages"], show=True)
    pts = v.geometry.representative_point()
    for (code, row), pt in zip(v.iterrows(), pts, strict=True):
        folium.CircleMarker(
            location=[pt.y, pt.x], radius=6 if code in shortlisted else 4,
            color="#000000" if code in shortlisted else TIER_COLOURS[row["tier"]],
            weight=2 if code in shortlisted else 1, fill=True,
            fill_color=TIER_COLOURS[row["tier"]], fill_opacity=0.9,
            popup=folium.Popup(popup_html(row, by_village[code], lang, code in shortlisted),
                               max_width=650),
            tooltip=html.escape(str(row["village_name"])),
        ).add_to(group)
    group.add_to(m)

    feats = {}
    for r in result.layers.values():
        feats.update(r.features)
    if "backbone_routes" in feats:
        routes = feats["backbone_routes"][["geometry"]]
        folium.GeoJson(routes.to_json(drop_id=True), name=t["backbone"],
                       style_function=lambda f: {"color": "#6a3d9a", "weight": 3}).add_to(m)
    if "courier_outlets" in feats:
        og = folium.FeatureGroup(name=t["outlets"], show=False)
        for p in feats["courier_outlets"].itertuples():
            folium.CircleMarker([p.geometry.y, p.geometry.x], radius=2, color="#1f78b4",
                                tooltip=html.escape(str(p.operator))).add_to(og)
        og.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    legend = "".join(f"<div><span style='background:{c};display:inline-block;width:12px;"
                     f"height:12px'></span> {html.escape(t[k])}</div>"
                     for k, c in TIER_COLOURS.items())
    m.get_root().html.add_child(folium.Element(
        "<div style='position:fixed;bottom:30px;left:10px;z-index:9999;background:white;"
        f"padding:6px;font:12px sans-serif'><b>{html.escape(t['tier'])}</b>{legend}</div>"))
    return m


def write_map(result, maps_dir: Path, lang: str = "id") -> Path:
    """Write ``maps_dir/index.html`` atomically and return its path."""
    path = Path(maps_dir) / "index.html"
    write_atomic_text(path, build_map(result, lang).get_root().render())
    return path
