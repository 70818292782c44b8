"""File hashing shared by the step cache, the writers' manifests and the downloads.

A neutral module so that :mod:`despro.pipeline.cache` need not import the writers
(:mod:`despro.io.outputs`) to hash an input.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes.

    Parameters
    ----------
    path : Path or str
        The file.
    chunk : int
        Read size (bytes).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()
