"""Versioned runs for operators: a run history in SQLite, a lock, an atomic ``latest``.

Layout of an output folder managed by ``despro rescore``::

    OUT/runs.sqlite          run history (one row per attempt)
    OUT/runs/<run id>/       one complete run: tables, manifest, map, change report
    OUT/latest -> runs/<id>  symlink switched atomically after a run succeeded
    OUT/cache/               reusable steps (see despro.pipeline.cache)
    OUT/.despro.lock         held (flock) while a run is in progress

A run writes into ``runs/<id>.partial`` and renames it to ``runs/<id>`` only when
every file is complete; the history row is marked ``success`` next and ``latest``
is switched last. A run killed at any point (even SIGKILL) therefore leaves
``latest`` pointing at the previous complete run; the next run marks the dead
attempt ``interrupted``, removes its partial folder and, if the kill came between
the history update and the switch, finishes the switch. The lock is an ``flock``
on a file, so the kernel releases it when its holder dies: a stale lock recovers
itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from despro.errors import DesproError, LockedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_utc TEXT NOT NULL,
    finished_utc TEXT,
    status TEXT NOT NULL,          -- running, success, failed, interrupted, unchanged
    config_file TEXT,
    config_hash TEXT,
    step_keys TEXT,                -- JSON: step -> cache key
    recomputed TEXT,               -- JSON: steps rebuilt in this run
    inputs TEXT,                   -- JSON: [{file, layer, sha256, vintage}]
    counts TEXT,                   -- JSON: villages, cells, tiers
    timings TEXT,                  -- JSON: step -> seconds
    message TEXT,
    pid INTEGER,
    pruned INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass
class RunRecord:
    """One row of the history."""

    id: str
    started_utc: str
    finished_utc: str | None
    status: str
    config_file: str | None
    config_hash: str | None
    step_keys: dict
    recomputed: list
    inputs: list
    counts: dict
    timings: dict
    message: str | None
    pid: int | None
    pruned: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        for k in ("step_keys", "counts", "timings"):
            d[k] = json.loads(d[k]) if d[k] else {}
        for k in ("recomputed", "inputs"):
            d[k] = json.loads(d[k]) if d[k] else []
        return cls(**d)


def new_run_id() -> str:
    """Sortable id: UTC time to the millisecond plus the process id."""
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-{os.getpid()}"


class RunStore:
    """The run history and folders under one output folder."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.runs_dir = self.out / "runs"
        self.db_path = self.out / "runs.sqlite"
        self.latest = self.out / "latest"
        self.cache_dir = self.out / "cache"

    # -- database ---------------------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        self.out.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db_path, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            yield con
            con.commit()
        finally:
            con.close()

    def records(self, status: str | None = None) -> list[RunRecord]:
        """All runs, newest first (optionally only those with ``status``)."""
        if not self.db_path.exists():
            return []
        with self.db() as con:
            q = "SELECT * FROM runs" + (" WHERE status = ?" if status else "") + " ORDER BY id DESC"
            rows = con.execute(q, (status,) if status else ()).fetchall()
        return [RunRecord.from_row(r) for r in rows]

    def get(self, run_id: str) -> RunRecord:
        """One run by id (a unique prefix is enough)."""
        with self.db() as con:
            rows = con.execute(
                "SELECT * FROM runs WHERE id LIKE ? ORDER BY id", (run_id + "%",)
            ).fetchall()
        if len(rows) != 1:
            raise DesproError(
                f"run '{run_id}' {'is ambiguous' if rows else 'not found'} in "
                f"{self.db_path}; see 'despro runs list'"
            )
        return RunRecord.from_row(rows[0])

    def last_success(self) -> RunRecord | None:
        ok = [r for r in self.records("success") if (self.runs_dir / r.id).is_dir()]
        return ok[0] if ok else None

    def insert(self, **fields) -> None:
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        with self.db() as con:
            con.execute(
                f"INSERT INTO runs ({cols}) VALUES ({marks})",  # noqa: S608
                [json.dumps(v) if isinstance(v, dict | list) else v for v in fields.values()],
            )

    def update(self, run_id: str, **fields) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.db() as con:
            con.execute(
                f"UPDATE runs SET {sets} WHERE id = ?",  # noqa: S608
                [json.dumps(v) if isinstance(v, dict | list) else v for v in fields.values()]
                + [run_id],
            )

    # -- lock and recovery --------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock for the duration; raise LockedError if it is taken."""
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / ".despro.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = Path(path).read_text().strip() or "unknown"
                raise LockedError(
                    f"another despro run (pid {holder}) is using {self.out}; wait for it to finish"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def recover(self) -> list[str]:
        """Repair what a killed run left behind (call with the lock held).

        Returns a list of human-readable actions taken.
        """
        actions = []
        for r in self.records("running"):
            self.update(
                r.id,
                status="interrupted",
                finished_utc=_now(),
                message="the process died before finishing (killed or crashed)",
            )
            actions.append(f"run {r.id} marked interrupted")
        if self.runs_dir.is_dir():
            for p in self.runs_dir.glob("*.partial"):
                shutil.rmtree(p, ignore_errors=True)
                actions.append(f"removed incomplete {p.name}")
        last = self.last_success()
        if last is not None and self.latest_id() != last.id:
            self.switch_latest(last.id)
            actions.append(f"latest switched to {last.id}")
        return actions

    # -- folders ------------------------------------------------------------------
    def latest_id(self) -> str | None:
        try:
            return Path(os.readlink(self.latest)).name
        except OSError:
            return None

    def switch_latest(self, run_id: str) -> None:
        """Point ``latest`` at ``runs/<run_id>`` atomically (symlink + rename)."""
        tmp = self.out / f".latest-{os.getpid()}-{time.monotonic_ns()}"
        os.symlink(Path("runs") / run_id, tmp)
        os.replace(tmp, self.latest)

    def prune(self, keep: int) -> list[str]:
        """Delete the folders of all but the newest ``keep`` successful runs."""
        removed = []
        ok = self.records("success")
        current = self.latest_id()
        for r in ok[keep:]:
            if r.pruned or r.id == current:
                continue
            shutil.rmtree(self.runs_dir / r.id, ignore_errors=True)
            self.update(r.id, pruned=1)
            removed.append(r.id)
        return removed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fault_point(stage: str, out: Path) -> None:
    """Test hook: with DESPRO_FAULT_PAUSE=<stage>, announce the stage and wait to be killed.

    Used by the crash-safety tests to SIGKILL a real run at a chosen point; does
    nothing unless that variable names this stage.
    """
    if os.environ.get("DESPRO_FAULT_PAUSE") == stage:
        (Path(out) / f".paused-{stage}").write_text(str(os.getpid()))
        time.sleep(120)
