"""Courier presence: courier and post outlets with their operator.

Reads points (GeoJSON, GeoPackage, Shapefile, or CSV with lon / lat columns)
with an operator column. Operator names are normalised (``"J&T"``,
``"J & T Express"`` and ``"jnt"`` are one company) so that distinct companies
are counted, not spellings. Files without an operator column are usable too:
the company is recognised inside outlet names (``operator_from``, e.g. RBI's
``REMARK`` "Kantor Pos Rani", "J&T Express Tanjung Duren", "PosAja! Drop Point")
or set for the whole file (``operator_constant = "Pos Indonesia"`` for a
post-office layer); outlets still without an operator are dropped and noted.

OpenStreetMap extracts (``.osm`` XML or ``.osm.pbf``, read by GDAL's OSM driver)
keep the features tagged ``amenity=post_office``, ``office=courier`` or
``shop=courier`` (``osm_tags``); outlets mapped as buildings count at a point on
their surface. The operator comes from the ``operator`` tag, then from a known
company named in ``brand`` or ``name`` (the default ``operator_from`` for OSM).

Yields ``courier_outlets`` (category: outlets per operator per cell; summing is
exact), ``courier_distance_m`` (metres from the cell centre to the nearest
outlet) and, per village, ``courier_companies``: distinct operators with an
outlet in a cell that overlaps the village (criterion I3).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field

from despro.aggregate.kernels import nearest_distance_m, points_to_cells
from despro.config.base import Model
from despro.errors import InputError
from despro.grid import cells as grid
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.variables import Kind, Variable

from ._io import (
    OSM_SUFFIXES,
    file_row,
    numeric_column,
    points_outside_indonesia,
    read_osm,
    read_table,
    read_vector,
    require_columns,
)

if TYPE_CHECKING:  # pragma: no cover
    from despro.aggregate.study import Study
    from despro.config.settings import Config

NAME = "courier"
LEVEL = "cell"
#: the input's name in texts such as "perlu data {TITLE}" (Indonesian first)
TITLE = {"id": "kurir", "en": "courier"}
#: variables this layer can give that a rule may name, configured or not
PROVIDES: tuple[str, ...] = ("courier_companies", "courier_outlets", "courier_distance_m")


class CourierConfig(Model):
    """Courier / post outlet points and where each outlet's operator comes from.

    Per outlet the first of these that names a company wins: ``operator_column``;
    a known company named inside one of the ``operator_from`` text columns (outlet
    names such as RBI's ``REMARK`` "Kantor Pos Rani" or "J&T Express Tanjung Duren");
    ``operator_constant`` (e.g. "Pos Indonesia" for an RBI post-office layer, which
    has no operator column). Outlets left without an operator are dropped and noted.
    """

    outlets: Path
    operator_column: str = Field(
        "operator",
        description="column naming the company; may be absent from the file "
        "when operator_from or operator_constant is set",
    )
    operator_from: list[str] = Field(
        default_factory=list,
        description="text columns (outlet names) searched for a "
        "known company name, in order, e.g. ['REMARK', 'NAMOBJ']",
    )
    operator_constant: str | None = Field(
        None, description="operator of every outlet not otherwise named, e.g. 'Pos Indonesia'"
    )
    osm_tags: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "amenity": ["post_office"],
            "office": ["courier"],
            "shop": ["courier"],
        },
        description="for an OpenStreetMap extract (.osm / .osm.pbf): the outlets kept; the "
        "operator comes from the 'operator' tag, then 'brand' and 'name' (operator_from)",
    )
    companies: list[str] = Field(
        default_factory=list,
        description="courier companies counted besides the known ones (KNOWN_COMPANIES), "
        "spelled as in the file; other names are reported and not counted for I3",
    )
    decimal: Literal["auto", ".", ","] = Field(
        "auto",
        description="decimal mark of a CSV's lon / lat written as text: ',' (Indonesian "
        "1.234,5), '.' (1,234.5) or 'auto' (decided per column by its unambiguous "
        "values, else by its range; never guessed: see despro.layers._numbers)",
    )
    vintage: str = "unknown"


Settings = CourierConfig

CHOROPLETHS = (
    Choropleth(
        "courier_companies",
        "courier_outlets_n_classes",
        "companies",
        (1, 2, 3, 5),
        digits=0,
        position=70,
    ),
    Choropleth(
        "courier_outlets", "courier_outlets", "outlets", (1, 2, 5, 10), digits=0, position=80
    ),
)
LABELS = {
    "id": {
        "outlets": "Gerai kurir",
        "courier_companies": "Perusahaan kurir (jumlah berbeda)",
        "courier_outlets": "Gerai kurir (jumlah)",
    },
    "en": {
        "outlets": "Courier outlets",
        "courier_companies": "Courier companies (distinct)",
        "courier_outlets": "Courier outlets (count)",
    },
}


def cell_local(cfg: CourierConfig) -> bool:
    """A cell's outlets and distance depend on that cell alone: always per partition."""
    return True


# normalised key (words of the name, joined) -> canonical operator name
OPERATORS = {
    "posindonesia": "Pos Indonesia",
    "pos": "Pos Indonesia",
    "kantorpos": "Pos Indonesia",
    "posaja": "Pos Indonesia",
    "agenpos": "Pos Indonesia",
    "jne": "JNE",
    "jneexpress": "JNE",
    "jnt": "J&T Express",
    "jtexpress": "J&T Express",
    "jandtexpress": "J&T Express",
    "jt": "J&T Express",
    "jtcargo": "J&T Cargo",
    "jntcargo": "J&T Cargo",
    "sicepat": "SiCepat",
    "sicepatekspres": "SiCepat",
    "tiki": "TIKI",
    "anteraja": "AnterAja",
    "ninjaxpress": "Ninja Xpress",
    "ninjaexpress": "Ninja Xpress",
    "ninjavan": "Ninja Xpress",
    "lionparcel": "Lion Parcel",
    "wahana": "Wahana",
    "wahanaexpress": "Wahana",
    "wahanalogistik": "Wahana",
    "idexpress": "ID Express",
    "sap": "SAP Express",
    "sapexpress": "SAP Express",
    "shopeeexpress": "Shopee Express",
    "spx": "Shopee Express",
}
# keys that are ordinary words or initials: they name a company only as the whole name
# ("Pos", "JT"), never inside a longer one ("Toko Pos Baru" is not a post office)
AMBIGUOUS = {"pos", "jt", "sap", "wahana"}
# legal-form words ignored when matching ("PT Pos Indonesia (Persero)")
LEGAL_FORMS = {"pt", "cv", "tbk", "persero"}


def _words(text: str) -> list[str]:
    """Lower-case words of a name; '&' becomes 'n' so that J&T and J & T read 'jnt'."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("&", "n"))
    return [w for w in words if w not in LEGAL_FORMS]


def find_operator(text: object) -> str | None:
    """The known company named in ``text`` (an operator or an outlet name), or None.

    Looks for the longest run of consecutive words forming a known name, anywhere
    in the text: "Kantor Pos Rani" and "PosAja! Drop Point" -> Pos Indonesia,
    "J&T Express Tanjung Duren" -> J&T Express, "Agen JNE Sukamaju" -> JNE,
    "ANS COLLECTIONS" -> None. Ambiguous short names (:data:`AMBIGUOUS`) count
    only as the whole text.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    words = _words(str(text))
    n = len(words)
    for i in range(n):
        for j in range(n, i, -1):
            key = _known_key("".join(words[i:j]))
            if key and (key not in AMBIGUOUS or (i == 0 and j == n)):
                return OPERATORS[key]
    return None


def _known_key(key: str) -> str | None:
    """``key`` itself, or without a glued-on suffix ("sicepatexpress"), if it is known."""
    for suffix in ("", "express", "ekspres", "xpress"):
        base = key[: len(key) - len(suffix)]
        if key.endswith(suffix) and base in OPERATORS:
            return base
    return None


def normalise_operator(name: object) -> str | None:
    """Canonical operator name; unknown operators keep their cleaned spelling."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return None
    s = " ".join(str(name).split())
    if not re.search(r"[^\W\d_]", s):  # no letter at all ('', '-', '123'): no name
        return None
    return find_operator(s) or s


def variables(cfg: CourierConfig, operators: tuple[str, ...], source: str = "") -> list[Variable]:
    """The variables this layer yields."""
    return [
        Variable(
            "courier_outlets",
            Kind.CATEGORY,
            "outlets",
            "courier / post outlets per operator",
            NAME,
            source,
            cfg.vintage,
            operators,
        ),
        Variable(
            "courier_distance_m",
            Kind.DISTANCE,
            "m",
            "metres from the cell centre to the nearest courier outlet",
            NAME,
            source,
            cfg.vintage,
        ),
    ]


def is_osm(path: str | Path) -> bool:
    """True for OpenStreetMap extracts (``.osm``, ``.osm.pbf``, ``.pbf``)."""
    return str(path).lower().endswith(OSM_SUFFIXES)


def read_outlets(
    cfg: CourierConfig,
    config: Config,
    notes: Notes,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Outlet points with a normalised ``operator``; rows without an operator are dropped.

    ``bbox`` (lon / lat) limits what is read from an OpenStreetMap extract.
    """
    path = config.path(cfg.outlets)
    if is_osm(path):
        gdf = read_osm(
            path, "courier outlets", cfg.osm_tags, [cfg.operator_column, "brand", "name"], bbox=bbox
        )
        if "operator_from" not in cfg.model_fields_set:
            cfg = cfg.model_copy(update={"operator_from": ["brand", "name"]})
    elif path.suffix.lower() in {".csv", ".xlsx"}:
        df = read_table(path, "courier outlets")
        require_columns(df, ["lon", "lat"], path, "courier outlets")
        kw = {"allow_missing": False, "lo": -180, "hi": 180, "decimal": cfg.decimal}
        kw["decimal_key"] = "layers.courier.decimal"
        lon = numeric_column(df, "lon", path, "courier outlets", **kw)
        lat = numeric_column(df, "lat", path, "courier outlets", **kw)
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        from ._io import check_lonlat_plausible

        check_lonlat_plausible(gdf, path, "courier outlets", tabular=True)
    else:
        gdf = read_vector(path, "courier outlets")
    if not gdf.geom_type.isin(["Point"]).all():
        i = int((~gdf.geom_type.isin(["Point"])).to_numpy().argmax())
        raise InputError(
            f"courier outlet is a {gdf.geom_type.iloc[i]}, expected a point",
            file=path,
            row=i + 1,
            fix="use one point per outlet",
        )
    tabular = path.suffix.lower() in {".csv", ".xlsx"} and not is_osm(path)
    rows = np.array([file_row(gdf, i) for i in range(len(gdf))]) if tabular else None
    mode = config.run.outside_indonesia
    gdf = points_outside_indonesia(gdf, path, "courier outlets", notes, mode, rows)
    op = operators(cfg, gdf, path)
    if op.isna().any():
        where = f" and no known company in {cfg.operator_from}" if cfg.operator_from else ""
        notes.add(
            path,
            "dropped",
            f"outlets without an operator name{where}",
            rows=list(gdf.index[op.isna().to_numpy()] + 1),
        )
    gdf = gdf.assign(operator=op).loc[op.notna()]
    known = set(OPERATORS.values()) | {normalise_operator(c) for c in cfg.companies}
    stray = ~gdf["operator"].isin(known).to_numpy()
    if stray.any():
        names = sorted({str(n) for n in gdf["operator"][stray]})
        notes.add(
            path,
            "dropped",
            f"outlets whose operator is not a known courier company, not counted for I3: "
            f"{names[:10]}; list real companies in layers.courier.companies",
            rows=list(gdf.index[stray] + 1),
        )
        gdf = gdf.loc[~stray]
    return gdf


def operators(cfg: CourierConfig, gdf: pd.DataFrame, path: Path) -> pd.Series:
    """Canonical operator per outlet (None where unknown), from the sources in ``cfg``.

    Order: ``operator_column`` (any name, normalised), then a known company named in
    the ``operator_from`` columns, then ``operator_constant``. The operator column
    may be missing from the file only when one of the other two is configured.
    """
    fallback = bool(cfg.operator_from) or cfg.operator_constant is not None
    if cfg.operator_column not in gdf.columns and (
        "operator_column" in cfg.model_fields_set or not fallback
    ):
        require_columns(gdf, [cfg.operator_column], path, "courier outlets")
    require_columns(gdf, cfg.operator_from, path, "courier outlets")
    op = pd.Series(None, index=gdf.index, dtype=object)
    if cfg.operator_column in gdf.columns:
        op = gdf[cfg.operator_column].map(normalise_operator).astype(object)
    for col in cfg.operator_from:
        op = op.where(op.notna(), gdf[col].map(find_operator))
    if cfg.operator_constant is not None:
        op = op.where(op.notna(), normalise_operator(cfg.operator_constant))
    return op


def read(
    cfg: CourierConfig, config: Config, notes: Notes, villages: gpd.GeoDataFrame
) -> LayerInputs:
    """Read and check the outlets around the villages (``outlets``: points with operator)."""
    path = config.path(cfg.outlets)
    pts = read_outlets(cfg, config, notes, bbox=tuple(villages.total_bounds))
    return LayerInputs([path], {"outlets": pts})


def aggregate(inputs: LayerInputs, cfg: CourierConfig, study: Study, notes: Notes) -> LayerResult:
    """Outlets per operator per cell, and distance to the nearest outlet."""
    path = inputs.files[0]
    pts = inputs["outlets"]
    operators = tuple(sorted(pts["operator"].unique()))
    lon, lat = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    t = points_to_cells(
        lon,
        lat,
        study.res,
        classes=pts["operator"].to_numpy(),
        class_names=operators,
        prefix="courier_outlets",
    )
    table = t.reindex(study.cell_index).fillna(0.0)
    clon, clat = grid.cell_centres(study.cells)
    table["courier_distance_m"] = nearest_distance_m(clon, clat, pts.geometry.values)
    return LayerResult(
        NAME,
        LEVEL,
        variables(cfg, operators, str(path)),
        table,
        pd.Series(1.0, index=study.cell_index),
        [path],
        {"courier_outlets": pts},
    )


def derive(
    values: pd.DataFrame, additive: pd.DataFrame, attributes: pd.DataFrame, layer: LayerResult
) -> tuple[pd.DataFrame, list[Variable]]:
    """Village-level I3 variable: distinct operators present (``courier_companies``)."""
    src = layer.variables[0]
    decl = Variable(
        "courier_companies",
        Kind.COUNT,
        "companies",
        "distinct courier companies with an outlet in a cell overlapping the village",
        NAME,
        src.source,
        src.vintage,
        level=src.level,
    )
    return pd.DataFrame(
        {"courier_companies": values["courier_outlets_n_classes"]}, index=values.index
    ), [decl]
