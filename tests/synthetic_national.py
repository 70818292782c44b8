"""A national-scale synthetic run for the map site, built directly (no pipeline).

Villages are H3 resolution-7 hexagons, cells their resolution-8 children. One
large province (every village of a resolution-2 cell: 16,807 villages, about
118,000 cells, 7 regencies) is far over the 15 MB page budget at full resolution;
three ordinary provinces (the resolution-3 children of a neighbouring cell: 2,401
villages and about 17,000 cells each) fit. Every map variable is filled with seeded
random values, with gaps (unknown) the way real layers have them: speed tests
missing in most cells, courier and product layers covering only part of the land.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp

from despro.aggregate.study import Study
from despro.grid import cells as grid
from despro.mapsite.data import TIERS
from despro.pipeline.runner import Result
from despro.rules.criteria import CRITERIA
from despro.variables import Kind, Variable, additive_columns

VARIABLES = (
    ("pct_households_internet", Kind.RATE, "smartphone", ()),
    ("pct_individuals_mobile_phone", Kind.RATE, "smartphone", ()),
    ("pct_households_computer", Kind.RATE, "smartphone", ()),
    ("pct_area_4g_coverage", Kind.RATE, "broadband", ()),
    ("download_mbps", Kind.INTENSIVE, "broadband", ()),
    ("backbone_distance_m", Kind.DISTANCE, "backbone", ()),
    ("courier_outlets", Kind.CATEGORY, "courier", ("JNE", "J&T Express", "Pos Indonesia")),
    ("product_enterprises", Kind.CATEGORY, "products", ("food_beverage", "handicraft")),
    ("product_demand_growth_pct", Kind.INTENSIVE, "products", ()),
    ("product_distinctiveness", Kind.INTENSIVE, "products", ()),
)
PRODUCTS = ("Kopi bubuk", "Batik tulis", "Keripik singkong", "Anyaman bambu", "Gula aren")


def _children(cell: int, res: int) -> np.ndarray:
    return np.array(
        sorted(h3.str_to_int(c) for c in h3.cell_to_children(h3.int_to_str(cell), res)),
        dtype=np.uint64,
    )


def _provinces() -> list[tuple[str, np.ndarray, int]]:
    """(province code, its resolution-7 villages, resolution of its regencies)."""
    big = h3.str_to_int(h3.latlng_to_cell(-7.3, 110.0, 2))
    other = sorted(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(big), 1))[0]
    out = [("31", _children(big, 7), 3)]
    for i, child in enumerate(_children(other, 3)[:3]):
        out.append((str(32 + i), _children(int(child), 7), 4))
    return out


def _villages(rng) -> gpd.GeoDataFrame:
    rows = []
    for prov, cells7, reg_res in _provinces():
        reg_of = grid.parent_cells(cells7, reg_res)
        reg_codes = {c: f"{prov}{k + 1:02d}" for k, c in enumerate(np.unique(reg_of))}
        regency = np.array([reg_codes[c] for c in reg_of])
        seq = pd.Series(regency).groupby(regency).cumcount().to_numpy() + 1
        rows.append(
            pd.DataFrame(
                {
                    "village_code": [f"{r}{s:06d}" for r, s in zip(regency, seq, strict=True)],
                    "regency_code": regency,
                    "province_code": prov,
                    "h7": cells7,
                }
            )
        )
    v = pd.concat(rows, ignore_index=True)
    n = len(v)
    v["village_name"] = [f"Desa {k:05d}" for k in range(n)]
    v["score"] = np.round(rng.uniform(0, 100, n), 1)
    v["tier"] = np.array(TIERS)[rng.choice(4, n, p=[0.03, 0.07, 0.4, 0.5])]
    v["rank"] = v["score"].rank(ascending=False, method="first").astype(int)
    product = np.array(PRODUCTS, dtype=object)[rng.integers(0, len(PRODUCTS), n)]
    product[rng.random(n) < 0.3] = None
    v["flagship_product"] = product
    for c in CRITERIA:
        v[f"{c}_state"] = np.array(["pass", "fail", "unknown"])[rng.integers(0, 3, n)]
    # the honest score's range and known share (despro.rules.score), drawn last so that
    # the columns above keep their draws
    share = np.where(rng.random(n) < 0.4, 1.0, np.round(rng.uniform(0.3, 1.0, n), 2))
    v["score_known_share"] = share
    v["score_best"] = np.round(v["score"] + (1.0 - share) * (100.0 - v["score"]), 1)
    geom = grid.cell_polygons(v["h7"].to_numpy(np.uint64))
    return gpd.GeoDataFrame(v.set_index("village_code", drop=False), geometry=geom, crs="EPSG:4326")


def _criteria(v: pd.DataFrame, rules, rng) -> pd.DataFrame:
    parts = []
    for r in rules:
        value = rng.uniform(0, 2 * max(r.threshold, 1.0), len(v))
        value[rng.random(len(v)) < 0.15] = np.nan
        passed = value >= r.threshold if r.op in (">=", ">") else value <= r.threshold
        state = np.where(np.isnan(value), "unknown", np.where(passed, "pass", "fail"))
        parts.append(
            pd.DataFrame(
                {
                    "village_code": v.index,
                    "rule": r.id,
                    "value": value,
                    "state": state,
                    "margin": value - r.threshold,
                    "evidence": "cells",
                    "layer": "synthetic",
                    "source": "synthetic",
                    "vintage": "2024 (synthetic)",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _cells(cells8: np.ndarray, rng) -> tuple[pd.DataFrame, dict[str, Variable]]:
    n = len(cells8)
    table = {"h3_int": cells8}
    variables = {}
    cover = {
        layer: (rng.random(n) < 0.7).astype(float)
        for layer in ("smartphone", "broadband", "backbone", "courier", "products")
    }
    for name, kind, layer, classes in VARIABLES:
        var = Variable(name, kind, "", "synthetic", layer, classes=classes)
        variables[name] = var
        cols = additive_columns(var)
        if kind is Kind.RATE:
            den = rng.uniform(50, 500, n)
            table[cols[0]], table[cols[1]] = den * rng.uniform(0.1, 0.9, n), den
        elif kind is Kind.INTENSIVE:
            w = np.where(rng.random(n) < 0.3, rng.uniform(1, 20, n), 0.0)
            table[cols[0]], table[cols[1]] = w * rng.uniform(1, 60, n), w
        elif kind is Kind.DISTANCE:
            table[name] = rng.uniform(0, 80_000, n)
        else:
            for c in cols:
                table[c] = rng.poisson(0.4, n) * (cover[layer] > 0)
    for layer, c in cover.items():
        table[f"{layer}__cover"] = c
    return pd.DataFrame(table), variables


def national_result(config, seed: int = 7) -> Result:
    """The synthetic run (see module docstring) as a pipeline :class:`Result`."""
    rng = np.random.default_rng(seed)
    config = config.model_copy(update={"run": config.run.model_copy(update={"resolution": 8})})
    v = _villages(rng)
    children = [_children(int(c), 8) for c in v["h7"]]
    cells8 = np.concatenate(children)
    order = np.argsort(cells8)
    rows = np.repeat(np.arange(len(v)), [len(c) for c in children])[order]
    cells8 = cells8[order]
    area = sp.csr_matrix(
        (grid.cell_area_m2(cells8), (rows, np.arange(len(cells8)))), shape=(len(v), len(cells8))
    )
    cells, variables = _cells(cells8, rng)
    layers = {
        name: SimpleNamespace(
            variables=[x for x in variables.values() if x.layer == name], features={}
        )
        for name in {x.layer for x in variables.values()}
    }
    study = Study(v, 8, cells8, area, area, "area")
    return Result(
        config,
        cells,
        v.drop(columns="h7"),
        _criteria(v, config.criteria.rules, rng),
        variables,
        layers,
        study,
        None,
        pd.DataFrame(index=v.index),
    )
