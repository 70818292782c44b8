"""Shared fixtures: the sample run, a writable copy of the sample, the shared real data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from despro.config.settings import load_config
from despro.pipeline.runner import run

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_config():
    return load_config(SAMPLE / "despro.toml")


@pytest.fixture(scope="session")
def sample_result(sample_config):
    return run(sample_config)


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """A writable copy of data/sample (config included) to break on purpose."""
    dest = tmp_path / "sample"
    shutil.copytree(SAMPLE, dest)
    return dest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skipped when absent, but a failure under CI=true."""
    if not SHARED_DATA.is_dir():
        msg = (
            f"shared real data not found at {SHARED_DATA}: clone despro next to the "
            "folder holding shared/data (the real-data tests and examples/ read "
            "../shared/data), or run without CI=true to skip these tests"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA
