"""Content-addressed cache of the expensive steps (study overlap, layer tables).

A step's key is the sha256 of everything it depends on: its config section, the
sha256 of every input file it names, the study it was built on and the despro
version. Re-running with unchanged inputs reuses the pickled result; a changed
file changes only the keys of the steps that read it, so a rescore recomputes
just the affected layers. Entries are written atomically; an unreadable entry is
treated as a miss (and rebuilt), never as an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from despro import __version__
from despro._hashing import sha256

if TYPE_CHECKING:
    from despro.config.settings import Config

HASH_MEMO: dict[tuple[str, int, int], str] = {}
# Shape of the pickled step results; bump it when they change so that older entries
# are missed, not reused (2: a layer may give a cover per variable, despro.layer).
FORMAT = 2


def file_hash(path: Path) -> str:
    """sha256 of a file, memoised by (path, size, mtime) within the process."""
    st = Path(path).stat()
    k = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if k not in HASH_MEMO:
        HASH_MEMO[k] = sha256(path)
    return HASH_MEMO[k]


def section_paths(section: BaseModel | dict | list, config: Config) -> list[Path]:
    """Every file path named anywhere in a config section (lists and sub-sections too)."""
    out: list[Path] = []

    def walk(v):
        if isinstance(v, Path):
            out.append(config.path(v))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)
        elif isinstance(v, BaseModel):
            for name in type(v).model_fields:
                walk(getattr(v, name))

    walk(section)
    return out


def step_key(name: str, section: BaseModel | dict | list, config: Config, *extra: str) -> str:
    """Cache key of one step: its config, its input files' content and ``extra`` keys."""
    cfg_json = (
        section.model_dump_json()
        if hasattr(section, "model_dump_json")
        else json.dumps(section, default=str, sort_keys=True)
    )
    files = {str(p): file_hash(p) for p in section_paths(section, config) if Path(p).is_file()}
    blob = json.dumps(
        {
            "step": name,
            "config": cfg_json,
            "files": files,
            "extra": extra,
            "despro": __version__,
            "format": FORMAT,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class StepCache:
    """Pickled step results in a folder; ``hits`` / ``misses`` record what happened."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.hits: list[str] = []
        self.misses: list[str] = []

    @property
    def rebuilt(self) -> list[str]:
        """Steps rebuilt, in order: a layer and its transfer (``<layer>.transfer``) are one."""
        return list(dict.fromkeys(m.split(".", 1)[0] for m in self.misses))

    def _path(self, name: str, key: str) -> Path:
        return self.dir / f"{name}-{key}.pkl"

    def has(self, name: str, key: str) -> bool:
        """Whether an entry for step ``name`` with ``key`` is stored (not read: no hit)."""
        return self._path(name, key).is_file()

    def get(self, name: str, key: str) -> Any:
        p = self._path(name, key)
        try:
            with open(p, "rb") as f:
                obj = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            self.misses.append(name)
            return None
        self.hits.append(name)
        return obj

    def put(self, name: str, key: str, obj: object) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=self.dir)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path(name, key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in self.dir.glob(f"{name}-*.pkl"):  # keep one entry per step
            if old != self._path(name, key):
                old.unlink(missing_ok=True)
