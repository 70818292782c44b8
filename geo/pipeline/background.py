"""Work done in a second process while the run goes on: the model's fit, the map site.

**The model.**
On a national run the model (:func:`despro.model.model_evidence`: importing
scikit-learn, leave-one-province-out fits, predictions for every village) takes a few
seconds of one core, and nothing but ``p_ready`` waits for it. So a large run starts a
second Python process right after reading the villages (:meth:`ModelWorker.start`):
it imports scikit-learn while the layers load, receives the villages' values when they
are finished (:meth:`ModelWorker.submit`) and fits while this process evaluates the
rules and assembles the tables; :meth:`ModelWorker.result` collects it. The result is
the same as fitting here (same code, same seed; tested). Small runs fit in-process:
starting a process costs more than their model.

The two processes talk through files in a private temporary folder (a pickle each way)
and one line on the worker's standard input ("go"); a worker that dies is replaced by
an in-process fit, an exception in the fit is raised here as it would have been.

Run as ``python -m despro.pipeline.background FOLDER`` by :class:`ModelWorker` only.

**The map site.** Writing the tables (GeoParquet, GeoPackage, CSVs) and drawing the
map site read the same finished result and share nothing else, so on a large run
:func:`despro.pipeline.job.run_job` draws the map in a forked copy of itself
(:class:`ForkedCall`: the result is shared copy-on-write, nothing is pickled) while it
writes the tables; both write into their staging folders and the run commits only when
both succeeded. An exception in the child is raised in the run's process.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from despro.errors import DesproError

if TYPE_CHECKING:  # pragma: no cover
    from despro.model import ModelEvidence

#: below this many villages the model is fitted in the run's own process
MIN_VILLAGES = 20_000


def _fit(args: tuple) -> ModelEvidence:
    from despro.model import model_evidence

    return model_evidence(*args)


class ModelWorker:
    """A second process for :func:`despro.model.model_evidence` (see the module docstring).

    Use as a context manager; the process is stopped on exit whatever happened.
    """

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        self._args: tuple | None = None

    def start(self) -> None:
        """Start the process (it imports scikit-learn and waits)."""
        self._dir = tempfile.TemporaryDirectory(prefix="despro-model-")
        # the same modules as this process, wherever they were imported from
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "despro.pipeline.background", self._dir.name],
            stdin=subprocess.PIPE,
            env=env,
        )

    @property
    def started(self) -> bool:
        """Whether a process was started."""
        return self.proc is not None

    def submit(self, *args) -> None:
        """Hand over ``model_evidence``'s arguments; returns at once."""
        self._args = args
        if self.proc is None:
            return
        folder = Path(self._dir.name)
        with open(folder / "job.tmp", "wb") as f:
            pickle.dump(args, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(folder / "job.tmp", folder / "job.pkl")
        try:
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()
        except OSError:  # the worker died: result() fits here
            pass

    def result(self) -> ModelEvidence:
        """The :class:`~despro.model.ModelEvidence` of the submitted arguments."""
        if self._args is None:
            raise RuntimeError("nothing was submitted")
        if self.proc is None:
            return _fit(self._args)
        self.proc.wait()
        out = Path(self._dir.name) / "result.pkl"
        try:
            with open(out, "rb") as f:
                status, value = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            return _fit(self._args)  # the worker died (memory, a signal): fit here
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop the process if it still runs and remove its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None and self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        if self._dir is not None:
            self._dir.cleanup()
        self.proc, self._dir = None, None

    def __enter__(self) -> ModelWorker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ForkedCall:
    """``fn()`` in a forked child process, started at once; :meth:`result` waits for it.

    The child sees this process's memory as it was at the fork (copy-on-write); what it
    returns comes back pickled, an exception it raises is raised by :meth:`result`.
    Use as a context manager: leaving it early (an error here) kills the child. ``what``
    names the child's work in the error raised when it dies without a result.
    """

    def __init__(self, fn: Callable[[], object], what: str = "drawing the map") -> None:
        self._what = what
        self._dir = tempfile.mkdtemp(prefix="despro-fork-")
        self._out = Path(self._dir) / "result.pkl"
        sys.stdout.flush()  # nothing buffered is written twice
        sys.stderr.flush()
        release_free_memory()  # the copy shares what this process really holds, no more
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            self._child(fn)

    def _child(self, fn: Callable[[], object]) -> None:
        code = 0
        try:
            out = ("ok", fn())
        except BaseException as e:  # noqa: BLE001 - every failure goes to the parent
            code = 1
            out = ("error", e, traceback.format_exc())
        try:
            with open(self._out, "wb") as f:
                pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that cannot be pickled: its text
            with open(self._out, "wb") as f:
                pickle.dump(("error", DesproError(out[-1]), out[-1]), f)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no atexit handlers, no staging clean-up of the parent's

    def result(self) -> object:
        """Wait for the child; its return value, or its exception raised here."""
        if self.pid is None:
            raise RuntimeError("the child was stopped")
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        try:
            with open(self._out, "rb") as f:
                out = pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError):
            raise DesproError(
                f"the process {self._what} ended without a result (wait status {status}); "
                "nothing was written. If the machine ran out of memory, run again with "
                "fewer other programs open"
            ) from None
        finally:
            self._cleanup()
        if out[0] == "error":
            raise out[1]
        return out[1]

    def _cleanup(self) -> None:
        Path(self._out).unlink(missing_ok=True)
        if Path(self._dir).exists():
            Path(self._dir).rmdir()

    def kill(self) -> None:
        """Stop the child if it still runs."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ChildProcessError:  # pragma: no cover - already reaped
                pass
            self.pid = None
        self._cleanup()

    def __enter__(self) -> ForkedCall:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def release_free_memory() -> float:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``); seconds spent.

    After a national run about 0.5 GB of the run's 3.7 GB is memory freed by Python but
    kept by the C allocator. Before a fork it would be shared with the copy and then
    copied page by page as either process reuses it; returned first, it is neither.
    Does nothing where the C library has no ``malloc_trim`` (macOS, musl).
    """
    t = time.perf_counter()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
    return time.perf_counter() - t


def can_fork() -> bool:
    """Whether this platform forks (POSIX)."""
    return hasattr(os, "fork")


def _main(folder: str) -> int:
    import sklearn.ensemble  # noqa: F401  (the slow imports, while the run goes on)
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401

    import despro.model  # noqa: F401

    if sys.stdin.readline().strip() != "go":
        return 0  # the run ended without a model to fit
    path = Path(folder)
    with open(path / "job.pkl", "rb") as f:
        args = pickle.load(f)
    try:
        out = ("ok", _fit(args))
    except Exception as e:  # raised again in the run's process
        out = ("error", e)
    with open(path / "result.tmp", "wb") as f:
        pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(path / "result.tmp", path / "result.pkl")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
