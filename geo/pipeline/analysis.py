"""What an analyst asks of a run, answered in memory: what-ifs, one village, diffs, roll-ups.

The methods of :class:`despro.pipeline.runner.Result` call these functions; nothing
here reads or writes a file.

* :func:`with_thresholds` / :func:`with_weights`: a new Result re-evaluated from the
  villages' values (``Result.village_values``) with the same function a run uses
  (:func:`despro.pipeline.runner.score_villages`), so it equals a full rerun with the
  changed config, without reading or aggregating anything again;
* :func:`explain`: one village's rules, values, thresholds, margins, evidence and what
  would decide it, as a frame that reads well in a notebook;
* :func:`diff`: the villages whose tier differs between two results, and which rules
  moved;
* :func:`cells_of`: the H3 cells a village overlaps;
* :func:`to_admin`: names, tier counts, exact rates and outlines per regency or province;
* :func:`shortlist` and :func:`explore`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from despro import layers as registry
from despro.codes import normalise_codes
from despro.config.settings import CriteriaConfig
from despro.config.vocab import FAIL, PASS, TIERS, UNKNOWN
from despro.rules import explain as why
from despro.transfer.rollup import villages_to_admin

if TYPE_CHECKING:
    import folium

    from despro.pipeline.runner import Result

#: colour-blind-safe tier colours (Okabe-Ito), used by :func:`explore` and the GeoPackage styles
TIER_COLOURS = {
    "ready": "#009E73",
    "near-ready": "#56B4E9",
    "undetermined": "#E69F00",
    "not ready": "#999999",
}
STATE_COLOURS = {PASS: "#d9f0e3", FAIL: "#fbe3d6", UNKNOWN: "#f0f0f0"}


# -- what-ifs -------------------------------------------------------------------------


def _verdict_start(result: Result) -> int:
    """Position of the first verdict column of ``result.villages`` (after the covers)."""
    cols = result.villages.columns
    rules = result.config.criteria.rules
    first = f"{rules[0].id}_state" if rules else "tier"
    return cols.get_loc(first)


def rescored(result: Result, criteria: CriteriaConfig) -> Result:
    """A new Result whose villages are re-evaluated under ``criteria``, in memory.

    Only the rules' verdicts are recomputed (``criteria``, ``conflicts``, the rule,
    criterion, tier, score, rank and explain columns of ``villages``) by the function a
    run uses (:func:`despro.pipeline.runner.score_villages`), on integer codes; values,
    cells, layers and the study are shared with ``result`` (not copied). A rule defined
    as before is not evaluated again (``Result.verdicts`` keeps its arrays: a threshold
    change evaluates one rule, a weight change none), and the long table's text columns
    that did not change are shared.

    With ``[model]`` enabled the model is refit only when it would learn something
    else: its labels are the observed states of a rule's observed evidence (e.g. I1b's
    census answer, at that evidence's own threshold), and its features are the values,
    which no threshold changes. So it is reused unless a changed rule's observed labels
    differ (a rule whose observed evidence takes the rule's threshold), or the rules'
    observed evidence changes; a refit fits every modelled rule, as a run does.

    Parameters
    ----------
    result : Result
        From :func:`despro.run`.
    criteria : CriteriaConfig
        The new ``[criteria]`` (thresholds, weights or tier rule changed).

    Returns
    -------
    Result
        Equal to ``despro.run`` on the config with ``criteria`` (every state, tier,
        score and rank).
    """
    from dataclasses import replace

    from despro.pipeline import runner

    if result.village_values.empty:
        raise ValueError("this Result keeps no village values (made by an older despro)")
    config = result.config.model_copy(update={"criteria": criteria})
    modelled = result.model
    if config.model.enabled and _model_changes(result, criteria, config):
        modelled = runner.fit_model(
            result.village_values, config, result.variables, result.study, result.study.villages
        )
    previous = (result.verdicts, result.criteria) if result.verdicts is not None else None
    scored = runner.score_villages(
        result.village_values, config, result.variables, result.villages.index, previous
    )
    v = result.villages
    geom = v.geometry.name
    base = v[[*(c for c in v.columns[: _verdict_start(result)] if c != geom), geom]]
    villages = runner.scored_columns(
        gpd.GeoDataFrame(base, geometry=geom),
        scored,
        modelled,
        (result.verdicts, v) if result.verdicts is not None else None,
    )
    return replace(
        result,
        config=config,
        villages=villages,
        criteria=scored.long,
        conflicts=scored.conflicts,
        model=modelled,
        verdicts=scored.verdicts,
        timings=dict(result.timings),
    )


def _model_changes(result: Result, new: CriteriaConfig, config) -> bool:
    """Whether the model would learn from other labels under ``new`` (see :func:`rescored`)."""
    from despro.model.evidence import observed_labels

    if result.model is None:
        return True
    levels = tuple(config.model.observed_levels)
    old = result.config.criteria

    def observed(c: CriteriaConfig) -> list:
        return [
            (r.id, [e for e in r.evidence if e.level in levels])
            for r in c.rules
            if any(e.level in levels for e in r.evidence)
        ]

    if observed(old) != observed(new):
        return True
    before = {r.id: r for r in old.rules}
    values = result.village_values
    for r in new.rules:
        if r == before[r.id] or not any(e.level in levels for e in r.evidence):
            continue
        a = observed_labels(values, before[r.id], levels).to_numpy(float)
        b = observed_labels(values, r, levels).to_numpy(float)
        if not np.array_equal(a, b, equal_nan=True):
            return True
    return False


def _criteria(result: Result, **update) -> CriteriaConfig:
    data = result.config.criteria.model_dump()
    data.update(update)
    return CriteriaConfig.model_validate(data)


def with_thresholds(result: Result, **thresholds: float) -> Result:
    """A new Result with rule thresholds changed, re-evaluated in memory.

    Parameters
    ----------
    result : Result
    **thresholds : float
        Rule id -> new threshold in the rule's unit (``I2b=18``: 18 % of households with
        a computer; ``I1a=35``); as ``[criteria] thresholds`` in ``despro.toml``.

    Returns
    -------
    Result
        Equal to a run with those thresholds (nothing is read or aggregated again).

    Raises
    ------
    pydantic.ValidationError
        An unknown rule id (the message lists the known ones) or a non-number.
    """
    over = {**result.config.criteria.thresholds, **thresholds}
    return rescored(result, _criteria(result, thresholds=over))


def with_weights(result: Result, **weights: float) -> Result:
    """A new Result with the composite score's criterion weights changed.

    Parameters
    ----------
    result : Result
    **weights : float
        Criterion (P1 ... I3) -> weight (>= 0; unitless, relative). Criteria not named
        keep their weight.

    Returns
    -------
    Result
        Same tiers; scores and ranks under the new weights.
    """
    unknown = set(weights) - set(result.config.criteria.weights)
    if unknown:
        raise ValueError(
            f"unknown criteria {sorted(unknown)}; known: {list(result.config.criteria.weights)}"
        )
    return rescored(
        result, _criteria(result, weights={**result.config.criteria.weights, **weights})
    )


# -- one village ----------------------------------------------------------------------


class Explanation(pd.DataFrame):
    """One village's rules as a frame, with a heading in notebooks (:func:`explain`)."""

    _metadata = ["heading"]

    @property
    def _constructor(self):
        return Explanation

    def _repr_html_(self) -> str:
        head = getattr(self, "heading", None) or {}
        lines = "".join(
            f"<div><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</div>"
            for k, v in head.items()
            if v not in (None, "")
        )
        body = pd.DataFrame(self).to_html(
            index=False, escape=True, na_rep="", float_format=lambda x: f"{x:,.4g}"
        )
        for state, colour in STATE_COLOURS.items():
            body = body.replace(
                f"<td>{state}</td>", f'<td style="background:{colour}">{state}</td>'
            )
        return f'<div class="despro-explain">{lines}{body}</div>'


EXPLAIN_FRAME_COLUMNS = [
    "rule",
    "criterion",
    "role",
    "label",
    "variable",
    "value",
    "op",
    "threshold",
    "unit",
    "state",
    "margin",
    "binding",
    "evidence",
    "source",
    "vintage",
    "would_decide",
]


def _code(result: Result, code: object) -> str:
    c = str(normalise_codes([code], errors="coerce").iloc[0])
    if c not in result.villages.index:
        examples = ", ".join(result.villages.index[:3])
        raise KeyError(f"no village {code!r} in this run (codes look like {examples})")
    return c


def explain(result: Result, code: object, lang: str | None = None) -> Explanation:
    """Why one village has its tier, and what would change it.

    Parameters
    ----------
    result : Result
    code : str
        The village's 10-digit code (dotted ``34.02.01.2005`` accepted).
    lang : 'id' or 'en', optional
        Language of the labels and texts (default ``config.run.lang``).

    Returns
    -------
    Explanation
        A DataFrame, one row per rule: ``rule``, ``criterion``, ``role`` (gate / info),
        ``label``, ``variable`` (the one that decided), ``value``, ``op``, ``threshold``,
        ``unit``, ``state``, ``margin`` (in the rule's unit; negative = short by),
        ``binding`` (the rule that keeps the village from ready), ``evidence`` (the
        level that decided: census, village, cells, regency, ...), ``source``,
        ``vintage`` and ``would_decide`` (what it would take: the gap for a failing
        rule, the data for an unknown one). ``heading`` holds the village's name,
        regency, tier, score, rank and summary; a notebook shows it above the table.
    """
    lang = lang or result.config.run.lang
    c = _code(result, code)
    crit = result.criteria
    rows = crit[crit["village_code"].to_numpy() == c]
    rules = {r.id: r for r in result.config.criteria.rules}
    inputs = why.rule_inputs(result.config.criteria.rules, result.variables, registry.providers())
    titles = registry.titles(lang)
    v = result.villages.loc[c]
    out = pd.DataFrame(rows).reset_index(drop=True)

    def label(rule: str) -> str:
        r = rules.get(rule)
        if r is None:
            return rule
        return (r.label_id if lang == "id" else r.label_en) or r.label_en or rule

    out["label"] = [label(r) for r in out["rule"]]
    out["binding"] = out["rule"] == v.get("binding_rule")
    decide = []
    for r, state, value, thr, unit in zip(
        out["rule"], out["state"], out["value"], out["threshold"], out["unit"], strict=True
    ):
        if state == UNKNOWN:
            decide.append(why.data_text(inputs.get(r, r), lang, titles))
        elif state == FAIL:
            decide.append(why.gap_text(thr - value, unit, label(r), lang, thr))
        else:
            decide.append("")
    out["would_decide"] = decide
    heading = {
        "village": f"{v.get('village_name', '')} ({c})",
        "regency": v.get("regency_name", v.get("regency_code", "")),
        "province": v.get("province_name", v.get("province_code", "")),
        "tier": v["tier"],
        "score": f"{v['score']:.1f}" if pd.notna(v["score"]) else "",
        "rank": int(v["rank"]),
        "binding": v.get("binding_text", ""),
        "data needed": v.get("data_needed_text", ""),
    }
    if "p_ready" in v and pd.notna(v["p_ready"]):
        heading["p_ready"] = f"{v['p_ready']:.2f}"
    frame = Explanation(out[EXPLAIN_FRAME_COLUMNS])
    frame.heading = heading
    return frame


# -- two results ----------------------------------------------------------------------


def _fmt(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.4g}"


def diff(before: Result, after: Result) -> gpd.GeoDataFrame:
    """The villages whose tier differs between two results, and which rules moved.

    Parameters
    ----------
    before, after : Result
        Two runs (or what-ifs) over the same villages.

    Returns
    -------
    GeoDataFrame
        One row per village whose tier changed (index: village code): names,
        ``tier_before`` / ``tier_after``, ``score_*``, ``rank_*``, ``rules_changed``
        (the rules whose state changed, ``; ``-separated) and ``why`` (each such rule:
        state before -> after, its value, and its threshold before -> after), village
        polygons; by rank after.
    """
    a, b = before.villages, after.villages
    common = a.index.intersection(b.index)
    moved = common[(a.loc[common, "tier"] != b.loc[common, "tier"]).to_numpy()]
    ids = [c for c in ("village_name", "regency_name", "province_name") if c in b.columns]
    out = pd.DataFrame(b.loc[moved, ids])
    for col in ("tier", "score", "rank"):
        out[f"{col}_before"] = a.loc[moved, col]
        out[f"{col}_after"] = b.loc[moved, col]
    key = ["village_code", "rule"]
    la = before.criteria[before.criteria["village_code"].isin(moved)]
    lb = after.criteria[after.criteria["village_code"].isin(moved)]
    m = la[[*key, "state", "value", "threshold", "unit"]].merge(
        lb[[*key, "state", "value", "threshold"]], on=key, suffixes=("_a", "_b")
    )
    m = m[m["state_a"] != m["state_b"]]
    text = [
        f"{r}: {sa} -> {sb} (value {_fmt(va)} {u}; threshold "
        + (_fmt(ta) if ta == tb else f"{_fmt(ta)} -> {_fmt(tb)}")
        + ")"
        for r, sa, sb, va, u, ta, tb in zip(
            m["rule"],
            m["state_a"],
            m["state_b"],
            m["value_b"],
            m["unit"],
            m["threshold_a"],
            m["threshold_b"],
            strict=True,
        )
    ]
    m = m.assign(text=text)
    grouped = m.groupby("village_code", sort=False)
    out["rules_changed"] = grouped["rule"].agg("; ".join).reindex(moved).fillna("")
    out["why"] = grouped["text"].agg("; ".join).reindex(moved).fillna("")
    out = gpd.GeoDataFrame(out, geometry=b.geometry.loc[moved], crs=b.crs)
    out.index.name = "village_code"
    return out.sort_values("rank_after")


# -- cells, admin units, shortlist, maps -----------------------------------------------


def cells_of(result: Result, code: object) -> gpd.GeoDataFrame:
    """The H3 cells one village overlaps, with how much of each.

    Parameters
    ----------
    result : Result
    code : str
        The village's 10-digit code.

    Returns
    -------
    GeoDataFrame
        The cell table's rows for those cells (hexagons built for these cells only),
        plus ``overlap_m2`` (area shared with the village, m2), ``share_of_village``
        (0-1: the village's transfer weight in that cell: area or population, as
        ``[run] weights``) and ``share_of_cell`` (0-1: overlap / cell area).
    """
    import shapely

    from despro.grid.celltable import LazyCells

    c = _code(result, code)
    study = result.study
    i = study.village_index.get_loc(c)
    area = study.area.getrow(i)
    weight = study.weights.getrow(i).toarray().ravel()
    cols = area.indices[np.argsort(area.indices)]
    overlap = area.toarray().ravel()[cols]
    cells = result._cells
    if isinstance(cells, LazyCells):
        geometry = shapely.from_wkb(np.asarray(cells.wkb.take(cols).to_numpy(zero_copy_only=False)))
        out = gpd.GeoDataFrame(
            cells.columns.iloc[cols].reset_index(drop=True), geometry=geometry, crs=cells.crs
        )
    else:
        out = cells.iloc[cols].reset_index(drop=True)
    out["overlap_m2"] = overlap
    total = weight.sum()
    out["share_of_village"] = weight[cols] / total if total > 0 else np.nan
    if "area_m2" in out:
        out["share_of_cell"] = overlap / out["area_m2"].to_numpy(float)
    return out


def to_admin(
    result: Result,
    level: Literal["regency", "province"] = "regency",
    geometry: bool = True,
    summary: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Names, tier counts, exact rates and outlines per regency or province.

    Rates are re-aggregated exactly: the villages' numerators and denominators are summed
    and divided once (distances: the minimum), never a mean of percentages, so a rate
    carried down from a regency comes back as published.

    Parameters
    ----------
    result : Result
    level : {'regency', 'province'}
    geometry : bool
        Dissolve the villages' polygons into each unit's outline (skip for speed).
    summary : DataFrame, optional
        :func:`despro.rules.explain.summary` of the villages at ``level`` when the
        caller has it already (``write_outputs`` writes it as a CSV too).

    Returns
    -------
    GeoDataFrame
        Index ``<level>_code`` (4 or 2 digits): names, ``villages``, ``n_ready``,
        ``n_near_ready``, ``n_undetermined``, ``n_not_ready``, ``top_binding_criterion``,
        ``pct_undetermined_<input>`` (see :func:`despro.rules.explain.summary`), then one
        column per finished variable in its unit (percent, Mbps, metres, counts), and
        the dissolved outline (EPSG:4326) when ``geometry``.
    """
    if level not in ("regency", "province"):
        raise ValueError(f"level must be 'regency' or 'province', got {level!r}")
    v = result.villages
    key = f"{level}_code"
    if summary is None:
        summary = why.summary(pd.DataFrame(v.drop(columns=v.geometry.name)), level)
    summary = summary.set_index(key)
    values = villages_to_admin(result.village_additive, v, list(result.variables.values()), level)
    out = summary.join(values.drop(columns=[c for c in values if c in summary]), how="left")
    out.index.name = key
    if not geometry:
        return gpd.GeoDataFrame(out)
    outline = admin_outlines(result, level).reindex(out.index)
    return gpd.GeoDataFrame(out, geometry=outline.to_numpy(), crs="EPSG:4326")


def _largest_village(area) -> np.ndarray:
    """Row (village) of the largest overlap in each column (cell) of a sparse matrix;
    ties to the first village (as ``argmax``, which took 18 s nationally)."""
    csc = area.tocsc()
    csc.sort_indices()
    ptr, data = csc.indptr, csc.data
    best = np.zeros(area.shape[1], dtype=np.int64)
    full = np.flatnonzero(np.diff(ptr) > 0)  # columns with at least one village
    if len(full) == 0:
        return best
    top = np.maximum.reduceat(data, ptr[full])
    at_top = np.flatnonzero(data == np.repeat(top, np.diff(ptr)[full]))
    best[full] = csc.indices[at_top[np.searchsorted(at_top, ptr[full])]]
    return best


def admin_outlines(result: Result, level: Literal["regency", "province"]) -> pd.Series:
    """Each regency's or province's outline as the union of the run's H3 cells, a cell
    going to the unit of the village that covers most of it.

    A regency's cells are merged by H3 itself (``cells_to_h3shape``: the cells' shared
    edges cancel, linear in the cells; nationally 2.47 M cells in about 3 s, where
    building 2.47 M shapely hexagons and a coverage union took about 9 s), vertices
    rounded to 1e-7 degrees (1 cm) so that neighbouring regencies share their edges
    exactly. Provinces are the union of their regencies' outlines, and both are kept on
    the result, so the GeoPackage's two layers merge the cells once. Dissolving the
    villages' own polygons took minutes nationally (83,246 detailed polygons whose real
    boundaries overlap). Edges follow the cells (about 0.5 km at resolution 8).

    Returns
    -------
    Series
        Shapely (multi)polygons in EPSG:4326, indexed by ``<level>_code``.
    """
    import h3.api.basic_int as h3i
    import shapely
    from shapely.geometry import shape

    cache = result.outline_cache
    if level in cache:
        return cache[level]
    if level == "province":  # the union of its regencies' outlines (tens, not millions)
        cache[level] = _province_outlines(result, admin_outlines(result, "regency"))
        return cache[level]
    study = result.study
    best = _largest_village(study.area)
    codes = result.villages[f"{level}_code"].reindex(study.village_index).astype(str).to_numpy()
    names, of_village = np.unique(codes, return_inverse=True)  # per village, not per cell
    used, inverse = np.unique(of_village[best], return_inverse=True)
    keys = names[used]
    ids = np.asarray(study.cells, dtype=np.uint64)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    shapes = [
        shape(h3i.cells_to_h3shape(ids[order[a:b]].tolist()).__geo_interface__)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    rounded = shapely.transform(np.array(shapes, dtype=object), lambda xy: np.round(xy, 7))
    cache[level] = pd.Series(rounded, index=pd.Index(keys, name=f"{level}_code"), dtype=object)
    return cache[level]


def _province_outlines(result: Result, regencies: pd.Series) -> pd.Series:
    """Province outlines as the coverage union of their regencies' outlines.

    Regency outlines are unions of the same rounded hexagons, so neighbours share their
    edges exactly and form a coverage; a province whose regencies do not (a cell split by
    an icosahedron face) falls back to an ordinary union.
    """
    import shapely

    v = result.villages
    province = (
        pd.Series(v["province_code"].astype(str).to_numpy(), index=v["regency_code"].astype(str))
        .groupby(level=0)
        .first()
    )
    of = province.reindex(regencies.index.astype(str)).to_numpy()
    shapes, keys = [], []
    for code in pd.unique(of[pd.notna(of)]):
        parts = regencies.to_numpy()[of == code]
        try:
            shapes.append(shapely.coverage_union_all(parts))
        except shapely.errors.GEOSException:
            shapes.append(shapely.union_all(parts))
        keys.append(code)
    out = pd.Series(shapes, index=pd.Index(keys, name="province_code"), dtype=object)
    return out.sort_index()


#: the columns that lead :func:`shortlist` (the rest follow in the village table's order)
SHORTLIST_FIRST = [
    "rank",
    "village_code",
    "village_name",
    "regency_name",
    "province_name",
    "regency_code",
    "province_code",
    "lat",
    "lon",
    "tier",
    "score",
    "binding_text",
    "data_needed_text",
]


def point_lat_lon(villages: gpd.GeoDataFrame) -> pd.DataFrame:
    """``lat`` / ``lon`` (degrees, EPSG:4326) of a point inside each village polygon."""
    pts = villages.geometry.representative_point()
    return pd.DataFrame({"lat": pts.y.to_numpy(), "lon": pts.x.to_numpy()}, index=villages.index)


def shortlist(result: Result) -> gpd.GeoDataFrame:
    """The top villages of the shortlist tiers, best rank first.

    Returns
    -------
    GeoDataFrame
        At most ``config.shortlist.size`` villages whose tier is in
        ``config.shortlist.tiers``: :data:`SHORTLIST_FIRST` (``lat`` / ``lon`` of a point
        inside the village) then every other village column, village polygons.
    """
    sl = result.config.shortlist
    v = result.villages
    top = v[v["tier"].isin(sl.tiers)].sort_values("rank").head(sl.size)
    top = pd.concat([top, point_lat_lon(top)], axis=1)
    first = [c for c in SHORTLIST_FIRST if c in top.columns]
    rest = [c for c in top.columns if c not in first]
    return gpd.GeoDataFrame(top[first + rest], geometry=v.geometry.name, crs=v.crs)


def explore(result: Result, column: str = "tier", **kwargs: object) -> folium.Map:
    """An interactive folium map of the villages, tiers in their colour-blind-safe colours.

    Parameters
    ----------
    result : Result
    column : str
        Village column to colour by (default ``tier``; any numeric column is classed by
        geopandas / mapclassify).
    **kwargs
        Passed to :meth:`geopandas.GeoDataFrame.explore` (``tooltip``, ``tiles``, ``m``...).

    Returns
    -------
    folium.Map
    """
    v = result.villages
    keep = [
        c
        for c in (
            "village_code",
            "village_name",
            "regency_name",
            "tier",
            "score",
            "rank",
            "binding_text",
            column,
        )
        if c in v.columns
    ]
    frame = v[list(dict.fromkeys(keep)) + [v.geometry.name]]
    if column == "tier":
        present = [t for t in TIERS if t in set(frame["tier"])]
        kwargs.setdefault("categories", present)
        kwargs.setdefault("cmap", [TIER_COLOURS[t] for t in present])
        kwargs.setdefault("categorical", True)
    kwargs.setdefault("tooltip", keep[: min(len(keep), 6)])
    return frame.explore(column=column, **kwargs)
