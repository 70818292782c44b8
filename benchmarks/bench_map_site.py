"""The national map against the folium pages, on the same run in the same process.

Runs a config once (default: the synthetic sample at H3 resolution 10, ~280,000 cells;
``--config examples/indonesia.toml`` for the real national run), then writes both map
sites of that result, each in a forked child (so each one's memory is its own): the
national MapLibre GL map (:func:`despro.mapsite.national.write_national`) and the
folium / Leaflet pages (:func:`despro.mapsite.site.write_site`). Prints per site: wall
and CPU seconds, the child's peak resident memory above the parent's, size on disk, the
number of files and the largest one, and the ratios national / pages.

With ``--browser`` it also opens the national map in headless Chromium (as the browser
tests drive it, over the DevTools pipe, network off) and reports: the time to the first
drawn cells of the overview, the time to draw every res-``resolution`` cell of the view
after zooming from the whole country to the largest regency, the time to open a popup,
and the page's JavaScript heap (Chrome DevTools Protocol ``Performance.getMetrics``).

    python benchmarks/bench_map_site.py [--config PATH] [--resolution 10] [--browser]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from despro.config.settings import load_config
from despro.demo.sample import ensure_sample
from despro.pipeline.runner import run

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure(kind: str, result, folder: Path) -> dict:
    """Write one site in a forked child; its wall / CPU time and peak memory."""
    base = _rss_mb()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child writes the site and reports
        os.close(r)
        t0, c0 = time.perf_counter(), time.process_time()
        if kind == "national":
            from despro.mapsite.national import write_national

            write_national(result, folder, "id")
        else:
            from despro.mapsite.site import write_site

            write_site(result, folder, "id")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        os.write(w, f"{wall} {cpu} {peak}".encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        wall, cpu, peak = map(float, f.read().split())
    os.waitpid(pid, 0)
    files = [p for p in folder.rglob("*") if p.is_file()]
    biggest = max(files, key=lambda p: p.stat().st_size)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "extra_mb": peak - base,
        "disk_mb": sum(p.stat().st_size for p in files) / 1e6,
        "files": len(files),
        "largest_mb": biggest.stat().st_size / 1e6,
        "largest": biggest.relative_to(folder).as_posix(),
    }


def _sample_config(tmp: Path, resolution: int) -> Path:
    data = tmp / "sample"
    shutil.copytree(ensure_sample(None), data)
    toml = data / "despro.toml"
    text = re.sub(
        r"(?m)^resolution = \d+", f"resolution = {resolution}", toml.read_text(encoding="utf-8")
    )
    toml.write_text(text, encoding="utf-8")
    return toml


def browser_metrics(index: Path) -> dict:
    """First drawn cells, zoom to the largest regency at full resolution, popup, heap."""
    sys.path.insert(0, str(REPO))
    from tests.end_to_end.test_maps_browser import Chromium, _chromium_binary

    with tempfile.TemporaryDirectory() as profile:
        b = Chromium(_chromium_binary(), Path(profile), timeout=120)
        try:
            b.call("Performance.enable")
            t0 = time.perf_counter()
            b.call("Page.navigate", url=index.resolve().as_uri())
            while not b.js("!!(window.despro && despro.ready && despro.state.cellsDrawn > 0)"):
                b.pump(0.02)
            first = time.perf_counter() - t0
            # the largest regency (most villages), at the finest level
            k = b.js(
                "(() => { var n = {}; despro.villages.reg.forEach(r => n[r] = (n[r] || 0) + 1);"
                " return +Object.keys(n).sort((a, c) => n[c] - n[a])[0]; })()"
            )
            finest = b.js("despro.site.levels[0].minZoom")
            t0 = time.perf_counter()
            b.js(
                f"(() => {{ var r = despro.villages.regencies[{k}][3];"
                " despro.map.jumpTo({center: [(r[0] + r[2]) / 2, (r[1] + r[3]) / 2],"
                f" zoom: {finest} + 0.1}}); despro.state.cellsDrawn = 0; }})()"
            )
            res = b.js("despro.site.levels[0].res")
            while not (
                b.js(f"despro.state.level === {res} && despro.state.cellsDrawn > 0")
                and b.js("despro.map.loaded() && !Object.keys(despro.pending).length")
            ):
                b.pump(0.02)
            zoom = time.perf_counter() - t0
            t0 = time.perf_counter()
            b.js("despro.openPopup(0)")
            while not b.js("!!document.querySelector('.dg-popup')"):
                b.pump(0.005)
            popup = time.perf_counter() - t0
            metrics = {m["name"]: m["value"] for m in b.call("Performance.getMetrics")["metrics"]}
            return {
                "first_cells_s": first,
                "zoom_to_regency_s": zoom,
                "cells_drawn": b.js("despro.state.cellsDrawn"),
                "popup_s": popup,
                "js_heap_mb": metrics.get("JSHeapUsedSize", 0) / 1e6,
                "errors": b.console_errors(),
            }
        finally:
            b.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, help="a despro.toml (default: the sample)")
    ap.add_argument("--resolution", type=int, default=10, help="for the sample")
    ap.add_argument("--browser", action="store_true", help="also measure in Chromium")
    ap.add_argument("--no-pages", action="store_true", help="skip the folium pages")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        toml = args.config or _sample_config(Path(tmp), args.resolution)
        t0 = time.perf_counter()
        result = run(load_config(toml))
        print(
            f"run: {time.perf_counter() - t0:.1f} s, {result.n_cells:,} cells, "
            f"{len(result.villages):,} villages",
            flush=True,
        )
        out = {}
        for kind in ("national", "pages")[: 1 if args.no_pages else 2]:
            out[kind] = _measure(kind, result, Path(tmp) / kind)
            m = out[kind]
            print(
                f"{kind:9s} wall {m['wall_s']:6.1f} s  cpu {m['cpu_s']:6.1f} s  "
                f"+{m['extra_mb']:6.0f} MB  disk {m['disk_mb']:7.1f} MB in {m['files']} files, "
                f"largest {m['largest_mb']:.2f} MB ({m['largest']})",
                flush=True,
            )
        if "pages" in out:
            n, p = out["national"], out["pages"]
            print(
                f"national / pages: wall {n['wall_s'] / p['wall_s']:.2f}, "
                f"memory {n['extra_mb'] / max(p['extra_mb'], 1):.2f}, "
                f"disk {n['disk_mb'] / p['disk_mb']:.2f}"
            )
        if args.browser:
            m = browser_metrics(Path(tmp) / "national" / "index.html")
            print(
                f"browser: first cells {m['first_cells_s']:.2f} s, zoom to a regency at full "
                f"resolution {m['zoom_to_regency_s']:.2f} s ({m['cells_drawn']:,} cells), "
                f"popup {1000 * m['popup_s']:.0f} ms, JS heap {m['js_heap_mb']:.0f} MB, "
                f"console errors {len(m['errors'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
