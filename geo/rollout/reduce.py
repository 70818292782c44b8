"""Exact reductions of a plan's MILP, and its independent components.

Before the solver sees a problem (:mod:`despro.rollout.milp`), everything that cannot
change the optimum goes:

* **never-built items**: ``never_do`` items (and, with the budget, items dearer than the
  budget left after the held items) are removed first;
* **unreachable villages**: a target whose gaps the remaining items cannot close even
  all built together (its programme removed, too few outlets within reach, too little
  coverage from every candidate site) is dropped;
* **programmes folded into villages**: a programme acts on its own village only, so at
  an optimum it is bought exactly when its village is made ready: its cost becomes the
  village's own (one variable less per village; a held programme costs the village 0);
* **useless items**: an outlet serving no remaining village, a site covering no open
  cell of one (held items stay: they are paid for anyway);
* **dominated and identical items**: an outlet whose served villages (each needing one
  outlet: a village needing two needs two distinct ones) are a subset of another's, or a
  site whose open cells are a subset of another's, that costs no less (equal sets and
  costs: the first is kept; with ``max_cost_per_regency``, only within one regency,
  since the cap makes two regencies' items different);
* **merged cells**: cells that the same set of sites covers are covered together or
  not at all, so they become one column whose points add up (:func:`merge_cells`);
* **components**: villages and items that share nothing (no outlet serves both, no site
  covers a cell of both, and, with a regency cap, not the same regency) are independent
  but for the budget; a component of one village is a knapsack item of one cost (its
  cheapest fix), which :mod:`despro.rollout.milp` solves as a single binary.

Every step is exact: an optimal plan of the reduced problem is an optimal plan of the
original (tests/geo/rollout check it against brute force).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from despro.rollout.problem import Problem


@dataclass
class Reduced:
    """The reduced problem, in positions of the original :class:`Problem`.

    Attributes
    ----------
    vill : ndarray of int
        Villages kept (positions in ``problem.villages``).
    w : ndarray
        Their objective weights.
    vcost : ndarray
        Their folded programme cost (million Rp; 0 without one or when held).
    vprog : ndarray of int
        Their programme item (-1: none).
    items : ndarray of int
        Item variables kept (outlets, sites and held items; positions in ``problem.items``).
    k : ndarray
        Per kept village, outlets needed.
    cover : csr_matrix
        Kept villages x kept items: 1 where an outlet item serves the village.
    g : ndarray
        Per kept village, coverage points needed.
    gain : csr_matrix
        Kept villages x kept cells: points added when the cell gets covered.
    cell_site : csr_matrix
        Kept cells x kept items: 1 where a site item covers the cell.
    on : ndarray of bool
        Per kept item: held (must_do or an earlier wave).
    held_cost : float
        Million Rp of held items that are not variables (held programmes).
    held_items : ndarray of int
        Held items folded away (their positions).
    comp_v, comp_i : ndarray of int
        Component of each kept village and item.
    stats : dict
        Counts before and after each step.
    """

    vill: np.ndarray
    w: np.ndarray
    vcost: np.ndarray
    vprog: np.ndarray
    items: np.ndarray
    k: np.ndarray
    cover: sp.csr_matrix
    g: np.ndarray
    gain: sp.csr_matrix
    cell_site: sp.csr_matrix
    on: np.ndarray
    held_cost: float
    held_items: np.ndarray
    comp_v: np.ndarray
    comp_i: np.ndarray
    stats: dict = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        """Number of components (villages and the items they need)."""
        return int(max(self.comp_v.max(initial=-1), self.comp_i.max(initial=-1)) + 1)


def reduce(
    problem: Problem,
    on: np.ndarray,
    off: np.ndarray,
    budget: float = np.inf,
    cap: float | None = None,
) -> Reduced:
    """Apply the exact reductions (module docstring).

    Parameters
    ----------
    problem : Problem
    on, off : ndarray of bool
        Items held in (must_do, earlier waves) and kept out (never_do), per item.
    budget : float
        Million Rp (``inf``: no budget); an item dearer than the budget left after the
        held items is never built.
    cap : float, optional
        ``max_cost_per_regency`` (million Rp): limits dominance to one regency.

    Returns
    -------
    Reduced
    """
    items = problem.items
    cost = items["cost"].to_numpy(float)
    m = len(items)
    vt = problem.villages
    stats: dict = {"villages": int(vt["target"].sum()), "items": m}
    held = float(cost[on].sum())
    allowed = ~off & (on | (cost <= budget - held + 1e-9))
    if cap is not None:
        allowed &= on | (cost <= cap + 1e-9)
    target = vt["target"].to_numpy(bool).copy()
    prog = problem.prog_item
    k_all = problem.outlet_need
    g_all = problem.site_need
    oc = problem.outlet_cover.tocsc()
    cs = problem.cell_site.tocsr()
    sg = problem.site_gain.tocsr()
    # unreachable villages, until stable (dropping villages never disables an item)
    a = allowed.astype(float)
    has_prog = prog >= 0
    prog_ok = ~has_prog
    prog_ok[has_prog] = allowed[prog[has_prog]]
    ok = target & prog_ok
    if oc.shape[1]:
        ok &= (problem.outlet_cover @ a) >= k_all - 1e-9
    else:
        ok &= k_all <= 0
    if sg.shape[1]:
        z = np.minimum(cs @ a, 1.0)
        ok &= (sg @ z) >= g_all - 1e-9
    else:
        ok &= g_all <= 0
    vill = np.flatnonzero(ok)
    stats["villages_reachable"] = len(vill)

    # items that act on a kept village
    is_prog = (items["kind"] == "programme").to_numpy()
    useful = np.zeros(m, bool)
    if oc.shape[1]:
        need_out = np.zeros(len(vt), bool)
        need_out[vill] = k_all[vill] > 0
        useful |= (problem.outlet_cover.T @ need_out.astype(float)) > 0
    cells = np.empty(0, dtype=int)
    if sg.shape[1]:
        need_site = vill[g_all[vill] > 0]
        cells = _distinct(sg[need_site].indices, sg.shape[1])
        hit = np.zeros(cs.shape[0])
        hit[cells] = 1.0
        useful |= (cs.T @ hit) > 0
    useful &= allowed & ~is_prog
    stats["items_useful"] = int(useful.sum())
    # dominance among the outlets and among the sites (not the held ones)
    keep = useful & _dominance(problem, off, on, cap is not None)
    stats["items_undominated"] = int(keep.sum())
    keep |= on & ~is_prog
    var_items = np.flatnonzero(keep)
    held_items = np.flatnonzero(on & is_prog)

    vprog = prog[vill]
    has_p = vprog >= 0
    vcost = np.zeros(len(vill))
    vcost[has_p] = np.where(on[vprog[has_p]], 0.0, cost[vprog[has_p]])
    held_cost = float(cost[held_items].sum())
    cover = sp.csr_matrix(problem.outlet_cover[vill][:, var_items])
    k = k_all[vill]
    g = g_all[vill]
    if sg.shape[1] and len(cells):
        gain = sp.csr_matrix(sg[vill][:, cells])
        csite = sp.csr_matrix(cs[cells][:, var_items])
        live = np.asarray(csite.sum(axis=1)).ravel() > 0  # cells some kept site covers
        gain, csite = sp.csr_matrix(gain[:, live]), sp.csr_matrix(csite[live])
    else:
        gain = sp.csr_matrix((len(vill), 0))
        csite = sp.csr_matrix((0, len(var_items)))
    gain.eliminate_zeros()
    stats["cells_useful"] = gain.shape[1]
    gain, csite = merge_cells(gain, csite)
    # components: villages - items through outlets served and sites' cells
    nv, ni = len(vill), len(var_items)
    touch = (cover + (gain @ csite if gain.shape[1] else sp.csr_matrix((nv, ni)))).tocoo()
    rows = [touch.row, touch.col + nv]
    cols = [touch.col + nv, touch.row]
    if cap is not None:  # a regency cap couples everything in one regency
        reg = items["regency_code"].astype(str).to_numpy()
        codes = np.concatenate([vt["regency_code"].astype(str).to_numpy()[vill], reg[var_items]])
        _, first, grp = np.unique(codes, return_index=True, return_inverse=True)
        rows.append(np.arange(nv + ni))
        cols.append(first[grp])
    adj = sp.csr_matrix(
        (np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
        shape=(nv + ni, nv + ni),
    )
    _, lab = connected_components(adj, directed=False)
    stats.update(
        {
            "items_kept": ni,
            "programmes_folded": int(has_p.sum()),
            "cells_kept": gain.shape[1],
            "components": int(len(np.unique(lab))) if len(lab) else 0,
        }
    )
    sizes = np.bincount(lab[:nv], minlength=lab.max(initial=-1) + 1) if nv else np.zeros(0)
    stats["largest_component_villages"] = int(sizes.max(initial=0))
    stats["single_village_components"] = int((sizes == 1).sum())
    return Reduced(
        vill,
        vt["objective_weight"].to_numpy(float)[vill],
        vcost,
        vprog,
        var_items,
        k,
        cover,
        g,
        gain,
        csite,
        on[var_items],
        held_cost,
        held_items,
        lab[:nv],
        lab[nv:],
        stats,
    )


def _distinct(idx: np.ndarray, n: int) -> np.ndarray:
    """Sorted distinct values of ``idx`` (integers in ``[0, n)``), through a mask: numpy's
    hash-based ``np.unique`` takes seconds on millions of sparse indices."""
    mask = np.zeros(n, bool)
    mask[idx] = True
    return np.flatnonzero(mask)


def restrict(red: Reduced, villages: np.ndarray) -> Reduced:
    """The part of ``red`` that acts on some of its villages: those villages, the cells
    they gain from, the items serving or covering them and every held item. A plan of
    it is a plan of ``red`` (the pool of :func:`despro.rollout.solve.solve`).

    Parameters
    ----------
    red : Reduced
    villages : ndarray of int
        Positions in ``red.vill``.

    Returns
    -------
    Reduced
    """
    v = np.sort(np.asarray(villages, dtype=np.int64))
    cover = sp.csr_matrix(red.cover[v])
    gain = sp.csr_matrix(red.gain[v])
    cells = _distinct(gain.indices, gain.shape[1])
    gain = sp.csr_matrix(gain[:, cells])
    csite = sp.csr_matrix(red.cell_site[cells])
    used = red.on.copy()
    used[cover.indices] = True
    used[csite.indices] = True
    items = np.flatnonzero(used)
    return Reduced(
        red.vill[v],
        red.w[v],
        red.vcost[v],
        red.vprog[v],
        red.items[items],
        red.k[v],
        sp.csr_matrix(cover[:, items]),
        red.g[v],
        gain,
        sp.csr_matrix(csite[:, items]),
        red.on[items],
        red.held_cost,
        red.held_items,
        red.comp_v[v],
        red.comp_i[items],
        {"villages": len(v), "items_kept": len(items), "cells_kept": len(cells)},
    )


def merge_cells(gain: sp.csr_matrix, csite: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Merge the cells that the same set of sites covers into one column.

    Such cells are covered together or not at all, so one continuous ``z`` serves them
    all and their points add up (exact). Rows of ``csite`` are grouped by two random
    keys, then checked equal entry by entry (a collision splits the group again).

    Parameters
    ----------
    gain : csr_matrix
        Villages x cells: points added when the cell gets covered.
    csite : csr_matrix
        Cells x sites: 1 where the site covers the cell.

    Returns
    -------
    gain, csite : csr_matrix
        Villages x groups, groups x sites.
    """
    n = csite.shape[0]
    if n < 2:
        return gain, csite
    cs = sp.csr_matrix(csite, copy=True)
    cs.sum_duplicates()
    cs.sort_indices()
    cs.data[:] = 1.0
    keys = cs @ np.random.default_rng(12345).random((cs.shape[1], 2))
    nnz = np.diff(cs.indptr)
    order = np.lexsort((keys[:, 1], keys[:, 0], nnz))
    new = np.ones(n, bool)
    new[1:] = (
        (nnz[order][1:] != nnz[order][:-1])
        | (keys[order, 0][1:] != keys[order, 0][:-1])
        | (keys[order, 1][1:] != keys[order, 1][:-1])
    )
    head = order[np.flatnonzero(new)[np.cumsum(new) - 1]]  # first row of each run
    rep = np.empty(n, dtype=np.int64)
    rep[order] = head
    d = sp.csr_matrix(cs - cs[rep])
    d.eliminate_zeros()
    differ = np.diff(d.indptr) > 0
    rep[differ] = np.flatnonzero(differ)  # a key collision: the row stands alone
    is_rep = np.zeros(n, bool)
    is_rep[rep] = True
    reps = np.flatnonzero(is_rep)
    grp = (np.cumsum(is_rep) - 1)[rep]
    to_group = sp.csr_matrix((np.ones(n), (np.arange(n), grp)), shape=(n, len(reps)))
    return sp.csr_matrix(gain @ to_group), sp.csr_matrix(cs[reps])


def _dominance(problem: Problem, off: np.ndarray, on: np.ndarray, by_regency: bool) -> np.ndarray:
    """Per item, False where another item dominates it (:func:`undominated`), over every
    target and every item not in ``off``: a subset of those stays dominated (a dominating
    item costs no more, so no budget keeps it out alone). Kept in ``problem.cache``."""
    key = ("dominance", off.tobytes(), on.tobytes(), by_regency)
    if key in problem.cache:
        return problem.cache[key]
    items = problem.items
    cost = items["cost"].to_numpy(float)
    vt = problem.villages
    target = vt["target"].to_numpy(bool)
    is_prog = (items["kind"] == "programme").to_numpy()
    reg = items["regency_code"].astype(str).to_numpy() if by_regency else None
    keep = np.ones(len(items), bool)
    cand = ~off & ~is_prog
    if problem.outlet_cover.shape[1]:
        need = target & (problem.outlet_need > 0)
        # an outlet is only replaceable for villages needing one: a village needing k >= 2
        # needs k distinct outlets, so an outlet serving one is never dropped
        multi = (target & (problem.outlet_need > 1)).astype(float)
        serves_multi = (problem.outlet_cover.T @ multi) > 0
        sub = sp.csr_matrix(problem.outlet_cover[np.flatnonzero(need)]).T.tocsr()
        keep &= undominated(sub, cost, cand & ~serves_multi, on, reg)
    if problem.site_gain.shape[1]:
        need = np.flatnonzero(target & (problem.site_need > 0))
        cells = _distinct(problem.site_gain.tocsr()[need].indices, problem.site_gain.shape[1])
        cc = problem.cell_site.tocsr()[cells].T.tocsr()  # items x cells
        keep &= undominated(cc, cost, cand, on, reg)
    problem.cache = {key: keep}  # one entry: the waves' held items change it
    return keep


def undominated(
    inc: sp.csr_matrix,
    cost: np.ndarray,
    cand: np.ndarray,
    on: np.ndarray,
    regency: np.ndarray | None,
) -> np.ndarray:
    """Per item, False where another candidate dominates it.

    ``inc`` is items x elements (villages served, cells covered); item ``a`` is dominated
    by ``b`` when ``a``'s elements are a subset of ``b``'s and ``b`` costs no more (ties:
    the larger set, then the lower position, is kept), and, with ``regency``, both lie in
    the same regency. Items outside ``cand`` neither dominate nor are dropped; held items
    (``on``) are never dropped.
    """
    m = inc.shape[0]
    out = np.ones(m, bool)
    idx = np.flatnonzero(cand & (np.diff(inc.indptr) > 0))
    if len(idx) < 2:
        return out
    sub = inc[idx]
    sub.data[:] = 1.0
    size = np.asarray(sub.sum(axis=1)).ravel()
    inter = (sub @ sub.T).tocoo()
    a, b, k = inter.row, inter.col, inter.data
    c = cost[idx]
    sel = (a != b) & (k >= size[a] - 1e-9)  # a inside b
    a, b = a[sel], b[sel]
    better = (c[b] < c[a]) | ((c[b] == c[a]) & ((size[b] > size[a]) | (b < a)))
    if regency is not None:
        r = regency[idx]
        better &= r[a] == r[b]
    better &= ~on[idx][a]
    dead = np.zeros(len(idx), bool)
    dead[a[better]] = True
    out[idx[dead]] = False
    return out
