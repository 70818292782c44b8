"""The whole national run as a user starts it, against the budget (<= 90 s, <= 6 GB).

    python benchmarks/national_run.py                 # examples/indonesia.toml, cold
    python benchmarks/national_run.py --prefix 15     # one province (Jambi)

Needs ``../shared/data``. Runs ``despro run --config examples/indonesia.toml --quiet``
(pipeline, tables and map site; no step cache, so every run is cold) under
``/usr/bin/time -v`` into a temporary folder, and meanwhile samples the memory of the
whole process tree (the run, the model's worker, the forked map writer) every 0.2 s
from ``/proc/<pid>/smaps_rollup``.

Prints wall time, user and system CPU (all processes), ``/usr/bin/time``'s maximum
resident set size (the largest single process; a forked child counts the pages it
shares with its parent), and the peak of the tree's summed proportional set size (PSS:
shared pages split between the processes sharing them, so the sum is what the run
occupies). The baseline of the ratio is the budget itself (90 s, 6 GB).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S, BUDGET_GB = 90.0, 6.0


def _children(pid: int) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(int(p.name))
    return out


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def _pss_kb(pid: int) -> int:
    try:
        text = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return 0
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", default="", help="Kemendagri code prefix (default: all)")
    a = ap.parse_args()
    if not (REPO.parent / "shared" / "data").is_dir():
        raise SystemExit("needs ../shared/data beside the repository")
    # the despro of this interpreter's environment first (a venv not activated)
    here = Path(sys.executable).parent / "despro"
    despro = (
        str(here)
        if here.exists()
        else shutil.which("despro") or sys.exit("despro is not installed (pip install -e .)")
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = REPO / "examples" / "indonesia.toml"
        if a.prefix:  # a copy naming the same files, restricted to one area
            data = tomllib.loads(config.read_text())
            text = config.read_text().replace(
                "[villages]", f'[villages]\ncode_prefix = "{a.prefix}"', 1
            )
            assert "code_prefix" not in data["villages"], "the example already has a prefix"
            config = REPO / "examples" / f".national_run_{a.prefix}.toml"
            config.write_text(text)
        cmd = [
            "/usr/bin/time",
            "-v",
            despro,
            "run",
            "--config",
            str(config),
            "--output-dir",
            f"{tmp}/output",
            "--maps-dir",
            f"{tmp}/maps",
            "--quiet",
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak = [0]

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], sum(_pss_kb(p) for p in _tree(proc.pid)))
                time.sleep(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        th.join()
        if a.prefix:
            config.unlink(missing_ok=True)
        if proc.returncode:
            raise SystemExit(err[-3000:])
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.+)", err)
        return m.group(1).strip() if m else "?"

    user, system = float(field("User time (seconds)")), float(field("System time (seconds)"))
    rss_gb = int(field("Maximum resident set size (kbytes)")) / 2**20
    pss_gb = peak[0] / 2**20
    where = f" (code_prefix {a.prefix})" if a.prefix else ""
    print(f"despro run --config examples/indonesia.toml{where}")
    print(
        "| wall s | vs 90 s | user + sys CPU s | max RSS GB | peak PSS of the tree GB "
        "| vs 6 GB | outputs MB |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {wall:.1f} | {wall / BUDGET_S:.2f} | {user:.0f} + {system:.0f} | {rss_gb:.2f} | "
        f"{pss_gb:.2f} | {max(rss_gb, pss_gb) / BUDGET_GB:.2f} | {size:,.0f} |"
    )


if __name__ == "__main__":
    main()
