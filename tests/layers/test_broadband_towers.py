"""Modelled 4G coverage from cell lists and site lists (layers.broadband.coverage_from_towers)."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import config_from_dict
from despro.errors import InputError
from despro.pipeline.runner import run


def _config(sample_copy, **broadband):
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"] = {"broadband": broadband}
    return config_from_dict(data, base_dir=sample_copy)


def _cells(sample_copy) -> str:
    # three LTE cells and one NR cell in the sample area; ranges: missing, small, absurd
    rows = [
        ("LTE", 1, 110.30, -7.80, ""),
        ("LTE", 2, 110.40, -7.75, "200"),
        ("LTE", 3, 110.60, -7.70, "40000"),
        ("NR", 4, 110.31, -7.80, "1500"),
    ]
    df = pd.DataFrame(
        [
            {"radio": r, "mcc": 510, "net": 10, "area": 1, "cell": c, "unit": 0}
            | {"lon": x, "lat": y, "range": rg, "samples": 3}
            for r, c, x, y, rg in rows
        ]
    )
    df.to_csv(sample_copy / "cells.csv", index=False)
    return "cells.csv"


def test_modelled_4g_coverage_merges_lte_and_nr_and_says_it_is_modelled(sample_copy):
    r = run(
        _config(
            sample_copy,
            towers=[_cells(sample_copy)],
            towers_radios=["LTE", "NR"],
            towers_min_range_m=1000,
            coverage_from_towers=True,
        )
    )
    v = r.villages
    lte, nr, g4 = (
        v[c].to_numpy()
        for c in ("pct_area_lte_modelled", "pct_area_nr_modelled", "pct_area_4g_coverage")
    )
    # the union of the two radios' discs: at least either, at most both
    assert np.all(g4 >= np.maximum(lte, nr) - 1e-9) and np.all(g4 <= lte + nr + 1e-9)
    assert (g4 > np.maximum(lte, nr) + 1e-6).any()  # the NR disc reaches past the LTE one
    # about 5 km + 2 x 1 km discs of covered ground in total (32-gon area, 0.6 % short)
    ground = r.cells["pct_area_4g_coverage__num"].sum()  # m2 within reach
    assert 0 < ground < np.pi * (5000**2 + 2 * 1000**2 + 1500**2)  # 40 km capped at 5 km
    decl = r.variables["pct_area_4g_coverage"]
    assert decl.level == "cells" and decl.description.startswith("MODELLED")
    assert "1,000-5,000 m" in decl.description and "lower bound" in decl.description
    # a lower bound (the default): it passes I1b at >= 50 %, below it I1b stays unknown
    i1b = r.criteria[r.criteria["rule"] == "I1b"].set_index("village_code")
    cov = r.villages.set_index("village_code")["pct_area_4g_coverage"].reindex(i1b.index)
    assert decl.lower_bound and (cov >= 50).any() and (cov < 50).any()
    assert (i1b["state"] == np.where(cov >= 50, "pass", "unknown")).all()
    assert set(i1b.loc[i1b["state"] == "pass", "evidence"]) == {"cells"}


def test_coverage_not_taken_as_a_lower_bound_fails_villages_too(sample_copy):
    r = run(
        _config(
            sample_copy,
            towers=[_cells(sample_copy)],
            coverage_from_towers=True,
            coverage_lower_bound=False,
        )
    )
    i1b = r.criteria[r.criteria["rule"] == "I1b"].set_index("village_code")
    cov = r.villages.set_index("village_code")["pct_area_4g_coverage"].reindex(i1b.index)
    assert (i1b["state"] == np.where(cov >= 50, "pass", "fail")).all()
    assert "never fail" not in r.variables["pct_area_4g_coverage"].description


def test_coverage_from_towers_and_a_raster_are_refused(sample_copy):
    data = tomllib.loads((sample_copy / "despro.toml").read_text())
    data["layers"]["broadband"]["towers"] = [_cells(sample_copy)]
    data["layers"]["broadband"]["coverage_from_towers"] = True
    with pytest.raises(InputError, match="coverage_raster both give pct_area_4g_coverage"):
        run(config_from_dict(data, base_dir=sample_copy))


def test_repeated_site_ids_one_site_twice_dropped_reused_id_kept(sample_copy):
    sites = pd.DataFrame(
        {
            "kode kel./desa": ["34.01.01.2001", "34.01.01.2001", "34.01.01.2002", "34.01.01.2003"],
            "site id": ["A1", "a1 ", "B2", "B2"],
            "long": ["110.30", "110.30", "110.35", "110.45"],
            "lat": ["-7.80", "-7.80", "-7.85", "-7.75"],
            "on air actual": ["ON AIR", "ON AIR", "ON AIR", "ON AIR"],
        }
    )
    sites.to_csv(sample_copy / "sites.csv", index=False)
    r = run(_config(sample_copy, sites=["sites.csv"], coverage_from_towers=True))
    notes = [n for n in r.notes.items if n["file"].endswith("sites.csv")]
    twice = [n for n in notes if "listed twice" in n["message"]]
    assert twice and twice[0]["rows"] == ["3"]
    reused = [n for n in notes if "different positions" in n["message"]]
    assert reused and reused[0]["rows"] == ["4", "5"]
    assert r.cells["towers__LTE"].sum() == 3
