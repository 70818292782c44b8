"""A seeded subset of the fuzz harness (benchmarks/fuzz): malformed inputs through
``despro validate``, each case in its own process. None may end in a traceback or a
hang (the harness kills a case after its time limit and counts a timeout), no valid
control may be refused, and no wrong input may pass without a word."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.fuzz.cases import make_case
from benchmarks.fuzz.run import report, run_cases

SEED = 20
CASES = 160


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    cases = [make_case(SEED, i) for i in range(CASES)]
    return run_cases(cases, SEED, tmp_path_factory.mktemp("fuzz"), jobs=2, timeout=300)


def test_no_traceback_no_hang(outcomes):
    counts = Counter(o.outcome for o in outcomes)
    assert counts["traceback"] == counts["timeout"] == counts["harness error"] == 0, report(
        outcomes
    )


def test_controls_pass_and_wrong_inputs_are_refused_or_reported(outcomes):
    counts = Counter(o.outcome for o in outcomes)
    assert counts["control rejected"] == 0, report(outcomes)
    assert counts["accepted silently"] == 0, report(outcomes)
    # the subset exercises every kind of outcome it should: errors, controls, notes
    assert counts["clean error"] > CASES // 3
    assert counts["accepted"] > 0


def test_the_cases_are_the_same_every_time():
    assert [make_case(SEED, i) for i in range(50)] == [make_case(SEED, i) for i in range(50)]
    kinds = {(make_case(SEED, i).target, make_case(SEED, i).kind) for i in range(CASES)}
    assert len({t for t, _ in kinds}) >= 10  # every input type is broken somewhere
