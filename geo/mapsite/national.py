"""One map for the whole run: a MapLibre GL page over a cell pyramid, villages loaded by area.

``write_national(result, maps_dir, lang)`` writes into ``maps_dir``:

- ``index.html``: the map (opens on the whole run's extent), the side panel (tier counts
  in view, per province and regency, filters, the table of pilots / shortlist /
  near-ready villages) and the legend;
- ``data/site.js``: words, cell layers (breaks, colours, class names), rules, the
  pyramid's levels and the bounds of every chunk, provinces and regencies;
- ``data/villages.js``: every village as a point (code, name, tier, rule states, rank,
  shortlist / pilot flags, regency): the markers, the panel's counts and the search;
- ``data/c<res>/<chunk>.js``: the cells of one chunk of one level (see
  :mod:`despro.mapsite.pyramid`), loaded when the view needs them;
- ``data/v/<regency>.js``: the popup records of one regency's villages, loaded when a
  popup needs them (``v/<regency>.<lang>.js``: in the other language, when written);
- ``data/o/<regency>.js``: the outlines of one regency's villages, loaded when the view
  needs them;
- ``lib/``: MapLibre GL JS (from the PyPI package ``maplibre``) and despro's
  ``despro-gl.js`` / ``despro-gl-cells.js`` (the cells, drawn by despro's own WebGL
  layer) / ``despro-gl.css`` (:mod:`despro.mapsite.assets`).

Every data file is a script calling ``despro.load(key, data)`` (JSONP): Chromium blocks
``fetch()`` from ``file://``, not ``<script src>``, so the folder opens by double-click
and from any static server alike, with no network. Every text from data is
HTML-escaped here (:func:`despro.mapsite.data.escape_text`) and the JSON is made safe
to sit in a script (:func:`despro.mapsite.data.script_json`).
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.colors import to_hex

from despro import layers as registry
from despro.config.vocab import FAIL, TIERS
from despro.errors import DesproError
from despro.mapsite import analysis as ma
from despro.mapsite import data as md
from despro.mapsite.assets import copy_gl_assets
from despro.mapsite.data import escape_text as esc
from despro.mapsite.gl_labels import GL_LABELS, TIER_MARKERS
from despro.mapsite.labels import LABELS, LANGS, threshold_text
from despro.mapsite.pyramid import SCALE, build_levels
from despro.mapsite.rollout import rollout_payload
from despro.mapsite.summary import gate_labels, summary_html
from despro.rules import explain as ex

if TYPE_CHECKING:
    from despro.pipeline.runner import Result
    from despro.rollout.waves import Plan

#: village outlines: Douglas-Peucker tolerance (degrees, ~110 m)
OUTLINE_TOLERANCE = 1e-3

#: runs of at most this many villages get the other language too (a switch in the
#: page): its words (~0.2 MB) and popup texts (~0.33 kB a village; 27 MB nationally,
#: past the national site's disk budget, so a national run writes its ``lang`` only)
BILINGUAL_MAX_VILLAGES = 20_000


def _palette(n: int, higher_is_better: bool) -> list[str]:
    """Colour-blind-safe sequential colours (viridis), dark = worse."""
    cmap = colormaps["viridis"]
    cols = [to_hex(cmap(0.05 + 0.9 * i / max(n - 1, 1))) for i in range(n)]
    return cols if higher_is_better else cols[::-1]


def layer_specs(result: Result, lang: str) -> list[dict]:
    """The cell layers: breaks, colours and escaped class names (tiers first)."""
    t = LABELS[lang]
    out = []
    for c in md.choropleths():
        spec = md.choropleth_spec(c, result.config.criteria.rules, lang)
        if c.key in md.CATEGORIES:
            spec["colours"] = [TIER_MARKERS[x]["colour"] for x in md.CATEGORIES[c.key]]
            names = [t[x] for x in md.CATEGORIES[c.key]]
        else:
            spec["colours"] = _palette(len(spec["breaks"]) + 1, c.higher_is_better)
            _, suffix, _ = md.unit_display(c.unit, lang)
            names = md._class_labels(spec["breaks"], suffix, lang, c.digits)
        notes = [
            f"{r.id}: {threshold_text(r.op, r.threshold, r.unit, lang)}"
            for r in result.config.criteria.rules
            if r.variable in (c.column, c.key) and c.key not in md.CATEGORIES
        ]
        spec["names"] = [esc(n) for n in names]
        spec["categorical"] = c.key in md.CATEGORIES
        spec["note"] = esc("; ".join(notes))
        spec.pop("legend", None)
        out.append(spec)
    return out


def district_names(result: Result) -> pd.Series:
    """Escaped district (kecamatan) name per village (index: village code), from a
    ``district_name`` column or the run's Kemendagri code list (``villages.names``:
    ``kode`` ``PP.RR.DD``, ``nama``); empty strings where unknown."""
    v = result.villages
    if "district_name" in v:
        names = v["district_name"]
    else:
        names = pd.Series(pd.NA, index=v.index, dtype="string")
        src = getattr(result.config.villages, "names", None)
        if src is not None:
            try:
                table = pd.read_csv(result.config.resolve(src), dtype=str)
            except (OSError, ValueError, AttributeError):
                table = None
            if table is not None and {"kode", "nama"} <= set(table.columns):
                kode = table["kode"].fillna("").str.strip()
                rows = table[kode.str.count(r"\.") == 2]
                lookup = pd.Series(
                    rows["nama"].to_numpy(), index=rows["kode"].str.replace(".", "", regex=False)
                )
                lookup = lookup[~lookup.index.duplicated()]
                codes = pd.Index(v.index.astype(str).str.replace(".", "", regex=False).str[:6])
                names = pd.Series(lookup.reindex(codes).to_numpy(), index=v.index)
    out = names.astype(object).where(names.notna(), "")
    return pd.Series(md._escape_all(out.astype(str).to_numpy(object)), index=v.index)


def category_labels(result: Result, lang: str) -> tuple[list[list[str]], str]:
    """The flagship product categories in ``lang`` and each village's one.

    Returns ``(categories, letters)``: ``categories`` [escaped code, escaped label] sorted
    by label, the last one "unknown" (villages without product data); ``letters`` per
    village ``chr(48 + index)`` into ``categories``.
    """
    t = LABELS[lang]
    v = result.villages
    n = len(v)
    if "flagship_category" not in v:
        return [["", esc(t["unknown"])]], chr(48) * n
    code = v["flagship_category"].astype(object).where(v["flagship_category"].notna(), None)
    label_col = "flagship_category_label_id" if lang == "id" else "flagship_category_label"
    if label_col not in v and "flagship_category_label" in v:
        label_col = "flagship_category_label"
    labels = v[label_col] if label_col in v else pd.Series(pd.NA, index=v.index)
    pairs = {}
    for c, lab in zip(code.tolist(), labels.astype(object).tolist(), strict=True):
        if isinstance(c, str) and c and c not in pairs:
            text = lab if isinstance(lab, str) and lab else c.replace("_", " ")
            pairs[c] = text
    cats = sorted(pairs, key=lambda c: pairs[c].lower())
    index = {c: k for k, c in enumerate(cats)}
    unknown = len(cats)
    letters = "".join(
        chr(48 + index.get(c, unknown)) if isinstance(c, str) else chr(48 + unknown)
        for c in code.tolist()
    )
    out = [[esc(c), esc(pairs[c])] for c in cats] + [["", esc(t["unknown"])]]
    return out, letters


def villages_index(result: Result, analysis: ma.MapAnalysis | None, lang: str) -> dict:
    """Every village as a point with what the markers, the panel and the search need.

    Arrays by village: ``code``, ``name`` (escaped), ``lat`` / ``lon`` (integers in 1e-5
    degrees, delta-encoded), ``tier`` (a string of tier indices), ``s`` (rule state
    letters), ``rank``, ``flag`` (bit 1: shortlisted, bit 2: pilot), ``pilot`` (pick
    number or 0), ``bind`` (per village one character: ``0`` + the index of its binding
    rule, ``-`` none; see :func:`despro.rules.explain.explain`), ``reg`` (index into
    ``regencies``), ``dist`` (index into ``districts``, escaped kecamatan names, -1
    unknown), ``cat`` (per village one character: ``0`` + index into ``categories``,
    :func:`category_labels`). ``regencies``: [code, escaped
    name, index into ``provinces``, bbox]; ``provinces``: [code, escaped name, bbox].
    """
    v = result.villages
    pts = v.geometry.representative_point().to_numpy()
    lat = np.round(shapely.get_y(pts) * SCALE).astype(np.int64)
    lon = np.round(shapely.get_x(pts) * SCALE).astype(np.int64)
    tier_index = {t: i for i, t in enumerate(TIERS)}
    tiers = "".join(str(tier_index[t]) for t in v["tier"])
    rules = result.config.criteria.rules
    states = [
        v[f"{r.id}_state"].fillna("unknown").astype(str).str[0].to_numpy(object)
        if f"{r.id}_state" in v
        else np.full(len(v), "u", dtype=object)
        for r in rules
    ]
    letters = ["".join(x) for x in zip(*states, strict=True)] if states else [""] * len(v)
    short = v.index.isin(result.shortlist()["village_code"])
    pilot = np.zeros(len(v), np.int64)
    if analysis is not None and len(analysis.pilots):
        pick = analysis.pilots.set_index("village_code")["pick"]
        pilot = pick.reindex(v.index).fillna(0).astype(np.int64).to_numpy()
    flags = short.astype(np.int64) + 2 * (pilot > 0)
    box = pd.DataFrame(
        shapely.bounds(v.geometry.to_numpy()), columns=["w", "s", "e", "n"], index=v.index
    )
    box["p"] = v["province_code"].astype(str).to_numpy()
    box["r"] = v["regency_code"].astype(str).to_numpy()
    box["pn"] = v["province_name"].astype(str).to_numpy() if "province_name" in v else box["p"]
    box["rn"] = v["regency_name"].astype(str).to_numpy() if "regency_name" in v else box["r"]
    agg = {"w": "min", "s": "min", "e": "max", "n": "max"}
    prov = box.groupby("p").agg({**agg, "pn": "first"})
    reg = box.groupby("r").agg({**agg, "rn": "first", "p": "first"})
    prov_index = {c: i for i, c in enumerate(prov.index)}
    reg_index = {c: i for i, c in enumerate(reg.index)}

    def bbox(row) -> list[float]:
        return [round(float(row[k]), 4) for k in ("w", "s", "e", "n")]

    provinces = [[esc(c), esc(row["pn"]), bbox(row)] for c, row in prov.iterrows()]
    regencies = [
        [esc(c), esc(row["rn"]), prov_index[row["p"]], bbox(row)] for c, row in reg.iterrows()
    ]
    rcodes = box["r"].to_numpy()
    rule_index = {r.id: k for k, r in enumerate(rules)}
    bind = (
        "".join(
            chr(48 + rule_index[b]) if b in rule_index else "-" for b in v["binding_rule"].tolist()
        )
        if "binding_rule" in v
        else "-" * len(v)
    )
    dnames = district_names(result).to_numpy(object)
    known = dnames != ""
    dist_codes, dist_uniq = pd.factorize(pd.Series(dnames[known]))
    dist = np.full(len(v), -1, np.int64)
    dist[known] = dist_codes
    categories, cat_letters = category_labels(result, lang)
    dlat, dlon = lat.copy(), lon.copy()
    dlat[1:], dlon[1:] = np.diff(lat), np.diff(lon)
    return {
        "code": md._escape_all(v.index.to_numpy(object)),
        "name": md._escape_all(v["village_name"].to_numpy(object)),
        "lat": dlat.tolist(),
        "lon": dlon.tolist(),
        "tier": tiers,
        "s": letters,
        "rank": v["rank"].astype(int).tolist(),
        "flag": "".join(str(int(f)) for f in flags),
        "bind": bind,
        "pilot": pilot.tolist(),
        "reg": [reg_index[c] for c in rcodes],
        "dist": dist.tolist(),
        "districts": list(dist_uniq),
        "cat": cat_letters,
        "categories": categories,
        "regencies": regencies,
        "provinces": provinces,
        "n": len(v),
    }


def village_outlines(
    geoms: np.ndarray, tolerance: float = OUTLINE_TOLERANCE
) -> list[list[list[int]]]:
    """Per village, its rings (exterior of every part, simplified), each encoded as by
    :func:`despro.mapsite.data.encode_path`."""
    geoms = np.asarray(geoms, dtype=object)
    halves = np.array_split(geoms, 2)  # GEOS releases the GIL: two threads
    with ThreadPoolExecutor(2) as ex:
        parts = list(
            ex.map(lambda g: shapely.simplify(g, tolerance, preserve_topology=False), halves)
        )
    simple = np.concatenate(parts) if len(geoms) else geoms
    empty = shapely.is_empty(simple) | shapely.is_missing(simple)
    simple[empty] = shapely.envelope(geoms[empty])
    parts, which = shapely.get_parts(simple, return_index=True)
    rings = np.where(shapely.get_type_id(parts) == 3, shapely.get_exterior_ring(parts), parts)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    n = np.bincount(idx, minlength=len(rings))
    closed = shapely.is_closed(rings) & (n > 3)
    drop = np.zeros(len(xy), bool)
    drop[np.cumsum(n)[closed] - 1] = True
    encoded = md._encode_rings(xy[~drop], n - closed)
    out: list[list[list[int]]] = [[] for _ in range(len(geoms))]
    for ring, w in zip(encoded, which.tolist(), strict=True):
        out[w].append(ring)
    return out


def script_json(obj: object) -> str:
    """Compact UTF-8 JSON safe inside a script: no ``<``, ``>``, ``&`` (so no
    ``</script>``), line and paragraph separators escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, rep)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def detail_record(rec: list) -> list:
    """A village's popup record (:func:`despro.mapsite.data.villages_payload`) without
    what ``villages.js`` already has: ``[code, product, value texts, state letters,
    margin texts, evidence letters, score text(, imputed)]``."""
    return [rec[2], *rec[7:]]


def _write_script(path: Path, key: str, payload: object) -> int:
    text = f"despro.load({script_json(key)},{script_json(payload)});\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return len(text)


def _page_words(lang: str) -> dict[str, str]:
    t = LABELS[lang]
    keys = (
        "title",
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
        "unknown",
        "pass",
        "fail",
        "score_incomplete",
        "pilots",
        "villages",
        "outlines",
        "province",
        *TIERS,
    )
    words = {k: esc(t[k]) for k in keys if k in t}
    words.update({k: esc(v) for k, v in GL_LABELS[lang].items()})
    return words


#: backbone routes: Douglas-Peucker tolerance (degrees, ~110 m)
ROUTE_TOLERANCE = 1e-3


def features_payload(result: Result, lang: str) -> dict:
    """The layers' lines and points inside the run's extent: backbone routes
    (``[encoded line, escaped tooltip]``), backbone nodes and courier outlets (encoded
    points and escaped labels, :func:`despro.mapsite.data.points_payload`), with the
    words of their toggles."""
    t = LABELS[lang]
    feats = md.features(result)
    b = result.villages.total_bounds
    box = (b[0] - 0.5, b[1] - 0.5, b[2] + 0.5, b[3] + 0.5)
    out: dict = {"featureWords": {}}
    if "backbone_routes" in feats:
        out["routes"] = md.routes_payload(feats["backbone_routes"], box, ROUTE_TOLERANCE)
        out["featureWords"]["routes"] = esc(t["backbone_routes"])
    if "backbone_nodes" in feats:
        out["nodes"] = md.points_payload(feats["backbone_nodes"], box, "name")
        out["featureWords"]["nodes"] = esc(t["backbone_nodes"])
    if "courier_outlets" in feats:
        out["outlets"] = md.points_payload(feats["courier_outlets"], box, "operator")
        out["featureWords"]["outlets"] = esc(t["outlets"])
    return out


def _analysis_payload(result: Result, analysis: ma.MapAnalysis | None, lang: str) -> dict:
    """A pilot plan's village clusters and Agen Despro agents (their popups escaped in
    :mod:`despro.mapsite.analysis`), and the words of their layers."""
    if analysis is None:
        return {}
    t = LABELS[lang]
    scope = result.villages
    return {
        "clusters": ma.clusters_payload(result, analysis, scope, lang),
        "agents": ma.agents_payload(result, analysis, scope, lang),
        "analysisWords": {k: esc(t[k]) for k in ("clusters", "agents")},
    }


def site_payload(
    result: Result,
    lang: str,
    specs: list[dict],
    levels: list,
    analysis: ma.MapAnalysis | None,
    links: dict[str, str] | None = None,
    rollout: Plan | None = None,
) -> dict:
    """Everything the page needs before any chunk: words, layers, rules, levels (and a
    rollout plan's layer, key ``rollout``: :mod:`despro.mapsite.rollout`)."""
    t = LABELS[lang]
    v = result.villages
    b = v.total_bounds
    return {
        "lang": lang,
        "words": _page_words(lang),
        "run": esc(result.config.run.name),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d"),
        "bounds": [round(float(x), 4) for x in b],
        "tiers": [{"key": esc(x), "label": esc(t[x]), **TIER_MARKERS[x]} for x in TIERS],
        "layers": specs,
        "rules": md.rules_payload(result, lang),
        "levels": [
            {
                "res": lv.res,
                "minZoom": lv.min_zoom,
                "chunked": lv.chunk_res is not None,
                "chunks": lv.bounds,
            }
            for lv in levels
        ],
        "hasPilots": analysis is not None and len(analysis.pilots) > 0,
        "categories": category_labels(result, lang)[0],
        "links": [[esc(t.get(k, k)), esc(href)] for k, href in (links or {}).items()],
        "summary": summary_html(
            result.villages, lang, gate_labels(result.config.criteria.rules, lang)
        ),
        **_analysis_payload(result, analysis, lang),
        **features_payload(result, lang),
        **({"rollout": rollout_payload(rollout, lang)} if rollout is not None else {}),
    }


def _write_cells(result: Result, specs: list[dict], data_dir: Path, ex: ThreadPoolExecutor):
    """Build the pyramid and write its chunks (on ``ex``) as they come; its levels."""
    writes = []

    def sink(res: int, key: str, payload: dict) -> None:
        path = data_dir / f"c{res}" / f"{key}.js"
        writes.append(ex.submit(_write_script, path, f"c{res}/{key}", payload))

    levels = build_levels(result, specs, sink)
    for w in writes:
        w.result()
    return levels


def _write_villages(
    result: Result,
    lang: str,
    analysis: ma.MapAnalysis | None,
    data_dir: Path,
    others: tuple[str, ...] = (),
) -> None:
    """Write ``villages.js``, one ``v/<regency>.js`` (popup records) and one
    ``o/<regency>.js`` (outlines) per regency; per other language
    ``v/<regency>.<lang>.js`` with its popup texts (records and "what it would take")."""
    _write_script(data_dir / "villages.js", "villages", villages_index(result, analysis, lang))
    for other in others:
        _write_popup_texts(result, other, analysis, data_dir)
    records = md.villages_payload(result, lang, ma.imputed_records(result, analysis, lang))
    gaps, needs = headline_texts(result, lang)
    rule_index = {r.id: k for k, r in enumerate(result.config.criteria.rules)}
    binding = (
        result.villages["binding_rule"].map(rule_index).fillna(-1).astype(int).tolist()
        if "binding_rule" in result.villages
        else [-1] * len(result.villages)
    )
    outlines = village_outlines(result.villages.geometry.to_numpy())
    codes = result.villages.index.to_numpy(object)
    for code, rows in _regency_rows(result):
        _write_script(
            data_dir / "v" / f"{code}.js",
            f"v/{code}",
            {
                "rec": [detail_record(records[codes[i]]) for i in rows],
                "gap": [gaps[i] for i in rows],
                "need": [needs[i] for i in rows],
                "bind": [binding[i] for i in rows],
            },
        )
        _write_script(
            data_dir / "o" / f"{code}.js", f"o/{code}", {"outline": [outlines[i] for i in rows]}
        )


def headline_texts(result: Result, lang: str) -> tuple[list[str], list[str]]:
    """Per village (in row order), escaped, the two parts of its popup headline: the gap
    of its binding rule when that rule fails ("perlu +7,0 pp ...", "... perlu turun
    5,9 km", :func:`despro.rules.explain.gap_text`; "" otherwise) and the data an
    undetermined village waits for ("perlu data produk, kurir"; "" otherwise)."""
    v = result.villages
    n = len(v)
    if "binding_rule" not in v:
        return [""] * n, [""] * n
    key = "label_id" if lang == "id" else "label_en"
    rules = {r.id: r for r in result.config.criteria.rules}
    titles = registry.titles(lang)
    cache: dict = {}

    def gap(rule, kind, g, unit) -> str:
        r = rules.get(rule)
        if kind != FAIL or r is None:
            return ""
        k = (rule, round(float(g), 6), unit)
        if k not in cache:
            label = getattr(r, key) or r.label_en or r.id
            cache[k] = esc(ex.gap_text(float(g), unit, label, lang, r.threshold))
        return cache[k]

    gaps = [
        gap(*x)
        for x in zip(
            v["binding_rule"].tolist(),
            v["binding_kind"].tolist(),
            v["binding_gap"].astype(float).tolist(),
            v["binding_unit"].tolist(),
            strict=True,
        )
    ]
    needed = v["data_needed"] if "data_needed" in v else pd.Series("", index=v.index)
    texts: dict = {}
    needs = []
    for keys in needed.tolist():
        if keys not in texts:
            texts[keys] = esc(ex.data_text(keys, lang, titles)) if isinstance(keys, str) else ""
        needs.append(texts[keys])
    return gaps, needs


def _regency_rows(result: Result):
    """(regency code, row positions) per regency, in code order."""
    rcodes = result.villages["regency_code"].astype(str).to_numpy()
    order = np.argsort(rcodes, kind="stable")
    uniq, starts = np.unique(rcodes[order], return_index=True)
    ends = np.r_[starts[1:], len(order)]
    for code, a, z in zip(uniq.tolist(), starts.tolist(), ends.tolist(), strict=True):
        yield code, order[a:z].tolist()


def _write_popup_texts(
    result: Result, lang: str, analysis: ma.MapAnalysis | None, data_dir: Path
) -> None:
    """``v/<regency>.<lang>.js``: the popup records and "what it would take" lines in
    ``lang`` (the outlines stay in ``v/<regency>.js``)."""
    records = md.villages_payload(result, lang, ma.imputed_records(result, analysis, lang))
    gaps, needs = headline_texts(result, lang)
    codes = result.villages.index.to_numpy(object)
    for code, rows in _regency_rows(result):
        _write_script(
            data_dir / "v" / f"{code}.{lang}.js",
            f"v/{code}.{lang}",
            {
                "rec": [detail_record(records[codes[i]]) for i in rows],
                "gap": [gaps[i] for i in rows],
                "need": [needs[i] for i in rows],
            },
        )


def write_national(
    result: Result,
    maps_dir: Path | str,
    lang: str = "id",
    analysis: ma.MapAnalysis | None = None,
    links: dict[str, str] | None = None,
    threads: int = 2,
    rollout: Plan | None = None,
) -> Path:
    """Write the national map (see the module doc) and return its ``index.html``.

    Parameters
    ----------
    result : Result
        From :func:`despro.run`.
    maps_dir : path
        Folder of the site.
    lang : {'id', 'en'}
        Language of every word on the page (Bahasa Indonesia by default). Runs of at
        most :data:`BILINGUAL_MAX_VILLAGES` villages also get the other language, and a
        switch in the page.
    analysis : MapAnalysis, optional
        Pilot picks to mark (:func:`despro.mapsite.analysis.from_plan`).
    links : dict, optional
        Extra links shown in the panel (label key or text -> relative address), e.g. the
        change report of a rescore run.
    threads : int
        Threads: the villages' files are made beside the cell pyramid, whose chunks are
        written as they come.
    rollout : Plan, optional
        A rollout plan (:func:`despro.plan`): its sites, outlets and programmes as a
        layer, each village's ready line in its popup, the cost curve in the panel.

    Returns
    -------
    Path
        ``maps_dir/index.html``.
    """
    if lang not in LANGS:
        raise DesproError(f"map language must be one of {LANGS}, got {lang!r}")
    maps_dir = Path(maps_dir)
    maps_dir.mkdir(parents=True, exist_ok=True)
    data_dir = maps_dir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    for pattern in ("province-*", "regency-*", "index_summary.png"):  # an earlier pages site
        for f in maps_dir.glob(pattern):
            f.unlink()
    copy_gl_assets(maps_dir)
    specs = layer_specs(result, lang)
    others = (
        tuple(x for x in LANGS if x != lang)
        if len(result.villages) <= BILINGUAL_MAX_VILLAGES
        else ()
    )
    with ThreadPoolExecutor(max(threads, 1)) as ex:
        villages = ex.submit(_write_villages, result, lang, analysis, data_dir, others)
        levels = _write_cells(result, specs, data_dir, ex)
        villages.result()
    site = site_payload(result, lang, specs, levels, analysis, links, rollout)
    site["langs"] = [lang, *others]
    _write_script(data_dir / "site.js", "site", site)
    for other in others:
        words = site_payload(
            result, other, layer_specs(result, other), levels, analysis, links, rollout
        )
        words["langs"] = site["langs"]
        _write_script(data_dir / f"site.{other}.js", f"site.{other}", words)
    # the country view's cells come with the page (loaded beside the other scripts, not
    # after the map has started): the coarsest level when it is one file
    first = [f"c{lv.res}/all" for lv in levels[-1:] if lv.chunk_res is None]
    index = maps_dir / "index.html"
    index.write_text(index_html(lang, first), encoding="utf-8")
    return index


#: a run whose folder site is larger is refused as a single file (MB)
SINGLE_FILE_MAX_MB = 50.0


def single_file(folder: Path, target: Path) -> Path:
    """One self-contained HTML of the site in ``folder`` (libraries, styles and every data
    script inline), for small runs: it opens alone, e.g. sent by chat. Returns ``target``."""
    folder, target = Path(folder), Path(target)
    files = sorted((folder / "data").rglob("*.js"))
    size = sum(f.stat().st_size for f in files) / 1e6
    if size > SINGLE_FILE_MAX_MB:
        raise DesproError(
            f"the map's data are {size:.0f} MB: too large for one file (at most "
            f"{SINGLE_FILE_MAX_MB:.0f} MB); write the map folder instead (no --single-file), "
            "or run a smaller area (villages.code_prefix)"
        )

    def inline(path: Path) -> str:
        return path.read_text(encoding="utf-8").replace("</script", "<\\/script")

    page = (folder / "index.html").read_text(encoding="utf-8")
    head, _, rest = page.partition('<link rel="stylesheet" href="lib/maplibre/maplibre-gl.css">')
    _, _, rest = rest.partition('<link rel="stylesheet" href="lib/despro/despro-gl.css">')
    body, _, _ = rest.partition('<script src="lib/maplibre/maplibre-gl.js"></script>')
    styles = "".join(
        f"<style>{inline(folder / 'lib' / name)}</style>\n"
        for name in ("maplibre/maplibre-gl.css", "despro/despro-gl.css")
    )
    data = [folder / "data" / "site.js", folder / "data" / "villages.js"]
    data += [f for f in files if f not in data]
    scripts = "".join(
        f"<script>{inline(f)}</script>\n"
        for f in [
            folder / "lib/maplibre/maplibre-gl.js",
            folder / "lib/despro/despro-gl.js",
            folder / "lib/despro/despro-gl-cells.js",
            folder / "lib/despro/despro-gl-plan.js",
            *data,
        ]
    )
    text = f"{head}{styles}{body}{scripts}<script>despro.start();</script>\n</body>\n</html>\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def index_html(lang: str, preload: list[str] | None = None) -> str:
    """The page: links the local libraries and the data scripts (``preload``: keys of
    data scripts loaded with the page, e.g. the country view's cells); the words come
    with ``data/site.js``."""
    t = LABELS[lang]
    title = esc(t["title"])
    extra = "".join(f'<script src="data/{esc(k)}.js"></script>\n' for k in preload or [])
    return f"""<!DOCTYPE html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="lib/maplibre/maplibre-gl.css">
<link rel="stylesheet" href="lib/despro/despro-gl.css">
</head>
<body>
<div id="despro-app">
<aside id="despro-panel" aria-label="panel"></aside>
<main id="despro-map"></main>
<div id="despro-legend"></div>
</div>
<script src="lib/maplibre/maplibre-gl.js"></script>
<script src="lib/despro/despro-gl.js"></script>
<script src="lib/despro/despro-gl-cells.js"></script>
<script src="lib/despro/despro-gl-plan.js"></script>
<script src="data/site.js"></script>
<script src="data/villages.js"></script>
{extra}<script>despro.start();</script>
</body>
</html>
"""
