"""Layers built on two cores give what one process gives: values, notes, order, cache."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pandas as pd
import pytest

from despro.layer import Notes
from despro.pipeline import background
from despro.pipeline.cache import StepCache
from despro.pipeline.layersteps import build_layers

LAYERS = [(SimpleNamespace(NAME=n), {"n": i}) for i, n in enumerate(["a", "b", "c", "d", "e"])]
KEYS = {layer.NAME: f"k{cfg['n']}" for layer, cfg in LAYERS}


def _build(layer, cfg, notes):
    notes.items.append({"file": f"{layer.NAME}.csv", "message": f"built {layer.NAME}"})
    return {"name": layer.NAME, "pid": os.getpid(), "value": cfg["n"] * 10}


def _carry(r):
    return {"carried": r["value"] + 1}


def _run(parallel, cache=None, build=_build):
    notes = Notes()
    seen = []
    results, moved = build_layers(
        LAYERS, build, _carry, KEYS, cache, notes, parallel, lambda name, r: seen.append(name)
    )
    return results, moved, notes, seen


def test_two_processes_give_the_values_notes_and_order_of_one():
    one = _run(parallel=False)
    two = _run(parallel=True)
    assert list(two[0]) == list(one[0]) == ["a", "b", "c", "d", "e"]
    assert {k: r["value"] for k, r in two[0].items()} == {k: r["value"] for k, r in one[0].items()}
    assert two[1] == one[1]
    assert two[2].items == one[2].items  # notes in registry order
    assert sorted(two[3]) == sorted(one[3])  # every layer reported once
    pids = {r["pid"] for r in two[0].values()}
    assert len(pids) == 2 and os.getpid() in pids  # every second layer in the copy
    assert two[0]["b"]["pid"] != os.getpid() and two[0]["a"]["pid"] == os.getpid()


def test_the_copy_fills_the_cache_and_the_next_run_reads_it(tmp_path):
    cache = StepCache(tmp_path)
    first = _run(parallel=True, cache=cache)
    assert sorted(cache.rebuilt) == ["a", "b", "c", "d", "e"]  # the copy's misses came back
    again = StepCache(tmp_path)
    second = _run(parallel=True, cache=again)
    assert again.rebuilt == [] and len(again.hits) == 10  # a layer and its transfer each
    assert second[1] == first[1] and second[2].items == first[2].items
    assert {r["pid"] for r in second[0].values()} == {r["pid"] for r in first[0].values()}


def test_only_missing_layers_are_sent_to_the_copy(tmp_path):
    cache = StepCache(tmp_path)
    _run(parallel=False, cache=cache)
    (tmp_path / "c-k2.pkl").unlink()  # one layer changed
    again = StepCache(tmp_path)
    results = _run(parallel=True, cache=again)[0]
    assert again.rebuilt == ["c"]
    assert results["c"]["pid"] == os.getpid()  # one step: nothing to share


def test_an_error_in_the_copy_is_raised_here():
    def build(layer, cfg, notes):
        if layer.NAME == "d":  # built in the copy
            raise ValueError("bad file d.csv")
        return _build(layer, cfg, notes)

    with pytest.raises(ValueError, match="d.csv"):
        _run(parallel=True, build=build)


def test_a_sample_run_with_layers_on_two_cores_equals_one_without(sample_config, monkeypatch):
    from despro.pipeline.runner import run

    here = run(sample_config)
    monkeypatch.setattr(background, "MIN_VILLAGES", 0)
    there = run(sample_config)
    pd.testing.assert_frame_equal(
        pd.DataFrame(there.villages.drop(columns="geometry")),
        pd.DataFrame(here.villages.drop(columns="geometry")),
    )
    pd.testing.assert_frame_equal(pd.DataFrame(there.cells), pd.DataFrame(here.cells))
    assert list(there.variables) == list(here.variables)
    assert there.notes.items == here.notes.items
