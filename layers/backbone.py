"""Palapa Ring and other fibre backbone: routes (lines) and nodes (points).

Reads GeoJSON / GeoPackage / KML / Shapefile route lines (terrestrial and
submarine segments may be mixed) and node points (landing points, network nodes).

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

import pandas as pd
from despro.geo import grid
from despro.geo.aggregate import nearest_distance_m
from despro.geo.config import BackboneConfig, Config
from despro.geo.errors import InputError
from despro.geo.layer import LayerResult, Notes
from despro.geo.study import Study
from despro.geo.variables import Kind, Variable

from ._io import clip_to_indonesia, read_vector, repair_geometries

NAME = "backbone"


def variables(cfg: BackboneConfig, routes_src: str = "", nodes_src: str = "") -> list[Variable]:
    """The variables this layer yields."""
    out = []
    if cfg.routes:
        out.append(Variable("backbone_distance_m", Kind.DISTANCE, "m",
                            "metres from the cell centre to the nearest fibre backbone route",
                            NAME, routes_src, cfg.vintage))
    if cfg.nodes:
        out.append(Variable("backbone_node_distance_m", Kind.DISTANCE, "m",
                            "metres from the cell centre to the nearest backbone node",
                            NAME, nodes_src, cfg.vintage))
    return out


def read_routes(path, notes: Notes):
    """Route lines, EPSG:4326, clipped to Indonesia; non-line features are rejected."""
    gdf = read_vector(path, "backbone routes", extent="any")
    kinds = gdf.geom_type.to_numpy()
    bad = ~pd.Series(kinds).isin(["LineString", "MultiLineString"]).to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise InputError(f"backbone route is a {kinds[i]}, expected a line", file=path,
                         row=i + 1, fix="put nodes in layers.backbone.nodes")
    gdf = repair_geometries(gdf, path, "backbone routes", notes)
    return clip_to_indonesia(gdf, path, "backbone routes", notes)


def read_nodes(path, notes: Notes):
    """Node points, EPSG:4326; points outside Indonesia are dropped (noted)."""
    gdf = read_vector(path, "backbone nodes", extent="any")
    bad = ~gdf.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    if bad.any():
        i = int(bad.argmax())
        raise InputError(f"backbone node is a {gdf.geom_type.iloc[i]}, expected a point",
                         file=path, row=i + 1, fix="put routes in layers.backbone.routes")
    return clip_to_indonesia(gdf, path, "backbone nodes", notes)


def build(cfg: BackboneConfig, study: Study, config: Config, notes: Notes,
          progress=None) -> LayerResult:
    """Distances from every study cell to the backbone."""
    lon, lat = grid.cell_centres(study.cells)
    cols, inputs, features = {}, [], {}
    routes_src = nodes_src = ""
    if cfg.routes:
        p = config.path(cfg.routes)
        routes = read_routes(p, notes)
        cols["backbone_distance_m"] = nearest_distance_m(lon, lat, routes.geometry.values)
        inputs.append(p)
        routes_src = str(p)
        features["backbone_routes"] = routes
    if cfg.nodes:
        p = config.path(cfg.nodes)
        nodes = read_nodes(p, notes)
        cols["backbone_node_distance_m"] = nearest_distance_m(lon, lat, nodes.geometry.values)
        inputs.append(p)
        nodes_src = str(p)
        features["backbone_nodes"] = nodes
    if not cols:
        raise InputError("layers.backbone has neither routes nor nodes",
                         file=config.source_file, fix="set at least one of them")
    table = pd.DataFrame(cols, index=study.cell_index)
    return LayerResult(NAME, "cell", variables(cfg, routes_src, nodes_src), table,
                       pd.Series(1.0, index=study.cell_index), inputs, features)
