"""Bad input gets a clear error naming the file, the row or feature, and the fix."""

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from despro.cli.main import main
from despro.config.settings import load_config
from despro.errors import ConfigError, InputError
from despro.pipeline.runner import run


def _run(sample_dir):
    return run(load_config(sample_dir / "despro.toml"))


def _edit_csv(path, fn):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = fn(df)
    (df if changed is None else changed).to_csv(path, index=False)


def test_percentages_given_as_fractions_in_some_rows(sample_copy):
    f = sample_copy / "ict_regency.csv"
    _edit_csv(
        f,
        lambda d: d.__setitem__(
            "pct_households_internet", ["0.582", "0.715"] + list(d["pct_households_internet"][2:])
        ),
    )
    with pytest.raises(InputError) as e:
        _run(sample_copy)
    msg = str(e.value)
    assert "ict_regency.csv" in msg and "row 2" in msg and "fractions" in msg
    assert "Fix:" in msg


def test_all_fractions_need_scale_fraction(sample_copy):
    f = sample_copy / "ict_regency.csv"
    df = pd.read_csv(f, dtype={"regency_code": str})
    for c in ("pct_individuals_mobile_phone", "pct_households_internet", "pct_households_computer"):
        df[c] = df[c] / 100
    df.to_csv(f, index=False)
    with pytest.raises(InputError, match="scale = 'fraction'"):
        _run(sample_copy)
    toml = sample_copy / "despro.toml"
    toml.write_text(
        toml.read_text().replace('level = "regency"', 'level = "regency"\nscale = "fraction"')
    )
    r = _run(sample_copy)
    assert r.villages.groupby("regency_code")["pct_households_internet"].first()[
        "3403"
    ] == pytest.approx(27.8)


def test_percentage_above_100(sample_copy):
    _edit_csv(
        sample_copy / "ict_regency.csv",
        lambda d: d.__setitem__(
            "pct_individuals_mobile_phone", ["148.9"] + list(d["pct_individuals_mobile_phone"][1:])
        ),
    )
    with pytest.raises(InputError, match=r"row 2.*outside 0-100"):
        _run(sample_copy)


def test_swapped_lat_lon(sample_copy):
    f = sample_copy / "villages.gpkg"
    g = gpd.read_file(f)
    g.geometry = shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1])
    g.to_file(f, layer="villages")
    with pytest.raises(InputError, match="swapped"):
        _run(sample_copy)


def test_projected_metres_labelled_as_degrees(sample_copy):
    f = sample_copy / "courier_outlets.geojson"
    g = gpd.read_file(f).to_crs("EPSG:32749")
    g = g.set_crs("EPSG:4326", allow_override=True)
    g.to_file(f)
    with pytest.raises(InputError, match="projected metres"):
        _run(sample_copy)


def test_duplicate_village_codes(sample_copy):
    f = sample_copy / "villages.gpkg"
    g = gpd.read_file(f)
    g.loc[5, "village_code"] = g.loc[4, "village_code"]
    g.to_file(f, layer="villages")
    with pytest.raises(InputError) as e:
        _run(sample_copy)
    assert "duplicate village code" in str(e.value)
    assert g.loc[4, "village_code"].replace(".", "") in str(e.value)


def test_bad_village_code(sample_copy):
    f = sample_copy / "villages.gpkg"
    g = gpd.read_file(f)
    g.loc[7, "village_code"] = "34.02.01.20"
    g.to_file(f, layer="villages")
    with pytest.raises(InputError, match=r"row 9: village code '34.02.01.20'"):
        _run(sample_copy)


def test_missing_columns(sample_copy):
    _edit_csv(sample_copy / "products.csv", lambda d: d.drop(columns="category"))
    with pytest.raises(InputError, match=r"products.*lacks column\(s\) \['category'\]"):
        _run(sample_copy)


def test_unknown_product_category(sample_copy):
    _edit_csv(
        sample_copy / "products.csv",
        lambda d: d.__setitem__("category", ["gadgets"] + list(d["category"][1:])),
    )
    with pytest.raises(InputError, match=r"row 2: category 'gadgets'"):
        _run(sample_copy)


def test_invalid_geometry_is_repaired_and_reported(sample_copy):
    f = sample_copy / "villages.gpkg"
    g = gpd.read_file(f)
    x0, y0, x1, y1 = g.geometry.iloc[3].bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    g.loc[3, "geometry"] = bowtie
    g.to_file(f, layer="villages")
    assert not bowtie.is_valid
    r = _run(sample_copy)
    code = g.loc[3, "village_code"].replace(".", "")
    assert r.villages.loc[code].geometry.is_valid
    notes = [n for n in r.notes.items if n["action"] == "repaired"]
    assert notes and code in notes[0]["rows"]


def test_empty_file(sample_copy):
    (sample_copy / "courier_outlets.geojson").write_bytes(b"")
    with pytest.raises(InputError, match="courier_outlets.geojson.*empty"):
        _run(sample_copy)


def test_header_only_table(sample_copy):
    f = sample_copy / "categories.csv"
    f.write_text(f.read_text().splitlines()[0] + "\n")
    with pytest.raises(InputError, match="categories.csv.*no rows"):
        _run(sample_copy)


def test_missing_file_and_bad_config(sample_copy):
    (sample_copy / "population.tif").unlink()
    with pytest.raises(InputError, match="population.tif.*not found"):
        _run(sample_copy)
    toml = sample_copy / "despro.toml"
    toml.write_text(toml.read_text().replace("resolution = 8", "resolution = 16"))
    with pytest.raises(ConfigError, match="run.resolution"):
        load_config(toml)


def test_cli_bad_input_exits_2_with_one_line_and_keeps_previous_outputs(sample_copy, tmp_path):
    out, maps = tmp_path / "out", tmp_path / "maps"
    runner = CliRunner()
    args = [
        "run",
        "--config",
        str(sample_copy / "despro.toml"),
        "--output-dir",
        str(out),
        "--maps-dir",
        str(maps),
        "--quiet",
    ]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    _edit_csv(sample_copy / "products.csv", lambda d: d.drop(columns="enterprises"))
    bad = runner.invoke(main, args)
    assert bad.exit_code == 2
    err = bad.stderr.strip().splitlines()
    assert len(err) == 1 and "products.csv" in err[0] and "enterprises" in err[0]
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    assert json.loads(after["manifest.json"])["counts"]["villages"] == 300
