"""PostGIS export with hostile names, against a real server that checks passwords.

Schema, table prefix and column names come from the config and the data: quotes,
semicolons, spaces, unicode and SQL keywords must end up as the names they are (every
identifier goes through ``psycopg.sql``), never as SQL. A wrong password is refused by
the server and never printed, whatever form the connection string takes.

The server is a throwaway cluster like ``test_postgis.py``'s, with password
(scram-sha-256) authentication over TCP.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from despro.errors import ConfigError, DesproError
from despro.grid import cells as grid
from despro.io import postgis, postgis_tables
from tests.geo.io.test_postgis import _bindir, _free_port, _unavailable

try:
    import psycopg
    from psycopg import sql
except ImportError:  # the 'postgis' / 'test' extra is not installed
    psycopg = None

PASSWORD = "Right-pw_7s3cr3t"


@pytest.fixture(scope="module")
def pg():
    """(URL with the right password, port) of a database with PostGIS and a sentinel table."""
    if psycopg is None:
        _unavailable("psycopg is not installed: pip install -e '.[test]'")
    bindir = _bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries not found: apt-get install postgresql postgis")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="despro-pgpw-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            _unavailable("running as root and there is no 'postgres' user to run the server")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = base / "data", base / "server.log", _free_port()
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
    if as_user:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)

    def sh(*cmd):
        return subprocess.run(
            [*as_user, *map(str, cmd)], capture_output=True, text=True, timeout=120
        )

    init = sh(
        bindir / "initdb",
        "-D",
        data,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        f"--pwfile={pwfile}",
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
        admin = f"postgresql://despro:{PASSWORD}@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute("CREATE DATABASE despro_names")
        url = f"postgresql://despro:{PASSWORD}@127.0.0.1:{port}/despro_names"
        try:
            with psycopg.connect(url, autocommit=True) as c:
                c.execute("CREATE EXTENSION postgis")
                c.execute("CREATE TABLE public.sentinel (x int)")
                c.execute("CREATE TABLE public.y (x int)")
        except psycopg.Error as exc:
            _unavailable(f"PostGIS is not installed for this PostgreSQL ({exc})")
        yield url, port
    finally:
        sh(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


#: column names as data may bring them (census items, operators): quotes, a statement,
#: keywords, spaces, unicode
HOSTILE_COLUMNS = ['x"; DROP TABLE y; --', "select", "from", "Ünï cødé 名前", "a'b"]


def _run(run_id: str = "run'; DROP TABLE sentinel; --") -> postgis_tables.RunTables:
    """Three villages and their cells near Yogyakarta, with hostile column names and text."""
    x = np.array([110.36, 110.38, 110.40])
    y = np.array([-7.80, -7.80, -7.80])
    boxes = [
        shapely.box(a - 0.005, b - 0.005, a + 0.005, b + 0.005) for a, b in zip(x, y, strict=True)
    ]
    villages = gpd.GeoDataFrame(
        {
            "village_code": ["3471010001", "3471010002", "3471010003"],
            "village_name": ["=1+1", "'); DROP TABLE sentinel; --", 'Kota "Gede"'],
            "tier": ["ready", "near-ready", "not-ready"],
            **{
                c: [1.5, 2.0, np.nan] if i % 2 == 0 else ["a", "b;", '"c"']
                for i, c in enumerate(HOSTILE_COLUMNS)
            },
        },
        geometry=boxes,
        crs="EPSG:4326",
    )
    ids = grid.lonlat_to_cells(x, y, 8)
    cells = gpd.GeoDataFrame(
        {"h3": grid.cells_to_str(ids), "h3_int": ids.astype(np.int64), "select": [1, 2, 3]},
        geometry=[shapely.Point(a, b).buffer(0.003) for a, b in zip(x, y, strict=True)],
        crs="EPSG:4326",
    )
    return postgis_tables.run_tables(villages, cells, ["3471010002"], run_id, 8, {"n": 3})


def _tables(url: str, schema: str) -> list[str]:
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]
        ).fetchall()
    return sorted(r[0] for r in rows)


def _sentinels_alive(url: str) -> bool:
    return _tables(url, "public") == ["sentinel", "spatial_ref_sys", "y"]


@pytest.mark.parametrize(
    ("schema", "prefix"),
    [
        ('we"ird; DROP TABLE public.sentinel; --', 'p"; DROP TABLE public.y; --'),
        ("select", "order "),
        ("spaced name ü スキーマ", "Ü_"),
    ],
)
@pytest.mark.parametrize("mode", ["replace", "history"])
def test_hostile_schema_prefix_and_columns_are_names_not_sql(pg, schema, prefix, mode):
    url, _ = pg
    schema = f"{schema} {mode}"  # one schema per mode: a history is not a replace table
    run = _run()
    for _ in range(2):  # a second export swaps (replace) or appends (history) by name
        s = postgis.export(run, url, schema=schema, prefix=prefix, mode=mode)
        assert s.rows == {"cells": 3, "villages": 3, "shortlist": 1}
    assert _sentinels_alive(url)
    assert _tables(url, schema) == sorted(
        f"{prefix}{t}" for t in ("cells", "runs", "shortlist", "villages")
    )
    tab = sql.Identifier(schema, f"{prefix}villages")
    with psycopg.connect(url) as c:
        got = c.execute(
            sql.SQL("SELECT run_id, village_name, {}, {}, {} FROM {} ORDER BY village_code").format(
                sql.Identifier("select"), sql.Identifier("from"), sql.Identifier("a_b"), tab
            )
        ).fetchall()
        cols = c.execute(
            "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
            [tab.as_string(c)],
        ).fetchall()
    rid = "run'; DROP TABLE sentinel; --"
    assert got == [
        (rid, "=1+1", "a", 1.5, 1.5),
        (rid, "'); DROP TABLE sentinel; --", "b;", 2.0, 2.0),
        (rid, 'Kota "Gede"', '"c"', None, None),
    ]
    comments = dict(cols)
    # a name SQL cannot hold plainly is renamed, its original kept as the column comment
    for original in ('x"; DROP TABLE y; --', "Ünï cødé 名前", "a'b"):
        assert comments[postgis_tables.sql_name(original)] == original
    assert comments["select"] is None and comments["from"] is None  # keywords kept as named


def test_names_postgresql_would_cut_are_refused_before_connecting():
    run = _run()
    nowhere = "postgresql://despro@127.0.0.1:1/x"
    with pytest.raises(ConfigError, match="output.postgis.schema"):
        postgis.export(run, nowhere, schema="s" * 64)
    with pytest.raises(ConfigError, match="output.postgis.prefix"):
        postgis.export(run, nowhere, prefix="é" * 19)  # 38 bytes
    with pytest.raises(ConfigError, match="output.postgis.prefix"):
        postgis.export(run, nowhere, prefix="a\x00b")


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://despro:Wr0ng-s3cret@127.0.0.1:{port}/despro_names",
        "postgresql://despro:Wr0ng%2Ds3cret@127.0.0.1:{port}/despro_names",  # percent-encoded
        "postgresql://despro@127.0.0.1:{port}/despro_names?password=Wr0ng-s3cret",
        "host=127.0.0.1 port={port} dbname=despro_names user=despro password=Wr0ng-s3cret",
        "host=127.0.0.1 port={port} user=despro password = 'Wr0ng s3cret'",
        # not even a valid string: the driver quotes part of it back
        "host=127.0.0.1 port={port} user=despro password=Wr0ng s3cret",
    ],
)
def test_a_wrong_password_is_refused_and_never_printed(pg, dsn):
    _, port = pg
    dsn = dsn.format(port=port)
    with pytest.raises(DesproError) as err:
        postgis.export(_run(), dsn, schema="never")
    msg = str(err.value)
    assert msg.startswith("cannot connect to PostGIS at ")
    for secret in ("Wr0ng", "s3cret"):
        assert secret not in msg, msg
    assert "***" in msg
