"""The study area: villages, the H3 cells that touch them, and their overlap weights.

Computed once per (village set, resolution, weighting) and shared by every layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from despro.aggregate.overlap import polygon_overlap
from despro.grid import cells as grid


@dataclass
class Study:
    """Villages and their cells.

    Attributes
    ----------
    villages : GeoDataFrame
        Indexed by 10-digit village code (see :mod:`despro.layers.villages`).
    res : int
        H3 resolution.
    cells : ndarray of uint64
        Sorted cells touching any village (the cell table's index).
    area : csr_matrix (villages x cells)
        Overlap area in m2 (points: 1).
    weights : csr_matrix (villages x cells)
        Transfer weights: ``area``, or area x population density of the cell.
    weighting : str
        'area' or 'population'.
    cell_area : ndarray, optional
        Exact area (m2) of each cell, computed on first use and kept (it is pickled
        with the study in the step cache, so a rescore does not pay for it again).
    cell_wkb : arrow binary array, optional
        The cells' boundaries as WKB, kept the same way (the cell table's geometry).
    """

    villages: gpd.GeoDataFrame
    res: int
    cells: np.ndarray
    area: sp.csr_matrix
    weights: sp.csr_matrix
    weighting: str = "area"
    cell_area: np.ndarray | None = field(default=None, repr=False)
    cell_wkb: pa.Array | None = field(default=None, repr=False)

    @property
    def cell_index(self) -> pd.Index:
        return pd.Index(self.cells, name="cell")

    @property
    def village_index(self) -> pd.Index:
        return self.villages.index

    def cell_area_m2(self) -> np.ndarray:
        """Exact spherical area (m2) of each cell, in ``cells`` order."""
        if self.cell_area is None or len(self.cell_area) != len(self.cells):
            self.cell_area = grid.cell_area_m2(self.cells)
        return self.cell_area

    def cell_wkb_array(self) -> pa.Array:
        """The hexagons of ``cells`` as WKB (lon/lat), computed on first use and kept."""
        if self.cell_wkb is None or len(self.cell_wkb) != len(self.cells):
            self.cell_wkb = grid.cell_wkb(self.cells)
        return self.cell_wkb

    def cell_polygons(self) -> np.ndarray:
        """Shapely hexagons of ``cells`` (lon/lat), from the kept WKB when present."""
        return grid.cell_polygons(self.cells, self.cell_wkb_array())

    def with_population(self, cell_population: pd.Series) -> Study:
        """Switch to population weights: area share of the cell x people in the cell.

        Where population cannot decide, area does: a cell holding no people keeps
        its area weights (so whatever lies in it, speed tests or outlets, still
        reaches the villages that share it), and so does a village whose cells all
        hold no people (so it still receives and returns its quantities). Totals are
        conserved either way.
        """
        pop = cell_population.reindex(self.cell_index).fillna(0.0).to_numpy(float)
        share = self.area.multiply(1.0 / self.cell_area_m2()[None, :]).tocsr()
        empty_cells = (pop <= 0).astype(float)
        w = share.multiply(pop[None, :]) + self.area.multiply(empty_cells[None, :])
        w = sp.csr_matrix(w)
        empty_rows = np.asarray((share.multiply(pop[None, :])).sum(axis=1)).ravel() <= 0
        if empty_rows.any():
            w = (
                w.multiply((~empty_rows).astype(float)[:, None])
                + sp.diags(empty_rows.astype(float)) @ self.area
            )
            w = sp.csr_matrix(w)
        w.eliminate_zeros()
        return Study(
            self.villages,
            self.res,
            self.cells,
            self.area,
            w,
            "population",
            self.cell_area,
            self.cell_wkb,
        )


def build_study(villages: gpd.GeoDataFrame, res: int) -> Study:
    """Overlap every village with the H3 cells it touches (area weights)."""
    ov = polygon_overlap(villages.geometry.values, grid.check_resolution(res))
    study = Study(
        villages, res, ov.cells, ov.matrix, ov.matrix.copy(), "area", cell_area=ov.cell_area
    )
    study.cell_wkb = grid.cell_wkb(study.cells)  # kept (and cached) with the study
    return study
