"""Exact area of (polygon, H3 cell) overlaps from each polygon's boundary, read once.

By Green's theorem the area of a region is the sum, over its oriented boundary, of
the signed triangles a fixed point makes with each boundary piece. The boundary of
``polygon ∩ cell`` is made of two kinds of piece:

* the polygon's own segments, cut at the cell's edges: every ring segment (split to
  less than half a cell edge, so that it touches at most its end cells and the cells
  next to both) is clipped against those few convex hexagons (Cyrus-Beck) and each
  piece adds its triangle with the cell centre to its (polygon, cell) pair;
* the cell's edges where they lie inside the polygon: the points where the polygon
  crosses the cell's outline, sorted around the outline, switch "inside" on and off,
  and the triangles the centre makes with the inside stretches follow from the
  crossing positions alone (the fan area swept from vertex 0 to each crossing).

No pair is clipped as a whole polygon, so the cost is proportional to the number of
boundary segments, not to (pairs x ring length). Rings are oriented on the fly
(exteriors counter-clockwise, holes clockwise), so input orientation does not matter.

Every result is checked: each segment's pieces must add up to the whole segment
(otherwise more cells are tried), and the crossings around each cell must alternate.
Pairs where they do not (a polygon vertex exactly on a cell edge, a segment along an
edge) are handed back as *degenerate* for an exact overlay.

The passes over boundary points and segments (splitting, labelling, clipping, summing,
walking the outline crossings) are compiled loops in
:mod:`despro.aggregate._boundary_kernels`; this module orders them and does the bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h3
import numpy as np
import pyarrow as pa
import shapely
from h3ronpy import grid_disk

from despro.aggregate import _boundary_kernels as kernels
from despro.errors import DesproError
from despro.grid import cells as grid

M_PER_DEG = 111_319.49
SPLIT_EDGES = 0.45  # segments are split to at most this many average cell edges
COVER_TOL = 1e-9  # a segment's pieces must add up to it within this share
EDGE_EPS = 1e-10  # degrees (~11 um): a vertex this close to a cell edge is degenerate
SAMPLE_EVERY = 8  # boundary points indexed by H3; the others are found by geometry
FIND_MARGIN = 1e-9  # degrees: CellTable.find only trusts points this far inside a hexagon


def _list_pairs(lists) -> tuple[np.ndarray, np.ndarray]:
    """(row index, value) pairs from an arrow list array."""
    lists = pa.array(lists) if not isinstance(lists, pa.Array) else lists
    lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    vals = np.asarray(lists.flatten().to_numpy(zero_copy_only=False), dtype=grid.CELL_DTYPE)
    return rows, vals


def disks(cells: np.ndarray) -> np.ndarray:
    """(n, 7) ring-1 disks; pentagons' missing slot repeats the centre."""
    rows, vals = _list_pairs(grid_disk(pa.array(cells), 1))
    out = np.repeat(cells[:, None], 7, axis=1)
    pos = np.arange(len(rows)) - np.searchsorted(rows, rows)
    out[rows, pos] = vals
    return out


class CellTable:
    """Planar geometry (lon/lat degrees) of the distinct cells a job touches, fetched
    from H3 once per cell as cells are needed. A cell keeps its row once added.

    Per cell: counter-clockwise vertices (also relative to the centre, ``rel``), their
    mean (the centre every triangle is taken from), each edge's inward unit normal and
    offset (signed distance of a point = normal . (point - centre) - offset, >= 0
    inside; shape (cells, k)) and the fan area swept from vertex 0 to each vertex.
    """

    def __init__(self) -> None:
        self.cells = np.empty(0, grid.CELL_DTYPE)
        self.verts = np.empty((0, 6, 2))
        self._sorter = np.empty(0, np.int64)
        self._sorted = self.cells
        self._centres = None

    def add(self, cells: np.ndarray) -> None:
        """Make sure ``cells`` are in the table."""
        cells = grid.unique_cells(cells)
        new = cells[~self.lookup(cells)[1]]
        if not len(new):
            return
        verts, _ = grid.cell_vertices(new)
        k = max(verts.shape[1], self.verts.shape[1])
        if k > self.verts.shape[1] and len(self.cells):  # a cell with more vertices
            old, self.cells, self.verts = self.cells, np.empty(0, grid.CELL_DTYPE), verts[:0]
            self.add(old)
        self.cells = np.r_[self.cells, new]
        self._sorter = np.argsort(self.cells)
        self._sorted = self.cells[self._sorter]  # searched directly: no indirection
        geometry = _geometry(_pad(verts, k))
        if len(self.verts):
            geometry = {
                name: np.concatenate([getattr(self, name), part]) for name, part in geometry.items()
            }
        for name, value in geometry.items():
            setattr(self, name, value)
        self._centres = None  # rebuilt by find() when needed

    def lookup(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, found) of each cell in the table."""
        if not len(self.cells):
            return np.zeros(len(cells), np.int64), np.zeros(len(cells), bool)
        pos = np.minimum(np.searchsorted(self._sorted, cells), len(self.cells) - 1)
        i = self._sorter[pos]
        return i, self.cells[i] == cells

    def index(self, cells: np.ndarray) -> np.ndarray:
        """Row of each cell (all must be in the table)."""
        return self.lookup(cells)[0]

    @property
    def area(self) -> np.ndarray:
        """Planar area of each hexagon (square degrees)."""
        return self.fan[:, -1]

    def find(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Row of the table cell whose centre is near each point (x, y) and holds it
        well inside (more than ``FIND_MARGIN`` degrees from its edges), -1 where none.

        Centres are bucketed at a fifth of the cells' size, so the point must lie
        within about that of the centre (neighbours' centres mirrored across an edge
        do, to ~1e-7 deg); a point found is exactly in that cell's lon/lat hexagon.
        """
        if not len(self.cells):
            return np.full(len(x), -1, np.int64)
        if self._centres is None:
            q = 0.2 * np.sqrt(np.median(self.area))
            key = _bucket(self.cx, self.cy, q)
            order = np.argsort(key)
            self._centres = (q, key[order], order)
        q, keys, rows = self._centres
        key = _bucket(x, y, q)
        pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        row = rows[pos]
        ok = keys[pos] == key
        ok[ok] = self.distance(row[ok], x[ok], y[ok]) > FIND_MARGIN
        return np.where(ok, row, -1)

    def distance(self, ci: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Signed distance (degrees) of each point to the nearest edge line of its
        hexagon ``ci``: >= 0 inside (or on) the hexagon."""
        return kernels.edge_distance(ci, x, y, self.cx, self.cy, self.nx, self.ny, self.off)


def _bucket(x: np.ndarray, y: np.ndarray, q: float) -> np.ndarray:
    """One int64 per point: its lon/lat rounded to multiples of ``q`` degrees."""
    return (np.rint(x / q).astype(np.int64) << 32) + np.rint(y / q).astype(np.int64)


def _geometry(verts: np.ndarray) -> dict:
    """The :class:`CellTable` arrays of cells with vertices ``verts`` (n, k, 2)."""
    names = ("rel", "cx", "cy", "real", "nx", "ny", "off", "fan")
    verts = np.ascontiguousarray(verts, dtype=np.float64)
    return {"verts": verts, **dict(zip(names, kernels.cell_geometry(verts), strict=True))}


def _pad(verts: np.ndarray, k: int) -> np.ndarray:
    """Pad rings (n, j, 2) to k vertices by repeating their first vertex."""
    if verts.shape[1] >= k:
        return verts
    extra = np.repeat(verts[:, :1], k - verts.shape[1], axis=1)
    return np.concatenate([verts, extra], axis=1)


@dataclass(frozen=True)
class Segments:
    """Polygon boundary as short oriented segments ``(x, y)[i] -> (x, y)[nxt[i]]``."""

    x: np.ndarray
    y: np.ndarray
    nxt: np.ndarray
    row: np.ndarray  # polygon of each segment
    sign: np.ndarray  # +1 / -1: flips rings to exterior CCW, holes CW


def ring_segments(polys: np.ndarray, step: float) -> Segments:
    """Every ring segment of ``polys``, split to at most ``step`` degrees."""
    parts, part_poly = shapely.get_parts(polys, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    x, y, rs, nxt, twice_area = kernels.split_rings(
        xy[:, 0].copy(), xy[:, 1].copy(), ring, len(rings), step
    )
    ring_sign = np.where(exterior == (twice_area > 0), 1.0, -1.0)
    return Segments(x, y, nxt, part_poly[ring_part[rs]], ring_sign[rs])


def label_points(segs: Segments, res: int, table: CellTable) -> tuple[np.ndarray, np.ndarray]:
    """Table row of each boundary point's cell and its signed distance to that cell's
    edges.

    H3 indexes every ``SAMPLE_EVERY``-th point (and each ring's first); the points
    between are tested (exact, lon/lat) against the latest sample's hexagon, the
    previous point's and the next sample's; of a run of points in none, H3 indexes the
    first and the others are tested against its cell.
    Points labelled by H3 may lie a hair outside their lon/lat hexagon (H3's edges are
    great circles): their distance is then negative.
    """
    n = len(segs.x)
    last = segs.nxt <= np.arange(n)  # each ring's last point wraps round
    first = np.r_[True, last[:-1]]
    sample = (np.arange(n) % SAMPLE_EVERY == 0) | first
    s_cells = grid.lonlat_to_cells(segs.x[sample], segs.y[sample], res)
    table.add(s_cells)
    s_rows = table.index(s_cells)
    latest = np.cumsum(sample) - 1  # latest sample at or before each point
    labels, dist = kernels.label_between_samples(
        segs.x, segs.y, first, s_rows, latest, table.cx, table.cy, table.nx, table.ny, table.off
    )
    rest = np.flatnonzero(dist < 0)
    while len(rest):  # runs of points in none: H3 indexes each run's first point
        head = np.r_[True, rest[1:] != rest[:-1] + 1]
        c = grid.lonlat_to_cells(segs.x[rest[head]], segs.y[rest[head]], res)
        table.add(c)
        cand = table.index(c)[np.cumsum(head) - 1]
        d = table.distance(cand, segs.x[rest], segs.y[rest])
        done = (d >= 0) | head
        labels[rest[done]], dist[rest[done]] = cand[done], d[done]
        rest = rest[~done]
    return labels, dist


@dataclass
class _Pieces:
    """Accumulated (segment, cell row) pieces and outline crossings."""

    seg: list = field(default_factory=list)
    cell: list = field(default_factory=list)
    fan: list = field(default_factory=list)
    x_seg: list = field(default_factory=list)
    x_cell: list = field(default_factory=list)
    x_at: list = field(default_factory=list)
    x_sign: list = field(default_factory=list)
    x_edge: list = field(default_factory=list)
    odd: list = field(default_factory=list)  # segments whose pairs are degenerate

    def add(self, seg, cells, fan) -> None:
        self.seg.append(seg)
        self.cell.append(cells)
        self.fan.append(fan)


def _add_clipped(
    acc: _Pieces, table: CellTable, segs: Segments, k: np.ndarray, ci: np.ndarray
) -> np.ndarray:
    """Clip segments ``k`` against cell rows ``ci``; returns each item's covered share."""
    share, piece, enters, at_in, e_in, leaves, at_out, e_out = kernels.clip_segments(
        k,
        ci,
        segs.x,
        segs.y,
        segs.nxt,
        segs.sign,
        table.cx,
        table.cy,
        table.nx,
        table.ny,
        table.off,
        table.rel,
        table.fan,
    )
    ok = share > 0
    acc.add(k[ok], ci[ok], piece[ok])
    # entering the cell = leaving the polygon along the cell's outline (and vice versa)
    for m, at, edge, s in ((enters, at_in, e_in, -1.0), (leaves, at_out, e_out, 1.0)):
        acc.x_seg.append(k[m])
        acc.x_cell.append(ci[m])
        acc.x_at.append(at[m])
        acc.x_sign.append(s * segs.sign[k[m]])
        acc.x_edge.append(edge[m])
    return share


def _candidates(a: np.ndarray, b: np.ndarray, tried: np.ndarray):
    """(item, cell) for the union of the disks of cells ``a`` and ``b``, minus the
    cells ``tried`` (n, j) already."""
    cand = np.sort(np.concatenate([disks(a), disks(b)], axis=1), axis=1)
    keep = np.ones(cand.shape, bool)
    keep[:, 1:] = cand[:, 1:] != cand[:, :-1]
    keep &= ~(cand[:, :, None] == tried[:, None, :]).any(axis=2)
    item, col = np.nonzero(keep)
    return item, cand[item, col]


@dataclass(frozen=True)
class BoundaryPairs:
    """(polygon, cell) pairs the boundary crosses, with their covered share."""

    rows: np.ndarray
    cells: np.ndarray  # uint64
    fraction: np.ndarray  # planar share of the hexagon (0-1); NaN where degenerate
    edge_inside: np.ndarray  # (n, k) int8: edge wholly inside (1), outside (0), crossed
    #                          or degenerate (-1)
    table: CellTable
    table_rows: np.ndarray  # each pair's cell in ``table``


def boundary_pairs(polys: np.ndarray, res: int) -> BoundaryPairs:
    """Every (polygon, cell) pair whose cell a polygon's boundary passes through,
    with the share of the hexagon the polygon covers (exact, planar lon/lat).

    Pairs whose crossings are degenerate (see the module docstring) get NaN.
    """
    step = SPLIT_EDGES * h3.average_hexagon_edge_length(res, "m") / M_PER_DEG
    segs = ring_segments(polys, step)
    table = CellTable()
    a, dist = label_points(segs, res, table)
    kind, odd = kernels.classify_segments(a, dist, segs.nxt, EDGE_EPS)
    acc = _Pieces()

    # both ends in one hexagon: the segment lies in it (convex); runs of such segments
    # in one cell are summed first
    k = np.flatnonzero(kind == 0)
    run, fan = kernels.run_sums(
        k, a[k], segs.x, segs.y, segs.nxt, segs.sign, segs.row, table.cx, table.cy
    )
    acc.add(k[run], a[k[run]], fan)

    # ends in two hexagons: clipped to those two first
    kt = np.flatnonzero(kind == 1)
    share = _add_clipped(acc, table, segs, kt, a[kt]) + _add_clipped(
        acc, table, segs, kt, a[segs.nxt[kt]]
    )
    off = np.abs(share - 1) > COVER_TOL
    # the rest (a corner cut, an end outside its cell or on an edge): every cell next
    # to either end
    k = np.flatnonzero(kind == 2)
    rest = np.r_[k, kt[off]]
    a_rest, b_rest = a[rest], a[segs.nxt[rest]]  # cells of the segments' two ends
    tried = table.cells[np.c_[a_rest, b_rest]]
    tried[: len(k)] = 0  # no H3 cell is 0
    prior = np.r_[np.zeros(len(k)), share[off]]
    item, cells = _candidates(table.cells[a_rest], table.cells[b_rest], tried)
    table.add(cells)
    ci = table.index(cells)
    cover = prior + np.bincount(
        item, _add_clipped(acc, table, segs, rest[item], ci), minlength=len(rest)
    )
    # a vertex on an edge, or a segment along one (where neighbouring hexagons' float
    # vertices leave hairline gaps and overlaps): every cell next to it is degenerate
    bad = (np.abs(cover - 1) > COVER_TOL) | odd[rest]
    lost = (cover < 1 - 1e-6) & ~odd[rest]  # cannot happen: segments are short enough
    if lost.any():
        i = rest[np.flatnonzero(lost)[0]]
        raise DesproError(
            f"internal: boundary segment from ({segs.x[i]}, {segs.y[i]}) is "
            f"not covered by the cells next to its ends"
        )
    near = bad[item]
    acc.add(rest[item[near]], ci[near], np.zeros(near.sum()))
    for ends in (a_rest, b_rest):
        acc.add(rest[bad], ends[bad], np.zeros(bad.sum()))
    acc.odd.append(rest[bad])
    return _pairs(polys, segs, table, acc)


def _pairs(polys, segs: Segments, table: CellTable, acc: _Pieces) -> BoundaryPairs:
    m = len(table.cells)
    seg = np.concatenate(acc.seg)
    key = segs.row[seg] * m + np.concatenate(acc.cell)
    keys, inv = np.unique(key, return_inverse=True)
    area = np.bincount(inv, np.concatenate(acc.fan), minlength=len(keys))
    rows, ci = keys // m, keys % m

    # crossings of each cell's outline, walked round it from vertex 0
    xkey = segs.row[np.concatenate(acc.x_seg)] * m + np.concatenate(acc.x_cell)
    at, s = np.concatenate(acc.x_at), np.concatenate(acc.x_sign).astype(np.int64)
    edge = np.concatenate(acc.x_edge)
    pair = np.searchsorted(keys, xkey)
    odd = np.zeros(len(segs.row), bool)
    odd[np.concatenate(acc.odd)] = True
    degenerate = np.bincount(inv, odd[seg], minlength=len(keys)) > 0
    inside0, bad, fan = kernels.outline_crossings(
        np.argsort(pair, kind="stable"), pair, at, s, len(keys)
    )
    degenerate |= bad
    area -= fan

    # outline never crossed: wholly inside or outside the polygon
    alone = np.flatnonzero(inside0 < 0)
    v0 = table.verts[ci[alone], 0]
    owners = polys[np.unique(rows[alone])]
    unprepared = owners[~shapely.is_prepared(owners)]
    shapely.prepare(unprepared)  # many islands of one village: one index, not a scan each
    inside0[alone] = shapely.contains_xy(polys[rows[alone]], v0[:, 0], v0[:, 1])
    shapely.destroy_prepared(unprepared)
    hexarea = table.area[ci]
    frac = np.clip((area + inside0 * hexarea) / hexarea, 0.0, 1.0)
    frac[degenerate] = np.nan
    status = _edge_status(inside0, pair, edge, s, degenerate, table.verts.shape[1])
    status[~table.real[ci]] = -1
    return BoundaryPairs(rows, table.cells[ci], frac, status, table, ci)


def _edge_status(inside0, pair, edge, s, degenerate, k) -> np.ndarray:
    """Per pair and cell edge: 1 if the edge lies wholly inside the polygon, 0 if
    wholly outside, -1 if the boundary crosses it (or the pair is degenerate)."""
    n = len(inside0)
    at = pair * k + edge
    crossings = np.bincount(at, minlength=n * k).reshape(n, k)
    turn = np.rint(np.bincount(at, s, minlength=n * k)).astype(np.int64).reshape(n, k)
    before = np.cumsum(turn, axis=1) - turn  # net crossings on earlier edges
    status = (inside0[:, None] + before).astype(np.int8)
    status[(crossings > 0) | degenerate[:, None]] = -1
    return status
