"""Vectorised area of (polygon piece) x (convex cell) intersections.

GEOS overlay costs tens of microseconds per pair whatever the pair's size, which
dominates when hundreds of thousands of village-boundary cells must be
intersected. Here every pair is clipped at once in numpy with the
Sutherland-Hodgman algorithm against the cell's edges (an H3 cell is convex in
lon/lat at the scales used here), ring by ring. Clipping keeps a ring's
orientation, so the absolute shoelace area of each clipped ring, added for
exterior rings and subtracted for holes, gives the intersection area exactly for
any simple subject polygon, whatever its rings' orientation.
"""

from __future__ import annotations

import numpy as np
import shapely


def _ring_table(pieces: np.ndarray):
    """Vertices (no closing repeat), ring id per vertex, pair and sign (+1 / -1) per ring."""
    parts, pair_of_part = shapely.get_parts(pieces, return_index=True)
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    first = np.r_[True, part_of_ring[1:] != part_of_ring[:-1]]  # exterior ring of each part
    sign = np.where(first, 1.0, -1.0)
    pair_of_ring = pair_of_part[part_of_ring]
    xy, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    if len(xy) == 0:
        return xy, ring_of_vertex, pair_of_ring, sign
    last = np.r_[ring_of_vertex[1:] != ring_of_vertex[:-1], True]
    return xy[~last], ring_of_vertex[~last], pair_of_ring, sign


def _next_index(ring: np.ndarray) -> np.ndarray:
    """Index of the next vertex within the same ring (cyclic)."""
    n = len(ring)
    nxt = np.arange(1, n + 1)
    if n == 0:
        return nxt
    ends = np.flatnonzero(np.r_[ring[1:] != ring[:-1], True])
    nxt[ends] = np.r_[0, ends[:-1] + 1]
    return nxt


def polygon_area(verts: np.ndarray) -> np.ndarray:
    """Planar shoelace area of padded convex rings ``verts`` (n, k, 2); padding adds 0."""
    c = verts.mean(axis=1, keepdims=True)  # centred: no cancellation at lon ~ 110
    x, y = verts[..., 0] - c[..., 0], verts[..., 1] - c[..., 1]
    return 0.5 * np.abs((x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1))


def clip_areas(pieces: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Area (squared input units) of ``pieces[i]`` inside the convex ring ``verts[i]``.

    Parameters
    ----------
    pieces : array of Polygon / MultiPolygon (empty allowed), length n
    verts : ndarray (n, k, 2)
        Counter-clockwise convex ring vertices, padded by repeating a vertex
        (a zero-length edge clips nothing), as from :func:`despro.grid.cells.cell_vertices`.
    """
    n = len(pieces)
    out = np.zeros(n)
    if n == 0:
        return out
    xy, ring, pair_of_ring, ring_sign = _ring_table(pieces)
    if len(xy) == 0:
        return out
    k = verts.shape[1]
    centre = verts.mean(axis=1)  # any interior point; keeps the numbers small
    ax = verts[..., 0] - centre[:, [0]]
    ay = verts[..., 1] - centre[:, [1]]
    ex = np.roll(verts[..., 0], -1, axis=1) - verts[..., 0]
    ey = np.roll(verts[..., 1], -1, axis=1) - verts[..., 1]
    c = ex * ay - ey * ax  # half-plane: ex * y - ey * x >= c (inside on the left)
    pair = pair_of_ring[ring]
    x = xy[:, 0] - centre[pair, 0]
    y = xy[:, 1] - centre[pair, 1]
    for e in range(k):
        degenerate = (ex[:, e] == 0) & (ey[:, e] == 0)
        s = ex[:, e][pair] * y - ey[:, e][pair] * x - c[:, e][pair]
        s = np.where(degenerate[pair], 1.0, s)
        inside = s >= 0
        if inside.all():
            continue
        nxt = _next_index(ring)
        s_next = s[nxt]
        cross = inside != (s_next >= 0)
        n_out = inside.astype(np.int64) + cross
        pos = np.cumsum(n_out) - n_out
        total = int(pos[-1] + n_out[-1])
        if total == 0:
            return out
        nx_, ny_ = np.empty(total), np.empty(total)
        pin = pos[inside]
        nx_[pin], ny_[pin] = x[inside], y[inside]
        ci = np.flatnonzero(cross)
        t = s[ci] / (s[ci] - s_next[ci])
        pc = pos[ci] + inside[ci]
        nx_[pc] = x[ci] + t * (x[nxt[ci]] - x[ci])
        ny_[pc] = y[ci] + t * (y[nxt[ci]] - y[ci])
        ring = np.repeat(ring, n_out)
        pair = np.repeat(pair, n_out)
        x, y = nx_, ny_
    nxt = _next_index(ring)
    ring_area = (
        np.abs(np.bincount(ring, weights=x * y[nxt] - x[nxt] * y, minlength=len(pair_of_ring)))
        / 2.0
    )
    area = np.bincount(pair_of_ring, weights=ring_area * ring_sign, minlength=n)
    return np.maximum(area, 0.0)  # round-off can leave -1e-20
