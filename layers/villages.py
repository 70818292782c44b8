"""Villages (desa / kelurahan): the units despro scores.

Reads polygons (or points) with a village code, name, regency and province codes,
population and households. Codes are Kemendagri village codes: 10 digits, kept
as strings (leading zeros survive); the dotted form ``34.02.01.2001`` is accepted
and normalised to ``3402012001``. Regency (4 digits) and province (2 digits)
codes default to the prefixes of the village code.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from despro.geo.config import Config, VillagesConfig
from despro.geo.errors import InputError
from despro.geo.layer import Notes

from ._io import numeric_column, read_vector, repair_geometries, require_columns

CODE_RE = re.compile(r"^\d{10}$")


def normalise_codes(values: pd.Series, path: Path | str, column: str, digits: int = 10,
                    what: str = "village code") -> pd.Series:
    """Kemendagri codes as digit strings: drop dots / spaces, keep leading zeros.

    Raises InputError naming the first row whose code is not ``digits`` digits.
    """
    s = values.astype("string").str.strip()
    # codes read by a spreadsheet as numbers come back as "3402012001.0"
    s = s.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    s = s.str.replace(r"[.\s]", "", regex=True)
    bad = ~s.fillna("").str.fullmatch(rf"\d{{{digits}}}")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{what} {values.iloc[i]!r} in column '{column}' is not {digits} "
                         f"digits (dotted form like 34.02.01.2001 is fine)", file=path,
                         row=i + 2, fix="keep codes as text so leading zeros survive")
    return s.astype(str)


def read(cfg: VillagesConfig, config: Config, notes: Notes) -> gpd.GeoDataFrame:
    """Read and validate the village file.

    Returns
    -------
    GeoDataFrame indexed by ``village_code`` (10-digit string) with columns
    ``village_name``, ``regency_code`` (4 digits), ``province_code`` (2 digits),
    ``population`` and ``households`` (float, NaN where unknown), geometry in EPSG:4326.
    """
    path = config.path(cfg.path)
    gdf = read_vector(path, "villages", layer=cfg.layer, bbox=cfg.bbox)
    require_columns(gdf, [cfg.code, cfg.name], path, "villages")
    code = normalise_codes(gdf[cfg.code], path, cfg.code)
    if cfg.code_prefix:
        keep = code.str.startswith(cfg.code_prefix).to_numpy()
        if not keep.any():
            raise InputError(f"no village code starts with '{cfg.code_prefix}'", file=path,
                             fix="check villages.code_prefix")
        gdf, code = gdf.loc[keep].reset_index(drop=True), code[keep].reset_index(drop=True)
    dup = code[code.duplicated(keep=False)]
    if len(dup):
        rows = (np.flatnonzero(code.duplicated(keep=False).to_numpy()) + 2).tolist()
        raise InputError(f"duplicate village code(s) {sorted(set(dup))[:5]} at rows {rows[:6]}",
                         file=path, row=rows[0], fix="each village must appear once")
    out = gpd.GeoDataFrame(
        {
            "village_code": code.to_numpy(),
            "village_name": gdf[cfg.name].astype("string").fillna("").to_numpy(),
        },
        geometry=gdf.geometry.values, crs="EPSG:4326",
    )
    out["regency_code"] = (normalise_codes(gdf[cfg.regency_code], path, cfg.regency_code, 4,
                                           "regency code").to_numpy()
                           if cfg.regency_code and cfg.regency_code in gdf else code.str[:4])
    out["province_code"] = (normalise_codes(gdf[cfg.province_code], path, cfg.province_code, 2,
                                            "province code").to_numpy()
                            if cfg.province_code and cfg.province_code in gdf else code.str[:2])
    mismatch = out["regency_code"].to_numpy() != code.str[:4].to_numpy()
    if mismatch.any():
        notes.add(path, "warning", "regency code differs from the village code's prefix",
                  rows=out["village_code"][mismatch].tolist())
    for col, src in (("population", cfg.population), ("households", cfg.households)):
        if src and src in gdf:
            v = numeric_column(gdf, src, path, "villages")
            if (v < 0).any():
                i = int(np.flatnonzero(v < 0)[0])
                raise InputError(f"negative {col} {v[i]}", file=path, row=i + 2,
                                 fix="counts must be >= 0; leave unknown empty")
            out[col] = v
        else:
            out[col] = np.nan
    out = repair_geometries(out, path, "villages", notes, id_col="village_code")
    return out.set_index("village_code", drop=False).rename_axis(None)
