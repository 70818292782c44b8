"""Site lists with village codes (BAKTI 4G BTS style): towers that say where they are.

A site list (CSV / XLSX) gives, per site, the Kemendagri code of the village it
serves and its lon / lat (BAKTI's 3T programme list: ``kode kel./desa``, ``long``,
``lat``, ``on air actual``, ``phase`` ...). Sites become towers of the broadband
layer (radio ``sites_radio``, coverage disc ``sites_radius_m``), and two checks
are reported in the data-quality log rather than silently trusted: how many sites'
village codes match a village of the run (the match rate), and which sites lie
outside the village their code names. Only sites whose status is kept
(``sites_status_keep``, default ON AIR) are modelled: a planned site radiates nothing.
A site id (``sites_id_column``) listed twice at the same position is one site (the
repeat is dropped); at another position it is another site reusing the id (BAKTI's
list reuses ids across its "new site" and "existing site" categories): kept, noted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from despro.codes import normalise_codes
from despro.layer import Notes

from ._io import check_lonlat_plausible, points_outside_indonesia, read_table, require_columns

if TYPE_CHECKING:  # pragma: no cover
    from .broadband import BroadbandConfig


def read_sites(
    path: Path,
    cfg: BroadbandConfig,
    villages: gpd.GeoDataFrame,
    notes: Notes,
    outside: str | None = None,
) -> gpd.GeoDataFrame:
    """Sites as tower points (``radio``, ``radius_m``, ``village_code``), with match checks
    against ``villages`` (the run's villages, indexed by village code); ``outside``:
    ``run.outside_indonesia`` (sites abroad dropped unless ``'reject'``)."""
    df = read_table(path, "site list", dtype=str)
    cols = [cfg.sites_code_column, cfg.sites_lon_column, cfg.sites_lat_column]
    if cfg.sites_status_column:
        cols.append(cfg.sites_status_column)
    require_columns(df, cols, path, "site list")
    rows = np.arange(len(df)) + 2  # spreadsheet rows (header is row 1)
    if cfg.sites_status_column:
        status = df[cfg.sites_status_column].astype("string").str.strip().str.upper()
        off = ~status.isin([s.upper() for s in cfg.sites_status_keep]).to_numpy()
        if off.any():
            notes.add(
                path,
                "dropped",
                f"sites not {cfg.sites_status_keep} (column '{cfg.sites_status_column}')",
                rows=rows[off].tolist(),
            )
            df, rows = df.loc[~off], rows[~off]
    lon = pd.to_numeric(df[cfg.sites_lon_column].str.replace(",", "."), errors="coerce")
    lat = pd.to_numeric(df[cfg.sites_lat_column].str.replace(",", "."), errors="coerce")
    bad = (lon.isna() | lat.isna()).to_numpy()
    if bad.any():
        notes.add(path, "dropped", "sites without numeric lon / lat", rows=rows[bad].tolist())
        df, lon, lat, rows = df.loc[~bad], lon[~bad], lat[~bad], rows[~bad]
    default_id = type(cfg).model_fields["sites_id_column"].default
    if cfg.sites_id_column and (cfg.sites_id_column in df or cfg.sites_id_column != default_id):
        df, lon, lat, rows = _repeated_ids(df, lon, lat, rows, cfg.sites_id_column, path, notes)
    code = normalise_codes(df[cfg.sites_code_column], path, cfg.sites_code_column, errors="coerce")
    gdf = gpd.GeoDataFrame(
        {"village_code": code.to_numpy(), "row": rows},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    check_lonlat_plausible(gdf, path, "site list", tabular=True)
    gdf = points_outside_indonesia(gdf, path, "site list", notes, outside, gdf["row"].to_numpy())
    _report_matches(gdf, path, villages, notes)
    return gdf.assign(radio=cfg.sites_radio, radius_m=cfg.sites_radius_m)


def _repeated_ids(
    df: pd.DataFrame,
    lon: pd.Series,
    lat: pd.Series,
    rows: np.ndarray,
    column: str,
    path: Path,
    notes: Notes,
) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """Drop repeats of a site (same id, same lon / lat); note ids reused at other positions."""
    require_columns(df, [column], path, "site list")
    ids = df[column].astype("string").str.strip().str.upper()
    frame = pd.DataFrame({"id": ids.to_numpy(), "lon": lon.to_numpy(), "lat": lat.to_numpy()})
    same = frame.duplicated().to_numpy() & frame["id"].notna().to_numpy()
    if same.any():
        notes.add(
            path,
            "dropped",
            f"sites listed twice (same '{column}' and position): counted once",
            rows=rows[same].tolist(),
        )
        keep = ~same
        df, lon, lat, rows, frame = df[keep], lon[keep], lat[keep], rows[keep], frame[keep]
    reused = frame["id"].duplicated(keep=False).to_numpy() & frame["id"].notna().to_numpy()
    if reused.any():
        notes.add(
            path,
            "warning",
            f"{int(frame['id'][reused].nunique())} '{column}' value(s) name sites at "
            "different positions: kept as separate sites",
            rows=rows[reused].tolist(),
        )
    return df, lon, lat, rows


def _report_matches(
    sites: gpd.GeoDataFrame, path: Path, vil: gpd.GeoDataFrame, notes: Notes
) -> None:
    """Match rate of the sites' village codes, and sites outside their stated village."""
    known = sites["village_code"].isin(vil.index).to_numpy()
    notes.add(
        path,
        "warning",
        f"site village codes matching a village of this run: "
        f"{int(known.sum())} of {len(sites)} ({100 * known.mean():.1f} %)"
        if len(sites)
        else "no sites",
        rows=[],
    )
    if not known.any():
        return
    own = vil.geometry.reindex(sites.loc[known, "village_code"]).to_numpy()
    pts = sites.geometry.to_numpy()[known]
    outside = ~shapely.covers(own, pts)
    if outside.any():
        notes.add(
            path,
            "warning",
            f"{int(outside.sum())} site(s) lie outside the village "
            "their code names (kept at their coordinates)",
            rows=sites["row"].to_numpy()[known][outside].tolist(),
        )
