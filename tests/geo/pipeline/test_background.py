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
