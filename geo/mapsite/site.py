"""The folium / Leaflet pages: an overview page and one page per province, readable offline.

:func:`write_map` writes the national MapLibre GL map by default
(:mod:`despro.mapsite.national`); these pages are ``write_map(kind="pages")``, kept for
notebooks (a folium map displays inline) and small runs.

``write_site(result, maps_dir, lang)`` writes into ``maps_dir``:

- ``index.html``: national overview; cells rolled up to a coarse H3 resolution (at most
  :data:`~despro.mapsite.pages.OVERVIEW_MAX_CELLS` cells), links to the province pages;
- ``province-<code>.html``: one page per province at the run's resolution; a province
  whose page would be over the size budget gets an overview page instead (cells rolled
  up, notable villages) linking ``regency-<code>.html``, one page per regency at the
  run's resolution (see :mod:`despro.mapsite.pages`);
- ``<page>_summary.png``: a static summary figure per page (pass rate per criterion,
  tier counts);
- ``lib/``: Leaflet, Leaflet.markercluster and despro's own JS/CSS, copied from installed
  packages (:mod:`despro.mapsite.assets`): pages load nothing from the internet. The
  OpenStreetMap basemap is optional (off by default; it shows nothing offline).

Each page has village markers coloured by tier whose popup explains every criterion
(value, threshold, state, margin, source layer and vintage, rank, shortlist), one toggle
per cell variable with its legend, the backbone routes and nodes, clustered courier
outlets, the shortlist, a village search box (villages on other pages are found too and
linked to the page holding them, ``<page>.html#v=<code>`` opens the village) and a footer
with the run's vintages and thresholds. With a pilot plan (``analysis``, see
:mod:`despro.mapsite.analysis`) pages also show the village clusters, the Agen Despro
agents and which values were imputed. Labels are in Bahasa Indonesia (``id``, default)
or English (``en``).

Size budget: every HTML page must stay at or under ``budget_mb`` (default
:data:`DEFAULT_BUDGET_MB` = 15 MB, counted in bytes of the HTML file; ``lib/`` and the PNG
are shared and not counted). A province page over budget is split into regency pages
(above). A page still over budget (an overview, a one-regency province, a large
regency) is rebuilt with its cells rolled up one H3 resolution coarser (additive
columns summed, then finished once: never averaged percentages), until it fits; a page
that does not fit even at resolution :data:`MIN_RES` is an error.

Every text from data (village, regency, product, operator and route names, units,
sources) is HTML-escaped in :mod:`despro.mapsite.data` before it reaches a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import numpy as np
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from despro.errors import DesproError
from despro.io.outputs import write_atomic_text
from despro.mapsite import analysis as ma
from despro.mapsite import data as md
from despro.mapsite.assets import OfflineMap, copy_assets
from despro.mapsite.data import escape_text as esc
from despro.mapsite.figures import write_summary_png
from despro.mapsite.labels import LABELS, LANGS, threshold_text
from despro.mapsite.pages import Page, elsewhere_payload, plan_pages, split_province
from despro.mapsite.summary import gate_labels, summary_html, why_texts
from despro.numbertext import fmt_number
from despro.pipeline.cache import StepCache

if TYPE_CHECKING:
    from despro.pipeline.runner import Result
    from despro.rollout.waves import Plan

DEFAULT_BUDGET_MB = 15.0
MIN_RES = 3
H3_RES0_EDGE_KM = 1281.256  # mean hexagon edge at resolution 0; /sqrt(7) per resolution


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
    village_codes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass
class Site:
    """The written site: its pages and the budget they were held to."""

    maps_dir: Path
    budget_bytes: int
    pages: list[PageInfo] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.pages[0].path


@dataclass
class SiteContext:
    """What every page of one site is built from (computed once per site)."""

    result: object
    lang: str
    budget_bytes: int
    add: object
    variables: list
    records: dict[str, list]
    outlines: dict
    links: dict[str, str] | None = None
    analysis: ma.MapAnalysis | None = None
    why: dict[str, str] = field(default_factory=dict)  # escaped code -> what it would take


@dataclass
class Rendered:
    """One page rendered at one cell resolution."""

    text: str
    res: int
    n_cells: int
    cell_bytes: int

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


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


def _nav_html(result, page: Page, res: int, lang: str) -> str:
    t = LABELS[lang]
    cells = f"{t['cells_at']} {res}"
    if res != result.config.run.resolution:
        cells += f" ({t['rolled_up']} {result.config.run.resolution})"
    parts = [f"<h1>{esc(t['title'])}</h1><b>{esc(page.title)}</b> &middot; {esc(cells)}"]
    if page.note:
        parts.append(f"<br><small>{esc(page.note)}</small>")
    up, p = [], page.parent
    while p is not None:
        up.insert(0, f"<a href='{esc(p.slug)}.html'>{esc(p.title)}</a>")
        p = p.parent
    if up:
        parts.append("<br>&larr; " + " &rsaquo; ".join(up))
    if page.children:
        links = " ".join(f"<a href='{esc(c.slug)}.html'>{esc(c.title)}</a>" for c in page.children)
        parts.append(f"<br>{esc(page.children_label)}: {links}")
    if page.parent is None and page.province is None:  # the overview: the planners' summary
        parts.append(
            summary_html(result.villages, lang, gate_labels(result.config.criteria.rules, lang))
        )
    return "".join(parts)


def vintages(result: Result) -> dict[str, str]:
    """Data vintages per layer (as declared by the layers' variables)."""
    return {
        name: ", ".join(sorted({v.vintage for v in r.variables}))
        for name, r in result.layers.items()
    }


def _footer_html(
    result, page: Page, png_name: str, lang: str, links: dict[str, str] | None = None
) -> str:
    t = LABELS[lang]
    cfg = result.config
    rules = "; ".join(
        f"{r.id} {threshold_text(r.op, r.threshold, r.unit, lang)}" for r in cfg.criteria.rules
    )
    near = fmt_number(100 * cfg.criteria.near_ready_fraction, lang, 0)
    rows = [
        (t["vintages"], "; ".join(f"{k}: {v}" for k, v in vintages(result).items())),
        (t["thresholds"], f"{rules}; {t['near-ready']}: {near} %"),
        (t["weights"], result.study.weighting),
    ]
    table = "".join(f"<tr><td><b>{esc(k)}</b></td><td>{esc(v)}</td></tr>" for k, v in rows)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"{esc(t['run'])}: {esc(cfg.run.name)} &middot; {esc(t['generated'])} {esc(stamp)} "
        f"&middot; {len(page.scope):,} {esc(t['villages_n'])}"
    )
    extra = "".join(
        f"<div><a href='{esc(href)}'>{esc(t.get(label, label))}</a></div>"
        for label, href in (links or {}).items()
    )
    return (
        f"<details><summary>{head}</summary><table>{table}</table>{extra}"
        f"<b>{esc(t['summary'])}</b><img src='{esc(png_name)}' alt='{esc(t['summary'])}'>"
        "</details>"
    )


def _tier_legend(lang: str) -> str:
    t = LABELS[lang]
    rows = "".join(
        f"<div><i style='background:{c}'></i>{esc(t[k])}</div>" for k, c in md.TIER_COLOURS.items()
    )
    return f"<b>{esc(t['villages'])}</b>{rows}"


def static_payload(ctx: SiteContext, page: Page, home: dict[str, Page]) -> dict:
    """Everything of a page that does not depend on its cell resolution."""
    result, lang = ctx.result, ctx.lang
    t = LABELS[lang]
    if page.province is None:
        shapes = ctx.outlines["province"]
    else:
        reg = ctx.outlines["regency"]
        shapes = reg[reg["province_code"] == page.province]
    b = page.scope.total_bounds if len(page.scope) else result.villages.total_bounds
    pad = 0.05
    bounds = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    feats = md.features(result)
    keys = (
        "tier",
        "rank",
        "shortlist",
        "yes",
        "no",
        "product",
        "criterion",
        "value",
        "threshold",
        "state",
        "margin",
        "source",
        "search",
        "no_match",
        "unknown",
        "backbone_routes",
        "partial",
        "imputed",
        "imputed_tier",
        "imputed_note",
        "why",
    )
    data = {
        "lang": lang,
        "labels": {k: esc(t[k]) for k in keys},
        "tiers": [{"label": esc(t[k]), "colour": md.TIER_COLOURS[k]} for k in md.TIERS],
        "states": {s[0]: {"label": esc(t[s]), "colour": md.STATE_COLOURS[s]} for s in md.STATES},
        "tierLegend": _tier_legend(lang),
        "rules": md.rules_payload(result, lang),
        "villages": [ctx.records[code] for code in page.villages.index],
        "why": {c: ctx.why[c] for c in map(esc, page.villages.index) if c in ctx.why},
        "elsewhere": elsewhere_payload(page, home),
        "choropleths": [
            md.choropleth_spec(c, result.config.criteria.rules, lang) for c in md.choropleths()
        ],
        "bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
        "outlines": md.outlines_payload(shapes),
        "_bbox": bounds,
        "_features": feats,
    }
    if ctx.analysis is not None:
        data["clusters"] = ma.clusters_payload(result, ctx.analysis, page.scope, lang)
        data["agents"] = ma.agents_payload(result, ctx.analysis, page.scope, lang)
        if len(ctx.analysis.pilots):
            data["pilots"] = ma.pilots_payload(result, ctx.analysis, page.scope, lang)
        data["analysisLegends"] = ma.legends(ctx.analysis, lang)
    return data


def page_payload(
    ctx: SiteContext, page: Page, static: dict, res: int, nav: str, footer: str
) -> dict:
    """The page's full data object at cell resolution ``res``."""
    result = ctx.result
    ids = result.cell_columns["h3_int"].to_numpy(dtype=np.uint64)[page.cell_mask]
    table = md.page_cells(ctx.add[page.cell_mask], ids, ctx.variables, res)
    specs = [s for s in static["choropleths"] if s["column"] in table]
    tolerance = H3_RES0_EDGE_KM / 7 ** (res / 2) / 111.0 / 4
    feats, bbox = static["_features"], static["_bbox"]
    data = {k: v for k, v in static.items() if not k.startswith("_")}
    data.update(
        {
            "choropleths": specs,
            "cells": md.cells_payload(table, specs, result.variables),
            "nav": nav,
            "footer": footer,
            "routes": md.routes_payload(feats["backbone_routes"], bbox, tolerance)
            if "backbone_routes" in feats
            else [],
            "nodes": md.points_payload(feats["backbone_nodes"], bbox, "name")
            if "backbone_nodes" in feats
            else None,
            "outlets": md.points_payload(feats["courier_outlets"], bbox, "operator")
            if "courier_outlets" in feats
            else None,
        }
    )
    return data


def build_page(data: dict, lang: str, encoded: dict[str, str] | None = None) -> folium.Map:
    """The folium map of one page's data object (layers made by ``despro.js``);
    ``encoded``: parts of it already JSON-encoded (see :func:`despro.mapsite.data.script_json`)."""
    t = LABELS[lang]
    (s, w), (n, e) = data["bounds"]
    m = OfflineMap(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=9,
        tiles=None,
        control_scale=True,
        maxZoom=18,
        minZoom=3,
        zoomSnap=0.25,
    )
    m.get_root().script.add_child(RawScript(f"var despro_data = {md.script_json(data, encoded)};"))
    folium.TileLayer("OpenStreetMap", name=esc(t["osm"]), show=False).add_to(m)
    JsLayer("L.layerGroup()", esc(t["no_basemap"]), overlay=False, show=True).add_to(m)
    JsLayer("despro.outlinesLayer(despro_data)", esc(t["outlines"]), show=True).add_to(m)
    for i, spec in enumerate(data["choropleths"]):
        JsLayer(f"despro.cellLayer(despro_data, {i})", spec["label"], show=spec["show"]).add_to(m)
    for maker, key, present, show in (
        ("routesLayer(despro_data)", "backbone_routes", data["routes"], True),
        ("nodesLayer(despro_data)", "backbone_nodes", data["nodes"], True),
        ("outletsLayer(despro_data)", "outlets", data["outlets"], False),
        ("clustersLayer(despro_data)", "clusters", "clusters" in data, True),
        ("agentsLayer(despro_data)", "agents", "agents" in data, True),
        ("villageLayer(despro_data, false)", "villages", True, True),
        ("villageLayer(despro_data, true)", "shortlist", True, "pilots" not in data),
        ("pilotsLayer(despro_data)", "pilots", "pilots" in data, True),
    ):
        if present:
            JsLayer(f"despro.{maker}", esc(t[key]), show=show).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    PageScript(f"despro.finish({m.get_name()}, despro_data);").add_to(m)
    m.get_root().title = esc(f"{t['title']} \u00b7 {data['pageTitle']}")
    return m


def render_page(data: dict, lang: str, encoded: dict[str, str] | None = None) -> str:
    """The HTML text of one page (``encoded``: as for :func:`build_page`)."""
    return build_page(data, lang, encoded).get_root().render()


def coarser_res(
    ids: np.ndarray,
    res: int,
    floor: int,
    size: int,
    cell_bytes: int,
    n_cells: int,
    budget_bytes: int,
) -> int:
    """The finest resolution below ``res`` predicted to fit the budget (never below ``floor``).

    The prediction scales the bytes of the cells with their number at each resolution;
    the rest of the page (villages, lines, controls) does not change.
    """
    other, per_cell = size - cell_bytes, cell_bytes / max(n_cells, 1)
    for r in range(res - 1, floor, -1):
        if other + per_cell * md.n_parents(ids, r) <= 0.97 * budget_bytes:
            return r
    return floor


def _render(ctx: SiteContext, page: Page, static: dict, footer: str, res: int) -> Rendered:
    data = page_payload(ctx, page, static, res, _nav_html(ctx.result, page, res, ctx.lang), footer)
    cells = md.script_json(data["cells"])  # encoded once: measured, then spliced in
    return Rendered(
        render_page(data, ctx.lang, {"cells": cells}), res, len(data["cells"]["geom"]), len(cells)
    )


def _page_parts(ctx: SiteContext, page: Page, home: dict[str, Page]) -> tuple[dict, str]:
    """What a page holds at every resolution: its static payload (titled) and footer."""
    static = static_payload(ctx, page, home)
    static["pageTitle"] = page.title
    return static, _footer_html(ctx.result, page, f"{page.slug}_summary.png", ctx.lang, ctx.links)


def fit_page(
    ctx: SiteContext,
    page: Page,
    home: dict[str, Page],
    first: tuple[Rendered, dict, str] | None = None,
) -> Rendered:
    """Render ``page`` at the finest resolution (from ``page.max_res`` down) whose HTML
    fits the budget; ``first`` is the page already rendered at ``page.max_res``, with the
    static payload and footer it was rendered from."""
    if first is None:
        static, footer = _page_parts(ctx, page, home)
        out = _render(ctx, page, static, footer, page.max_res)
    else:
        out, static, footer = first
    ids = ctx.result.cell_columns["h3_int"].to_numpy(dtype=np.uint64)[page.cell_mask]
    floor = min(MIN_RES, page.max_res)
    while out.size > ctx.budget_bytes:
        if out.res == floor:
            raise DesproError(
                f"map page {page.slug}.html is {out.size / 1e6:.1f} MB even with cells at H3 "
                f"resolution {out.res}; over the budget of {ctx.budget_bytes / 1e6:.1f} MB "
                "(raise budget_mb or show fewer villages)"
            )
        res = coarser_res(
            ids, out.res, floor, out.size, out.cell_bytes, out.n_cells, ctx.budget_bytes
        )
        out = _render(ctx, page, static, footer, res)
    return out


def _homes(pages: list[Page]) -> dict[str, Page]:
    """The page holding each village at full resolution."""
    return {code: p for p in pages for code in p.villages.index}


def _write_page(
    ctx: SiteContext,
    site: Site,
    page: Page,
    home: dict[str, Page],
    first: tuple[Rendered, dict, str] | None = None,
) -> PageInfo:
    out = fit_page(ctx, page, home, first)
    png = write_summary_png(
        page.scope, ctx.lang, page.title, site.maps_dir / f"{page.slug}_summary.png"
    )
    path = site.maps_dir / f"{page.slug}.html"
    write_atomic_text(path, out.text)
    links = [p.slug for p in ([page.parent] if page.parent else []) + page.children]
    return PageInfo(
        page.slug,
        path,
        png,
        out.size,
        out.res,
        out.n_cells,
        len(page.villages),
        [str(c) for c in page.villages.index],
        links,
    )


OUTLINES_VERSION = "1"  # bump when md.admin_outlines changes what it draws


def _outlines(result, cache: StepCache | None) -> dict:
    """The villages' regency and province outlines, from ``cache`` when the villages
    (the run's study step) are unchanged."""
    study = result.step_keys.get("study") if cache is not None else None
    key = f"{study}-{OUTLINES_VERSION}" if study else None
    hit = cache.get("outlines", key) if key else None
    if hit is None:
        hit = md.admin_outlines(result.villages)
        if key:
            cache.put("outlines", key, hit)
    return hit


def write_site(
    result: Result,
    maps_dir: Path,
    lang: str = "id",
    budget_mb: float = DEFAULT_BUDGET_MB,
    links: dict[str, str] | None = None,
    analysis: ma.MapAnalysis | None = None,
    cache: StepCache | None = None,
) -> Site:
    """Write the overview, the province (and regency) pages, their PNGs and ``lib/``.

    ``links`` (label key or text -> relative URL) are added to every page's footer, e.g.
    the change report of a rescore run. ``analysis`` (:func:`despro.mapsite.analysis.
    from_plan`) adds the cluster, agent and imputation layers of a pilot plan. ``cache``
    (a rescore's step cache) keeps the regency and province outlines while the villages
    do not change (nationally ~40 s to dissolve).
    """
    if lang not in LANGS:
        raise DesproError(f"map language must be one of {LANGS}, got {lang!r}")
    maps_dir = Path(maps_dir)
    maps_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(maps_dir)
    add, variables = md.cell_additive(result)
    records = md.villages_payload(result, lang, ma.imputed_records(result, analysis, lang))
    ctx = SiteContext(
        result,
        lang,
        int(budget_mb * 1e6),
        add,
        variables,
        records,
        _outlines(result, cache),
        links,
        analysis,
        why_texts(result, lang),
    )
    site = Site(maps_dir, ctx.budget_bytes)
    index, provinces = plan_pages(result, lang)
    home = _homes(provinces)
    for i, page in enumerate(provinces):
        static, footer = _page_parts(ctx, page, home)
        first = _render(ctx, page, static, footer, page.max_res)
        if first.size <= ctx.budget_bytes or page.scope["regency_code"].nunique() < 2:
            site.pages.append(_write_page(ctx, site, page, home, (first, static, footer)))
            continue
        overview, regencies = split_province(result, page, lang)
        provinces[i] = overview
        home.update(_homes(regencies))
        for reg in regencies:
            site.pages.append(_write_page(ctx, site, reg, home))
        site.pages.append(_write_page(ctx, site, overview, home))
    site.pages.insert(0, _write_page(ctx, site, index, home))
    _remove_stale_pages(site)
    return site


def _remove_stale_pages(site: Site) -> None:
    """Delete province and regency pages (and PNGs) of an earlier site in the same folder
    that this site does not have (e.g. regency pages of a province that now fits)."""
    keep = {p.path.name for p in site.pages} | {p.png.name for p in site.pages}
    for pattern in (
        "province-*.html",
        "regency-*.html",
        "province-*_summary.png",
        "regency-*_summary.png",
    ):
        for f in site.maps_dir.glob(pattern):
            if f.name not in keep:
                f.unlink()


def write_map(
    result: Result,
    maps_dir: Path | str,
    lang: str = "id",
    links: dict[str, str] | None = None,
    analysis: ma.MapAnalysis | None = None,
    cache: StepCache | None = None,
    kind: str = "national",
    single_file: bool = False,
    rollout: Plan | None = None,
) -> Path:
    """Write the offline map site and return its index page.

    Parameters
    ----------
    result : Result
        From :func:`despro.run`.
    maps_dir : path
        Folder of the site.
    lang : {'id', 'en'}
        Language of the labels (Bahasa Indonesia by default).
    links : dict, optional
        Extra links shown on the page (label key or text -> relative address).
    analysis : MapAnalysis, optional
        Pilot-selection layers (:func:`despro.mapsite.analysis.from_plan`).
    cache : StepCache, optional
        ``kind="pages"``: reuse the admin outlines while the villages are unchanged.
    kind : {'national', 'pages'}
        ``national`` (default): one MapLibre GL page over a cell pyramid
        (:func:`despro.mapsite.national.write_national`); ``pages``: the folium / Leaflet
        overview and province pages (:func:`write_site`, for notebooks and small runs).
    single_file : bool
        ``national`` only: write ``maps_dir/index.html`` as one self-contained file
        (:func:`despro.mapsite.national.single_file`; small runs: a regency, the demo).
    rollout : despro.Plan, optional
        ``national`` only: a rollout plan (:func:`despro.plan`) drawn as a layer, with
        each village's ready line and the cost curve (:mod:`despro.mapsite.rollout`).

    Returns
    -------
    Path
        ``maps_dir/index.html``.
    """
    if kind == "pages":
        return write_site(result, maps_dir, lang, links=links, analysis=analysis, cache=cache).index
    if kind != "national":
        raise DesproError(f"map kind must be 'national' or 'pages', got {kind!r}")
    import shutil
    import tempfile

    from despro.mapsite import national

    if not single_file:
        return national.write_national(
            result, maps_dir, lang, analysis=analysis, links=links, rollout=rollout
        )
    with tempfile.TemporaryDirectory() as tmp:
        national.write_national(result, tmp, lang, analysis=analysis, links=links, rollout=rollout)
        target = Path(maps_dir) / "index.html"
        for old in ("data", "lib"):  # an earlier folder site in the same place
            shutil.rmtree(Path(maps_dir) / old, ignore_errors=True)
        return national.single_file(Path(tmp), target)
