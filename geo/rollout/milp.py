"""The plan's MILP on a reduced problem (:mod:`despro.rollout.reduce`), as sparse matrices.

Variables: ``x_i`` (binary) per kept item, ``y_v`` (binary) per kept village (its folded
programme's cost with it), ``z_c`` (continuous in [0, 1]) per kept cell. Maximise
``sum(w_v y_v) - eps * cost`` (``eps`` below a hundredth of the smallest weight: among
equal plans the cheapest) subject to the budget, the regency caps, ``k_v y_v <= sum(x
of the outlets serving v)``, ``z_c <= sum(x of the sites covering c)``, ``g_v y_v <=
sum(gain_vc z_c)`` and two valid cuts that tighten the LP bound (some site must touch
the village; each site adds at most what its cells give), and optional lower bounds on
the objective and the count. ``cheapest`` minimises the cost instead.

Solvers: HiGHS (``scipy.optimize.milp``, the default: it keeps its time limit from the
first LP on, and reports its dual bound) or CBC (PuLP's bundled binary, started from the
greedy plan). Before either, :func:`despro.rollout.solve.solve` tries the cheap steps:
the greedy plan (:func:`despro.rollout.solve.greedy`), the knapsack bound
(:func:`despro.rollout.solve.knapsack_bound` with
:func:`despro.rollout.solve.shared_floor`, milliseconds), the pool (this MILP on the
villages cheapest by that floor, :func:`despro.rollout.reduce.restrict`), then the LP
relaxation (:func:`lp_bound`, at most half the time limit, skipped when the problem is
too large for the time left); the best plan within ``gap`` of a bound is kept without
branching. Either way the best plan so far is the floor: a solver that stops at its
time limit with nothing better keeps it, and the gap reported is the tightest bound's
against the plan kept.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from despro.errors import DesproError
from despro.rollout.reduce import Reduced

#: points of coverage the MILP asks above a village's need: a plan the solver accepts
#: within its feasibility tolerance (1e-6 scaled) still closes the gap when re-evaluated
MARGIN = 1e-4


@dataclass
class Matrices:
    """``min c @ v`` subject to ``lo <= A @ v <= hi``, bounds, integrality."""

    c: np.ndarray
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    names: list[str]


def matrices(
    red: Reduced,
    cost: np.ndarray,
    regency_items: np.ndarray,
    regency_villages: np.ndarray,
    budget: float,
    cap: float | pd.Series | None,
    eps: float,
    cheapest: bool = False,
    min_objective: float | None = None,
    min_count: int | None = None,
) -> Matrices:
    """The MILP of ``red`` as matrices (variables ``x``, then ``y``, then ``z``).

    Parameters
    ----------
    red : Reduced
    cost : ndarray
        Million Rp per kept item.
    regency_items, regency_villages : ndarray of str
        Regency of each kept item and village (for ``cap``).
    budget : float
        Million Rp left for the variables (``inf``: none).
    cap : float or Series, optional
        Million Rp per regency (a Series: per regency code, held costs already taken off).
    eps : float
        Cost tie-break per million Rp.
    """
    ni, nv, nc = len(red.items), len(red.vill), red.gain.shape[1]
    n = ni + nv + nc
    if cheapest:
        c = np.concatenate([cost, red.vcost, np.zeros(nc)])
    else:
        c = np.concatenate([eps * cost, -red.w + eps * red.vcost, np.zeros(nc)])
    blocks: list[sp.csr_matrix] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    names: list[str] = []

    def add(mat, low, high, name):
        mat = sp.csr_matrix(mat)
        if mat.shape[0]:
            blocks.append(mat)
            lo.append(np.broadcast_to(np.asarray(low, float), (mat.shape[0],)).copy())
            hi.append(np.broadcast_to(np.asarray(high, float), (mat.shape[0],)).copy())
            names.extend([name] * mat.shape[0])

    spend = np.concatenate([cost, red.vcost, np.zeros(nc)])
    if np.isfinite(budget):
        add(spend[None, :], -np.inf, budget, "budget")
    if cap is not None:
        regs = np.concatenate([regency_items, regency_villages])
        keys, grp = np.unique(regs, return_inverse=True)
        r = sp.csr_matrix((spend[: ni + nv], (grp, np.arange(ni + nv))), shape=(len(keys), n))
        limit = (
            cap.reindex(keys).fillna(np.inf).to_numpy(float) if isinstance(cap, pd.Series) else cap
        )
        add(r, -np.inf, limit, "max_cost_per_regency")
    yv = sp.eye(nv, format="csr")
    zeros_z = sp.csr_matrix((nv, nc))
    out = np.flatnonzero(red.k > 0)
    if len(out):
        m = sp.hstack([-red.cover[out], sp.diags(red.k).tocsr()[out], zeros_z[out]])
        add(m, -np.inf, 0.0, "outlet")
    if nc:
        m = sp.hstack([-red.cell_site, sp.csr_matrix((nc, nv)), sp.eye(nc)])
        add(m, -np.inf, 0.0, "cover")
        s = np.flatnonzero(red.g > 0)
        gy = sp.diags(red.g + MARGIN).tocsr()[s]  # above the solver's feasibility tolerance
        add(sp.hstack([sp.csr_matrix((len(s), ni)), gy, -red.gain[s]]), -np.inf, 0.0, "site")
        per = (red.gain @ red.cell_site).tocsr()[s]  # points each site alone gives
        touch = per.copy()
        touch.data[:] = 1.0
        add(sp.hstack([-touch, yv[s], zeros_z[s]]), -np.inf, 0.0, "site_any")
        capped = per.copy()
        capped.data = np.minimum(capped.data, np.repeat(red.g[s] + MARGIN, np.diff(per.indptr)))
        add(sp.hstack([-capped, gy, zeros_z[s]]), -np.inf, 0.0, "site_sum")
    if min_objective is not None and nv:
        row = np.concatenate([np.zeros(ni), red.w, np.zeros(nc)])
        add(row[None, :], min_objective - 1e-6, np.inf, "min_objective")
    if min_count is not None and nv:
        row = np.concatenate([np.zeros(ni), np.ones(nv), np.zeros(nc)])
        add(row[None, :], min_count, np.inf, "min_count")
    A = sp.vstack(blocks).tocsr() if blocks else sp.csr_matrix((0, n))
    lb = np.concatenate([red.on.astype(float), np.zeros(nv + nc)])
    ub = np.ones(n)
    integer = np.concatenate([np.ones(ni + nv), np.zeros(nc)]).astype(int)
    return Matrices(
        c,
        A,
        np.concatenate(lo) if lo else np.zeros(0),
        np.concatenate(hi) if hi else np.zeros(0),
        lb,
        ub,
        integer,
        names,
    )


@dataclass
class Answer:
    """A solver's answer: the variables (None: no plan), its status and its bound on
    the minimised objective (None: proved optimal; -inf: no bound)."""

    values: np.ndarray | None
    status: str
    bound: float | None


def highs(mat: Matrices, time_limit: float, gap: float) -> Answer:
    """Solve with HiGHS (``scipy.optimize.milp``)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    cons = [LinearConstraint(mat.A, mat.lo, mat.hi)] if mat.A.shape[0] else []
    res = milp(
        mat.c,
        constraints=cons,
        integrality=mat.integer,
        bounds=Bounds(mat.lb, mat.ub),
        options={"time_limit": float(time_limit), "mip_rel_gap": float(gap), "disp": False},
    )
    if res.status == 2:
        return Answer(None, "Infeasible", None)
    bound = getattr(res, "mip_dual_bound", None)
    bound = -np.inf if bound is None or not np.isfinite(bound) else float(bound)
    status = "Optimal" if res.status == 0 else "time limit"
    return Answer(None if res.x is None else np.asarray(res.x), status, bound)


def lp_bound(mat: Matrices, time_limit: float) -> Answer:
    """The LP relaxation's optimum (HiGHS): a bound on the MILP's minimised objective
    (``-inf`` when it stopped before the optimum)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    cons = [LinearConstraint(mat.A, mat.lo, mat.hi)] if mat.A.shape[0] else []
    res = milp(
        mat.c,
        constraints=cons,
        integrality=np.zeros_like(mat.integer),
        bounds=Bounds(mat.lb, mat.ub),
        options={"time_limit": float(time_limit), "disp": False},
    )
    if res.status == 2:
        return Answer(None, "Infeasible", None)
    if res.status != 0 or res.fun is None:
        return Answer(None, "time limit", -np.inf)
    return Answer(None, "Optimal", float(res.fun) - 1e-7 * max(1.0, abs(float(res.fun))))


def cbc(mat: Matrices, time_limit: float, gap: float, start: np.ndarray | None) -> Answer:
    """Solve with PuLP's bundled CBC, started from ``start`` (a feasible point)."""
    import pulp

    from despro.rollout.solve import _bound_from_log

    prob = pulp.LpProblem("despro_plan", pulp.LpMinimize)
    n = len(mat.c)
    v = [
        prob.add_variable(
            f"v{j}", mat.lb[j], mat.ub[j], cat="Binary" if mat.integer[j] else "Continuous"
        )
        for j in range(n)
    ]
    prob += pulp.lpDot(mat.c.tolist(), v)
    A = mat.A.tocsr()
    for r in range(A.shape[0]):
        lo, hi = A.indptr[r], A.indptr[r + 1]
        expr = pulp.lpDot(A.data[lo:hi].tolist(), [v[j] for j in A.indices[lo:hi]])
        if np.isfinite(mat.hi[r]):
            prob += expr <= float(mat.hi[r]), f"{mat.names[r]}_{r}_hi"
        if np.isfinite(mat.lo[r]):
            prob += expr >= float(mat.lo[r]), f"{mat.names[r]}_{r}_lo"
    if start is not None:
        for vj, s in zip(v, start, strict=True):
            vj.setInitialValue(float(s))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(
                msg=False,
                gapRel=gap,
                timeLimit=time_limit,
                logPath=str(log),
                threads=1,
                warmStart=start is not None,
            )
            if not cmd.available():
                raise DesproError(
                    "PuLP's bundled CBC solver is not available on this machine; "
                    "install pulp 3.x (pip install 'pulp>=3.3,<4'), or set plan.solver = 'highs'"
                )
            status = pulp.LpStatus[prob.solve(cmd)]
        text = log.read_text(errors="replace") if log.exists() else ""
    if status == "Infeasible":
        return Answer(None, "Infeasible", None)
    vals = [vj.value() for vj in v]
    values = None if any(x is None for x in vals) else np.array(vals, float)
    b = _bound_from_log(text)
    # _bound_from_log gives |bound| of a maximisation; here the objective is minimised
    bound = None if b is None else (-b if (mat.c < 0).any() else b)
    return Answer(values, "Optimal" if status == "Optimal" else status, bound)


def regencies(frame: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    """Regency code (text) of the rows ``pos`` of ``frame``."""
    if "regency_code" not in frame:
        return np.full(len(pos), "")
    return frame["regency_code"].astype(str).to_numpy()[pos]
