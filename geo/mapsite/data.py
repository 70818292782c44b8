"""What one map page shows, as compact JSON for ``despro.js``.

Cells are rolled up exactly to the page's resolution (sum the additive columns,
divide once: :func:`despro.transfer.rollup.cells_to_parents`), never by averaging
percentages. Every text that comes from data or configuration (village, product,
operator and route names, units, sources) is HTML-escaped here, once, with
``html.escape``; ``despro.js`` only assembles these strings.

Encodings (to keep pages small): coordinates are integers in 1e-5 degrees, each
vertex stored as the difference from the previous one; cell values are rounded
to the digits shown; a village's popup carries its formatted values and margins
while everything shared by all villages (rule labels, thresholds, sources) is
sent once.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.colors import to_hex

from despro import layers as registry
from despro.config.vocab import STATES, TIERS, UNKNOWN
from despro.grid import cells as grid
from despro.layer import Choropleth
from despro.mapsite.labels import (
    LABELS,
    margin_texts,
    score_texts,
    threshold_text,
    unit_display,
    value_texts,
)
from despro.numbertext import fmt_number
from despro.rules.criteria import CRITERIA
from despro.transfer.rollup import cells_to_parents
from despro.variables import Kind, Variable, additive_columns, cover_column, cover_of

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from shapely.geometry.base import BaseGeometry

    from despro.config.settings import Rule
    from despro.pipeline.runner import Result

    #: (min lon, min lat, max lon, max lat), degrees (a tuple or ``total_bounds``)
    Bounds = tuple[float, float, float, float] | np.ndarray

TIER_COLOURS = dict(zip(TIERS, ("#1a9850", "#fee08b", "#9e9e9e", "#d73027"), strict=True))
STATE_COLOURS = dict(zip(STATES, ("#1a9850", "#d73027", "#757575"), strict=True))
UNKNOWN_COLOUR = "#bdbdbd"
OPEN_BRACE_IN_STRING = re.compile(r'\{(?=[^"}])')  # compact JSON: '{' + '"' or '}' only
SCALE = 1e5  # coordinates: integers in 1e-5 degrees (about 1 m)
SCORE = Variable(
    "village_score",
    Kind.INTENSIVE,
    "",
    "readiness score of the villages sharing the cell, weighted by the transfer weights",
    "score",
)
SCORE_COMPLETE = Variable(
    "village_score_complete",
    Kind.RATE,
    "percent",
    "share of the cell's scored villages (by transfer weight) whose score rests on every "
    "criterion known (score_known_share = 1)",
    "score",
)
TIER_SHARES = tuple(
    Variable(
        f"village_tier_{i}",
        Kind.INTENSIVE,
        "",
        f"share of the cell's villages (by transfer weight) in the tier {t!r}",
        "tier",
    )
    for i, t in enumerate(TIERS)
)
TIER_CELLS = "village_tier"  # index into TIERS of the cell's most common tier
INCOMPLETE_BACK, INCOMPLETE_LINE = "#e0e0e0", "#616161"  # hatch of a partial-data score


#: the page opens on the tiers (cells by their villages' most common tier, see
#: :func:`main_tier`); the readiness score's layer (50 = meets every threshold, see
#: despro.rules.score) hatches cells whose villages' score rests on incomplete data. The
#: layers' own cell layers are in their modules' CHOROPLETHS.
TIER_CHOROPLETH = Choropleth(
    "tier_cells", TIER_CELLS, "", (0.5, 1.5, 2.5), digits=0, show=True, position=-1
)
SCORE_CHOROPLETH = Choropleth("score", "village_score", "", (20, 40, 50, 75), position=0)
#: categorical cell layers: per class index, its label key and colour (TIER_COLOURS)
CATEGORIES = {TIER_CHOROPLETH.key: TIERS}
#: cell layers hatched where their column below (percent of the value resting on complete
#: data) is under 100
COMPLETE = {SCORE_CHOROPLETH.key: SCORE_COMPLETE.name}


def choropleths() -> list[Choropleth]:
    """The map's cell layers: the tiers, the score, then every registered layer's
    ``CHOROPLETHS``, ordered by their ``position``."""
    found = [c for layer in registry.all_layers() for c in layer.CHOROPLETHS]
    return sorted([TIER_CHOROPLETH, SCORE_CHOROPLETH, *found], key=lambda c: c.position)


def escape_text(value: object) -> str:
    """HTML-escaped text of a data value (quotes too)."""
    return html.escape(str(value), quote=True)


def script_json(obj: object, encoded: dict[str, str] | None = None) -> str:
    """JSON safe to embed in a ``<script>`` element: no ``<``, ``>``, ``&`` (so no
    ``</script>``) and no ``{`` inside strings (so no template syntax either).

    ``encoded``: values of top-level keys of the dict ``obj`` already encoded by this
    function (e.g. a page's cells, measured on their own): spliced in after the other
    keys instead of being encoded again.
    """
    if encoded:
        head = script_json({k: v for k, v in obj.items() if k not in encoded})
        tail = ",".join(f"{script_json(k)}:{text}" for k, text in encoded.items())
        return f"{head[:-1]}{',' if len(head) > 2 else ''}{tail}}}"
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return OPEN_BRACE_IN_STRING.sub("\\\\u007b", text)


def numbers(values: ArrayLike, digits: int) -> list:
    """Rounded numbers for JSON: ints when ``digits`` is 0, None for NaN."""
    arr = np.round(np.asarray(values, dtype=float), digits)
    ok = np.isfinite(arr)
    out = arr.astype(object)
    out[~ok] = None
    if digits == 0:
        out[ok] = arr[ok].astype(np.int64)
    return out.tolist()


def encode_path(lat: np.ndarray, lon: np.ndarray) -> list[int]:
    """``[lat0, lon0, dlat1, dlon1, ...]``: integers in 1e-5 degrees, deltas after the first."""
    xy = np.column_stack([np.round(np.asarray(lat) * SCALE), np.round(np.asarray(lon) * SCALE)])
    xy[1:] = np.diff(xy, axis=0)
    return xy.astype(np.int64).ravel().tolist()


def encode_geometries(geoms: Iterable[BaseGeometry] | gpd.GeoSeries) -> list[list[int]]:
    """Exterior rings of polygons and linestrings (multi-parts split), each encoded as by
    :func:`encode_path` (a ring without its closing vertex); vectorised over all parts."""
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    if len(parts) == 0:
        return []
    rings = np.where(shapely.get_type_id(parts) == 3, shapely.get_exterior_ring(parts), parts)
    xy, which = shapely.get_coordinates(rings, return_index=True)
    n = np.bincount(which, minlength=len(rings))
    ends = np.cumsum(n)
    drop = np.zeros(len(xy), bool)
    closed = shapely.is_closed(rings) & (n > 3)
    drop[ends[closed] - 1] = True
    return _encode_rings(xy[~drop], n - closed)


def encode_cells(ids: np.ndarray) -> list[list[int]]:
    """Hexagon outlines of H3 cells, encoded as :func:`encode_geometries` encodes their
    polygons, straight from their vertex arrays (no geometry objects)."""
    xy, counts = grid.cell_vertices(np.asarray(ids, dtype=grid.CELL_DTYPE))
    real = np.arange(xy.shape[1])[None, :] < counts[:, None]  # pentagons: not the padding
    return _encode_rings(xy[real], counts)


def _encode_rings(xy: np.ndarray, counts: np.ndarray) -> list[list[int]]:
    """Rings given by their lon/lat vertices (m, 2), one after the other, and vertex
    counts: each encoded as by :func:`encode_path`."""
    if len(counts) == 0:
        return []
    ll = np.round(xy[:, ::-1] * SCALE).astype(np.int64)  # lat, lon
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    delta = np.diff(ll, axis=0, prepend=np.zeros((1, 2), np.int64))
    delta[starts] = ll[starts]
    flat = delta.ravel().tolist()  # one conversion, then list slices (no per-ring arrays)
    bounds = (2 * np.r_[starts, len(delta)]).tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# --- cells -----------------------------------------------------------------------------


def known_share_column(layer: str, variable: str | None = None) -> str:
    """Name of the finished column: percent of a parent's run-resolution cells in which
    ``layer`` has data (its ``<layer>__cover`` > 0), or, for a layer with a cover per
    variable, in which ``variable`` is known (``<layer>__cover__<variable>`` > 0)."""
    base = f"{layer}__cells_with_data"
    return base if variable is None else f"{base}__{variable}"


def _counted(variables: list[Variable]) -> list[Variable]:
    """Count and category variables: those a cell outside its layer's data holds as 0."""
    return [v for v in variables if v.kind in (Kind.COUNT, Kind.CATEGORY)]


def cell_additive(result: Result) -> tuple[pd.DataFrame, list[Variable]]:
    """The cells' additive columns plus the score and tier shares as intensive pairs, and
    their variables.

    The score of a cell is the weighted mean of the scores of the villages sharing it
    (as in the pipeline); keeping numerator and weight lets it roll up exactly. So do
    :data:`SCORE_COMPLETE` (percent of that weight from villages whose score rests on
    every criterion known; below 100 the map hatches the cell) and :data:`TIER_SHARES`
    (share of the cell's village weight per tier, see :func:`main_tier`).

    Counts and categories are unknown (NaN, not 0) in cells their layer does not cover
    (``<layer>__cover`` = 0, or the variable's own ``<layer>__cover__<variable>`` = 0
    for a layer with a cover per variable; :func:`despro.variables.uncovered`), as in
    the pipeline's finished cell table; a parent cell is then unknown only when all its
    children are (sums skip NaN, an all-NaN sum stays NaN). Per such layer (or variable
    with its own cover) a rate variable :func:`known_share_column` (numerator 1 per
    covered cell, denominator 1 per cell) says which share of a parent's cells had
    data, so a partly covered parent shows that its count is a lower bound.

    :class:`CellAdditive` gives the same, block of cells by block of cells.
    """
    sums = CellAdditive(result)
    return sums.rows(None), sums.variables


class CellAdditive:
    """:func:`cell_additive` of a run for any subset of its cells: the table of a block
    of rows costs memory for that block only (the map's cell pyramid is built block by
    block, see :func:`despro.mapsite.pyramid.build_levels`).

    Parameters
    ----------
    result : Result
        From :func:`despro.run`; only its ``variables`` are taken.

    Attributes
    ----------
    variables : list of Variable
        The variables of the tables :meth:`rows` makes.
    """

    def __init__(self, result: Result) -> None:
        cells = self.cells = result.cell_columns
        variables = [
            v
            for v in result.variables.values()
            if all(c in cells.columns for c in additive_columns(v))
        ]
        self.columns = [c for v in variables for c in additive_columns(v)]
        # per counted variable with a cover: (its columns, cover column, share name)
        self.unknown: list[tuple[list[str], str, str]] = []
        shares: dict[str, Variable] = {}
        for layer in sorted({v.layer for v in _counted(variables)}):
            for v in [v for v in _counted(variables) if v.layer == layer]:
                cov = cover_of(cells, v)
                if cov is None:  # no cover: its zeros are zeros (:func:`uncovered`)
                    continue
                own = cov != cover_column(layer)
                name = known_share_column(layer, v.name if own else None)
                self.unknown.append((additive_columns(v), cov, name))
                if name not in shares:
                    shares[name] = Variable(
                        name,
                        Kind.RATE,
                        "percent",
                        f"share of cells with {v.name if own else layer} data",
                        layer,
                    )
        self.variables = [*variables, *shares.values(), SCORE, SCORE_COMPLETE, *TIER_SHARES]
        v = result.villages.reindex(result.study.village_index)
        score = v["score"].to_numpy(float)
        scored = ~np.isnan(score)
        complete = scored & (v["score_known_share"].to_numpy(float) >= 1.0)
        tier = v["tier"].to_numpy(object)
        # per village, the values whose transfer-weighted sums the score and tier columns are
        self.terms = np.column_stack(
            [np.nan_to_num(score), scored, complete, np.ones(len(tier))]
            + [tier == t for t in TIERS]
        ).astype(float)
        self.weights = result.study.weights.T.tocsr()  # cells x villages

    def rows(self, rows: np.ndarray | None) -> pd.DataFrame:
        """The additive table (see :func:`cell_additive`) of the cells at positions
        ``rows``, in that order, with a default index; of all cells, with their index,
        when None."""
        cells = self.cells
        if rows is None:
            add = cells[self.columns].copy()
            w = self.weights
        else:
            add = pd.DataFrame({c: cells[c].to_numpy()[rows] for c in self.columns})
            w = self.weights[rows]
        done = set()
        for cols, cov, name in self.unknown:
            unknown = ~(cells[cov].to_numpy(float)[slice(None) if rows is None else rows] > 0)
            add[cols] = add[cols].astype(float)
            add.loc[unknown, cols] = np.nan
            if name in done:
                continue
            done.add(name)
            add[f"{name}__num"] = (~unknown).astype(float)
            add[f"{name}__den"] = 1.0
        sums = w @ self.terms
        add["village_score__wsum"] = sums[:, 0]
        add["village_score__w"] = sums[:, 1]
        add[f"{SCORE_COMPLETE.name}__num"] = sums[:, 2]
        add[f"{SCORE_COMPLETE.name}__den"] = add["village_score__w"]
        for k, var in enumerate(TIER_SHARES):
            add[f"{var.name}__wsum"] = sums[:, 4 + k]
            add[f"{var.name}__w"] = sums[:, 3]
        return add


def main_tier(table: pd.DataFrame) -> np.ndarray:
    """Per cell, the index into :data:`TIERS` of the tier most of its villages have (by
    transfer weight; a tie goes to the worse tier), NaN where no village has weight."""
    shares = table[[v.name for v in TIER_SHARES]].to_numpy(float)
    worst_first = np.nan_to_num(shares[:, ::-1], nan=-1.0)
    out = (len(TIERS) - 1 - worst_first.argmax(axis=1)).astype(float)
    return np.where(np.isnan(shares).all(axis=1), np.nan, out)


def page_cells(
    add: pd.DataFrame, ids: np.ndarray, variables: list[Variable], res: int
) -> pd.DataFrame:
    """Finished values per cell at resolution ``res`` (rolled up exactly when coarser).

    Category variables also get their total (e.g. all courier outlets of a cell),
    unknown where every class is.
    """
    out = cells_to_parents(add, ids, res, variables)
    for v in variables:
        if v.kind is Kind.CATEGORY and v.name not in out:
            cols = additive_columns(v)
            out[v.name] = out[cols].sum(axis=1, min_count=1) if cols else np.nan
    if all(v.name in out for v in TIER_SHARES):
        out[TIER_CELLS] = main_tier(out)
    return out


def coverage_share(table: pd.DataFrame, spec: dict, variables: dict[str, Variable]) -> list | None:
    """Percent of each cell's children with data for a count layer, or None when every
    cell is either fully covered or unknown (nothing partial to show)."""
    var = variables.get(spec["column"]) or variables.get(spec["column"].removesuffix("_n_classes"))
    if var is None or var.kind not in (Kind.COUNT, Kind.CATEGORY):
        return None
    col = known_share_column(var.layer, var.name)
    if col not in table:
        col = known_share_column(var.layer)
    if col not in table:
        return None
    share = table[col].to_numpy(float)
    partial = np.isfinite(share) & (share > 0) & (share < 100)
    return numbers(share, 0) if partial.any() else None


def n_parents(ids: np.ndarray, res: int) -> int:
    """How many distinct cells ``ids`` make at resolution ``res``."""
    return len(grid.unique_cells(grid.parent_cells(ids, res)))


def _palette(n: int, higher_is_better: bool) -> list[str]:
    cmap = colormaps["RdYlGn"]
    cols = [to_hex(cmap(0.1 + 0.8 * i / max(n - 1, 1))) for i in range(n)]
    return cols if higher_is_better else cols[::-1]


def _class_labels(breaks: list[float], suffix: str, lang: str, digits: int) -> list[str]:
    b = [fmt_number(x, lang, digits) for x in breaks]
    unit = f" {suffix}" if suffix else ""
    labels = [f"< {b[0]}{unit}"]
    labels += [f"{lo} \u2013 < {hi}{unit}" for lo, hi in zip(b[:-1], b[1:], strict=True)]
    return labels + [f"\u2265 {b[-1]}{unit}"]


def choropleth_spec(spec: Choropleth, rules: Iterable[Rule], lang: str) -> dict:
    """Breaks, colours, unit and the escaped legend of one cell layer."""
    t = LABELS[lang]
    scale, suffix, _ = unit_display(spec.unit, lang)
    breaks = set(spec.breaks)
    notes = []
    classes = CATEGORIES.get(spec.key, ())
    for r in [] if classes else rules:
        if r.variable == spec.column or r.variable == spec.key:
            breaks.add(round(r.threshold * scale, 6))
            notes.append(f"{r.id}: {threshold_text(r.op, r.threshold, r.unit, lang)}")
    breaks = sorted(breaks)
    if classes:
        colours = [TIER_COLOURS.get(c, UNKNOWN_COLOUR) for c in classes]
        names = [t[c] for c in classes]
    else:
        colours = _palette(len(breaks) + 1, spec.higher_is_better)
        names = _class_labels(breaks, suffix, lang, spec.digits)
    rows = list(zip(colours, names, strict=True))
    rows.append((UNKNOWN_COLOUR, t["unknown"]))
    legend = "".join(
        f"<div><i style='background:{c}'></i>{escape_text(label)}</div>" for c, label in rows
    )
    complete = COMPLETE.get(spec.key)
    if complete:
        legend += f"<div><i class='despro-hatch'></i>{escape_text(t['score_incomplete'])}</div>"
    caption = escape_text(t[spec.key]) + (
        f" <small>({escape_text('; '.join(notes))})</small>" if notes else ""
    )
    extra = {"names": [escape_text(n) for n in names]} if classes else {}
    if complete:
        extra.update(
            complete=complete,
            hatch=[INCOMPLETE_BACK, INCOMPLETE_LINE],
            incomplete=escape_text(t["score_incomplete"]),
        )
    return {
        "key": spec.key,
        "column": spec.column,
        "label": escape_text(t[spec.key]),
        "breaks": breaks,
        "colours": colours,
        "unknown": UNKNOWN_COLOUR,
        "scale": scale,
        "digits": spec.digits,
        "suffix": escape_text(suffix),
        "show": spec.show,
        "legend": f"<b>{caption}</b>{legend}",
        **extra,
    }


def cells_payload(
    table: pd.DataFrame, specs: list[dict], variables: dict[str, Variable] | None = None
) -> dict:
    """Encoded hexagons and, per layer (its column in ``table``), the rounded values in
    display units; ``known``: per count layer whose cells are partly covered, the percent
    of each cell's children with data (see :func:`coverage_share`); ``complete``: per
    layer with a ``complete`` column (the score), the percent of the value resting on
    complete data, rounded down (so that anything short of 100 stays short and is hatched).
    """
    ids = table.index.to_numpy(dtype=grid.CELL_DTYPE)
    values, known, complete = {}, {}, {}
    for s in specs:
        values[s["key"]] = numbers(table[s["column"]].to_numpy(float) * s["scale"], s["digits"])
        share = coverage_share(table, s, variables or {})
        if share is not None:
            known[s["key"]] = share
        if s.get("complete") in table:
            complete[s["key"]] = numbers(np.floor(table[s["complete"]].to_numpy(float)), 0)
    return {"geom": encode_cells(ids), "values": values, "known": known, "complete": complete}


# --- villages --------------------------------------------------------------------------

EVIDENCE_LETTERS = {
    "census": "c",
    "village": "v",
    "cells": "m",
    "regency": "r",
    "province": "p",
    "none": "n",
}


def rules_payload(result: Result, lang: str) -> list[dict]:
    """Per rule, sent once: id, label, threshold text, and per evidence level the source.

    ``srcs`` maps an evidence letter to "layer · vintage (evidence level)" for every
    level that decided some village, the layer named by its title in ``lang``
    (:func:`despro.layers.titles`); ``src`` is the rule's main source.
    """
    label = "label_id" if lang == "id" else "label_en"
    words = LABELS[lang]
    titles = registry.titles(lang)  # "TIK BPS", not the layer key "smartphone"
    crit = result.criteria
    if "evidence" not in crit:
        crit = crit.assign(evidence="cells")
    by_level = crit.drop_duplicates(["rule", "evidence"]).set_index(["rule", "evidence"])
    decl = crit.drop_duplicates("rule").set_index("rule")
    out = []
    for r in result.config.criteria.rules:
        d = decl.loc[r.id] if r.id in decl.index else None
        srcs = {}
        for (rid, lvl), row in by_level.iterrows():
            if rid == r.id:
                name = titles.get(row["layer"], row["layer"])
                text = f"{name} \u00b7 {row['vintage']}" if row["vintage"] else name
                srcs[EVIDENCE_LETTERS.get(lvl, "n")] = escape_text(
                    f"{text} ({words.get(f'ev_{lvl}', lvl)})"
                )
        layer = titles.get(d["layer"], d["layer"]) if d is not None else ""
        vintage = d["vintage"] if d is not None else ""
        out.append(
            {
                "id": escape_text(r.id),
                "label": escape_text(getattr(r, label)),
                "thr": escape_text(threshold_text(r.op, r.threshold, r.unit, lang)),
                "src": escape_text(f"{layer} \u00b7 {vintage}" if vintage else layer),
                "srcs": srcs,
                "title": escape_text(d["source"] if d is not None else ""),
                "info": r.role != "gate",
            }
        )
    return out


def _escape_all(texts: np.ndarray) -> list[str]:
    """HTML-escaped texts, each distinct text escaped once."""
    uniq, inverse = np.unique(texts.astype(str), return_inverse=True)
    return np.array([escape_text(x) for x in uniq.tolist()], dtype=object)[inverse].tolist()


def _rule_texts(long: pd.DataFrame, codes: pd.Index, rule, lang: str):
    """Escaped value texts, state letters, margin texts and evidence letters of one rule.

    The evidence letter picks the text naming the source layer, its vintage and the
    evidence level that decided this village (census, cells, regency or province
    statistics).
    """
    sub = long[long["rule"] == rule.id].set_index("village_code").reindex(codes)
    states = sub["state"].fillna(UNKNOWN).astype(str).to_numpy()
    values = _escape_all(value_texts(sub["value"].to_numpy(float), rule.unit, lang))
    margins = _escape_all(
        margin_texts(
            sub["margin"].to_numpy(float), states, rule.op, rule.unit, lang, rule.threshold
        )
    )
    ev = sub["evidence"] if "evidence" in sub else pd.Series("cells", index=sub.index)
    letters = "".join(ev.astype(object).map(EVIDENCE_LETTERS).fillna("n").tolist())
    return values, "".join(s[0] for s in states), margins, letters


def villages_payload(
    result: Result, lang: str, imputed: dict[str, list] | None = None
) -> dict[str, list]:
    """One compact record per village, by village code (see ``despro.js``: village record).

    ``[lat, lon, code, name, tier index, rank, shortlisted 0/1, product,
    value texts, state letters, margin texts, evidence letters, score text]``; texts
    escaped. The evidence letter (see :data:`EVIDENCE_LETTERS`) picks the rule's source
    text for the level that decided the village (``srcs`` in :func:`rules_payload`); the
    score text gives the range and the known share when data are missing
    (:func:`despro.mapsite.labels.score_texts`). A village in ``imputed``
    (:func:`despro.mapsite.analysis.imputed_records`) gets that record as a 14th element.
    """
    imputed = imputed or {}
    v = result.villages
    per_rule = [
        _rule_texts(result.criteria, v.index, r, lang) for r in result.config.criteria.rules
    ]
    values = list(zip(*(r[0] for r in per_rule), strict=True)) if per_rule else [()] * len(v)
    margins = list(zip(*(r[2] for r in per_rule), strict=True)) if per_rule else [()] * len(v)
    states = (
        ["".join(x) for x in zip(*(r[1] for r in per_rule), strict=True)]
        if per_rule
        else [""] * len(v)
    )
    letters = (
        ["".join(x) for x in zip(*(r[3] for r in per_rule), strict=True)]
        if per_rule
        else [""] * len(v)
    )
    shortlisted = v.index.isin(result.shortlist()["village_code"]).astype(int).tolist()
    pts = v.geometry.representative_point().to_numpy()
    lats = np.round(shapely.get_y(pts), 5).tolist()
    lons = np.round(shapely.get_x(pts), 5).tolist()
    tier_index = {t: i for i, t in enumerate(TIERS)}
    tiers = [tier_index[t] for t in v["tier"]]
    ranks = v["rank"].astype(int).tolist()
    codes = v.index.tolist()
    names = _escape_all(v["village_name"].to_numpy(object))
    if "flagship_product" in v:
        product = v["flagship_product"]
        products = _escape_all(
            product.where(product.map(lambda x: isinstance(x, str)), "").to_numpy(object)
        )
    else:
        products = [""] * len(v)
    scores = _escape_all(
        np.array(
            score_texts(
                v["score"].to_numpy(float),
                v["score_best"].to_numpy(float)
                if "score_best" in v
                else v["score"].to_numpy(float),
                v["score_known_share"].to_numpy(float),
                lang,
            ),
            dtype=object,
        )
    )
    out = {}
    for i, code in enumerate(codes):
        out[code] = [
            lats[i],
            lons[i],
            escape_text(code),
            names[i],
            tiers[i],
            ranks[i],
            shortlisted[i],
            products[i],
            list(values[i]),
            states[i],
            list(margins[i]),
            letters[i],
            scores[i],
        ]
        if code in imputed:
            out[code].append(imputed[code])
    return out


# --- lines and points ------------------------------------------------------------------


def features(result: Result) -> dict:
    """Point and line features of all layers by name (backbone routes, outlets...)."""
    out = {}
    for r in result.layers.values():
        out.update(r.features)
    return out


def _in_bounds(gdf, bounds):
    return gdf.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]]


def routes_payload(gdf: gpd.GeoDataFrame, bounds: Bounds, tolerance: float) -> list[list]:
    """Backbone routes inside ``bounds``: [encoded line, escaped tooltip]."""
    sub = _in_bounds(gdf, bounds)
    geoms = shapely.simplify(sub.geometry.to_numpy(), tolerance) if tolerance else sub.geometry
    out = []
    for geom, (_, row) in zip(geoms, sub.iterrows(), strict=True):
        tip = escape_text(
            " \u00b7 ".join(
                str(row[c])
                for c in ("name", "segment_type", "operator")
                if c in row and isinstance(row[c], str)
            )
        )
        out.extend([path, tip] for path in encode_geometries([geom]))
    return out


def points_payload(gdf: gpd.GeoDataFrame, bounds: Bounds, label_column: str) -> dict:
    """Points inside ``bounds``: encoded coordinates and an index into escaped labels."""
    sub = _in_bounds(gdf, bounds)
    labels = (
        sub[label_column].astype(str) if label_column in sub else pd.Series("", index=sub.index)
    )
    names = sorted(labels.unique())
    pos = {n: i for i, n in enumerate(names)}
    return {
        "path": encode_path(sub.geometry.y.to_numpy(), sub.geometry.x.to_numpy()),
        "label": [pos[n] for n in labels],
        "labels": [escape_text(n) for n in names],
    }


def admin_outlines(
    villages: gpd.GeoDataFrame, tolerance: float = 5e-4, threads: int = 2
) -> dict[str, object]:
    """Regency and province outlines dissolved from the village polygons (simplified).

    They give a page its geography when there is no basemap (offline). The unions (as
    ``GeoDataFrame.dissolve`` would compute them, group by group in code order) run on
    ``threads`` threads: GEOS releases the GIL, and nationally they are 514 + 38 unions.
    """
    codes = villages["regency_code"].to_numpy()
    regency_codes, reg_geoms = _union_by(codes, villages.geometry.to_numpy(), threads, tolerance)
    first = pd.Series(villages["province_code"].to_numpy(), index=codes)
    province_of = first[~first.index.duplicated()].reindex(regency_codes).to_numpy()
    regencies = gpd.GeoDataFrame(
        {"province_code": province_of},
        index=pd.Index(regency_codes, name="regency_code"),
        geometry=reg_geoms,
        crs=villages.crs,
    )
    province_codes, prov_geoms = _union_by(province_of, reg_geoms, threads)
    provinces = gpd.GeoDataFrame(
        index=pd.Index(province_codes, name="province_code"), geometry=prov_geoms, crs=villages.crs
    )
    return {"regency": regencies, "province": provinces}


def _union_by(keys: np.ndarray, geoms: np.ndarray, threads: int, tolerance: float = 0.0):
    """Sorted distinct ``keys`` and the union of each one's ``geoms`` (in input order),
    each simplified by ``tolerance`` first (0: not simplified)."""
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    groups = np.split(geoms[order], np.cumsum(np.bincount(inverse, minlength=len(uniq)))[:-1])

    def union(group):
        return shapely.union_all(shapely.simplify(group, tolerance) if tolerance else group)

    with ThreadPoolExecutor(max(threads, 1)) as ex:
        unions = list(ex.map(union, groups))
    return uniq.astype(object), np.array(unions, dtype=object)


def outlines_payload(gdf: gpd.GeoDataFrame) -> list[list]:
    """Encoded outlines and their escaped codes."""
    out = []
    for code, geom in zip(gdf.index, gdf.geometry, strict=True):
        out.extend([ring, escape_text(code)] for ring in encode_geometries([geom]))
    return out


def criteria_summary(villages: pd.DataFrame) -> pd.DataFrame:
    """Share (%) of villages passing, failing and unknown per criterion P1..I3."""
    rows = {
        c: villages[f"{c}_state"].value_counts(normalize=True).reindex(STATES).fillna(0) * 100
        for c in CRITERIA
        if f"{c}_state" in villages
    }
    return pd.DataFrame(rows).T
