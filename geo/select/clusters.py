"""Inter-village clusters (paper section 4.2): neighbouring villages sharing a product.

Per flagship category, DBSCAN (scikit-learn, ``metric="haversine"``) groups the
villages of the chosen tiers whose points (one inside each village, see
:mod:`despro.grid.geodesic`) lie within ``eps_km`` of one another, transitively: A
near B and B near C makes A, B, C one cluster even when A and C are farther apart.
``min_villages`` is DBSCAN's ``min_samples`` (the village itself counts), so the
default 2 makes any pair of neighbours a cluster. Villages without a flagship
category are never clustered. Cluster ids (``C001`` ...) are stable for a given
input: categories in alphabetical order, clusters by their first village code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from despro.config.vocab import PILOT_TIERS
from despro.grid.geodesic import EARTH_RADIUS_KM, haversine_km, village_points


def find_clusters(
    villages: pd.DataFrame,
    eps_km: float = 5.0,
    min_villages: int = 2,
    tiers: list[str] | tuple[str, ...] = PILOT_TIERS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster neighbouring villages that share a flagship category.

    Parameters
    ----------
    villages : GeoDataFrame
        Indexed by village code, with ``flagship_category``, ``tier`` and geometry
        (``village_name``, ``flagship_product``, ``regency_code`` are reported when present).
    eps_km : float
        Neighbour distance between village points (km, great-circle).
    min_villages : int
        Smallest cluster (villages, >= 2).
    tiers : sequence of str
        Tiers whose villages may form clusters.

    Returns
    -------
    (members, clusters)
        ``members``: ``village_code, cluster_id, flagship_category`` for every
        clustered village. ``clusters``: one row per cluster: ``cluster_id, category,
        n_villages, village_codes, village_names, products, regencies, lon, lat``
        (mean point, degrees) and ``span_km`` (largest distance between two members).
    """
    from sklearn.cluster import DBSCAN

    if "flagship_category" in villages:
        has = villages["flagship_category"].notna()
    else:  # no products layer: no village has a known product to cluster on
        has = pd.Series(False, index=villages.index)
    v = villages[villages["tier"].isin(list(tiers)) & has]
    cols = [
        "cluster_id",
        "category",
        "n_villages",
        "village_codes",
        "village_names",
        "products",
        "regencies",
        "lon",
        "lat",
        "span_km",
    ]
    empty = pd.DataFrame(columns=["village_code", "cluster_id", "flagship_category"])
    if v.empty:
        return empty, pd.DataFrame(columns=cols)
    lon, lat = village_points(v)
    cat = v["flagship_category"].astype(str).to_numpy()
    codes = v.index.astype(str).to_numpy()
    members, rows = [], []
    for name in sorted(set(cat)):
        idx = np.flatnonzero(cat == name)
        if len(idx) < min_villages:
            continue
        xy = np.radians(np.column_stack([lat[idx], lon[idx]]))
        labels = DBSCAN(
            eps=eps_km / EARTH_RADIUS_KM,
            min_samples=min_villages,
            metric="haversine",
            algorithm="ball_tree",
        ).fit_predict(xy)
        groups = [idx[labels == k] for k in np.unique(labels[labels >= 0])]
        for g in sorted(groups, key=lambda g: codes[g].min()):
            cid = f"C{len(rows) + 1:03d}"
            sub = v.iloc[g]
            span = haversine_km(
                lon[g][:, None], lat[g][:, None], lon[g][None, :], lat[g][None, :]
            ).max()
            rows.append(
                {
                    "cluster_id": cid,
                    "category": name,
                    "n_villages": len(g),
                    "village_codes": ";".join(codes[g]),
                    "village_names": ";".join(
                        sub.get("village_name", pd.Series(dtype=str)).astype(str)
                    ),
                    "products": ";".join(
                        sorted(
                            sub.get("flagship_product", pd.Series(dtype=str))
                            .dropna()
                            .astype(str)
                            .unique()
                        )
                    ),
                    "regencies": ";".join(
                        sorted(sub.get("regency_code", pd.Series(dtype=str)).astype(str).unique())
                    ),
                    "lon": float(lon[g].mean()),
                    "lat": float(lat[g].mean()),
                    "span_km": float(span),
                }
            )
            members.append(
                pd.DataFrame(
                    {"village_code": codes[g], "cluster_id": cid, "flagship_category": name}
                )
            )
    member_frame = pd.concat(members, ignore_index=True) if members else empty
    return member_frame, pd.DataFrame(rows, columns=cols)
