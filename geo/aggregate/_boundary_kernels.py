"""Compiled inner loops of the boundary walk (:mod:`despro.aggregate._boundary_area`).

Each kernel makes one pass over boundary points or segments and reads the cell table's
per-cell arrays (lon/lat degrees): centres ``cx, cy``, each edge's inward unit normal
``nx, ny`` and offset ``off`` (cell-major, shape (cells, k); a point is inside edge e of
cell c when ``nx[c, e] * (x - cx[c]) + ny[c, e] * (y - cy[c]) >= off[c, e]``), the
vertices relative to the centre (cells, k, 2) and the fan areas ``fan`` (cells, k + 1)
swept from the centre from vertex 0 to each vertex. Padding edges (pentagons among
hexagons) have zero normals and offset -inf: they never cut anything.
"""

from __future__ import annotations

import numpy as np

from despro._jit import njit


@njit
def _distance_one(c, x, y, cx, cy, nx, ny, off):
    px, py = x - cx[c], y - cy[c]
    d = np.inf
    for e in range(nx.shape[1]):
        v = nx[c, e] * px + ny[c, e] * py - off[c, e]
        if v < d:
            d = v
    return d


@njit
def edge_distance(ci, x, y, cx, cy, nx, ny, off):
    """Signed distance (degrees) of each point (x, y) to the nearest edge line of cell
    row ``ci``: >= 0 inside (or on) the hexagon."""
    out = np.empty(len(ci))
    for i in range(len(ci)):
        out[i] = _distance_one(ci[i], x[i], y[i], cx, cy, nx, ny, off)
    return out


@njit
def label_between_samples(x, y, first, sample_rows, latest, cx, cy, nx, ny, off):
    """Cell row of each boundary point from the cells of the H3-indexed samples.

    Point i is tried against its latest sample's cell ``sample_rows[latest[i]]``, then
    (unless it starts a ring, ``first[i]``) the previous point's cell, then the next
    sample's cell. Returns (labels, distance to the chosen cell's edges); a point inside
    none of them keeps the latest sample's cell with a negative distance.
    """
    n = len(x)
    labels = np.empty(n, np.int64)
    dist = np.empty(n)
    last_sample = len(sample_rows) - 1
    for i in range(n):
        a = sample_rows[latest[i]]
        d = _distance_one(a, x[i], y[i], cx, cy, nx, ny, off)
        if d < 0 and not first[i] and labels[i - 1] != a and dist[i - 1] >= 0:
            b = labels[i - 1]
            d2 = _distance_one(b, x[i], y[i], cx, cy, nx, ny, off)
            if d2 >= 0:
                a, d = b, d2
        if d < 0:
            b = sample_rows[min(latest[i] + 1, last_sample)]
            d2 = _distance_one(b, x[i], y[i], cx, cy, nx, ny, off)
            if d2 >= 0:
                a, d = b, d2
        labels[i] = a
        dist[i] = d
    return labels, dist


@njit
def run_sums(k, ci, x, y, nxt, sign, row, cx, cy):
    """Shoelace terms (signed triangles with the cell centre) of segments ``k`` lying
    wholly in cell rows ``ci``, summed over runs of consecutive items with the same
    polygon and cell. Returns (first item of each run, its sum)."""
    n = len(k)
    starts = np.empty(n, np.int64)
    sums = np.empty(n)
    m = -1
    for i in range(n):
        s, c = k[i], ci[i]
        px, py = x[s] - cx[c], y[s] - cy[c]
        qx, qy = x[nxt[s]] - cx[c], y[nxt[s]] - cy[c]
        term = sign[s] * 0.5 * (px * qy - py * qx)
        if m >= 0 and c == ci[i - 1] and row[s] == row[k[i - 1]]:
            sums[m] += term
        else:
            m += 1
            starts[m] = i
            sums[m] = term
    return starts[: m + 1], sums[: m + 1]


@njit
def _fan_at(c, e, ax, ay, verts, fan):
    """Area swept from the centre, from vertex 0 to the point (ax, ay) on edge ``e``
    (coordinates relative to the centre)."""
    vx, vy = verts[c, e, 0], verts[c, e, 1]
    return fan[c, e] + 0.5 * (vx * ay - vy * ax)


@njit
def clip_segments(k, ci, x, y, nxt, sign, cx, cy, nx, ny, off, centred_verts, fan):
    """Cyrus-Beck clip of each segment ``k[i]`` against cell row ``ci[i]``.

    Returns per item: the share of the segment inside the cell (0: no piece), the
    piece's signed triangle with the centre, and for the points where the segment
    enters / leaves the cell (if inside the segment): a flag, the fan area at the
    point (:func:`_fan_at`) and the edge crossed. ``centred_verts`` are the vertices
    relative to their cell's centre.
    """
    n = len(k)
    share = np.zeros(n)
    piece = np.zeros(n)
    enters = np.zeros(n, np.bool_)
    leaves = np.zeros(n, np.bool_)
    at_in = np.zeros(n)
    at_out = np.zeros(n)
    e_in = np.zeros(n, np.int64)
    e_out = np.zeros(n, np.int64)
    for i in range(n):
        s, c = k[i], ci[i]
        lx, ly = x[s] - cx[c], y[s] - cy[c]
        dx, dy = x[nxt[s]] - x[s], y[nxt[s]] - y[s]
        t_in, t_out = 0.0, 1.0
        ei, eo = 0, 0
        blocked = False
        for e in range(nx.shape[1]):
            f0 = nx[c, e] * lx + ny[c, e] * ly - off[c, e]
            g = nx[c, e] * dx + ny[c, e] * dy
            if g > 0:
                t = -f0 / g
                if t > t_in:
                    t_in, ei = t, e
            elif g < 0:
                t = -f0 / g
                if t < t_out:
                    t_out, eo = t, e
            elif f0 < 0:
                blocked = True
        if blocked or not t_out > t_in:
            continue
        share[i] = t_out - t_in
        ax, ay = lx + t_in * dx, ly + t_in * dy
        bx, by = lx + t_out * dx, ly + t_out * dy
        piece[i] = sign[s] * 0.5 * (ax * by - ay * bx)
        if t_in > 0:
            enters[i] = True
            at_in[i] = _fan_at(c, ei, ax, ay, centred_verts, fan)
            e_in[i] = ei
        if t_out < 1:
            leaves[i] = True
            at_out[i] = _fan_at(c, eo, bx, by, centred_verts, fan)
            e_out[i] = eo
    return share, piece, enters, at_in, e_in, leaves, at_out, e_out


@njit
def _pieces(dx, dy, step):
    """Number of equal pieces that make a segment (dx, dy) at most ``step`` long."""
    return max(1, int(np.ceil(np.sqrt(dx * dx + dy * dy) / step)))


@njit
def split_rings(x, y, ring, n_rings, step):
    """Split closed rings (coordinates ``x, y`` with the closing repeat, ring id per
    coordinate, rings contiguous) into points at most ``step`` apart along each segment.

    Returns the points (x, y, ring id), each point's successor round its ring and each
    ring's twice signed area (shoelace from its first vertex).
    """
    n = len(x)
    count = 0
    for i in range(n - 1):
        if ring[i + 1] == ring[i]:
            count += _pieces(x[i + 1] - x[i], y[i + 1] - y[i], step)
    ox = np.empty(count)
    oy = np.empty(count)
    oring = np.empty(count, np.int64)
    nxt = np.empty(count, np.int64)
    twice_area = np.zeros(n_rings)
    j = 0
    start = 0  # first output point of the current ring
    first = 0  # first coordinate of the current ring
    for i in range(n - 1):
        r = ring[i]
        if i == 0 or r != ring[i - 1]:
            first, start = i, j
        if ring[i + 1] != r:
            if j > start:
                nxt[j - 1] = start  # the ring's last point wraps round
            continue
        x0, y0, dx, dy = x[i], y[i], x[i + 1] - x[i], y[i + 1] - y[i]
        twice_area[r] += (x0 - x[first]) * (y[i + 1] - y[first]) - (y0 - y[first]) * (
            x[i + 1] - x[first]
        )
        m = _pieces(dx, dy, step)
        for t in range(m):
            ox[j] = x0 + t / m * dx
            oy[j] = y0 + t / m * dy
            oring[j] = r
            nxt[j] = j + 1
            j += 1
    if j > start:
        nxt[j - 1] = start
    return ox, oy, oring, nxt, twice_area


@njit
def outline_crossings(order, pair, at, s, n_pairs):
    """Walk the crossings of each (polygon, cell) pair's outline in order round it.

    ``order`` sorts the crossings by pair (stably); within a pair they are sorted here by
    ``at`` (the fan area at the crossing, i.e. the position round the outline from
    vertex 0). ``s`` is +1 where the outline enters the polygon, -1 where it leaves.
    Returns per pair: whether the outline is inside the polygon at vertex 0 (1 / 0; -1
    if never crossed), whether the crossings fail to alternate from there (degenerate),
    and the sum of ``s * at`` (the fan areas of the outline's inside stretches).
    """
    inside0 = np.full(n_pairs, -1.0)
    bad = np.zeros(n_pairs, np.bool_)
    fan = np.zeros(n_pairs)
    n = len(order)
    i = 0
    while i < n:
        p = pair[order[i]]
        j = i + 1
        while j < n and pair[order[j]] == p:
            j += 1
        for a in range(i + 1, j):  # insertion sort by position: groups are small
            v = order[a]
            b = a - 1
            while b >= i and at[order[b]] > at[v]:
                order[b + 1] = order[b]
                b -= 1
            order[b + 1] = v
        prefix, lo, hi = 0, 0, -n - 1
        for a in range(i, j):
            c = order[a]
            prefix += s[c]
            lo, hi = min(lo, prefix), max(hi, prefix)
            fan[p] += s[c] * at[c]
        inside0[p] = -lo
        bad[p] = prefix != 0 or lo < -1 or hi - lo > 1
        i = j
    return inside0, bad, fan


@njit
def cell_geometry(verts):
    """The cell table's arrays for cells with counter-clockwise vertices ``verts``
    (n, k, 2), padded by repeating a vertex: vertices relative to their mean (the
    centre), the centre, which edges are real (not padding), each edge's inward unit
    normal and offset, and the fan areas from vertex 0 to each vertex."""
    n, k = verts.shape[0], verts.shape[1]
    rel = np.empty((n, k, 2))
    cx, cy = np.empty(n), np.empty(n)
    real = np.empty((n, k), np.bool_)
    nx, ny, off = np.empty((n, k)), np.empty((n, k)), np.empty((n, k))
    fan = np.zeros((n, k + 1))
    for i in range(n):
        mx, my = 0.0, 0.0
        for j in range(k):
            mx += verts[i, j, 0]
            my += verts[i, j, 1]
        mx, my = mx / k, my / k
        cx[i], cy[i] = mx, my
        for j in range(k):
            rel[i, j, 0], rel[i, j, 1] = verts[i, j, 0] - mx, verts[i, j, 1] - my
        for j in range(k):
            ax, ay = rel[i, j, 0], rel[i, j, 1]
            bx, by = rel[i, (j + 1) % k, 0], rel[i, (j + 1) % k, 1]
            ex, ey = bx - ax, by - ay
            length = np.sqrt(ex * ex + ey * ey)
            real[i, j] = length > 0
            if length > 0:
                nx[i, j], ny[i, j] = -ey / length, ex / length
                off[i, j] = nx[i, j] * ax + ny[i, j] * ay
            else:  # padding: never cuts anything
                nx[i, j], ny[i, j], off[i, j] = 0.0, 0.0, -np.inf
            fan[i, j + 1] = fan[i, j] + 0.5 * (ax * by - ay * bx)
    return rel, cx, cy, real, nx, ny, off, fan


@njit
def classify_segments(labels, dist, nxt, eps):
    """Kind of each segment i -> nxt[i] from its end points' cells ``labels`` and their
    distances ``dist`` to those cells' edges: 0 both ends in one hexagon, 1 ends in two
    hexagons, 2 otherwise (an end outside its cell, or within ``eps`` of an edge). Also
    returns which segments have an end within ``eps`` of an edge (degenerate)."""
    n = len(labels)
    kind = np.empty(n, np.int8)
    odd = np.empty(n, np.bool_)
    for i in range(n):
        j = nxt[i]
        odd[i] = abs(dist[i]) < eps or abs(dist[j]) < eps
        if odd[i] or dist[i] < 0 or dist[j] < 0:
            kind[i] = 2
        elif labels[i] == labels[j]:
            kind[i] = 0
        else:
            kind[i] = 1
    return kind, odd
