"""Exact coverage of raster pixels by convex polygons, in pixel space.

Pure numpy kernels behind :mod:`despro.geo.rastermap`. Everything here works in
*pixel coordinates* ``(u, v)``: ``u`` is the column and ``v`` the row coordinate,
so pixel ``(row j, column i)`` is the unit square ``[i, i+1] x [j, j+1]`` and every
fraction below is a share of one pixel (dimensionless, 0-1). Polygons are padded
vertex arrays ``(n, k, 2)`` (padding repeats a vertex: zero-length edges count
for nothing), counter-clockwise in the right-handed ``(u, v)`` frame (see
:func:`orient_ccw`), convex, with straight edges in pixel space. Edges are handled
as flat 1-D arrays (start ``(au, av)``, direction ``(du, dv)``) so that no kernel
gathers 2-D rows per pixel.

Nothing here loops over pixels, edges or polygons in Python:

* :func:`run_starts`, :func:`centre_labels` - the polygon holding each pixel
  centre (a scanline fill driven by the polygons' left-hand edges);
* :func:`edge_pixels` - every (edge, pixel) pair where an edge segment meets a pixel;
* :func:`halfplane_fraction` - closed-form share of a pixel on the inner side of an
  edge's line (exact for a pixel crossed by that edge alone);
* :func:`corner_fraction` - closed-form share of a pixel inside the corner
  (wedge) of a polygon whose vertex lies in the pixel (exact when only that
  corner's two edges cross the pixel);
* :func:`polygon_pixel_fraction` - closed-form share of a pixel inside a whole
  convex polygon (exact in every case, through Green's theorem, but ~6x dearer).
"""

from __future__ import annotations

import numpy as np


def orient_ccw(verts: np.ndarray) -> np.ndarray:
    """Return ``verts`` (n, k, 2) with every ring counter-clockwise in (u, v)."""
    x = verts[..., 0] - verts[:, :1, 0]
    y = verts[..., 1] - verts[:, :1, 1]
    twice = (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)
    flip = twice < 0
    if flip.any():
        verts = verts.copy()
        verts[flip] = verts[flip, ::-1]
    return verts


def polygon_edges(verts: np.ndarray):
    """Flat edge arrays of padded rings: (au, av, du, dv), each (n * k,), row-major."""
    b = np.roll(verts, -1, axis=1)
    return (verts[..., 0].ravel(), verts[..., 1].ravel(),
            (b[..., 0] - verts[..., 0]).ravel(), (b[..., 1] - verts[..., 1]).ravel())


def _ranges(lo: np.ndarray, hi: np.ndarray):
    """(owner, value) for every integer value in [lo[i], hi[i]) (lo, hi int64)."""
    n = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(n)), n)
    first = np.cumsum(n) - n
    value = np.arange(len(owner), dtype=np.int64) + np.repeat(lo - first, n)
    return owner, value


def run_starts(verts: np.ndarray, height: int, width: int) -> np.ndarray:
    """Where each polygon's run of pixel centres starts, row by row.

    Returns a flat (height * width,) int32 *marker*: the polygon index at the first
    pixel (row-major) of each polygon's run in each row, -1 elsewhere. Each
    polygon's left-hand edges (``dv < 0``) give the row's leftmost inside point
    ``uL`` and so the first column whose centre is inside. A polygon whose run
    is empty (a tip narrower than a pixel between two centres) or starts left of
    column 0 claims the same pixel as its right-hand neighbour; the one with the
    larger ``uL`` is right and wins. A centre within ~1e-12 pixel of a shared
    edge may go to either neighbour.
    """
    n, k, _ = verts.shape
    npx = height * width
    marker = np.full(npx, -1, dtype=np.int32)
    if n == 0 or npx == 0:
        return marker
    au, av, du, dv = polygon_edges(verts)
    left = np.flatnonzero(dv < 0)
    slope = du[left] / dv[left]
    base = au[left] - slope * av[left]  # u = base + slope * v on the edge's line
    av, dv = av[left], dv[left]
    # rows whose centre (j + 0.5) lies in [v_end, v_start): half-open, so that two
    # consecutive left edges never both claim a row
    lo = np.clip(np.ceil(av + dv - 0.5), 0, height).astype(np.int64)
    hi = np.clip(np.ceil(av - 0.5), 0, height).astype(np.int64)
    e, row = _ranges(lo, hi)
    u_left = base[e] + slope[e] * (row + 0.5)
    start = np.maximum(np.ceil(u_left - 0.5), 0)
    ok = np.flatnonzero(start < width)
    target = row[ok] * width + start[ok].astype(np.int64)
    u_left = u_left[ok]
    best = np.full(npx, -np.inf)
    np.maximum.at(best, target, u_left)
    win = u_left == best[target]
    marker[target[win]] = (left[e[ok[win]]] // k).astype(np.int32)
    return marker


def centre_labels(verts: np.ndarray, height: int, width: int) -> np.ndarray:
    """Index of the polygon holding each pixel centre, (height, width) int32, -1: none.

    The :func:`run_starts` marker carried along each row until the next run
    starts (exact for a tessellation; see there for ties).
    """
    flat = run_starts(verts, height, width)
    if flat.size == 0:
        return flat.reshape(height, width)
    # carry each label to the next painted pixel (flat: a row no polygon reaches
    # continues the previous one)
    itype = np.int32 if flat.size < 2**31 else np.int64
    idx = np.where(flat >= 0, np.arange(flat.size, dtype=itype), 0)
    np.maximum.accumulate(idx, out=idx)
    return flat[idx].reshape(height, width)


def edge_pixels(au, av, du, dv, height: int, width: int):
    """Every (edge, pixel) pair where an edge segment meets a pixel.

    Parameters
    ----------
    au, av, du, dv : float arrays (m,)
        Edge start and direction, pixel coordinates (non-zero length).
    height, width : int
        Pixels outside ``[0, width) x [0, height)`` are left out.

    Returns
    -------
    (edge, row, col) : int64 arrays, grouped by edge. An edge running exactly
        along a grid line or through a pixel corner may also list a pixel it only
        touches (its share there is then 0 or 1).
    """
    bu, bv = au + du, av + dv
    umin, umax = np.minimum(au, bu), np.maximum(au, bu)
    i0 = np.floor(umin)
    i1 = np.maximum(np.ceil(umax), i0 + 1)
    e, col = _ranges(np.clip(i0, 0, width).astype(np.int64),
                     np.clip(i1, 0, width).astype(np.int64))
    # the edge's v-range inside column strip [col, col + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = dv / du
    s, a_u, a_v = slope[e], au[e], av[e]
    vmin, vmax = np.minimum(av, bv)[e], np.maximum(av, bv)[e]
    va = a_v + (np.maximum(umin[e], col) - a_u) * s
    vb = a_v + (np.minimum(umax[e], col + 1) - a_u) * s
    vertical = (du == 0)[e]
    vlo = np.where(vertical, vmin, np.clip(np.minimum(va, vb), vmin, vmax))
    vhi = np.where(vertical, vmax, np.clip(np.maximum(va, vb), vmin, vmax))
    j0 = np.floor(vlo)
    j1 = np.maximum(np.ceil(vhi), j0 + 1)
    ec, row = _ranges(np.clip(j0, 0, height).astype(np.int64),
                      np.clip(j1, 0, height).astype(np.int64))
    return e[ec], row, col[ec]


def halfplane_fraction(au, av, du, dv, row, col, edge=None) -> np.ndarray:
    """Share of pixel (row, col) left of the directed line through (au, av) along (du, dv).

    "Left" is the inner side of a counter-clockwise polygon's edge. With
    ``g(u, v) = du (v - av) - dv (u - au)``, the share is the probability that
    ``g >= 0`` for a point uniform in the pixel. ``g`` is ``g0 + alpha X + beta Y``
    with X, Y uniform on [0, 1], a trapezoidal distribution, so the share is a
    closed form with no clipping and no division by a small slope.

    ``edge`` (optional, int array like ``row``): ``au, av, du, dv`` are then per
    edge and pair i uses edge ``edge[i]``; the per-edge constants are computed
    once per edge instead of once per pixel.
    """
    alpha, beta = -dv, du
    p, q = np.abs(alpha), np.abs(beta)
    hi, lo = np.maximum(p, q), np.minimum(p, q)
    lo = np.maximum(lo, 1e-300)
    # share = P(p X' + q Y' >= z), X', Y' uniform on [0, 1], where
    # z = -g(col, row) - shift = dv col - du row + k
    k = du * av - dv * au - (np.minimum(alpha, 0) + np.minimum(beta, 0))
    if edge is not None:
        du, dv, k, hi, lo = (x[edge] for x in (du, dv, k, hi, lo))
    z = dv * col
    z -= du * row
    z += k
    span = hi + lo
    t = np.clip(z, 0, span, out=z)
    ramp = np.minimum(t, lo)
    x = span - np.maximum(t, hi)
    cdf = ramp * ramp
    cdf += (lo - x) * (lo + x)
    cdf /= 2 * lo
    cdf += np.clip(t - lo, 0, hi - lo)
    cdf /= hi
    return np.clip(1.0 - cdf, 0.0, 1.0, out=cdf)


def _perimeter_area(x, y, dx, dy):
    """Area of the unit square swept counter-clockwise from corner (0, 0) to the point
    where the ray from (x, y) (inside the square) along (dx, dy) leaves it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = np.where(dx > 0, (1 - x) / dx, np.where(dx < 0, -x / dx, np.inf))
        ty = np.where(dy > 0, (1 - y) / dy, np.where(dy < 0, -y / dy, np.inf))
    t = np.minimum(tx, ty)
    px, py = np.clip(x + t * dx, 0, 1), np.clip(y + t * dy, 0, 1)
    # perimeter coordinate s in [0, 4): bottom, right, top, left, counter-clockwise
    s = np.where(ty <= tx, np.where(dy < 0, px, 2 + (1 - px)),
                 np.where(dx > 0, 1 + py, 3 + (1 - py)))
    s = np.where(s >= 4, 0.0, s)
    # triangle fan from (x, y): each side contributes (distance to it) x (length) / 2
    return 0.5 * (y * np.clip(s, 0, 1) + (1 - x) * np.clip(s - 1, 0, 1)
                  + (1 - y) * np.clip(s - 2, 0, 1) + x * np.clip(s - 3, 0, 1))


def corner_fraction(x, y, out_u, out_v, in_u, in_v) -> np.ndarray:
    """Share of a pixel inside a polygon's corner whose vertex lies in the pixel.

    Parameters
    ----------
    x, y : float arrays
        The vertex in pixel-local coordinates (0-1).
    out_u, out_v : the outgoing edge direction; in_u, in_v : the incoming edge
        reversed (pointing from the vertex to the previous vertex).

    The corner of a counter-clockwise polygon is swept counter-clockwise from the
    outgoing edge to the reversed incoming one; its share of the pixel is the
    difference of the swept areas where the two rays leave the pixel. Exact when
    both edges leave the pixel and no other edge crosses it.
    """
    a = _perimeter_area(x, y, in_u, in_v) - _perimeter_area(x, y, out_u, out_v)
    return np.where(a < 0, a + 1, a)


def _mean_clamp(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Mean over t in [0, 1] of clamp(p + (q - p) t, 0, 1), stably."""
    lo, hi = np.minimum(p, q), np.maximum(p, q)
    d = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = np.clip(-lo / d, 0, 1)
        t1 = np.clip((1 - lo) / d, 0, 1)
    y0 = np.clip(lo + d * t0, 0, 1)
    y1 = np.clip(lo + d * t1, 0, 1)
    sloped = (t1 - t0) * 0.5 * (y0 + y1) + (1 - t1)
    return np.where(d > 0, sloped, np.clip(lo, 0, 1))


def polygon_pixel_fraction(verts: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Share of pixel (row[i], col[i]) inside the convex polygon ``verts[i]``.

    Green's theorem: the area of polygon P inside the unit square equals
    ``-sum over directed edges of the integral of clamp(v, 0, 1) du`` with u
    restricted to [0, 1] (pixel-local coordinates); each edge's integral is
    ``(u2 - u1) x the mean of the clamped linear v``, a closed form. Exact for any
    sizes of polygon and pixel.

    Parameters
    ----------
    verts : ndarray (m, k, 2)
        Counter-clockwise polygons, pixel coordinates, one per pair.
    row, col : int arrays (m,)
    """
    u = verts[..., 0] - col[:, None]
    v = verts[..., 1] - row[:, None]
    bu, bv = np.roll(u, -1, axis=1), np.roll(v, -1, axis=1)
    u1, u2 = np.clip(u, 0, 1), np.clip(bu, 0, 1)
    du = bu - u
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (bv - v) / du
        v1 = np.where(du != 0, v + (u1 - u) * s, v)
        v2 = np.where(du != 0, v + (u2 - u) * s, bv)
    area = -((u2 - u1) * _mean_clamp(v1, v2)).sum(axis=1)
    return np.clip(area, 0.0, 1.0)
