"""``despro plan`` on the demo: files, measured numbers and a named infeasible constraint."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from despro.cli.main import main

CONFIG = str(Path(__file__).resolve().parents[3] / "data" / "sample" / "despro.toml")


def test_plan_command_writes_the_tables(tmp_path):
    out = tmp_path / "plan"
    res = CliRunner().invoke(
        main,
        [
            "plan",
            "--config",
            CONFIG,
            "--waves",
            "3000,3000",
            "--quiet",
            "--output-dir",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    for name in (
        "plan.csv",
        "plan_villages.csv",
        "waves.csv",
        "cost_curve.csv",
        "cost_curve.png",
        "plan.gpkg",
        "plan.json",
        "plan_candidates.csv",
    ):
        assert (out / name).is_file(), name
    waves = pd.read_csv(out / "waves.csv")
    assert waves["wave"].tolist() == [0, 1, 2]
    items = pd.read_csv(out / "plan.csv")
    assert items["cost"].sum() <= 6000
    assert "villages made ready" in res.output


def test_plan_command_names_the_constraint(tmp_path):
    cands = CliRunner().invoke(
        main,
        [
            "plan",
            "--config",
            CONFIG,
            "--budget",
            "0",
            "--quiet",
            "--no-curve",
            "--no-explain",
            "--output-dir",
            str(tmp_path / "a"),
        ],
    )
    assert cands.exit_code == 0, cands.output
    site = pd.read_csv(tmp_path / "a" / "plan_candidates.csv").query("kind == 'site'")
    res = CliRunner().invoke(
        main,
        [
            "plan",
            "--config",
            CONFIG,
            "--budget",
            "100",
            "--must-do",
            site["item_id"].iloc[0],
            "--quiet",
            "--output-dir",
            str(tmp_path / "b"),
        ],
    )
    assert res.exit_code == 2
    assert "plan.budget" in res.output and "raise --budget" in res.output
