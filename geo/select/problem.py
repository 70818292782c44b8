"""Optimised pilot shortlist: build the selection problem, solve it, explain the picks.

The planner's question, as an integer programme (PuLP, solved by the bundled CBC):

* one binary ``x_v`` per eligible village; maximise ``sum(value_v * x_v)`` where
  ``value_v = score_v + product_weight * product_score_v + priority_bonus * priority_v``
  (score points: ``score`` is the honest composite 0-100 of :mod:`despro.rules.score`,
  worst case over unknown rules, ``product_score`` the same over P1-P3 only,
  ``priority_v`` = 1 in the paper's first regions, Sumatra, Java and Bali);
* ``sum(x) = N`` (``size``); at most ``K`` per regency (``max_per_regency``);
* ``x_v = 1`` for running pilots (``must_include``: they stay whatever their tier),
  ``x_v = 0`` for ``exclude``;
* at least ``M`` distinct flagship categories (``min_categories``): one binary
  ``y_c`` per category with ``y_c <= sum(x_v, v in c)`` and ``sum(y) >= M``;
* eligibility filters: tier in ``tiers``, inside ``regions``, nearest courier outlet
  within ``courier_within_km`` (``courier_distance_m``, the village minimum over its
  cells; an unknown distance fails). Fixed pilots are exempt from the filters.

Explanation: each pick's *marginal value* is the objective lost when it is forced
out and the problem re-solved (for a fixed pilot: when it is released and left
out; negative = the shortlist would be better without it), with the villages that
replace it. A constraint is *binding* when dropping it raises the objective; each
pick lists the binding constraints that touch it. Infeasible settings raise
:class:`InfeasibleError` naming the constraint and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from despro.codes import normalise_codes
from despro.config.settings import REGIONS, Config, SelectionConfig
from despro.errors import ConfigError, DesproError, InfeasibleError
from despro.rules.criteria import CRITERIA
from despro.rules.score import composite

EPS = 1e-6  # objective tolerance (score points)
FILTERS = ("tiers", "regions", "courier_within_km")
GROUPS = ("max_per_regency", "min_categories", "must_include")
FIX = {
    "size": "lower --n / selection.size, or widen --tiers, --regions or --courier-within-km",
    "max_per_regency": "raise --max-per-regency / selection.max_per_regency",
    "min_categories": "lower --min-categories / selection.min_categories, or widen --tiers "
    "or --regions so that villages of more categories are eligible",
    "must_include": "remove codes from --must-include / selection.must_include",
    "exclude": "remove the code from --exclude / selection.exclude",
}


def _infeasible(message: str, constraint: str) -> InfeasibleError:
    """The error naming ``constraint`` and its fix (:data:`FIX`)."""
    return InfeasibleError(message, constraint, FIX.get(constraint, "relax it"))


def region_prefixes(regions: list[str]) -> tuple[str, ...]:
    """Region names (``java``, ``bali``, ``sumatra``) and code prefixes -> code prefixes."""
    out: list[str] = []
    for r in regions:
        out.extend(REGIONS.get(r.lower(), (r,)))
    return tuple(out)


def known_codes(codes: list[str] | tuple[str, ...], known: pd.Index, key: str) -> list[str]:
    """Village codes from the config, normalised (:func:`despro.codes.normalise_codes`),
    each once, in order; a code that is malformed or not among ``known`` raises."""
    given = [c for c in codes if str(c).strip()]
    norm = normalise_codes(given, errors="coerce").tolist()
    out = [c for c in norm if not pd.isna(c)]
    missing = [g for g, c in zip(given, norm, strict=True) if pd.isna(c) or c not in known]
    if missing:
        raise ConfigError(
            f"village code(s) {missing[:5]} are not among the run's "
            f"{len(known):,} villages (use 10-digit Kemendagri codes, e.g. "
            f"{known[0]})",
            key=key,
        )
    return list(dict.fromkeys(out))


def product_score(long: pd.DataFrame, weights: dict[str, float]) -> pd.Series:
    """Product potential 0-100: the composite score over P1-P3 only (NaN when all unknown)."""
    pw = {c: (weights.get(c, 0.0) if c.startswith("P") else 0.0) for c in CRITERIA}
    if sum(pw.values()) <= 0:
        pw = {c: (1.0 if c.startswith("P") else 0.0) for c in CRITERIA}
    return composite(long, pw)["score"]


def candidates(
    villages: pd.DataFrame,
    long: pd.DataFrame,
    config: Config,
    sel: SelectionConfig | None = None,
    imputed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every village with its objective value and the eligibility filters it passes.

    Parameters
    ----------
    villages : DataFrame
        ``Result.villages`` (indexed by village code).
    long : DataFrame
        ``Result.criteria``.
    config : Config
        The run's config (criterion weights).
    sel : SelectionConfig, optional
        Default ``config.selection``.
    imputed : DataFrame, optional
        :func:`despro.select.impute.rescore_imputed` output; used only when
        ``sel.use_imputed`` (tier and score then come from imputed values, and the
        village is marked ``imputed``).

    Returns
    -------
    DataFrame indexed by village code: identity, ``tier``, ``score``, ``rank``, ``product_score``,
    ``priority_region``, ``value`` (score points), ``courier_distance_km``, ``imputed``,
    the filter flags ``tier_ok``, ``region_ok``, ``courier_ok``, ``fixed``, ``excluded``
    and ``why_not`` (the filters a village fails, empty when eligible).
    """
    sel = sel or config.selection
    v = villages
    codes = pd.Index(v.index.astype(str))
    c = pd.DataFrame(index=codes)
    for col in (
        "village_name",
        "regency_code",
        "province_code",
        "flagship_category",
        "flagship_product",
    ):
        c[col] = v[col].to_numpy() if col in v else np.nan
    c["tier"] = v["tier"].to_numpy()
    c["score"] = v["score"].to_numpy(float)
    c["rank"] = v["rank"].to_numpy() if "rank" in v else np.arange(1, len(v) + 1)
    c["imputed"] = False
    if sel.use_imputed:
        if imputed is None:
            raise ConfigError(
                "use_imputed is set but no imputation was run (call "
                "despro.select.impute.rescore_imputed first)",
                key="selection.use_imputed",
            )
        imp = imputed.reindex(codes)
        c["tier"] = imp["tier_imputed"].to_numpy()
        c["score"] = imp["score_imputed"].to_numpy(float)
        c["imputed"] = imp["imputed"].fillna(False).to_numpy(bool)
    c["product_score"] = product_score(long, config.criteria.weights).reindex(codes).to_numpy()
    c["priority_region"] = (
        codes.str.startswith(region_prefixes(sel.priority_regions))
        if sel.priority_regions
        else False
    )
    c["value"] = (
        np.nan_to_num(c["score"].to_numpy(float))
        + sel.product_weight * np.nan_to_num(c["product_score"].to_numpy(float))
        + sel.priority_bonus * c["priority_region"].to_numpy(float)
    )
    dist = (
        v["courier_distance_m"].to_numpy(float)
        if "courier_distance_m" in v
        else np.full(len(v), np.nan)
    )
    c["courier_distance_km"] = dist / 1000.0
    c["tier_ok"] = c["tier"].isin(sel.tiers).to_numpy()
    c["region_ok"] = codes.str.startswith(region_prefixes(sel.regions)) if sel.regions else True
    with np.errstate(invalid="ignore"):
        c["courier_ok"] = (
            dist <= sel.courier_within_km * 1000.0 if sel.courier_within_km is not None else True
        )
    fixed = known_codes(sel.must_include, codes, "selection.must_include")
    out = known_codes(sel.exclude, codes, "selection.exclude")
    both = sorted(set(fixed) & set(out))
    if both:
        raise ConfigError(
            f"village(s) {both} are both in must_include and exclude", key="selection.exclude"
        )
    c["fixed"] = codes.isin(fixed)
    c["excluded"] = codes.isin(out)
    why = np.full(len(c), "", dtype=object)
    for flag, text in (
        ("tier_ok", "tier"),
        ("region_ok", "region"),
        ("courier_ok", "courier distance"),
    ):
        why = np.where(~c[flag].to_numpy(bool), why + text + "; ", why)
    why = np.where(c["excluded"], why + "excluded; ", why)
    c["why_not"] = pd.Series(why).str.rstrip("; ").to_numpy()
    return c


@dataclass
class Solution:
    """One solved instance: the chosen codes and the objective (sum of values, points)."""

    picks: list[str]
    objective: float


@dataclass
class SelectionProblem:
    """The selection problem over :func:`candidates`; solve it with :meth:`solve`."""

    cands: pd.DataFrame
    sel: SelectionConfig
    _cache: dict = field(default_factory=dict, repr=False)

    def pool(self, relax: frozenset[str] = frozenset()) -> pd.DataFrame:
        """Eligible villages (fixed ones always), ignoring the filters named in ``relax``."""
        c = self.cands
        ok = ~c["excluded"].to_numpy(bool)
        for name, flag in zip(FILTERS, ("tier_ok", "region_ok", "courier_ok"), strict=True):
            if name not in relax:
                ok &= c[flag].to_numpy(bool)
        fixed = c["fixed"].to_numpy(bool) if "must_include" not in relax else False
        return c[ok | fixed]

    def check(self) -> None:
        """Raise :class:`InfeasibleError` for settings no shortlist can meet (before solving)."""
        sel, c = self.sel, self.cands
        pool = self.pool()
        fixed = pool[pool["fixed"]]
        n, k, m = sel.size, sel.max_per_regency, sel.min_categories
        if len(fixed) > n:
            raise _infeasible(
                f"must_include fixes {len(fixed)} villages but size is {n}", "must_include"
            )
        over = fixed.groupby("regency_code").size()
        over = over[over > k]
        if len(over):
            raise _infeasible(
                f"must_include fixes {int(over.iloc[0])} villages in regency "
                f"{over.index[0]}, above max_per_regency = {k}",
                "max_per_regency",
            )
        if len(pool) < n:
            why = {
                f"outside tiers {sel.tiers}": ~c["tier_ok"],
                f"outside regions {sel.regions}": ~c["region_ok"],
                f"without a courier outlet within {sel.courier_within_km} km (or unknown)": ~c[
                    "courier_ok"
                ],
                "excluded": c["excluded"],
            }
            parts = [f"{int(m.sum()):,} {k}" for k, m in why.items() if m.any()]
            raise _infeasible(
                f"only {len(pool)} of {len(c):,} villages are eligible for "
                f"{n} pilots ({'; '.join(parts)})",
                "size",
            )
        cap = pool.groupby("regency_code").size().clip(upper=k).sum()
        if cap < n:
            raise _infeasible(
                f"max_per_regency = {k} allows at most {cap} pilots from the "
                f"{pool['regency_code'].nunique()} regencies with eligible "
                f"villages, fewer than size = {n}",
                "max_per_regency",
            )
        cats = sorted(pool["flagship_category"].dropna().unique())
        if m > 0 and not cats:
            raise _infeasible(
                f"min_categories = {m} but none of the {len(pool)} eligible "
                "villages has a known flagship product (is [layers.products] "
                "configured?); set --min-categories 0 to pick villages "
                "without one",
                "min_categories",
            )
        if m > min(len(cats), n):
            raise _infeasible(
                f"min_categories = {m} but the {len(pool)} eligible villages "
                f"span {len(cats)} categor{'y' if len(cats) == 1 else 'ies'} "
                f"{cats} and size = {n}",
                "min_categories",
            )

    def solve(
        self, relax: frozenset[str] = frozenset(), force_out: tuple[str, ...] = ()
    ) -> Solution | None:
        """Solve with CBC; ``None`` when infeasible.

        Parameters
        ----------
        relax : frozenset of str
            Constraints to drop: any of ``FILTERS`` and ``GROUPS``.
        force_out : tuple of str
            Village codes held at 0 (a forced-out fixed pilot is released first).
        """
        key = (relax, tuple(sorted(force_out)))
        if key not in self._cache:
            self._cache[key] = _solve(self.pool(relax), self.sel, relax, set(force_out))
        return self._cache[key]


def _solve(
    pool: pd.DataFrame, sel: SelectionConfig, relax: frozenset[str], force_out: set[str]
) -> Solution | None:
    import pulp

    from despro.select import milp

    pool = _reduce(pool.drop(index=[c for c in force_out if c in pool.index]), sel, relax)
    codes = pool.index.to_list()
    if len(codes) < sel.size:
        return None
    value = pool["value"].to_numpy(float)
    # equal values go to the better-ranked village (the run's rank, then code): a
    # deterministic nudge far below any real difference in score points
    order = np.lexsort((np.asarray(codes), pool["rank"].to_numpy(), -value))
    pos = np.empty(len(codes))
    pos[order] = np.arange(len(codes))
    tie = 1e-7 * (1.0 - pos / max(len(codes), 1))
    prob = pulp.LpProblem("despro_pilots", pulp.LpMaximize)
    x = [milp.variable(prob, f"x_{i}") for i in range(len(codes))]
    fixed = pool["fixed"].to_numpy(bool) & ("must_include" not in relax)
    for i in np.flatnonzero(fixed):
        x[i].lowBound = 1
    prob += pulp.lpDot(value + tie, x)
    prob += pulp.lpSum(x) == sel.size, "size"
    if "max_per_regency" not in relax:
        for r, idx in pool.groupby("regency_code").indices.items():
            if len(idx) > sel.max_per_regency:
                prob += pulp.lpSum(x[i] for i in idx) <= sel.max_per_regency, f"regency_{r}"
    if "min_categories" not in relax and sel.min_categories > 0:
        cat = pool["flagship_category"].to_numpy(object)
        known = pd.notna(cat)
        y = []
        for j, name in enumerate(sorted(set(cat[known]))):
            y.append(milp.variable(prob, f"y_{j}"))
            members = np.flatnonzero(known & (cat == name))
            prob += y[-1] <= pulp.lpSum(x[i] for i in members), f"category_{j}"
        prob += pulp.lpSum(y) >= sel.min_categories, "min_categories"
    name = milp.solve(prob)
    if name == "Infeasible":
        return None
    if name != "Optimal":
        raise DesproError(
            f"the CBC solver stopped with status '{name}' on the pilot "
            "selection problem (time limit or solver failure); please "
            "report it with the config"
        )
    chosen = [c for c, xi in zip(codes, x, strict=True) if (xi.value() or 0) > 0.5]
    sol = Solution(chosen, float(pool.loc[chosen, "value"].sum()))
    _verify(pool, sol, sel, relax, force_out)
    return sol


def _reduce(pool: pd.DataFrame, sel: SelectionConfig, relax: frozenset[str]) -> pd.DataFrame:
    """Keep the best ``min(K, N)`` villages of each (regency, category), and fixed pilots.

    Exact: in any feasible shortlist a group has at most ``min(K, N)`` picks, so a pick
    outside its group's best ``min(K, N)`` can be swapped for an unpicked better one of
    the same regency and category without breaking a constraint or losing value. A
    national pool of tens of thousands of villages shrinks to a few per group.
    """
    k = sel.size if "max_per_regency" in relax else min(sel.max_per_regency, sel.size)
    group = (
        pool["flagship_category"].astype(object).where(pool["flagship_category"].notna(), "\0none")
    )
    order = pool.assign(_g=group).sort_values(
        ["value", "rank"], ascending=[False, True], kind="stable"
    )
    best = order.index[order.groupby(["regency_code", "_g"]).cumcount().to_numpy() < k]
    keep = pool.index.isin(best)
    if "must_include" not in relax:
        keep |= pool["fixed"].to_numpy(bool)
    return pool[keep]


def _verify(
    pool: pd.DataFrame,
    sol: Solution,
    sel: SelectionConfig,
    relax: frozenset[str],
    force_out: set[str],
) -> None:
    """Re-check the solver's answer against every constraint (a solver bug must not pass)."""
    p = pool.loc[sol.picks]
    bad = []
    if len(p) != sel.size:
        bad.append(f"{len(p)} picks instead of {sel.size}")
    if (
        "max_per_regency" not in relax
        and (p.groupby("regency_code").size() > sel.max_per_regency).any()
    ):
        bad.append("a regency above max_per_regency")
    if "min_categories" not in relax and p["flagship_category"].nunique() < sel.min_categories:
        bad.append("fewer categories than min_categories")
    if "must_include" not in relax:
        missing = set(pool.index[pool["fixed"]]) - set(sol.picks) - force_out
        if missing:
            bad.append(f"fixed pilots {sorted(missing)} dropped")
    if set(sol.picks) & force_out:
        bad.append("a forced-out village picked")
    if bad:
        raise DesproError(
            "the solver returned a shortlist that breaks its constraints ("
            + "; ".join(bad)
            + "); please report this with the config"
        )


def diagnose(problem: SelectionProblem) -> InfeasibleError:
    """Name the constraint(s) whose removal alone makes an infeasible problem feasible."""
    sel = problem.sel
    what = {
        "max_per_regency": f"max_per_regency = {sel.max_per_regency}",
        "min_categories": f"min_categories = {sel.min_categories}",
        "must_include": f"must_include {sel.must_include}",
    }
    culprits = [g for g in GROUPS if problem.solve(frozenset({g})) is not None]
    if culprits:
        return _infeasible(
            f"no shortlist of {sel.size} satisfies every constraint "
            "together; it becomes feasible without "
            + " or without ".join(what[g] for g in culprits),
            culprits[0],
        )
    return _infeasible(
        f"no shortlist of {sel.size} satisfies max_per_regency, "
        "min_categories and must_include together, nor any two of them",
        "size",
    )


@dataclass
class Selection:
    """A solved and explained shortlist.

    Attributes
    ----------
    picks : DataFrame
        One row per pilot (see :func:`explain`).
    constraints : DataFrame
        One row per constraint: ``constraint, setting, relax_gain`` (score points the
        objective would gain without it), ``binding`` and ``detail``.
    objective : float
        Sum of the picks' values (score points).
    candidates : DataFrame
        :func:`candidates` output for every village.
    """

    picks: pd.DataFrame
    constraints: pd.DataFrame
    objective: float
    candidates: pd.DataFrame
    problem: SelectionProblem


def solve(problem: SelectionProblem) -> Solution:
    """Check, solve, and raise a named :class:`InfeasibleError` when nothing fits."""
    problem.check()
    sol = problem.solve()
    if sol is None:
        raise diagnose(problem)
    return sol


def explain(problem: SelectionProblem, sol: Solution, marginal: bool = True) -> Selection:
    """Marginal value of every pick and the binding constraints (see module docstring).

    ``marginal=False`` skips the N re-solves of the marginal values (NaN then).
    """
    sel, c = problem.sel, problem.cands
    picks = set(sol.picks)
    rows, relaxed = [], {}
    for name in (*GROUPS, *FILTERS):
        if name == "must_include" and not c["fixed"].any():
            continue
        alt = problem.solve(frozenset({name}))
        relaxed[name] = alt
        gain = (alt.objective - sol.objective) if alt is not None else np.nan
        setting = {
            "max_per_regency": sel.max_per_regency,
            "min_categories": sel.min_categories,
            "must_include": ",".join(sel.must_include),
            "tiers": ",".join(sel.tiers),
            "regions": ",".join(sel.regions) or "all",
            "courier_within_km": sel.courier_within_km,
        }[name]
        detail = ""
        if alt is not None and gain > EPS:
            detail = (
                "without it: +"
                + ",".join(sorted(set(alt.picks) - picks))
                + " -"
                + ",".join(sorted(picks - set(alt.picks)))
            )
        rows.append(
            {
                "constraint": name,
                "setting": setting,
                "relax_gain": gain,
                "binding": bool(gain > EPS),
                "detail": detail,
            }
        )
    rows.insert(
        0,
        {
            "constraint": "size",
            "setting": sel.size,
            "relax_gain": np.nan,
            "binding": True,
            "detail": "equality: exactly size pilots",
        },
    )
    constraints = pd.DataFrame(rows)

    p = c.loc[sol.picks].copy()
    counts = p.groupby("regency_code").size()
    capped = _capped_regencies(relaxed.get("max_per_regency"), c, sel)
    div = relaxed.get("min_categories")
    cat_n = p["flagship_category"].value_counts()
    binding = []
    for code, r in p.iterrows():
        b = []
        if r["fixed"]:
            b.append(
                f"must_include (fixed; tier {r['tier']}"
                + (f"; fails {r['why_not']})" if r["why_not"] else ")")
            )
        if r["regency_code"] in capped:
            b.append(
                f"max_per_regency (regency {r['regency_code']} at "
                f"{counts[r['regency_code']]}/{sel.max_per_regency})"
            )
        if div is not None and div.objective > sol.objective + EPS and code not in div.picks:
            b.append(
                f"min_categories (adds {r['flagship_category']}; "
                f"{p['flagship_category'].nunique()}/{sel.min_categories})"
            )
        elif (
            sel.min_categories > 0
            and pd.notna(r["flagship_category"])
            and cat_n.get(r["flagship_category"], 0) == 1
            and p["flagship_category"].nunique() == sel.min_categories
        ):
            b.append(f"min_categories (only {r['flagship_category']} pick; tight)")
        binding.append("; ".join(b))
    p["binding"] = binding
    p["marginal_value"] = np.nan
    p["replaced_by"] = ""
    if marginal:
        for code in sol.picks:
            alt = problem.solve(force_out=(code,))
            if alt is None:
                p.loc[code, "replaced_by"] = "(irreplaceable: no feasible shortlist without it)"
                continue
            p.loc[code, "marginal_value"] = sol.objective - alt.objective
            p.loc[code, "replaced_by"] = ",".join(sorted(set(alt.picks) - picks))
    p = p.sort_values(["fixed", "value"], ascending=[False, False])
    p.insert(0, "pick", np.arange(1, len(p) + 1))
    p.index.name = "village_code"
    keep = [
        "pick",
        "village_name",
        "regency_code",
        "province_code",
        "flagship_category",
        "flagship_product",
        "tier",
        "score",
        "product_score",
        "priority_region",
        "value",
        "courier_distance_km",
        "fixed",
        "imputed",
        "marginal_value",
        "replaced_by",
        "binding",
    ]
    return Selection(p[keep].reset_index(), constraints, sol.objective, c, problem)


def _capped_regencies(relaxed: Solution | None, c: pd.DataFrame, sel: SelectionConfig) -> set[str]:
    """Regencies whose cap binds: without the cap the optimum takes more than K from them."""
    if relaxed is None:
        return set()
    n = c.loc[relaxed.picks].groupby("regency_code").size()
    return set(n[n > sel.max_per_regency].index)


def select_pilots(
    result,
    sel: SelectionConfig | None = None,
    imputed: pd.DataFrame | None = None,
    marginal: bool = True,
) -> Selection:
    """Choose and explain the pilots of a pipeline :class:`~despro.pipeline.runner.Result`.

    Parameters
    ----------
    result : despro.pipeline.runner.Result
        (Left without a type hint: the engine does not import the pipeline.)
        From :func:`despro.pipeline.runner.run`.
    sel : SelectionConfig, optional
        Default: ``result.config.selection``; copy it with ``model_copy(update=...)``
        to try other settings.
    imputed : DataFrame, optional
        :func:`despro.select.impute.rescore_imputed` output, used when ``sel.use_imputed``.
    marginal : bool
        Compute each pick's marginal value (one re-solve per pick).
    """
    sel = sel or result.config.selection
    cands = candidates(result.villages, result.criteria, result.config, sel, imputed)
    problem = SelectionProblem(cands, sel)
    return explain(problem, solve(problem), marginal=marginal)
