"""Palapa Ring and other fibre backbone: routes (lines) and nodes (points).

Reads GeoJSON / GeoPackage / KML / KMZ / Shapefile route lines (terrestrial and
submarine segments may be mixed) and node points (landing points, network nodes).
A KML / KMZ keeps its features in folders: all folders are read (the folder name
is kept as ``kml_folder``) unless ``routes_layer`` / ``nodes_layer`` names one; a
GeoPackage reads the named layer (default: its first). ``routes`` and ``nodes`` may
be the same file holding both (as cable maps publish them): routes then take its
lines and nodes its points, and each notes what it set aside.

Cables are international, so the files may be worldwide (TeleGeography's
``cable-geo.json`` and ``landing-point-geo.json``): features are clipped to
Indonesia's bounds (see :func:`despro.layers._io.clip_to_indonesia`) and what was
dropped or cut is noted. Every clipped route counts, whether or not it lands in
Indonesia; a file restricted to the national backbone gives the stricter distance.

Yields ``backbone_distance_m`` and ``backbone_node_distance_m``: geodesic metres
from each cell centre to the nearest route / node (kind ``distance``: a village
takes the minimum over its cells). The files are taken as a complete inventory
of the backbone, so every cell has a distance.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field

from despro.aggregate.kernels import nearest_distance_m
from despro.config.base import Model
from despro.errors import InputError
from despro.grid import cells as grid
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import clip_to_indonesia, read_vector, repair_geometries

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "backbone"
LEVEL = "cell"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "jaringan serat optik", "en": "fibre backbone"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = ("backbone_distance_m", "backbone_node_distance_m")


class BackboneConfig(Model):
    """Fibre routes (lines) and nodes (points).

    ``routes`` and ``nodes`` may name the same file (a KML with a folder of routes and
    one of landing points): each then takes the features of its geometry type.
    """

    routes: Path | None = None
    nodes: Path | None = None
    routes_layer: str | None = Field(
        None,
        description="layer of a multi-layer file "
        "(GeoPackage, KML folder); default: KML all, else first",
    )
    nodes_layer: str | None = None
    vintage: str = "unknown"


Settings = BackboneConfig

CHOROPLETHS = (
    Choropleth(
        "backbone_distance_m",
        "backbone_distance_m",
        "m",
        (5, 10, 20, 50, 100),
        higher_is_better=False,
        position=20,
    ),
)
LABELS = {
    "id": {
        "backbone_routes": "Serat optik Palapa Ring: jalur",
        "backbone_nodes": "Serat optik Palapa Ring: simpul",
        "backbone_distance_m": "Jarak ke serat optik Palapa Ring",
    },
    "en": {
        "backbone_routes": "Palapa Ring fibre: routes",
        "backbone_nodes": "Palapa Ring fibre: nodes",
        "backbone_distance_m": "Distance to the Palapa Ring fibre",
    },
}


def cell_local(cfg: BackboneConfig) -> bool:
    """A cell's distances depend on that cell alone: always built per partition."""
    return True


def variables(cfg: BackboneConfig, routes_src: str = "", nodes_src: str = "") -> list[Variable]:
    """The variables this layer yields."""
    out = []
    if cfg.routes:
        out.append(
            Variable(
                "backbone_distance_m",
                Kind.DISTANCE,
                "m",
                "metres from the cell centre to the nearest fibre backbone route",
                NAME,
                routes_src,
                cfg.vintage,
            )
        )
    if cfg.nodes:
        out.append(
            Variable(
                "backbone_node_distance_m",
                Kind.DISTANCE,
                "m",
                "metres from the cell centre to the nearest backbone node",
                NAME,
                nodes_src,
                cfg.vintage,
            )
        )
    return out


LINES = ["LineString", "MultiLineString"]
POINTS = ["Point", "MultiPoint"]


def _keep_kind(gdf, kinds: list[str], path, what: str, notes: Notes):
    """Features of ``kinds`` only (a file shared by routes and nodes); polygons are noted."""
    other = ~gdf.geom_type.isin(kinds).to_numpy()
    if other.all():
        raise InputError(
            f"{what}: the file has no {' or '.join(kinds)} features",
            file=path,
            fix="check layers.backbone routes / nodes and their layers",
        )
    neither = ~gdf.geom_type.isin(LINES + POINTS).to_numpy()
    if neither.any():
        notes.add(
            path,
            "dropped",
            f"{what}: {int(neither.sum())} features are neither lines nor points",
            rows=list(np.flatnonzero(neither) + 1),
        )
    return gdf.loc[~other]


def _lines(gdf):
    """KML MultiGeometry of lines arrives as a GeometryCollection: make it a MultiLineString."""
    geom = gdf.geometry.values
    coll = shapely.get_type_id(geom) == shapely.GeometryType.GEOMETRYCOLLECTION
    if not coll.any():
        return gdf
    parts, idx = shapely.get_parts(geom[coll], return_index=True)
    lines = np.isin(shapely.get_type_id(parts), [1, 5])  # LineString, MultiLineString
    ok = np.ones(coll.sum(), bool)
    np.logical_and.at(ok, idx, lines)
    fixed = np.array(
        [shapely.multilinestrings(shapely.get_parts(parts[idx == i])) for i in np.flatnonzero(ok)],
        dtype=object,
    )
    out = gdf.copy()
    out.loc[out.index[np.flatnonzero(coll)[ok]], out.geometry.name] = fixed
    return out


def read_routes(
    path: Path, notes: Notes, layer: str | None = None, shared: bool = False
) -> gpd.GeoDataFrame:
    """Route lines, EPSG:4326, clipped to Indonesia; non-line features are rejected.

    ``shared``: the file also holds the nodes; its points are set aside, not rejected.
    """
    gdf = _lines(read_vector(path, "backbone routes", layer=layer, extent="any"))
    if shared:
        gdf = _keep_kind(gdf, LINES, path, "backbone routes", notes)
    kinds = gdf.geom_type.to_numpy()
    bad = ~pd.Series(kinds).isin(LINES).to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise InputError(
            f"backbone route is a {kinds[i]}, expected a line",
            file=path,
            row=i + 1,
            fix="put nodes in layers.backbone.nodes",
        )
    gdf = repair_geometries(gdf, path, "backbone routes", notes)
    return clip_to_indonesia(gdf, path, "backbone routes", notes)


def read_nodes(
    path: Path, notes: Notes, layer: str | None = None, shared: bool = False
) -> gpd.GeoDataFrame:
    """Node points, EPSG:4326; points outside Indonesia are dropped (noted)."""
    gdf = read_vector(path, "backbone nodes", layer=layer, extent="any")
    if shared:
        gdf = _keep_kind(gdf, POINTS, path, "backbone nodes", notes)
    bad = ~gdf.geom_type.isin(POINTS).to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise InputError(
            f"backbone node is a {gdf.geom_type.iloc[i]}, expected a point",
            file=path,
            row=i + 1,
            fix="put routes in layers.backbone.routes",
        )
    return clip_to_indonesia(gdf, path, "backbone nodes", notes)


def read(
    cfg: BackboneConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the routes and / or nodes (``routes``, ``nodes``: GeoDataFrames)."""
    files, data = [], {}
    shared = (
        bool(cfg.routes and cfg.nodes)
        and config.path(cfg.routes).resolve() == config.path(cfg.nodes).resolve()
        and cfg.routes_layer == cfg.nodes_layer
    )
    if cfg.routes:
        p = config.path(cfg.routes)
        data["routes"] = read_routes(p, notes, cfg.routes_layer, shared)
        data["routes_src"] = str(p)
        files.append(p)
    if cfg.nodes:
        p = config.path(cfg.nodes)
        data["nodes"] = read_nodes(p, notes, cfg.nodes_layer, shared)
        data["nodes_src"] = str(p)
        if p not in files:
            files.append(p)
    if not data:
        raise InputError(
            "layers.backbone has neither routes nor nodes",
            file=config.source_file,
            fix="set at least one of them",
        )
    return LayerInputs(files, data)


def aggregate(inputs: LayerInputs, cfg: BackboneConfig, study: Study, notes: Notes) -> LayerResult:
    """Distances from every study cell to the backbone."""
    lon, lat = grid.cell_centres(study.cells)
    cols, features = {}, {}
    if "routes" in inputs:
        routes = inputs["routes"]
        cols["backbone_distance_m"] = nearest_distance_m(lon, lat, routes.geometry.values)
        features["backbone_routes"] = routes
    if "nodes" in inputs:
        nodes = inputs["nodes"]
        cols["backbone_node_distance_m"] = nearest_distance_m(lon, lat, nodes.geometry.values)
        features["backbone_nodes"] = nodes
    table = pd.DataFrame(cols, index=study.cell_index)
    return LayerResult(
        NAME,
        LEVEL,
        variables(cfg, inputs.data.get("routes_src", ""), inputs.data.get("nodes_src", "")),
        table,
        pd.Series(1.0, index=study.cell_index),
        list(inputs.files),
        features,
    )
