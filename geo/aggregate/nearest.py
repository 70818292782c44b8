"""Geodesic distance from points to the nearest of a set of lines / points (metres).

One public kernel, :func:`nearest_distance_m`, used by the distance layers
(backbone routes and nodes, courier outlets). It never measures metres in degrees
nor in one projected zone for the whole country: every distance it returns is a
WGS84 geodesic (``pyproj.Geod``) from the point to a point of the nearest feature.

The search for the nearest feature relies on the distance field being
1-Lipschitz: points are grouped in small fixed blocks of latitude x longitude;
for a block of centre ``c`` and half-diagonal ``r``, a point ``p`` of it is
nearer to some feature than ``d(c) + r``, so its nearest feature lies within
``d(c) + 2r`` of ``c``. One spatial-index query per block gives those few
candidates; every (point, candidate) pair is then measured with a closed-form
point-to-segment projection in numpy, no per-point Python and no per-pair GEOS
call.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

GEOD = pyproj.Geod(ellps="WGS84")

BLOCK_DEG = 0.05  # side of the point blocks, degrees (~5.5 km): ~60 res-8 cells each
PAIRS_PER_CHUNK = 1_000_000  # (point, segment) pairs measured at once (memory bound)
REFINE_TOL_M = 1e-3  # a foot whose estimated excess is below this is not moved (metres)
_MARGIN_DEG = 1e-9  # ~0.1 mm: floating-point headroom for the candidate radius


def _lon_scale(lat_deg: np.ndarray) -> np.ndarray:
    """Metres per degree of longitude over metres per degree of latitude (WGS84)."""
    e2 = GEOD.es
    s2 = np.sin(np.deg2rad(lat_deg)) ** 2
    return np.cos(np.deg2rad(lat_deg)) * (1 - e2 * s2) / (1 - e2)


def _frame_slack(lo: np.ndarray, hi: np.ndarray, k0: float) -> np.ndarray:
    """Largest relative scale error of a frame scaled by ``k0`` over latitudes lo..hi.

    The scale is largest at the equator and falls monotonically away from it, so
    the extreme lies at an end of the interval or at 0 when the interval spans it.
    """
    ends = np.stack([lo, hi, np.where((lo < 0) & (hi > 0), 0.0, lo)])
    return np.abs(_lon_scale(np.clip(ends, -89.0, 89.0)) / k0 - 1).max(axis=0) + 1e-6


def _flat_parts(features: np.ndarray) -> np.ndarray:
    """Single-part, non-empty geometries (multi-parts and collections opened)."""
    parts = shapely.get_parts(np.asarray(features, dtype=object))
    while np.isin(shapely.get_type_id(parts), [4, 5, 6, 7]).any():
        parts = shapely.get_parts(parts)
    return parts[~shapely.is_empty(parts)]


def segment_coords(features: np.ndarray) -> np.ndarray:
    """Features as straight two-point pieces in lon/lat: ``(m, 4)`` x1, y1, x2, y2 degrees.

    Lines (and polygons' rings) are cut into their segments; a point becomes a
    segment of length zero. A segment is the straight line between its vertices
    in lon/lat, as the feature is drawn.
    """
    parts = _flat_parts(features)
    kind = shapely.get_type_id(parts)
    lines = parts[np.isin(kind, [1, 2])]
    polys = parts[kind == 3]
    if len(polys):
        lines = np.r_[lines, _flat_parts(shapely.boundary(polys))]
    pts = shapely.get_coordinates(parts[kind == 0])
    out = [np.c_[pts, pts]]
    if len(lines):
        xy, idx = shapely.get_coordinates(lines, return_index=True)
        same = idx[1:] == idx[:-1]
        out.append(np.c_[xy[:-1][same], xy[1:][same]])
    return np.concatenate(out).astype(float)


def nearest_distance_m(
    lon: np.ndarray, lat: np.ndarray, features: np.ndarray, band_deg: float = 1.0
) -> np.ndarray:
    """Geodesic distance in metres from each point to the nearest feature.

    Parameters
    ----------
    lon, lat : ndarray
        Points, degrees WGS84.
    features : array of shapely geometries
        Lines, polygons (their boundaries count) and points, lon/lat degrees.
        None and empty geometries are ignored.
    band_deg : float
        Height of the latitude bands in which the search frame is fixed (degrees).

    Returns
    -------
    ndarray
        Metres, one per point; NaN for every point when there are no features.

    Method: features are cut into two-point segments (straight in lon/lat, as
    drawn). Points are processed in latitude bands of ``band_deg``; in each band,
    longitudes are scaled by the WGS84 ratio of metres per degree of longitude to
    latitude at the band's centre, which makes the frame locally isotropic. The
    nearest segment in that frame gives a distance d0; every segment within d0
    times (1 + twice the frame's largest scale error over the latitudes a disc of
    radius d0 spans) is a candidate, so the true nearest feature is always among
    them. Each candidate's nearest point (closed form in the frame) is measured on
    the WGS84 ellipsoid (pyproj.Geod) and, where the geodesic does not meet the
    segment at a right angle (far points), moved to the geodesic foot; the minimum
    wins. Candidates come from fixed blocks of points (see the module's
    docstring), so a point's distance depends on that point alone, never on the
    other points handed in. Points with a NaN coordinate get NaN.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    out = np.full(len(lon), np.nan)
    features = np.asarray([f for f in features if f is not None and not f.is_empty], dtype=object)
    if len(features) == 0 or len(lon) == 0:
        return out
    segs = segment_coords(features)
    if len(segs) == 0:
        return out
    joined = np.r_[(segs[:-1, 2:] == segs[1:, :2]).all(axis=1), False]  # s ends where s+1 starts
    ok = np.isfinite(lon) & np.isfinite(lat)
    band = np.floor(np.where(ok, lat, 0.0) / band_deg).astype(np.int64)
    per_band = max(1, int(round(band_deg / BLOCK_DEG)))
    for b in np.unique(band[ok]):
        idx = np.flatnonzero(ok & (band == b))
        out[idx] = _nearest_in_band(lon[idx], lat[idx], segs, joined, b, band_deg, per_band)
    return out


def _frame_geoms(segs: np.ndarray, k0: float) -> np.ndarray:
    """Segments in the band's frame as shapely geometries (points where length is 0)."""
    a, b = segs[:, :2] * [k0, 1.0], segs[:, 2:] * [k0, 1.0]
    geoms = np.empty(len(segs), dtype=object)
    dot = (a == b).all(axis=1)
    geoms[dot] = shapely.points(a[dot])
    geoms[~dot] = shapely.linestrings(np.stack([a[~dot], b[~dot]], axis=1))
    return geoms


def _nearest_in_band(
    lon: np.ndarray,
    lat: np.ndarray,
    segs: np.ndarray,
    joined: np.ndarray,
    band: int,
    band_deg: float,
    per_band: int,
) -> np.ndarray:
    k0 = float(_lon_scale((band + 0.5) * band_deg))
    tree = shapely.STRtree(_frame_geoms(segs, k0))
    step = band_deg / per_band
    # fixed blocks of points: rows of the band x columns of ``step`` degrees of longitude
    row = np.clip(np.floor((lat - band * band_deg) / step), 0, per_band - 1).astype(np.int64)
    col = np.floor(lon / step).astype(np.int64)
    key = col * per_band + row
    blocks, first, inv, n_pts = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(inv, kind="stable")  # points grouped by block
    brow, bcol = row[first], col[first]
    ylo = band * band_deg + brow * step
    cx, cy = (bcol + 0.5) * step * k0, ylo + 0.5 * step
    radius = 0.5 * step * np.hypot(k0, 1.0)  # every point of a block is this near its centre
    centres = shapely.points(cx, cy)
    ci, si = tree.query_nearest(centres, all_matches=False)
    d_c = np.full(len(blocks), np.inf)
    d_c[ci] = shapely.distance(centres[ci], tree.geometries[si])
    reach = d_c + radius  # bounds the nearest distance of every point of the block
    slack = _frame_slack(ylo - reach, ylo + step + reach, k0)
    qb, qs = tree.query(
        centres, predicate="dwithin", distance=reach * (1 + 2 * slack) + radius + _MARGIN_DEG
    )
    by_block = np.argsort(qb, kind="stable")
    qb, qs = qb[by_block], qs[by_block]
    n_seg = np.bincount(qb, minlength=len(blocks))
    seg_start = np.cumsum(n_seg) - n_seg
    pt_start = np.cumsum(n_pts) - n_pts
    frame = segs * [k0, 1.0, k0, 1.0]
    out = np.full(len(lon), np.inf)
    pairs = n_pts * n_seg
    chunk_of = np.cumsum(pairs) // PAIRS_PER_CHUNK
    bounds = np.flatnonzero(np.diff(chunk_of)) + 1
    for b0, b1 in zip(np.r_[0, bounds], np.r_[bounds, len(blocks)], strict=True):
        sel = np.arange(b0, b1)
        pt, sg, run = _block_pairs(sel, n_pts, n_seg, pt_start, seg_start, order, qs)
        pt_lon, pt_lat = lon[pt], lat[pt]
        t, d = _project(pt_lon * k0, pt_lat, frame[sg])
        d0 = np.minimum.reduceat(d, run)
        n_run = np.diff(np.r_[run, len(d)])
        p_first = pt[run]
        lim = d0 * (1 + 2 * _frame_slack(lat[p_first] - d0, lat[p_first] + d0, k0)) + 1e-12
        keep = d <= np.repeat(lim, n_run)
        pt, sg, t = pt[keep], sg[keep], t[keep]
        first = _shared_vertex(pt, sg, t, joined)
        g = _geodesic_to_segment(lon[pt], lat[pt], segs[sg], t, first)
        np.minimum.at(out, pt, g)
    out[~np.isfinite(out)] = np.nan
    return out


def _block_pairs(sel, n_pts, n_seg, pt_start, seg_start, order, qs):
    """Every (point, candidate segment) pair of the blocks ``sel``, point by point.

    Returns the point index and segment index of each pair, and where each
    point's run of pairs starts.
    """
    np_, ns = n_pts[sel], n_seg[sel]
    count = np_ * ns
    off = np.cumsum(count) - count
    blk = np.repeat(np.arange(len(sel)), count)
    local = np.arange(count.sum()) - off[blk]
    i, j = np.divmod(local, ns[blk])
    pt = order[pt_start[sel][blk] + i]
    sg = qs[seg_start[sel][blk] + j]
    pb = np.repeat(np.arange(len(sel)), np_)
    k = np.arange(np_.sum()) - (np.cumsum(np_) - np_)[pb]
    run = off[pb] + k * ns[pb]
    return pt, sg, run


def _along(seg: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon, lat of the point at ``t`` along each segment (its end exactly at t = 1)."""
    x1, y1, x2, y2 = seg.T
    end = t >= 1.0
    return (np.where(end, x2, x1 + t * (x2 - x1)), np.where(end, y2, y1 + t * (y2 - y1)))


def _shared_vertex(pt: np.ndarray, sg: np.ndarray, t: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """For each pair, the pair whose first measurement it can reuse (itself if none).

    A point whose nearest frame point is the vertex between segments ``s`` and
    ``s + 1`` of a line has the same foot on both: it is measured once.
    """
    first = np.arange(len(pt))
    start = np.flatnonzero(t == 0.0)
    end = np.flatnonzero((t == 1.0) & joined[sg])
    if len(start) == 0 or len(end) == 0:
        return first
    n = len(joined)
    key = pt[start] * n + sg[start]
    by_key = np.argsort(key)
    target = pt[end] * n + sg[end] + 1
    pos = np.minimum(np.searchsorted(key[by_key], target), len(key) - 1)
    hit = key[by_key][pos] == target
    first[end[hit]] = start[by_key[pos[hit]]]
    return first


def _geodesic_to_segment(
    lon: np.ndarray,
    lat: np.ndarray,
    seg: np.ndarray,
    t: np.ndarray,
    first: np.ndarray,
    tol_m: float = REFINE_TOL_M,
    max_steps: int = 4,
) -> np.ndarray:
    """Geodesic metres from each point to its segment's nearest point, starting at ``t``.

    The frame's nearest point is measured on the ellipsoid (once per distinct
    foot: pair ``i`` reuses pair ``first[i]``'s measurement). Where the geodesic
    does not meet the segment at a right angle and that costs more than
    ``tol_m`` (far points: the frame's scale drifts over the distance), the foot
    is moved along the segment by the spherical right-triangle step
    ``R atan(tan(s / R) cos gamma)`` (gamma: angle at the foot between the
    segment and the geodesic back to the point) and measured again, keeping the
    shorter distance. A few steps reach the geodesic foot to well under a
    millimetre.
    """
    x1, y1, x2, y2 = seg.T
    t = t.copy()
    own = np.flatnonzero(first == np.arange(len(first)))
    az_back, s = np.empty(len(t)), np.empty(len(t))
    qx, qy = _along(seg[own], t[own])
    _, az_back[own], s[own] = GEOD.inv(lon[own], lat[own], qx, qy)
    az_back, s = az_back[first], s[first]
    todo = np.flatnonzero(((x1 != x2) | (y1 != y2)) & (s > tol_m))
    for _ in range(max_steps):
        i = todo
        phi = np.deg2rad(y1[i] + t[i] * (y2[i] - y1[i]))
        w = np.sqrt(1 - GEOD.es * np.sin(phi) ** 2)
        # the segment's direction at the foot, in units of a * pi / 180 metres
        east, north = (x2[i] - x1[i]) * np.cos(phi) / w, (y2[i] - y1[i]) * (1 - GEOD.es) / w**3
        seg_m = np.hypot(east, north)
        az = np.deg2rad(az_back[i])
        cos_g = (np.sin(az) * east + np.cos(az) * north) / seg_m
        excess = s[i] * (1 - np.sqrt(np.maximum(0.0, 1 - cos_g**2)))
        move = excess > tol_m
        i, w, seg_m, cos_g = i[move], w[move], seg_m[move], cos_g[move]
        radius = GEOD.a * np.sqrt(1 - GEOD.es) / w**2  # sqrt(M N)
        step = radius * np.arctan(np.tan(np.minimum(s[i] / radius, 1.5)) * cos_g)
        t_new = np.clip(t[i] + step / (seg_m * GEOD.a * np.pi / 180), 0.0, 1.0)
        moved = t_new != t[i]
        i, t_new = i[moved], t_new[moved]
        if len(i) == 0:
            break
        qx, qy = _along(seg[i], t_new)
        _, az_new, s_new = GEOD.inv(lon[i], lat[i], qx, qy)
        better = s_new < s[i]
        i = i[better]
        t[i], az_back[i], s[i] = t_new[better], az_new[better], s_new[better]
        todo = i
    return s


def _project(px: np.ndarray, py: np.ndarray, seg: np.ndarray):
    """Nearest point of each segment to each point in a plane: (t, distance).

    ``t`` is the position of the nearest point along the segment (0 at its start,
    1 at its end).
    """
    x1, y1, x2, y2 = seg.T
    dx, dy = x2 - x1, y2 - y1
    len2 = dx * dx + dy * dy
    t = np.divide((px - x1) * dx + (py - y1) * dy, len2, out=np.zeros_like(len2), where=len2 > 0)
    t = np.clip(t, 0.0, 1.0)
    return t, np.hypot(px - (x1 + t * dx), py - (y1 + t * dy))


def reference_distance_m(
    lon: np.ndarray, lat: np.ndarray, features: np.ndarray, samples: int = 65, iterations: int = 48
) -> np.ndarray:
    """Slow brute-force geodesic distance to the nearest feature, for tests and benchmarks.

    Every point against every segment, no index and no frame: the geodesic
    distance is sampled at ``samples`` points along each lon/lat segment, then
    minimised by golden-section search (``iterations`` steps) between the
    neighbours of the best sample. Metres; NaN when there are no features.
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    features = np.asarray([f for f in features if f is not None and not f.is_empty], dtype=object)
    segs = segment_coords(features) if len(features) else np.zeros((0, 4))
    out = np.full(len(lon), np.nan)
    if len(segs) == 0:
        return out
    x1, y1, x2, y2 = (c[:, None] for c in segs.T)

    def dist(p: int, t: np.ndarray) -> np.ndarray:
        x, y = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
        return GEOD.inv(np.full(x.shape, lon[p]), np.full(x.shape, lat[p]), x, y)[2]

    grid_t = np.linspace(0.0, 1.0, samples)[None, :]
    shrink = (np.sqrt(5.0) - 1) / 2
    for p in range(len(lon)):
        d = dist(p, grid_t)
        k = d.argmin(axis=1)[:, None]
        a = np.clip((k - 1) / (samples - 1), 0.0, 1.0)
        b = np.clip((k + 1) / (samples - 1), 0.0, 1.0)
        for _ in range(iterations):
            c, e = b - shrink * (b - a), a + shrink * (b - a)
            left = dist(p, c) < dist(p, e)
            a, b = np.where(left, a, c), np.where(left, e, b)
        out[p] = min(d.min(), dist(p, (a + b) / 2).min())
    return out
