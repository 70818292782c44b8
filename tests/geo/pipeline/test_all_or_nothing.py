"""All or nothing: a job that fails anywhere leaves the previous tables, selection and maps
byte-identical and no staging folder behind (despro.io.staging via run_job)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import despro.io.outputs
import despro.io.selection
import despro.mapsite.site
import despro.select.pilots
from despro.errors import DesproError
from despro.io.staging import RECORD, Staging
from despro.pipeline import job as job_mod


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def first_run(sample_result, tmp_path_factory):
    """One successful job (tables, pilots, maps) whose files the failures must keep."""
    root = tmp_path_factory.mktemp("aon")
    mp = pytest.MonkeyPatch()
    mp.setattr(job_mod.runner, "run", lambda cfg, **kw: sample_result)
    try:
        job = job_mod.run_job(
            sample_result.config, root / "out", root / "maps", select=True, marginal=False
        )
    finally:
        mp.undo()
    return root, job, _tree(root)


def _after_write(module, name):
    """Wrap a writer: it writes everything, then the job fails right after it."""
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        original(*args, **kwargs)
        raise DesproError(f"injected failure after {name}")

    return wrapped


def _map_half_written():
    """The map writer dies half-way: the new site's pages are on disk, one is cut short."""
    original = despro.mapsite.site.write_map

    def wrapped(result, maps_dir, *args, **kwargs):
        page = original(result, maps_dir, *args, **kwargs)
        page.write_bytes(page.read_bytes()[:100])
        raise ValueError("Out of range float values are not JSON compliant")

    return wrapped


FAILURES = {
    "tables": lambda: (
        despro.io.outputs,
        "write_outputs",
        _after_write(despro.io.outputs, "write_outputs"),
    ),
    "selection maths": lambda: (
        despro.select.pilots,
        "plan_pilots",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected crash while selecting")),
    ),
    "selection files": lambda: (
        despro.io.selection,
        "write_plan",
        _after_write(despro.io.selection, "write_plan"),
    ),
    "map site, half written": lambda: (despro.mapsite.site, "write_map", _map_half_written()),
    "map site, interrupted": lambda: (
        despro.mapsite.site,
        "write_map",
        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()),
    ),
}


@pytest.mark.parametrize("where", list(FAILURES))
def test_a_failed_job_leaves_the_previous_files_byte_identical(
    first_run, sample_result, monkeypatch, where
):
    root, _, before = first_run
    assert {"out/villages.gpkg", "out/selection/shortlist_optimised.csv", "maps/index.html"} <= set(
        before
    )
    module, name, replacement = FAILURES[where]()
    monkeypatch.setattr(job_mod.runner, "run", lambda cfg, **kw: sample_result)
    monkeypatch.setattr(module, name, replacement)
    with pytest.raises((DesproError, RuntimeError, ValueError, KeyboardInterrupt)):
        job_mod.run_job(
            sample_result.config, root / "out", root / "maps", select=True, marginal=False
        )
    assert _tree(root) == before  # same files, same bytes
    assert not [p for p in root.rglob("*") if ".staging-" in p.name]


def test_a_successful_job_reports_the_committed_paths(first_run):
    root, job, _ = first_run
    assert job.map_page == root / "maps" / "index.html" and job.map_page.is_file()
    assert job.outputs["villages.gpkg"] == root / "out" / "villages.gpkg"
    assert job.outputs["villages.gpkg"].is_file()
    assert all(
        p.is_file() and p.is_relative_to(root / "out" / "selection")
        for p in job.selection_files.values()
    )


def test_commit_retires_the_previous_runs_leftovers_but_not_other_files(tmp_path):
    target = tmp_path / "t"
    with Staging() as st:
        d = st.folder(target)
        (d / "a.csv").write_text("1")
        (d / "b.csv").write_text("2")
    (target / "mine.txt").write_text("not despro's")
    with Staging() as st:
        (st.folder(target) / "a.csv").write_text("3")
        (st.folder(target / "sub") / "c.csv").write_text("4")
    assert (target / "a.csv").read_text() == "3"
    assert not (target / "b.csv").exists()  # written by the previous run only: retired
    assert (target / "mine.txt").read_text() == "not despro's"
    assert (target / "sub" / "c.csv").read_text() == "4"
    assert (target / RECORD).is_file() and (target / "sub" / RECORD).is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["t"]


def test_a_staging_folder_of_a_killed_run_is_removed(tmp_path):
    orphan = tmp_path / ".t.staging-999999999-abcd"
    orphan.mkdir()
    (orphan / "x").write_text("half")
    st = Staging()
    st.folder(tmp_path / "t")
    st.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_real_run_that_crashes_in_the_map_writer_changes_nothing(first_run):
    """The failure of the issue, unmocked: threshold I1a = NaN (config validation bypassed)
    scores every village, writes the tables into staging, then the map writer fails."""
    root, job, before = first_run
    cfg = job.result.config
    rules = [
        r.model_copy(update={"threshold": float("nan")}) if r.id == "I1a" else r
        for r in cfg.criteria.rules
    ]
    bad = cfg.model_copy(update={"criteria": cfg.criteria.model_copy(update={"rules": rules})})
    with pytest.raises(ValueError, match="not JSON compliant"):
        job_mod.run_job(bad, root / "out", root / "maps")
    assert _tree(root) == before
    assert not [p for p in root.rglob("*") if ".staging-" in p.name]
