"""No folder of the machine that ran despro appears in any output (tables, reports, maps)."""

from __future__ import annotations

import shutil

import despro
from tests.conftest import REPO, SAMPLE


def test_outputs_carry_no_machine_paths(tmp_path):
    sample = tmp_path / "somebody" / "runs" / "sample"
    shutil.copytree(SAMPLE, sample)
    out, maps = tmp_path / "out", tmp_path / "maps"
    despro.run_job(sample / "despro.toml", output_dir=out, maps_dir=maps, select=True)
    leaks = {}
    for folder in (out, maps):
        for f in folder.rglob("*"):
            if f.suffix not in {
                ".csv",
                ".json",
                ".md",
                ".html",
                ".js",
                ".txt",
                ".gpkg",
                ".parquet",
            }:
                continue
            data = f.read_bytes()
            for needle in (str(tmp_path), str(REPO), "/somebody/runs"):
                if needle.encode() in data:
                    leaks.setdefault(f.relative_to(tmp_path).as_posix(), []).append(needle)
    assert not leaks, f"machine paths in outputs: {leaks}"
    # the sources are still named, relative to the config's folder
    criteria = (out / "criteria.csv").read_text("utf-8")
    assert "products.csv" in criteria


def test_notes_name_files_as_the_config_does_from_any_working_folder(tmp_path, monkeypatch):
    sample = tmp_path / "runs" / "sample"
    shutil.copytree(SAMPLE, sample)
    with open(sample / "products.csv", "a", encoding="utf-8") as f:
        f.write("9999012001,Kopi,agriculture,3,true,0.5\n")  # no such village: a note
    monkeypatch.chdir(tmp_path)  # the config is named relative to the working folder
    result = despro.run("runs/sample/despro.toml")
    files = {n["file"] for n in result.notes.items if n["file"]}
    assert "products.csv" in files
    assert not [f for f in files if f.startswith("runs/") or "/../" in f or f.startswith("/")]
