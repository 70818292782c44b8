"""The config: frozen models, paths fixed at load, the cache folder, one vocabulary."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from despro.aggregate.raster import reduce as rmod
from despro.config import vocab
from despro.config.env import CACHE_ENV
from despro.config.settings import config_from_dict, load_config
from despro.errors import ConfigError
from despro.pipeline.runner import run


def _cfg(base_dir=".", **sections):
    return config_from_dict({"villages": {"path": "v.gpkg"}, **sections}, base_dir=base_dir)


def test_a_loaded_config_is_frozen_and_copies_carry_changes():
    cfg = _cfg()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.run.resolution = 7
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        cfg.criteria.rules[0].threshold = 1.0
    seven = cfg.model_copy(update={"run": cfg.run.model_copy(update={"resolution": 7})})
    assert (seven.run.resolution, cfg.run.resolution) == (7, 8)
    assert seven.base_dir == cfg.base_dir and seven.root == cfg.root


def test_threshold_overrides_apply_to_given_rules_too():
    rules = [
        {"id": "X1", "criterion": "I1", "variable": "x", "op": ">=", "threshold": 1.0},
        {"id": "X2", "criterion": "I2", "variable": "y", "op": "<=", "threshold": 5.0},
    ]
    cfg = _cfg(criteria={"rules": rules, "thresholds": {"X2": 7.5}})
    assert [r.threshold for r in cfg.criteria.rules] == [1.0, 7.5]
    # a quoted number is text in TOML: refused with the fix, never read as a guess
    with pytest.raises(ConfigError, match="without quotes: X2 = 7.5"):
        _cfg(criteria={"rules": rules, "thresholds": {"X2": "7.5"}})


def test_paths_are_fixed_at_load(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    toml = tmp_path / "cfg" / "despro.toml"
    toml.write_text(
        '[villages]\npath = "v.gpkg"\n[layers.broadband]\ntiles = ["a.parquet", "/abs/b.parquet"]\n'
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("cfg") / "despro.toml")
    # outputs keep the form the config spelled; resolve() is absolute
    assert cfg.path(cfg.villages.path) == Path("cfg/v.gpkg")
    assert cfg.root == (tmp_path / "cfg").resolve()
    monkeypatch.chdir(tmp_path / "cfg")  # a later change of directory moves nothing
    assert cfg.resolve(cfg.villages.path) == (tmp_path / "cfg" / "v.gpkg").resolve()
    paths = cfg.input_paths()
    assert paths["villages.path"] == (tmp_path / "cfg" / "v.gpkg").resolve()
    assert paths["layers.broadband.tiles.0"] == (tmp_path / "cfg" / "a.parquet").resolve()
    assert paths["layers.broadband.tiles.1"] == Path("/abs/b.parquet")
    assert all(p.is_absolute() for p in paths.values())
    assert "base_dir" not in paths and "layers.backbone" not in paths


def test_cache_folder_from_the_config_else_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert _cfg(tmp_path).cache_path() is None
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert _cfg(tmp_path).cache_path() == (tmp_path / "env").resolve()
    cfg = _cfg(tmp_path, run={"cache_dir": "mine"})
    assert cfg.cache_path() == (tmp_path / "mine").resolve()
    # a machine's cache folder is no setting of the results: never in the manifest's dump
    assert "cache_dir" not in cfg.model_dump()["run"]


def test_a_run_keeps_raster_mappings_in_the_configured_cache(sample_config, tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    cfg = sample_config.model_copy(
        update={"run": sample_config.run.model_copy(update={"cache_dir": tmp_path / "c"})}
    )
    rmod.clear_cache()
    try:
        run(cfg)
    finally:
        rmod.clear_cache()
    assert list((tmp_path / "c").glob("rastermap-*/tile-*.npz"))
    assert rmod.disk_cache_dir() is None  # the run's folder does not outlive the run


def test_one_vocabulary():
    assert vocab.TIERS == ("ready", "near-ready", "undetermined", "not ready")
    assert vocab.PILOT_TIERS == vocab.TIERS[:2]
    assert vocab.STATES == (vocab.PASS, vocab.FAIL, vocab.UNKNOWN)
    cfg = _cfg()
    assert tuple(cfg.criteria.evidence_order) == vocab.EVIDENCE_ORDER
    assert tuple(cfg.selection.tiers) == vocab.PILOT_TIERS
