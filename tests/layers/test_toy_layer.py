"""A sixth layer is one module and one registry line.

The toy layer below is defined here, in the test, with the parts every layer module
has (``NAME``, ``LEVEL``, ``Settings``, ``read``, ``aggregate``, map styles and
labels). Registered for the test only, it runs end to end on the sample: its config
section parses, its variable reaches the villages and the cells, a rule on it is
evaluated, and the map site draws it.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from despro import layers
from despro.config.base import Model
from despro.config.settings import config_from_dict
from despro.errors import ConfigError, InputError
from despro.layer import Choropleth, LayerInputs, LayerResult, Notes
from despro.layers._io import read_table, require_columns
from despro.mapsite.site import write_map
from despro.pipeline.runner import run, validate_inputs
from despro.variables import Kind, Variable

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


class ToySettings(Model):
    """``[layers.toy]``: a table of markets per village."""

    table: Path
    vintage: str = "unknown"


def read(cfg: ToySettings, config, notes: Notes, villages) -> LayerInputs:
    """Markets per village code; a code that is not a village of the run is an error."""
    path = config.path(cfg.table)
    df = read_table(path, "toy markets", dtype={"village_code": str})
    require_columns(df, ["village_code", "markets"], path, "toy markets")
    stray = ~df["village_code"].isin(villages.index)
    if stray.any():
        raise InputError(
            f"village {df['village_code'][stray].iloc[0]} is not in the run",
            file=path,
            row=int(np.flatnonzero(stray.to_numpy())[0]) + 2,
            fix="use the codes of the village file",
        )
    return LayerInputs([path], {"markets": df.set_index("village_code")["markets"]})


def aggregate(inputs: LayerInputs, cfg: ToySettings, study, notes: Notes) -> LayerResult:
    """Markets per village (unknown where the table has no row)."""
    vidx = study.village_index
    markets = inputs["markets"].reindex(vidx).astype(float)
    decl = [
        Variable(
            "toy_markets",
            Kind.COUNT,
            "markets",
            "markets",
            "toy",
            str(inputs.files[0]),
            cfg.vintage,
            level="village",
        )
    ]
    table = pd.DataFrame({"toy_markets": markets.fillna(0.0)}, index=vidx)
    cover = pd.Series(markets.notna().astype(float).to_numpy(), index=vidx)
    return LayerResult("toy", "village", decl, table, cover, list(inputs.files))


TOY = SimpleNamespace(
    NAME="toy",
    LEVEL="village",
    Settings=ToySettings,
    read=read,
    aggregate=aggregate,
    CHOROPLETHS=(Choropleth("toy_markets", "toy_markets", "markets", (1, 2, 5), digits=0),),
    LABELS={"id": {"toy_markets": "Pasar mainan"}, "en": {"toy_markets": "Toy markets"}},
    TITLE={"id": "pasar", "en": "market"},
    PROVIDES=("toy_markets",),
)


@pytest.fixture
def toy_sample(tmp_path) -> tuple[dict, Path, tuple[str, str]]:
    """The sample config (as a dict, in a copy of the sample) with a [layers.toy] section,
    a rule on ``toy_markets`` and a markets table: 3 markets in the first village, 0 in
    the second, the others absent (unknown)."""
    dest = tmp_path / "sample"
    shutil.copytree(SAMPLE, dest)
    data = tomllib.loads((dest / "despro.toml").read_text("utf-8"))
    codes = pd.read_csv(dest / "products.csv", dtype={"village_code": str})["village_code"]
    first, second = sorted(set(codes))[:2]
    pd.DataFrame({"village_code": [first, second], "markets": [3, 0]}).to_csv(
        dest / "toy.csv", index=False
    )
    data["layers"]["toy"] = {"table": "toy.csv", "vintage": "2024 (toy)"}
    rules = config_from_dict({"villages": {"path": "x"}}).criteria.rules
    data["criteria"]["rules"] = [r.model_dump() for r in rules] + [
        {
            "id": "T1",
            "criterion": "I3",
            "variable": "toy_markets",
            "op": ">=",
            "threshold": 1,
            "role": "info",
            "label_en": "at least one toy market",
        }
    ]
    return data, dest, (first, second)


def test_toy_section_is_unknown_until_registered(toy_sample):
    data, dest, _ = toy_sample
    with pytest.raises(ConfigError, match="unknown key") as err:
        config_from_dict(data, base_dir=dest, file="despro.toml")
    assert "layers.toy" in str(err.value)


def test_toy_layer_runs_end_to_end(toy_sample, tmp_path):
    data, dest, (first, second) = toy_sample
    with layers.registered(TOY):
        assert layers.LAYERS[-1] is TOY
        # its section parses, with the same errors as any layer's
        bad = {**data, "layers": {**data["layers"], "toy": {"table": "toy.csv", "tabel": 1}}}
        with pytest.raises(ConfigError, match=re.escape("layers.toy.tabel")):
            config_from_dict(bad, base_dir=dest, file="despro.toml")
        config = config_from_dict(data, base_dir=dest, file="despro.toml")
        assert config.layers.toy.vintage == "2024 (toy)"

        # validate reads it (and only reads)
        lines = validate_inputs(config, Notes())
        assert f"toy: {dest / 'toy.csv'}" in lines

        r = run(config)
        assert "toy" in r.layers and "toy_markets" in r.variables
        v = r.villages.set_index("village_code")
        assert v.loc[first, "toy_markets"] == 3
        assert v.loc[second, "toy_markets"] == 0
        assert v["toy_markets"].isna().sum() == len(v) - 2  # no row: unknown, not 0
        assert v.loc[first, "toy__cover"] == 1
        # its variable travels to the cells: the cells hold the villages' 3 markets
        cells = r.cell_columns
        assert "toy_markets" in cells
        assert np.isclose(np.nansum(cells["toy_markets"].to_numpy()), 3.0)
        # the rule on it is evaluated
        assert v.loc[first, "T1_state"] == "pass"
        assert v.loc[second, "T1_state"] == "fail"
        assert (v["T1_state"] == "unknown").sum() == len(v) - 2
        t1 = r.criteria[r.criteria["rule"] == "T1"]
        assert len(t1) == len(v)

        # the map site draws it, with its label
        index = write_map(r, tmp_path / "maps", lang="en")
        pages = "".join(p.read_text("utf-8") for p in (index.parent / "data").glob("*.js"))
        assert '"key":"toy_markets"' in pages
        assert "Toy markets" in pages

    # unregistered again: the section is unknown, the map no longer lists it
    assert TOY not in layers.LAYERS
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict(data, base_dir=dest, file="despro.toml")
