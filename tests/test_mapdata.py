"""Map cell tables: counts stay unknown outside their layer's data, also after roll-up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from despro.geo import grid, mapdata

PRODUCTS = [f"product_enterprises__{c}" for c in
            ("agriculture", "ceramics", "fashion", "food_beverage", "handicraft", "leather")]


def test_uncovered_counts_are_unknown_at_the_run_resolution(sample_result):
    cells = sample_result.cells
    uncovered = cells["products__cover"].to_numpy() <= 0
    assert 0 < uncovered.sum() < len(cells)  # the sample has cells without product data
    add, variables = mapdata.cell_additive(sample_result)
    ids = cells["h3_int"].to_numpy(np.uint64)
    table = mapdata.page_cells(add, ids, variables, sample_result.config.run.resolution)
    table = table.reindex(ids)
    total = table["product_enterprises"].to_numpy()
    assert np.isnan(total[uncovered]).all()  # unknown, not 0
    assert np.isfinite(total[~uncovered]).all()
    # the same cells as the pipeline's own finished table
    assert np.array_equal(np.isnan(table["product_enterprises_n_classes"].to_numpy()),
                          cells["product_enterprises_n_classes"].isna().to_numpy())


def test_rolled_up_counts_unknown_only_when_every_child_is(sample_result):
    cells = sample_result.cells
    ids = cells["h3_int"].to_numpy(np.uint64)
    add, variables = mapdata.cell_additive(sample_result)
    res = sample_result.config.run.resolution - 2
    table = mapdata.page_cells(add, ids, variables, res)
    parents = grid.parent_cells(ids, res)
    covered = pd.Series(cells["products__cover"].to_numpy() > 0, index=parents)
    share = 100 * covered.groupby(level=0).mean()
    all_unknown = share == 0
    assert all_unknown.any() and ((share > 0) & (share < 100)).any()
    total = table["product_enterprises"].reindex(share.index)
    assert total[all_unknown].isna().all()
    assert total[~all_unknown].notna().all()
    got = table[mapdata.known_share_column("products")].reindex(share.index)
    assert np.allclose(got, share)
    # totals conserved: the known parents hold every covered cell's enterprises
    counted = cells.loc[covered.to_numpy(), PRODUCTS].to_numpy().sum()
    assert total.sum() == counted


def test_partial_parents_are_sent_to_the_page(sample_result):
    cells = sample_result.cells
    ids = cells["h3_int"].to_numpy(np.uint64)
    add, variables = mapdata.cell_additive(sample_result)
    table = mapdata.page_cells(add, ids, variables, sample_result.config.run.resolution - 2)
    specs = [mapdata.choropleth_spec(c, sample_result.config.criteria.rules, "en")
             for c in mapdata.CHOROPLETHS]
    payload = mapdata.cells_payload(table, specs, sample_result.variables)
    shares = payload["known"]["product_enterprises"]
    values = payload["values"]["product_enterprises"]
    assert all((v is None) == (s == 0) for v, s in zip(values, shares, strict=True))
    assert any(0 < s < 100 for s in shares)
    assert "download_mbps" not in payload["known"]  # a mean, not a count
