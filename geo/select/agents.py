"""Agen Despro placement: local two-sided agents covering the pilot villages.

Each agent helps the villages within ``radius_km`` (great-circle, see
:mod:`despro.grid.geodesic`) of where it sits. Candidate sites are the run's
villages (one point inside each) or the centres of its H3 cells, restricted to
those within the radius of some pick. Two classic location models, solved with
PuLP / CBC:

* **maximal covering** (``count`` = P agents): binary ``y_j`` per site and ``z_i``
  per pick; maximise ``sum(z_i)`` subject to ``sum(y) = P`` and
  ``z_i <= sum(y_j, j within R of i)``. Every pick weighs the same (a pilot is a
  pilot, whatever its size).
* **set covering** (no ``count``): the fewest agents such that every pick that any
  site can reach is covered.

Ties between equally good placements go to sites that cover more picks (more
villages with a second agent in reach). Each pick is then assigned to its nearest
open agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from despro.errors import DesproError
from despro.grid import cells as grid
from despro.grid.geodesic import haversine_km, village_points, within_km
from despro.select import milp


@dataclass
class AgentPlan:
    """Where the agents sit and whom they serve.

    Attributes
    ----------
    agents : DataFrame
        ``agent_id, site_type, site_code, site_name, lon, lat, n_covered, villages_covered``
        (semicolon-separated village codes).
    assignment : DataFrame
        Per pick: ``village_code, agent_id`` (nearest agent), ``agent_distance_km``,
        ``covered`` (distance <= radius).
    method : str
        ``maximal covering`` or ``set covering``.
    radius_km : float
    """

    agents: pd.DataFrame
    assignment: pd.DataFrame
    method: str
    radius_km: float

    @property
    def covered_share(self) -> float:
        """Share of picks (0-1) with an agent within the radius."""
        return float(self.assignment["covered"].mean()) if len(self.assignment) else np.nan


def candidate_sites(
    result, pick_codes: list[str], radius_km: float, sites: str = "villages"
) -> pd.DataFrame:
    """Candidate sites within ``radius_km`` of some pick: ``site_code, site_name, lon, lat``.

    ``sites = "villages"`` uses a point inside every village of the run;
    ``"cells"`` the centres of the run's H3 cells (``site_code`` = H3 string).
    ``result`` is a :class:`despro.pipeline.runner.Result`, left without a type hint: the
    engine does not import the pipeline (tests/test_architecture.py).
    """
    v = result.villages
    plon, plat = village_points(v.loc[pick_codes])
    if sites == "cells":
        cells = result.cell_columns
        ids = cells["h3_int"].to_numpy(np.uint64)
        lon, lat = grid.cell_centres(ids)
        frame = pd.DataFrame(
            {
                "site_type": "h3 cell",
                "site_code": cells["h3"].to_numpy(),
                "site_name": "",
                "lon": lon,
                "lat": lat,
            }
        )
    else:
        lon, lat = village_points(v)
        frame = pd.DataFrame(
            {
                "site_type": "village",
                "site_code": v.index.astype(str),
                "site_name": v["village_name"].to_numpy(),
                "lon": lon,
                "lat": lat,
            }
        )
    near = within_km(lon, lat, plon, plat, radius_km)
    keep = np.array([len(n) > 0 for n in near], dtype=bool)
    return frame[keep].reset_index(drop=True)


def place_agents(
    picks: pd.DataFrame, sites: pd.DataFrame, radius_km: float, count: int | None = None
) -> AgentPlan:
    """Solve the covering model (see module docstring).

    Parameters
    ----------
    picks : DataFrame
        ``village_code, lon, lat`` (degrees) of the villages to cover.
    sites : DataFrame
        ``site_type, site_code, site_name, lon, lat`` of candidate sites.
    radius_km : float
        Coverage radius (km, great-circle).
    count : int, optional
        Agents to place (maximal covering); ``None``: fewest agents covering all.
    """
    import pulp

    if radius_km <= 0:
        raise DesproError(f"agent radius must be > 0 km (got {radius_km})")
    if len(picks) == 0:
        return AgentPlan(
            pd.DataFrame(
                columns=[
                    "agent_id",
                    "site_type",
                    "site_code",
                    "site_name",
                    "lon",
                    "lat",
                    "n_covered",
                    "villages_covered",
                ]
            ),
            pd.DataFrame(columns=["village_code", "agent_id", "agent_distance_km", "covered"]),
            "none",
            radius_km,
        )
    d = haversine_km(
        picks["lon"].to_numpy()[:, None],
        picks["lat"].to_numpy()[:, None],
        sites["lon"].to_numpy()[None, :],
        sites["lat"].to_numpy()[None, :],
    )
    cover = d <= radius_km  # picks x sites
    reach = cover.any(axis=1)
    n_cov = cover.sum(axis=0)
    prob = pulp.LpProblem("agen_despro", pulp.LpMaximize if count else pulp.LpMinimize)
    y = [milp.variable(prob, f"y_{j}") for j in range(len(sites))]
    eps = 1.0 / (10.0 * max(len(sites), 1) * max(len(picks), 1))
    if count:
        z = [milp.variable(prob, f"z_{i}", binary=False) for i in range(len(picks))]
        prob += pulp.lpSum(z) + eps * pulp.lpDot(n_cov.astype(float), y)
        prob += pulp.lpSum(y) == min(count, len(sites)), "agents"
        for i in range(len(picks)):
            prob += z[i] <= pulp.lpSum(y[j] for j in np.flatnonzero(cover[i])), f"cover_{i}"
        method = "maximal covering"
    else:
        prob += pulp.lpSum(y) - eps * pulp.lpDot(n_cov.astype(float), y)
        for i in np.flatnonzero(reach):
            prob += pulp.lpSum(y[j] for j in np.flatnonzero(cover[i])) >= 1, f"cover_{i}"
        method = "set covering"
    status = milp.solve(prob)
    if status != "Optimal":
        raise DesproError(f"the agent placement model ended with CBC status '{status}'")
    open_ = np.array([(yj.value() or 0) > 0.5 for yj in y], dtype=bool)
    idx = np.flatnonzero(open_)
    ids = [f"A{k + 1:02d}" for k in range(len(idx))]
    dsub = d[:, idx]
    nearest = dsub.argmin(axis=1) if len(idx) else np.zeros(len(picks), int)
    dist = dsub[np.arange(len(picks)), nearest] if len(idx) else np.full(len(picks), np.nan)
    codes = picks["village_code"].astype(str).to_numpy()
    assignment = pd.DataFrame(
        {
            "village_code": codes,
            "agent_id": [ids[k] for k in nearest] if len(idx) else "",
            "agent_distance_km": dist,
            "covered": dist <= radius_km,
        }
    )
    agents = sites.iloc[idx].reset_index(drop=True).copy()
    agents.insert(0, "agent_id", ids)
    served = [codes[cover[:, j]] for j in idx]
    agents["n_covered"] = [len(s) for s in served]
    agents["villages_covered"] = [";".join(s) for s in served]
    return AgentPlan(agents, assignment, method, radius_km)


def plan_agents(
    result,
    pick_codes: list[str],
    radius_km: float,
    count: int | None = None,
    sites: str = "villages",
) -> AgentPlan:
    """Candidate sites of a pipeline result, then :func:`place_agents` for the picks.

    ``result`` is a :class:`despro.pipeline.runner.Result`, left without a type hint: the
    engine does not import the pipeline (tests/test_architecture.py).
    """
    v = result.villages.loc[pick_codes]
    lon, lat = village_points(v)
    picks = pd.DataFrame({"village_code": list(pick_codes), "lon": lon, "lat": lat})
    return place_agents(
        picks, candidate_sites(result, pick_codes, radius_km, sites), radius_km, count
    )
