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
at open cells of villages that need coverage, thinned to one per H3 parent and repaired
(:mod:`despro.rollout.sites`); outlets at villages that need a courier; programmes in
villages that need one. A site covers the cells whose centre lies within ``radius_km``
of its own; covering a cell raises the village's coverage rate by the cell's share of
the village's surveyed area (the run's own cell -> village transfer).
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
from despro.grid.cells import cell_centres
from despro.grid.geodesic import EARTH_RADIUS_KM
from despro.rollout.notes import Note, count_id
from despro.rules.criteria import CRITERIA, ROUNDOFF

KINDS = ("site", "outlet", "programme")
ITEM_COLUMNS = [
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
]
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
    lacking = [(rid, var, u, f) for rid, (u, f, var) in tally.items() if u or f]
    if lacking:
        notes.append(
            Note(
                "villages no intervention can make ready, by rule (data needed where "
                "unknown): "
                + "; ".join(
                    f"{rid} ({var}) unknown in {u:,} villages"
                    + (f", failing beyond any intervention in {f:,}" if f else "")
                    for rid, var, u, f in lacking
                ),
                "desa yang tidak dapat disiapkan oleh intervensi apa pun, per aturan (data "
                "yang dibutuhkan bila tidak diketahui): "
                + "; ".join(
                    f"{rid} ({var}) tidak diketahui di {count_id(u)} desa"
                    + (f", gagal melampaui jangkauan intervensi di {count_id(f)}" if f else "")
                    for rid, var, u, f in lacking
                ),
            )
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
    out_rows = np.zeros(0, dtype=np.int64)
    out_cols = np.zeros(0, dtype=np.int64)
    if cfg.outlet.enabled and len(out_idx):
        served = _ball(
            inputs.lon[out_idx],
            inputs.lat[out_idx],
            inputs.lon[out_idx],
            inputs.lat[out_idx],
            cfg.outlet.radius_km,
        )
        first = len(rows)
        for i in out_idx:
            rows.append(
                _village_item(
                    "outlet", codes[i], regency[i], cfg.outlet.cost, inputs.lon[i], inputs.lat[i]
                )
            )
        lens = np.fromiter((len(x) for x in served), dtype=np.int64, count=len(served))
        flat = np.concatenate(served).astype(np.int64) if lens.sum() else np.zeros(0, np.int64)
        out_rows = out_idx[flat]
        out_cols = first + np.repeat(np.arange(len(out_idx)), lens)

    # sites: open cells of villages that need coverage (despro.rollout.sites)
    gain = sp.csr_matrix((n, 0))
    cell_site_r = np.zeros(0, dtype=np.int64)
    cell_site_c = np.zeros(0, dtype=np.int64)
    gain_cells = np.empty(0, dtype=int)
    site_table = None
    s_need = target & (site_need > 0)
    if cfg.site.enabled and s_need.any():
        site_table, gain_cells, gain, (cell_site_r, cell_site_c) = _site_items(
            inputs, cfg, rules, s_need, site_need, codes.to_numpy(object), regency, notes
        )

    items = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    if site_table is not None and len(site_table):
        site_table, cell_site_r, cell_site_c = _prune_sites(
            site_table, cell_site_r, cell_site_c, set(cfg.must_do), set(cfg.never_do)
        )
        cell_site_c = cell_site_c + len(items)
        items = (
            pd.concat([items, site_table[ITEM_COLUMNS]], ignore_index=True)
            if len(items)
            else site_table[ITEM_COLUMNS].reset_index(drop=True)
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


def _site_items(
    inputs: PlanInputs,
    cfg: PlanConfig,
    rules: dict[str, Rule],
    s_need: np.ndarray,
    site_need: np.ndarray,
    codes: np.ndarray,
    regency: np.ndarray,
    notes: list[str],
) -> tuple[pd.DataFrame, np.ndarray, sp.csr_matrix, tuple[np.ndarray, np.ndarray]]:
    """The site candidates (:func:`despro.rollout.sites.site_candidates`), the gain cells
    (positions in ``inputs.cells``), the villages x gain cells points and the
    ``(gain cell, site row)`` pairs of what each site covers."""
    from despro.rollout.sites import site_candidates

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
    colsum = np.asarray(inputs.weights.sum(axis=0)).ravel()
    inv = np.divide(1.0, colsum, out=np.zeros_like(colsum), where=colsum > 0)
    b = (inputs.weights @ sp.diags(inv)).tocsr()  # each village's share of a cell
    d_v = b @ den
    hit = np.zeros(b.shape[1], bool)  # a mask, not np.unique: hashing 3 M ids is slow
    hit[b[np.flatnonzero(s_need)].indices] = True
    cand_cells = np.flatnonzero(hit)
    gain_cells = cand_cells[(den[cand_cells] - num[cand_cells]) > 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(s_need & (d_v > 0), 100.0 / d_v, 0.0)
    g = sp.diags(scale) @ b[:, gain_cells] @ sp.diags(den[gain_cells] - num[gain_cells])
    gain = sp.csr_matrix(g)
    gain.eliminate_zeros()
    need = np.where(s_need, site_need, 0.0)
    # a cell's score weight: the points it adds, each village's capped at its need
    capped = gain.copy()
    capped.data = np.minimum(capped.data, np.repeat(need, np.diff(capped.indptr)))
    open_w = np.asarray(capped.sum(axis=0)).ravel()
    share = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    bb = (
        cc["backbone_distance_m"].to_numpy(float)[gain_cells] / 1000.0
        if "backbone_distance_m" in cc
        else np.full(len(gain_cells), np.nan)
    )
    cells = np.asarray(inputs.cells, dtype=np.uint64)
    res = int((int(cells[0]) >> 52) & 0xF) if len(cells) else 0
    cand = site_candidates(
        cells[gain_cells],
        open_w,
        bb,
        share >= cfg.site.covered_share,
        cell_centres(cells),
        gain,
        need,
        inputs.weights[:, gain_cells].tocsc(),
        res,
        cfg,
        codes,
        regency,
        frozenset(i for i in cfg.must_do if i.startswith("site:")),
    )
    st = cand.stats
    if not st["eligible"]:
        notes.append(
            Note(
                "no candidate site: no cell of a village lacking coverage lies within "
                f"{cfg.site.max_backbone_km} km of the backbone or {cfg.site.near_site_km} km "
                "of a covered cell",
                "tidak ada kandidat menara 4G: tidak ada sel desa tanpa cakupan dalam jarak "
                f"{cfg.site.max_backbone_km} km dari jaringan tulang punggung atau "
                f"{cfg.site.near_site_km} km dari sel yang tercakup",
            )
        )
    elif st["thin_resolution"] is not None:
        notes.append(
            Note(
                f"site candidates thinned: {st['eligible']:,} eligible cells -> one per H3 "
                f"cell of resolution {st['thin_resolution']} ({st['kept_best']:,}), "
                f"{st['kept_must_do']:,} must_do and {st['repaired']:,} added back so that "
                f"{st['villages_repaired']:,} village(s) stay reachable",
                f"kandidat menara 4G ditipiskan: {count_id(st['eligible'])} sel memenuhi "
                f"syarat -> satu per sel H3 resolusi {st['thin_resolution']} "
                f"({count_id(st['kept_best'])}), {count_id(st['kept_must_do'])} must_do dan "
                f"{count_id(st['repaired'])} ditambahkan kembali agar "
                f"{count_id(st['villages_repaired'])} desa tetap terjangkau",
            )
        )
    return cand.table, gain_cells, gain, cand.pairs


def _prune_sites(
    table: pd.DataFrame,
    cell_r: np.ndarray,
    cell_c: np.ndarray,
    keep_ids: set[str],
    banned: set[str],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Drop dominated site candidates: one whose covered cells are a subset of another's
    that costs no more (ties: the larger set, then the lower row is kept). Exact:
    swapping a dominated site for its dominator never uncovers a cell nor raises the
    cost. ``keep_ids`` (must_do) are never dropped, ``banned`` (never_do) dominate
    nothing. ``cell_c`` are rows of ``table``."""
    from despro.rollout.reduce import undominated

    m = len(table)
    cov = sp.csr_matrix(
        (np.ones(len(cell_r)), (cell_c, cell_r)),
        shape=(m, int(cell_r.max(initial=-1)) + 1),
    )
    ids = table["item_id"].to_numpy(object)
    hosts = table["village_code"].to_numpy(object)
    keep = np.isin(ids, list(keep_ids)) if keep_ids else np.zeros(m, bool)
    ban = np.isin(ids, list(banned)) | np.isin(hosts, list(banned)) if banned else np.zeros(m, bool)
    if "site" in banned:
        ban[:] = True
    alive = undominated(cov, table["cost"].to_numpy(float), ~ban, keep, None)
    alive |= keep
    alive &= (np.diff(cov.indptr) > 0) | keep
    new_pos = np.full(m, -1)
    new_pos[alive] = np.arange(int(alive.sum()))
    cc = new_pos[cell_c]
    ok = cc >= 0
    return table[alive].reset_index(drop=True), cell_r[ok], cc[ok]


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
