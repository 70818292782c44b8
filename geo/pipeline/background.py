"""The model fitted in a second process while the run evaluates the rules.

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
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

#: below this many villages the model is fitted in the run's own process
MIN_VILLAGES = 20_000


def _fit(args: tuple):
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

    def result(self):
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
