"""Candidate 4G sites, vectorised: eligible cells, thinning, reach, cost.

A site can stand at an *open* cell (not fully covered) of a village short of coverage
that lies within ``max_backbone_km`` of the backbone (fibre spur) or ``near_site_km`` of
a covered cell (radio backhaul, no spur). Nationally that is millions of cells, most of
them a few hundred metres from the next, so the candidates are **thinned**:

1. *One per parent.* The eligible cells are grouped by their H3 parent at
   ``[plan.site] thin_resolution`` (``"auto"``: the coarsest resolution whose mean
   edge, the hexagon's circumradius, is at most ``radius_km``, so that a site at any
   child near the parent's centre reaches the whole parent; 7 for 2 km). Each parent
   keeps the child whose disk holds the most coverage points: the sum, over the open
   cells within its ``k``-ring (``k`` = ``radius_km`` over the mean spacing of cell
   centres: the ring whose centres lie within the radius), of the percentage points
   covering that cell adds to the villages short of coverage. Ties: the cheaper
   site, then the smaller H3 id. ``must_do`` sites are always kept.
2. *Repair.* An open cell that some eligible cell reaches but no kept candidate does
   could make a village unreachable. For every village that all eligible cells
   together could lift to the threshold but the kept candidates cannot, the nearest
   eligible cell of each of its reachable-but-unreached open cells is added back.

**What thinning keeps and what it can lose** (``tests/geo/rollout/test_sites.py``):
the villages that can be made ready are exactly those of the unthinned candidates
(every reachable village stays reachable, so with an unlimited budget both make the
same villages ready); what it can lose is *cost*: a village may need a dearer
combination of the kept sites (another backhaul, a longer spur, two sites where one
unthinned site would do), so under a budget the thinned optimum can make fewer villages
ready than the unthinned one, never more.

A site covers every open cell whose centre is within ``radius_km`` of its own
(a k-d tree on unit vectors, chord distance a hair inside the great-circle radius, so
that :func:`despro.rollout.effects.apply_plan`'s check covers at least those cells).
Cost: ``[plan.site] cost`` plus a fibre spur of ``backbone distance - free_km`` (km)
at ``[plan.spur] cost_per_km``, unless a covered cell lies within ``near_site_km``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from despro.config.plan import PlanConfig
from despro.grid.cells import CELL_DTYPE, cell_centres, cells_to_str, parent_cells
from despro.grid.geodesic import EARTH_RADIUS_KM

#: relative shrink of the chord radius: reach stays inside the haversine check's
SHRINK = 1e-9
#: cells per grid_disk call (bounds memory: 19-37 neighbours each)
CHUNK = 200_000


@dataclass
class SiteCandidates:
    """The kept candidate sites and what they cover.

    Attributes
    ----------
    table : DataFrame
        One row per site (columns of :attr:`despro.rollout.problem.Problem.items`).
    pairs : tuple of ndarray
        ``(gain cell position, site row)`` for every open cell a site covers.
    stats : dict
        ``eligible``, ``parents``, ``kept_best``, ``kept_must_do``, ``repaired``,
        ``villages_repaired``, ``thin_resolution`` (None: not thinned), ``ring_k``.
    """

    table: pd.DataFrame
    pairs: tuple[np.ndarray, np.ndarray]
    stats: dict


def unit_vectors(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points (degrees) as unit vectors, n x 3 (for chord-distance k-d trees)."""
    lo, la = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    c = np.cos(la)
    return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])


def chord(km: float) -> float:
    """Chord length on the unit sphere of a great-circle distance ``km``."""
    return float(2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0))


def thin_resolution(cfg: PlanConfig, run_resolution: int) -> int | None:
    """The parent resolution of the thinning (None: no thinning).

    ``"auto"``: the coarsest H3 resolution whose mean edge length (km) is at most
    ``radius_km``; an explicit resolution is used as given; ``"off"`` or a resolution
    not coarser than the run's: None.
    """
    import h3

    t = cfg.site.thin_resolution
    if t == "off":
        return None
    if t == "auto":
        fits = [
            r for r in range(16) if h3.average_hexagon_edge_length(r, "km") <= cfg.site.radius_km
        ]
        t = fits[0] if fits else 15
    return int(t) if int(t) < run_resolution else None


def ring_k(radius_km: float, resolution: int) -> int:
    """Grid rings whose centres lie within ``radius_km``: the radius over the mean
    spacing of centres (sqrt(3) mean edge lengths) at ``resolution``, rounded down."""
    import h3

    spacing = np.sqrt(3.0) * h3.average_hexagon_edge_length(resolution, "km")
    return int(max(0, np.floor(radius_km / spacing)))


def _disk_sums(cells: np.ndarray, k: int, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per cell, the sum of ``values`` over the cells of its ``k``-ring found in
    ``keys`` (sorted uint64); in chunks of :data:`CHUNK` cells."""
    from h3ronpy import grid_disk

    out = np.zeros(len(cells))
    if not len(keys) or not len(cells):
        return out
    for lo in range(0, len(cells), CHUNK):
        part = np.asarray(cells[lo : lo + CHUNK], dtype=CELL_DTYPE)
        arr = pa.array(grid_disk(pa.array(part), k))
        flat = arr.values.to_numpy(zero_copy_only=False).astype(CELL_DTYPE, copy=False)
        off = arr.offsets.to_numpy(zero_copy_only=False)
        pos = np.minimum(np.searchsorted(keys, flat), len(keys) - 1)
        val = np.where(keys[pos] == flat, values[pos], 0.0)
        csum = np.concatenate([[0.0], np.cumsum(val)])
        out[lo : lo + len(part)] = csum[off[1:]] - csum[off[:-1]]
    return out


def site_candidates(
    cells: np.ndarray,
    open_w: np.ndarray,
    bb_km: np.ndarray,
    covered: np.ndarray,
    all_lonlat: tuple[np.ndarray, np.ndarray],
    gain: sp.csr_matrix,
    need: np.ndarray,
    hosts_w: sp.csc_matrix,
    resolution: int,
    cfg: PlanConfig,
    codes: np.ndarray,
    regency: np.ndarray,
    keep_ids: frozenset[str] = frozenset(),
) -> SiteCandidates:
    """Eligible, thinned and repaired candidate sites (module docstring).

    Parameters
    ----------
    cells : ndarray of uint64
        The open cells of villages short of coverage (the *gain cells*).
    open_w : ndarray
        Per gain cell, the coverage points (percentage points, summed over the villages
        short of coverage) that covering it adds: the thinning score's weight.
    bb_km : ndarray
        Per gain cell, the distance to the backbone (km; NaN: unknown).
    covered : ndarray of bool
        Per cell of the run (``all_lonlat``), already covered (``covered_share``).
    all_lonlat : tuple of ndarray
        Centres (degrees) of every cell of the run.
    gain : csr_matrix
        Villages x gain cells: points added when the cell gets covered.
    need : ndarray
        Per village, points of coverage needed (0: none).
    hosts_w : csc_matrix
        Villages x gain cells transfer weights (a site's host: the heaviest village).
    resolution : int
        The run's H3 resolution.
    cfg : PlanConfig
    codes, regency : ndarray of str
        Per village, its code and regency code (a site's host village: the heaviest).
    keep_ids : frozenset of str
        ``site:<h3>`` ids never thinned away (``must_do``).

    Returns
    -------
    SiteCandidates
    """
    from scipy.spatial import cKDTree

    site, spur = cfg.site, cfg.spur
    stats: dict = {"gain_cells": len(cells)}
    lon, lat = cell_centres(cells)
    xyz = unit_vectors(lon, lat)
    alon, alat = all_lonlat
    cov_xyz = unit_vectors(alon[covered], alat[covered])
    near = np.zeros(len(cells), bool)
    if site.near_site_km > 0 and len(cov_xyz) and len(cells):
        d, _ = cKDTree(cov_xyz).query(
            xyz, k=1, distance_upper_bound=chord(site.near_site_km), workers=2
        )
        near = np.isfinite(d)
    fibre = bb_km <= site.max_backbone_km
    eligible = np.flatnonzero(near | fibre)
    stats["eligible"] = len(eligible)
    spur_km = np.where(near, 0.0, np.maximum(0.0, np.nan_to_num(bb_km, nan=np.inf) - spur.free_km))
    cost = site.cost + spur_km * spur.cost_per_km
    h3s_all: np.ndarray | None = None

    res_t = thin_resolution(cfg, resolution)
    stats["thin_resolution"] = res_t
    k = ring_k(site.radius_km, resolution)
    stats["ring_k"] = k
    if res_t is None or not len(eligible):
        kept = eligible
        stats.update(parents=len(eligible), kept_best=len(eligible), kept_must_do=0)
    else:
        order = np.argsort(cells, kind="stable")
        keys = cells[order]
        score = _disk_sums(cells[eligible], k, keys, open_w[order])
        parent = parent_cells(cells[eligible], res_t)
        # best child per parent: most points, then cheapest, then smallest id
        srt = np.lexsort((cells[eligible], cost[eligible], -score, parent))
        first = np.ones(len(srt), bool)
        first[1:] = parent[srt][1:] != parent[srt][:-1]
        best = eligible[srt[first]]
        stats["parents"] = int(first.sum())
        stats["kept_best"] = len(best)
        must = np.zeros(0, dtype=int)
        if keep_ids:
            h3s_all = cells_to_str(cells[eligible])
            ids = np.array([f"site:{h}" for h in h3s_all], dtype=object)
            must = eligible[np.isin(ids, list(keep_ids))]
        kept = np.union1d(best, must)
        stats["kept_must_do"] = int(len(kept) - len(best))
    # reach of the kept sites over the gain cells
    r = chord(site.radius_km) * (1.0 - SHRINK)
    tree_all = cKDTree(xyz) if len(cells) else None
    cs = _reach(tree_all, xyz, kept, r, len(cells))
    # repair: villages all eligible cells could lift that the kept sites cannot
    repaired = np.zeros(0, dtype=int)
    if res_t is not None and len(eligible) > len(kept):
        nearest = np.full(len(cells), -1)
        is_elig = np.zeros(len(cells), bool)
        is_elig[eligible] = True
        nearest[eligible] = eligible
        rest = np.flatnonzero(~is_elig)
        if len(rest):
            d, j = cKDTree(xyz[eligible]).query(xyz[rest], k=1, distance_upper_bound=r, workers=2)
            ok = np.isfinite(d)
            nearest[rest[ok]] = eligible[j[ok]]
        reach_all = (nearest >= 0).astype(float)
        reach_kept = (np.asarray(cs.sum(axis=1)).ravel() > 0).astype(float)
        lost = (need > 0) & (gain @ reach_all >= need - 1e-9) & (gain @ reach_kept < need - 1e-9)
        stats["villages_repaired"] = int(lost.sum())
        if lost.any():
            sub = gain[np.flatnonzero(lost)].tocoo()
            hit = np.zeros(len(cells), bool)
            hit[sub.col] = True
            c = np.flatnonzero(hit & (reach_kept == 0) & (nearest >= 0))
            repaired = np.setdiff1d(np.unique(nearest[c]), kept)
            kept = np.union1d(kept, repaired)
            cs = _reach(tree_all, xyz, kept, r, len(cells))
    else:
        stats["villages_repaired"] = 0
    stats["repaired"] = len(repaired)
    stats["kept"] = len(kept)

    hosts = _hosts(hosts_w, kept)
    h3s = cells_to_str(cells[kept])
    table = pd.DataFrame(
        {
            "item_id": pd.Series(h3s, dtype=object).map(lambda h: f"site:{h}").to_numpy(object),
            "kind": "site",
            "h3": h3s,
            "village_code": codes[hosts],
            "regency_code": regency[hosts],
            "cost": cost[kept].astype(float),
            "site_cost": float(site.cost),
            "spur_km": spur_km[kept].astype(float),
            "spur_cost": spur_km[kept] * spur.cost_per_km,
            "backhaul": np.where(near[kept], "radio", "fibre").astype(object),
            "lon": lon[kept],
            "lat": lat[kept],
        }
    )
    coo = cs.tocoo()
    return SiteCandidates(table, (coo.row.astype(np.int64), coo.col.astype(np.int64)), stats)


def _reach(tree, xyz: np.ndarray, kept: np.ndarray, r: float, n_cells: int) -> sp.csr_matrix:
    """Gain cells x kept sites: 1 where the cell's centre is within chord ``r``."""
    from scipy.spatial import cKDTree

    if tree is None or not len(kept):
        return sp.csr_matrix((n_cells, len(kept)))
    m = cKDTree(xyz[kept]).sparse_distance_matrix(tree, r, output_type="coo_matrix")
    # rows: kept sites, cols: gain cells; a site always covers its own cell
    rows = np.concatenate([m.col, kept])
    cols = np.concatenate([m.row, np.arange(len(kept))])
    out = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_cells, len(kept)))
    out.data[:] = 1.0
    return out


def _hosts(w: sp.csc_matrix, cols: np.ndarray) -> np.ndarray:
    """Per column, the row (village position) of the largest weight (first on ties)."""
    sub = sp.csc_matrix(w[:, cols])
    out = np.zeros(len(cols), dtype=np.int64)
    if not sub.nnz:
        return out
    coo = sub.tocoo()
    order = np.lexsort((coo.row, -coo.data, coo.col))
    c = coo.col[order]
    first = np.ones(len(c), bool)
    first[1:] = c[1:] != c[:-1]
    out[c[first]] = coo.row[order][first]
    return out
