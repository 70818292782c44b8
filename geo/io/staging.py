"""All or nothing: one run's folders are written beside their targets, then switched in together.

:func:`despro.pipeline.job.run_job` asks a :class:`Staging` for one folder per target (the
tables, the selection files, the map site) and hands those to the writers, which know
nothing of it. Each staging folder is a hidden sibling of its target
(``.<name>.staging-<pid>-<random>``, the same file system, so every move is a rename).
Only when every writer has finished does :meth:`Staging.commit` move the staged files
into the targets; on any failure (a bad value, a crash while drawing the maps, Ctrl-C)
:meth:`Staging.discard` deletes the staging folders and the targets are byte-identical
to what they were.

The commit is renames only (no data is written then). Each target keeps a small list of
the files the last run put there (:data:`RECORD`); a file of the previous run that this
run did not write (a province page that is now split into regency pages, a
``model_validation.csv`` of a run with the model on) is removed at the commit, while
files despro did not write are never touched. A staging folder left by a killed run
(its process id no longer alive) is removed by the next run that stages the same target.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

#: the list, in each target folder, of the files the last committed run wrote there
RECORD = ".despro-files.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _remove_orphans(target: Path) -> None:
    """Delete staging folders of ``target`` whose run is no longer alive."""
    if not target.parent.is_dir():
        return
    for p in target.parent.glob(f".{target.name}.staging-*"):
        pid = p.name.rsplit(".staging-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _files(root: Path, skip: list[Path]) -> list[Path]:
    """Files under ``root`` (relative, sorted), leaving out the folders in ``skip``."""
    skipped = {os.fspath(s) for s in skip}
    out = []
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(here, d) not in skipped]
        rel = Path(here).relative_to(root)
        out.extend(rel / f for f in files)
    return sorted(out)


def move_file(src: Path, dest: Path) -> None:
    """Rename ``src`` to ``dest``, removing an older ``dest`` first.

    Renaming over an existing file makes ext4 (``auto_da_alloc``, its default) write the
    new file's data to disk before the rename returns: about 0.2 s per 400 MB on an idle
    disk and tens of seconds for a national run's 1.5 GB under load. Removing the old
    file first keeps the commit to renames; the kernel writes the data in its own time.
    """
    try:
        os.unlink(dest)
    except FileNotFoundError:
        pass
    os.rename(src, dest)


class Staging:
    """Staging folders for several targets, committed together or discarded together.

    Use as a context manager: on leaving without an exception the staged files are
    committed, on an exception they are discarded and the exception propagates::

        with Staging() as st:
            write_outputs(result, st.folder(output_dir))
            write_map(result, st.folder(maps_dir))
    """

    def __init__(self) -> None:
        self._stages: dict[Path, Path] = {}  # target -> staging folder
        self._created: list[Path] = []  # staging folders this object made

    def folder(self, target: Path | str) -> Path:
        """The folder to write ``target``'s files into (created, empty).

        Parameters
        ----------
        target : Path or str
            Where the files belong once the run succeeded.

        Returns
        -------
        Path
            A staging folder beside ``target``; inside the staging folder of an already
            staged target when ``target`` lies within it (``output/selection``).
        """
        target = Path(os.path.abspath(target))
        if target in self._stages:
            return self._stages[target]
        for outer, stage in self._stages.items():
            if target.is_relative_to(outer):
                inner = stage / target.relative_to(outer)
                inner.mkdir(parents=True, exist_ok=True)
                self._stages[target] = inner
                return inner
        _remove_orphans(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = target.parent / f".{target.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
        stage.mkdir()
        self._created.append(stage)
        self._stages[target] = stage
        return stage

    def discard(self) -> None:
        """Delete every staging folder; the targets stay as they were."""
        for stage in self._created:
            shutil.rmtree(stage, ignore_errors=True)
        self._stages.clear()
        self._created.clear()

    def commit(self) -> None:
        """Move every staged file into its target, retire the previous run's leftovers."""
        targets = list(self._stages)
        for target, stage in self._stages.items():
            inner = [t for t in targets if t != target and t.is_relative_to(target)]
            new = _files(stage, [self._stages[t] for t in inner])
            target.mkdir(parents=True, exist_ok=True)
            for rel in new:
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                move_file(stage / rel, dest)
            names = {str(r) for r in new}
            record = target / RECORD
            try:
                old = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = []
            for name in old if isinstance(old, list) else []:
                p = (target / str(name)).resolve()
                if name not in names and p.is_relative_to(target.resolve()) and p.is_file():
                    p.unlink()
            tmp = target / f"{RECORD}.{secrets.token_hex(4)}"
            tmp.write_text(json.dumps(sorted(names), indent=0), encoding="utf-8")
            os.replace(tmp, record)
        self.discard()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
