"""The exact pixel -> H3 cell mapping of one block (band of rows) of a raster.

How a block is mapped (all vectorised, see :mod:`despro.geo.pixelcover`):

1. The cells that may meet the block, their vertices in pixel coordinates.
2. **Centre labels**: the cell holding each pixel centre (scanline fill). A pixel
   no cell edge crosses lies wholly in that cell and needs nothing else.
3. **Edges, each once**: the neighbour across each cell edge is the cell holding
   the owner's centre mirrored through the edge's midpoint (a lookup in the
   labels of a padded block); each shared edge is then walked once, listing the
   pixels it crosses with the share of each on its owner's side
   (:func:`~despro.geo.pixelcover.halfplane_fraction`).
4. **One edge in a pixel** (most edge pixels): the two shares are ``f`` and ``1 - f``.
5. **One cell corner in a pixel** (three cells meet; no other edge): each cell's
   share is the area of its corner in the pixel
   (:func:`~despro.geo.pixelcover.corner_fraction`). **Two edges and no corner**
   (the corner lies just outside): the chords do not cross in the pixel, so each
   outer cell has its edge's half-plane share and the cell between them the rest.
6. **Anything else** (two edges near a corner, a vertex on a pixel side, pixels
   larger than cells, ...): every candidate cell's share by the general formula
   (:func:`~despro.geo.pixelcover.polygon_pixel_fraction`).

The result is stored relative to the centre labels: runs of equal label along
rows, plus moves of a share of an edge pixel from its centre cell to another
cell. Shares of a pixel always add to 1, so mass is conserved by construction;
two self-checks are kept: the largest deficit ``|1 - sum of shares|`` of corner /
general pixels before normalisation, and, per cell, the mapped area against the
cell's polygon area (see :class:`BlockStats`).

:func:`build_block` with ``exact=False`` stops after step 2 (the *centre* fast
path: each pixel wholly in the cell holding its centre).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pixelcover import (
    centre_labels,
    corner_fraction,
    edge_pixels,
    halfplane_fraction,
    orient_ccw,
    polygon_edges,
    polygon_pixel_fraction,
    run_starts,
)
from .rastergrid import RasterGrid

MIN_FRACTION = 1e-12  # shares below this (round-off of touching edges) are dropped
MIN_CELL_PIXELS = 4.0  # below this cell extent (pixels) edges are not paired with their twins


@dataclass
class Block:
    """Mapping of the pixels [row0, row0 + rows) x [col0, col0 + width) of a raster.

    Attributes
    ----------
    cells : uint64 (m,)
        H3 cells receiving a share of some pixel of the block (in raster order).
    run_start, run_cell : int32
        Runs of equal centre cell (index into ``cells``) over the block's pixels
        in row-major order (every row starts a run; ``run_cell == m``: centre in
        no cell).
    pix, src, dst : int32; frac : float32
        Moves: share ``frac`` of pixel ``pix`` (flat index in the block) goes from
        the pixel's centre cell ``src`` (``m``: none) to cell ``dst``; the centre
        cell keeps ``1 - sum of its moves``. In row order.
    full_area : float64 (m,)
        ``sum_p f_pc a_p`` over all the block's pixels (m2): the valid area of
        each cell when no pixel is nodata.
    """

    row0: int
    rows: int
    col0: int
    width: int
    cells: np.ndarray
    run_start: np.ndarray
    run_cell: np.ndarray
    pix: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    frac: np.ndarray
    full_area: np.ndarray = field(default_factory=lambda: np.empty(0))
    _derived: dict = field(default_factory=dict, repr=False, compare=False)

    ARRAYS = ("cells", "run_start", "run_cell", "pix", "src", "dst", "frac", "full_area")

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, a).nbytes for a in self.ARRAYS) + \
            sum(a.nbytes for v in self._derived.values() for a in v)

    def _per_row(self) -> tuple[np.ndarray, np.ndarray]:
        """Runs and moves in each row (both are in row order), computed once."""
        if "per_row" not in self._derived:
            self._derived["per_row"] = (
                np.bincount(self.run_start // self.width, minlength=self.rows),
                np.bincount(self.pix // self.width, minlength=self.rows))
        return self._derived["per_row"]

    def reduce(self, x: np.ndarray, row_weights=(None,)) -> np.ndarray:
        """Per-cell sums ``sum_p f_pc w_row(p) x_p`` of a per-pixel quantity.

        Each pixel's whole value goes to its centre cell's run (one ``reduceat``,
        in float64 whatever the input type); each move then takes its share
        ``frac x_p`` from the pixel's centre cell to another cell (one ``bincount``
        each way, no ``ufunc.at``), so a pixel's parts add up to its value whatever
        the rounding of the float32 shares.

        Parameters
        ----------
        x : ndarray (rows, width)
            Per-pixel quantity (0 where it should not count), any real dtype.
        row_weights : sequence of None or ndarray (rows,)
            One output column per entry: unweighted, or weighted by a per-row
            factor (e.g. the pixel area of lon/lat rows), applied after summing runs.

        Returns
        -------
        ndarray (m, len(row_weights)), float64
        """
        flat = np.ascontiguousarray(x).reshape(-1)
        if flat.dtype.kind not in "fiu":
            flat = flat.astype(np.float64)
        runs = np.add.reduceat(flat.astype(np.float64, copy=False), self.run_start)
        moved = flat.take(self.pix).astype(np.float64)
        moved *= self.frac
        return self._to_cells(runs, moved, row_weights)

    def coverage(self, row_weights=(None,)) -> np.ndarray:
        """Per-cell sums of the shares, ``sum_p f_pc w_row(p)``: :meth:`reduce` of ones
        without touching a pixel (a run of ones adds up to its length)."""
        runs = np.diff(np.r_[self.run_start, self.rows * self.width]).astype(np.float64)
        return self._to_cells(runs, self.frac.astype(np.float64), row_weights)

    def _to_cells(self, runs: np.ndarray, moved: np.ndarray, row_weights) -> np.ndarray:
        """Per-cell sums from per-run sums and per-move quantities (see :meth:`reduce`)."""
        m = self.n_cells
        out = np.empty((m, len(row_weights)))
        for j, w in enumerate(row_weights):
            rs, mv = runs, moved
            if w is not None:
                w = np.asarray(w, np.float64)
                runs_in_row, moves_in_row = self._per_row()
                rs = runs * np.repeat(w, runs_in_row)
                mv = moved * np.repeat(w, moves_in_row)
            s = np.bincount(self.run_cell, rs, m + 1)
            if len(mv):
                s += np.bincount(self.dst, mv, m + 1)
                s -= np.bincount(self.src, mv, m + 1)
            out[:, j] = s[:m]
        return out


@dataclass
class BlockStats:
    """Self-checks and counts of one block's mapping.

    Attributes
    ----------
    edge_pixels, corner_pixels, general_pixels : int
        Pixels a cell edge crosses; of those, the ones holding one cell corner
        (step 5) and the ones computed by the general formula (step 6).
    max_deficit : float
        Largest ``|1 - sum of shares|`` of a corner / general pixel before
        normalisation (round-off: ~1e-15).
    max_area_error : float
        Largest relative difference, over the cells lying wholly inside the
        block, between the mapped area (sum of shares) and the cell's polygon area.
    """

    edge_pixels: int = 0
    corner_pixels: int = 0
    general_pixels: int = 0
    max_deficit: float = 0.0
    max_area_error: float = 0.0


def _neighbours(verts, counts, lab_ext, pad, au, av, du, dv):
    """Cell across each edge: the label at the owner's centre mirrored through the edge midpoint."""
    n, k, _ = verts.shape
    j = np.arange(k)[None, :]
    real_v = j < counts[:, None]
    cu = np.where(real_v, verts[..., 0], 0).sum(axis=1) / counts
    cv = np.where(real_v, verts[..., 1], 0).sum(axis=1) / counts
    owner = np.repeat(np.arange(n), k)
    qu = np.floor(2 * au + du - cu[owner]).astype(np.int64) + pad
    qv = np.floor(2 * av + dv - cv[owner]).astype(np.int64) + pad
    hh, ww = lab_ext.shape
    ok = (qu >= 0) & (qu < ww) & (qv >= 0) & (qv < hh)
    nb = np.full(len(owner), -1, np.int64)
    nb[ok] = lab_ext[qv[ok], qu[ok]]
    return owner, np.where(nb == owner, -1, nb)


def _vertex_table(verts, au, av, du, dv):
    """Per real edge start (= per distinct vertex of each cell): vertex, out and in directions."""
    n, k, _ = verts.shape
    real = (du != 0) | (dv != 0)
    # incoming direction: previous real edge of the same ring (padding edges skipped)
    idx = np.where(real, np.arange(n * k), -1).reshape(n, k)
    # last real edge before each slot, cyclically: roll and forward-fill within rings
    prev = np.roll(idx, 1, axis=1)
    for _ in range(k):  # k <= 10: fills runs of padding slots (bounded, not per cell)
        fill = prev < 0
        if not fill.any():
            break
        prev = np.where(fill, np.roll(prev, 1, axis=1), prev)
    prev = prev.ravel()
    e = np.flatnonzero(real)
    p = prev[e]
    return e, au[e], av[e], du[e], dv[e], -du[p], -dv[p]


def _extent(verts: np.ndarray, sample: int = 2000) -> np.ndarray:
    """Bounding-box extent (pixels) of a sample of the polygons (they are all alike)."""
    v = verts[:: max(1, len(verts) // sample)]
    return np.maximum(v[..., 0].max(axis=1) - v[..., 0].min(axis=1),
                      v[..., 1].max(axis=1) - v[..., 1].min(axis=1))


def _two_edges(c1, o1, f1, c2, o2, f2, lab, px):
    """Shares in pixels crossed by two edges (and no corner) whose lines meet outside.

    Edge i separates its owner ``ci`` (share ``fi`` of the pixel on its side of the
    edge's line) from ``oi``. The chords do not cross in the pixel (checked by the
    caller), so the pixel splits in three: beyond edge 1, beyond edge 2, and the
    rest, which belongs to the cell both edges share. Returns the moves (pix, to,
    share) from the centre cell ``lab`` and the pixels handled.
    """
    x = np.where((c1 == c2) | (c1 == o2), c1, np.where((o1 == c2) | (o1 == o2), o1, -1))
    y = np.where(c1 == x, o1, c1)
    z = np.where(c2 == x, o2, c2)
    sy = np.where(y == c1, f1, 1.0 - f1)
    sz = np.where(z == c2, f2, 1.0 - f2)
    sx = 1.0 - sy - sz
    ok = ((o1 >= 0) & (o2 >= 0) & (x >= 0) & (y != z) & (sx >= -1e-12)
          & ((lab == x) | (lab == y) | (lab == z)))
    ok = np.flatnonzero(ok)
    cells = np.concatenate([x[ok], y[ok], z[ok]])
    share = np.concatenate([np.maximum(sx[ok], 0.0), sy[ok], sz[ok]])
    pix = np.tile(px[ok], 3)
    move = (cells != np.tile(lab[ok], 3)) & (share > MIN_FRACTION)
    return (pix[move], cells[move], share[move]), px[ok]


def _edge_shares(verts, counts, lab_ext, pad, label, h, w, stats):
    """Steps 3-6: moves (pix, to cell, share) for every pixel a cell edge crosses."""
    npx = h * w
    n, k, _ = verts.shape

    # 3. each shared edge once (from the side with the smaller cell index)
    au, av, du, dv = polygon_edges(verts)
    owner, nb = _neighbours(verts, counts, lab_ext, pad, au, av, du, dv)
    if n and _extent(verts).min() < MIN_CELL_PIXELS:
        # cells hardly larger than pixels: a mirrored centre may miss the neighbour,
        # so walk every edge from both sides and let the general formula decide
        nb[:] = -1
    real = (du != 0) | (dv != 0)
    keep = np.flatnonzero(real & ((nb < 0) | (nb > owner)))
    e, row, col = edge_pixels(au[keep], av[keep], du[keep], dv[keep], h, w)
    ed = keep[e]
    c, o = owner[ed], nb[ed]
    f = halfplane_fraction(au[keep], av[keep], du[keep], dv[keep], row, col, e)
    pix = row * w + col
    count = np.bincount(pix, minlength=npx)

    ve, vu, vv, ou, ov, iu, iv = _vertex_table(verts, au, av, du, dv)
    vcell = ve // k
    vi, vj = np.floor(vu), np.floor(vv)
    in_block = (vi >= 0) & (vi < w) & (vj >= 0) & (vj < h)
    vpix = np.where(in_block, vj * w + vi, 0).astype(np.int64)
    vcount = np.bincount(vpix[in_block], minlength=npx)

    # 4. one edge in the pixel: f on the owner's side, 1 - f on the neighbour's
    # (per-pixel tests are made on the (edge, pixel) records, not over the block)
    lab, cpx, vpx = label[pix], count[pix], vcount[pix]
    to_c = lab == o  # the centre is on the neighbour's side: move f to the owner
    sel = np.flatnonzero((cpx == 1) & (vpx == 0) & (o >= 0) & (to_c | (lab == c)))
    to_c = to_c[sel]
    parts = [(pix[sel], np.where(to_c, c[sel], o[sel]),
              np.where(to_c, f[sel], 1.0 - f[sel]))]
    done = np.zeros(npx, bool)
    done[parts[0][0]] = True

    # 5. one corner in the pixel: three cells, each its corner's area
    ys = in_block & (vcount[vpix] == 3) & (count[vpix] == 3)
    if ys.any():
        yp, yc = vpix[ys], vcell[ys]
        share = corner_fraction(vu[ys] - vi[ys], vv[ys] - vj[ys], ou[ys], ov[ys],
                                iu[ys], iv[ys])
        tot = np.bincount(yp, share, minlength=npx)
        own = np.bincount(yp, yc == label[yp], minlength=npx)
        good = (np.abs(tot[yp] - 1) <= 1e-9) & (own[yp] == 1)
        stats.max_deficit = max(stats.max_deficit, float(np.abs(tot[yp[good]] - 1).max(
            initial=0.0)))
        move = good & (yc != label[yp])
        parts.append((yp[move], yc[move], share[move] / tot[yp[move]]))
        done[yp[good]] = True
        stats.corner_pixels = int(good.sum()) // 3

    # 5b. two edges of one corner outside the pixel: the cell they share gets the rest
    twice = np.flatnonzero((cpx == 2) & (vpx == 0) & ~done[pix])
    if len(twice):
        slot = np.full(npx, -1, twice.dtype)
        slot[pix[twice]] = twice  # one of each pixel's two records (the last written)
        b = twice[slot[pix[twice]] != twice]
        a = slot[pix[b]]
        # the two edges' lines must not cross inside the pixel
        ea, eb = ed[a], ed[b]
        den = du[ea] * dv[eb] - dv[ea] * du[eb]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((au[eb] - au[ea]) * dv[eb] - (av[eb] - av[ea]) * du[eb]) / den
        xu, xv = au[ea] + t * du[ea], av[ea] + t * dv[ea]
        apart = ~((np.floor(xu) == col[a]) & (np.floor(xv) == row[a]))
        a, b = a[apart], b[apart]
        parts_b, px2 = _two_edges(c[a], o[a], f[a], c[b], o[b], f[b], label[pix[a]], pix[a])
        parts.append(parts_b)
        done[px2] = True
        stats.corner_pixels += len(px2)

    # 6. everything else: every candidate cell by the general formula
    at = ~done[pix]
    gp = np.unique(pix[at])  # sorted
    stats.edge_pixels = int(np.count_nonzero(count))
    stats.general_pixels = len(gp)
    if len(gp):
        vat = in_block & (count[vpix] > 0) & ~done[vpix]
        gl = label[gp]
        keys = [pix[at] * n + c[at], (pix[at] * n + o[at])[o[at] >= 0],
                (gp * n + gl)[gl >= 0], vpix[vat] * n + vcell[vat]]
        keys = np.unique(np.concatenate(keys))  # sorted: by pixel, then cell
        p, cc = keys // n, keys % n
        share = polygon_pixel_fraction(verts[cc], p // w, p % w)
        first = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        tot = np.add.reduceat(share, first)
        stats.max_deficit = max(stats.max_deficit, float(np.abs(tot - 1).max()))
        tot = np.repeat(tot, np.diff(np.r_[first, len(p)]))
        share = share / np.where(tot > 0, tot, 1.0)
        lp = label[p]
        move = (cc != lp) & (share > MIN_FRACTION)
        parts.append((p[move], cc[move], share[move]))
    return parts


def _moves(parts, width: int, rows: int):
    """Concatenate (pix, to, share) parts, dropping round-off shares, ordered by row.

    Rows fit in 16 bits for any sensible tile, so the stable argsort is a radix
    sort (linear); row order keeps reductions local and lets per-row weights be
    expanded with ``np.repeat``.
    """
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    pix, dst, frac = (np.concatenate(x) for x in zip(empty, *parts, strict=True))
    ok = np.flatnonzero(frac > MIN_FRACTION)
    row = (pix[ok] // width).astype(np.int16 if rows < 2**15 else np.int32)
    order = ok[np.argsort(row, kind="stable")]
    return pix[order], dst[order], frac[order]


def build_block(g: RasterGrid, r0: int, r1: int, c0: int, c1: int, res: int,
                areas: np.ndarray, exact: bool = True) -> tuple[Block, BlockStats]:
    """Map the pixels [r0, r1) x [c0, c1) of grid ``g`` to the H3 cells at ``res``.

    Parameters
    ----------
    areas : ndarray (rows, 1) or (rows, cols)
        Pixel ground areas (m2), for :attr:`Block.full_area`.
    exact : bool
        True: exact shares (steps 1-6 of the module docstring). False: the *centre*
        fast path, steps 1-2 only: each pixel goes wholly to the cell holding its
        centre (no corrections). Totals are still conserved (every pixel goes to
        exactly one cell); each cell's sum is off by the unshared edge pixels.
    """
    h, w = r1 - r0, c1 - c0
    npx = h * w
    h3ids, verts, counts = g.block_polygons(r0, r1, c0, c1, res)
    # cells in raster order (by the row, then column, of their first vertex): edges
    # and moves then come out nearly sorted by pixel, which keeps reductions local
    order = np.argsort(np.floor(verts[:, 0, 1]) * (w + 1) + verts[:, 0, 0], kind="stable")
    h3ids, verts, counts = h3ids[order], orient_ccw(verts[order]), counts[order]
    n = len(verts)
    stats = BlockStats()
    if exact:
        # 1-2. centre labels on the block padded by 3/4 of a cell (for neighbour
        # lookups: a mirrored centre lies within ~0.7 cell diameters of the block)
        pad = int(np.ceil(0.75 * _extent(verts).max() * 1.1)) + 2 if n else 1
        lab_ext = centre_labels(verts + pad, h + 2 * pad, w + 2 * pad)
        label = np.ascontiguousarray(lab_ext[pad:pad + h, pad:pad + w]).ravel()
        parts = _edge_shares(verts, counts, lab_ext, pad, label, h, w, stats)
        cpix, cdst, cfrac = _moves(parts, w, h)
        # runs of equal centre label, broken at every row start
        label = np.where(label < 0, n, label)
        csrc = label[cpix]
        brk = np.ones(npx, bool)
        brk[1:] = label[1:] != label[:-1]
        brk[::w] = True
        starts = np.flatnonzero(brk)
        run_cell = label[starts]
    else:  # the runs straight from where they start: no label raster
        marker = run_starts(verts, h, w)
        first = marker[::w]
        first[first < 0] = n  # a row no cell reaches at column 0
        starts = np.flatnonzero(marker >= 0)
        run_cell = marker[starts]
        cpix, cdst, cfrac = _moves([], w, h)
        csrc = cdst

    # keep the cells that receive some pixel; local index n (no cell) becomes m
    used = np.zeros(n + 1, bool)
    used[run_cell] = True
    used[cdst] = True
    used[n] = False
    m = int(used.sum())
    remap = np.full(n + 1, m, np.int64)
    remap[used] = np.arange(m)
    block = Block(r0, h, c0, w, h3ids[used[:n]], starts.astype(np.int32),
                  remap[run_cell].astype(np.int32), cpix.astype(np.int32),
                  remap[csrc].astype(np.int32), remap[cdst].astype(np.int32),
                  cfrac.astype(np.float32))
    if areas.shape[1] == 1:
        sums = block.coverage((areas[:, 0], None))
        block.full_area, mapped = sums[:, 0], sums[:, 1]
    else:
        block.full_area = block.reduce(np.broadcast_to(areas, (h, w)).copy())[:, 0]
        mapped = block.coverage()[:, 0]
    # self-check: mapped area of the cells wholly inside the block = polygon area
    # (exact mode; in centre mode this is the fast path's error)
    vs = verts[used[:n]]
    x, y = vs[..., 0] - vs[:, :1, 0], vs[..., 1] - vs[:, :1, 1]
    area = 0.5 * (x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y).sum(axis=1)
    inside = ((vs[..., 0] >= 0) & (vs[..., 0] <= w) & (vs[..., 1] >= 0)
              & (vs[..., 1] <= h)).all(axis=1)
    stats.max_area_error = float((np.abs(mapped[inside] - area[inside]) / area[inside]).max(
        initial=0.0))
    return block, stats
