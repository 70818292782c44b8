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
            "--maps-dir",
            str(tmp_path / "maps"),
        ],
    )
    assert res.exit_code == 0, res.output
    site = (tmp_path / "maps" / "data" / "site.js").read_text(encoding="utf-8")
    assert '"rollout"' in site and "map:" in res.output
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


def test_run_with_compare_profile_writes_the_comparison(tmp_path):
    """``despro run --profile A --compare-profile B``: profile_comparison.csv beside the
    tables, one row per village whose tier or a gate rule changes, with the rules that
    cross and why (value, old and new threshold)."""
    out = tmp_path / "output"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--config",
            CONFIG,
            "--profile",
            "despro-table1",
            "--compare-profile",
            "despro-strict",
            "--output-dir",
            str(out),
            "--maps-dir",
            str(tmp_path / "maps"),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "profile_comparison.csv", dtype={"village_code": str})
    moved = table[table["tier_changed"]]
    assert len(moved) > 0
    assert f"despro-table1 -> despro-strict: {len(moved)} villages change tier" in res.output
    assert (moved["tier_despro-table1"] != moved["tier_despro-strict"]).all()
    assert moved["rules_changed"].str.contains("->").all()
    bad = CliRunner().invoke(
        main, ["run", "--config", CONFIG, "--compare-profile", "nope", "--quiet"]
    )
    assert bad.exit_code == 2 and "nope" in bad.output
