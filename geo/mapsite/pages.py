"""Which pages the map site has and which villages and cells each shows.

- ``index``: the national overview (cells rolled up, at most
  :data:`OVERVIEW_MAX_CELLS` cells; only ready, near-ready and shortlisted villages
  once there are more than :data:`OVERVIEW_MAX_VILLAGES`);
- ``province-<code>``: one page per province at the run's resolution;
- when a province page would be over the size budget, it becomes a province
  overview (cells rolled up as on the index, villages as on the index) linking one
  ``regency-<code>`` page per regency at the run's resolution.

File names are built from codes only (anything but letters, digits, ``_`` and ``-``
replaced), never from names. Every village lives at full resolution on exactly one
page (its *home*); pages that do not show a village can still find it by name and
link to its home (``elsewhere``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from despro.config.vocab import PILOT_TIERS
from despro.mapsite import data as md
from despro.mapsite.data import escape_text as esc
from despro.mapsite.labels import LABELS

if TYPE_CHECKING:
    import geopandas as gpd

    from despro.pipeline.runner import Result

OVERVIEW_MAX_CELLS = 20_000
OVERVIEW_MAX_VILLAGES = 5_000


@dataclass
class Page:
    """One HTML page: which villages and cells it shows, at which resolution at most.

    ``scope`` is every village the page stands for (its summary figure and bounds);
    ``villages`` those it draws (all of ``scope``, or the notable ones on overviews).
    """

    slug: str
    title: str
    villages: object  # GeoDataFrame indexed by village code
    cell_mask: np.ndarray
    max_res: int
    note: str = ""
    province: object = None  # province code; None for the national overview
    scope: object = None
    parent: Page | None = None
    children: list[Page] = field(default_factory=list)
    children_label: str = ""

    def __post_init__(self) -> None:
        if self.scope is None:
            self.scope = self.villages


def slug(kind: str, code: object) -> str:
    """File stem of a province or regency page: from its code, safe in a file name/URL."""
    return f"{kind}-" + re.sub(r"[^0-9A-Za-z_-]", "_", str(code))


def overview_res(ids: np.ndarray, res: int) -> int:
    """Finest resolution below ``res`` with at most :data:`OVERVIEW_MAX_CELLS` cells."""
    r = max(res - 1, 0)
    while r > 0 and md.n_parents(ids, r) > OVERVIEW_MAX_CELLS:
        r -= 1
    return r


def overview_villages(
    result: Result, villages: gpd.GeoDataFrame, lang: str
) -> tuple[gpd.GeoDataFrame, str]:
    """The villages an overview draws, and the note saying so (empty when all)."""
    if len(villages) <= OVERVIEW_MAX_VILLAGES:
        return villages, ""
    keep = villages["tier"].isin(PILOT_TIERS) | villages.index.isin(
        result.shortlist()["village_code"]
    )
    return villages[keep], LABELS[lang]["overview_villages"]


def _touched(result, codes) -> np.ndarray:
    """Cells overlapping any of the villages ``codes``."""
    area = result.study.area.tocsr()
    rows = result.study.village_index.get_indexer(codes)
    return area[rows].getnnz(axis=0) > 0


def plan_pages(result: Result, lang: str) -> tuple[Page, list[Page]]:
    """The national overview and one full-resolution page per province (sorted by code)."""
    t = LABELS[lang]
    v = result.villages
    ids = result.cell_columns["h3_int"].to_numpy(dtype=np.uint64)
    res = result.config.run.resolution
    over, note = overview_villages(result, v, lang)
    index = Page(
        "index",
        t["overview"],
        over,
        np.ones(len(ids), bool),
        overview_res(ids, res),
        note,
        scope=v,
        children_label=t["provinces"],
    )
    for code, sub in v.groupby("province_code", sort=True, dropna=False):
        index.children.append(
            Page(
                slug("province", code),
                _title(sub, code, "province", lang),
                sub,
                _touched(result, sub.index),
                res,
                province=code,
                parent=index,
            )
        )
    return index, index.children


def _title(sub, code, level: str, lang: str) -> str:
    """'Provinsi 35 Jawa Timur': the level's label, its code and, when known, its name."""
    col = f"{level}_name"
    name = sub[col].dropna().astype(str) if col in sub else []
    return f"{LABELS[lang][level]} {code}" + (f" {name.iloc[0]}" if len(name) else "")


def split_province(result: Result, page: Page, lang: str) -> tuple[Page, list[Page]]:
    """A province overview (rolled-up cells, notable villages) and its regency pages."""
    t = LABELS[lang]
    ids = result.cell_columns["h3_int"].to_numpy(dtype=np.uint64)
    shown, note = overview_villages(result, page.scope, lang)
    note = " ".join(x for x in (t["province_split"], note) if x)
    overview = Page(
        page.slug,
        page.title,
        shown,
        page.cell_mask,
        overview_res(ids[page.cell_mask], page.max_res),
        note,
        province=page.province,
        scope=page.scope,
        parent=page.parent,
        children_label=t["regencies"],
    )
    for code, sub in page.scope.groupby("regency_code", sort=True, dropna=False):
        overview.children.append(
            Page(
                slug("regency", code),
                _title(sub, code, "regency", lang),
                sub,
                _touched(result, sub.index),
                page.max_res,
                province=page.province,
                parent=overview,
            )
        )
    return overview, overview.children


def elsewhere_payload(page: Page, home: dict[str, Page]) -> dict:
    """Villages of the page's scope that it does not draw, for the search box.

    ``{"pages": [[slug, escaped title], ...], "v": [[escaped name, URL-quoted code,
    page index], ...]}``; each links to ``<slug>.html#v=<code>``.
    """
    missing = page.scope.index.difference(page.villages.index)
    pages: dict[str, int] = {}
    rows = []
    names = page.scope["village_name"].reindex(missing)
    for code, name in zip(missing, names, strict=True):
        target = home[code]
        k = pages.setdefault(target.slug, len(pages))
        rows.append([esc(name), quote(str(code), safe=""), k])
    titles = {p.slug: p.title for p in home.values()}
    return {"pages": [[s, esc(titles[s])] for s in pages], "v": rows}
