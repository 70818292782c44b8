"""Courier presence: courier and post outlets with their operator.

Reads points (GeoJSON, GeoPackage, Shapefile, or CSV with lon / lat columns)
with an operator column. Operator names are normalised (``"J&T"``,
``"J & T Express"`` and ``"jnt"`` are one company) so that distinct companies
are counted, not spellings.

Yields ``courier_outlets`` (category: outlets per operator per cell; summing is
exact), ``courier_distance_m`` (metres from the cell centre to the nearest
outlet) and, per village, ``courier_companies``: distinct operators with an
outlet in a cell that overlaps the village (criterion I3).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
from despro.geo import grid
from despro.geo.aggregate import nearest_distance_m, points_to_cells
from despro.geo.config import Config, CourierConfig
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import points_outside_indonesia, read_table, read_vector, require_columns

NAME = "courier"

# normalised key -> canonical operator name
OPERATORS = {
    "posindonesia": "Pos Indonesia", "pos": "Pos Indonesia", "kantorpos": "Pos Indonesia",
    "posaja": "Pos Indonesia", "jne": "JNE", "jneexpress": "JNE", "jnt": "J&T Express",
    "jtexpress": "J&T Express", "jandtexpress": "J&T Express", "jt": "J&T Express",
    "jtcargo": "J&T Cargo", "sicepat": "SiCepat", "sicepatekspres": "SiCepat",
    "tiki": "TIKI", "anteraja": "AnterAja", "ninjaxpress": "Ninja Xpress",
    "ninjavan": "Ninja Xpress", "lionparcel": "Lion Parcel", "wahana": "Wahana",
    "wahanaexpress": "Wahana", "idexpress": "ID Express", "sap": "SAP Express",
    "sapexpress": "SAP Express", "shopeeexpress": "Shopee Express", "spx": "Shopee Express",
}


def normalise_operator(name: object) -> str | None:
    """Canonical operator name; unknown operators keep their cleaned spelling."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    s = str(name).strip()
    if not s:
        return None
    key = re.sub(r"[^a-z0-9]", "", s.lower().replace("&", "n"))
    key = re.sub(r"^(pt|cv)", "", key)
    for suffix in ("", "express", "ekspres", "xpress"):
        if key.endswith(suffix) and key[: len(key) - len(suffix)] in OPERATORS:
            return OPERATORS[key[: len(key) - len(suffix)]]
    return OPERATORS.get(key, " ".join(s.split()))


def variables(cfg: CourierConfig, operators: tuple[str, ...], source: str = "") -> list[Variable]:
    """The variables this layer yields."""
    return [
        Variable("courier_outlets", Kind.CATEGORY, "outlets",
                 "courier / post outlets per operator", NAME, source, cfg.vintage, operators),
        Variable("courier_distance_m", Kind.DISTANCE, "m",
                 "metres from the cell centre to the nearest courier outlet", NAME, source,
                 cfg.vintage),
    ]


def read(cfg: CourierConfig, config: Config, notes: Notes) -> gpd.GeoDataFrame:
    """Outlet points with a normalised ``operator``; rows without an operator are dropped."""
    path = config.path(cfg.outlets)
    if path.suffix.lower() in {".csv", ".xlsx"}:
        df = read_table(path, "courier outlets")
        require_columns(df, ["lon", "lat", cfg.operator_column], path, "courier outlets")
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                               crs="EPSG:4326")
        from ._io import check_lonlat_plausible
        check_lonlat_plausible(gdf, path, "courier outlets")
    else:
        gdf = read_vector(path, "courier outlets")
    require_columns(gdf, [cfg.operator_column], path, "courier outlets")
    if not gdf.geom_type.isin(["Point"]).all():
        i = int((~gdf.geom_type.isin(["Point"])).to_numpy().argmax())
        raise InputError(f"courier outlet is a {gdf.geom_type.iloc[i]}, expected a point",
                         file=path, row=i + 1, fix="use one point per outlet")
    gdf = points_outside_indonesia(gdf, path, "courier outlets", notes)
    op = gdf[cfg.operator_column].map(normalise_operator)
    if op.isna().any():
        notes.add(path, "dropped", "outlets without an operator name",
                  rows=list(np.flatnonzero(op.isna().to_numpy()) + 1))
    gdf = gdf.assign(operator=op).loc[op.notna()]
    return gdf


def build(cfg: CourierConfig, study: Study, config: Config, notes: Notes,
          progress=None) -> LayerResult:
    """Outlets per operator per cell, and distance to the nearest outlet."""
    path = config.path(cfg.outlets)
    pts = read(cfg, config, notes)
    operators = tuple(sorted(pts["operator"].unique()))
    lon, lat = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    t = points_to_cells(lon, lat, study.res, classes=pts["operator"].to_numpy(),
                        class_names=operators, prefix="courier_outlets")
    table = t.reindex(study.cell_index).fillna(0.0)
    clon, clat = grid.cell_centres(study.cells)
    table["courier_distance_m"] = nearest_distance_m(clon, clat, pts.geometry.values)
    return LayerResult(NAME, "cell", variables(cfg, operators, str(path)), table,
                       pd.Series(1.0, index=study.cell_index), [path], {"courier_outlets": pts})


def derive(values: pd.DataFrame) -> pd.DataFrame:
    """Village-level I3 variable: distinct operators present (``courier_companies``)."""
    return pd.DataFrame({"courier_companies": values["courier_outlets_n_classes"]},
                        index=values.index)
