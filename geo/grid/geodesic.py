"""Great-circle distances for the pilot analyses (agents, clusters).

Villages are represented by one point each: ``representative_point()`` of the
polygon (always inside it, unlike a centroid of a crescent-shaped village).
Distances are haversine great-circle kilometres on a sphere of the mean Earth
radius (6,371.0088 km); against WGS84 geodesics the error stays below 0.6 %
(north-south near the equator), far below the tolerance of a "within 10 km"
planning radius.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from numpy.typing import ArrayLike

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


def village_points(villages: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) of one point inside each village."""
    pts = villages.geometry.representative_point()
    return pts.x.to_numpy(float), pts.y.to_numpy(float)


def haversine_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Great-circle distance (km) between points given in degrees (broadcasts)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, float)) for a in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def within_km(
    lon_a: ArrayLike, lat_a: ArrayLike, lon_b: ArrayLike, lat_b: ArrayLike, radius_km: float
) -> list[np.ndarray]:
    """For each point a, the indices of the points b within ``radius_km`` (ball tree)."""
    from sklearn.neighbors import BallTree

    b = np.radians(np.column_stack([lat_b, lon_b]))
    a = np.radians(np.column_stack([lat_a, lon_a]))
    if len(b) == 0 or len(a) == 0:
        return [np.empty(0, dtype=int) for _ in range(len(a))]
    tree = BallTree(b, metric="haversine")
    return list(tree.query_radius(a, r=radius_km / EARTH_RADIUS_KM))
