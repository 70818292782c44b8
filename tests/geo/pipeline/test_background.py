"""The model fitted in a second process gives what fitting in the run's process gives."""

from __future__ import annotations

import pandas as pd
import pytest

from despro.model import model_evidence
from despro.pipeline import background
from despro.pipeline.background import ModelWorker
from tests.geo.model.test_evidence import _rules, _synthetic, _variables


def _args(n_per: int = 120):
    return (_synthetic(n_per), _rules(), _variables(), ("census",), 20, 42, None)


def test_the_worker_equals_an_in_process_fit():
    args = _args()
    here = model_evidence(*args)
    with ModelWorker() as w:
        w.start()
        w.submit(*args)
        there = w.result()
    assert list(there.probs.columns) == ["I1b_model_prob"]  # something was modelled
    pd.testing.assert_frame_equal(there.probs, here.probs)
    pd.testing.assert_frame_equal(there.validation, here.validation)
    assert there.notes == here.notes and there.features == here.features


def test_a_worker_that_died_is_replaced_by_an_in_process_fit():
    args = _args()
    with ModelWorker() as w:
        w.start()
        w.proc.kill()
        w.proc.wait()
        w.submit(*args)
        out = w.result()
    pd.testing.assert_frame_equal(out.probs, model_evidence(*args).probs)


def test_an_error_in_the_worker_is_raised_here():
    _, rules, variables, *rest = _args()
    with ModelWorker() as w:
        w.start()
        w.submit(None, rules, variables, *rest)  # not a frame: the fit fails
        with pytest.raises(AttributeError):
            w.result()


def test_a_run_with_the_worker_equals_one_without(sample_config, monkeypatch):
    """The sample with a model, once fitted here and once in the worker."""
    from despro.pipeline.runner import run

    cfg = sample_config.model_copy(
        update={"model": sample_config.model.model_copy(update={"enabled": True})}
    )
    here = run(cfg)
    monkeypatch.setattr(background, "MIN_VILLAGES", 0)
    there = run(cfg)
    pd.testing.assert_frame_equal(
        pd.DataFrame(there.villages.drop(columns="geometry")),
        pd.DataFrame(here.villages.drop(columns="geometry")),
    )


def test_a_forked_call_returns_its_value_and_raises_its_error():
    big = list(range(100_000))  # the child sees this process's memory
    with background.ForkedCall(lambda: sum(big)) as call:
        assert call.result() == sum(big)

    def boom():
        raise ValueError("no map for you")

    with background.ForkedCall(boom) as call, pytest.raises(ValueError, match="no map"):
        call.result()


def test_a_job_drawing_the_map_in_a_fork_writes_what_one_process_writes(
    sample_config, tmp_path, monkeypatch
):
    """The demo job twice: the map site and the tables are the same files."""
    from despro.pipeline.job import run_job

    one = run_job(sample_config, tmp_path / "a" / "out", tmp_path / "a" / "maps")
    monkeypatch.setattr(background, "MIN_VILLAGES", 0)
    two = run_job(sample_config, tmp_path / "b" / "out", tmp_path / "b" / "maps")
    assert two.map_page.name == one.map_page.name and two.map_page.is_file()
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert files == sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    for rel in files:
        if rel.suffix in (".csv", ".html", ".js", ".parquet"):
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
