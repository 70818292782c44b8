"""The planners' map site: an overview page and one page per province, readable offline.

``write_site(result, maps_dir, lang)`` writes into ``maps_dir``:

- ``index.html``: national overview; cells rolled up to a coarse H3 resolution (at most
  :data:`OVERVIEW_MAX_CELLS` cells), links to the province pages;
- ``province-<code>.html``: one page per province at the run's resolution;
- ``<page>_summary.png``: a static summary figure per page (pass rate per criterion,
  tier counts);
- ``lib/``: Leaflet, Leaflet.markercluster and despro's own JS/CSS, copied from installed
  packages (:mod:`despro.geo.mapassets`): pages load nothing from the internet. The
  OpenStreetMap basemap is optional (off by default; it shows nothing offline).

Each page has village markers coloured by tier whose popup explains every criterion
(value, threshold, state, margin, source layer and vintage, rank, shortlist), one toggle
per cell variable with its legend, the backbone routes and nodes, clustered courier
outlets, the shortlist, a village search box and a footer with the run's vintages and
thresholds. Labels are in Bahasa Indonesia (``id``, default) or English (``en``).

Size budget: every HTML page must stay at or under ``budget_mb`` (default
:data:`DEFAULT_BUDGET_MB` = 15 MB, counted in bytes of the HTML file; ``lib/`` and the PNG
are shared and not counted). A page over budget is rebuilt with its cells rolled up one H3
resolution coarser (additive columns summed, then finished once: never averaged
percentages), until it fits; a page that does not fit even at resolution
:data:`MIN_RES` is an error. The overview carries only ready, near-ready and shortlisted
villages once there are more than :data:`OVERVIEW_MAX_VILLAGES` villages.

Every text from data (village, product, operator and route names, units, sources) is
HTML-escaped in :mod:`despro.geo.mapdata` before it reaches a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import folium
import numpy as np
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from . import mapdata as md
from .errors import DesproError
from .mapassets import OfflineMap, copy_assets
from .mapfigures import write_summary_png
from .maplabels import LABELS, LANGS, fmt_number, threshold_text
from .outputs import write_atomic_text

DEFAULT_BUDGET_MB = 15.0
OVERVIEW_MAX_CELLS = 20_000
OVERVIEW_MAX_VILLAGES = 5_000
MIN_RES = 3
H3_RES0_EDGE_KM = 1281.256  # mean hexagon edge at resolution 0; /sqrt(7) per resolution


@dataclass
class Page:
    """One HTML page: which villages and cells it shows, at which resolution at most."""

    slug: str
    title: str
    villages: object  # GeoDataFrame indexed by village code
    cell_mask: np.ndarray
    max_res: int
    note: str = ""
    province: object = None  # province code; None for the overview


@dataclass
class PageInfo:
    """What was written for one page."""

    slug: str
    path: Path
    png: Path
    size_bytes: int
    res: int
    n_cells: int
    n_villages: int


@dataclass
class Site:
    """The written site: its pages and the budget they were held to."""

    maps_dir: Path
    budget_bytes: int
    pages: list[PageInfo] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.pages[0].path


class JsLayer(Layer):
    """A Leaflet layer made by ``despro.js``; listed in the layer control by ``name``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = {{ this.call }};
        {% endmacro %}
        """)

    def __init__(self, call: str, name: str, overlay: bool = True, show: bool = False):
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self._name = "JsLayer"
        self.call = call


class RawScript(Element):
    """JavaScript added to the page's script as is: never parsed as a template (the
    data object can be tens of MB, and no data text must ever act as template syntax)."""

    def __init__(self, code: str):
        super().__init__()
        self._name = "RawScript"
        self.code = code

    def render(self, **kwargs) -> str:
        return self.code


class PageScript(MacroElement):
    """JavaScript of ours run after the map's own (e.g. the finishing call)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            {{ this.code }}
        {% endmacro %}
        """)

    def __init__(self, code: str):
        super().__init__()
        self._name = "PageScript"
        self.code = code


# --- pages -----------------------------------------------------------------------------

def _slug(code: object) -> str:
    return "province-" + re.sub(r"[^0-9A-Za-z_-]", "_", str(code))


def overview_res(ids: np.ndarray, res: int) -> int:
    """Finest resolution below ``res`` with at most :data:`OVERVIEW_MAX_CELLS` cells."""
    r = max(res - 1, 0)
    while r > 0 and md.n_parents(ids, r) > OVERVIEW_MAX_CELLS:
        r -= 1
    return r


def plan_pages(result, lang: str) -> list[Page]:
    """The overview page, then one page per province (sorted by code)."""
    t = LABELS[lang]
    v = result.villages
    ids = result.cells["h3_int"].to_numpy(dtype=np.uint64)
    res = result.config.run.resolution
    over = v
    note = ""
    if len(v) > OVERVIEW_MAX_VILLAGES:
        keep = v["tier"].isin(["ready", "near-ready"]) | v.index.isin(
            result.shortlist()["village_code"])
        over, note = v[keep], t["overview_villages"]
    pages = [Page("index", t["overview"], over, np.ones(len(ids), bool),
                  overview_res(ids, res), note)]
    area = result.study.area.tocsr()
    rows = {code: i for i, code in enumerate(result.study.village_index)}
    for code, sub in v.groupby("province_code", sort=True):
        touched = area[[rows[c] for c in sub.index]].getnnz(axis=0) > 0
        pages.append(Page(_slug(code), f"{t['province']} {code}", sub, touched, res,
                          province=code))
    return pages


def _nav_html(result, page: Page, pages: list[Page], res: int, lang: str) -> str:
    t = LABELS[lang]
    e = md.e
    others = pages[1:] if page is pages[0] else pages[:1]
    links = [f"<a href='{e(p.slug)}.html'>{e(p.title)}</a>" for p in others]
    cells = f"{t['cells_at']} {res}"
    if res != result.config.run.resolution:
        cells += f" ({t['rolled_up']} {result.config.run.resolution})"
    parts = [f"<h1>{e(t['title'])}</h1><b>{e(page.title)}</b> &middot; {e(cells)}"]
    if page.note:
        parts.append(f"<br><small>{e(page.note)}</small>")
    if page is pages[0] and links:
        parts.append(f"<br>{e(t['provinces'])}: " + " ".join(links))
    elif links:
        parts.append(f"<br>&larr; {links[0]}")
    return "".join(parts)


def vintages(result) -> dict[str, str]:
    """Data vintages per layer (as declared by the layers' variables)."""
    return {name: ", ".join(sorted({v.vintage for v in r.variables}))
            for name, r in result.layers.items()}


def _footer_html(result, page: Page, png_name: str, lang: str,
                 links: dict[str, str] | None = None) -> str:
    t = LABELS[lang]
    e = md.e
    cfg = result.config
    rules = "; ".join(f"{r.id} {threshold_text(r.op, r.threshold, r.unit, lang)}"
                      for r in cfg.criteria.rules)
    near = fmt_number(100 * cfg.criteria.near_ready_fraction, lang, 0)
    rows = [(t["vintages"], "; ".join(f"{k}: {v}" for k, v in vintages(result).items())),
            (t["thresholds"], f"{rules}; {t['near-ready']}: {near} %"),
            (t["weights"], result.study.weighting)]
    table = "".join(f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>" for k, v in rows)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"{e(t['run'])}: {e(cfg.run.name)} &middot; {e(t['generated'])} {e(stamp)} "
            f"&middot; {len(page.villages):,} {e(t['villages_n'])}")
    extra = "".join(f"<div><a href='{e(href)}'>{e(t.get(label, label))}</a></div>"
                    for label, href in (links or {}).items())
    return (f"<details><summary>{head}</summary><table>{table}</table>{extra}"
            f"<b>{e(t['summary'])}</b><img src='{e(png_name)}' alt='{e(t['summary'])}'>"
            "</details>")


def _tier_legend(lang: str) -> str:
    t = LABELS[lang]
    rows = "".join(f"<div><i style='background:{c}'></i>{md.e(t[k])}</div>"
                   for k, c in md.TIER_COLOURS.items())
    return f"<b>{md.e(t['villages'])}</b>{rows}"


def static_payload(result, page: Page, records: dict[str, list], outlines: dict,
                   lang: str) -> dict:
    """Everything of a page that does not depend on its cell resolution."""
    t = LABELS[lang]
    if page.province is None:
        shapes = outlines["province"]
    else:
        reg = outlines["regency"]
        shapes = reg[reg["province_code"] == page.province]
    b = page.villages.total_bounds if len(page.villages) else result.villages.total_bounds
    pad = 0.05
    bounds = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    feats = md.features(result)
    keys = ("tier", "rank", "shortlist", "yes", "no", "product", "criterion", "value",
            "threshold", "state", "margin", "source", "search", "no_match", "unknown",
            "backbone_routes")
    return {
        "lang": lang,
        "labels": {k: md.e(t[k]) for k in keys},
        "tiers": [{"label": md.e(t[k]), "colour": md.TIER_COLOURS[k]} for k in md.TIERS],
        "states": {s[0]: {"label": md.e(t[s]), "colour": md.STATE_COLOURS[s]}
                   for s in md.STATES},
        "tierLegend": _tier_legend(lang),
        "rules": md.rules_payload(result, lang),
        "villages": [records[code] for code in page.villages.index],
        "choropleths": [md.choropleth_spec(c, result.config.criteria.rules, lang)
                        for c in md.CHOROPLETHS],
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "outlines": md.outlines_payload(shapes),
        "_bbox": bounds,
        "_features": feats,
    }


def page_payload(result, page: Page, static: dict, add, variables, res: int,
                 nav: str, footer: str) -> dict:
    """The page's full data object at cell resolution ``res``."""
    ids = result.cells["h3_int"].to_numpy(dtype=np.uint64)[page.cell_mask]
    table = md.page_cells(add[page.cell_mask], ids, variables, res)
    specs = [s for s in static["choropleths"] if s["column"] in table]
    tolerance = H3_RES0_EDGE_KM / 7 ** (res / 2) / 111.0 / 4
    feats, bbox = static["_features"], static["_bbox"]
    data = {k: v for k, v in static.items() if not k.startswith("_")}
    data.update({
        "choropleths": specs, "cells": md.cells_payload(table, specs), "nav": nav,
        "footer": footer,
        "routes": md.routes_payload(feats["backbone_routes"], bbox, tolerance)
        if "backbone_routes" in feats else [],
        "nodes": md.points_payload(feats["backbone_nodes"], bbox, "name")
        if "backbone_nodes" in feats else None,
        "outlets": md.points_payload(feats["courier_outlets"], bbox, "operator")
        if "courier_outlets" in feats else None,
    })
    return data


def build_page(data: dict, lang: str) -> folium.Map:
    """The folium map of one page's data object (layers made by ``despro.js``)."""
    t = LABELS[lang]
    (s, w), (n, e) = data["bounds"]
    m = OfflineMap(location=[(s + n) / 2, (w + e) / 2], zoom_start=9, tiles=None,
                   control_scale=True, maxZoom=18, minZoom=3)
    m.get_root().script.add_child(RawScript(f"var despro_data = {md.script_json(data)};"))
    folium.TileLayer("OpenStreetMap", name=md.e(t["osm"]), show=False).add_to(m)
    JsLayer("L.layerGroup()", md.e(t["no_basemap"]), overlay=False, show=True).add_to(m)
    JsLayer("despro.outlinesLayer(despro_data)", md.e(t["outlines"]), show=True).add_to(m)
    for i, spec in enumerate(data["choropleths"]):
        JsLayer(f"despro.cellLayer(despro_data, {i})", spec["label"], show=spec["show"]).add_to(m)
    for maker, key, present, show in (
            ("routesLayer(despro_data)", "backbone_routes", data["routes"], True),
            ("nodesLayer(despro_data)", "backbone_nodes", data["nodes"], True),
            ("outletsLayer(despro_data)", "outlets", data["outlets"], False),
            ("villageLayer(despro_data, false)", "villages", True, True),
            ("villageLayer(despro_data, true)", "shortlist", True, True)):
        if present:
            JsLayer(f"despro.{maker}", md.e(t[key]), show=show).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    PageScript(f"despro.finish({m.get_name()}, despro_data);").add_to(m)
    m.get_root().title = md.e(f"{t['title']} \u00b7 {data['pageTitle']}")
    return m


def render_page(data: dict, lang: str) -> str:
    """The HTML text of one page."""
    return build_page(data, lang).get_root().render()


def coarser_res(ids: np.ndarray, res: int, floor: int, size: int, cell_bytes: int,
                n_cells: int, budget_bytes: int) -> int:
    """The finest resolution below ``res`` predicted to fit the budget (never below ``floor``).

    The prediction scales the bytes of the cells with their number at each resolution;
    the rest of the page (villages, lines, controls) does not change.
    """
    other, per_cell = size - cell_bytes, cell_bytes / max(n_cells, 1)
    for r in range(res - 1, floor, -1):
        if other + per_cell * md.n_parents(ids, r) <= 0.97 * budget_bytes:
            return r
    return floor


def fit_page(result, page: Page, pages: list[Page], records: dict[str, list], outlines: dict,
             lang: str, budget_bytes: int, add, variables,
             links: dict[str, str] | None = None) -> tuple[str, int, int]:
    """Render ``page`` at the finest resolution whose HTML fits the budget.

    Returns the HTML, the resolution used and the number of cells shown.
    """
    static = static_payload(result, page, records, outlines, lang)
    static["pageTitle"] = page.title
    footer = _footer_html(result, page, f"{page.slug}_summary.png", lang, links)
    ids = result.cells["h3_int"].to_numpy(dtype=np.uint64)[page.cell_mask]
    res, floor = page.max_res, min(MIN_RES, page.max_res)
    while True:
        nav = _nav_html(result, page, pages, res, lang)
        data = page_payload(result, page, static, add, variables, res, nav, footer)
        text = render_page(data, lang)
        size = len(text.encode("utf-8"))
        n_cells = len(data["cells"]["geom"])
        if size <= budget_bytes:
            return text, res, n_cells
        if res == floor:
            raise DesproError(
                f"map page {page.slug}.html is {size / 1e6:.1f} MB even with cells at H3 "
                f"resolution {res}; over the budget of {budget_bytes / 1e6:.1f} MB (raise "
                "budget_mb or show fewer villages)")
        res = coarser_res(ids, res, floor, size, len(md.script_json(data["cells"])), n_cells,
                          budget_bytes)


def write_site(result, maps_dir: Path, lang: str = "id",
               budget_mb: float = DEFAULT_BUDGET_MB,
               links: dict[str, str] | None = None) -> Site:
    """Write the overview, the province pages, their PNGs and ``lib/`` into ``maps_dir``.

    ``links`` (label key or text -> relative URL) are added to every page's footer, e.g.
    the change report of a rescore run.
    """
    if lang not in LANGS:
        raise DesproError(f"map language must be one of {LANGS}, got {lang!r}")
    maps_dir = Path(maps_dir)
    maps_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(maps_dir)
    site = Site(maps_dir, int(budget_mb * 1e6))
    add, variables = md.cell_additive(result)
    pages = plan_pages(result, lang)
    records = md.villages_payload(result, lang)
    outlines = md.admin_outlines(result.villages)
    for page in pages:
        text, res, n_cells = fit_page(result, page, pages, records, outlines, lang,
                                      site.budget_bytes, add, variables, links=links)
        png = write_summary_png(page.villages, lang, page.title,
                                maps_dir / f"{page.slug}_summary.png")
        path = maps_dir / f"{page.slug}.html"
        write_atomic_text(path, text)
        site.pages.append(PageInfo(page.slug, path, png, len(text.encode("utf-8")), res,
                                   n_cells, len(page.villages)))
    return site


def write_map(result, maps_dir: Path, lang: str = "id",
              links: dict[str, str] | None = None) -> Path:
    """Write the whole site (see :func:`write_site`) and return ``maps_dir/index.html``."""
    return write_site(result, maps_dir, lang, links=links).index
