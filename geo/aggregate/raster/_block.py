"""The exact pixel -> H3 cell mapping of one block (band of rows) of a raster.

How a block is mapped (compiled kernels of :mod:`despro.aggregate.raster._pixelcover`):

1. The cells that may meet the block, their vertices in pixel coordinates.
2. **Centre labels**: the cell holding each pixel centre (scanline fill). A pixel
   no cell edge crosses lies wholly in that cell and needs nothing else.
3. **Boundary pixels**: each cell, row by row, gives its exact share of every
   pixel its boundary crosses whose centre lies in another cell
   (:func:`~despro.aggregate.raster._pixelcover.boundary_shares`: the pixels a cell holds wholly
   are skipped, the others get the closed-form area of the cell inside the pixel).
   These shares are *moves* from the pixel's centre cell.

The result is stored relative to the centre labels: runs of equal label along
rows, plus moves of a share of an edge pixel from its centre cell to another
cell. The centre cell keeps ``1 - sum of the moves``, so a pixel's shares add to
1 and mass is conserved by construction; two self-checks are kept: the largest
deficit ``|1 - sum of computed shares|`` of an edge pixel (on every eighth row, where
the centre cell's share is computed too), and, per cell, the
mapped area against the cell's polygon area (see :class:`BlockStats`).

:func:`build_block` with ``exact=False`` stops after step 2 (the *centre* fast
path: each pixel wholly in the cell holding its centre).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from despro._jit import njit
from despro.aggregate.raster._grid import RasterGrid
from despro.aggregate.raster._pixelcover import (
    boundary_shares,
    centre_labels,
    orient_ccw,
    twice_area,
)


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

    ARRAYS = ("cells", "run_start", "run_cell", "pix", "src", "dst", "frac", "full_area")

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, a).nbytes for a in self.ARRAYS)

    def reduce(self, x: np.ndarray, row_weights=(None,)) -> np.ndarray:
        """Per-cell sums ``sum_p f_pc w_row(p) x_p`` of a per-pixel quantity.

        Each pixel's whole value goes to its centre cell's run (summed in float64
        whatever the input type); each move then takes its share ``frac x_p`` from
        the pixel's centre cell to another cell, so a pixel's parts add up to its
        value whatever the rounding of the float32 shares. One compiled pass over
        the runs and one over the moves (:func:`_block_sums`).

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
        return self._sums(flat, False, row_weights)

    def coverage(self, row_weights=(None,)) -> np.ndarray:
        """Per-cell sums of the shares, ``sum_p f_pc w_row(p)``: :meth:`reduce` of ones
        without touching a pixel (a run of ones adds up to its length)."""
        return self._sums(np.empty(0), True, row_weights)

    def _sums(self, flat: np.ndarray, ones: bool, row_weights) -> np.ndarray:
        weights = np.ones((len(row_weights), self.rows))
        for j, w in enumerate(row_weights):
            if w is not None:
                weights[j] = w
        return _block_sums(
            flat,
            ones,
            self.run_start,
            self.run_cell,
            self.pix,
            self.src,
            self.dst,
            self.frac,
            self.width,
            self.n_cells,
            weights,
        )


@njit
def _block_sums(x, ones, run_start, run_cell, pix, src, dst, frac, width, m, weights):
    """Per-cell sums of :meth:`Block.reduce` (``ones``: x is 1 everywhere).

    Runs, moves in and moves out are added up separately, in order (as three
    ``bincount``), then combined: ``runs + in - out``.
    """
    ncol = weights.shape[0]
    runs = np.zeros((m + 1, ncol))
    moved_in = np.zeros((m + 1, ncol))
    moved_out = np.zeros((m + 1, ncol))
    n_runs = len(run_start)
    npx = weights.shape[1] * width
    row = 0
    for r in range(n_runs):
        a = run_start[r]
        b = run_start[r + 1] if r + 1 < n_runs else npx
        while a >= (row + 1) * width:
            row += 1
        if ones:
            s = float(b - a)
        else:  # four partial sums: independent additions the CPU can overlap
            s0 = s1 = s2 = s3 = 0.0
            p = a
            while p + 4 <= b:
                s0 += np.float64(x[p])
                s1 += np.float64(x[p + 1])
                s2 += np.float64(x[p + 2])
                s3 += np.float64(x[p + 3])
                p += 4
            while p < b:
                s0 += np.float64(x[p])
                p += 1
            s = (s0 + s1) + (s2 + s3)
        c = run_cell[r]
        for j in range(ncol):
            runs[c, j] += s * weights[j, row]
    row = 0
    for q in range(len(pix)):
        p = pix[q]
        while p >= (row + 1) * width:
            row += 1
        v = np.float64(frac[q]) if ones else np.float64(x[p]) * np.float64(frac[q])
        for j in range(ncol):
            vw = v * weights[j, row]
            moved_in[dst[q], j] += vw
            moved_out[src[q], j] += vw
    out = np.empty((m, ncol))
    for c in range(m):
        for j in range(ncol):
            out[c, j] = runs[c, j] + moved_in[c, j] - moved_out[c, j]
    return out


@dataclass
class BlockStats:
    """Self-checks and counts of one block's mapping.

    Attributes
    ----------
    edge_pixels : int
        Pixels a cell edge crosses (exact mode): those with at least one move.
    max_deficit : float
        Largest ``|1 - sum of the computed shares|`` of an edge pixel that has a
        centre cell, over the rows checked (every
        :data:`~despro.aggregate.raster._pixelcover.CHECK_EVERY`-th; round-off and dropped shares
        below 1e-12: ~1e-12 at most).
    max_area_error : float
        Largest relative difference, over the cells lying wholly inside the
        block, between the mapped area (sum of shares) and the cell's polygon area.
    """

    edge_pixels: int = 0
    max_deficit: float = 0.0
    max_area_error: float = 0.0


@njit
def _compact(label, run_start, run_cell, pix, dst, frac, n):
    """The cells that receive some pixel (mask over the n local cells) and the Block's
    arrays with cells renumbered among those (no cell, local -1, becomes m)."""
    used = np.zeros(n, np.bool_)
    for c in run_cell:
        if c >= 0:
            used[c] = True
    for c in dst:
        used[c] = True
    remap = np.empty(n + 1, np.int32)
    m = 0
    for c in range(n):
        remap[c] = m
        m += used[c]
    remap[n] = m
    for c in range(n):
        if not used[c]:
            remap[c] = m
    nm = len(pix)
    src = np.empty(nm, np.int32)
    for q in range(nm):
        lab = label[pix[q]]
        src[q] = remap[lab if lab >= 0 else n]
    return used, (run_start.astype(np.int32), remap[run_cell], pix, src, remap[dst], frac)


def build_block(
    g: RasterGrid,
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    res: int,
    areas: np.ndarray,
    exact: bool = True,
) -> tuple[Block, BlockStats]:
    """Map the pixels [r0, r1) x [c0, c1) of grid ``g`` to the H3 cells at ``res``.

    Parameters
    ----------
    areas : ndarray (rows, 1) or (rows, cols)
        Pixel ground areas (m2), for :attr:`Block.full_area`.
    exact : bool
        True: exact shares (steps 1-3 of the module docstring). False: the *centre*
        fast path, steps 1-2 only: each pixel goes wholly to the cell holding its
        centre (no corrections). Totals are still conserved (every pixel goes to
        exactly one cell); each cell's sum is off by the unshared edge pixels.
    """
    h, w = r1 - r0, c1 - c0
    h3ids, verts = g.block_polygons(r0, r1, c0, c1, res)
    # cells in raster order (by the row, then column, of their first vertex): moves
    # then come out nearly sorted by pixel, which keeps reductions local
    order = np.argsort(np.floor(verts[:, 0, 1]) * (w + 1) + verts[:, 0, 0], kind="stable")
    h3ids = h3ids[order]
    verts = orient_ccw(verts[order])
    n = len(verts)
    stats = BlockStats()
    label, starts, run_cell = centre_labels(verts, h, w)  # 2.
    if exact:  # 3.
        cpix, cdst, cfrac, stats.edge_pixels, stats.max_deficit = boundary_shares(
            verts, label, h, w
        )
    else:
        cpix, cdst, cfrac = np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float32)
    used, arrays = _compact(label, starts, run_cell, cpix, cdst, cfrac, n)
    block = Block(r0, h, c0, w, h3ids[used], *arrays)
    if areas.shape[1] == 1:
        sums = block.coverage((areas[:, 0], None))
        block.full_area, mapped = sums[:, 0], sums[:, 1]
    else:
        block.full_area = block.reduce(np.broadcast_to(areas, (h, w)).copy())[:, 0]
        mapped = block.coverage()[:, 0]
    # self-check: mapped area of the cells wholly inside the block = polygon area
    # (exact mode; in centre mode this is the fast path's error)
    stats.max_area_error = _max_area_error(verts, used, mapped, h, w)
    return block, stats


@njit
def _max_area_error(verts, used, mapped, h, w):
    """Largest ``|mapped - polygon area| / polygon area`` over the used polygons lying
    wholly inside the h x w block (``mapped``: one value per used polygon, in order)."""
    k = verts.shape[1]
    worst = 0.0
    q = 0
    for c in range(verts.shape[0]):
        if not used[c]:
            continue
        inside = True
        for e in range(k):
            u, v = verts[c, e, 0], verts[c, e, 1]
            inside = inside and 0 <= u <= w and 0 <= v <= h
        if inside:
            area = 0.5 * twice_area(verts, c)
            worst = max(worst, abs(mapped[q] - area) / area)
        q += 1
    return worst
