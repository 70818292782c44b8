"""Exact coverage of raster pixels by convex polygons, in pixel space (compiled kernels).

The kernels behind :mod:`despro.aggregate.raster._block`, compiled by numba
(:data:`despro._jit.njit`: machine code cached on disk, GIL released). Everything
here works in *pixel coordinates* ``(u, v)``: ``u`` is the column and ``v`` the row
coordinate, so pixel ``(row j, column i)`` is the unit square ``[i, i+1] x [j, j+1]``
and every share below is a fraction of one pixel (dimensionless, 0-1). Polygons are
padded vertex arrays ``(n, k, 2)`` (padding repeats a vertex: zero-length edges count
for nothing), counter-clockwise in the right-handed ``(u, v)`` frame (see
:func:`orient_ccw`), convex, with straight edges in pixel space.

* :func:`centre_labels` - the polygon holding each pixel centre (a scanline fill
  driven by the polygons' left-hand edges), and the runs of equal label along rows;
* :func:`polygon_pixel_fraction` - closed-form share of a pixel inside a convex
  polygon (Green's theorem; exact for any sizes of polygon and pixel);
* :func:`boundary_shares` - every polygon's share of every pixel its boundary
  crosses, row by row: the pixels of a row wholly inside a polygon are found from
  its horizontal extent at the row's two grid lines (convexity); a pixel on a side
  where one edge spans the row gets that edge's closed-form half-plane share, the
  others :func:`polygon_pixel_fraction`.
"""

from __future__ import annotations

import numpy as np

from despro._jit import njit

MIN_FRACTION = 1e-12  # shares below this (round-off of touching edges) are dropped
CHECK_EVERY = 8  # rows between those whose pixel shares are all computed, as a self-check


@njit(inline="always")
def twice_area(verts: np.ndarray, c: int) -> float:
    """Twice the signed area of ring ``verts[c]`` (shoelace from its first vertex;
    positive counter-clockwise in (u, v); padding adds 0)."""
    twice = 0.0
    for e in range(verts.shape[1]):
        x0, y0 = verts[c, e - 1, 0] - verts[c, 0, 0], verts[c, e - 1, 1] - verts[c, 0, 1]
        x1, y1 = verts[c, e, 0] - verts[c, 0, 0], verts[c, e, 1] - verts[c, 0, 1]
        twice += x0 * y1 - x1 * y0
    return twice


@njit
def orient_ccw(verts: np.ndarray) -> np.ndarray:
    """A copy of ``verts`` (n, k, 2) with every ring counter-clockwise in (u, v)."""
    n, k = verts.shape[0], verts.shape[1]
    out = np.empty((n, k, 2))
    for c in range(n):
        twice = twice_area(verts, c)
        for e in range(k):
            src = k - 1 - e if twice < 0 else e
            out[c, e, 0], out[c, e, 1] = verts[c, src, 0], verts[c, src, 1]
    return out


@njit(inline="always")
def _left_u(verts: np.ndarray, c: int, e: int, v: float) -> float:
    """u of edge e - 1 -> e of polygon c at height v."""
    au, av = verts[c, e - 1, 0], verts[c, e - 1, 1]
    du, dv = verts[c, e, 0] - au, verts[c, e, 1] - av
    slope = du / dv
    return (au - slope * av) + slope * v


@njit
def centre_labels(verts: np.ndarray, height: int, width: int):
    """Index of the polygon holding each pixel centre, and the runs of equal label.

    Returns (label, start, value): ``label`` flat (height * width,) int32, -1: no
    polygon; the runs of equal label along rows (every row starts one) begin at
    ``start`` (int64) with label ``value``.

    Each polygon's left-hand edges (``dv < 0``) give, for every row whose centre
    line ``v = j + 0.5`` they cross (half-open ``[v_end, v_start)``, so that two
    consecutive left edges never both claim a row), the row's leftmost inside point
    ``uL`` and so the first column whose centre is inside: the polygon's run starts
    there, and each label is carried along the row (flat: a row no run starts in
    continues the previous one) until the next run starts. A polygon whose run is
    empty (a tip narrower than a pixel between two centres) or starts left of
    column 0 claims the same pixel as its right-hand neighbour; the one with the
    larger ``uL`` is right and wins (ties: the later polygon). Exact for a
    tessellation; a centre within ~1e-12 pixel of a shared edge may go to either
    neighbour.
    """
    n, k = verts.shape[0], verts.shape[1]
    npx = height * width
    marker = np.full(npx, -1, np.int32)  # edge c * k + e whose run starts at the pixel
    n_marks = 0
    for c in range(n):
        for e in range(k):
            av = verts[c, e - 1, 1]
            dv = verts[c, e, 1] - av
            if not dv < 0:
                continue
            lo = min(max(np.ceil(av + dv - 0.5), 0.0), height)
            hi = min(max(np.ceil(av - 0.5), 0.0), height)
            for row in range(int(lo), int(hi)):
                u_left = _left_u(verts, c, e, row + 0.5)
                start = max(np.ceil(u_left - 0.5), 0.0)
                if start >= width:
                    continue
                t = row * width + int(start)
                if marker[t] >= 0:
                    c0, e0 = marker[t] // k, marker[t] % k
                    if u_left < _left_u(verts, c0, e0, row + 0.5):
                        continue
                else:
                    n_marks += 1
                marker[t] = c * k + e
    # carry each label along its row (and on into rows no run starts in); a run starts
    # at every row start and every marked pixel
    start = np.empty(n_marks + height, np.int64)
    value = np.empty(n_marks + height, np.int32)
    cur = np.int32(-1)
    r = 0
    for r0 in range(0, npx, width):
        if marker[r0] < 0:
            start[r], value[r] = r0, cur
            r += 1
        for p in range(r0, r0 + width):
            if marker[p] >= 0:
                cur = marker[p] // k
                start[r], value[r] = p, cur
                r += 1
            marker[p] = cur
    return marker, start[:r], value[:r]


@njit(inline="always")
def _clamped_mean(p: float, q: float) -> float:
    """Mean over t in [0, 1] of clamp(p + (q - p) t, 0, 1), stably."""
    lo, hi = min(p, q), max(p, q)
    if lo >= 0.0 and hi <= 1.0:
        return 0.5 * (lo + hi)
    if hi <= 0.0:
        return 0.0
    if lo >= 1.0:
        return 1.0
    d = hi - lo
    t0 = min(max(-lo / d, 0.0), 1.0)
    t1 = min(max((1.0 - lo) / d, 0.0), 1.0)
    y0 = min(max(lo + d * t0, 0.0), 1.0)
    y1 = min(max(lo + d * t1, 0.0), 1.0)
    return (t1 - t0) * 0.5 * (y0 + y1) + (1.0 - t1)


@njit(inline="always")
def _fraction(verts: np.ndarray, slope: np.ndarray, c: int, row: float, col: float) -> float:
    """Share of pixel (row, col) inside the convex counter-clockwise polygon ``verts[c]``;
    ``slope[c]``: dv / du of each of its edges (ignored where du == 0)."""
    k = verts.shape[1]
    area = 0.0
    u, v = verts[c, k - 1, 0] - col, verts[c, k - 1, 1] - row
    for e in range(k):  # edge e - 1 -> e
        bu, bv = verts[c, e, 0] - col, verts[c, e, 1] - row
        u1, u2 = min(max(u, 0.0), 1.0), min(max(bu, 0.0), 1.0)
        if u1 != u2:  # else outside the pixel's columns, or vertical: nothing
            s = slope[c, e]
            area -= (u2 - u1) * _clamped_mean(v + (u1 - u) * s, v + (u2 - u) * s)
        u, v = bu, bv
    return min(max(area, 0.0), 1.0)


@njit(inline="always")
def _slopes(verts: np.ndarray, out: np.ndarray, c: int) -> None:
    """dv / du of each edge (e - 1 -> e) of ``verts[c]`` into ``out[c]`` (0 where du == 0)."""
    k = verts.shape[1]
    for e in range(k):
        du = verts[c, e, 0] - verts[c, e - 1, 0]
        out[c, e] = (verts[c, e, 1] - verts[c, e - 1, 1]) / du if du != 0 else 0.0


@njit
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
    out = np.empty(len(row))
    slope = np.empty((len(row), verts.shape[1]))
    for i in range(len(row)):
        _slopes(verts, slope, i)
        out[i] = _fraction(verts, slope, i, float(row[i]), float(col[i]))
    return out


@njit(inline="always")
def _strip_range(verts: np.ndarray, c: int, j: float, lo: float, hi: float):
    """u range of polygon c inside the strip j <= v <= j + 1 (empty: lo > hi), given
    ``lo, hi``: the extremes of its extents on the lines v = j and v = j + 1 (the
    part inside the strip is the hull of those points and the vertices in the strip)."""
    for e in range(verts.shape[1]):
        v = verts[c, e, 1]
        if j <= v <= j + 1:
            lo, hi = min(lo, verts[c, e, 0]), max(hi, verts[c, e, 0])
    return lo, hi


@njit(inline="always")
def _line_extent(verts: np.ndarray, c: int, v: float):
    """u extent (left, right) of polygon c on the line at height v (empty: left > right),
    and the edges (e - 1 -> e) crossing the line there (-1: several, or along the line)."""
    k = verts.shape[1]
    left, right = np.inf, -np.inf
    e_left, e_right = -1, -1
    for e in range(k):
        ua, va, ub, vb = verts[c, e - 1, 0], verts[c, e - 1, 1], verts[c, e, 0], verts[c, e, 1]
        if min(va, vb) <= v <= max(va, vb):
            if va == vb:
                left, right = min(left, ua, ub), max(right, ua, ub)
                e_left, e_right = -1, -1
                continue
            u = ua + (v - va) / (vb - va) * (ub - ua)
            if u < left:
                left, e_left = u, e
            elif u == left:
                e_left = -1
            if u > right:
                right, e_right = u, e
            elif u == right:
                e_right = -1
    return left, right, e_left, e_right


@njit(inline="always")
def _halfplane(verts: np.ndarray, c: int, e: int, row: float, col: float) -> float:
    """Share of pixel (row, col) on the inner (left) side of the line of edge e - 1 -> e of
    the counter-clockwise polygon c: exact where that edge alone crosses the pixel.

    With ``g(u, v) = du (v - av) - dv (u - au)``, the share is the probability that
    ``g >= 0`` for a point uniform in the pixel; ``g`` is ``g0 + alpha X + beta Y``
    with X, Y uniform on [0, 1] (a trapezoidal distribution), so the share is a
    closed form with no clipping and no division by a small slope.
    """
    au, av = verts[c, e - 1, 0], verts[c, e - 1, 1]
    du, dv = verts[c, e, 0] - au, verts[c, e, 1] - av
    p, q = abs(dv), abs(du)
    hi, lo = max(p, q), max(min(p, q), 1e-300)
    # share = P(p X' + q Y' >= z), X', Y' uniform on [0, 1]
    z = dv * col - du * row + du * av - dv * au - (min(-dv, 0.0) + min(du, 0.0))
    span = hi + lo
    t = min(max(z, 0.0), span)
    ramp = min(t, lo)
    x = span - max(t, hi)
    cdf = (ramp * ramp + (lo - x) * (lo + x)) / (2 * lo) + min(max(t - lo, 0.0), hi - lo)
    return min(max(1.0 - cdf / hi, 0.0), 1.0)


@njit
def _grow(pix, dst, frac, size, room):
    """The move arrays with room for at least ``room`` entries, the first ``size`` kept."""
    n = max(2 * len(pix), room)
    p2, d2, f2 = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float32)
    p2[:size], d2[:size], f2[:size] = pix[:size], dst[:size], frac[:size]
    return p2, d2, f2


@njit
def boundary_shares(
    verts: np.ndarray, label: np.ndarray, height: int, width: int, check_every: int = CHECK_EVERY
):
    """Shares of the pixels that polygon boundaries cross, relative to the centre labels.

    Row by row, for each polygon meeting the row: its u-range inside the row's strip
    bounds the pixels it touches, and its extent on the strip's two grid lines
    (``xL(v), xR(v)``; ``xL`` is convex and ``xR`` concave in ``v``) the pixels it
    holds wholly. Where one edge crosses both grid lines on a side and some pixels
    between the sides are wholly inside, that edge alone crosses the side's other
    pixels: their share is its half-plane's (closed form); every other touched
    pixel gets :func:`polygon_pixel_fraction`. Shares above :data:`MIN_FRACTION` of a pixel by a
    polygon other than its centre label's are *moves*; the centre label's own share is
    not needed (it keeps the rest of the pixel) and is computed only on the rows checked.

    Parameters
    ----------
    verts : ndarray (n, k, 2)
        Convex counter-clockwise polygons (pixel coordinates).
    label : int32 (height * width,)
        :func:`centre_labels` of the same polygons.
    check_every : int
        Every this many rows (from row 0), every share is computed, the centre
        label's too, for the self-check ``max_deficit``.

    Returns
    -------
    (pix, dst, frac, edge_pixels, max_deficit)
        Moves: share ``frac`` (float32) of pixel ``pix`` (flat, int32: a block holds
        fewer than 2**31 pixels) goes to polygon ``dst`` (int32), in row order.
        ``edge_pixels``: pixels with at least one move; ``max_deficit``: the largest
        ``|1 - sum of a pixel's shares|`` (computed in float64) over the crossed pixels
        of the checked rows that have a centre label (round-off, and the shares dropped
        below :data:`MIN_FRACTION`: ~1e-12 at most).
    """
    n, k = verts.shape[0], verts.shape[1]
    # rows each polygon meets, and the polygons in order of their first row
    first = np.empty(n, np.int64)
    end = np.empty(n, np.int64)
    span = np.empty(n, np.int64)  # most pixels a polygon can touch in a row
    slopes = np.empty((n, k))
    for c in range(n):
        first[c] = int(max(np.floor(verts[c, :, 1].min()), 0.0))
        end[c] = int(min(np.ceil(verts[c, :, 1].max()), float(height)))
        span[c] = int(np.ceil(verts[c, :, 0].max()) - np.floor(verts[c, :, 0].min())) + 1
        _slopes(verts, slopes, c)
    order = np.argsort(first, kind="mergesort")
    active = np.empty(n, np.int64)
    line_l, line_r = np.empty(n), np.empty(n)  # extent on the line above the current row
    edge_l, edge_r = np.empty(n, np.int64), np.empty(n, np.int64)  # and the edges there
    n_active, nxt = 0, 0
    total = np.zeros(width)  # sum of the shares of each pixel of a checked row
    touched = np.empty(width, np.int64)
    moved = np.full(width, -1, np.int64)  # last row in which each column had a move
    cap = height * width // 4 + 1024
    pix, dst, frac = np.empty(cap, np.int32), np.empty(cap, np.int32), np.empty(cap, np.float32)
    size = 0
    edge_pixels = 0
    max_deficit = 0.0
    for jr in range(height):
        # polygons meeting row jr: drop the finished ones, add the starting ones
        kept = 0
        for a in range(n_active):
            if end[active[a]] > jr:
                active[kept] = active[a]
                kept += 1
        n_active = kept
        while nxt < n and first[order[nxt]] <= jr:
            c = order[nxt]
            if end[c] > jr:
                active[n_active] = c
                n_active += 1
                line_l[c], line_r[c], edge_l[c], edge_r[c] = _line_extent(verts, c, float(jr))
            nxt += 1
        room = size
        for a in range(n_active):
            room += span[active[a]]
        if room > len(pix):
            pix, dst, frac = _grow(pix, dst, frac, size, room)
        j = float(jr)
        check = jr % check_every == 0
        n_touched = 0
        for a in range(n_active):
            c = active[a]
            l0, r0, el0, er0 = line_l[c], line_r[c], edge_l[c], edge_r[c]  # v = j
            l1, r1, el1, er1 = _line_extent(verts, c, j + 1.0)
            line_l[c], line_r[c], edge_l[c], edge_r[c] = l1, r1, el1, er1
            lo, hi = _strip_range(verts, c, j, min(l0, l1), max(r0, r1))
            if not lo <= hi:
                continue
            # pixels [i, i + 1] within [max xL, min xR] on both lines: wholly inside
            i0, i1 = int(max(np.floor(lo), 0.0)), int(min(np.ceil(hi), float(width)))
            full0, full1 = np.ceil(max(l0, l1)), np.floor(min(r0, r1))
            # one edge spanning the strip on a side, with pixels wholly inside between
            # the sides: that edge alone crosses the side's other pixels (half-plane)
            one_l, one_r = -1, -1
            if full0 < full1:  # skip the pixels [full0, full1): wholly inside
                f0, f1 = int(min(max(full0, i0), i1)), int(min(max(full1, i0), i1))
                if el0 == el1:
                    one_l = el0
                if er0 == er1:
                    one_r = er0
            else:
                f0, f1 = i1, i1
            i = i0
            while i < i1:
                if i == f0:
                    i = f1
                    if i >= i1:
                        break
                col = i
                i += 1
                p = jr * width + col
                own = label[p] == c
                if own and not check:
                    continue
                side = one_l if col < f0 else one_r
                if side >= 0:
                    f = _halfplane(verts, c, side, j, float(col))
                else:
                    f = _fraction(verts, slopes, c, j, float(col))
                if not f > MIN_FRACTION:
                    continue
                if check:
                    if total[col] == 0.0:
                        touched[n_touched] = col
                        n_touched += 1
                    total[col] += f
                if not own:
                    pix[size], dst[size], frac[size] = p, c, f
                    size += 1
                    if moved[col] != jr:
                        moved[col] = jr
                        edge_pixels += 1
        for t in range(n_touched):
            i = touched[t]
            if label[jr * width + i] >= 0:
                max_deficit = max(max_deficit, abs(1.0 - total[i]))
            total[i] = 0.0
    return pix[:size].copy(), dst[:size].copy(), frac[:size].copy(), edge_pixels, max_deficit
