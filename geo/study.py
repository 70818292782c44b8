"""The study area: villages, the H3 cells that touch them, and their overlap weights.

Computed once per (village set, resolution, weighting) and shared by every layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import grid
from .overlap import polygon_overlap


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
    """

    villages: gpd.GeoDataFrame
    res: int
    cells: np.ndarray
    area: sp.csr_matrix
    weights: sp.csr_matrix
    weighting: str = "area"

    @property
    def cell_index(self) -> pd.Index:
        return pd.Index(self.cells, name="cell")

    @property
    def village_index(self) -> pd.Index:
        return self.villages.index

    def cell_area_m2(self) -> np.ndarray:
        return grid.cell_area_m2(self.cells)

    def with_population(self, cell_population: pd.Series) -> Study:
        """Switch to population weights: area share of the cell x people in the cell.

        Villages whose cells all hold zero people keep area weights (so that every
        village still receives and returns its quantities).
        """
        pop = cell_population.reindex(self.cell_index).fillna(0.0).to_numpy(float)
        share = self.area.multiply(1.0 / self.cell_area_m2()[None, :]).tocsr()
        w = share.multiply(pop[None, :]).tocsr()
        empty = np.asarray(w.sum(axis=1)).ravel() <= 0
        if empty.any():
            fallback = sp.diags(empty.astype(float)) @ self.area
            w = (w + fallback).tocsr()
        w.eliminate_zeros()
        return Study(self.villages, self.res, self.cells, self.area, w, "population")


def build_study(villages: gpd.GeoDataFrame, res: int) -> Study:
    """Overlap every village with the H3 cells it touches (area weights)."""
    ov = polygon_overlap(villages.geometry.values, grid.check_resolution(res))
    return Study(villages, res, ov.cells, ov.matrix, ov.matrix.copy(), "area")
