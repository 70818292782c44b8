"""Screenshots of a national map for the docs: the overview, a regency at the run's
resolution, a popup, the panel filtered to a province, and the phone view.

    python benchmarks/map_screenshots.py MAPS_DIR [--out docs] [--regency CODE]

``MAPS_DIR`` is a folder written by ``despro run`` (``maps/index.html``); headless
Chromium is driven as the browser tests drive it (DevTools pipe, network off).
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("maps", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--regency", help="regency code (default: the one with most villages)")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.end_to_end.test_maps_browser import Chromium, _chromium_binary

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        b = Chromium(_chromium_binary(), Path(profile), timeout=180)

        def settle(extra: str = "true") -> None:
            b.pump(0.3)
            while not b.js(
                "despro.map.loaded() && !Object.keys(despro.pending).length && " + extra
            ):
                b.pump(0.1)
            b.pump(1.0)

        def shot(name: str) -> None:
            data = b.call("Page.captureScreenshot", format="png")["data"]
            (args.out / name).write_bytes(base64.b64decode(data))
            print(args.out / name)

        try:
            b.call("Page.navigate", url=(args.maps / "index.html").resolve().as_uri())
            while not b.js("!!(window.despro && despro.ready)"):
                b.pump(0.1)
            settle("despro.state.cellsDrawn > 0")
            shot("map_overview.png")
            if args.regency:
                k = b.js(f"despro.villages.regencies.findIndex(r => r[0] === '{args.regency}')")
            else:
                k = b.js(
                    "(() => { var n = {}; despro.villages.reg.forEach(r => n[r] = (n[r] || 0) + 1);"
                    " return +Object.keys(n).sort((a, c) => n[c] - n[a])[0]; })()"
                )
            b.js(
                f"(() => {{ var r = despro.villages.regencies[{k}][3];"
                " despro.map.jumpTo({center: [(r[0] + r[2]) / 2, (r[1] + r[3]) / 2],"
                " zoom: despro.site.levels[0].minZoom + 0.2}); })()"
            )
            settle(f"despro.state.level === {b.js('despro.site.levels[0].res')}")
            shot("map_regency_res8.png")
            i = b.js(
                f"despro.villages.reg.findIndex((r, i) => r === {k} && "
                "despro.villages.s[i].indexOf('f') >= 0)"
            )
            b.js(f"despro.openPopup({max(i, 0)})")
            settle("!!document.querySelector('.dg-popup .dg-rules')")
            shot("map_popup.png")
            b.js("despro.state.popup && despro.state.popup.remove()")
            p = b.js(f"despro.villages.regencies[{k}][2]")
            b.js(f"despro.selectProvince({p})")
            settle()
            shot("map_panel_province.png")
            b.call(
                "Emulation.setDeviceMetricsOverride",
                width=390,
                height=844,
                deviceScaleFactor=2,
                mobile=True,
            )
            b.call("Page.reload")
            while not b.js("!!(window.despro && despro.ready)"):
                b.pump(0.1)
            settle("despro.state.cellsDrawn > 0")
            b.js(f"despro.openPopup({max(i, 0)})")
            settle("!!document.querySelector('.dg-popup .dg-rules')")
            shot("map_phone.png")
        finally:
            b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
