"""PostGIS export against a real PostgreSQL + PostGIS started for these tests.

The server is a throwaway cluster (initdb) in a private temporary folder, listening
on 127.0.0.1 only, run as the ``postgres`` user when the tests run as root. Without
PostgreSQL or PostGIS the tests are skipped, and fail under CI=true (``.ci/run``
installs Debian's ``postgresql`` and ``postgis``).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from despro.config.settings import load_config
from despro.errors import DesproError
from despro.grid import cells as grid
from despro.io import postgis, postgis_tables
from despro.io.outputs import write_outputs

try:
    import psycopg
except ImportError:  # the 'postgis' / 'test' extra is not installed
    psycopg = None


def _unavailable(msg: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def _bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them off PATH)."""
    dirs = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        dirs.append(out.stdout.strip())
    dirs += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: int(Path(d).parent.name) if Path(d).parent.name.isdigit() else 0,
        reverse=True,
    )
    if shutil.which("initdb"):
        dirs.append(str(Path(shutil.which("initdb")).parent))
    for d in dirs:
        if d and (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    """URL of a fresh database with PostGIS on a throwaway server (stopped afterwards)."""
    if psycopg is None:
        _unavailable("psycopg is not installed: pip install -e '.[test]'")
    bindir = _bindir()
    if bindir is None:
        _unavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: "
            "apt-get install postgresql postgis"
        )
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="despro-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            _unavailable("running as root and there is no 'postgres' user to run the server")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = base / "data", base / "server.log", _free_port()

    def sh(*cmd):
        return subprocess.run(
            [*as_user, *map(str, cmd)], capture_output=True, text=True, timeout=120
        )

    init = sh(
        bindir / "initdb",
        "-D",
        data,
        "-A",
        "trust",
        "-U",
        "despro",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    assert init.returncode == 0, init.stderr
    opts = f"-k {base} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off"
    start = sh(bindir / "pg_ctl", "-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start")
    assert start.returncode == 0, start.stderr + (log.read_text() if log.exists() else "")
    try:
        admin = f"postgresql://despro@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute("CREATE DATABASE despro_test")
        url = f"postgresql://despro@127.0.0.1:{port}/despro_test"
        try:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            _unavailable(
                f"PostGIS is not installed for this PostgreSQL ({exc}): apt-get install postgis"
            )
        yield url
    finally:
        sh(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def schema() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


def _query(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as c:
        return c.execute(sql, params).fetchall()


def _state(url: str, schema: str) -> dict:
    """What a reader sees: run ids and row counts of the three tables, leftover tables."""
    out = {}
    for t in ("villages", "cells", "shortlist"):
        out[t] = _query(url, f"SELECT run_id, count(*) FROM {schema}.despro_{t} GROUP BY 1")
    out["tables"] = sorted(
        r[0] for r in _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
    )
    return out


@pytest.fixture(scope="module")
def run_dirs(sample_result, tmp_path_factory):
    """Two finished run folders of the sample (B differs from A by its manifest time)."""
    base = tmp_path_factory.mktemp("runs")
    a = base / "a"
    write_outputs(sample_result, a)
    b = base / "b"
    shutil.copytree(a, b)
    man = json.loads((b / "manifest.json").read_text())
    man["created_utc"] = "2099-01-01T00:00:00+00:00"
    (b / "manifest.json").write_text(json.dumps(man))
    return a, b


def test_tables_rows_ids_srid_and_indexes(sample_result, pg_url, schema):
    s = postgis.export(postgis_tables.from_result(sample_result, "run-a"), pg_url, schema=schema)
    n_short = len(sample_result.shortlist())
    assert s.rows == {"cells": len(sample_result.cells), "villages": 300, "shortlist": n_short}
    assert _state(pg_url, schema) == {
        "villages": [("run-a", 300)],
        "cells": [("run-a", len(sample_result.cells))],
        "shortlist": [("run-a", n_short)],
        "tables": ["despro_cells", "despro_runs", "despro_shortlist", "despro_villages"],
    }
    for t in ("villages", "cells", "shortlist"):
        assert _query(pg_url, "SELECT Find_SRID(%s, %s, 'geom')", [schema, f"despro_{t}"]) == [
            (4326,)
        ]
        idx = " ".join(
            r[0]
            for r in _query(
                pg_url,
                "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                [schema, f"despro_{t}"],
            )
        )
        assert "USING gist (geom)" in idx and "(h3)" in idx and "(h3_int)" in idx, idx
    cells = _query(
        pg_url,
        f"SELECT h3, h3_int, speedtest_tests, download_mbps FROM "
        f"{schema}.despro_cells ORDER BY h3_int",
    )
    ids = np.array([r[1] for r in cells], dtype=np.int64).astype(np.uint64)
    assert (grid.str_to_cells([r[0] for r in cells]) == ids).all()  # text and bigint agree
    ref = sample_result.cells.set_index("h3_int").loc[ids]
    assert [r[2] for r in cells] == ref["speedtest_tests"].tolist()  # floats exact
    got = np.array([np.nan if r[3] is None else r[3] for r in cells])
    assert np.array_equal(got, ref["download_mbps"].to_numpy(), equal_nan=True)  # NaN -> NULL
    v = dict(_query(pg_url, f"SELECT village_code, tier FROM {schema}.despro_villages"))
    assert v == dict(
        zip(sample_result.villages["village_code"], sample_result.villages["tier"], strict=True)
    )


def test_st_contains_finds_the_villages_geopandas_finds(sample_result, pg_url, schema):
    postgis.export(postgis_tables.from_result(sample_result, "run-a"), pg_url, schema=schema)
    villages = sample_result.villages[["village_code", "geometry"]].reset_index(drop=True)
    x0, y0, x1, y1 = villages.total_bounds
    rng = np.random.default_rng(10)
    x, y = rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400)
    pts = gpd.GeoDataFrame({"i": np.arange(1, 401)}, geometry=shapely.points(x, y), crs="EPSG:4326")
    expected = {
        (int(r.i), r.village_code)
        for r in gpd.sjoin(pts, villages, predicate="within").itertuples()
    }
    got = set(
        _query(
            pg_url,
            f"SELECT p.i, v.village_code FROM unnest(%s::float8[], %s::float8[]) WITH "
            f"ORDINALITY AS p(x, y, i) JOIN {schema}.despro_villages v ON "
            "ST_Contains(v.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))",
            [x.tolist(), y.tolist()],
        )
    )
    assert len(expected) > 100
    assert got == expected


def test_second_export_replaces_and_history_keeps_both(run_dirs, pg_url, schema):
    a, b = (postgis_tables.from_run_dir(d) for d in run_dirs)
    assert a.run_id != b.run_id
    postgis.export(a, pg_url, schema=schema)
    postgis.export(b, pg_url, schema=schema)
    st = _state(pg_url, schema)
    assert st["villages"] == [(b.run_id, 300)] and st["cells"][0][0] == b.run_id
    assert not [t for t in st["tables"] if t.endswith("__load")]
    assert [
        r[0]
        for r in _query(pg_url, f"SELECT run_id FROM {schema}.despro_runs ORDER BY exported_utc")
    ] == [a.run_id, b.run_id]
    for run in (a, b):
        postgis.export(run, pg_url, schema=schema, prefix="hist_", mode="history")
    assert _query(
        pg_url, f"SELECT run_id, count(*) FROM {schema}.hist_villages GROUP BY 1 ORDER BY 1"
    ) == sorted([(a.run_id, 300), (b.run_id, 300)])
    assert _query(pg_url, f"SELECT DISTINCT run_id FROM {schema}.hist_cells_latest") == [
        (b.run_id,)
    ]
    with pytest.raises(DesproError, match="keeps a run history"):
        postgis.export(a, pg_url, schema=schema, prefix="hist_", mode="replace")


def test_bad_data_mid_export_leaves_the_previous_tables(run_dirs, pg_url, schema, tmp_path):
    a_dir, b_dir = run_dirs
    postgis.export(postgis_tables.from_run_dir(a_dir), pg_url, schema=schema)
    before = _state(pg_url, schema)
    bad = tmp_path / "bad"
    shutil.copytree(b_dir, bad)
    v = gpd.read_parquet(bad / "villages.parquet")
    v = gpd.GeoDataFrame(pd.concat([v, v.iloc[[5]]]), crs=v.crs)  # a village twice
    v.to_parquet(bad / "villages.parquet")
    with pytest.raises(DesproError, match="loading villages.*duplicated.*nothing was changed"):
        postgis.export(postgis_tables.from_run_dir(bad), pg_url, schema=schema)
    assert _state(pg_url, schema) == before  # cells were loaded already: rolled back too
    assert len(_query(pg_url, f"SELECT * FROM {schema}.despro_runs")) == 1


def test_sigkill_mid_export_leaves_the_previous_tables(run_dirs, pg_url, schema, tmp_path):
    a_dir, b_dir = run_dirs
    postgis.export(postgis_tables.from_run_dir(a_dir), pg_url, schema=schema)
    before = _state(pg_url, schema)
    cmd = [
        sys.executable,
        "-m",
        "despro.cli.main",
        "export",
        "--postgis",
        pg_url,
        "--run",
        str(b_dir),
        "--schema",
        schema,
    ]
    env = {**os.environ, "DESPRO_FAULT_PAUSE": "postgis"}
    marker = b_dir / ".paused-postgis"
    marker.unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        t0 = time.time()
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() - t0 < 120, "export never reached the pause"
            time.sleep(0.1)
        # new tables fully loaded but not switched: readers still see run A only
        assert _state(pg_url, schema) == before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        marker.unlink(missing_ok=True)
    assert _state(pg_url, schema) == before
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    b_id = postgis_tables.from_run_dir(b_dir).run_id
    assert f"run {b_id}" in r.stdout
    assert _state(pg_url, schema)["villages"] == [(b_id, 300)]


def test_despro_run_exports_with_the_config_section(sample_copy, pg_url, schema, tmp_path):
    cfg = sample_copy / "despro.toml"
    with cfg.open("a") as f:
        f.write(f'\n[output.postgis]\nurl = "{pg_url}"\nschema = "{schema}"\nmode = "history"\n')
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "despro.cli.main",
            "run",
            "--config",
            str(cfg),
            "--output-dir",
            str(tmp_path / "out"),
            "--maps-dir",
            str(tmp_path / "maps"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert f"schema {schema} (history)" in r.stdout
    assert _query(pg_url, f"SELECT count(*) FROM {schema}.despro_villages_latest") == [(300,)]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "despro.cli.main",
            "export",
            "--postgis",
            "postgresql://nobody:secret@127.0.0.1:1/x",
            "--run",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "cannot connect to PostGIS at postgresql://nobody:***@127.0.0.1:1/x" in bad.stderr
    assert "secret" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_passwords_are_masked_in_the_config_dump(sample_copy):
    cfg = sample_copy / "despro.toml"
    with cfg.open("a") as f:
        f.write('\n[output.postgis]\nurl = "postgresql://planner:hunter2@db/despro"\n')
    dumped = load_config(cfg).model_dump_json()
    assert "hunter2" not in dumped and "planner:***@db" in dumped
    assert postgis.mask_url("host=db password=hunter2 user=x") == "host=db password=*** user=x"
