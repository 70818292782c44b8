"""QGIS (QML) and OGC (SLD) styles for the GeoPackage layers, and the ``layer_styles`` table.

QGIS opens a GeoPackage layer with the style its ``layer_styles`` table marks
``useAsDefault`` for that table (the table QGIS itself writes when a style is saved
"in the database"). Two kinds are built here, each as QML (QGIS) and SLD (GeoServer,
QGIS, ArcGIS Pro): categories (village tiers in colour-blind-safe Okabe-Ito colours)
and graduated classes whose breaks are a rule's threshold (a cell's 4G coverage below
/ above 50 %). Text from data never reaches these documents: labels are ours, values
are escaped.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

#: the columns of QGIS's own ``layer_styles`` table (QgsOgrProviderUtils)
LAYER_STYLES_SQL = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT,
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP
)"""


@dataclass(frozen=True)
class Style:
    """One style of one layer: name, QML, SLD, default or not, description."""

    layer: str
    name: str
    qml: str
    sld: str
    default: bool = True
    description: str = ""


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _symbol(name: str, geometry: str, colour: str) -> str:
    """A QGIS symbol: fill for polygons, a circle marker for points."""
    if geometry == "point":
        props = {
            "name": "circle",
            "color": _rgb(colour),
            "outline_color": "35,35,35,255",
            "outline_width": "0.3",
            "size": "3",
        }
        kind, cls = "marker", "SimpleMarker"
    else:
        props = {
            "color": _rgb(colour),
            "outline_color": "90,90,90,255",
            "outline_width": "0.1",
            "style": "solid",
        }
        kind, cls = "fill", "SimpleFill"
    options = "".join(
        f'<Option type="QString" name="{k}" value={quoteattr(v)}/>' for k, v in props.items()
    )
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option>{legacy}</layer></symbol>'
    )


def _qml(renderer: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="Symbology">'
        f"{renderer}</qgis>\n"
    )


def _sld(layer: str, rules: list[str], geometry: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle>"
        f"<se:Name>{escape(layer)}</se:Name><se:FeatureTypeStyle>"
        + "".join(rules)
        + "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


def _sld_symbolizer(geometry: str, colour: str) -> str:
    if geometry == "point":
        return (
            "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle"
            f'</se:WellKnownName><se:Fill><se:SvgParameter name="fill">{colour}'
            '</se:SvgParameter></se:Fill><se:Stroke><se:SvgParameter name="stroke">#232323'
            "</se:SvgParameter></se:Stroke></se:Mark><se:Size>8</se:Size></se:Graphic>"
            "</se:PointSymbolizer>"
        )
    return (
        f'<se:PolygonSymbolizer><se:Fill><se:SvgParameter name="fill">{colour}'
        '</se:SvgParameter></se:Fill><se:Stroke><se:SvgParameter name="stroke">#5a5a5a'
        '</se:SvgParameter><se:SvgParameter name="stroke-width">0.25</se:SvgParameter>'
        "</se:Stroke></se:PolygonSymbolizer>"
    )


def categorized(
    layer: str,
    attr: str,
    classes: list[tuple[str, str, str]],
    geometry: str = "polygon",
    name: str = "default",
    default: bool = True,
    description: str = "",
) -> Style:
    """A style colouring ``attr``'s values: ``classes`` = [(value, label, '#rrggbb'), ...]."""
    cats = "".join(
        f'<category symbol="{i}" value={quoteattr(v)} label={quoteattr(lab)} render="true"/>'
        for i, (v, lab, _) in enumerate(classes)
    )
    syms = "".join(_symbol(str(i), geometry, c) for i, (_, _, c) in enumerate(classes))
    qml = _qml(
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attr)} symbollevels="0" '
        f'enableorderby="0" forceraster="0"><categories>{cats}</categories>'
        f"<symbols>{syms}</symbols></renderer-v2>"
    )
    rules = [
        f"<se:Rule><se:Name>{escape(lab)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>"
        f"<ogc:PropertyName>{escape(attr)}</ogc:PropertyName><ogc:Literal>{escape(v)}"
        f"</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>"
        f"{_sld_symbolizer(geometry, c)}</se:Rule>"
        for v, lab, c in classes
    ]
    return Style(layer, name, qml, _sld(layer, rules, geometry), default, description)


def graduated(
    layer: str,
    attr: str,
    classes: list[tuple[float, float, str, str]],
    geometry: str = "polygon",
    name: str = "default",
    default: bool = True,
    description: str = "",
) -> Style:
    """A style classing ``attr`` into ranges: ``classes`` = [(lower, upper, label, colour)].

    A value equal to a break falls in the upper class (``lower <= value < upper``), as a
    rule passes exactly at its threshold.
    """
    ranges = "".join(
        f'<range symbol="{i}" lower="{lo}" upper="{hi}" label={quoteattr(lab)} render="true"/>'
        for i, (lo, hi, lab, _) in enumerate(classes)
    )
    syms = "".join(_symbol(str(i), geometry, c) for i, (_, _, _, c) in enumerate(classes))
    qml = _qml(
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attr)} '
        'graduatedMethod="GraduatedColor" '
        f'symbollevels="0" enableorderby="0" forceraster="0"><ranges>{ranges}</ranges>'
        f"<symbols>{syms}</symbols></renderer-v2>"
    )
    rules = []
    for lo, hi, lab, c in classes:
        p = f"<ogc:PropertyName>{escape(attr)}</ogc:PropertyName>"
        rules.append(
            f"<se:Rule><se:Name>{escape(lab)}</se:Name><ogc:Filter><ogc:And>"
            f"<ogc:PropertyIsGreaterThanOrEqualTo>{p}<ogc:Literal>{lo}</ogc:Literal>"
            f"</ogc:PropertyIsGreaterThanOrEqualTo><ogc:PropertyIsLessThan>{p}"
            f"<ogc:Literal>{hi}</ogc:Literal></ogc:PropertyIsLessThan></ogc:And></ogc:Filter>"
            f"{_sld_symbolizer(geometry, c)}</se:Rule>"
        )
    return Style(layer, name, qml, _sld(layer, rules, geometry), default, description)


def write_layer_styles(
    gpkg: Path | str, styles: list[Style], geometry_column: str = "geom"
) -> None:
    """Add ``styles`` to the GeoPackage's ``layer_styles`` table (created as QGIS does,
    and registered in ``gpkg_contents`` as an attributes table)."""
    con = sqlite3.connect(gpkg)
    try:
        con.execute(LAYER_STYLES_SQL)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', "
            "'layer_styles', 'QGIS styles of the layers', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        )
        con.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
            "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, 'despro', '', "
            "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            [
                (s.layer, geometry_column, s.name, s.qml, s.sld, int(s.default), s.description)
                for s in styles
            ],
        )
        con.commit()
    finally:
        con.close()
