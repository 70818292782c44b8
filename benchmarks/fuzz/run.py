"""Run ``despro validate`` on every case, each in its own process with a time limit.

    python -m benchmarks.fuzz --cases 10000 --seed 1 --jobs 2 --timeout 120

The parent imports despro once, then forks one child per case (a real process: a crash,
a hang or a leak stays in it); the child writes the case's files, runs the ``despro
validate`` command (click, exactly as the shell runs it) and exits with its code. A child
still running after ``--timeout`` seconds is killed and counted as a timeout. With
``--run-accepted`` a case ``validate`` accepts is also run (``despro run``): validate
promises what run needs, so run must not crash either.

Outcome classes: ``clean error`` (exit 2, one ``despro: error:`` line), ``accepted``,
``accepted with a note`` (a wrong input accepted while validate printed a data-quality
note: a documented acceptance), ``accepted silently`` (a wrong input accepted without a
word), ``control rejected`` (a valid variant refused), ``traceback``, ``timeout`` and, with
``--run-accepted``, ``run failed`` (validate accepted, run did not finish).
Prints a table and exits 1 on any traceback, timeout or run failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.fuzz.cases import Case, make_case, materialise

BAD = ("traceback", "timeout", "run failed")
CLASSES = (
    "clean error",
    "accepted",
    "accepted with a note",
    "accepted silently",
    "control rejected",
    "traceback",
    "timeout",
    "run failed",
    "harness error",
)


@dataclass
class Outcome:
    """What one case did."""

    case: Case
    outcome: str
    code: int | None
    message: str
    seconds: float


def _child(case: Case, seed: int, folder: Path, run_accepted: bool) -> int:
    """In the forked process: write the case, run the command, return its exit code."""
    out = os.open(folder / "stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(folder / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.stdout = os.fdopen(1, "w", closefd=False)
    sys.stderr = os.fdopen(2, "w", closefd=False)
    try:
        config = materialise(case, seed, folder / "case")
    except Exception:
        traceback.print_exc()
        sys.stderr.flush()
        return 70
    code = _command(["validate", "--config", str(config)])
    if code == 0 and run_accepted:
        print("--- run ---", flush=True)
        run_code = _command(["run", "--config", str(config), "--quiet"])
        if run_code != 0:
            print(f"RUN-EXIT {run_code}", flush=True)
            return 60
    return code


def _command(argv: list[str]) -> int:
    from despro.cli.main import main

    try:
        main(argv, prog_name="despro", standalone_mode=True)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _classify(case: Case, code: int | None, folder: Path, seconds: float) -> Outcome:
    out = (
        (folder / "stdout.txt").read_text(errors="replace")
        if (folder / "stdout.txt").exists()
        else ""
    )
    err = (
        (folder / "stderr.txt").read_text(errors="replace")
        if (folder / "stderr.txt").exists()
        else ""
    )
    first = next((ln for ln in err.splitlines() if ln.startswith("despro: error")), "")
    if code is None:
        return Outcome(case, "timeout", None, "", seconds)
    if code == 70:
        return Outcome(
            case,
            "harness error",
            code,
            err.strip().splitlines()[-1:][0] if err.strip() else "",
            seconds,
        )
    if code == 60:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        return Outcome(case, "run failed", code, last, seconds)
    if "Traceback" in err or code not in (0, 2):
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {code}"
        return Outcome(case, "traceback", code, last, seconds)
    if code == 2:
        kind = "control rejected" if case.expect == "accept" else "clean error"
        return Outcome(case, kind, code, first, seconds)
    noted = any(ln.startswith("note ") for ln in out.splitlines())
    if case.expect == "error":
        return Outcome(
            case, "accepted with a note" if noted else "accepted silently", code, "", seconds
        )
    return Outcome(case, "accepted", code, "", seconds)


def _warm_up(seed: int, workdir: Path) -> None:
    """Validate the unchanged sample once in the parent, so that what the first use loads
    (drivers, lazy imports, compiled schemas: about half of a case's time) is loaded once
    and shared by every fork instead of loaded again in each."""
    folder = workdir / "warm-up"
    config = materialise(Case(-1, "despro.toml", "unchanged", "accept"), seed, folder / "case")
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    try:
        _command(["validate", "--config", str(config)])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


def run_cases(
    cases: list[Case],
    seed: int,
    workdir: Path,
    jobs: int = 2,
    timeout: float = 120.0,
    run_accepted: bool = False,
    keep: bool = False,
    warm: bool = True,
) -> list[Outcome]:
    """Run every case in its own forked process, at most ``jobs`` at a time.

    Parameters
    ----------
    cases : list of Case
        From :func:`benchmarks.fuzz.cases.make_case`.
    seed : int
        The seed the cases were made with (their files depend on it).
    workdir : Path
        Scratch folder; one sub-folder per case, removed unless the case failed or ``keep``.
    jobs : int
        Cases run at once.
    timeout : float
        Seconds a case may take before it is killed (a timeout).
    run_accepted : bool
        Also run the pipeline on the cases validate accepts.
    keep : bool
        Keep every case's folder.
    warm : bool
        Validate the unchanged sample in the parent first (:func:`_warm_up`).

    Returns
    -------
    list of Outcome
        One per case, in the order of ``cases``.
    """
    import despro.cli.main  # noqa: F401  (imported once here, shared by every fork)
    import despro.layers  # noqa: F401
    import despro.pipeline.runner  # noqa: F401

    if warm:
        _warm_up(seed, workdir)

    pending = list(cases)
    running: dict[int, tuple[Case, Path, float]] = {}
    results: dict[int, Outcome] = {}
    while pending or running:
        while pending and len(running) < jobs:
            case = pending.pop(0)
            folder = workdir / case.name
            folder.mkdir(parents=True, exist_ok=True)
            pid = os.fork()
            if pid == 0:  # the child
                code = 1
                try:
                    code = _child(case, seed, folder, run_accepted)
                finally:
                    os._exit(code)
            running[pid] = (case, folder, time.monotonic())
        time.sleep(0.02)
        for pid, (case, folder, start) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.monotonic() - start
            if done == 0 and elapsed < timeout:
                continue
            if done == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                code = None
            else:
                code = os.waitstatus_to_exitcode(status)
            del running[pid]
            res = _classify(case, code, folder, elapsed)
            results[case.index] = res
            if res.outcome not in ("clean error", "accepted", "accepted with a note"):
                print(
                    f"  [{len(results)}/{len(cases)}] {res.outcome}: {case.name} "
                    f"[{case.detail}] {res.message[:140]}",
                    file=sys.stderr,
                    flush=True,
                )
            if not keep and res.outcome in ("clean error", "accepted", "accepted with a note"):
                shutil.rmtree(folder, ignore_errors=True)
    return [results[c.index] for c in cases]


def report(outcomes: list[Outcome]) -> str:
    """The counts per outcome class, overall and per input, and the failing cases."""
    total = Counter(o.outcome for o in outcomes)
    wrong = sum(1 for o in outcomes if o.case.expect == "error")
    controls = sum(1 for o in outcomes if o.case.expect == "accept")
    lines = [f"{len(outcomes)} cases ({wrong} wrong inputs, {controls} valid controls)"]
    lines += [f"  {k:22s} {total.get(k, 0):6d}" for k in CLASSES if total.get(k, 0) or k in BAD]
    if wrong:
        lines.append(
            f"  wrong inputs accepted silently: {100 * total['accepted silently'] / wrong:.2f} %"
        )
    lines.append("per input:")
    for target in sorted({o.case.target for o in outcomes}):
        c = Counter(o.outcome for o in outcomes if o.case.target == target)
        lines.append(f"  {target:28s} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    bad = [
        o
        for o in outcomes
        if o.outcome in (*BAD, "accepted silently", "control rejected", "harness error")
    ]
    if bad:
        lines.append("cases to look at:")
        seen: Counter = Counter()
        for o in bad:
            key = (o.outcome, o.case.target, o.case.kind)
            seen[key] += 1
            if seen[key] <= 2:
                lines.append(f"  {o.outcome}: {o.case.name} [{o.case.detail}] {o.message[:160]}")
        hidden = sum(seen.values()) - sum(min(v, 2) for v in seen.values())
        if hidden:
            lines.append(f"  ... and {hidden} more of the same kinds")
    return "\n".join(lines)


def relabel(records: list[dict], seed: int) -> list[Outcome]:
    """Outcomes of a saved run (``--json``) judged with the current expectations.

    Only the label of a case can change (a variant found to be legitimate); what the
    command did is as recorded.
    """
    out = []
    for r in records:
        case = make_case(seed, r["index"])
        kind = r["outcome"]
        if kind in ("accepted", "accepted silently", "accepted with a note"):
            if case.expect != "error":
                kind = "accepted"
            elif kind == "accepted":
                kind = "accepted silently" if not r.get("noted") else "accepted with a note"
        elif kind in ("clean error", "control rejected"):
            kind = "control rejected" if case.expect == "accept" else "clean error"
        out.append(Outcome(case, kind, r["code"], r["message"], r["seconds"]))
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: make the cases, run them, print the report; 1 on a traceback or timeout."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.fuzz", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--first", type=int, default=0, help="index of the first case")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case")
    ap.add_argument("--run-accepted", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep every case's folder")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument(
        "--cold", action="store_true", help="no warm-up: every fork loads what it uses itself"
    )
    ap.add_argument("--json", type=Path, default=None, help="write every outcome here")
    ap.add_argument(
        "--relabel", type=Path, default=None, help="report a saved --json run with today's labels"
    )
    a = ap.parse_args(argv)
    if a.relabel:
        outcomes = relabel(json.loads(a.relabel.read_text()), a.seed)
        print(report(outcomes))
        return 1 if any(o.outcome in BAD for o in outcomes) else 0
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="despro-fuzz-"))
    cases = [make_case(a.seed, i) for i in range(a.first, a.first + a.cases)]
    start = time.monotonic()
    outcomes = run_cases(
        cases, a.seed, workdir, a.jobs, a.timeout, a.run_accepted, a.keep, not a.cold
    )
    print(report(outcomes))
    print(f"{time.monotonic() - start:.0f} s, {a.jobs} jobs; failing cases kept in {workdir}")
    if a.json:
        a.json.write_text(
            json.dumps(
                [
                    {**asdict(o.case), **{k: v for k, v in asdict(o).items() if k != "case"}}
                    for o in outcomes
                ],
                indent=1,
            )
        )
    return 1 if any(o.outcome in BAD for o in outcomes) else 0
