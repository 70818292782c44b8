"""``despro select``: options override [selection], files are written, errors exit 2.

The pipeline run inside the command is replaced by the session's sample run (the
same config, already computed) to keep the suite fast; the command's own work,
overrides, optimisation, analyses and writing, runs for real.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from despro.cli.main import main
from despro.pipeline import runner as pipeline
from tests.conftest import SAMPLE


@pytest.fixture
def sample_run(monkeypatch, sample_result):
    seen = {}

    def fake_run(cfg, verbose=False, **_):
        seen["selection"] = cfg.selection
        return sample_result

    monkeypatch.setattr(pipeline, "run", fake_run)
    return seen


def test_select_writes_the_shortlist_and_analyses(tmp_path, sample_run):
    out = tmp_path / "sel"
    r = CliRunner().invoke(
        main,
        [
            "select",
            "--config",
            str(SAMPLE / "despro.toml"),
            "--n",
            "6",
            "--max-per-regency",
            "2",
            "--tiers",
            "ready,near-ready",
            "--regions",
            "java",
            "--courier-within-km",
            "0.5",
            "--agents-radius-km",
            "4",
            "--draws",
            "50",
            "--seed",
            "1",
            "--output-dir",
            str(out),
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    sel = sample_run["selection"]
    assert (sel.size, sel.max_per_regency, sel.regions, sel.courier_within_km) == (
        6,
        2,
        ["java"],
        0.5,
    )
    assert sel.agents.radius_km == 4 and sel.sensitivity.draws == 50
    s = pd.read_csv(
        out / "shortlist_optimised.csv", dtype={"village_code": str, "regency_code": str}
    )
    assert len(s) == 6 and s["regency_code"].value_counts().max() <= 2
    assert (s["courier_distance_km"] <= 0.5).all()
    assert {
        "marginal_value",
        "binding",
        "agent_id",
        "weight_share",
        "cluster_id",
        "p_download_meets",
        "missing_imputable",
    } <= set(s.columns)
    assert s["weight_share"].between(0, 1).all()
    for name in (
        "agents.csv",
        "clusters.csv",
        "sensitivity.csv",
        "sensitivity.png",
        "selection_constraints.csv",
        "speed_uncertainty.csv",
        "imputed.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    agents = pd.read_csv(out / "agents.csv")
    covered = {c for cell in agents["villages_covered"] for c in str(cell).split(";")}
    assert set(s["village_code"]) <= covered
    summary = json.loads((out / "selection.json").read_text())
    assert summary["pilots"] == s["village_code"].tolist()
    assert "6 pilots" in r.output
    site = (out / "maps" / "data" / "site.js").read_text(encoding="utf-8")
    assert '"clusters":[[' in site and '"agents":[[' in site
    assert agents["agent_id"].iloc[0] in site


def test_select_infeasible_exits_2_naming_the_constraint(tmp_path, sample_run):
    r = CliRunner().invoke(
        main,
        [
            "select",
            "--config",
            str(SAMPLE / "despro.toml"),
            "--min-categories",
            "3",
            "--output-dir",
            str(tmp_path / "sel"),
            "--quiet",
        ],
    )
    assert r.exit_code == 2
    assert "selection.min_categories" in r.output and "Fix:" in r.output
    assert not (tmp_path / "sel" / "shortlist_optimised.csv").exists()


def test_select_rejects_bad_options_before_running(tmp_path, sample_run):
    r = CliRunner().invoke(
        main,
        [
            "select",
            "--config",
            str(SAMPLE / "despro.toml"),
            "--regions",
            "jawa",
            "--output-dir",
            str(tmp_path / "sel"),
            "--quiet",
        ],
    )
    assert r.exit_code == 2 and "selection.regions" in r.output
    assert "selection" not in sample_run  # the pipeline was never started
