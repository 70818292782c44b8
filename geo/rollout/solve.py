"""Choose interventions under a budget: a MILP (PuLP, bundled CBC), and its explanation.

Variables: ``x_i`` (binary) per candidate item, ``y_v`` (binary) per target village,
``z_c`` (continuous in [0, 1]) per cell a site could cover. Maximise
``sum(objective_weight_v * y_v) - eps * sum(cost_i * x_i)`` (``eps`` below any village's
weight: among equal plans the cheapest) subject to

* ``sum(cost_i x_i) <= budget`` and, per regency, ``<= max_cost_per_regency``;
* a village needing a programme: ``y_v <= x_programme(v)``;
* a village needing ``k`` courier companies: ``k y_v <= sum(x_outlet serving v)``;
* a village short of ``g`` points of coverage: ``g y_v <= sum(gain_vc z_c)`` with
  ``z_c <= sum(x_site covering c)``;
* ``x_i = 1`` for ``must_do``, ``0`` for ``never_do``; optional lower bounds on the
  objective and on the count (the cost curve stays monotone).

Which villages a plan makes ready is then *evaluated* from the chosen items
(:func:`ready_given`), not read from ``y``. With the villages objective every weight
is a whole multiple of the smallest, so CBC stops once its bound is within 0.98 of that
weight: the plan then makes the most villages ready possible (proved), whatever
``gap`` says. Explanations: the optimality gap (from CBC's bound, read from its
log), each binding constraint (the objective gained without it, one re-solve each)
and each chosen item's marginal value (villages no longer ready when that item alone
is dropped and the rest kept).
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from despro.errors import DesproError, InfeasibleError
from despro.rollout.problem import Problem
from despro.rollout.reduce import Reduced, restrict

FIX = {
    "budget": "raise --budget / plan.budget, or remove items from plan.must_do",
    "max_cost_per_regency": "raise plan.max_cost_per_regency, or remove items of that "
    "regency from plan.must_do",
    "must_do": "remove items from plan.must_do",
    "never_do": "remove items from plan.never_do",
}


#: the pool: villages whose floor costs add up to this many budgets
POOL_FACTOR = 3.0
#: no pool when it would hold this share of the villages (the MILP itself is as small)
POOL_MAX_SHARE = 0.8
#: share of the time limit the pool's MILP may take
POOL_SHARE = 0.25
#: most villages in a pool (a pool is a small MILP, solved in seconds)
POOL_MAX = 4000
#: the LP (then the MILP) only starts with this share of the time limit left; else the
#: best plan so far is kept with the gap to the knapsack bound
LP_MIN_SHARE = 0.3
MILP_MIN_SHARE = 0.1
#: most of the time limit the LP relaxation may take
LP_SHARE = 0.5
#: MILP variables HiGHS's LP relaxation gets through per second on this 2-core machine
#: (Jawa Timur with sites: 16,879 variables in 3.5-4.7 s CPU); a larger problem skips
#: the LP and the MILP and keeps the best plan with the knapsack bound's gap
LP_VARIABLES_PER_S = 5000.0


def _infeasible(message: str, constraint: str) -> InfeasibleError:
    return InfeasibleError(message, constraint, FIX.get(constraint, "relax it"), section="plan")


@dataclass
class Solution:
    """One solved instance.

    Attributes
    ----------
    chosen : ndarray of bool
        Per item.
    ready : ndarray of bool
        Per village: ready with the chosen items (already ready included).
    objective : float
        Sum of ``objective_weight`` over newly ready villages.
    cost : float
        Million Rp spent.
    gap : float
        Relative optimality gap reported by CBC (0 when proven optimal).
    status : str
    """

    chosen: np.ndarray
    ready: np.ndarray
    objective: float
    cost: float
    gap: float
    status: str
    budget: float = np.nan
    extra: dict = field(default_factory=dict)


def ready_given(problem: Problem, chosen: np.ndarray) -> np.ndarray:
    """Villages ready with the items ``chosen`` (bool per item), already ready included."""
    x = np.asarray(chosen, float)
    vt = problem.villages
    ok = vt["target"].to_numpy(bool).copy()
    p = problem.prog_item
    ok &= (p < 0) | (x[np.maximum(p, 0)] > 0.5) if len(x) else p < 0
    if problem.outlet_cover.shape[1]:
        ok &= (problem.outlet_cover @ x) >= problem.outlet_need - 1e-9
    else:
        ok &= problem.outlet_need <= 0
    if problem.site_gain.shape[1]:
        z = np.minimum(problem.cell_site @ x, 1.0)
        ok &= (problem.site_gain @ z) >= problem.site_need - 1e-9
    else:
        ok &= problem.site_need <= 0
    return ok | vt["base_ready"].to_numpy(bool)


def _cbc(
    prob, gap_rel: float | None, gap_abs: float | None, time_limit: float, warm: bool = False
) -> tuple[str, float | None]:
    """Solve with the bundled CBC; return PuLP's status name and CBC's bound on the
    objective (None when CBC proved optimality outright or printed none)."""
    import pulp

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="PULP_CBC_CMD is deprecated", category=DeprecationWarning
            )
            cmd = pulp.PULP_CBC_CMD(
                msg=False,
                gapRel=gap_rel,
                gapAbs=gap_abs,
                timeLimit=time_limit,
                logPath=str(log),
                threads=1,
                warmStart=warm,
            )
            if not cmd.available():
                raise DesproError(
                    "PuLP's bundled CBC solver is not available on this machine; "
                    "install pulp 3.x (pip install 'pulp>=3.3,<4')"
                )
            status = pulp.LpStatus[prob.solve(cmd)]
        text = log.read_text(errors="replace") if log.exists() else ""
    return status, _bound_from_log(text)


def _bound_from_log(text: str) -> float | None:
    """CBC's best bound of a maximisation from its final summary; None when it proved
    optimality without a gap (or printed no summary)."""
    if "Optimal solution found" in text and "within gap tolerance" not in text:
        return None
    m = re.findall(r"(?:Upper|Lower) bound:\s+([-0-9.eE+]+)", text)
    return abs(float(m[-1])) if m else None


def _unit(w: np.ndarray) -> float | None:
    """The weight every objective weight is a whole multiple of, when there is one."""
    pos = w[w > 0]
    if not len(pos):
        return None
    u = float(pos.min())
    k = pos / u
    return u if np.allclose(k, np.round(k), rtol=0, atol=1e-9) else None


def _gather(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a CSR's ``indices`` of the entries of ``rows``, and the position in
    ``rows`` each comes from (no scipy indexing: this runs once per village)."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    total = int(lens.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(rows)), lens)
    offs = np.cumsum(lens) - lens
    return starts[owner] + (np.arange(total) - offs[owner]), owner


def _row_min(m: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Per row of ``m``, the smallest of ``values`` over its stored columns (inf: none)."""
    out = np.full(m.shape[0], np.inf)
    nz = np.diff(m.indptr) > 0
    if m.nnz:
        out[nz] = np.minimum.reduceat(values[m.indices], m.indptr[:-1][nz])
    return out


def _extra_floor(problem: Problem, x: np.ndarray, ok: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per village, a floor on what :func:`greedy` pays to make it ready given the items
    ``x``: its programme, the outlets it lacks at the cheapest serving outlet's cost, and
    ``ceil(points lacking / most points one site adds)`` sites at the cheapest touching
    site's cost (inf: not possible with the ``ok`` items)."""
    n = len(problem.villages)
    xf = x.astype(float)
    free = (~x & ok).astype(float)
    out = np.zeros(n)
    p = problem.prog_item
    has = p >= 0
    pc = np.where(x[p[has]], 0.0, np.where(ok[p[has]], cost[p[has]], np.inf))
    out[has] += pc
    k = problem.outlet_need
    if problem.outlet_cover.shape[1] and (k > 0).any():
        oc = problem.outlet_cover.tocsr()
        short = np.maximum(k - oc @ xf, 0.0)
        avail = sp.csr_matrix(oc @ sp.diags(free))
        avail.eliminate_zeros()
        cheapest = _row_min(avail, cost)
        enough = (avail @ np.ones(avail.shape[1])) >= short - 1e-9
        lack = short > 0
        out[lack] += np.where(enough[lack], short[lack] * cheapest[lack], np.inf)
    g = problem.site_need
    if problem.site_gain.shape[1] and (g > 0).any():
        sg, cs = problem.site_gain.tocsr(), problem.cell_site.tocsr()
        covered = (cs @ xf) > 0
        short = np.maximum(g - sg @ covered.astype(float), 0.0)
        rows = np.flatnonzero(short > 1e-9)
        open_g = sp.csr_matrix(sg[rows] @ sp.diags((~covered).astype(float)))
        per = sp.csr_matrix(open_g @ cs @ sp.diags(free))
        per.eliminate_zeros()
        most = np.zeros(len(rows))
        nz = np.diff(per.indptr) > 0
        if per.nnz:
            most[nz] = np.maximum.reduceat(per.data, per.indptr[:-1][nz])
        cheapest = _row_min(per, cost)
        with np.errstate(divide="ignore", invalid="ignore"):
            count = np.ceil(short[rows] / np.where(most > 0, most, np.nan) - 1e-9)
        reach = (per @ np.ones(per.shape[1])) >= short[rows] - 1e-9
        out[rows] += np.where(reach & (most > 0), count * cheapest, np.inf)
    return out


def greedy(
    problem: Problem,
    budget: float,
    start: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    cap: float | None = None,
    stop_after: int | None = None,
) -> np.ndarray:
    """A feasible plan by cost-effectiveness: the solver's first incumbent.

    From ``start`` (items already held), repeatedly buys the cheapest extra items that
    make one more village ready per unit of its objective weight (lazy re-evaluation),
    while the budget and the regency caps allow. Villages enter the queue at a floor
    on their price (:func:`_extra_floor`) and are priced exactly when they reach its
    head, so only the villages the budget can reach are priced.

    Parameters
    ----------
    problem : Problem
    budget : float
        Million Rp.
    start, allowed : ndarray of bool, optional
        Items held in from the start; items that may be bought (default: all).
    cap : float, optional
        ``max_cost_per_regency`` (million Rp).
    stop_after : int, optional
        Stop after this many villages are made ready.

    Returns
    -------
    ndarray of bool
        Chosen items (a superset of ``start``).
    """
    import heapq

    items = problem.items
    cost = items["cost"].to_numpy(float)
    regency = items["regency_code"].to_numpy(object)
    x = np.zeros(len(items), bool) if start is None else start.copy()
    ok_item = np.ones(len(items), bool) if allowed is None else allowed
    vt = problem.villages
    w = vt["objective_weight"].to_numpy(float)
    oc, sg, cs = problem.outlet_cover.tocsr(), problem.site_gain.tocsr(), problem.cell_site.tocsr()
    oc_ptr, oc_idx = oc.indptr, oc.indices
    sg_ptr, sg_idx, sg_dat = sg.indptr, sg.indices, sg.data
    cs_ptr, cs_idx = cs.indptr, cs.indices
    csc = cs.tocsc()
    csc_ptr, csc_idx = csc.indptr, csc.indices
    prog, k_need, g_need = problem.prog_item, problem.outlet_need, problem.site_need
    spent = float(cost[x].sum())
    per_reg: dict = {}
    for i in np.flatnonzero(x):
        per_reg[regency[i]] = per_reg.get(regency[i], 0.0) + cost[i]
    covered = np.zeros(cs.shape[0], bool)
    if cs.shape[0]:
        covered = (cs @ x.astype(float)) > 0

    def extra(v: int) -> tuple[float, list[int]] | None:
        buy: list[int] = []
        p = prog[v]
        if p >= 0 and not x[p]:
            if not ok_item[p]:
                return None
            buy.append(int(p))
        k = k_need[v]
        if k > 0:
            row = oc_idx[oc_ptr[v] : oc_ptr[v + 1]]
            have = int(x[row].sum())
            if have < k:
                free = row[~x[row] & ok_item[row]]
                if len(free) < k - have:
                    return None
                free = free[np.argsort(cost[free], kind="stable")]
                buy += [int(i) for i in free[: int(k - have)]]
        g = g_need[v]
        if g > 0:
            cells = sg_idx[sg_ptr[v] : sg_ptr[v + 1]]
            gains = sg_dat[sg_ptr[v] : sg_ptr[v + 1]]
            open_ = ~covered[cells]
            got = float(gains[~open_].sum())
            if got < g - 1e-9:
                # the sites with the most points per million Rp, one after the other
                oc_cells, og = cells[open_], gains[open_]
                pos, owner = _gather(cs_ptr, oc_cells)
                sites = cs_idx[pos]
                fine = ~x[sites] & ok_item[sites]
                sites, owner = sites[fine], owner[fine]
                if not len(sites):
                    return None
                cand, col = np.unique(sites, return_inverse=True)
                hits = np.zeros((len(oc_cells), len(cand)), bool)
                hits[owner, col] = True
                left = np.ones(len(oc_cells), bool)
                price = np.maximum(cost[cand], 1e-9)
                while got < g - 1e-9:
                    add = (og * left) @ hits
                    ratio = np.where(add > 0, add / price, -np.inf)
                    j = int(np.argmax(ratio))
                    if not np.isfinite(ratio[j]):
                        return None
                    buy.append(int(cand[j]))
                    got += float(add[j])
                    left &= ~hits[:, j]
        return float(cost[buy].sum()), buy

    base = vt["base_ready"].to_numpy(bool)
    target = vt["target"].to_numpy(bool)

    def ready_now(v: int) -> bool:
        if base[v]:
            return True
        if not target[v]:
            return False
        p = prog[v]
        if p >= 0 and not x[p]:
            return False
        if k_need[v] > 0 and x[oc_idx[oc_ptr[v] : oc_ptr[v + 1]]].sum() < k_need[v] - 1e-9:
            return False
        if g_need[v] > 0:
            lo, hi = sg_ptr[v], sg_ptr[v + 1]
            if float(sg_dat[lo:hi][covered[sg_idx[lo:hi]]].sum()) < g_need[v] - 1e-9:
                return False
        return True

    ready = ready_given(problem, x)
    todo = np.flatnonzero(target & ~ready)
    floor = _extra_floor(problem, x, ok_item, cost)[todo]
    fine = np.isfinite(floor)
    heap = [(c / max(w[v], 1e-12), int(v), c) for v, c in zip(todo[fine], floor[fine], strict=True)]
    heapq.heapify(heap)
    bought = 0
    while heap and (stop_after is None or bought < stop_after):
        _, v, low = heapq.heappop(heap)
        if low > budget - spent + 1e-9:
            continue  # dearer than what is left (as of its last evaluation)
        if ready_now(v):
            continue
        e = extra(v)
        if e is None:
            continue
        ratio = e[0] / max(w[v], 1e-12)
        if heap and ratio > heap[0][0] + 1e-12:
            heapq.heappush(heap, (ratio, v, e[0]))
            continue
        c, buy = e
        if spent + c > budget + 1e-9:
            continue
        if cap is not None:
            add: dict = {}
            for i in buy:
                add[regency[i]] = add.get(regency[i], 0.0) + cost[i]
            if any(per_reg.get(r, 0.0) + a > cap + 1e-9 for r, a in add.items()):
                continue
            for r, a in add.items():
                per_reg[r] = per_reg.get(r, 0.0) + a
        x[buy] = True
        spent += c
        bought += 1
        for i in buy:  # the cells the new sites cover
            covered[csc_idx[csc_ptr[i] : csc_ptr[i + 1]]] = True
    return x


def _objective(problem: Problem, chosen: np.ndarray) -> float:
    """Objective weight of the villages ``chosen`` makes ready (already ready aside)."""
    vt = problem.villages
    new = ready_given(problem, chosen) & ~vt["base_ready"].to_numpy(bool)
    return float(vt["objective_weight"].to_numpy(float)[new].sum())


def ready_given_one(problem: Problem, chosen: np.ndarray, v: int) -> bool:
    """Whether village ``v`` is ready with the items ``chosen`` (one row of
    :func:`ready_given`)."""
    vt = problem.villages
    if vt["base_ready"].iat[v]:
        return True
    if not vt["target"].iat[v]:
        return False
    x = np.asarray(chosen, float)
    p = problem.prog_item[v]
    if p >= 0 and x[p] < 0.5:
        return False
    oc = problem.outlet_cover
    if problem.outlet_need[v] > 0 and (oc[v] @ x)[0] < problem.outlet_need[v] - 1e-9:
        return False
    if problem.site_need[v] > 0:
        sg = problem.site_gain[v]
        z = np.minimum(problem.cell_site[sg.indices] @ x, 1.0)
        if float(sg.data @ z) < problem.site_need[v] - 1e-9:
            return False
    return True


def solve(
    problem: Problem,
    budget: float,
    relax: frozenset[str] = frozenset(),
    force_on: np.ndarray | None = None,
    min_objective: float | None = None,
    min_count: int | None = None,
    cheapest: bool = False,
    warm: np.ndarray | None = None,
    time_limit: float | None = None,
    gap: float | None = None,
) -> Solution:
    """Solve the MILP for one budget (million Rp), on the reduced problem.

    The exact reductions of :func:`despro.rollout.reduce.reduce` run first; the MILP
    (:mod:`despro.rollout.milp`) is solved by ``[plan] solver`` from the greedy plan,
    which it never does worse than.

    Parameters
    ----------
    problem : Problem
    budget : float
        Million Rp.
    relax : frozenset of str
        Constraints dropped: ``budget``, ``max_cost_per_regency``, ``must_do``, ``never_do``.
    force_on : ndarray of bool, optional
        Items held in besides ``must_do`` (earlier waves).
    min_objective, min_count : optional
        Lower bounds on the objective and on the villages made ready.
    cheapest : bool
        Minimise the cost instead (with ``min_count``: the cheapest plan making that
        many villages ready).
    warm : ndarray of bool, optional
        A feasible choice of items to start from; a greedy plan (:func:`greedy`) extends
        it to the solver's first incumbent.
    time_limit : float, optional
        Seconds (default ``[plan] time_limit_s``).
    gap : float, optional
        Relative gap to stop at (default ``[plan] gap``).

    Returns
    -------
    Solution
        ``gap`` is the solver's bound against the plan kept (0: proved optimal); its
        ``extra`` holds the reduction's counts (``reduced``) and the solver's status.

    Raises
    ------
    InfeasibleError
        Names the constraint to relax.
    """
    from despro.rollout import milp
    from despro.rollout.reduce import reduce

    cfg = problem.config
    items = problem.items
    vt = problem.villages
    cost = items["cost"].to_numpy(float)
    on = np.zeros(len(items), bool) if "must_do" in relax else problem.fixed_on.copy()
    if force_on is not None:
        on |= force_on
    off = np.zeros(len(items), bool) if "never_do" in relax else problem.fixed_off & ~on
    b = np.inf if "budget" in relax else budget
    cap = None if "max_cost_per_regency" in relax else cfg.max_cost_per_regency
    _check(problem, on, b, cap)
    base = vt["base_ready"].to_numpy(bool)
    w_all = vt["objective_weight"].to_numpy(float)
    targets = np.flatnonzero(vt["target"].to_numpy(bool))
    wmin = float(w_all[targets].min()) if len(targets) else 1.0
    limit = cfg.time_limit_s if time_limit is None else time_limit
    target_gap = cfg.gap if gap is None else gap
    t_start = time.perf_counter()

    red = reduce(problem, on, off, b, cap)
    clock = {"reduce_s": time.perf_counter() - t_start}
    ni, nv, nc = len(red.items), len(red.vill), red.gain.shape[1]
    start = on | (warm if warm is not None else np.zeros(len(items), bool))
    floor = None if cheapest else greedy(problem, b, start=start, allowed=~off, cap=cap)
    clock["greedy_s"] = time.perf_counter() - t_start - clock["reduce_s"]

    def finish(chosen: np.ndarray, status: str, gap: float) -> Solution:
        ready = ready_given(problem, chosen)
        sol = Solution(
            chosen,
            ready,
            float(w_all[ready & ~base].sum()),
            float(cost[chosen].sum()),
            gap,
            status,
            budget,
            {
                "reduced": red.stats,
                "timings_s": {
                    k: round(v, 3) if isinstance(v, float) else v for k, v in clock.items()
                },
            },
        )
        _verify(problem, sol, b, cap, on, off)
        return sol

    n_vars = ni + nv + nc
    if n_vars > cfg.max_milp_variables:
        if cheapest:
            raise DesproError("the plan's MILP is above plan.max_milp_variables")
        chosen = floor
        if min_count is not None or min_objective is not None:
            prev = warm if warm is not None else start
            if _objective(problem, chosen) < _objective(problem, prev):
                chosen = prev
        return finish(chosen, f"greedy: {n_vars:,} variables above plan.max_milp_variables", np.nan)
    if nv == 0:  # nothing can be made ready: the held items only
        if (min_count or 0) > 0 or (min_objective or 0.0) > 1e-9:
            raise _infeasible("no village can be made ready by these items", "budget")
        return finish(on.copy(), "Optimal", 0.0)

    # held programmes are folded away: their cost comes off the budget and the caps
    total = float(cost.sum()) + 1.0
    eps = 0.01 * max(wmin, 1e-9) / total
    held_reg = pd.Series(cost[red.held_items]).groupby(milp.regencies(items, red.held_items)).sum()
    left = b - red.held_cost

    def matrices_of(sub: Reduced) -> milp.Matrices:
        reg_i = milp.regencies(items, sub.items)
        reg_v = milp.regencies(vt, sub.vill)
        cap_left = None
        if cap is not None:
            keys = np.unique(np.concatenate([reg_i, reg_v]))
            cap_left = cap - held_reg.reindex(keys).fillna(0.0)
        return milp.matrices(
            sub,
            cost[sub.items],
            reg_i,
            reg_v,
            left,
            cap_left,
            eps,
            cheapest=cheapest,
            min_objective=min_objective,
            min_count=min_count,
        )

    def chosen_of(sub: Reduced, values: np.ndarray) -> np.ndarray:
        out = on.copy()
        k = len(sub.items)
        out[sub.items] |= values[:k] > 0.5
        p = sub.vprog[values[k : k + len(sub.vill)] > 0.5]
        out[p[p >= 0]] = True
        return out

    unit = _unit(red.w) if nv and not cheapest else None

    def gap_of(achieved: float, bound: float | None) -> float:
        """Relative gap of ``achieved`` to a bound on the minimised objective."""
        if bound is None:
            return 0.0
        if not np.isfinite(bound):
            return np.nan
        best = -bound + 0.01 * max(wmin, 1e-9)  # the tie-break's share of the bound
        if unit is not None:  # the objective moves by whole units
            best = np.floor(best / unit + 1e-9) * unit
        return max(0.0, best - achieved) / max(achieved, 1e-9) if best > achieved + 1e-9 else 0.0

    def elapsed() -> float:
        return time.perf_counter() - t_start

    # bounds first, cheapest first: the knapsack of the villages' own costs plus a floor
    # on their share of the shared items (milliseconds); then the pool: the MILP on the
    # villages cheapest by that floor (a plan, often the optimum, in a second); then the
    # LP relaxation; when the best plan so far is within the gap of a bound, no branching
    floor_obj = None if floor is None else _objective(problem, floor)
    lp_bound = None
    mat = None
    for step in ("knapsack", "pool", "lp"):
        if cheapest or nv == 0:
            break
        b_step = None
        t_step = time.perf_counter()
        if step == "knapsack":
            own = red.vcost + shared_floor(red, cost[red.items])
            b_step = -knapsack_bound(red.w, own, left)
        elif step == "pool":
            pool = _pool(red, own, left)
            if pool is None:
                continue
            clock["pool_villages"] = len(pool)
            sub = restrict(red, pool)
            t_pool = min(POOL_SHARE * limit, limit - elapsed())
            ans = milp.highs(matrices_of(sub), max(0.5, t_pool), target_gap)
            if ans.values is not None:
                cand = chosen_of(sub, ans.values)
                if floor is None or _better(problem, cand, floor):
                    floor, floor_obj = cand, _objective(problem, cand)
                    step = "knapsack"  # the bound the pool's plan is checked against
        else:
            if floor is not None and n_vars > LP_VARIABLES_PER_S * (limit - elapsed()):
                clock["skipped"] = "lp, milp: too large for the time left"
                return finish(
                    floor,
                    f"time limit: greedy or pool plan kept ({n_vars:,} variables: the LP "
                    "would not finish in the time left)",
                    gap_of(floor_obj, lp_bound),
                )
            if floor is not None and limit - elapsed() < LP_MIN_SHARE * limit:
                clock["skipped"] = "lp, milp: time limit"
                return finish(
                    floor,
                    "time limit: greedy or pool plan kept (no time left for the LP)",
                    gap_of(floor_obj, lp_bound),
                )
            mat = matrices_of(red)
            lp = milp.lp_bound(mat, max(1.0, min(limit - elapsed(), LP_SHARE * limit)))
            if lp.status == "Infeasible":
                raise _infeasible(
                    "no plan satisfies the budget, the regency caps and must_do together",
                    "budget" if "budget" not in relax else "must_do",
                )
            b_step = lp.bound
            if lp.status != "Optimal" and floor is not None:
                # the MILP starts from this same LP: it would not finish either
                clock["lp_s"] = time.perf_counter() - t_step
                clock["skipped"] = "milp: the LP did not finish"
                return finish(
                    floor,
                    "time limit: greedy or pool plan kept (the LP did not finish)",
                    gap_of(floor_obj, lp_bound),
                )
        clock[f"{step}_s"] = time.perf_counter() - t_step
        if b_step is not None and np.isfinite(b_step):
            lp_bound = b_step if lp_bound is None else max(lp_bound, b_step)
        if floor_obj is not None and lp_bound is not None:
            g0 = gap_of(floor_obj, lp_bound)
            if g0 <= target_gap + 1e-12:
                return finish(floor, f"plan within the gap of the {step} bound", g0)
    if cheapest and n_vars > LP_VARIABLES_PER_S * (limit - elapsed()):
        raise DesproError(
            f"the cheapest plan's MILP ({n_vars:,} variables) would not finish in "
            f"{limit:,.0f} s; raise plan.time_limit_s"
        )
    if mat is None:
        mat = matrices_of(red)
    first = floor if floor is not None else (warm if warm is not None else None)
    x0 = None
    if first is not None:
        x0 = _start(problem, red, first)
    left_s = max(1.0, limit - elapsed())  # the time limit is per solve
    if floor is not None and limit - elapsed() < MILP_MIN_SHARE * limit:
        clock["skipped"] = "milp: time limit"
        return finish(
            floor,
            "time limit: greedy or pool plan kept (no time left for the MILP)",
            gap_of(floor_obj, lp_bound),
        )
    t_step = time.perf_counter()
    if cfg.solver == "cbc":
        ans = milp.cbc(mat, left_s, target_gap, x0)
    else:
        ans = milp.highs(mat, left_s, target_gap)
    clock["milp_s"] = time.perf_counter() - t_step
    if ans.status == "Infeasible":
        raise _infeasible(
            "no plan satisfies the budget, the regency caps and must_do together",
            "budget" if "budget" not in relax else "must_do",
        )
    chosen = None
    status = ans.status
    if ans.values is not None:
        chosen = chosen_of(red, ans.values)
    if floor is not None and (chosen is None or _better(problem, floor, chosen)):
        chosen, status = floor, f"{status}: greedy or pool plan kept"
    if chosen is None and warm is not None:
        chosen, status = start, f"{status}: first incumbent kept"
    if chosen is None:
        raise DesproError(
            f"the solver stopped with status '{ans.status}' on the plan (raise "
            "plan.time_limit_s, or loosen plan.gap)"
        )
    if cheapest:
        return finish(chosen, status, 0.0 if ans.bound is None else np.nan)
    bound = ans.bound
    if bound is not None and lp_bound is not None and np.isfinite(lp_bound):
        bound = max(bound, lp_bound)  # the tighter of the two lower bounds (minimised)
    return finish(chosen, status, gap_of(_objective(problem, chosen), bound))


def _pool(red: Reduced, own: np.ndarray, budget: float) -> np.ndarray | None:
    """The villages (positions in ``red.vill``) cheapest per unit of weight by their
    floor cost ``own``, until their floor costs add up to :data:`POOL_FACTOR` budgets
    (ties at the edge included); None when that is most of the villages or more than
    :data:`POOL_MAX`."""
    if not np.isfinite(budget) or len(red.vill) < 2:
        return None
    ratio = own / np.maximum(red.w, 1e-12)
    order = np.argsort(ratio, kind="stable")
    cum = np.cumsum(own[order])
    k = int(np.searchsorted(cum, POOL_FACTOR * budget, side="right")) + 1
    if k >= len(order):
        return None
    edge = ratio[order[min(k, len(order) - 1)]]
    k = max(k, int(np.searchsorted(ratio[order], edge, side="right")))
    if k >= POOL_MAX_SHARE * len(order) or k > POOL_MAX:
        return None
    return order[:k]


def shared_floor(red: Reduced, cost: np.ndarray) -> np.ndarray:
    """Per kept village, a floor on its share of the outlets and sites it needs.

    Each outlet's and site's cost is split evenly over the villages it can serve (that
    need one). A village needing ``k`` outlets pays at least ``k`` times the cheapest
    share among the outlets serving it; a village short of ``g`` points pays at least
    ``g`` times the cheapest share per point, ``share / min(points, g)``, among the sites
    touching it (the points of its sites add up to at least ``g``, overlaps counted in
    each). Valid: the shares charged to the villages a plan makes ready never exceed
    what its items cost."""
    nv = len(red.vill)
    out = np.zeros(nv)
    if red.cover.shape[1] and (red.k > 0).any():
        need = red.k > 0
        inc = sp.csr_matrix(red.cover, copy=True)
        inc.data[:] = 1.0
        served = np.asarray(inc[need].sum(axis=0)).ravel()
        share = np.divide(cost, served, out=np.full(len(cost), np.inf), where=served > 0)
        cheapest = _row_min(inc, share)
        ok = need & np.isfinite(cheapest)
        out[ok] += red.k[ok] * cheapest[ok]
    if red.gain.shape[1] and (red.g > 0).any():
        need = red.g > 0
        per = sp.csr_matrix(red.gain @ red.cell_site)
        per.eliminate_zeros()
        touch = per.copy()
        touch.data[:] = 1.0
        served = np.asarray(touch[need].sum(axis=0)).ravel()
        share = np.divide(cost, served, out=np.full(len(cost), np.inf), where=served > 0)
        g_row = np.repeat(red.g, np.diff(per.indptr))
        pts = np.minimum(per.data, g_row)
        unit = per.copy()
        unit.data = np.divide(share[per.indices], pts, out=np.full(len(pts), np.inf), where=pts > 0)
        cheapest = np.full(nv, np.inf)
        nz = np.diff(unit.indptr) > 0
        if unit.nnz:
            cheapest[nz] = np.minimum.reduceat(unit.data, unit.indptr[:-1][nz])
        ok = need & np.isfinite(cheapest)
        out[ok] += red.g[ok] * cheapest[ok]
    return out


def knapsack_bound(w: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """The fractional knapsack's optimum: at most how much weight ``w`` items of costs
    ``cost`` (million Rp) buy with ``budget`` (a bound on the plan's objective, since a
    village costs at least its own programme)."""
    if not np.isfinite(budget):
        return float(w.sum())
    free = cost <= 0
    total = float(w[free].sum())
    c, v = cost[~free], w[~free]
    order = np.argsort(-(v / c), kind="stable")
    spent = np.cumsum(c[order])
    full = spent <= budget
    total += float(v[order][full].sum())
    k = int(full.sum())
    if k < len(order):
        left = budget - (spent[k - 1] if k else 0.0)
        total += float(v[order][k] * max(left, 0.0) / c[order][k])
    return total


def _better(problem: Problem, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether plan ``a`` makes more weight ready than ``b``, or as much for less."""
    oa, ob = _objective(problem, a), _objective(problem, b)
    cost = problem.items["cost"].to_numpy(float)
    return oa > ob + 1e-9 or (oa >= ob - 1e-9 and cost[a].sum() < cost[b].sum() - 1e-6)


def _start(problem: Problem, red: Reduced, chosen: np.ndarray) -> np.ndarray:
    """A feasible point of the reduced MILP from a plan: its kept items, the villages
    they (with their programmes) make ready, the cells they cover."""
    keep = np.zeros(len(chosen), bool)
    keep[red.items] = chosen[red.items]
    p = red.vprog[red.vprog >= 0]
    keep[p] = chosen[p]
    keep[red.held_items] = True
    ready = ready_given(problem, keep) & ~problem.villages["base_ready"].to_numpy(bool)
    x = keep[red.items].astype(float)
    y = ready[red.vill].astype(float)
    z = np.minimum(red.cell_site @ x, 1.0) if red.gain.shape[1] else np.zeros(0)
    return np.concatenate([x, y, z])


def polish(
    problem: Problem,
    sol: Solution,
    relax: frozenset[str] = frozenset(),
    force_on: np.ndarray | None = None,
    time_limit: float | None = None,
) -> Solution:
    """The cheapest plan making at least the same villages' weight ready as ``sol``.

    A second solve that minimises cost under ``sum(objective_weight y) >= sol.objective``
    (CBC, without a start: given ``sol`` as its start it kept it); ``sol`` is kept when
    that solve finds nothing cheaper in ``time_limit`` seconds (default ``[plan]
    time_limit_s``). The gap is ``sol``'s.
    """
    if not sol.chosen.any():
        return sol
    try:
        cheaper = solve(
            problem,
            sol.budget,
            relax=relax,
            force_on=force_on,
            min_objective=sol.objective,
            cheapest=True,
            time_limit=time_limit,
        )
    except DesproError:
        return sol
    if cheaper.cost < sol.cost - 1e-9 and cheaper.objective >= sol.objective - 1e-9:
        cheaper.gap = sol.gap
        return cheaper
    return sol


def _check(problem: Problem, on: np.ndarray, budget: float, cap: float | None) -> None:
    """Name the constraint that must_do items break before solving."""
    items = problem.items
    cost = items["cost"].to_numpy(float)
    fixed = float(cost[on].sum())
    if fixed > budget + 1e-9:
        raise _infeasible(
            f"must_do items cost {fixed:,.0f} million Rp, above the budget of {budget:,.0f}",
            "budget",
        )
    if cap is not None and on.any():
        per = pd.Series(cost[on]).groupby(items["regency_code"].to_numpy()[on]).sum()
        over = per[per > cap + 1e-9]
        if len(over):
            raise _infeasible(
                f"must_do items in regency {over.index[0]} cost {over.iloc[0]:,.0f} million "
                f"Rp, above max_cost_per_regency = {cap:,.0f}",
                "max_cost_per_regency",
            )


def _verify(problem: Problem, sol: Solution, budget, cap, on, off) -> None:
    """Re-check the solver's answer against every constraint (a solver bug must not pass)."""
    items = problem.items
    cost = items["cost"].to_numpy(float)
    bad = []
    if sol.cost > budget * (1 + 1e-9) + 1e-6:
        bad.append(f"cost {sol.cost} above budget {budget}")
    if cap is not None:
        per = pd.Series(cost[sol.chosen]).groupby(items["regency_code"].to_numpy()[sol.chosen])
        if (per.sum() > cap * (1 + 1e-9) + 1e-6).any():
            bad.append("a regency above max_cost_per_regency")
    if (on & ~sol.chosen).any():
        bad.append("a must_do item left out")
    if (off & sol.chosen).any():
        bad.append("a never_do item chosen")
    if bad:
        raise DesproError(
            "the solver returned a plan that breaks its constraints ("
            + "; ".join(bad)
            + "); please report this with the config"
        )


def marginal(problem: Problem, sol: Solution) -> pd.DataFrame:
    """Per chosen item: villages (and weight) no longer ready when it alone is dropped.

    Returns
    -------
    DataFrame
        Indexed by item position: ``marginal_villages``, ``marginal_weight``,
        ``marginal_population`` and ``ready_thanks`` (codes, ``;``-separated).
    """
    vt = problem.villages
    codes = vt.index.to_numpy()
    w = vt["weight"].to_numpy(float)
    pop = np.nan_to_num(vt["population"].to_numpy(float))
    rows = {}
    for i in np.flatnonzero(sol.chosen):
        alt = sol.chosen.copy()
        alt[i] = False
        lost = sol.ready & ~ready_given(problem, alt)
        rows[i] = {
            "marginal_villages": int(lost.sum()),
            "marginal_weight": float(w[lost].sum()),
            "marginal_population": float(pop[lost].sum()),
            "ready_thanks": ";".join(codes[lost]),
        }
    return pd.DataFrame.from_dict(
        rows,
        orient="index",
        columns=["marginal_villages", "marginal_weight", "marginal_population", "ready_thanks"],
    )


def binding(problem: Problem, sol: Solution) -> pd.DataFrame:
    """One row per constraint: ``constraint, setting, relax_gain`` (newly ready villages
    gained without it), ``binding`` and ``detail``; one re-solve per constraint."""
    cfg = problem.config
    settings = {
        "budget": f"{sol.budget:,.0f}",
        "max_cost_per_regency": cfg.max_cost_per_regency,
        "must_do": ",".join(cfg.must_do),
        "never_do": ",".join(cfg.never_do),
    }
    base_new = int((sol.ready & ~problem.villages["base_ready"].to_numpy(bool)).sum())
    rows = []
    for name, setting in settings.items():
        if name == "max_cost_per_regency" and setting is None:
            continue
        if name in ("must_do", "never_do") and not setting:
            continue
        try:
            alt = solve(problem, sol.budget, relax=frozenset({name}))
        except InfeasibleError:
            alt = None
        if alt is None:
            gain, detail = np.nan, "still infeasible without it"
        else:
            new = int((alt.ready & ~problem.villages["base_ready"].to_numpy(bool)).sum())
            gain = new - base_new
            detail = f"without it: {new} villages made ready for {alt.cost:,.0f} million Rp"
        rows.append(
            {
                "constraint": name,
                "setting": setting,
                "relax_gain": gain,
                "binding": bool(gain > 0) if gain == gain else False,
                "detail": detail,
            }
        )
    return pd.DataFrame(rows, columns=["constraint", "setting", "relax_gain", "binding", "detail"])
