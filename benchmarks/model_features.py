"""Do the features every village has rank the observed 4G answers? (the I1b model's limit)

The I1b model (``despro.model``) learns the Podes 4G answers of Jambi 2019 and Sumatera
Selatan 2021 from features every village has. Its leave-one-province-out AUC is near 0.5,
so its recalibrated probability is the observed share everywhere. This script measures,
inside each observed province, how well each candidate feature alone ranks the answers
(ROC AUC, 0.5 = chance; a distance counts the other way round), and the leave-one-province-
out AUC of the same gradient-boosted trees on all of them together, including features the
run does not carry (distance to the nearest OpenCellID cell / BAKTI site, cells within 5 and
10 km, the regency's measured speeds and ISP points of presence):

    despro run --config examples/indonesia.toml --output-dir /tmp/nat/out --maps-dir /tmp/nat/maps
    python benchmarks/model_features.py /tmp/nat/out/villages.parquet

Needs ``../shared/data`` beside the repository. Prints one table; writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import BallTree

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EARTH_KM = 6371.0088
LABEL = "census_signal_4g"


def _digits(s: pd.Series) -> pd.Series:
    return s.astype(str).str.replace(r"\D", "", regex=True)


def point_features(data: Path) -> pd.DataFrame:
    """Per village (code digits): distance to the nearest LTE cell / BAKTI site (km) and
    LTE cells within 5 and 10 km of its representative point."""
    v = gpd.read_parquet(data / "admin" / "admin_kel.parquet")
    pt = v.geometry.representative_point()
    here = np.radians(np.c_[pt.y, pt.x])
    cells = pd.read_csv(data / "infra" / "opencellid_510_indonesia_locatebts.csv")
    sites = pd.read_csv(data / "infra" / "bakti_bts4g_sites_kepmendagri.csv")
    out = pd.DataFrame(index=_digits(v["kode"]))
    for name, lat, lon in (
        (
            "lte",
            cells.loc[cells["radio"] == "LTE", "lat"],
            cells.loc[cells["radio"] == "LTE", "lon"],
        ),
        ("bakti", sites["lat"], sites["long"]),
    ):
        tree = BallTree(np.radians(np.c_[lat.astype(float), lon.astype(float)]), metric="haversine")
        out[f"{name}_distance_km"] = tree.query(here, k=1)[0][:, 0] * EARTH_KM
        for km in (5, 10):
            out[f"{name}_within_{km}km"] = tree.query_radius(here, km / EARTH_KM, count_only=True)
    return out


def regency_features(data: Path) -> pd.DataFrame:
    """Per regency (4 code digits): measured download / upload Mbps and ISP points of
    presence (distinct operators), joined by Kemendagri names within provinces."""
    codes = pd.read_csv(data / "admin" / "codes_kemendagri.csv", dtype=str)
    prov = codes[codes["kode"].str.len() == 2].set_index("kode")["nama"].str.upper()
    reg = codes[codes["kode"].str.len() == 5].copy()
    name = reg["nama"].str.upper().str.replace("KABUPATEN ", "KAB. ", regex=False)
    reg["key"] = reg["kode"].str[:2].map(prov) + "|" + name

    def key(d: pd.DataFrame) -> pd.Series:
        return d["provinsi"].str.upper().str.strip() + "|" + d["kab/kota"].str.upper().str.strip()

    speed = pd.read_csv(data / "infra" / "speed_ud_kabkota_kepmendagri.csv")
    isp = pd.read_csv(data / "infra" / "isp_pop_kabkota_2021_kepmendagri.csv")
    isp_n = isp.assign(key=key(isp)).groupby("key")["nama_penyelenggara"].nunique()
    speed = speed.assign(key=key(speed)).groupby("key")[["download", "upload"]].mean()
    out = pd.DataFrame(
        {
            "regency_download_mbps": speed["download"].reindex(reg["key"]).to_numpy(),
            "regency_upload_mbps": speed["upload"].reindex(reg["key"]).to_numpy(),
            "regency_isp_operators": isp_n.reindex(reg["key"]).to_numpy(),
        },
        index=reg["kode"].str.replace(".", "", regex=False),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("villages", type=Path, help="villages.parquet of the national run")
    ap.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = ap.parse_args()
    v = pd.read_parquet(args.villages)
    v.index = _digits(v["village_code"])
    run_features = [
        c
        for c in ("pct_area_4g_coverage", "pct_area_lte_modelled", "backbone_distance_m")
        if c in v
    ]
    d = v[[LABEL, *run_features]].join(point_features(args.data))
    d = d.assign(regency=d.index.str[:4]).join(regency_features(args.data), on="regency")
    d = d.drop(columns="regency")
    d["urban"] = (d.index.str[6] == "1").astype(float)
    d = d.apply(pd.to_numeric, errors="coerce").astype(float)
    y = d[LABEL]
    province = pd.Series(d.index.str[:2], index=d.index)
    observed = y.notna()
    both = [
        p for p, g in y[observed].groupby(province[observed]) if g.nunique() == 2 and len(g) > 100
    ]
    features = [c for c in d.columns if c != LABEL]
    rows = []
    for f in features:
        row = {"feature": f}
        for p in both:
            m = observed & (province == p)
            x = d.loc[m, f].fillna(-1.0)
            sign = -1.0 if "distance" in f else 1.0
            row[f"AUC {p}"] = roc_auc_score(y[m], sign * x)
        rows.append(row)
    for p in both:
        train = observed & province.isin(both) & (province != p)
        test = observed & (province == p)
        clf = HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            l2_regularization=1.0,
            random_state=0,
        ).fit(d.loc[train, features], y[train])
        auc = roc_auc_score(y[test], clf.predict_proba(d.loc[test, features])[:, 1])
        rows.append({"feature": f"all, trained without {p}", f"AUC {p}": auc})
    table = pd.DataFrame(rows).set_index("feature")
    n = {p: int((observed & (province == p)).sum()) for p in both}
    print(f"observed villages per province: {n}")
    print(table.round(3).to_string(na_rep=""))


if __name__ == "__main__":
    main()
