"""The national map in headless Chromium: the issue's browser numbers on a written site.

Opens ``maps_dir/index.html`` from ``file://`` in Debian's headless Chromium (as the
browser tests drive it: DevTools pipe, network off, software WebGL as ``--disable-gpu``
gives) and reports, each over ``--repeat`` fresh tabs (median):

- *first paint*: navigation to the first drawn cells of the whole-country overview, and
  to the map's first ``idle`` (every source tiled and drawn); with the page's own marks
  (``despro.timing``: data decoded, panel built, map loaded, ready);
- *regency zoom*: jump from the country to the largest regency at the finest level;
  the time from the last cell chunk's arrival to the map's ``idle`` with its cells drawn
  (the village outlines are loaded after that idle), and the whole zoom;
- *popup*: ``despro.openPopup`` of the village nearest the centre of the settled
  regency view to the popup in the DOM, and to the end of the next frame (painted),
  timed in the page (the records of the regencies in view are fetched when the view
  settles);
- *memory while panning Java at the finest level*: 12 views from Banten to Banyuwangi,
  each drawn; the JavaScript heap (``Performance.getMetrics``) and the proportional set
  size of every Chromium process (``/proc/<pid>/smaps_rollup``), the peak, and at that
  peak the sum per process type (``--type=`` of each process: ``renderer``, the page
  with MapLibre's workers; ``gpu-process``, software WebGL; ``browser``; ``zygote``;
  ``utility:<service>``).

With ``--profile`` it also samples the CPU (DevTools ``Profiler``) during the first
paint and prints the functions with the most self time.

    python benchmarks/bench_map_browser.py MAPS_DIR [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.end_to_end.test_maps_browser import Chromium, _chromium_binary  # noqa: E402

#: Java from west to east at the finest level (lon, lat)
JAVA = [(106.1 + k * (114.3 - 106.1) / 11, -6.6 - k * (1.6 / 11)) for k in range(12)]


#: every chunk of the view loaded, its cells handed to the map and the map idle since
#: (everything drawn; the outlines come after, on that idle)
CELLS_DRAWN = (
    "despro.state.cellsDrawn > 0 && !Object.keys(despro.pending).some(k => k[0] === 'c')"
    " && despro.state.idleAt > despro.state.drawnAt"
)


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def _kind(pid: int) -> str:
    """A Chromium process's type (``--type=``: renderer, gpu-process, utility, zygote),
    ``browser`` for the main one."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().replace(b"\0", b" ").split()  # its title: one string
    except OSError:
        return "gone"
    for a in args:
        if a.startswith(b"--type="):
            kind = a[7:].decode()
            if kind == "utility":
                for b in args:  # the utility's service: network, storage, audio ...
                    if b.startswith(b"--utility-sub-type="):
                        return "utility:" + b[19:].split(b".")[0].decode()
            return kind
    return "browser"


def pss_by_kind(pid: int) -> dict[str, float]:
    """Proportional set size (MB) of a process and its descendants, per process type."""
    out: dict[str, float] = {}
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                kb = sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except OSError:
            continue
        kind = _kind(p)
        out[kind] = out.get(kind, 0.0) + kb / 1024
    return out


def pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants (MB)."""
    return sum(pss_by_kind(pid).values())


def _wait(b: Chromium, expression: str, step: float = 0.01, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while not b.js(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        b.pump(step)


def first_paint(b: Chromium, index: Path, profile: bool = False) -> dict:
    if profile:
        b.call("Profiler.enable")
        b.call("Profiler.setSamplingInterval", interval=500)
        b.call("Profiler.start")
    t0 = time.perf_counter()
    b.call("Page.navigate", url=index.resolve().as_uri())
    _wait(b, "!!(window.despro && despro.ready && despro.state.cellsDrawn > 0)")
    cells = time.perf_counter() - t0
    _wait(b, "!!(despro.timing && despro.timing.idle)")
    idle = time.perf_counter() - t0
    out = {"first_cells_s": cells, "first_idle_s": idle, "marks": b.js("despro.timing")}
    if profile:
        prof = b.call("Profiler.stop")["profile"]
        out["hot"] = _hot(prof)
    return out


def _hot(prof: dict, n: int = 15) -> list[tuple[str, float]]:
    """Self time per function (ms) from a sampled CPU profile."""
    by_id = {node["id"]: node for node in prof["nodes"]}
    dt = prof.get("timeDeltas", [])
    self_ms: Counter = Counter()
    for sid, d in zip(prof.get("samples", []), dt[1:] + [0], strict=False):
        cf = by_id[sid]["callFrame"]
        name = cf["functionName"] or "(anonymous)"
        where = cf["url"].rsplit("/", 1)[-1]
        self_ms[f"{name} {where}:{cf['lineNumber'] + 1}" if where else name] += d / 1000
    return self_ms.most_common(n)


def regency_zoom(b: Chromium) -> dict:
    k = b.js(
        "(() => { var n = {}; despro.villages.reg.forEach(r => n[r] = (n[r] || 0) + 1);"
        " return +Object.keys(n).sort((a, c) => n[c] - n[a])[0]; })()"
    )
    finest = b.js("despro.site.levels[0].minZoom")
    res = b.js("despro.site.levels[0].res")
    t0 = time.perf_counter()
    b.js(
        f"(() => {{ var r = despro.villages.regencies[{k}][3]; despro.state.cellsDrawn = 0;"
        " despro.state.idleAt = 0; despro.state.lastLoadAt = 0;"
        " despro.map.jumpTo({center: [(r[0] + r[2]) / 2, (r[1] + r[3]) / 2],"
        f" zoom: {finest} + 0.1}}); return 0; }})()"
    )
    _wait(b, f"despro.state.level === {res} && {CELLS_DRAWN}")
    total = time.perf_counter() - t0
    after = b.js("(despro.state.idleAt - despro.state.lastChunkAt) / 1000")
    return {
        "zoom_total_s": total,
        "after_last_chunk_s": after,
        "cells": b.js("despro.state.cellsDrawn"),
        "regency": b.js(f"despro.villages.regencies[{k}][1]"),
    }


def popup(b: Chromium) -> float:
    i = b.js(
        "(() => { var c = despro.map.getCenter(), best = 0, d = 1e9;"
        " for (var i = 0; i < despro.villages.n; i++) { var x = despro.villages.x[i] - c.lng,"
        " y = despro.villages.y[i] - c.lat; if (x * x + y * y < d) { d = x * x + y * y;"
        " best = i; } } return best; })()"
    )
    b.js("document.querySelectorAll('.maplibregl-popup').forEach(p => p.remove()); 0")
    # as a reader clicks: the view settled (the records of its regencies prefetched)
    _wait(b, "!Object.keys(despro.pending).length && !despro.map.isMoving()")
    # in the page: from the call to the popup in the DOM, and to the end of the next
    # frame (a round trip over DevTools to a busy page would add its own wait)
    b.js(
        "window.popupAt = null; var t0 = performance.now();"
        f" despro.openPopup({i}); var t1 = performance.now();"
        " var dom = document.querySelector('.dg-popup') ? t1 - t0 : -1;"
        " requestAnimationFrame(() => setTimeout(() => {"
        " window.popupAt = [dom, performance.now() - t0]; }, 0)); 0"
    )
    _wait(b, "!!window.popupAt", step=0.01)
    dom, frame = b.js("window.popupAt")
    return {"popup_dom_s": dom / 1000, "popup_frame_s": frame / 1000}


def pan_java(b: Chromium) -> dict:
    finest = b.js("despro.site.levels[0].minZoom")
    res = b.js("despro.site.levels[0].res")
    heap, pss, kinds = 0.0, 0.0, {}
    t0 = time.perf_counter()
    for lon, lat in JAVA:
        b.js(
            "despro.state.cellsDrawn = 0; despro.state.idleAt = 0;"
            f"despro.map.jumpTo({{center: [{lon}, {lat}], zoom: {finest} + 0.3}}); 0"
        )
        _wait(b, f"despro.state.level === {res} && {CELLS_DRAWN}")
        m = {x["name"]: x["value"] for x in b.call("Performance.getMetrics")["metrics"]}
        heap = max(heap, m.get("JSHeapUsedSize", 0) / 1e6)
        by = pss_by_kind(b.proc.pid)
        if sum(by.values()) > pss:
            pss, kinds = sum(by.values()), by
    return {
        "pan_s": time.perf_counter() - t0,
        "js_heap_mb": heap,
        "browser_pss_mb": pss,
        "pss_kinds": kinds,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("maps_dir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    index = args.maps_dir / "index.html"
    rows = []
    for k in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            b = Chromium(_chromium_binary(), Path(tmp), timeout=300)
            try:
                b.call("Performance.enable")
                row = first_paint(b, index, profile=args.profile and k == 0)
                row.update(regency_zoom(b))
                row.update(popup(b))
                if k == 0:
                    row.update(pan_java(b))
                row["errors"] = b.console_errors()
                rows.append(row)
                marks = {m: round(v) for m, v in (row["marks"] or {}).items()}
                print(
                    f"run {k + 1}: first cells {row['first_cells_s']:.2f} s, idle "
                    f"{row['first_idle_s']:.2f} s, marks (ms) {marks}; regency zoom "
                    f"{row['zoom_total_s']:.2f} s, {row['after_last_chunk_s']:.2f} s after "
                    f"the last chunk ({row['cells']:,} cells, {row['regency']}); popup in the DOM "
                    f"{1000 * row['popup_dom_s']:.0f} ms, painted "
                    f"{1000 * row['popup_frame_s']:.0f} ms; errors {len(row['errors'])}",
                    flush=True,
                )
                if "hot" in row:
                    for name, ms in row["hot"]:
                        print(f"    {ms:8.0f} ms  {name}")
                if "js_heap_mb" in row:
                    print(
                        f"    panning Java at the finest level: {row['pan_s']:.1f} s for "
                        f"{len(JAVA)} views, peak JS heap {row['js_heap_mb']:.0f} MB, "
                        f"browser processes {row['browser_pss_mb']:.0f} MB (PSS; "
                        + ", ".join(
                            f"{k} {v:.0f}"
                            for k, v in sorted(row["pss_kinds"].items(), key=lambda x: -x[1])
                        )
                        + ")",
                        flush=True,
                    )
            finally:
                b.close()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(
        f"median of {len(rows)}: first cells {med('first_cells_s'):.2f} s, first idle "
        f"{med('first_idle_s'):.2f} s, regency zoom {med('zoom_total_s'):.2f} s "
        f"({med('after_last_chunk_s'):.2f} s after the last chunk), popup in the DOM "
        f"{1000 * med('popup_dom_s'):.0f} ms, painted {1000 * med('popup_frame_s'):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
