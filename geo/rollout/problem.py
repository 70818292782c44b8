"""Which villages interventions can make ready, and the candidate items that would.

For every village and gate rule (a village is ready when every gate rule passes):

* a passing rule needs nothing;
* a rule that an intervention kind changes (``[plan.site] rule``, ``[plan.outlet]
  rule``, the rules of ``[plan.programme] effects``), whose variable is known, *needs
  a fix*: the gap to the threshold (percentage points, companies) that items must close;
* any other unknown rule: under ``undetermined = "exclude"`` the village is not a
  target; under ``"p_ready"`` it counts weighted by the rule's modelled probability
  ``<rule>_prob`` (:mod:`despro.model`; no probability: not a target);
* any other failing rule (P1-P3, a ``<=`` rule, a gap larger than every candidate can
  close): not a target, with the reason.

Items (one row each in :attr:`Problem.items`): ``site:<h3>`` (cost = site + fibre spur
of ``backbone distance - free_km`` unless a covered cell lies within
``near_site_km``), ``outlet:<village>`` and ``programme:<village>``. Sites are placed
at the cells of villages that need coverage; outlets at villages that need a courier;
programmes in villages that need one. A site covers the cells whose centre lies within
``radius_km`` of its own; covering a cell raises the village's coverage rate by the
cell's share of the village's surveyed area (the run's own cell -> village transfer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from despro.config.plan import PlanConfig
from despro.config.settings import REGIONS, Rule
from despro.config.vocab import PASS, READY, UNKNOWN
from despro.errors import ConfigError
from despro.grid.cells import cell_centres, cells_to_str
from despro.grid.geodesic import EARTH_RADIUS_KM
from despro.rules.criteria import CRITERIA, ROUNDOFF

KINDS = ("site", "outlet", "programme")
TOL = 1e-6  # slack kept above a threshold so that solver round-off never lands below it


@dataclass
class PlanInputs:
    """What the plan reads from a run (:func:`inputs_from_result`); arrays, no files.

    Attributes
    ----------
    villages : DataFrame
        The run's village table without geometry, indexed by village code: values,
        ``<rule>_state``, ``tier``, ``population``, ``households``, ``regency_code``.
    lon, lat : ndarray
        One point inside each village (degrees), in ``villages`` order.
    rules : list of Rule
    variables : dict
        Variable name -> declaration (:class:`despro.variables.Variable`).
    evidence_order : tuple of str
    near_fraction : float
    cells : ndarray of uint64
        The H3 cells of the run.
    cell_columns : DataFrame
        The cell table's columns (no geometry), rows in ``cells`` order.
    weights : csr_matrix
        Village x cell transfer weights of the run.
    """

    villages: pd.DataFrame
    lon: np.ndarray
    lat: np.ndarray
    rules: list[Rule]
    variables: dict
    evidence_order: tuple[str, ...]
    near_fraction: float
    cells: np.ndarray
    cell_columns: pd.DataFrame
    weights: sp.csr_matrix


def inputs_from_result(result) -> PlanInputs:
    """The plan's inputs from a :class:`despro.pipeline.runner.Result` (no type hint:
    the engine does not import the pipeline).

    Parameters
    ----------
    result : despro.pipeline.runner.Result

    Returns
    -------
    PlanInputs
    """
    from despro.grid.geodesic import village_points

    v = result.villages
    lon, lat = village_points(v)
    cfg = result.config
    return PlanInputs(
        villages=pd.DataFrame(v.drop(columns="geometry")),
        lon=lon,
        lat=lat,
        rules=list(cfg.criteria.rules),
        variables=dict(result.variables),
        evidence_order=tuple(cfg.criteria.evidence_order),
        near_fraction=cfg.criteria.near_ready_fraction,
        cells=np.asarray(result.study.cells),
        cell_columns=result.cell_columns,
        weights=sp.csr_matrix(result.study.weights),
    )


@dataclass
class Problem:
    """Targets, items and the linear data of the MILP (:mod:`despro.rollout.solve`).

    Attributes
    ----------
    villages : DataFrame
        Indexed by village code: ``village_name, regency_code, province_code, tier,
        population, base_ready, target, weight`` (plain: 1, population or P-weighted),
        ``objective_weight`` (times ``priority_weight`` in priority regions),
        ``priority_region``, ``needs`` (rules to fix) and ``why_not`` (not a target).
    items : DataFrame
        One row per candidate: ``item_id, kind, h3, village_code, regency_code, cost,
        site_cost, spur_km, spur_cost, backhaul, lon, lat`` (costs in million Rp).
    prog_item : ndarray of int
        Per village, the programme item it needs (-1: none needed).
    outlet_need : ndarray
        Per village, companies to add (0: none).
    outlet_cover : csr_matrix
        Villages x items: 1 where an outlet item serves the village.
    site_need : ndarray
        Per village, percentage points of coverage to add (0: none).
    site_gain : csr_matrix
        Villages x gain cells: points added when the cell gets covered.
    cell_site : csr_matrix
        Gain cells x items: 1 where a site item covers the cell.
    fixed_on, fixed_off : ndarray of bool
        Items in ``must_do`` / ``never_do``.
    config : PlanConfig
    notes : list of str
    cache : dict
        What the solves share (:func:`despro.rollout.reduce.reduce`'s dominance).
    """

    villages: pd.DataFrame
    items: pd.DataFrame
    prog_item: np.ndarray
    outlet_need: np.ndarray
    outlet_cover: sp.csr_matrix
    site_need: np.ndarray
    site_gain: sp.csr_matrix
    cell_site: sp.csr_matrix
    fixed_on: np.ndarray
    fixed_off: np.ndarray
    config: PlanConfig
    notes: list[str]
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_items(self) -> int:
        """Number of candidate items."""
        return len(self.items)


def _prefixes(regions: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for r in regions:
        out.extend(REGIONS.get(r.lower(), (r,)))
    return tuple(out)


def _need(rule: Rule, value: np.ndarray) -> np.ndarray:
    """Gap to the threshold in the rule's unit (>= rules; NaN for <= rules and NaN values)."""
    t = rule.threshold
    if rule.op not in (">=", ">"):
        return np.full(len(value), np.nan)
    gap = t - value + (TOL if rule.op == ">" else 0.0)
    return gap


def _ball(lon_b, lat_b, lon_a, lat_a, radius_km: float) -> list[np.ndarray]:
    """For each point a, indices of points b within ``radius_km`` (great circle)."""
    from sklearn.neighbors import BallTree

    if len(lon_b) == 0 or len(lon_a) == 0:
        return [np.empty(0, dtype=int) for _ in range(len(lon_a))]
    tree = BallTree(np.radians(np.column_stack([lat_b, lon_b])), metric="haversine")
    return list(
        tree.query_radius(
            np.radians(np.column_stack([lat_a, lon_a])), r=radius_km / EARTH_RADIUS_KM
        )
    )


def _rules_by_id(rules: list[Rule], cfg: PlanConfig) -> dict[str, Rule]:
    ids = {r.id: r for r in rules if r.role == "gate"}
    used = {"plan.site.rule": cfg.site.rule, "plan.outlet.rule": cfg.outlet.rule}
    used.update({f"plan.programme.effects.{k}": k for k in cfg.programme.effects})
    for key, rid in used.items():
        if rid not in ids:
            raise ConfigError(
                f"rule '{rid}' is not a gate rule of [criteria] (gate rules: {sorted(ids)})",
                key=key,
            )
    return ids


def _village_item(kind: str, code: str, regency: str, cost: float, lon: float, lat: float) -> dict:
    """One candidate placed at a village (a programme or an outlet): no site, no spur."""
    return {
        "item_id": f"{kind}:{code}",
        "kind": kind,
        "h3": "",
        "village_code": code,
        "regency_code": regency,
        "cost": float(cost),
        "site_cost": np.nan,
        "spur_km": np.nan,
        "spur_cost": np.nan,
        "backhaul": "",
        "lon": lon,
        "lat": lat,
    }


def build_problem(inputs: PlanInputs, cfg: PlanConfig) -> Problem:
    """Targets and candidate items (module docstring).

    Parameters
    ----------
    inputs : PlanInputs
        From :func:`inputs_from_result`.
    cfg : PlanConfig
        ``[plan]`` (costs in million Rp, distances in km, effects in percentage points).

    Returns
    -------
    Problem
    """
    v = inputs.villages
    codes = pd.Index(v.index.astype(str))
    n = len(v)
    rules = _rules_by_id(inputs.rules, cfg)
    wanted = scope_criteria(cfg)
    gates = [r for r in inputs.rules if r.role == "gate" and r.criterion in wanted]
    notes: list[str] = []
    covered = {r.criterion for r in gates}
    base_ready = base_ready_of(v, cfg)
    blocked = np.zeros(n, bool)
    why = np.full(n, "", dtype=object)
    prob = np.ones(n)
    uncertain = np.zeros(n, bool)
    missing = [c for c in wanted if c not in covered]
    if missing:
        blocked[:] = True
        why[:] = f"criteria {missing} have no gate rule"

    kind_of: dict[str, str] = {}
    if cfg.site.enabled:
        kind_of[cfg.site.rule] = "site"
    if cfg.outlet.enabled:
        kind_of[cfg.outlet.rule] = "outlet"
    if cfg.programme.enabled:
        for rid in cfg.programme.effects:
            kind_of.setdefault(rid, "programme")

    tally: dict[str, tuple[int, int, str]] = {}
    needs = np.full(n, "", dtype=object)
    prog_need = np.zeros(n, bool)
    outlet_need = np.zeros(n)
    site_need = np.zeros(n)
    for r in gates:
        state = v[f"{r.id}_state"].astype(object).to_numpy() if f"{r.id}_state" in v else None
        if state is None:
            state = np.full(n, UNKNOWN, dtype=object)
        ok = state == PASS
        kind = kind_of.get(r.id)
        value = v[r.variable].to_numpy(float) if r.variable in v.columns else np.full(n, np.nan)
        fixable = np.zeros(n, bool)
        if kind is not None:
            gap = _need(r, value)
            known = ~np.isnan(gap)
            if kind == "programme":
                pp = cfg.programme.effects[r.id]
                after = (
                    np.minimum(value + pp, 100.0) if r.unit.startswith("percent") else value + pp
                )
                reach = after >= r.threshold + (TOL if r.op == ">" else 0.0) - ROUNDOFF * max(
                    1.0, abs(r.threshold)
                )
                fixable = ~ok & known & reach
                prog_need |= fixable
            elif kind == "outlet":
                # an unknown count is at least 0: a new outlet is one company for sure
                gap = np.where(np.isnan(value), r.threshold, gap)
                known = ~np.isnan(gap)
                fixable = ~ok & known
                outlet_need = np.where(
                    fixable,
                    np.maximum(outlet_need, np.maximum(np.ceil(gap - 1e-9), 1.0)),
                    outlet_need,
                )
            else:
                fixable = ~ok & known
                site_need = np.where(fixable, np.maximum(gap, 0.0) + TOL, site_need)
            needs = np.where(fixable, needs + r.id + ",", needs)
            short = ~ok & known & ~fixable
            why = np.where(short & (why == ""), f"{r.id}: gap beyond the {kind}'s effect", why)
            blocked |= short
        rest = ~ok & ~fixable
        fail = rest & (state != UNKNOWN)
        tally[r.id] = (int((rest & (state == UNKNOWN)).sum()), int(fail.sum()), r.variable)
        why = np.where(fail & (why == ""), f"{r.id} fails, no intervention changes it", why)
        blocked |= fail
        unk = rest & (state == UNKNOWN)
        if cfg.undetermined == "p_ready" or cfg.objective == "p_ready":
            col = f"{r.id}_prob"
            p = v[col].to_numpy(float) if col in v else np.full(n, np.nan)
            prob = np.where(unk, prob * p, prob)
            uncertain |= unk
            nop = unk & np.isnan(p)
            why = np.where(nop & (why == ""), f"{r.id} unknown, no modelled probability", why)
            blocked |= nop
        else:
            why = np.where(unk & (why == ""), f"{r.id} unknown (undetermined: excluded)", why)
            blocked |= unk
    target = ~base_ready & ~blocked & (needs != "")
    lacking = [
        f"{rid} ({var}) unknown in {u:,} villages"
        + (f", failing beyond any intervention in {f:,}" if f else "")
        for rid, (u, f, var) in tally.items()
        if u or f
    ]
    if lacking:
        notes.append(
            "villages no intervention can make ready, by rule (data needed where unknown): "
            + "; ".join(lacking)
        )

    # -- items -------------------------------------------------------------------------
    rows: list[dict] = []
    regency = v["regency_code"].astype(str).to_numpy() if "regency_code" in v else np.full(n, "")
    names = v["village_name"].to_numpy(object) if "village_name" in v else codes.to_numpy()

    prog_item = np.full(n, -1)
    if cfg.programme.enabled:
        hh = v["households"].to_numpy(float) if "households" in v else np.full(n, np.nan)
        if cfg.programme.households_if_unknown is not None:
            hh = np.where(hh > 0, hh, cfg.programme.households_if_unknown)
        no_hh = target & prog_need & ~(hh > 0)
        why = np.where(no_hh, "households unknown: programme cannot be costed", why)
        target &= ~no_hh
        for i in np.flatnonzero(target & prog_need):
            prog_item[i] = len(rows)
            rows.append(
                _village_item(
                    "programme",
                    codes[i],
                    regency[i],
                    hh[i] * cfg.programme.cost_per_household,
                    inputs.lon[i],
                    inputs.lat[i],
                )
            )

    out_need = target & (outlet_need > 0)
    out_idx = np.flatnonzero(out_need)
    outlet_cols: list[int] = []
    out_rows, out_cols = [], []
    if cfg.outlet.enabled and len(out_idx):
        served = _ball(
            inputs.lon[out_idx],
            inputs.lat[out_idx],
            inputs.lon[out_idx],
            inputs.lat[out_idx],
            cfg.outlet.radius_km,
        )
        for j, i in enumerate(out_idx):
            item = len(rows)
            outlet_cols.append(item)
            rows.append(
                _village_item(
                    "outlet", codes[i], regency[i], cfg.outlet.cost, inputs.lon[i], inputs.lat[i]
                )
            )
            for k in served[j]:
                out_rows.append(out_idx[k])
                out_cols.append(item)

    # sites: cells of villages that need coverage
    site_rows: list[int] = []
    gain = sp.csr_matrix((n, 0))
    cell_site_r: list[int] = []
    cell_site_c: list[int] = []
    gain_cells = np.empty(0, dtype=int)
    s_need = target & (site_need > 0)
    if cfg.site.enabled and s_need.any():
        rule = rules[cfg.site.rule]
        cc = inputs.cell_columns
        numc, denc = f"{rule.variable}__num", f"{rule.variable}__den"
        if numc not in cc or denc not in cc:
            raise ConfigError(
                f"a site raises rule {rule.id}, but its variable '{rule.variable}' is not a "
                "rate computed on cells (no coverage layer configured?)",
                key="plan.site.rule",
            )
        num = np.nan_to_num(cc[numc].to_numpy(float))
        den = np.nan_to_num(cc[denc].to_numpy(float))
        w = inputs.weights.tocsc()
        colsum = np.asarray(w.sum(axis=0)).ravel()
        inv = np.divide(1.0, colsum, out=np.zeros_like(colsum), where=colsum > 0)
        b = (inputs.weights @ sp.diags(inv)).tocsr()  # each village's share of a cell
        d_v = b @ den
        sub = b[np.flatnonzero(s_need)]
        cand_cells = np.unique(sub.indices)
        open_cells = cand_cells[(den[cand_cells] - num[cand_cells]) > 0]
        gain_cells = open_cells
        g = b[:, gain_cells].multiply((den[gain_cells] - num[gain_cells])[None, :]).tocsr()
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(d_v > 0, 100.0 / d_v, 0.0)
        g = sp.diags(np.where(s_need, scale, 0.0)) @ g
        gain = sp.csr_matrix(g)
        gain.eliminate_zeros()
        # candidate site cells: the open cells of those villages, with backhaul
        clon, clat = cell_centres(inputs.cells[gain_cells])
        share = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        covered_cells = np.flatnonzero(share >= cfg.site.covered_share)
        alon, alat = cell_centres(inputs.cells[covered_cells])
        near = (
            np.array(
                [len(x) > 0 for x in _ball(alon, alat, clon, clat, cfg.site.near_site_km)], bool
            )
            if cfg.site.near_site_km > 0
            else np.zeros(len(gain_cells), bool)
        )
        bb = (
            cc["backbone_distance_m"].to_numpy(float)[gain_cells] / 1000.0
            if "backbone_distance_m" in cc
            else np.full(len(gain_cells), np.nan)
        )
        fibre = bb <= cfg.site.max_backbone_km
        ok = near | fibre
        if not ok.any():
            notes.append(
                "no candidate site: no cell of a village lacking coverage lies within "
                f"{cfg.site.max_backbone_km} km of the backbone or {cfg.site.near_site_km} km "
                "of a covered cell"
            )
        host_w = inputs.weights[:, gain_cells].tocsc()
        hosts = np.asarray(host_w.argmax(axis=0)).ravel()
        h3s = cells_to_str(inputs.cells[gain_cells])
        cand = np.flatnonzero(ok)
        reach = _ball(clon, clat, clon[cand], clat[cand], cfg.site.radius_km)
        for j, c in enumerate(cand):
            spur_km = 0.0 if near[c] else max(0.0, bb[c] - cfg.spur.free_km)
            spur_cost = spur_km * cfg.spur.cost_per_km
            item = len(rows)
            site_rows.append(item)
            rows.append(
                {
                    "item_id": f"site:{h3s[c]}",
                    "kind": "site",
                    "h3": h3s[c],
                    "village_code": codes[hosts[c]],
                    "regency_code": regency[hosts[c]],
                    "cost": float(cfg.site.cost + spur_cost),
                    "site_cost": float(cfg.site.cost),
                    "spur_km": float(spur_km),
                    "spur_cost": float(spur_cost),
                    "backhaul": "radio" if near[c] else "fibre",
                    "lon": clon[c],
                    "lat": clat[c],
                }
            )
            for k in reach[j]:
                cell_site_r.append(k)
                cell_site_c.append(item)

    if site_rows:
        rows, cell_site_r, cell_site_c = _prune_sites(
            rows, site_rows, cell_site_r, cell_site_c, set(cfg.must_do), set(cfg.never_do)
        )
    items = pd.DataFrame(
        rows,
        columns=[
            "item_id",
            "kind",
            "h3",
            "village_code",
            "regency_code",
            "cost",
            "site_cost",
            "spur_km",
            "spur_cost",
            "backhaul",
            "lon",
            "lat",
        ],
    )
    m = len(items)
    outlet_cover = sp.csr_matrix((np.ones(len(out_rows)), (out_rows, out_cols)), shape=(n, m))
    cell_site = sp.csr_matrix(
        (np.ones(len(cell_site_r)), (cell_site_r, cell_site_c)), shape=(len(gain_cells), m)
    )

    # reachability: with every candidate built, can each target close its gaps?
    all_on = np.ones(m)
    z = np.minimum(cell_site @ all_on, 1.0)
    site_max = gain @ z if gain.shape[1] else np.zeros(n)
    short_site = target & (site_need > 0) & (site_max < site_need - 1e-9)
    why = np.where(short_site, f"{cfg.site.rule}: no candidate site closes the gap", why)
    short_out = target & (outlet_need > 0) & ((outlet_cover @ all_on) < outlet_need)
    why = np.where(short_out, f"{cfg.outlet.rule}: not enough outlets within reach", why)
    target &= ~short_site & ~short_out

    base = v["population"].to_numpy(float) if cfg.objective == "population" else np.ones(n)
    weight = np.where(target | base_ready, np.nan_to_num(base) * np.where(target, prob, 1.0), 0.0)
    prio = (
        codes.str.startswith(_prefixes(cfg.priority_regions))
        if cfg.priority_regions
        else (np.zeros(n, bool))
    )
    vt = pd.DataFrame(
        {
            "village_name": names,
            "regency_code": regency,
            "province_code": v["province_code"].astype(str).to_numpy()
            if "province_code" in v
            else np.full(n, ""),
            "tier": v["tier"].to_numpy(object),
            "population": v["population"].to_numpy(float) if "population" in v else np.nan,
            "base_ready": base_ready,
            "target": target,
            "weight": weight,
            "objective_weight": weight * np.where(prio, cfg.priority_weight, 1.0),
            "priority_region": np.asarray(prio, bool),
            "uncertain": target & uncertain,
            "needs": pd.Series(needs).str.rstrip(",").to_numpy(object),
            "why_not": np.where(target | base_ready, "", why),
        },
        index=codes,
    )
    vt.index.name = "village_code"
    fixed_on, fixed_off = _fixed(items, cfg, codes)
    return Problem(
        vt,
        items,
        np.where(target, prog_item, -1),
        np.where(target, outlet_need, 0.0),
        outlet_cover,
        np.where(target, site_need, 0.0),
        gain,
        cell_site,
        fixed_on,
        fixed_off,
        cfg,
        notes,
    )


def _prune_sites(
    rows: list[dict],
    site_rows: list[int],
    cell_r: list[int],
    cell_c: list[int],
    keep_ids: set[str],
    banned: set[str],
) -> tuple[list[dict], list[int], list[int]]:
    """Drop dominated site candidates: one whose covered cells are a subset of another's
    that costs no more (equal sets: the first kept). Exact: swapping a dominated site for
    its dominator never uncovers a cell nor raises the cost. Sites are the last rows;
    ``keep_ids`` (must_do) are never dropped, ``banned`` (never_do) dominate nothing."""
    first = site_rows[0]
    m = len(site_rows)
    cov = sp.csr_matrix(
        (np.ones(len(cell_r)), (cell_r, np.asarray(cell_c) - first)),
        shape=(max(cell_r, default=-1) + 1, m),
    )
    cost = np.array([rows[i]["cost"] for i in site_rows])
    size = np.asarray(cov.sum(axis=0)).ravel()
    inter = (cov.T @ cov).tocoo()
    ids = [rows[i]["item_id"] for i in site_rows]
    hosts = [rows[i]["village_code"] for i in site_rows]
    keep = np.array([i in keep_ids for i in ids], bool)
    ban = np.array([i in banned or h in banned for i, h in zip(ids, hosts, strict=True)], bool)
    ban |= "site" in banned
    dead = (size == 0) & ~keep
    for a, b, k in zip(inter.row, inter.col, inter.data, strict=True):
        if a == b or dead[a] or dead[b] or keep[a] or ban[b] or k < size[a]:
            continue  # a is not inside b
        if cost[b] < cost[a] or (cost[b] == cost[a] and (size[b] > size[a] or b < a)):
            dead[a] = True
    keep = np.flatnonzero(~dead)
    new_pos = np.full(m, -1)
    new_pos[keep] = first + np.arange(len(keep))
    out_rows = rows[:first] + [rows[first + j] for j in keep]
    cc = new_pos[np.asarray(cell_c) - first]
    ok = cc >= 0
    return out_rows, list(np.asarray(cell_r)[ok]), list(cc[ok])


def scope_criteria(cfg: PlanConfig) -> tuple[str, ...]:
    """The criteria a village must pass to count: all six, or I1-I3 (``scope``)."""
    return CRITERIA if cfg.scope == "ready" else tuple(c for c in CRITERIA if c.startswith("I"))


def base_ready_of(villages: pd.DataFrame, cfg: PlanConfig) -> np.ndarray:
    """Villages that count already: tier ready, or (``infrastructure``) I1-I3 passing."""
    if cfg.scope == "ready":
        return (villages["tier"] == READY).to_numpy(bool)
    ok = np.ones(len(villages), bool)
    for c in scope_criteria(cfg):
        col = f"{c}_state"
        ok &= (villages[col] == PASS).to_numpy(bool) if col in villages else False
    return ok


def _fixed(items: pd.DataFrame, cfg: PlanConfig, codes: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Items held in (``must_do``) and out (``never_do``: ids, kinds or village codes)."""
    ids = pd.Index(items["item_id"])
    unknown = [i for i in cfg.must_do if i not in ids]
    if unknown:
        example = ", ".join(ids[:3]) or "none: no village can be made ready"
        raise ConfigError(
            f"must_do item(s) {unknown[:5]} are not candidates of this run (candidates "
            f"look like: {example}); run 'despro plan' once and pick ids from plan_candidates.csv",
            key="plan.must_do",
        )
    on = ids.isin(cfg.must_do)
    never = set(cfg.never_do)
    off = (
        ids.isin(never)
        | items["kind"].isin(never).to_numpy()
        | items["village_code"].isin(never).to_numpy()
    )
    return np.asarray(on, bool), np.asarray(off, bool) & ~np.asarray(on, bool)
