"""Deterministic synthetic sample data for despro.

Writes a small, fully SYNTHETIC province shaped loosely like the Yogyakarta
region (lon 110.00-110.85 E, lat 8.20-7.55 S, sea to the south) with every
input layer the engine reads: villages, regencies, Ookla-style speed tiles, a
4G coverage raster, a population raster, a fibre backbone, regency ICT
statistics, courier outlets and village products.

Nothing here is read from real data: every number comes from
``numpy.random.default_rng`` seeded with ``seed``, so the same seed always
gives the same content. Each output draws from its own stream
(``default_rng([seed, stream])``), so changing one generator does not change
the others.

Run as ``python -m despro.demo.sample data/sample`` or
``python geo/sample.py data/sample``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio import features
from rasterio.transform import from_origin

SEED = 20190601
CRS = "EPSG:4326"
BBOX = (110.00, -8.20, 110.85, -7.55)  # west, south, east, north (degrees)
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON = 111.32 * np.cos(np.deg2rad(-7.85))

# Town centres: lon, lat (degrees), weight (0-1), spread sigma (degrees).
TOWNS = np.array(
    [
        [110.37, -7.80, 1.00, 0.050],  # main city
        [110.16, -7.86, 0.55, 0.030],  # western market town
        [110.60, -7.96, 0.60, 0.030],  # eastern market town
    ]
)

# Regency code, synthetic name, seed point (lon, lat) for the nearest-seed split.
REGENCIES = [
    ("34.01", "Kab. Kulon Tirto", 110.13, -7.80),
    ("34.02", "Kab. Bantarjo", 110.42, -7.95),
    ("34.03", "Kab. Gunung Wetan", 110.70, -7.84),
    ("34.04", "Kab. Lereng Ardi", 110.40, -7.66),
    ("34.71", "Kota Keraton Sari", 110.37, -7.80),
]
KOTA_RADIUS_DEG = 0.05  # villages whose seed lies this close to the main city

# Regency ICT shares (%). Chosen by hand so each Despro threshold splits the
# regencies: phone >= 50 fails in 34.01, internet >= 30 fails in 34.03,
# computer >= 20 fails in 34.01 and 34.02, and 34.03 has no computer figure
# (I2 becomes unknown there because its phone share passes).
ICT = {
    "34.01": (48.9, 58.2, 9.4),
    "34.02": (68.9, 71.5, 19.6),
    "34.03": (62.4, 27.8, np.nan),
    "34.04": (74.2, 82.4, 27.3),
    "34.71": (79.6, 89.7, 34.8),
}

NAME_PREFIXES = (
    "Sido Karang Tirto Wono Sumber Banyu Argo Margo Sri Purwo Sendang Jati "
    "Ngesti Tri Guno Panggung Selo Giri Bumi Wukir Suko Pando Candi Tegal"
).split()
NAME_SUFFIXES = (
    "mulyo rejo harjo agung sari luhur tani arjo kerto makmur asri dadi mukti rahayu wetan kulon"
).split()
AMPERSAND_NAME = "Karang & Sari"

# category: (label_id, label_en, demand_growth_pct)
CATEGORY_LABELS = {
    "food_beverage": ("Makanan dan minuman", "Food and beverage", 18.5),
    "fashion": ("Fesyen dan batik", "Fashion and batik", 24.0),
    "handicraft": ("Kerajinan tangan", "Handicraft", 12.0),
    "ceramics": ("Keramik dan gerabah", "Ceramics and pottery", 9.5),
    "agriculture": ("Hasil pertanian olahan", "Processed farm produce", 4.5),
    "leather": ("Kulit dan produk kulit", "Leather goods", 31.0),
}
# Spatial clustering per category, same order as CATEGORY_LABELS: cluster centre
# lon, lat (deg), sigma (deg), amplitude, background weight. A village's odds of
# making a category are background + amplitude * gaussian(distance to centre).
CATEGORY_CLUSTERS = np.array(
    [
        [110.37, -7.80, 0.100, 0.6, 1.00],  # food everywhere, a little more in the city
        [110.45, -7.90, 0.035, 6.0, 0.15],  # batik cluster
        [110.20, -7.74, 0.045, 5.0, 0.25],  # bamboo and wood crafts in the west
        [110.30, -7.88, 0.030, 8.0, 0.05],  # pottery cluster
        [110.42, -7.63, 0.060, 4.0, 0.50],  # farm produce on the northern slopes
        [110.34, -7.95, 0.025, 7.0, 0.05],  # leather cluster
    ]
)
PRODUCTS = {
    "food_beverage": ["Keripik tempe", "Bakpia", "Geplak", "Emping melinjo", "Kopi bubuk"],
    "fashion": ["Batik tulis", "Batik cap", "Tenun lurik"],
    "handicraft": ["Anyaman bambu", "Kerajinan kayu", "Topeng kayu", "Kerajinan perak"],
    "ceramics": ["Gerabah", "Keramik hias", "Genteng tanah liat"],
    "agriculture": ["Salak pondoh", "Gula semut", "Beras organik", "Kakao fermentasi"],
    "leather": ["Kulit olahan", "Tas kulit", "Wayang kulit", "Sepatu kulit"],
}

COURIERS = {
    "JNE": "JNE Agen",
    "J&T Express": "J&T Express Drop Point",
    "SiCepat": "SiCepat Point",
    "Pos Indonesia": "Kantor Pos",
    "TIKI": "TIKI Agen",
    "AnterAja": "AnterAja Agen",
    "Ninja Xpress": "Ninja Xpress Point",
}
COURIER_SHARES = [0.22, 0.22, 0.14, 0.14, 0.10, 0.10, 0.08]

# Independent random streams, one per generator.
_STREAMS = {
    "land": 1,
    "villages": 2,
    "ookla": 3,
    "coverage": 4,
    "population": 5,
    "backbone": 6,
    "outlets": 7,
    "products": 8,
}


def _rng(seed: int, stream: str) -> np.random.Generator:
    """Return the independent generator for one output stream."""
    return np.random.default_rng([seed, _STREAMS[stream]])


# --------------------------------------------------------------------------
# shared geometry helpers
# --------------------------------------------------------------------------
def town_influence(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Urban intensity in [0, 1] from the synthetic town centres.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Coordinates in degrees (broadcastable).

    Returns
    -------
    numpy.ndarray
        Maximum over towns of ``weight * exp(-d**2 / (2 sigma**2))`` with
        ``d`` the planar distance in degrees.
    """
    lon = np.asarray(lon, dtype=float)[..., None]
    lat = np.asarray(lat, dtype=float)[..., None]
    d2 = (lon - TOWNS[:, 0]) ** 2 + (lat - TOWNS[:, 1]) ** 2
    return (TOWNS[:, 2] * np.exp(-d2 / (2 * TOWNS[:, 3] ** 2))).max(axis=-1)


def _smooth_noise(
    t: np.ndarray, rng: np.random.Generator, amp: float, terms: int = 4
) -> np.ndarray:
    """Sum of random-phase sines along ``t`` in [0, 1]; amplitude ``amp``."""
    freqs = rng.uniform(1.0, 9.0, terms)
    phases = rng.uniform(0, 2 * np.pi, terms)
    weights = rng.uniform(0.3, 1.0, terms)
    wave = (weights * np.sin(2 * np.pi * np.outer(t, freqs) + phases)).sum(axis=1)
    return amp * wave / weights.sum()


def _coast_lat(lon: np.ndarray) -> np.ndarray:
    """Smooth trend of the south coast latitude (degrees) at ``lon``."""
    t = (np.asarray(lon) - BBOX[0]) / (BBOX[2] - BBOX[0])
    return -7.88 - 0.20 * t + 0.012 * np.sin(2 * np.pi * 2.5 * t)


def _land(seed: int) -> tuple[shapely.Polygon, np.ndarray]:
    """Build the irregular land polygon.

    Returns
    -------
    land : shapely.Polygon
        Valid land polygon in lon/lat degrees.
    coast : numpy.ndarray
        ``(n, 2)`` south-coast vertices from west to east.
    """
    rng = _rng(seed, "land")
    west, east = 110.02, 110.83
    lon = np.linspace(west, east, 161)
    t = np.linspace(0, 1, lon.size)
    coast_lat = (
        _coast_lat(lon) + _smooth_noise(t, rng, 0.025, 6) + rng.uniform(-0.003, 0.003, lon.size)
    )
    coast = np.column_stack([lon, coast_lat])

    north_lon = np.linspace(east, west, 81)
    north_lat = -7.572 + _smooth_noise(np.linspace(0, 1, 81), rng, 0.012, 4)
    east_lat = np.linspace(coast_lat[-1], north_lat[0], 31)[1:-1]
    east_lon = east + _smooth_noise(np.linspace(0, 1, east_lat.size), rng, 0.012, 3)
    west_lat = np.linspace(north_lat[-1], coast_lat[0], 31)[1:-1]
    west_lon = west + 0.012 + _smooth_noise(np.linspace(0, 1, west_lat.size), rng, 0.010, 3)

    ring = np.vstack(
        [
            coast,
            np.column_stack([east_lon, east_lat]),
            np.column_stack([north_lon, north_lat]),
            np.column_stack([west_lon, west_lat]),
        ]
    )
    land = shapely.make_valid(shapely.Polygon(np.round(ring, 6)))
    if land.geom_type != "Polygon":
        land = max(shapely.get_parts(land), key=lambda g: g.area)
    return land, coast


def _sample_in_land(
    land: shapely.Polygon, n: int, rng: np.random.Generator, town_share: float, spread: float = 1.0
) -> np.ndarray:
    """Draw ``n`` points inside ``land``, a share of them clustered at towns.

    Parameters
    ----------
    land : shapely.Polygon
        Polygon the points must fall in.
    n : int
        Number of points.
    rng : numpy.random.Generator
        Random stream.
    town_share : float
        Expected fraction of points drawn around the towns (0-1).
    spread : float
        Multiplier of each town's sigma for the clustered points.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` lon/lat in degrees.
    """
    west, south, east, north = land.bounds
    m = 6 * n + 200
    uniform = np.column_stack([rng.uniform(west, east, m), rng.uniform(south, north, m)])
    town = rng.choice(len(TOWNS), m, p=TOWNS[:, 2] / TOWNS[:, 2].sum())
    clustered = TOWNS[town, :2] + rng.normal(0, 1, (m, 2)) * (spread * TOWNS[town, 3])[:, None]
    pts = np.where((rng.random(m) < town_share)[:, None], clustered, uniform)
    inside = shapely.contains_xy(land, pts[:, 0], pts[:, 1])
    pts = pts[inside]
    if len(pts) < n:  # cannot happen with these margins; fail loudly if it does
        raise RuntimeError(f"only {len(pts)} of {n} sample points fell on land")
    return pts[:n]


def _grid(res: float) -> tuple[rasterio.Affine, int, int, np.ndarray, np.ndarray]:
    """Pixel grid over BBOX: transform, height, width and pixel-centre lon/lat."""
    west, south, east, north = BBOX
    width = int(round((east - west) / res))
    height = int(round((north - south) / res))
    transform = from_origin(west, north, res, res)
    lon = west + (np.arange(width) + 0.5) * res
    lat = north - (np.arange(height) + 0.5) * res
    lon2, lat2 = np.meshgrid(lon, lat)
    return transform, height, width, lon2, lat2


def _land_mask(
    land: shapely.Polygon, transform: rasterio.Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Boolean mask of pixels whose centre lies on land."""
    return features.geometry_mask([land], out_shape=shape, transform=transform, invert=True)


# --------------------------------------------------------------------------
# villages and regencies
# --------------------------------------------------------------------------
def _voronoi_tiles(land: shapely.Polygon, seeds: np.ndarray) -> np.ndarray:
    """Voronoi cells of ``seeds`` clipped to ``land``, one polygon per seed.

    Parts of a clipped cell cut off from its seed (across a bay) are merged
    into the neighbour with which they share the longest border, so the
    result is a set of single polygons tiling the land.
    """
    pts = shapely.points(seeds)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(pts), extend_to=shapely.box(*BBOX).buffer(0.5), ordered=True
        )
    )
    clipped = shapely.intersection(cells, land, grid_size=1e-7)

    parts, owner = shapely.get_parts(clipped, return_index=True)
    keep = shapely.intersects(parts, pts[owner])
    main = np.empty(len(seeds), dtype=object)
    main[owner[keep]] = parts[keep]
    if not keep.all():
        tree = shapely.STRtree(main)
        for orphan, own in zip(parts[~keep], owner[~keep], strict=True):  # a few bay slivers
            near = tree.query(orphan, predicate="intersects")
            shared = shapely.length(
                shapely.intersection(main[near], orphan.boundary, grid_size=1e-7)
            )
            # no neighbour along an edge: keep the sliver with its own village (MultiPolygon)
            target = near[np.argmax(shared)] if len(near) and shared.max() > 0 else own
            main[target] = shapely.union(main[target], orphan, grid_size=1e-7)
    return main


def _assign_regencies(seeds: np.ndarray) -> np.ndarray:
    """Regency code per village seed: the Kota disc, else the nearest regency seed."""
    rural = [r for r in REGENCIES if not r[1].startswith("Kota")]
    centres = np.array([[r[2], r[3]] for r in rural])
    d2 = ((seeds[:, None, :] - centres[None]) ** 2).sum(axis=2)
    codes = np.array([r[0] for r in rural])[d2.argmin(axis=1)]
    kota = [r for r in REGENCIES if r[1].startswith("Kota")][0]
    in_kota = np.hypot(seeds[:, 0] - kota[2], seeds[:, 1] - kota[3]) < KOTA_RADIUS_DEG
    return np.where(in_kota, kota[0], codes)


def _kmeans_districts(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Split points into ``k`` compact groups (farthest-point start, Lloyd steps).

    Returns district numbers 1..k ordered north to south.
    """
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(k - 1):
        d = np.min([np.hypot(*(xy - c).T) for c in centres], axis=0)
        centres.append(xy[d.argmax()])
    centres = np.array(centres)
    for _ in range(8):
        label = ((xy[:, None] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        centres = np.array(
            [xy[label == j].mean(axis=0) if np.any(label == j) else centres[j] for j in range(k)]
        )
    label = ((xy[:, None] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    rank = np.argsort(np.argsort(-centres[:, 1] + 1e-3 * centres[:, 0]))
    return rank[label] + 1


def _village_codes(
    regency: np.ndarray, district: np.ndarray, urban: np.ndarray, seeds: np.ndarray
) -> np.ndarray:
    """Dotted Kemendagri codes ``34.RR.DD.TNNN`` (T = 1 kelurahan, 2 desa).

    Villages are numbered within their district from north-west to south-east.
    """
    order = np.lexsort((seeds[:, 0], -seeds[:, 1], ~urban, district, regency))
    frame = pd.DataFrame({"reg": regency[order], "dist": district[order], "urban": urban[order]})
    number = frame.groupby(["reg", "dist", "urban"]).cumcount().to_numpy() + 1
    kind = np.where(frame["urban"], 1000, 2000) + number
    codes = np.empty(len(seeds), dtype=object)
    codes[order] = [
        f"{r}.{d:02d}.{k:04d}" for r, d, k in zip(frame["reg"], frame["dist"], kind, strict=True)
    ]
    return codes


def _village_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unique Javanese-looking names from prefix + suffix syllables."""
    combos = np.array([p + s for p in NAME_PREFIXES for s in NAME_SUFFIXES], dtype=object)
    return rng.choice(combos, n, replace=False)


def make_villages(land: shapely.Polygon, seed: int = SEED, n: int = 300) -> gpd.GeoDataFrame:
    """Generate the synthetic village polygons.

    Parameters
    ----------
    land : shapely.Polygon
        Land polygon (degrees).
    seed : int
        Master seed.
    n : int
        Number of villages.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``village_code`` (dotted), ``village_name``, ``regency_code``
        (dotted), ``province_code``, ``population`` (people), ``households``
        and ``geometry`` (Polygon, EPSG:4326), sorted by code.
    """
    rng = _rng(seed, "villages")
    seeds = _sample_in_land(land, n, rng, town_share=0.35, spread=1.2)
    geoms = _voronoi_tiles(land, seeds)

    regency = _assign_regencies(seeds)
    district = np.zeros(n, dtype=int)
    for code in sorted(set(regency)):
        sel = regency == code
        k = int(min(rng.integers(3, 7), sel.sum()))
        district[sel] = _kmeans_districts(seeds[sel], k, rng)

    infl = town_influence(seeds[:, 0], seeds[:, 1])
    urban = (regency == "34.71") | (infl > 0.45)
    share = 0.85 * infl * rng.lognormal(0, 0.25, n) + rng.uniform(0, 0.15, n)
    population = np.round(1500 + 13500 * np.clip(share, 0, 1)).astype(np.int64)
    households = np.round(population / rng.uniform(3.2, 3.8, n)).astype(np.int64)

    names = _village_names(n, rng)
    frame = gpd.GeoDataFrame(
        {
            "village_code": _village_codes(regency, district, urban, seeds),
            "village_name": names,
            "regency_code": regency,
            "province_code": "34",
            "population": population,
            "households": households,
        },
        geometry=list(geoms),
        crs=CRS,
    )
    return frame.sort_values("village_code", ignore_index=True)


def _regencies_table() -> pd.DataFrame:
    """Regency list with undotted 4-digit codes."""
    return pd.DataFrame(
        {
            "regency_code": [r[0].replace(".", "") for r in REGENCIES],
            "regency_name": [r[1] for r in REGENCIES],
            "province_code": "34",
        }
    )


PROVINCE_NAME = "Daerah Contoh (sintetis)"


def _admin_codes_table() -> pd.DataFrame:
    """Kemendagri-style code list (``kode`` dotted, ``nama``): the province and its regencies.

    The sample's ``villages.names``: map pages and tables name regencies and the province.
    """
    return pd.DataFrame(
        {
            "kode": ["34", *(r[0] for r in REGENCIES)],
            "nama": [PROVINCE_NAME, *(r[1] for r in REGENCIES)],
        }
    )


def _ict_table() -> pd.DataFrame:
    """Synthetic Susenas-like ICT percentages per regency (2024)."""
    codes = [r[0] for r in REGENCIES]
    values = np.array([ICT[c] for c in codes])
    return pd.DataFrame(
        {
            "regency_code": [c.replace(".", "") for c in codes],
            "regency_name": [r[1] for r in REGENCIES],
            "year": 2024,
            "pct_individuals_mobile_phone": values[:, 0],
            "pct_households_internet": values[:, 1],
            "pct_households_computer": values[:, 2],
            "source": "SYNTHETIC, shaped like BPS Susenas",
        }
    )


# --------------------------------------------------------------------------
# Ookla tiles
# --------------------------------------------------------------------------
def lonlat_to_tile(lon: np.ndarray, lat: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web-Mercator (slippy map / Bing) tile x, y containing each point.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Degrees.
    zoom : int
        Tile zoom level.

    Returns
    -------
    tuple of numpy.ndarray
        Integer tile column ``x`` and row ``y`` (row 0 at the north).
    """
    n = 2**zoom
    lat_r = np.deg2rad(lat)
    x = np.floor((np.asarray(lon) + 180.0) / 360.0 * n).astype(np.int64)
    y = np.floor((1.0 - np.arcsinh(np.tan(lat_r)) / np.pi) / 2.0 * n).astype(np.int64)
    return np.clip(x, 0, n - 1), np.clip(y, 0, n - 1)


def tile_bounds(x: np.ndarray, y: np.ndarray, zoom: int) -> tuple[np.ndarray, ...]:
    """West, south, east, north (degrees) of Web-Mercator tiles ``x, y``."""
    n = 2**zoom

    def lat_of(row: np.ndarray) -> np.ndarray:
        return np.rad2deg(np.arctan(np.sinh(np.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat_of(y + 1), (x + 1) / n * 360.0 - 180.0, lat_of(y)


def quadkeys(x: np.ndarray, y: np.ndarray, zoom: int) -> np.ndarray:
    """Bing quadkey strings for tiles ``x, y`` (one digit per zoom level)."""
    shifts = np.arange(zoom - 1, -1, -1)
    digits = ((np.asarray(x)[:, None] >> shifts) & 1) + 2 * ((np.asarray(y)[:, None] >> shifts) & 1)
    chars = (digits + ord("0")).astype(np.uint8)
    return np.frombuffer(chars.tobytes(), dtype=f"S{zoom}").astype(str)


def _tile_wkt(
    west: np.ndarray, south: np.ndarray, east: np.ndarray, north: np.ndarray
) -> np.ndarray:
    """Ookla-style WKT rings: top-left, top-right, bottom-right, bottom-left, close."""
    w, s, e, n = (np.char.mod("%.15g", v) for v in (west, south, east, north))
    sp, cm = " ", ", "
    parts = [w, sp, n, cm, e, sp, n, cm, e, sp, s, cm, w, sp, s, cm, w, sp, n]
    body = parts[0]
    for p in parts[1:]:
        body = np.char.add(body, p)
    return np.char.add(np.char.add("POLYGON((", body), "))").astype(object)


def make_ookla(
    land: shapely.Polygon, seed: int = SEED, zoom: int = 16, share: float = 0.25
) -> pd.DataFrame:
    """Generate Ookla open-data style fixed-broadband tiles.

    Parameters
    ----------
    land : shapely.Polygon
        Land polygon (degrees).
    seed : int
        Master seed.
    zoom : int
        Tile zoom (Ookla publishes zoom 16).
    share : float
        Expected fraction of land tiles that carry tests.

    Returns
    -------
    pandas.DataFrame
        ``quadkey``, ``tile`` (WKT), ``avg_d_kbps``, ``avg_u_kbps``,
        ``avg_lat_ms``, ``tests``, ``devices``; sorted by quadkey.
    """
    rng = _rng(seed, "ookla")
    x0, y0 = lonlat_to_tile(np.array([land.bounds[0]]), np.array([land.bounds[3]]), zoom)
    x1, y1 = lonlat_to_tile(np.array([land.bounds[2]]), np.array([land.bounds[1]]), zoom)
    xx, yy = np.meshgrid(np.arange(x0[0], x1[0] + 1), np.arange(y0[0], y1[0] + 1))
    x, y = xx.ravel(), yy.ravel()
    west, south, east, north = tile_bounds(x, y, zoom)
    cx, cy = (west + east) / 2, (south + north) / 2
    on_land = shapely.contains_xy(land, cx, cy)
    x, y, west, south, east, north, cx, cy = (
        a[on_land] for a in (x, y, west, south, east, north, cx, cy)
    )

    infl = town_influence(cx, cy)
    weight = 0.03 + infl**1.5
    lo, hi = 0.0, 50.0
    for _ in range(60):  # bisection: scale so the expected share of tiles is `share`
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.clip(mid * weight, 0, 1).mean() < share else (lo, mid)
    keep = rng.random(len(x)) < np.clip(lo * weight, 0, 1)
    x, y, west, south, east, north, infl = (a[keep] for a in (x, y, west, south, east, north, infl))
    n = len(x)

    mbps = np.clip(2 + 110 * infl**0.8 * rng.lognormal(0, 0.35, n) + rng.gamma(2.0, 4.0, n), 2, 120)
    down = np.round(mbps * 1000).astype(np.int64)
    up = np.round(down * rng.uniform(0.15, 0.6, n)).astype(np.int64)
    latency = np.round(np.clip(12 + 60 * (1 - infl) * rng.lognormal(0, 0.3, n), 5, 150)).astype(
        np.int64
    )
    tests = 1 + rng.poisson(2 + 40 * infl**1.2)
    devices = rng.integers(1, tests + 1)
    frame = pd.DataFrame(
        {
            "quadkey": quadkeys(x, y, zoom),
            "tile": _tile_wkt(west, south, east, north),
            "avg_d_kbps": down,
            "avg_u_kbps": up,
            "avg_lat_ms": latency,
            "tests": tests.astype(np.int64),
            "devices": devices.astype(np.int64),
        }
    )
    return frame.sort_values("quadkey", ignore_index=True)


# --------------------------------------------------------------------------
# rasters
# --------------------------------------------------------------------------
NOT_SURVEYED = (110.66, -7.76, 110.78, -7.68)  # west, south, east, north (degrees)


def make_coverage(
    land: shapely.Polygon, seed: int = SEED, res: float = 0.002
) -> tuple[np.ndarray, dict]:
    """4G signal raster: 1 signal, 0 none, 255 nodata (sea, unsurveyed block).

    Signal is the union of discs around ~40 random towers (radius 2-6 km),
    half of them near the towns.

    Returns
    -------
    tuple
        ``(array uint8 (rows, cols), rasterio profile)``.
    """
    rng = _rng(seed, "coverage")
    transform, height, width, lon, lat = _grid(res)
    towers = np.vstack(
        [_sample_in_land(land, 20, rng, 1.0, 1.5), _sample_in_land(land, 20, rng, 0.0)]
    )
    radius_km = rng.uniform(2.0, 6.0, len(towers))
    dx = (lon[..., None] - towers[:, 0]) * KM_PER_DEG_LON
    dy = (lat[..., None] - towers[:, 1]) * KM_PER_DEG_LAT
    signal = (dx**2 + dy**2 < radius_km**2).any(axis=-1)

    data = signal.astype(np.uint8)
    w, s, e, n = NOT_SURVEYED
    unsurveyed = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    data[unsurveyed | ~_land_mask(land, transform, (height, width))] = 255
    profile = _profile(height, width, transform, "uint8", 255)
    return data, profile


def make_population_raster(
    villages: gpd.GeoDataFrame, seed: int = SEED, res: float = 0.005
) -> tuple[np.ndarray, dict]:
    """People per pixel, summing exactly to each village's population.

    Each village's population is spread over the pixels whose centre lies in
    it, weighted by town intensity and noise; a village too small to own a
    pixel centre puts its people in the pixel under its representative point.

    Returns
    -------
    tuple
        ``(array float32 (rows, cols), rasterio profile)``; nodata -9999.
    """
    rng = _rng(seed, "population")
    transform, height, width, lon, lat = _grid(res)
    n = len(villages)
    owner = features.rasterize(
        zip(villages.geometry, range(1, n + 1), strict=True),
        out_shape=(height, width),
        transform=transform,
        fill=0,
        dtype="int32",
    ).ravel()
    weight = (0.3 + 3.0 * town_influence(lon, lat).ravel()) * rng.lognormal(0, 0.3, owner.size)
    weight[owner == 0] = 0.0
    total = np.bincount(owner, weights=weight, minlength=n + 1)
    pop = villages["population"].to_numpy(dtype=float)
    values = np.zeros(owner.size)
    has = owner > 0
    values[has] = pop[owner[has] - 1] * weight[has] / total[owner[has]]

    missing = np.flatnonzero(total[1:] == 0)
    if len(missing):
        rep = shapely.point_on_surface(villages.geometry.values[missing])
        row, col = rasterio.transform.rowcol(transform, shapely.get_x(rep), shapely.get_y(rep))
        flat = np.asarray(row) * width + np.asarray(col)
        np.add.at(values, flat, pop[missing])
        has[flat] = True

    out = np.where(has, values, -9999.0).astype(np.float32).reshape(height, width)
    return out, _profile(height, width, transform, "float32", -9999.0)


def _profile(
    height: int, width: int, transform: rasterio.Affine, dtype: str, nodata: float
) -> dict:
    """GeoTIFF profile shared by both rasters."""
    return {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": dtype,
        "crs": CRS,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
    }


# --------------------------------------------------------------------------
# backbone, outlets, products
# --------------------------------------------------------------------------
def _wiggly_line(
    points: list[tuple[float, float]], rng: np.random.Generator, amp: float = 0.008
) -> np.ndarray:
    """Polyline through ``points`` with 4 jittered vertices inserted per leg."""
    pts = np.asarray(points, dtype=float)
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        f = np.linspace(0, 1, 6)[1:, None]
        leg = a + f * (b - a)
        leg[:-1] += rng.uniform(-amp, amp, (4, 2))
        out.append(leg)
    return np.round(np.vstack(out), 6)


def _nearest_coast(coast: np.ndarray, lon: float) -> tuple[float, float]:
    """Coast vertex closest in longitude to ``lon``."""
    i = int(np.abs(coast[:, 0] - lon).argmin())
    return float(coast[i, 0]), float(coast[i, 1])


def make_backbone(
    land: shapely.Polygon, coast: np.ndarray, seed: int = SEED
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Fibre backbone routes and nodes.

    One submarine segment runs offshore between two landing points; three
    terrestrial routes reach the main city, the north border and the two
    market towns, leaving the north-east and north-west corners ~40 km from fibre.

    Returns
    -------
    tuple of geopandas.GeoDataFrame
        Routes (``name``, ``segment_type``, ``operator``, LineString) and
        nodes (``name``, ``node_type``, Point).
    """
    rng = _rng(seed, "backbone")
    lp_west = _nearest_coast(coast, 110.30)
    lp_east = _nearest_coast(coast, 110.64)
    city = (float(TOWNS[0, 0]), float(TOWNS[0, 1]))
    west_town = (float(TOWNS[1, 0]), float(TOWNS[1, 1]))
    east_town = (float(TOWNS[2, 0]), float(TOWNS[2, 1]))
    north_exit = (110.45, -7.50)  # beyond the border; clipped to land below

    # festoon cable: out to sea, along the coast offshore, back in
    sea_lon = np.linspace(lp_west[0] + 0.03, lp_east[0] - 0.03, 30)
    submarine = np.vstack(
        [[lp_west], np.column_stack([sea_lon, _coast_lat(sea_lon) - 0.075]), [lp_east]]
    )
    sub_geom = shapely.LineString(np.round(submarine, 6))

    central = shapely.intersection(
        shapely.LineString(
            _wiggly_line([lp_west, (110.33, -7.88), city, (110.42, -7.68), north_exit], rng)
        ),
        land,
    )
    if central.geom_type != "LineString":  # rejoin pieces the clip may have split
        central = shapely.line_merge(central)
    western = shapely.LineString(_wiggly_line([city, (110.26, -7.83), west_town], rng))
    eastern = shapely.LineString(_wiggly_line([lp_east, east_town], rng, amp=0.004))
    north_node = shapely.get_point(central, -1) if central.geom_type == "LineString" else None

    routes = gpd.GeoDataFrame(
        {
            "name": [
                "SKKL Selatan (synthetic)",
                "Jalur Tengah (synthetic)",
                "Jalur Barat (synthetic)",
                "Jalur Timur (synthetic)",
            ],
            "segment_type": ["submarine", "terrestrial", "terrestrial", "terrestrial"],
            "operator": [
                "Palapa Ring Selatan",
                "PT Serat Nusantara",
                "PT Serat Nusantara",
                "PT Jaringan Kidul",
            ],
        },
        geometry=[sub_geom, central, western, eastern],
        crs=CRS,
    )
    nodes = gpd.GeoDataFrame(
        {
            "name": [
                "LP Pantai Barat",
                "LP Pantai Timur",
                "Node Kota",
                "Node Batas Utara",
                "Node Kota Barat",
                "Node Kota Timur",
            ],
            "node_type": ["landing_point", "landing_point"] + ["network_node"] * 4,
        },
        geometry=[
            shapely.Point(lp_west),
            shapely.Point(lp_east),
            shapely.Point(city),
            north_node,
            shapely.Point(west_town),
            shapely.Point(east_town),
        ],
        crs=CRS,
    )
    return routes, nodes


def make_outlets(
    land: shapely.Polygon, villages: gpd.GeoDataFrame, seed: int = SEED, n: int = 120
) -> gpd.GeoDataFrame:
    """Courier and post outlets, mostly in towns, a few in rural villages.

    Returns
    -------
    geopandas.GeoDataFrame
        ``operator``, ``name`` (operator's outlet label + village name), Point.
    """
    rng = _rng(seed, "outlets")
    n_rural = n // 6
    town_pts = _sample_in_land(land, n - n_rural, rng, town_share=1.0, spread=0.9)
    pick = rng.choice(len(villages), n_rural, replace=False)
    rural_pts = np.column_stack(
        [
            shapely.get_x(shapely.point_on_surface(villages.geometry.values[pick])),
            shapely.get_y(shapely.point_on_surface(villages.geometry.values[pick])),
        ]
    )
    pts = np.round(np.vstack([town_pts, rural_pts]), 6)
    geoms = shapely.points(pts)
    operators = np.array(list(COURIERS))[rng.choice(len(COURIERS), n, p=COURIER_SHARES)]

    # nearest village: the containing one, or the closest if rounding left the point on the coast
    pt_idx, vil_idx = shapely.STRtree(villages.geometry.values).query_nearest(
        geoms, all_matches=False
    )
    home = np.empty(n, dtype=int)
    home[pt_idx] = vil_idx
    vname = villages["village_name"].to_numpy()[home]
    names = [f"{COURIERS[o]} {v}" for o, v in zip(operators, vname, strict=True)]
    frame = gpd.GeoDataFrame({"operator": operators, "name": names}, geometry=geoms, crs=CRS)
    return frame


def _categories_table() -> pd.DataFrame:
    """Product categories with synthetic demand growth (% per year)."""
    return pd.DataFrame(
        {
            "category": list(CATEGORY_LABELS),
            "label_id": [v[0] for v in CATEGORY_LABELS.values()],
            "label_en": [v[1] for v in CATEGORY_LABELS.values()],
            "demand_growth_pct": [v[2] for v in CATEGORY_LABELS.values()],
            "source": "SYNTHETIC",
        }
    )


def make_products(
    villages: gpd.GeoDataFrame, seed: int = SEED, listed_share: float = 0.8
) -> pd.DataFrame:
    """Village products: 1-3 rows for ~80 % of villages, spatially clustered.

    Categories are drawn without replacement with weights that peak at each
    category's cluster centre (Gumbel top-k), so location quotients vary.

    Returns
    -------
    pandas.DataFrame
        ``village_code`` (10 digits), ``product``, ``category``,
        ``enterprises``, ``flagship`` ("true"/"false"), ``distinctiveness``.
    """
    rng = _rng(seed, "products")
    rep = shapely.point_on_surface(villages.geometry.values)
    lon, lat = shapely.get_x(rep), shapely.get_y(rep)
    cat = CATEGORY_CLUSTERS
    d2 = (lon[:, None] - cat[:, 0]) ** 2 + (lat[:, None] - cat[:, 1]) ** 2
    cluster = np.exp(-d2 / (2 * cat[:, 2] ** 2))  # (villages, categories)
    weight = cat[:, 4] + cat[:, 3] * cluster

    listed = rng.random(len(villages)) < listed_share
    n_rows = rng.choice([1, 2, 3], len(villages), p=[0.5, 0.35, 0.15])
    keys = np.log(weight) + rng.gumbel(size=weight.shape)
    ranked = np.argsort(-keys, axis=1)
    vi, slot = np.nonzero(listed[:, None] & (np.arange(3)[None, :] < n_rows[:, None]))
    ci = ranked[vi, slot]

    strength = cluster[vi, ci]
    enterprises = 1 + rng.poisson(3 + 60 * strength)
    distinct = np.clip(rng.beta(2, 4, len(vi)) + 0.5 * strength, 0, 1).round(3)
    names = [list(CATEGORY_LABELS)[c] for c in ci]
    product = [PRODUCTS[nm][rng.integers(len(PRODUCTS[nm]))] for nm in names]

    frame = pd.DataFrame(
        {
            "village_code": villages["village_code"]
            .str.replace(".", "", regex=False)
            .to_numpy()[vi],
            "product": product,
            "category": names,
            "enterprises": enterprises.astype(np.int64),
            "distinctiveness": distinct,
            "_vi": vi,
        }
    )
    top = (
        frame.sort_values(["_vi", "enterprises"], ascending=[True, False], kind="stable")
        .groupby("_vi")
        .head(1)
    )
    frame["flagship"] = np.where(frame.index.isin(top.index), "true", "false")
    return frame[
        ["village_code", "product", "category", "enterprises", "flagship", "distinctiveness"]
    ]


def _set_ampersand_name(villages: gpd.GeoDataFrame, products: pd.DataFrame) -> gpd.GeoDataFrame:
    """Rename one rural village with products to ``AMPERSAND_NAME`` (escaping test case)."""
    listed = set(products["village_code"])
    undotted = villages["village_code"].str.replace(".", "", regex=False)
    rural = villages["village_code"].str[9] == "2"
    idx = villages.index[rural & undotted.isin(listed)][0]
    villages = villages.copy()
    villages.loc[idx, "village_name"] = AMPERSAND_NAME
    return villages


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write a GeoJSON FeatureCollection with coordinates rounded to 1e-6 degrees."""
    rounded = frame.set_geometry(shapely.set_precision(frame.geometry.values, 1e-6))
    path.write_text(rounded.to_json(drop_id=True) + "\n", encoding="utf-8")


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write one GeoPackage layer with a fixed timestamp so reruns are byte-identical."""
    import pyogrio

    path.unlink(missing_ok=True)  # GPKG would otherwise add to the old file
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2024-07-01T00:00:00.000Z"})
    try:
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_tif(data: np.ndarray, profile: dict, path: Path) -> None:
    """Write a one-band GeoTIFF."""
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV with Unix newlines and no index."""
    frame.to_csv(path, index=False, lineterminator="\n")


def write_sample(outdir: str | Path, seed: int = SEED) -> dict[str, Path]:
    """Generate every synthetic sample file into ``outdir``.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Target folder, created if missing; existing files are overwritten.
    seed : int
        Master random seed; the same seed gives the same content.

    Returns
    -------
    dict of str to pathlib.Path
        File name (without extension) to written path.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    land, coast = _land(seed)
    villages = make_villages(land, seed)
    products = make_products(villages, seed)
    villages = _set_ampersand_name(villages, products)
    routes, nodes = make_backbone(land, coast, seed)
    paths = {
        name: out / file
        for name, file in [
            ("villages", "villages.gpkg"),
            ("regencies", "regencies.csv"),
            ("admin_codes", "admin_codes.csv"),
            ("ookla_fixed_2024q2", "ookla_fixed_2024q2.parquet"),
            ("coverage_4g", "coverage_4g.tif"),
            ("population", "population.tif"),
            ("backbone_routes", "backbone_routes.geojson"),
            ("backbone_nodes", "backbone_nodes.geojson"),
            ("ict_regency", "ict_regency.csv"),
            ("courier_outlets", "courier_outlets.geojson"),
            ("products", "products.csv"),
            ("categories", "categories.csv"),
        ]
    }

    _write_gpkg(villages, paths["villages"], "villages")
    _write_csv(_regencies_table(), paths["regencies"])
    _write_csv(_admin_codes_table(), paths["admin_codes"])
    make_ookla(land, seed).to_parquet(paths["ookla_fixed_2024q2"], index=False, engine="pyarrow")
    _write_tif(*make_coverage(land, seed), paths["coverage_4g"])
    _write_tif(*make_population_raster(villages, seed), paths["population"])
    _write_geojson(routes, paths["backbone_routes"])
    _write_geojson(nodes, paths["backbone_nodes"])
    _write_csv(_ict_table(), paths["ict_regency"])
    _write_geojson(make_outlets(land, villages, seed), paths["courier_outlets"])
    _write_csv(products, paths["products"])
    _write_csv(_categories_table(), paths["categories"])
    return paths


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "data/sample"
    for key, written in write_sample(target).items():
        print(f"{key}: {written}")


def ensure_sample(sample_dir: str | Path | None = None) -> Path:
    """The sample folder, generated (with its ``despro.toml``) if it is missing.

    Default: the repository's ``data/sample`` when despro runs from a checkout,
    otherwise ``./data/sample``.
    """
    if sample_dir is None:
        repo = Path(__file__).resolve().parents[2] / "data" / "sample"
        sample_dir = repo if (repo / "despro.toml").is_file() else Path("data/sample")
    sample_dir = Path(sample_dir)
    if not (sample_dir / "villages.gpkg").is_file():
        write_sample(sample_dir)
    if not (sample_dir / "despro.toml").is_file():
        from importlib import resources

        text = resources.files("despro.demo").joinpath("demo.toml").read_text("utf-8")
        (sample_dir / "despro.toml").write_text(text, encoding="utf-8")
    return sample_dir
