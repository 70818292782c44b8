"""One small exception hierarchy: catch what you can handle, read what went wrong.

Every error a user can cause carries enough to fix it: the file, the row or
feature, what was expected and what to do. The CLI prints ``str(error)`` on one
line and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class DesproError(Exception):
    """Base class of every error despro raises on purpose."""


class ConfigError(DesproError):
    """The configuration is invalid: names the key, the value and what is expected."""

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        self.file = str(file) if file is not None else None
        self.key = key
        where = ", ".join(p for p in (self.file, f"key '{key}'" if key else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(DesproError):
    """An input file is unreadable or violates its contract.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str or Path, optional
        The offending file.
    row : int or str, optional
        Row number (1-based, as a spreadsheet shows it; header is row 1) or the
        feature / code that is wrong.
    fix : str, optional
        What the user should do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | str | None = None,
        fix: str | None = None,
    ):
        self.file = str(file) if file is not None else None
        self.row = row
        self.fix = fix
        self.reason = message
        parts = []
        if self.file:
            parts.append(self.file)
        if row is not None:
            parts.append(f"row {row}" if isinstance(row, int) else str(row))
        text = (": ".join([", ".join(parts), message]) if parts else message).rstrip(".")
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)
