"""Raster -> H3 cells: exact zonal sums and means through a cached pixel -> cell mapping.

Semantics
---------
A pixel is the quadrilateral its affine transform gives it; an H3 cell is the
polygon through its H3 boundary vertices with straight edges in lon/lat (the
convention of :mod:`despro.aggregate.overlap`). The *share* ``f_pc`` of pixel p in cell
c is the fraction of the pixel's area inside the cell, computed exactly (closed
forms, :mod:`despro.aggregate.raster._pixelcover`); a pixel's shares add to 1 wherever cells
cover it.

* **zonal sum** (mass-preserving, for counts such as people per pixel; raster
  units): ``sum_c = sum_p f_pc v_p``. Every valid pixel's value is shared out in
  full, so the total over cells equals the raster's valid total (to float
  rounding, ~1e-15 relative).
* **zonal mean** (for intensive values such as signal or speed; raster units):
  ``mean_c = sum_p f_pc a_p v_p / sum_p f_pc a_p``, the area-weighted mean of the
  valid pixels overlapping the cell; ``a_p`` is the pixel's ground area.
* **nodata**: pixels equal to the nodata value (the file's, or ``nodata=``), NaN
  or infinite are left out of every sum; a cell that no valid pixel overlaps is
  *absent* from the result (unknown), never 0. ``valid_area_m2`` (``sum_p f_pc
  a_p`` over valid pixels, m2) says how much of the cell the raster covers.
* **pixel ground area** ``a_p`` (m2): on H3's authalic sphere, like
  :func:`despro.grid.cells.cell_area_m2`; exact per row for north-up lon/lat
  rasters (area shrinks with cos(latitude)), interpolated from the pixel -> lon/lat
  Jacobian otherwise (see :class:`despro.aggregate.raster._grid.RasterGrid`).
* **any CRS**: hexagon vertices are transformed into the raster's CRS, then into
  pixel coordinates by the inverse affine transform (rotation and shear
  included), where every pixel is a unit square. A hexagon edge straight in
  lon/lat bends by less than 1 cm over its ~0.5 km in UTM, which is ignored.
  Rasters reaching past 180 degrees of longitude are refused (split them there).
* **vertices**: for a tile inside one icosahedron face, drawn from the face's
  lattice (:mod:`despro.grid.lattice`): H3's vertices to ~1e-13 degrees, with the
  same bits in neighbouring cells and in every tile; elsewhere H3's own.

The mapping
-----------
Built tile by tile (about :data:`TILE_PIXELS` pixels each, see
:mod:`despro.aggregate.raster._block`; a 1-billion-pixel raster never sits in memory) and
kept compact: the cell of every pixel centre as run-lengths along rows (a pixel
wholly inside a cell needs nothing else), plus *moves* ``(pixel, from cell, to
cell, share)`` for the pixels a cell edge crosses (about a quarter of the pixels
at 3 arc-seconds and resolution 8). A reduction is then one compiled pass over
the runs and one over the moves (:meth:`~despro.aggregate.raster._block.Block.reduce`):
no geometry. About 5.5 bytes per pixel at 3 arc-seconds / resolution 8. Tiles
are built and reduced on :data:`THREADS` threads (the compiled kernels release
the GIL; see :func:`_build_tiles`).

Tiles are built on first use: a call restricted to lon/lat ``bounds`` (one
partition of a study) builds and reads only the tiles it needs, and gives every
cell inside the bounds bit for bit the sums of a whole-raster call. Tiles are
cached by (transform, shape, CRS, resolution, mode): in memory (LRU within
:data:`CACHE_MAX_BYTES`) and, with a cache folder (see :func:`disk_cache_dir`: a run
takes ``[run] cache_dir``, else the environment variable ``DESPRO_CACHE``), on disk as
``rastermap-<key>/tile-<i>-<j>.npz``.
:data:`cache_stats` counts tile builds and hits.

Exact and centre modes
----------------------
``exact=True`` computes the shares above. ``exact=False`` is the *centre* fast
path: each pixel goes wholly to the cell holding its centre (as h3ronpy and
pixel-centre tools do). Totals are still conserved (each pixel lands in exactly
one cell) and means stay close, but a cell's sum is off by its unshared edge
pixels: at 3 arc-seconds and resolution 8, measured against the exact path
(``benchmarks/bench_aggregation.py``), median 1.1 % and at most 7 % per cell for
sums, median 0.13 % and at most 1.5 % for means of a noisy field.

The default (``exact=None``) is exact up to :data:`EXACT_MAX_PIXELS` pixels (a
province at 3 arc-seconds), centre above (a national raster: ~1.1 billion
pixels). Why not exact everywhere: the exact mapping takes ~5.5 bytes per pixel
against ~1.2 (~6 GB for a national raster, over :data:`CACHE_MAX_BYTES`, so it
could not stay cached between layers), and building it costs ~1.5-2x the CPU of
the centre one (the edge pixels' shares; see ``benchmarks/README.md``). Below the
threshold both costs are small (a 50 M pixel raster: a few seconds of CPU once,
~280 MB) and the exact shares are worth them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import Window

from despro.aggregate.raster._block import Block, BlockStats, build_block
from despro.aggregate.raster._grid import RasterGrid
from despro.config.env import CACHE_ENV
from despro.errors import DesproError
from despro.grid import cells as grid

if TYPE_CHECKING:
    import pyproj
    from affine import Affine

EXACT_MAX_PIXELS = 60_000_000  # default mode: exact up to this many pixels, centre above
# (see "Exact and centre modes" above for why)
TILE_PIXELS = 2**21  # pixels per tile (~2 M): big enough to amortise, small enough for caches
TILE_COLS = 4096  # widest tile
CACHE_MAX_BYTES = 3 * 2**30  # in-memory LRU budget for mappings
THREADS = 2

Reducer = Callable[[np.ndarray, np.ndarray], np.ndarray]
TileKey = tuple[int, int]


@dataclass
class RasterMap:
    """Pixel -> cell mapping of one raster grid at one H3 resolution, tile by tile.

    Attributes
    ----------
    grid : RasterGrid
    res : int
    tile_rows, tile_cols : int
        Tile shape (pixels); tile (i, j) covers rows ``i * tile_rows`` onwards and
        columns ``j * tile_cols`` onwards.
    tiles : dict
        Built tiles, (i, j) -> :class:`~despro.aggregate.raster._block.Block`.
    stats : dict
        (i, j) -> :class:`~despro.aggregate.raster._block.BlockStats` of the tiles built
        in this process (self-checks: see :meth:`checks`).
    exact : bool
        Exact shares, or the centre fast path (each pixel wholly in the cell
        holding its centre; see :func:`despro.aggregate.raster._block.build_block`).
    cache_dir : Path or None
        Where tiles are stored and looked up (``rastermap-<key>/``).
    """

    grid: RasterGrid
    res: int
    tile_rows: int
    tile_cols: int
    exact: bool = True
    tiles: dict[TileKey, Block] = field(default_factory=dict)
    stats: dict[TileKey, BlockStats] = field(default_factory=dict)
    cache_dir: Path | None = None
    density: tuple | None = field(default=None, repr=False)
    _index: dict = field(default_factory=dict, repr=False)
    _areas: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.tiles.values())

    def bounds(self, key: TileKey) -> tuple[int, int, int, int]:
        """Rows [r0, r1) and columns [c0, c1) of tile ``key``."""
        i, j = key
        r0, c0 = i * self.tile_rows, j * self.tile_cols
        return (
            r0,
            min(r0 + self.tile_rows, self.grid.height),
            c0,
            min(c0 + self.tile_cols, self.grid.width),
        )

    def keys(self, window: tuple[int, int, int, int] | None = None) -> list[TileKey]:
        """Tiles meeting the pixel window (r0, r1, c0, c1), all when None; row-major."""
        r0, r1, c0, c1 = window or (0, self.grid.height, 0, self.grid.width)
        if r1 <= r0 or c1 <= c0:
            return []
        return [
            (i, j)
            for i in range(r0 // self.tile_rows, (r1 - 1) // self.tile_rows + 1)
            for j in range(c0 // self.tile_cols, (c1 - 1) // self.tile_cols + 1)
        ]

    def areas(self, key: TileKey) -> np.ndarray:
        """Ground area (m2) of the tile's pixels: (rows, 1) or (rows, cols).

        Memoised for lon/lat grids (one value per row), so that tiles can keep
        the areas gathered at their runs.
        """
        if key in self._areas:
            return self._areas[key]
        r0, r1, c0, c1 = self.bounds(key)
        a = self.grid.pixel_areas(r0, r1, c0, c1, self.density)
        if a.shape[1] == 1:
            self._areas[key] = a
        return a

    def _tile_path(self, key: TileKey) -> Path | None:
        if self.cache_dir is None:
            return None
        return (
            self.cache_dir
            / f"rastermap-{map_key(self.grid, self.res, self.exact)}"
            / f"tile-{key[0]}-{key[1]}.npz"
        )

    def ensure(self, keys: Iterable[TileKey], threads: int = THREADS) -> None:
        """Build (or load) the tiles ``keys`` not in memory yet, ``threads`` at a time.

        Tiles found in ``cache_dir`` are loaded; the others are built
        (see :func:`_build_tiles`) and saved there.
        """
        missing = [k for k in keys if k not in self.tiles]
        if not missing:
            return
        done: dict[TileKey, Block] = {}
        todo = []
        for k in missing:
            path = self._tile_path(k)
            if path is not None and path.exists():
                done[k] = load_block(path)
                cache_stats["disk_hits"] += 1
            else:
                todo.append(k)
        for k, (block, st) in zip(todo, _build_tiles(self, todo, threads), strict=True):
            self.stats[k] = st
            cache_stats["built"] += 1
            path = self._tile_path(k)
            if path is not None:
                save_block(block, path)
            done[k] = block
        with self._lock:
            self.tiles.update(done)

    def checks(self) -> dict[str, float]:
        """Self-checks over the tiles built in this process (see BlockStats)."""
        st = list(self.stats.values())
        return {
            "tiles_built": len(st),
            "max_deficit": max((s.max_deficit for s in st), default=0.0),
            "max_area_error": max((s.max_area_error for s in st), default=0.0),
            "edge_pixels": sum(s.edge_pixels for s in st),
        }

    def _cells(self, keys: tuple[TileKey, ...]):
        """Union of the tiles' cells and each tile's positions in it (memoised)."""
        if keys not in self._index:
            cells = (
                grid.unique_cells(np.concatenate([self.tiles[k].cells for k in keys]))
                if keys
                else np.empty(0, grid.CELL_DTYPE)
            )
            pos = [np.searchsorted(cells, self.tiles[k].cells) for k in keys]
            self._index[keys] = (cells.astype(grid.CELL_DTYPE), pos)
        return self._index[keys]

    def reduce(
        self,
        read: Callable[[int, int, int, int], np.ndarray],
        per_tile: Callable[[np.ndarray, np.ndarray, Block], np.ndarray],
        n_columns: int,
        window: tuple[int, int, int, int] | None = None,
        threads: int = THREADS,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Add up per-tile, per-cell results over the tiles meeting ``window``.

        ``read(r0, r1, c0, c1)`` returns those raster pixels; ``per_tile(values,
        areas, block)`` returns a tile's per-cell sums (m, n_columns), usually via
        :meth:`Block.reduce`. Rows of tiles are read once and sliced.

        Returns
        -------
        (cells, sums) : uint64 (n,), float64 (n, n_columns)
        """
        keys = self.keys(window)
        self.ensure(keys, threads)
        cells, pos = self._cells(tuple(keys))
        where = dict(zip(keys, pos, strict=True))
        pos, sums = [], []
        pending: deque = deque()  # rows of tiles being reduced: (last row, futures)

        def collect():
            r1, futures = pending.popleft()
            for k, f in futures:  # in order: sums are deterministic
                pos.append(where[k])
                sums.append(f.result())
            if progress:
                progress(r1, self.grid.height)

        with ThreadPoolExecutor(max(threads, 1)) as ex:
            for i in sorted({k[0] for k in keys}):
                row = [k for k in keys if k[0] == i]
                r0, r1, c_lo, _ = self.bounds(row[0])
                values = read(r0, r1, c_lo, self.bounds(row[-1])[3])  # one read per row
                pending.append(
                    (
                        r1,
                        [
                            (
                                k,
                                ex.submit(
                                    per_tile,
                                    values[:, self.bounds(k)[2] - c_lo : self.bounds(k)[3] - c_lo],
                                    self.areas(k),
                                    self.tiles[k],
                                ),
                            )
                            for k in row
                        ],
                    )
                )
                if len(pending) > 1:  # the next row is read while this one is reduced
                    collect()
            while pending:
                collect()
        pos = np.concatenate(pos) if pos else np.empty(0, np.intp)
        sums = np.concatenate(sums) if sums else np.empty((0, n_columns))
        # one pass per column, adding tile by tile in key order (as += would)
        out = np.empty((len(cells), n_columns))
        for j in range(n_columns):
            out[:, j] = np.bincount(pos, sums[:, j], len(cells))
        return cells, out


def _build_tile(rm: RasterMap, key: TileKey) -> tuple[Block, BlockStats]:
    r0, r1, c0, c1 = rm.bounds(key)
    return build_block(rm.grid, r0, r1, c0, c1, rm.res, rm.areas(key), rm.exact)


def _build_tiles(rm: RasterMap, keys: list[TileKey], workers: int) -> list:
    """Build the tiles ``keys`` of ``rm`` on ``workers`` threads: (Block, BlockStats) each,
    in order.

    The compiled kernels release the GIL (most of a tile's CPU), so threads overlap;
    what holds it is H3's cell listing and vertices (~40 % of a tile). Threads
    replaced forked worker processes: as fast on this machine, ~10 % less CPU (no
    results pickled back, numba's start-up paid once) and usable from any caller.
    """
    if workers <= 1 or len(keys) <= 1:
        return [_build_tile(rm, k) for k in keys]
    with ThreadPoolExecutor(min(workers, len(keys))) as ex:
        return list(ex.map(lambda k: _build_tile(rm, k), keys))


def _tile_shape(g: RasterGrid, tile_rows: int | None) -> tuple[int, int]:
    cols = min(g.width, TILE_COLS)
    rows = int(tile_rows or max(16, TILE_PIXELS // max(cols, 1)))
    return rows, cols


# ----------------------------------------------------------------------------- cache
_cache: OrderedDict[str, RasterMap] = OrderedDict()
_lock = threading.Lock()
cache_stats = {"built": 0, "disk_hits": 0, "memory_hits": 0}
_CACHE_DIR: ContextVar[Path | None] = ContextVar("despro_raster_cache_dir", default=None)


@contextmanager
def cache_directory(path: str | Path | None) -> Iterator[Path | None]:
    """Inside the block, mappings not cached yet are kept on disk under ``path``.

    A run enters it with :meth:`despro.config.settings.Config.cache_path`; ``None``
    leaves the default (:func:`disk_cache_dir`).
    """
    token = _CACHE_DIR.set(Path(path) if path else None)
    try:
        yield _CACHE_DIR.get()
    finally:
        _CACHE_DIR.reset(token)


def disk_cache_dir(cache_dir: str | Path | None = None) -> Path | None:
    """Folder of the on-disk mapping cache, or None (memory only).

    ``cache_dir``, else the folder of the innermost :func:`cache_directory` block, else
    the environment variable ``DESPRO_CACHE``, else None.
    """
    chosen = cache_dir or _CACHE_DIR.get() or os.environ.get(CACHE_ENV)
    return Path(chosen).expanduser() if chosen else None


def clear_cache() -> None:
    """Forget every in-memory mapping (files on disk stay) and reset :data:`cache_stats`."""
    with _lock:
        _cache.clear()
        for k in cache_stats:
            cache_stats[k] = 0


def save_block(block: Block, path: str | Path) -> None:
    """Write one tile to an uncompressed ``.npz`` (atomically: temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
    np.savez(
        tmp,
        shape=np.array([block.row0, block.rows, block.col0, block.width]),
        **{a: getattr(block, a) for a in Block.ARRAYS},
    )
    os.replace(tmp, path)


def load_block(path: str | Path) -> Block:
    """Read a tile written by :func:`save_block`."""
    with np.load(path) as z:
        r0, h, c0, w = (int(x) for x in z["shape"])
        return Block(r0, h, c0, w, **{a: z[a] for a in Block.ARRAYS})


def use_exact(g: RasterGrid, exact: bool | None) -> bool:
    """``exact``, or by default: exact up to :data:`EXACT_MAX_PIXELS` pixels."""
    return bool(exact) if exact is not None else g.width * g.height <= EXACT_MAX_PIXELS


def map_key(g: RasterGrid, res: int, exact: bool) -> str:
    """Cache key of a mapping: grid, resolution and mode."""
    return f"{g.key(res)}-{'exact' if exact else 'centre'}"


def get_map(
    g: RasterGrid,
    res: int,
    tile_rows: int | None = None,
    cache_dir: str | Path | None = None,
    exact: bool | None = None,
) -> RasterMap:
    """The (cached) mapping of grid ``g`` at ``res``; its tiles are built on first use.

    ``cache_dir``: see :func:`disk_cache_dir`; without one, nothing is written to
    disk. ``tile_rows`` only matters for a mapping not cached yet (results do not
    depend on tiling). ``exact``: see :func:`use_exact`.
    """
    res = grid.check_resolution(res)
    exact = use_exact(g, exact)
    key = map_key(g, res, exact)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            cache_stats["memory_hits"] += 1
            rm = _cache[key]
        else:
            rows, cols = _tile_shape(g, tile_rows)
            path = disk_cache_dir(cache_dir)
            layout = path / f"rastermap-{key}" / "layout.npy" if path else None
            if layout is not None and layout.exists():
                rows, cols = (int(x) for x in np.load(layout))
            elif layout is not None:
                layout.parent.mkdir(parents=True, exist_ok=True)
                np.save(layout, np.array([rows, cols]))
            density = None if g.rows_have_equal_areas else g.area_density()
            rm = RasterMap(g, res, rows, cols, exact, cache_dir=path, density=density)
            _cache[key] = rm
        while len(_cache) > 1 and sum(m.nbytes for m in _cache.values()) > CACHE_MAX_BYTES:
            _cache.popitem(last=False)
    return rm


# ----------------------------------------------------------------------------- reductions
def _valid(values: np.ndarray, nodata) -> np.ndarray | None:
    """Mask of valid pixels, or None when every pixel is valid."""
    ok = np.isfinite(values) if values.dtype.kind == "f" else None
    if nodata is not None and not np.isnan(nodata):
        ok = (values != nodata) if ok is None else ok & (values != nodata)
    return None if ok is None or ok.all() else ok


def _open_source(source, band, transform, crs, nodata):
    """(grid, read(r0, r1, c0, c1) -> 2-D array, nodata, close) for a raster path or array."""
    if isinstance(source, np.ndarray):
        if source.ndim != 2 or transform is None or crs is None:
            raise DesproError("an array source must be 2-D and come with transform= and crs=")
        g = RasterGrid.of(transform, source.shape[1], source.shape[0], crs)
        return g, (lambda r0, r1, c0, c1: source[r0:r1, c0:c1]), nodata, (lambda: None)
    src = rasterio.open(source)
    try:
        g = RasterGrid.from_dataset(src)
    except DesproError:
        src.close()
        raise
    nd = src.nodatavals[band - 1] if nodata is None else nodata

    def read(r0, r1, c0, c1):
        return src.read(band, window=Window(c0, r0, c1 - c0, r1 - r0))

    return g, read, nd, src.close


def _frame(cells: np.ndarray, sums: np.ndarray, names: list[str]) -> pd.DataFrame:
    keep = sums[:, -1] > 0
    return pd.DataFrame(sums[keep], columns=names, index=pd.Index(cells[keep], name="cell"))


def reduce_raster(
    source: str | Path | np.ndarray,
    res: int,
    reducers: dict[str, Reducer],
    *,
    band: int = 1,
    transform: Affine | tuple[float, ...] | None = None,
    crs: pyproj.CRS | rasterio.crs.CRS | str | None = None,
    nodata: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    exact: bool | None = None,
    tile_rows: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Sum per-pixel quantities over H3 cells, sharing edge pixels exactly.

    Parameters
    ----------
    source : path or 2-D ndarray
        A raster file (band ``band``, read tile row by tile row), or an array with
        its ``transform`` (affine) and ``crs``.
    res : int
        H3 resolution.
    reducers : dict
        Output column -> ``f(values, area_m2)`` returning each pixel's extensive
        quantity: ``values`` is a float64 (rows, cols) tile, ``area_m2`` the pixel
        ground areas (m2) broadcastable to it; e.g. ``lambda v, a: v`` (people per
        pixel) or ``lambda v, a: (v == 1) * a`` (m2 covered). Nodata pixels come
        as value 0 with area 0 and whatever ``f`` returns for them is discarded.
    nodata : number, optional
        Overrides the file's nodata value (NaN and infinities are always nodata).
    bounds : (min lon, min lat, max lon, max lat), optional
        Only the tiles meeting these bounds are read; cells wholly inside get the
        whole-raster sums bit for bit, cells crossing them partial sums.
    exact : bool, optional
        Exact shares (True) or the centre fast path (False); default: exact up to
        :data:`EXACT_MAX_PIXELS` pixels.
    tile_rows, cache_dir :
        See :func:`get_map`.
    progress : callable(rows_done, rows_total), optional

    Returns
    -------
    DataFrame indexed by ``cell`` (uint64): one column per reducer, ``sum_p f_pc
    f(v_p, a_p)`` over the valid pixels, and ``__pixel_area_m2``, the valid area
    ``sum_p f_pc a_p`` (m2). Cells no valid pixel overlaps are absent.
    """
    names = list(reducers)
    g, read, nd, close = _open_source(source, band, transform, crs, nodata)
    try:
        rm = get_map(g, res, tile_rows, cache_dir, exact)

        def per_tile(values, areas, block):
            ok = _valid(values, nd)
            v = values.astype(np.float64)
            if ok is not None:
                v[~ok] = 0.0
                areas = np.where(ok, areas, 0.0)
            cols = []
            for name in names:
                x = np.broadcast_to(np.asarray(reducers[name](v, areas), np.float64), v.shape)
                if ok is not None:
                    x = np.where(ok, x, 0.0)
                cols.append(block.reduce(x)[:, 0])
            cols.append(
                block.full_area
                if ok is None
                else block.reduce(np.broadcast_to(areas, v.shape))[:, 0]
            )
            return np.column_stack(cols)

        window = g.pixel_window(bounds) if bounds is not None else None
        cells, sums = rm.reduce(read, per_tile, len(names) + 1, window, progress=progress)
    finally:
        close()
    return _frame(cells, sums, [*names, "__pixel_area_m2"])


def zonal(
    source: str | Path | np.ndarray,
    res: int,
    *,
    stats: tuple[str, ...] = ("sum", "mean"),
    band: int = 1,
    transform: Affine | tuple[float, ...] | None = None,
    crs: pyproj.CRS | rasterio.crs.CRS | str | None = None,
    nodata: float | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    exact: bool | None = None,
    tile_rows: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Exact zonal sum and area-weighted mean of a raster over H3 cells.

    Parameters are those of :func:`reduce_raster` (without reducers), plus
    ``stats``: any of "sum" and "mean" (computing one is cheaper than both).

    Returns
    -------
    DataFrame indexed by ``cell`` (uint64) with ``sum`` (raster units; every
    valid pixel shared out in proportion to overlap area, so totals are
    conserved), ``mean`` (raster units; area-weighted over the valid pixels
    overlapping the cell) and ``valid_area_m2`` (m2). Cells no valid pixel
    overlaps are absent. See the module docstring for the exact semantics.
    """
    if not stats or set(stats) - {"sum", "mean"}:
        raise DesproError(f"zonal stats must be among 'sum', 'mean', got {stats!r}")
    want_sum, want_mean = "sum" in stats, "mean" in stats
    g, read, nd, close = _open_source(source, band, transform, crs, nodata)
    try:
        rm = get_map(g, res, tile_rows, cache_dir, exact)

        def per_tile(values, areas, block):
            ok = _valid(values, nd)
            if ok is not None:
                values = np.where(ok, values, 0)
            if areas.shape[1] == 1:  # equal areas along rows: weight the run sums
                a = areas[:, 0]
                out = block.reduce(
                    values, ((None,) if want_sum else ()) + ((a,) if want_mean else ())
                )
                den = block.full_area if ok is None else block.reduce(ok.view(np.uint8), (a,))[:, 0]
            else:
                a = areas if ok is None else np.where(ok, areas, 0.0)
                cols = ([block.reduce(values)[:, 0]] if want_sum else []) + (
                    [block.reduce(values * a)[:, 0]] if want_mean else []
                )
                out = np.column_stack(cols)
                den = block.full_area if ok is None else block.reduce(a)[:, 0]
            return np.column_stack([out, den])

        names = [n for n, w in (("sum", want_sum), ("wsum", want_mean)) if w]
        window = g.pixel_window(bounds) if bounds is not None else None
        cells, sums = rm.reduce(read, per_tile, len(names) + 1, window, progress=progress)
    finally:
        close()
    t = _frame(cells, sums, [*names, "valid_area_m2"])
    if want_mean:
        t["mean"] = t.pop("wsum") / t["valid_area_m2"]
    return t[[c for c in ("sum", "mean") if c in stats] + ["valid_area_m2"]]
