"""The GeoPackage a QGIS user opens: one file, several layers, styled, described.

Layers of ``villages.gpkg`` (:func:`write_geopackage`):

* ``villages``: the village table (polygons), styled by tier;
* ``cells``: the H3 cells with their finished values, covers and ``village_score``,
  styled by score, with one extra style per gate rule whose variable the cells carry
  (class break = the rule's threshold). A run with more than :data:`CELL_LIMIT` cells
  gets the cells rolled up exactly to their parent at :data:`ROLLUP_RES` instead (sums of
  numerators and denominators, minimum distances; the full cells stay in
  ``cells.parquet``);
* ``shortlist``: the top-ranked villages of the shortlist tiers (polygons);
* ``regencies`` and ``provinces``: names, tier counts, exact rates, outlines;
* ``pilots``, ``agents``, ``clusters`` (points): when a pilot plan is given;
* ``layer_styles``: the QGIS styles (QML and SLD; :mod:`despro.io.styles`);
* ``layer_fields``: what each layer and field is, with its unit.

Text columns are stored as text (no formula protection is needed in a GeoPackage) and
the village code is a column, not an ``index`` field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from despro.config.vocab import TIERS
from despro.grid import cells as grid
from despro.io.styles import Style, categorized, graduated, write_layer_styles
from despro.pipeline.analysis import TIER_COLOURS, point_lat_lon
from despro.rules.explain import EXPLAIN_COLUMNS
from despro.transfer.rollup import cells_to_parents

if TYPE_CHECKING:
    from despro.pipeline.runner import Result
    from despro.select.pilots import PilotPlan

#: above this many cells the ``cells`` layer is the roll-up to :data:`ROLLUP_RES`
CELL_LIMIT = 300_000
ROLLUP_RES = 6
TIER_LABELS = {
    "ready": "siap / ready",
    "near-ready": "hampir siap / near-ready",
    "undetermined": "belum dapat ditentukan / undetermined",
    "not ready": "belum siap / not ready",
}
#: sequential, colour-blind-safe (viridis-like) classes for scores and shares
RAMP = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
BELOW, ABOVE = "#d55e00", "#0072b2"  # Okabe-Ito vermillion / blue: fails / passes

LAYER_TEXT = {
    "villages": "one row per village: values, rule states and margins, tier, score, rank, why",
    "cells": "H3 cells: finished values, covers, village_score (0-100)",
    "shortlist": "top-ranked villages of the shortlist tiers (config [shortlist])",
    "regencies": "per regency: names, tier counts, exact rates re-aggregated from villages",
    "provinces": "per province: names, tier counts, exact rates re-aggregated from villages",
    "pilots": "the optimised pilot villages (despro select), in pick order",
    "agents": "where the Agen Despro sit and how many pilots each covers",
    "clusters": "clusters of pilot villages sharing a product category",
}
FIELD_TEXT = {
    "village_code": ("", "Kemendagri 10-digit village code"),
    "tier": ("", "ready / near-ready / undetermined / not ready"),
    "score": ("0-100", "composite score, unknown rules at 0"),
    "score_best": ("0-100", "composite score, unknown rules at their cap"),
    "score_known_share": ("0-1", "share of the score's weight that is known"),
    "rank": ("", "1 = best: by tier, then score"),
    "village_score": ("0-100", "weighted mean score of the villages sharing the cell"),
    "area_m2": ("m2", "cell area"),
    "h3": ("", "H3 cell id"),
    "h3_res": ("", "H3 resolution of the cell"),
    "lat": ("degrees", "latitude of a point inside the village (EPSG:4326)"),
    "lon": ("degrees", "longitude of a point inside the village (EPSG:4326)"),
    "villages": ("villages", "number of villages"),
    "pct_undetermined": ("percent", "villages undetermined / villages"),
    "pct_ready_or_near": ("percent", "villages ready or near-ready / villages"),
    "n_fail": ("rules", "failing gate rules"),
    "n_unknown": ("rules", "unknown gate rules"),
    "binding_gap": ("rule unit", "threshold - value of the binding rule"),
    "village_name": ("", "village name (Kemendagri)"),
    "regency_code": ("", "Kemendagri 4-digit regency code"),
    "regency_name": ("", "regency / city name"),
    "province_code": ("", "Kemendagri 2-digit province code"),
    "province_name": ("", "province name"),
    "flagship_product": ("", "the village's flagship product (products layer)"),
    "flagship_category": ("", "product category of the flagship product (code)"),
    "flagship_category_label": ("", "product category of the flagship product"),
    "top_binding_criterion": ("", "the criterion that most often decides a village's tier"),
    "top_binding_villages": ("villages", "villages whose tier that criterion decides"),
    "pct_tier_decided": ("percent", "villages whose tier is decided (not undetermined)"),
    # selection layers (despro select)
    "pick": ("", "pick order of the optimised selection (1 = first)"),
    "product_score": ("0-100", "score over the product rules P1-P3 only"),
    "priority_region": ("", "in a priority region of [selection]"),
    "value": ("score points", "objective value: score + product weight + priority bonus"),
    "courier_distance_km": ("km", "distance to the nearest courier outlet"),
    "fixed": ("", "required by [selection] fixed"),
    "imputed": ("", "an unknown rule was decided by an imputed value"),
    "marginal_value": ("score points", "objective lost without this pick (re-solved)"),
    "replaced_by": ("", "the village that would replace this pick"),
    "binding": ("", "the constraint that binds this pick"),
    "cluster_id": ("", "cluster of pilots sharing a product category"),
    "agent_id": ("", "the Agen Despro serving the village"),
    "agent_distance_km": ("km", "distance to the serving agent"),
    "weight_share": ("0-1", "share of weight scenarios that keep the village in the top"),
    "threshold_share": ("0-1", "share of threshold scenarios that keep it in the top"),
    "robust": ("", "kept in the top in every sensitivity scenario"),
    "p_download_meets": ("0-1", "probability the download speed meets its threshold"),
    "few_speed_tests": ("", "too few speed tests to trust the speed"),
    "missing_imputable": ("", "unknown rules an imputation could decide"),
    "site_type": ("", "where the agent sits: village or regency seat"),
    "site_code": ("", "code of the agent's site (village or regency)"),
    "site_name": ("", "name of the agent's site"),
    "n_covered": ("villages", "pilot villages the agent serves"),
    "villages_covered": ("", "codes of the villages served (';'-separated)"),
    "category": ("", "product category shared by the cluster"),
    "n_villages": ("villages", "villages in the cluster"),
    "village_codes": ("", "member village codes (';'-separated)"),
    "village_names": ("", "member village names (';'-separated)"),
    "products": ("", "the members' flagship products (';'-separated)"),
    "regencies": ("", "regency codes of the members (';'-separated)"),
    "span_km": ("km", "largest distance between two members"),
}


def _plain(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Types GDAL writes: text as object, uint64 as int64, booleans kept."""
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        if pd.api.types.is_string_dtype(out[c]) or isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object)
        elif out[c].dtype == np.uint64:
            out[c] = out[c].astype(np.int64)
    return out


def _cell_layer(result: Result) -> tuple[gpd.GeoDataFrame, int]:
    """The cells (or their exact roll-up to :data:`ROLLUP_RES`), additive columns dropped."""
    cols = result.cell_columns
    additive = set(result.village_additive.columns) - set(result.variables)
    if len(cols) <= CELL_LIMIT:
        keep = [c for c in cols.columns if c not in additive and c != "h3_int"]
        if isinstance(result._cells, gpd.GeoDataFrame):
            g = result.cells[[*keep, result.cells.geometry.name]]
        else:
            g = result._cells.geodataframe()[[*keep, "geometry"]]
        g = g.assign(h3_res=result.config.run.resolution)
        return g, result.config.run.resolution
    ids = cols["h3_int"].to_numpy(np.uint64)
    add_cols = [c for c in cols.columns if c in set(result.village_additive.columns)]
    rolled = cells_to_parents(cols[add_cols], ids, ROLLUP_RES, list(result.variables.values()))
    rolled = rolled[[c for c in rolled.columns if c not in additive]]
    parents = rolled.index.to_numpy(np.uint64)
    score = pd.Series(cols["village_score"].to_numpy(float))
    parent_of = grid.parent_cells(ids, ROLLUP_RES)
    rolled["village_score"] = score.groupby(parent_of).mean().reindex(parents).to_numpy()
    rolled.insert(0, "h3", grid.cells_to_str(parents))
    rolled["h3_res"] = ROLLUP_RES
    rolled = rolled.reset_index(drop=True)
    return gpd.GeoDataFrame(
        rolled, geometry=grid.cell_polygons(parents), crs="EPSG:4326"
    ), ROLLUP_RES


def _points(frame: pd.DataFrame, lon: str = "lon", lat: str = "lat") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame[lon], frame[lat]), crs=4326)


def plan_layers(result: Result, plan: PilotPlan) -> dict[str, gpd.GeoDataFrame]:
    """The selection as point layers: ``pilots`` (with names and lat/lon), ``agents``,
    ``clusters`` (when the plan has any).

    Parameters
    ----------
    result : Result
    plan : PilotPlan

    Returns
    -------
    dict of str to GeoDataFrame
        Layer name -> points (EPSG:4326).
    """
    v = result.villages
    picks = plan.shortlist.copy()
    picks["village_code"] = picks["village_code"].astype(str)
    where = point_lat_lon(v.loc[picks["village_code"]])
    names = [c for c in ("regency_name", "province_name") if c in v and c not in picks]
    picks = picks.join(v[names], on="village_code") if names else picks
    picks["lat"], picks["lon"] = where["lat"].to_numpy(), where["lon"].to_numpy()
    first = [
        c for c in ("pick", "village_code", "village_name", *names, "lat", "lon") if c in picks
    ]
    picks = picks[first + [c for c in picks.columns if c not in first]]
    out = {"pilots": _points(picks.reset_index(drop=True))}
    if len(plan.agents.agents):
        out["agents"] = _points(plan.agents.agents.reset_index(drop=True))
    if len(plan.clusters):
        out["clusters"] = _points(plan.clusters.reset_index(drop=True))
    return out


def admin_layer(
    result: Result, level: str, summary: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """``Result.to_admin(level)`` with ``pct_undetermined`` and ``pct_ready_or_near``
    (``summary``: the level's :func:`despro.rules.explain.summary`, if already computed)."""
    a = result.to_admin(level, summary=summary)
    with np.errstate(invalid="ignore", divide="ignore"):
        a.insert(
            a.columns.get_loc("villages") + 1,
            "pct_ready_or_near",
            100.0 * (a["n_ready"] + a["n_near_ready"]) / a["villages"],
        )
        a.insert(
            a.columns.get_loc("villages") + 2,
            "pct_undetermined",
            100.0 * a["n_undetermined"] / a["villages"],
        )
    return a.reset_index()


def _tier_style(layer: str, geometry: str = "polygon") -> Style:
    classes = [(t, TIER_LABELS[t], TIER_COLOURS[t]) for t in TIERS]
    return categorized(layer, "tier", classes, geometry, "tier", True, "villages by tier")


def _ramp(layer: str, attr: str, top: float, name: str, default: bool, text: str) -> Style:
    step = top / len(RAMP)
    classes = [
        (
            round(i * step, 6),
            round((i + 1) * step, 6) if i < len(RAMP) - 1 else top + 1e9,
            f"{i * step:g} - {(i + 1) * step:g}",
            c,
        )
        for i, c in enumerate(RAMP)
    ]
    return graduated(layer, attr, classes, "polygon", name, default, text)


#: Okabe-Ito, colour-blind safe, for categories without a colour of their own
CATEGORY_COLOURS = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"]


def _agent_style(agents: gpd.GeoDataFrame) -> Style:
    """Agents as points classed by the pilots each serves (0-1, 2-4, 5-9, 10+)."""
    top = max(10, int(agents["n_covered"].max()) + 1) if len(agents) else 10
    classes = [
        (0, 2, "0 - 1", RAMP[1]),
        (2, 5, "2 - 4", RAMP[2]),
        (5, 10, "5 - 9", RAMP[3]),
        (10, top, "10+", RAMP[4]),
    ]
    return graduated(
        "agents", "n_covered", classes, "point", "n_covered", True, "pilot villages served"
    )


def _cluster_style(clusters: gpd.GeoDataFrame) -> Style:
    """Cluster centres by product category (the categories of the run, escaped)."""
    cats = sorted(str(c) for c in clusters["category"].dropna().unique())
    classes = [(c, c, CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]) for i, c in enumerate(cats)]
    return categorized(
        "clusters", "category", classes, "point", "category", True, "clusters by category"
    )


def _rule_styles(result: Result, layer: str, columns: set[str]) -> list[Style]:
    """One style per gate rule whose variable the layer has: two classes, break = threshold."""
    out = []
    for r in result.config.criteria.rules:
        if r.role != "gate" or r.variable not in columns:
            continue
        passes_above = r.op in (">=", ">")
        lo_colour, hi_colour = (BELOW, ABOVE) if passes_above else (ABOVE, BELOW)
        unit = f" {r.unit}" if r.unit else ""
        classes = [
            (-1e12, r.threshold, f"< {r.threshold:g}{unit}", lo_colour),
            (r.threshold, 1e12, f">= {r.threshold:g}{unit}", hi_colour),
        ]
        out.append(
            graduated(
                layer,
                r.variable,
                classes,
                "polygon",
                f"{r.id} {r.variable} {r.op} {r.threshold:g}",
                False,
                f"rule {r.id}: {r.label_en or r.variable}; break at the threshold",
            )
        )
    return out


def field_table(layers: dict[str, gpd.GeoDataFrame], result: Result) -> pd.DataFrame:
    """``layer_fields``: one row per layer and field: ``layer``, ``field``, ``unit``,
    ``description`` (what the layer is for the row ``field`` = '')."""
    variables = result.variables
    rules = {r.id: r for r in result.config.criteria.rules}
    rows = []
    for name, g in layers.items():
        rows.append((name, "", "", LAYER_TEXT.get(name, "")))
        for c in g.columns:
            if c == g.geometry.name:
                continue
            unit, text = FIELD_TEXT.get(c, ("", ""))
            base = c.removesuffix("_state").removesuffix("_margin")
            if c in variables:
                unit, text = variables[c].unit, variables[c].description
            elif base in rules and c.endswith("_margin"):
                unit, text = rules[base].unit, f"rule {base}: value - threshold (+ = passes by)"
            elif c.endswith("_state"):
                text = f"{base}: pass / fail / unknown"
            elif c.endswith("_evidence") and c.removesuffix("_evidence") in variables:
                text = f"evidence level of {c.removesuffix('_evidence')} (village, regency...)"
            elif c.endswith("_n_classes"):
                unit, text = "classes", f"{c.removesuffix('_n_classes')}: classes in the area"
            elif c.endswith("_dominant"):
                text = f"{c.removesuffix('_dominant')}: the most common class in the area"
            elif c.startswith("pct_undetermined_"):
                what = c.removeprefix("pct_undetermined_")
                unit, text = "percent", f"villages undetermined for want of {what} / villages"
            elif c.endswith("__cover") or "__cover__" in c:
                unit, text = "0-1", "share the layer's data cover"
            elif (
                c.startswith("n_")
                and c[2:].replace("_", " ").replace("near ready", "near-ready") in TIERS
            ):
                unit, text = "villages", f"villages {c[2:].replace('_', ' ')}"
            elif c in EXPLAIN_COLUMNS and not text:
                text = "why, and what it would take (despro.rules.explain)"
            rows.append((name, c, unit, text))
    return pd.DataFrame(rows, columns=["layer", "field", "unit", "description"])


def write_geopackage(
    result: Result,
    path: Path | str,
    plan: PilotPlan | None = None,
    summaries: dict[str, pd.DataFrame] | None = None,
) -> dict[str, int]:
    """Write the run's layers, their styles and field descriptions into one GeoPackage.

    Parameters
    ----------
    result : Result
    path : path
        The ``.gpkg`` to write (replaced if it exists).
    plan : PilotPlan, optional
        Adds the ``pilots``, ``agents`` and ``clusters`` layers.
    summaries : dict, optional
        ``{"regency": ..., "province": ...}``: the levels'
        :func:`despro.rules.explain.summary` when already computed.

    Returns
    -------
    dict of str to int
        Layer -> number of features (``layer_fields`` -> rows).
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    cells, cell_res = _cell_layer(result)
    layers: dict[str, gpd.GeoDataFrame] = {
        "villages": result.villages,
        "cells": cells,
        "shortlist": result.shortlist(),
        "regencies": admin_layer(result, "regency", (summaries or {}).get("regency")),
        "provinces": admin_layer(result, "province", (summaries or {}).get("province")),
    }
    if plan is not None:
        layers.update(plan_layers(result, plan))
    styles: list[Style] = []
    for name, g in layers.items():
        _write_layer(_plain(g), path, name)
    styles += [_tier_style("villages"), _tier_style("shortlist")]
    styles.append(_ramp("villages", "score", 100, "score", False, "composite score 0-100"))
    styles.append(
        _ramp(
            "cells",
            "village_score",
            100,
            "village_score",
            True,
            f"mean score of the villages sharing the cell (H3 res {cell_res})",
        )
    )
    styles += _rule_styles(result, "cells", set(cells.columns))
    for level in ("regencies", "provinces"):
        styles.append(
            _ramp(
                level,
                "pct_ready_or_near",
                100,
                "pct_ready_or_near",
                True,
                "percent of villages ready or near-ready",
            )
        )
        styles.append(
            _ramp(
                level,
                "pct_undetermined",
                100,
                "pct_undetermined",
                False,
                "percent of villages undetermined",
            )
        )
    if "pilots" in layers:
        styles.append(_tier_style("pilots", "point"))
    if "agents" in layers:
        styles.append(_agent_style(layers["agents"]))
    if "clusters" in layers:
        styles.append(_cluster_style(layers["clusters"]))
    fields = field_table(layers, result)
    _write_attributes(path, "layer_fields", fields)
    write_layer_styles(path, [s for s in styles if s.qml])
    counts = {name: len(g) for name, g in layers.items()}
    counts["layer_fields"] = len(fields)
    return counts


def _write_layer(g: gpd.GeoDataFrame, path: Path, name: str) -> None:
    """One layer through GDAL's Arrow interface (the same table, ~40 % less CPU for the
    national villages), or row by row when a column does not convert to Arrow."""
    import pyarrow as pa

    try:
        g.to_file(path, layer=name, driver="GPKG", engine="pyogrio", index=False, use_arrow=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, NotImplementedError):
        g.to_file(path, layer=name, driver="GPKG", engine="pyogrio", index=False)


def _write_attributes(path: Path, name: str, frame: pd.DataFrame) -> None:
    """A non-spatial table, registered in ``gpkg_contents`` (GDAL does it)."""
    import pyogrio

    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
