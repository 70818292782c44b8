"""The README's first command: `despro demo` writes the tables and the map site."""

import json

from click.testing import CliRunner

from despro.cli.main import main
from tests.conftest import SAMPLE


def test_demo_writes_outputs_and_maps(tmp_path):
    out, maps = tmp_path / "output", tmp_path / "maps"
    r = CliRunner().invoke(
        main, ["demo", "--output-dir", str(out), "--maps-dir", str(maps), "--quiet", "--lang", "en"]
    )
    assert r.exit_code == 0, r.output
    assert "300 villages scored" in r.output
    assert "pilots:  10 chosen" in r.output  # the demo chooses the pilots too
    assert (out / "selection" / "shortlist_optimised.csv").is_file()
    assert (maps / "index.html").is_file()
    assert (out / "villages.gpkg").is_file()
    man = json.loads((out / "manifest.json").read_text())
    assert man["counts"]["villages"] == 300 and man["counts"]["h3_resolution"] == 8


def test_validate_reads_every_input_without_writing(tmp_path):
    r = CliRunner().invoke(main, ["validate", "--config", str(SAMPLE / "despro.toml")])
    assert r.exit_code == 0, r.output
    for layer in ("villages", "broadband", "backbone", "smartphone", "courier", "products"):
        assert f"ok  {layer}" in r.output
    assert "config and inputs are valid" in r.output


def test_bad_config_key_is_one_line_exit_2(tmp_path):
    cfg = tmp_path / "despro.toml"
    cfg.write_text('[villages]\npath = "v.gpkg"\n[run]\nresolutoin = 7\n')
    r = CliRunner().invoke(main, ["validate", "--config", str(cfg)])
    assert r.exit_code == 2
    assert "run.resolutoin" in r.stderr and "unknown key" in r.stderr
