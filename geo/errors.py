"""Every exception despro raises on purpose, and the exit code the CLI gives each one.

One small hierarchy: catch what you can handle, read what went wrong. Every error
a user can cause carries enough to fix it: the file, the row or feature, what was
expected and what to do. The classes mix in the builtin that fits, so code that
knows nothing of despro can still catch them (``except ValueError``,
``except FileNotFoundError``, ``except OSError``)::

    DesproError(Exception)
    +-- ConfigError(DesproError, ValueError)        the configuration: key, value, fix
    |   +-- MissingConfigError(ConfigError, FileNotFoundError)
    |   +-- InfeasibleError(ConfigError)           no shortlist meets the constraints
    +-- InputError(DesproError, ValueError)         an input file: file, row, fix
    |   +-- MissingFileError(InputError, FileNotFoundError)
    +-- FetchError(DesproError, OSError)            a download failed; run again to resume
    +-- LockedError(DesproError)                    another run holds the output folder

The command line prints ``despro: error: <message>`` on one line and exits with
:func:`exit_code` (the table :data:`EXIT_CODES`, also in the README).
"""

from __future__ import annotations

import errno
from pathlib import Path

#: Exit codes of the ``despro`` command.
EXIT_OK = 0  # success
EXIT_FAILURE = 1  # unexpected failure (a bug: please report it) or a failed download
EXIT_BAD_INPUT = 2  # bad input, configuration or arguments: the message names the fix
EXIT_UNCHANGED = 3  # despro rescore: nothing changed since the last successful run
EXIT_LOCKED = 4  # despro rescore: another run holds the output folder's lock


class DesproError(Exception):
    """Base class of every error despro raises on purpose."""

    def __str__(self) -> str:
        # the message as given, also where OSError (with errno / filename) is mixed in
        return BaseException.__str__(self)


class ConfigError(DesproError, ValueError):
    """The configuration is invalid: names the key, the value and what is expected."""

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        self.file = str(file) if file is not None else None
        self.key = key
        where = ", ".join(p for p in (self.file, f"key '{key}'" if key else None) if p)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(DesproError, ValueError):
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


class MissingConfigError(ConfigError, FileNotFoundError):
    """The configuration file does not exist."""

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        super().__init__(message, file=file, key=key)
        self.errno, self.filename = errno.ENOENT, self.file


class MissingFileError(InputError, FileNotFoundError):
    """An input file named by the configuration does not exist."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | str | None = None,
        fix: str | None = None,
    ):
        super().__init__(message, file=file, row=row, fix=fix)
        self.errno, self.filename = errno.ENOENT, self.file


class InfeasibleError(ConfigError):
    """No shortlist satisfies the selection constraints.

    Parameters
    ----------
    message : str
        Why no shortlist fits.
    constraint : str
        The ``[selection]`` key to relax (``size``, ``max_per_regency``, ...).
    fix : str
        What to change.
    section : str
        The config section of ``constraint`` (``selection``; ``plan`` for the rollout plan).
    """

    def __init__(
        self, message: str, constraint: str, fix: str = "relax it", section: str = "selection"
    ):
        self.constraint = constraint
        super().__init__(f"{message}. Fix: {fix}", key=f"{section}.{constraint}")


class FetchError(DesproError, OSError):
    """A download failed: names the URL and what to do (usually: run again to resume)."""


class LockedError(DesproError):
    """Another despro run holds the output folder's lock."""


#: exception class -> exit code of the ``despro`` command; the most specific class wins
EXIT_CODES: dict[type[BaseException], int] = {
    DesproError: EXIT_BAD_INPUT,
    FetchError: EXIT_FAILURE,
    LockedError: EXIT_LOCKED,
}


def exit_code(err: BaseException) -> int:
    """The exit code of the ``despro`` command for an exception (:data:`EXIT_CODES`).

    Parameters
    ----------
    err : BaseException
        What was raised.

    Returns
    -------
    int
        The code of the nearest class in ``err``'s method resolution order that has
        one; :data:`EXIT_FAILURE` for anything else (an unexpected failure).
    """
    for cls in type(err).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_FAILURE
