"""PostGIS sink: a run's villages, cells and shortlist as tables, in one transaction.

``export(tables, url)`` writes ``<prefix>villages``, ``<prefix>cells`` and
``<prefix>shortlist`` (see :mod:`despro.io.postgis_tables`) into ``schema`` and
logs the export in ``<prefix>runs``. Indexes: the primary key (``village_code`` or
``h3_int``; with ``run_id`` in history mode), a b-tree on ``h3`` and ``h3_int``
and a GiST index on ``geom``.

One transaction per export, so the tables are always one complete run:

* ``mode = "replace"`` loads each table into ``<table>__load``, builds its
  indexes, then drops the old table and renames the new one into place; readers
  see the previous run until the commit and the next one after it.
* ``mode = "history"`` appends the run's rows (a re-export of the same run id
  replaces its rows) and keeps the views ``<prefix><table>_latest`` on the newest
  exported run.

If anything fails (bad data, a lost connection, the exporting process killed),
PostgreSQL rolls the transaction back and the previous tables stay as they were.
Concurrent exports to the same tables wait for each other (an advisory lock).

Credentials: put no password in the config (it is written to manifests); use
``PGPASSWORD``, ``~/.pgpass`` or ``url_env``. URLs are shown with the password masked.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from despro.config.urls import mask_url, scrub
from despro.errors import ConfigError, DesproError
from despro.io.postgis_tables import RunTables, Table
from despro.ops.runs import fault_point

MODES = ("replace", "history")


@dataclass
class ExportSummary:
    """What one export wrote."""

    run_id: str
    schema: str
    mode: str
    rows: dict[str, int]
    seconds: float
    url: str


def resolve_url(url: str | None = None, url_env: str | None = None) -> str:
    """The connection URL: ``url``, else the environment variable named ``url_env``."""
    if url:
        return url
    if url_env:
        value = os.environ.get(url_env)
        if value:
            return value
        raise ConfigError(
            f"environment variable {url_env} is not set", key="output.postgis.url_env"
        )
    raise ConfigError(
        "no PostGIS URL: give --postgis URL or [output.postgis] url / url_env",
        key="output.postgis.url",
    )


#: PostgreSQL cuts longer identifiers (bytes, UTF-8) silently: names are checked against it
PG_MAX_NAME = 63
#: a prefix leaves room for the longest name made from it: <prefix>shortlist__load_h3_int_idx
MAX_PREFIX = PG_MAX_NAME - len("shortlist__load_h3_int_idx")


def _check_name(name: str, what: str, limit: int, key: str) -> None:
    """Any text is a valid (quoted) identifier, but not an empty one, a NUL byte or one
    PostgreSQL would cut to ``limit`` bytes (two names could then meet)."""
    size = len(name.encode("utf-8"))
    if not name or "\x00" in name or size > limit:
        raise ConfigError(
            f"{what} {name!r} must be 1-{limit} bytes (UTF-8) without NUL; it has {size}",
            key=key,
        )


def _sql():
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise DesproError(
            "the PostGIS export needs psycopg. Fix: pip install 'despro[postgis]'"
        ) from None
    return psycopg, sql


def _ident(sql, schema: str, name: str):
    return sql.Identifier(schema, name)


def _comment(cur, sql, schema: str, name: str) -> str | None:
    cur.execute(
        "SELECT obj_description(to_regclass(%s), 'pg_class')",
        [sql.Identifier(schema, name).as_string(cur)],
    )
    row = cur.fetchone()
    return row[0] if row else None


def _exists(cur, sql, schema: str, name: str) -> bool:
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [sql.Identifier(schema, name).as_string(cur)])
    return bool(cur.fetchone()[0])


def _create(cur, sql, schema: str, name: str, t: Table) -> None:
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in t.columns
    )
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(_ident(sql, schema, name), cols))
    for c in t.columns:
        if c.renamed:
            cur.execute(
                sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                    _ident(sql, schema, name), sql.Identifier(c.name), sql.Literal(c.source)
                )
            )


def _copy(cur, sql, schema: str, name: str, t: Table) -> None:
    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in t.columns)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(_ident(sql, schema, name), cols)
    with cur.copy(stmt) as cp:
        for chunk in t.csv_chunks():
            cp.write(chunk)


def _indexes(cur, sql, schema: str, name: str, t: Table, key: list[str], stem: str) -> None:
    """Primary key, b-trees on the H3 ids, GiST on geom; index names start with ``stem``."""
    tab = _ident(sql, schema, name)
    cur.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            tab, sql.Identifier(f"{stem}_pkey"), sql.SQL(", ").join(map(sql.Identifier, key))
        )
    )
    names = {c.name for c in t.columns}
    for col in ("h3", "h3_int"):
        if col in names and [col] != key:
            cur.execute(
                sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"{stem}_{col}_idx"), tab, sql.Identifier(col)
                )
            )
    cur.execute(
        sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(
            sql.Identifier(f"{stem}_geom_gist"), tab
        )
    )


def _index_names(cur, schema: str, table: str) -> list[str]:
    cur.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s", [schema, table]
    )
    return [r[0] for r in cur.fetchall()]


def _replace(cur, sql, schema: str, prefix: str, t: Table) -> None:
    final, load = f"{prefix}{t.name}", f"{prefix}{t.name}__load"
    if _exists(cur, sql, schema, final) and "mode=history" in (
        _comment(cur, sql, schema, final) or ""
    ):
        raise DesproError(
            f"{schema}.{final} keeps a run history; replace mode would drop it. "
            "Fix: set [output.postgis] mode = 'history' or another prefix"
        )
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_ident(sql, schema, load)))
    _create(cur, sql, schema, load, t)
    _copy(cur, sql, schema, load, t)
    _indexes(cur, sql, schema, load, t, t.key, load)


def _swap(cur, sql, schema: str, prefix: str, t: Table) -> None:
    final, load = f"{prefix}{t.name}", f"{prefix}{t.name}__load"
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_ident(sql, schema, final)))
    cur.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            _ident(sql, schema, load), sql.Identifier(final)
        )
    )
    for idx in _index_names(cur, schema, final):
        if idx.startswith(load):
            cur.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    _ident(sql, schema, idx), sql.Identifier(final + idx[len(load) :])
                )
            )
    cur.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            _ident(sql, schema, final), sql.Literal(f"despro {t.name}, mode=replace")
        )
    )


_TYPE_ALIASES = {"timestamptz": "timestamp with time zone"}


def _same_type(a: str, b: str) -> bool:
    def norm(t: str) -> str:
        t = _TYPE_ALIASES.get(t.lower(), t.lower())
        return t.replace(" ", "")

    return norm(a) == norm(b)


def _columns(cur, sql, schema: str, table: str) -> dict[str, str]:
    """Column name -> SQL type (as format_type spells it) of an existing table."""
    cur.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
        "attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        [sql.Identifier(schema, table).as_string(cur)],
    )
    return dict(cur.fetchall())


def _append(cur, sql, schema: str, prefix: str, t: Table, run_id: str) -> None:
    final = f"{prefix}{t.name}"
    tab = _ident(sql, schema, final)
    if not _exists(cur, sql, schema, final):
        _create(cur, sql, schema, final, t)
        _indexes(cur, sql, schema, final, t, ["run_id", *t.key], final)
        cur.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                tab, sql.Literal(f"despro {t.name}, mode=history")
            )
        )
    elif "mode=history" not in (_comment(cur, sql, schema, final) or ""):
        raise DesproError(
            f"{schema}.{final} holds one run (replace mode), not a history. "
            "Fix: set [output.postgis] mode = 'replace' or another prefix"
        )
    have = _columns(cur, sql, schema, final)
    for c in t.columns:
        typ = have.get(c.name)
        if typ is None:
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    tab, sql.Identifier(c.name), sql.SQL(c.sql_type)
                )
            )
        elif not _same_type(typ, c.sql_type):
            raise DesproError(
                f"{schema}.{final}.{c.name} is {typ} but this run has "
                f"{c.sql_type}. Fix: export to another prefix (history tables "
                "keep their column types)"
            )
    cur.execute(sql.SQL("DELETE FROM {} WHERE run_id = %s").format(tab), [run_id])
    _copy(cur, sql, schema, final, t)
    view = _ident(sql, schema, f"{final}_latest")
    cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
    cur.execute(
        sql.SQL(
            "CREATE VIEW {} AS SELECT * FROM {} WHERE run_id = (SELECT run_id "
            "FROM {} ORDER BY exported_utc DESC, run_id DESC LIMIT 1)"
        ).format(view, tab, _ident(sql, schema, f"{prefix}runs"))
    )


def _log_run(cur, sql, schema: str, prefix: str, run: RunTables, mode: str) -> None:
    from psycopg.types.json import Jsonb

    runs = _ident(sql, schema, f"{prefix}runs")
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (run_id text PRIMARY KEY, exported_utc timestamptz NOT "
            "NULL, mode text NOT NULL, villages bigint, cells bigint, shortlist bigint, "
            "meta jsonb)"
        ).format(runs)
    )
    cur.execute(
        sql.SQL(
            "INSERT INTO {} VALUES (%s, clock_timestamp(), %s, %s, %s, %s, %s) "
            "ON CONFLICT (run_id) DO UPDATE SET exported_utc = EXCLUDED.exported_utc, "
            "mode = EXCLUDED.mode, "
            "villages = EXCLUDED.villages, cells = EXCLUDED.cells, shortlist = EXCLUDED.shortlist, "
            "meta = EXCLUDED.meta"
        ).format(runs),
        [
            run.run_id,
            mode,
            run.villages.rows.num_rows,
            run.cells.rows.num_rows,
            run.shortlist.rows.num_rows,
            Jsonb(run.meta),
        ],
    )


def _prepare_database(cur, sql, schema: str) -> None:
    cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    if cur.fetchone() is None:
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except Exception as exc:
            raise DesproError(
                f"the database has no PostGIS extension and it could not be "
                f"created ({str(exc).splitlines()[0]}). Fix: as a superuser, run "
                "CREATE EXTENSION postgis in this database"
            ) from None
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    if cur.fetchone() is None:  # creating needs CREATE on the database; using it does not
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def export(
    run: RunTables,
    url: str,
    *,
    schema: str = "public",
    prefix: str = "despro_",
    mode: str = "replace",
    fault_dir: Path | None = None,
) -> ExportSummary:
    """Write one run's tables to PostGIS in a single transaction (see the module docstring).

    Parameters
    ----------
    run : RunTables
        From :func:`despro.io.postgis_tables.from_result` or ``from_run_dir``.
    url : str
        libpq connection URL or ``key=value`` string.
    schema, prefix : str
        Tables go to ``schema.<prefix>villages`` etc.
    mode : 'replace' or 'history'

    Raises
    ------
    DesproError
        Naming the failing step; the database is then unchanged.
    """
    if mode not in MODES:
        raise ConfigError(
            f"unknown mode {mode!r}; use one of {list(MODES)}", key="output.postgis.mode"
        )
    _check_name(schema, "schema", PG_MAX_NAME, "output.postgis.schema")
    _check_name(prefix, "prefix", MAX_PREFIX, "output.postgis.prefix")
    psycopg, sql = _sql()
    t0 = time.perf_counter()
    shown = mask_url(url)
    try:
        conn = psycopg.connect(url, connect_timeout=20)
    except Exception as exc:  # psycopg.Error, or a DSN the driver cannot take at all
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DesproError(
            f"cannot connect to PostGIS at {shown}: {scrub(first, url)}. Fix: check the "
            "URL, that the server runs and accepts this user (PGPASSWORD or ~/.pgpass)"
        ) from None
    step = "starting"
    try:
        with conn, conn.cursor() as cur:  # commits on success, rolls back on any error
            step = "preparing the schema"
            _prepare_database(cur, sql, schema)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{schema}.{prefix}"])
            _log_run(cur, sql, schema, prefix, run, mode)
            for t in run.tables:
                step = f"loading {t.name}"
                if mode == "replace":
                    _replace(cur, sql, schema, prefix, t)
                else:
                    _append(cur, sql, schema, prefix, t, run.run_id)
            fault_point("postgis", fault_dir or Path.cwd())
            step = "switching to the new tables"
            if mode == "replace":
                for t in run.tables:
                    _swap(cur, sql, schema, prefix, t)
            step = "committing"
    except psycopg.Error as exc:
        msg = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc)
        detail = getattr(getattr(exc, "diag", None), "message_detail", None)
        text = f"{msg}" + (f" ({detail})" if detail else "")
        raise DesproError(
            f"PostGIS export to {shown} failed while {step}: {scrub(text, url)}"
            f"; nothing was changed in schema {schema!r}. Fix: correct the data "
            "or the database named above and export again"
        ) from None
    finally:
        conn.close()
    rows = {t.name: t.rows.num_rows for t in run.tables}
    return ExportSummary(run.run_id, schema, mode, rows, round(time.perf_counter() - t0, 3), shown)
