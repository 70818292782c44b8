"""Scheduled rescoring as an operator runs it: real subprocesses, kills, locks, diffs."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest


def _cmd(sample, out, *extra):
    return [
        sys.executable,
        "-m",
        "despro.cli.main",
        "rescore",
        "--config",
        str(sample / "despro.toml"),
        "--output-dir",
        str(out),
        "--no-maps",
        "--quiet",
        *extra,
    ]


def _rescore(sample, out, *extra, env=None):
    return subprocess.run(
        _cmd(sample, out, *extra),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _start_paused(sample, out, stage):
    """Start a rescore that stops at ``stage`` and wait until it is there."""
    proc = subprocess.Popen(
        _cmd(sample, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DESPRO_FAULT_PAUSE": stage},
    )
    marker = Path(out) / f".paused-{stage}"
    for _ in range(600):
        if marker.exists():
            marker.unlink()
            return proc
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode())
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"run never reached {stage}")


def _latest(out):
    return Path(os.readlink(Path(out) / "latest")).name


def _statuses(out):
    with sqlite3.connect(Path(out) / "runs.sqlite") as con:
        return [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id")]


def _bump_phone(sample, regency="3401", value="55.0"):
    f = sample / "ict_regency.csv"
    d = pd.read_csv(f, dtype=str, keep_default_na=False)
    d.loc[d["regency_code"] == regency, "pct_individuals_mobile_phone"] = value
    d.to_csv(f, index=False)


@pytest.fixture
def first_run(sample_copy, tmp_path):
    out = tmp_path / "runs"
    r = _rescore(sample_copy, out)
    assert r.returncode == 0, r.stderr
    return sample_copy, out, _latest(out)


def test_unchanged_world_is_a_fast_noop(first_run):
    sample, out, first = first_run
    r = _rescore(sample, out)
    assert r.returncode == 3
    assert "nothing changed" in r.stdout
    assert _latest(out) == first
    assert _statuses(out) == ["success", "unchanged"]


def test_selection_settings_do_not_trigger_a_rescore(first_run):
    """[selection] is read by `despro select`, not by scoring: editing it changes nothing."""
    sample, out, first = first_run
    cfg = sample / "despro.toml"
    cfg.write_text(cfg.read_text() + "\n[selection]\nsize = 3\nmax_per_regency = 1\n")
    r = _rescore(sample, out)
    assert r.returncode == 3, r.stdout + r.stderr
    assert _latest(out) == first
    # a scoring setting does
    cfg.write_text(cfg.read_text().replace("size = 20", "size = 7", 1))
    r = _rescore(sample, out)
    assert r.returncode == 0, r.stderr
    assert _latest(out) != first


def test_changed_input_changes_exactly_the_affected_villages(first_run):
    sample, out, first = first_run
    _bump_phone(sample)  # regency 3401: 48.9 % -> 55 % owning a phone
    r = _rescore(sample, out, "--log-format", "json")
    assert r.returncode == 0, r.stderr
    import json

    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["recomputed"] == ["smartphone"]  # nothing else is rebuilt
    second = _latest(out)
    assert second != first
    changes = pd.read_csv(out / "runs" / second / "changes.csv", dtype={"village_code": str})
    villages = pd.read_parquet(out / "runs" / first / "villages.parquet")
    in_3401 = set(villages.loc[villages["regency_code"] == "3401", "village_code"])
    assert set(changes["village_code"]) == in_3401
    assert set(changes["rule"]) == {"I2a"}
    assert (changes["state_a"] == "fail").all() and (changes["state_b"] == "pass").all()
    assert changes["changed_inputs"].str.endswith("ict_regency.csv").all()
    # the same through the runs command
    d = subprocess.run(
        [
            sys.executable,
            "-m",
            "despro.cli.main",
            "runs",
            "diff",
            "--output-dir",
            str(out),
            first,
            second,
        ],
        capture_output=True,
        text=True,
    )
    assert d.returncode == 0 and f"{len(in_3401)} villages changed" in d.stdout


@pytest.mark.parametrize("stage", ["scoring", "writing", "committing", "switching"])
def test_sigkill_at_any_point_leaves_latest_intact(first_run, stage):
    sample, out, first = first_run
    before = (out / "latest" / "villages.parquet").read_bytes()
    _bump_phone(sample)
    proc = _start_paused(sample, out, stage)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _latest(out) == first
    assert (out / "latest" / "villages.parquet").read_bytes() == before
    r = _rescore(sample, out)
    # after a kill past the history update the run is already complete: recovery
    # switches 'latest' to it and nothing is left to do
    assert r.returncode == (3 if stage == "switching" else 0), r.stderr
    assert _latest(out) != first
    assert (out / "latest" / "manifest.json").is_file()
    assert not list((out / "runs").glob("*.partial"))
    if stage in ("scoring", "writing"):
        assert "interrupted" in _statuses(out)


def test_second_concurrent_run_is_refused_and_a_dead_holder_frees_the_lock(first_run):
    sample, out, first = first_run
    _bump_phone(sample)
    holder = _start_paused(sample, out, "scoring")
    try:
        r = _rescore(sample, out)
        assert r.returncode == 4
        assert f"pid {holder.pid}" in r.stdout
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    r = _rescore(sample, out)
    assert r.returncode == 0, r.stderr


def test_corrupt_input_fails_and_previous_results_stay_served(first_run):
    sample, out, first = first_run
    (sample / "products.csv").write_text("village_code;product\n\x00\x01garbage\n")
    r = _rescore(sample, out)
    assert r.returncode == 2
    assert "products.csv" in r.stdout
    assert _latest(out) == first
    assert _statuses(out)[-1] == "failed"


def test_retention_keeps_last_n_runs(first_run):
    sample, out, first = first_run
    for v in ("51.0", "52.0", "53.0"):
        _bump_phone(sample, value=v)
        assert _rescore(sample, out, "--keep", "2").returncode == 0
    assert len([p for p in (out / "runs").iterdir() if p.is_dir()]) == 2
    assert not (out / "runs" / first).exists()


def test_map_site_of_a_rescore_links_its_change_report(sample_copy, tmp_path):
    from despro.ops.rescore import rescore

    out = tmp_path / "runs"
    rescore(sample_copy / "despro.toml", out, verbose=False, write_maps=False)
    _bump_phone(sample_copy)
    o = rescore(sample_copy / "despro.toml", out, verbose=False)
    run_dir = out / "runs" / o.run_id
    site = (run_dir / "maps" / "data" / "site.js").read_text(encoding="utf-8")
    assert '"../changes.html"' in site  # a link in the map's panel
    assert (run_dir / "changes.html").is_file()
