"""Where things are: Indonesia's territory, swapped coordinates, CRS labels that lie.

No country outline ships with despro, so "inside Indonesia" is the box lon 94-142 E,
lat 12 S - 7 N (:data:`INDONESIA_BOUNDS`, land and sea with a margin) minus the
neighbours' land that falls inside it (:data:`NEIGHBOURS`: Peninsular Malaysia and
Singapore, Sarawak, Brunei and Sabah, Mindanao and the Sulu islands, Timor-Leste,
Papua New Guinea, northern Australia and Christmas Island, Palau's south-west islands).
The neighbour shapes are coarse and drawn on the safe side: every one stays several
kilometres off Indonesian land (Batam and Bintan against Singapore, Rupat against the
Malaysian coast, Miangas against Mindanao, the Krayan highlands against Sabah), so a
point in them is certainly not Indonesian, while a point a few kilometres across a
border may still pass as Indonesian.

Checks on coordinates, in the order :func:`check_coordinates` runs them: NaN
coordinates; degrees labelled with a projected CRS (every coordinate within
+-180 / 90 "metres" of the projection's origin); points at 0, 0; numbers beyond
+-180 / 90 labelled as degrees (swapped latitude / longitude when the swapped reading
lies in Indonesia, else projected metres); most features outside Indonesia (again
swapped, or outside). Messages fit the file: a table (CSV / XLSX) has lon / lat
columns to fix, a vector file a CRS to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from despro.errors import InputError

# Indonesia with a margin: lon 94-142 E, lat 12 S - 7 N.
INDONESIA_BOUNDS = (94.0, -12.0, 142.0, 7.0)

#: neighbours' land inside :data:`INDONESIA_BOUNDS` (lon, lat rings; coarse, safe side)
NEIGHBOURS: dict[str, shapely.Polygon] = {
    "Malaysia / Singapore (Malay peninsula)": shapely.Polygon(
        [
            (99.15, 7.0),
            (104.6, 7.0),
            (104.6, 1.3),
            (104.1, 1.3),
            (103.55, 1.22),
            (103.4, 1.3),
            (101.0, 2.9),
        ]
    ),
    "Malaysia / Brunei (northern Borneo)": shapely.Polygon(
        [
            (109.5, 2.4),
            (111.0, 2.2),
            (112.5, 2.6),
            (113.8, 3.5),
            (115.0, 4.6),
            (116.0, 4.8),
            (118.0, 4.7),
            (119.2, 4.6),
            (119.5, 7.0),
            (109.5, 7.0),
        ]
    ),
    "the Philippines (Mindanao, Sulu)": shapely.Polygon(
        [
            (119.2, 4.6),
            (120.5, 5.0),
            (122.0, 6.0),
            (124.0, 5.6),
            (125.0, 5.2),
            (125.8, 5.2),
            (126.2, 6.0),
            (126.3, 7.0),
            (119.5, 7.0),
        ]
    ),
    "Timor-Leste": shapely.Polygon([(125.3, -8.35), (127.4, -8.2), (127.4, -8.8), (125.3, -9.6)]),
    "Papua New Guinea": shapely.box(141.05, -12.0, 142.0, 7.0),
    "Australia": shapely.MultiPolygon(
        [
            shapely.box(94.0, -12.0, 117.0, -9.6),  # Christmas Island and open sea
            shapely.box(117.0, -12.0, 123.5, -11.2),
            shapely.box(123.5, -12.0, 141.05, -11.05),  # Melville Island, Arnhem Land
        ]
    ),
    "Palau": shapely.box(130.0, 2.6, 141.05, 7.0),
}
_NEIGHBOURS = list(NEIGHBOURS.values())
for _g in _NEIGHBOURS:
    shapely.prepare(_g)


def _centres(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of each feature's centroid; NaN where empty or missing."""
    c = shapely.centroid(np.asarray(geoms))
    empty = shapely.is_missing(c) | shapely.is_empty(c)
    xy = np.full((len(c), 2), np.nan)
    if (~empty).any():
        xy[~empty] = shapely.get_coordinates(c[~empty])[:, :2]
    return xy[:, 0], xy[:, 1]


def outside_indonesia(geoms: np.ndarray) -> np.ndarray:
    """True where a feature's centroid lies outside Indonesia (empty features: False).

    Parameters
    ----------
    geoms : array of shapely geometries
        In degrees (EPSG:4326).

    Returns
    -------
    ndarray of bool
    """
    x, y = _centres(geoms)
    known = ~np.isnan(x)
    xmin, ymin, xmax, ymax = INDONESIA_BOUNDS
    out = known & ~((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    inside = known & ~out
    if inside.any():
        xi, yi = x[inside], y[inside]
        hit = np.zeros(len(xi), bool)
        for g in _NEIGHBOURS:
            hit |= shapely.contains_xy(g, xi, yi)
        out[np.flatnonzero(inside)[hit]] = True
    return out


def place_of(x: float, y: float) -> str:
    """Where a lon / lat point lies, in words, for messages (``x``, ``y`` in degrees)."""
    if not (np.isfinite(x) and np.isfinite(y)):
        return "no valid position"
    if abs(x) < 1 and abs(y) < 1:
        return "at 0, 0 (missing coordinates written as zeros?)"
    for name, g in NEIGHBOURS.items():
        if shapely.contains_xy(g, x, y):
            return f"in {name}"
    xmin, ymin, xmax, ymax = INDONESIA_BOUNDS
    if y < -60:
        return "in Antarctica"
    if 35 <= y <= 72 and -25 <= x <= 45:
        return "in Europe"
    if not (xmin <= x <= xmax and ymin <= y <= ymax):
        return f"outside Indonesia (lon {x:.4g}, lat {y:.4g})"
    return f"at lon {x:.4g}, lat {y:.4g}"


def nan_coordinates(geoms: np.ndarray, chunk: int = 20_000) -> np.ndarray:
    """True where a feature has a NaN or infinite coordinate (checked in chunks)."""
    geoms = np.asarray(geoms)
    out = np.zeros(len(geoms), bool)
    for start in range(0, len(geoms), chunk):
        part = geoms[start : start + chunk]
        coords, idx = shapely.get_coordinates(part, return_index=True)
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            out[start + np.unique(idx[bad])] = True
    return out


def _swap_fix(tabular: bool) -> str:
    if tabular:
        return "swap the two columns: lon (x) is 94 to 142, lat (y) is -12 to 7 in Indonesia"
    return (
        "write x = longitude, y = latitude (ogr2ogr -s_srs EPSG:4326 -t_srs EPSG:4326 "
        "-oo ... or swap the columns before export; GeoJSON is always lon, lat)"
    )


def check_coordinates(
    gdf: gpd.GeoDataFrame,
    path: Path,
    what: str,
    extent: Literal["indonesia", "any"] = "indonesia",
    row: object = None,
    tabular: bool = False,
) -> None:
    """Raise :class:`~despro.errors.InputError` for coordinates that cannot be right.

    Parameters
    ----------
    gdf : GeoDataFrame
        With its CRS as labelled in the file.
    path : Path
        The file, for messages.
    what : str
        What the features are (``"courier outlets"``).
    extent : {'indonesia', 'any'}
        'any' for worldwide files: only the +-180 / 90 range and the CRS label checks.
    row : callable, optional
        Position -> row or feature named in errors (default: position + 1).
    tabular : bool
        The features come from lon / lat columns of a table: fixes name the columns.
    """
    name = row or (lambda i: i + 1)
    geoms = gdf.geometry.values
    nan = nan_coordinates(geoms)
    if nan.any():
        i = int(np.flatnonzero(nan)[0])
        raise InputError(
            f"{what}: {int(nan.sum())} feature(s) have a coordinate that is not a number "
            "(NaN or infinite)",
            file=path,
            row=name(i),
            fix="fill in the coordinates or remove the feature",
        )
    b = shapely.bounds(geoms)
    known = ~np.isnan(b).any(axis=1)
    if not known.any():
        return
    b = b[known]
    lo_x, lo_y, hi_x, hi_y = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    if gdf.crs is not None and gdf.crs.is_projected:
        if max(abs(lo_x), abs(hi_x)) <= 180 and max(abs(lo_y), abs(hi_y)) <= 90:
            raise InputError(
                f"{what}: the CRS says projected metres ({gdf.crs.to_string()}) but every "
                f"coordinate lies within +-180 / 90 (x {lo_x:.4g} to {hi_x:.4g}, y {lo_y:.4g} "
                f"to {hi_y:.4g}): they are degrees",
                file=path,
                fix="label the file as degrees: ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg",
            )
        return
    zero = known & (np.abs(shapely.bounds(geoms)).max(axis=1) == 0)
    if zero.any():
        raise InputError(
            f"{what}: {int(zero.sum())} feature(s) lie at exactly 0, 0 (missing or "
            "unreadable coordinates written as zeros)",
            file=path,
            row=name(int(np.flatnonzero(zero)[0])),
            fix="fill in the coordinates or remove the features",
        )
    if max(abs(lo_x), abs(hi_x)) > 180 or max(abs(lo_y), abs(hi_y)) > 90:
        swapped = shapely.transform(geoms, lambda xy: xy[:, ::-1])
        if extent == "indonesia" and outside_indonesia(swapped).mean() < 0.5:
            raise InputError(
                f"{what}: latitude and longitude are swapped (y holds values up to "
                f"{max(abs(lo_y), abs(hi_y)):.4g}, Indonesia's longitudes)",
                file=path,
                fix=_swap_fix(tabular),
            )
        if tabular:
            fix = "give lon / lat in degrees (WGS 84), not projected metres"
        else:
            fix = "set the real CRS (e.g. ogr2ogr -a_srs EPSG:32749 for UTM 49S)"
        raise InputError(
            f"{what} coordinates exceed +-180/90 but the CRS says degrees "
            f"({gdf.crs.to_string() if gdf.crs is not None else 'lon/lat'}); they look like "
            "projected metres",
            file=path,
            fix=fix,
        )
    if extent == "any":
        return
    lo = outside_indonesia(geoms)
    if lo.mean() > 0.5:
        swapped = shapely.transform(geoms, lambda xy: xy[:, ::-1])
        i = int(np.flatnonzero(lo)[0])
        if outside_indonesia(swapped).mean() < 0.5:
            raise InputError(
                f"{what}: latitude and longitude are swapped",
                file=path,
                row=name(i),
                fix=_swap_fix(tabular),
            )
        x, y = _centres(geoms[i : i + 1])
        raise InputError(
            f"{what}: {int(lo.sum())} of {len(lo)} features lie outside Indonesia "
            f"(the first {place_of(x[0], y[0])})",
            file=path,
            row=name(i),
            fix="check the coordinates"
            + (" (lon, lat columns)" if tabular else " and the CRS the file declares"),
        )


def describe_outside(geoms: np.ndarray, mask: np.ndarray) -> str:
    """Where the first feature of ``mask`` lies, in words."""
    i = int(np.flatnonzero(mask)[0])
    x, y = _centres(np.asarray(geoms)[i : i + 1])
    return place_of(x[0], y[0])
