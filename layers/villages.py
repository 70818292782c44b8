"""Villages (desa / kelurahan): the units despro scores.

Reads polygons (or points) with a village code, name, regency and province codes,
population and households. Codes are Kemendagri village codes: 10 digits, kept
as strings (leading zeros survive); the dotted form ``34.02.01.2001`` is accepted
and normalised to ``3402012001``. Regency (4 digits) and province (2 digits)
codes default to the prefixes of the village code.

Boundary files from other publishers (``code_system``):

* HDX COD-AB: ``code = "ADM4_PCODE"``; the ``ID`` prefix of its P-codes is dropped.
  Where those P-codes follow BPS numbering, ``code_system = "bps"`` matches them
  to Kemendagri by name within their parents (:mod:`despro.layers._crosswalk`;
  ``regency_name = "ADM2_EN"``, ``district_name = "ADM3_EN"``, ``name = "ADM4_EN"``).
* geoBoundaries: no admin codes (``shapeID`` is geoBoundaries' own id):
  ``code_system = "name"`` matches ``shapeName`` to Kemendagri village names within
  ``code_prefix`` (:mod:`despro.layers._names`).

Either way a ``names`` Kemendagri code list is needed; villages left without a
unique code are dropped and reported as unmatched.

Contract (pandera): population and households are numbers >= 0 and households
do not exceed population.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa
import shapely

from despro.aggregate.shared_ground import OVERLAP_ERROR, OVERLAP_TINY
from despro.codes import normalise_codes
from despro.errors import InputError
from despro.layer import Notes
from despro.layers._crosswalk import bps_villages_to_kemendagri, kemendagri_units

from ._contracts import at_most, non_negative, not_above, number, validate
from ._io import read_vector, repair_geometries, require_columns
from ._names import codes_from_names, read_code_list, read_code_table
from ._place import describe_outside, outside_indonesia

if TYPE_CHECKING:  # pragma: no cover
    from despro.config.settings import Config, VillagesConfig


def read(cfg: VillagesConfig, config: Config, notes: Notes) -> gpd.GeoDataFrame:
    """Read and validate the village file.

    Returns
    -------
    GeoDataFrame indexed by ``village_code`` (10-digit string) with columns
    ``village_name``, ``regency_code`` (4 digits), ``province_code`` (2 digits),
    ``population`` and ``households`` (float, NaN where unknown), geometry in EPSG:4326;
    with a ``names`` code list also ``regency_name`` and ``province_name``.
    """
    path = config.path(cfg.path)
    gdf = read_vector(path, "villages", layer=cfg.layer, bbox=cfg.bbox)
    require_columns(
        gdf, [cfg.name] if cfg.code_system == "name" else [cfg.code, cfg.name], path, "villages"
    )
    code = _codes(cfg, gdf, config, path, notes)
    if code.isna().any():
        gdf, code = (
            gdf.loc[code.notna()].reset_index(drop=True),
            code.dropna().astype(str).reset_index(drop=True),
        )
    if cfg.code_prefix:
        keep = code.str.startswith(cfg.code_prefix).to_numpy()
        if not keep.any():
            raise InputError(
                f"no village code starts with '{cfg.code_prefix}'",
                file=path,
                fix="check villages.code_prefix",
            )
        gdf, code = gdf.loc[keep].reset_index(drop=True), code[keep].reset_index(drop=True)
    dup = code[code.duplicated(keep=False)]
    if len(dup):
        rows = (np.flatnonzero(code.duplicated(keep=False).to_numpy()) + 2).tolist()
        raise InputError(
            f"duplicate village code(s) {sorted(set(dup))[:5]} at rows {rows[:6]}",
            file=path,
            row=rows[0],
            fix="each village must appear once",
        )
    out = gpd.GeoDataFrame(
        {
            "village_code": code.to_numpy(),
            "village_name": gdf[cfg.name].astype("string").fillna("").to_numpy(),
        },
        geometry=gdf.geometry.values,
        crs="EPSG:4326",
    )
    own = cfg.code_system == "kemendagri"  # other systems' parent codes are not Kemendagri's
    out["regency_code"] = (
        normalise_codes(gdf[cfg.regency_code], path, cfg.regency_code, 4, "regency code").to_numpy()
        if own and cfg.regency_code and cfg.regency_code in gdf
        else code.str[:4]
    )
    out["province_code"] = (
        normalise_codes(
            gdf[cfg.province_code], path, cfg.province_code, 2, "province code"
        ).to_numpy()
        if own and cfg.province_code and cfg.province_code in gdf
        else code.str[:2]
    )
    if cfg.names is not None:
        units = read_code_list(config.path(cfg.names)).set_index("code")["name"]
        for level, col in (("regency", "regency_code"), ("province", "province_code")):
            out[f"{level}_name"] = units.reindex(out[col].to_numpy()).astype("string").to_numpy()
    mismatch = out["regency_code"].to_numpy() != code.str[:4].to_numpy()
    if mismatch.any():
        notes.add(
            path,
            "warning",
            "regency code differs from the village code's prefix",
            rows=out["village_code"][mismatch].tolist(),
        )
    counts = {
        col: src
        for col, src in (("population", cfg.population), ("households", cfg.households))
        if src and src in gdf
    }
    checked = validate(
        pd.DataFrame(gdf[list(counts.values())]), _counts_schema(counts), path, "villages"
    )
    for col in ("population", "households"):
        out[col] = checked[counts[col]].to_numpy(float) if col in counts else np.nan
    out = repair_geometries(out, path, "villages", notes, id_col="village_code")
    if config.run.outside_indonesia == "drop":
        out = _drop_outside(out, path, notes)
    check_shapes(out, path, notes)
    return out.set_index("village_code", drop=False).rename_axis(None)


def _drop_outside(villages: gpd.GeoDataFrame, path: Path, notes: Notes) -> gpd.GeoDataFrame:
    """``run.outside_indonesia = 'drop'``: villages abroad dropped, their codes reported."""
    geoms = villages.geometry.values
    poly = np.isin(
        shapely.get_type_id(geoms),
        [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON],
    )
    out = outside_indonesia(geoms) & poly  # points and lines get check_shapes' error
    if not out.any():
        return villages
    if out.all():
        raise InputError(
            f"all {len(villages)} villages lie outside Indonesia ({describe_outside(geoms, out)})",
            file=path,
            fix="check the file's coordinates and the CRS it declares",
        )
    notes.add(
        path,
        "dropped",
        f"villages outside Indonesia (run.outside_indonesia = 'drop'): {int(out.sum())} of "
        f"{len(villages)} (the first {describe_outside(geoms, out)})",
        rows=villages["village_code"][out].tolist(),
    )
    return villages.loc[~out].reset_index(drop=True)


#: a village wider or taller than this (degrees, ~1,100 km) is not one village: an error
MAX_VILLAGE_DEGREES = 10.0
#: wider or taller than this (degrees, ~220 km) is noted for a check but kept: island
#: villages reach it (Nua Nea, Maluku Tengah, spans 3.7 degrees in the Kemendagri 2025 file)
WIDE_VILLAGE_DEGREES = 2.0


def check_shapes(villages: gpd.GeoDataFrame, path: Path, notes: Notes | None = None) -> None:
    """Village boundaries: polygons, inside Indonesia, of a village's size, not repeated.

    Parameters
    ----------
    villages : GeoDataFrame
        In EPSG:4326 with ``village_code``.
    path : Path
        The village file, named in errors.
    notes : Notes, optional
        Where villages wider than :data:`WIDE_VILLAGE_DEGREES` are noted (kept).

    Raises
    ------
    InputError
        Naming the first offending village's code.
    """
    geoms = villages.geometry.values
    codes = villages["village_code"].to_numpy()
    kind = shapely.get_type_id(geoms)
    poly = np.isin(kind, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    if not poly.all():
        i = int(np.flatnonzero(~poly)[0])
        raise InputError(
            f"villages must be polygons (village boundaries); {int((~poly).sum())} feature(s) "
            f"are not, the first a {geoms[i].geom_type}",
            file=path,
            row=f"village {codes[i]}",
            fix="use the village boundary polygons (points or lines cannot be shared "
            "with the H3 cells)",
        )
    out = outside_indonesia(geoms)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        more = f" (and {int(out.sum()) - 1} more)" if out.sum() > 1 else ""
        raise InputError(
            f"village lies outside Indonesia, {describe_outside(geoms, out)}{more}",
            file=path,
            row=f"village {codes[i]}",
            fix="check its coordinates and the CRS the file declares (or set "
            "run.outside_indonesia = 'drop' to drop such villages)",
        )
    b = shapely.bounds(geoms)
    span = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    wide = (span > WIDE_VILLAGE_DEGREES) & (span <= MAX_VILLAGE_DEGREES)
    if wide.any() and notes is not None:
        notes.add(
            path,
            "warning",
            f"{int(wide.sum())} village(s) span more than {WIDE_VILLAGE_DEGREES:g} degrees "
            "(~220 km; kept: island villages can, a wrongly scaled shape would too)",
            rows=[f"{c} ({x:.1f} degrees)" for c, x in zip(codes[wide], span[wide], strict=True)],
        )
    big = span > MAX_VILLAGE_DEGREES
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise InputError(
            f"village spans {span[i]:.1f} degrees "
            f"(over {MAX_VILLAGE_DEGREES:g} degrees, ~1,100 km: larger than any village)",
            file=path,
            row=f"village {codes[i]}",
            fix="check its geometry (a province or a wrongly scaled shape?)",
        )
    # the very same boundary has the same bounds and vertex count: only those few
    # candidates are compared byte by byte (WKB of all 83,246 took 1.3 s)
    key = pd.DataFrame(b).assign(n=shapely.get_num_coordinates(geoms))
    same = key.duplicated(keep=False).to_numpy()
    if same.any():
        wkb = pd.Series(shapely.to_wkb(geoms[same]), index=np.flatnonzero(same))
        same = np.zeros(len(geoms), bool)
        same[wkb.index[wkb.duplicated(keep=False).to_numpy()]] = True
    if same.any():
        dup = codes[same][:4].tolist()
        raise InputError(
            f"villages {dup} have the very same boundary (overlapping villages)",
            file=path,
            row=f"village {dup[0]}",
            fix="give each village its own boundary",
        )
    _check_overlaps(geoms, codes, path, notes)


# OVERLAP_ERROR: an overlap covering at least this share of the smaller village is an error
# (a copied or shifted boundary, an old village kept beside the villages it was split into);
# below OVERLAP_TINY it is digitising, counted in a note; between the two it is noted with
# both codes. The run finds the partial overlaps this interior-point test misses through
# the cells the villages share (despro.aggregate.shared_ground, where both are defined).


def overlapping_villages(geoms: np.ndarray) -> pd.DataFrame:
    """Pairs of villages sharing ground, found through an interior point of each village.

    A village whose interior point (``shapely.point_on_surface``) lies inside another
    village is paired with it, and the pair's overlap area is measured exactly. This
    finds every copied or contained village and overlaps covering the smaller village's
    interior point, at the cost of one point-in-polygon query per village (~0.7 s for
    83,246 villages). An exhaustive ``overlaps`` test of every pair of neighbours (~90 s
    there, mostly digitising slivers) is not run; a second point per village (the
    centroid) found one more pair there (0.6 %) for another ~1.2 s.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
        Valid village polygons (EPSG:4326).

    Returns
    -------
    DataFrame
        Columns ``a``, ``b`` (positions, a < b) and ``share`` (overlap area / the smaller
        village's area, 0-1), one row per pair, largest share first.
    """
    pts = shapely.point_on_surface(geoms)
    tree = shapely.STRtree(geoms)
    p, g = tree.query(pts, predicate="within")
    other = p != g
    if not other.any():
        return pd.DataFrame({"a": [], "b": [], "share": []})
    pairs = np.unique(np.sort(np.column_stack([p[other], g[other]]), axis=1), axis=0)
    a, b = pairs[:, 0], pairs[:, 1]
    area = shapely.area(geoms[pairs.ravel()]).reshape(-1, 2)
    inter = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(np.nan_to_num(inter / area.min(axis=1), nan=1.0), 0.0, 1.0)
    out = pd.DataFrame({"a": a, "b": b, "share": share})
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def _check_overlaps(geoms: np.ndarray, codes: np.ndarray, path: Path, notes: Notes | None) -> None:
    """Error on villages sharing half of the smaller one; note smaller overlaps."""
    ov = overlapping_villages(geoms)
    if ov.empty:
        return

    def label(r) -> str:
        return f"{codes[int(r.a)]} / {codes[int(r.b)]}: {100 * r.share:.1f} %"

    big = ov[ov["share"] >= OVERLAP_ERROR]
    if len(big):
        r = big.iloc[0]
        more = f" (and {len(big) - 1} more pair(s))" if len(big) > 1 else ""
        raise InputError(
            f"villages {codes[int(r.a)]} and {codes[int(r.b)]} overlap: "
            f"{100 * r.share:.1f} % of the smaller one lies in the other{more}",
            file=path,
            row=f"village {codes[int(r.a)]}",
            fix="give each village its own ground (a copied or shifted boundary, or an "
            "old village kept beside the villages it was split into?)",
        )
    if notes is None:
        return
    part = ov[ov["share"] >= OVERLAP_TINY]
    if len(part):
        notes.add(
            path,
            "warning",
            f"{len(part)} pair(s) of villages overlap by {100 * OVERLAP_TINY:g}-"
            f"{100 * OVERLAP_ERROR:g} % of the smaller one (kept; check the boundaries)",
            rows=[label(r) for r in part.itertuples()],
        )
    tiny = len(ov) - len(part)
    if tiny:
        notes.add(
            path,
            "warning",
            f"{tiny} pair(s) of villages overlap by less than {100 * OVERLAP_TINY:g} % of the "
            "smaller one (digitising; kept)",
            rows=[label(r) for r in ov[ov["share"] < OVERLAP_TINY].itertuples()][:20],
        )


#: declared ceiling of a village's population and households (the largest kelurahan
#: hold ~200,000 people)
MAX_PEOPLE = 2_000_000


def _counts_schema(counts: dict[str, str]) -> pa.DataFrameSchema:
    """Population and households: numbers >= 0; households not above population."""
    both = len(counts) == 2
    return pa.DataFrameSchema(
        {
            src: number(
                non_negative(),
                at_most(
                    MAX_PEOPLE,
                    "no village or kelurahan has 2 million people or households; "
                    "check the column and the unit",
                ),
            )
            for src in counts.values()
        },
        checks=[
            not_above(
                counts["households"],
                counts["population"],
                "households cannot exceed people; check the two columns are not swapped",
            )
        ]
        if both
        else [],
    )


def _codes(
    cfg: VillagesConfig, gdf: pd.DataFrame, config: Config, path: Path, notes: Notes
) -> pd.Series:
    """10-digit Kemendagri code per feature (missing where a name matched no unit)."""
    if cfg.code_system == "kemendagri":
        return normalise_codes(gdf[cfg.code], path, cfg.code)
    if cfg.names is None:
        raise InputError(
            f"villages.code_system = '{cfg.code_system}' needs the Kemendagri code list",
            file=config.source_file,
            fix="set villages.names (e.g. codes_kemendagri.csv: kode, nama)",
        )
    names_path = config.path(cfg.names)
    if cfg.code_system == "name":
        return codes_from_names(
            gdf[cfg.name], names_path, "village", path, "villages", notes, within=cfg.code_prefix
        )
    parents = [cfg.regency_name, cfg.district_name]
    if None in parents:
        raise InputError(
            "villages.code_system = 'bps' matches villages by name within their "
            "district and regency",
            file=config.source_file,
            fix="set villages.regency_name and villages.district_name "
            "(HDX COD-AB: ADM2_EN, ADM3_EN)",
        )
    require_columns(gdf, parents, path, "villages")
    table = pd.DataFrame(
        {
            "IDDESA": normalise_codes(gdf[cfg.code], path, cfg.code),
            "NAMA_KAB": gdf[cfg.regency_name],
            "NAMA_KEC": gdf[cfg.district_name],
            "NAMA_DESA": gdf[cfg.name],
        }
    )
    x = bps_villages_to_kemendagri(table, kemendagri_units(read_code_table(names_path)))
    bad = (x["problem"] != "").to_numpy()
    if bad.any():
        notes.add(
            path,
            "unmatched",
            "villages with no unique Kemendagri code (left out): "
            + "; ".join(sorted(set(x.loc[bad, "problem"]))),
            rows=[
                f"row {i + 2}: {c} {n}"
                for i, c, n in zip(
                    np.flatnonzero(bad), x.loc[bad, "bps_code"], gdf[cfg.name][bad], strict=True
                )
            ],
        )
    return pd.Series(x["kemendagri_code"].to_numpy(), dtype="string")
