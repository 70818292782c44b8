"""The cell pyramid of the national map: every cell layer at the run's resolution and at
coarser H3 resolutions, cut into chunks loaded by area.

A coarser level is rolled up from the next finer one by summing the additive columns
(:func:`despro.transfer.rollup.cells_to_parents`, min for distances) and finishing them
once: rates are recomputed from the sums, never averaged. Each level holds per cell
only what the page draws: its hexagon and, per cell layer, the class of its value (one
character: ``a``.. the class, ``A``.. the class of a partial value, ``.`` unknown).

Hexagons are sent compactly: the cell centres (integers in 1e-5 degrees, each the
difference from the previous one) and one vertex template per chunk (the median offset
of the chunk's hexagon vertices from their centres); a cell whose hexagon is more than
:data:`TEMPLATE_TOLERANCE` of an edge off the template (near an icosahedron face edge)
is sent with its own vertices.
"""

from __future__ import annotations

import dataclasses
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from despro.grid import cells as grid
from despro.mapsite import data as md
from despro.transfer.rollup import group_additive
from despro.variables import Kind, Variable, additive_columns, finalize

SCALE = 100_000  # 1e-5 degrees
H3_RES0_EDGE_M = 1_281_256.0  # mean hexagon edge at resolution 0 (m); /sqrt(7) per res
METRES_PER_PX_Z0 = 156_543.0  # web mercator, equator
MIN_EDGE_PX = 5.0  # a level is shown from the zoom where its hexagon edge is this wide
SINGLE_MAX_CELLS = 60_000  # a level with more cells is cut into chunks
CHUNK_DEPTH = 4  # chunks are parents this many resolutions coarser (<= 7**4 cells)
LEVELS = 5  # the run's resolution and this many minus one coarser ones (res 8: 8 to 4; the
#   country view draws res 4, ~3 px hexagons, not 9,500 res-5 ones of 1 px)
TEMPLATE_TOLERANCE = 0.03  # share of an edge a hexagon may be off its chunk's template
SAMPLE = 48  # cells per chunk whose vertices make (and check) the template
UNKNOWN_CHAR = "."
BLOCK_CELLS = 250_000  # cells of the run's resolution rolled up together (memory: ~0.1 GB)

if TYPE_CHECKING:
    from despro.pipeline.runner import Result


@dataclass
class Level:
    """One resolution of the pyramid."""

    res: int
    min_zoom: float
    chunk_res: int | None  # None: one file
    chunks: dict[str, dict] = field(default_factory=dict)  # key -> payload
    bounds: dict[str, list[float]] = field(default_factory=dict)  # key -> [w, s, e, n]


def min_zoom(res: int) -> float:
    """Web-map zoom from which hexagons of resolution ``res`` are at least
    :data:`MIN_EDGE_PX` pixels wide at the equator."""
    edge = H3_RES0_EDGE_M / 7 ** (res / 2)
    return round(float(np.log2(MIN_EDGE_PX * METRES_PER_PX_Z0 / edge)), 2)


def class_chars(
    table: pd.DataFrame | ChainMap, spec: dict, variables: dict[str, Variable]
) -> np.ndarray | None:
    """One ASCII code per cell: the class of its value in ``spec`` (see the module doc);
    None when no cell has a value."""
    col = spec["column"]
    if col not in table:
        return None
    vals = np.round(table[col].to_numpy(float) * spec["scale"], spec["digits"])
    known = np.isfinite(vals)
    if not known.any():
        return None
    k = np.searchsorted(np.asarray(spec["breaks"], float), vals, side="right")
    partial = np.zeros(len(vals), bool)
    share = md.coverage_share(table, spec, variables)
    if share is not None:
        s = np.array([np.nan if x is None else x for x in share], float)
        partial |= np.isfinite(s) & (s < 100)
    if spec.get("complete") in table:
        c = np.floor(table[spec["complete"]].to_numpy(float))
        partial |= np.isfinite(c) & (c < 100)
    codes = np.where(partial, 65, 97) + np.clip(k, 0, 25)
    return np.where(known, codes, ord(UNKNOWN_CHAR)).astype(np.uint8)


def _offsets(ids: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex offsets (n, k, 2; lat, lon in 1e-5 degrees) of cells from their centres
    (n, 2), and each cell's vertex count."""
    xy, counts = grid.cell_vertices(np.asarray(ids, dtype=grid.CELL_DTYPE))
    ll = np.round(xy[:, :, ::-1] * SCALE).astype(np.int64)
    return ll - centre[:, None, :], counts


def encode_hexagons(
    ids: np.ndarray, res: int, centre: np.ndarray | None = None, sample: int = SAMPLE
) -> dict:
    """Centres (delta-encoded), the chunk's vertex template and the exceptions.

    ``centre``: the cells' centres (n, 2; lat, lon integers in 1e-5 degrees), computed
    here when not given. The template is the median vertex offset of up to ``sample``
    cells spread over the chunk; when one of them is off it by more than the tolerance
    (a chunk crossing an icosahedron face edge), every cell of the chunk is checked and
    the cells off the template are sent with their own vertices.
    """
    ids = np.asarray(ids, dtype=grid.CELL_DTYPE)
    if centre is None:
        lon, lat = grid.cell_centres(ids)
        centre = np.round(np.column_stack([lat, lon]) * SCALE).astype(np.int64)
    n = len(ids)
    pick = np.unique(np.linspace(0, n - 1, min(sample, n)).astype(np.int64)) if n else []
    off, counts = _offsets(ids[pick], centre[pick])
    six = counts == 6
    template = (
        np.round(np.median(off[six][:, :6], axis=0)).astype(np.int64)
        if six.any()
        else np.zeros((6, 2), np.int64)
    )
    edge = H3_RES0_EDGE_M / 7 ** (res / 2) / 111_320.0 * SCALE
    tol = max(2.0, TEMPLATE_TOLERANCE * edge)

    def off_template(off, counts):
        bad = counts != 6
        if off.shape[1] >= 6:
            bad |= np.abs(off[:, :6] - template[None]).max(axis=(1, 2)) > tol
        return bad

    extra = []
    if off_template(off, counts).any():
        off, counts = _offsets(ids, centre)
        bad = off_template(off, counts)
        extra = [[int(i), off[i, : counts[i]].ravel().tolist()] for i in np.flatnonzero(bad)]
    delta = centre.copy()
    delta[1:] = np.diff(centre, axis=0)
    return {"c": delta.ravel().tolist(), "t": template.ravel().tolist(), "x": extra}


def drawn_variables(variables: dict[str, Variable], specs: list[dict]) -> dict[str, Variable]:
    """The variables the cell layers ``specs`` draw (by their column, or the category
    behind a ``<name>_n_classes`` column): only these are rolled up."""
    out = {}
    for s in specs:
        for name in (s["column"], s["column"].removesuffix("_n_classes")):
            if name in variables:
                out[name] = variables[name]
    return out


def needed(variables: list[Variable], drawn: dict[str, Variable]) -> list[Variable]:
    """Of the map's cell variables (:func:`despro.mapsite.data.cell_additive`), those a
    drawn layer needs: its own, its layer's cells-with-data share, the score and tiers."""
    layers = {v.layer for v in drawn.values()}
    keep = []
    for v in variables:
        if (
            v.name in drawn
            or v.name.startswith(("village_score", "village_tier"))
            or (v.name.endswith(tuple(f"{x}__cells_with_data" for x in layers)))
            or any(v.name == md.known_share_column(d.layer, d.name) for d in drawn.values())
        ):
            keep.append(v)
    return keep


def finished_view(add: pd.DataFrame, variables: list[Variable]) -> ChainMap:
    """The finished values of the cells of ``add`` (one row per cell) over its additive
    columns, without copying them: a mapping column name -> Series. Category variables
    get their total (unknown where every class is), the tiers their main tier."""
    present = [v for v in variables if all(c in add.columns for c in additive_columns(v))]
    fin = finalize(add, present)
    extra: dict[str, pd.Series] = {}
    view = ChainMap(extra, fin, add)
    for v in variables:
        if v.kind is Kind.CATEGORY and v.name not in view:
            cols = additive_columns(v)
            extra[v.name] = (
                add[cols].sum(axis=1, min_count=1) if cols else pd.Series(np.nan, index=add.index)
            )
    names = [v.name for v in md.TIER_SHARES]
    if all(n in view for n in names):
        shares = pd.DataFrame({n: view[n] for n in names}, index=add.index)
        extra[md.TIER_CELLS] = pd.Series(md.main_tier(shares), index=add.index)
    return view


def blocks(ids: np.ndarray, res: int, size: int) -> list[np.ndarray]:
    """Positions of ``ids`` in blocks of about ``size`` cells, each block the whole of
    some of their parents at resolution ``res`` (by increasing parent; in their order
    within a parent), so that every roll-up to ``res`` or finer stays within a block."""
    parents = grid.parent_cells(np.asarray(ids, dtype=grid.CELL_DTYPE), res)
    order = np.argsort(parents, kind="stable")
    starts = np.flatnonzero(np.r_[True, parents[order][1:] != parents[order][:-1]])
    at = np.searchsorted(starts, np.arange(size, len(ids), size))  # first parent past k * size
    cuts = np.unique(starts[at[at < len(starts)]])
    return np.split(order, cuts[cuts > 0])


def _joined(parts: list[np.ndarray | None], sizes: list[int]) -> np.ndarray | None:
    """The class codes of a level from its blocks' (None: no cell of the block has a
    value); None when no block has one."""
    if all(p is None for p in parts):
        return None
    return np.concatenate(
        [
            np.full(n, ord(UNKNOWN_CHAR), np.uint8) if p is None else p
            for p, n in zip(parts, sizes, strict=True)
        ]
    )


def build_levels(
    result: Result,
    specs: list[dict],
    sink: Callable[[int, str, dict], None] | None = None,
) -> list[Level]:
    """The pyramid of ``result``'s cells for the cell layers ``specs``: from the run's
    resolution down ``LEVELS - 1`` resolutions (not below 0), finest first.

    Only the variables the layers draw are taken (:func:`drawn_variables`). Each level
    is rolled up from the additive columns of the next finer one (sums of sums: exact;
    min for distances), then finished once. The cells are taken in blocks of about
    :data:`BLOCK_CELLS` that hold whole cells of the coarsest level (:func:`blocks`):
    each block is rolled up through every level on its own, so only one block's
    additive columns are in memory at a time (the values are the same as from the
    whole table at once). ``sink(res, key, payload)``, when given, receives each chunk
    as soon as it is encoded (and the level keeps only its bounds), so that chunks are
    written while the next ones are made.
    """
    all_variables = dict(result.variables)
    drawn = drawn_variables(all_variables, specs)
    source = md.CellAdditive(dataclasses.replace(result, variables=drawn))
    variables = needed(source.variables, drawn)
    ids = result.cell_columns["h3_int"].to_numpy(dtype=grid.CELL_DTYPE)
    res = result.config.run.resolution
    resolutions = list(range(res, max(res - LEVELS, -1), -1))
    found: dict[int, list] = {r: [] for r in resolutions}  # per level, per block: ids, codes
    for rows in blocks(ids, resolutions[-1], BLOCK_CELLS):
        add = source.rows(rows)
        add.index = pd.Index(ids[rows], name="cell")
        for r in resolutions:
            block_ids = add.index.to_numpy(dtype=grid.CELL_DTYPE)
            view = finished_view(add, variables)
            found[r].append(
                (block_ids, {s["key"]: class_chars(view, s, all_variables) for s in specs})
            )
            del view
            if r != resolutions[-1]:
                add = group_additive(add, grid.parent_cells(block_ids, r - 1), variables)
        del add
    levels = []
    for r in resolutions:
        parts = found.pop(r)
        sizes = [len(i) for i, _ in parts]
        chars = {s["key"]: _joined([c[s["key"]] for _, c in parts], sizes) for s in specs}
        levels.append(_encode_level(r, np.concatenate([i for i, _ in parts]), chars, sink))
    return levels


def _encode_level(
    r: int,
    ids: np.ndarray,
    chars: dict[str, np.ndarray | None],
    sink: Callable[[int, str, dict], None] | None,
) -> Level:
    """Cut one level into chunks and encode them (see :func:`build_levels`)."""
    single = len(ids) <= SINGLE_MAX_CELLS
    chunk_res = None if single else max(r - CHUNK_DEPTH, 0)
    level = Level(r, min_zoom(r), chunk_res)
    if single:
        keys = np.zeros(len(ids), dtype=np.int64)
        names = ["all"]
    else:
        parents = grid.parent_cells(ids, chunk_res)
        uniq, keys = np.unique(parents, return_inverse=True)
        names = [format(int(p), "x") for p in uniq]
    order = np.argsort(keys, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(keys, minlength=len(names)))]
    lon, lat = grid.cell_centres(ids)
    centres = np.round(np.column_stack([lat, lon]) * SCALE).astype(np.int64)
    for j, name in enumerate(names):
        rows = order[bounds[j] : bounds[j + 1]]
        payload = encode_hexagons(ids[rows], r, centres[rows])
        vals = {}
        for key, codes in chars.items():
            if codes is None:
                continue
            sub = codes[rows]
            if (sub != ord(UNKNOWN_CHAR)).any():
                vals[key] = sub.tobytes().decode("ascii")
        payload["v"] = vals
        payload["n"] = len(rows)
        if sink is None:
            level.chunks[name] = payload
        else:
            sink(r, name, payload)
        lo, hi = centres[rows].min(axis=0) / SCALE, centres[rows].max(axis=0) / SCALE
        pad = H3_RES0_EDGE_M / 7 ** (r / 2) / 111_320.0
        level.bounds[name] = [
            round(float(lo[1] - pad), 4),
            round(float(lo[0] - pad), 4),
            round(float(hi[1] + pad), 4),
            round(float(hi[0] + pad), 4),
        ]
    return level
