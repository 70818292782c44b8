"""Covers: one for a layer with one source, one per variable for a layer with several items."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from despro.errors import DesproError
from despro.layer import LayerResult, Notes
from despro.pipeline.dask import _combine
from despro.transfer.layers import finish as _finish
from despro.variables import (
    Kind,
    Variable,
    cover_column,
    cover_of,
    uncovered,
    variable_cover_column,
)

AGENT = Variable("agent", Kind.COUNT, "villages (0/1)", "", "census")
SIGNAL = Variable("signal", Kind.COUNT, "villages (0/1)", "", "census")
IDX = pd.Index(["a", "b", "c"], name="village_code")
TABLE = pd.DataFrame({"agent": [1.0, 0.0, 0.0], "signal": [1.0, 1.0, 0.0]}, index=IDX)


def test_one_series_covers_every_variable_under_the_layer_name():
    r = LayerResult("census", "village", [AGENT, SIGNAL], TABLE, pd.Series([1.0, 1, 0], IDX))
    assert not r.per_variable
    t = r.cover_table()
    assert list(t.columns) == [cover_column("census")] == ["census__cover"]
    assert t["census__cover"].tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("as_mapping", [False, True])
def test_a_cover_per_variable_adds_one_column_each_and_the_layer_takes_the_maximum(as_mapping):
    cover = {"agent": pd.Series([1.0, 0, 0], IDX), "signal": pd.Series([1.0, 1, 0], IDX)}
    r = LayerResult(
        "census", "village", [AGENT, SIGNAL], TABLE, cover if as_mapping else pd.DataFrame(cover)
    )
    assert r.per_variable
    t = r.cover_table()
    assert list(t.columns) == [
        "census__cover",
        variable_cover_column("census", "agent"),
        variable_cover_column("census", "signal"),
    ]
    assert t["census__cover"].tolist() == [1.0, 1.0, 0.0]  # the village has a row
    assert t["census__cover__agent"].tolist() == [1.0, 0.0, 0.0]


def test_a_cover_per_variable_must_name_every_declared_variable():
    with pytest.raises(DesproError, match="one column per declared variable"):
        LayerResult("census", "village", [AGENT, SIGNAL], TABLE, pd.DataFrame({"agent": 1.0}, IDX))


def test_a_variable_is_unknown_where_its_own_cover_is_zero():
    r = LayerResult(
        "census",
        "village",
        [AGENT, SIGNAL],
        TABLE,
        pd.DataFrame({"agent": [1.0, 0, 0], "signal": [1.0, 1, 0]}, IDX),
    )
    add = pd.concat([r.table, r.cover_table()], axis=1)
    assert cover_of(add, AGENT) == "census__cover__agent"
    assert uncovered(add, AGENT).tolist() == [False, True, True]
    vals = _finish(add, [AGENT, SIGNAL])
    assert vals["agent"].iloc[0] == 1 and np.isnan(vals["agent"].iloc[1:]).all()
    assert vals["signal"].tolist()[:2] == [1.0, 1.0] and np.isnan(vals["signal"].iloc[2])


def test_a_variable_named_like_a_layer_does_not_take_that_layers_cover():
    # the villages' population count and the population raster's layer share a name
    pop = Variable("population", Kind.COUNT, "people", "", "villages")
    t = pd.DataFrame({"population": [5.0, 7.0], "population__cover": [0.0, 1.0]})
    assert cover_of(t, pop) is None and uncovered(t, pop) is None


def test_a_cover_on_other_rows_is_refused():
    other = pd.Series([1.0, 1, 1], pd.Index(["a", "b", "x"]))
    with pytest.raises(DesproError, match="cover index differs"):
        LayerResult("census", "village", [AGENT, SIGNAL], TABLE, {"agent": other, "signal": other})


def test_partitions_stack_their_covers_per_variable():
    a = Variable("a", Kind.COUNT, "n", "", "toy")
    b = Variable("b", Kind.COUNT, "n", "", "toy")
    cells = pd.Index(np.array([1, 2, 3, 4], np.uint64))

    def part(ids, cover_a):
        idx = cells[ids]
        t = pd.DataFrame({"a": 1.0, "b": 2.0}, index=idx)
        cover = pd.DataFrame({"a": cover_a, "b": 1.0}, index=idx)
        return LayerResult("toy", "cell", [a, b], t, cover), []

    r = _combine(
        "toy", SimpleNamespace(cell_index=cells), [part([2, 3], 0.0), part([0, 1], 1.0)], Notes()
    )
    t = r.cover_table()
    assert t.index.equals(cells)
    assert t["toy__cover__a"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert t["toy__cover"].tolist() == [1.0] * 4
