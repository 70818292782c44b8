"""The map site in a real browser: Debian's headless Chromium, with the network closed.

Chromium is driven over the Chrome DevTools Protocol on a pipe (``--remote-debugging-pipe``):
no driver binary, no port, nothing to download. Every page is loaded from ``file://`` with
network emulation set offline and a dead proxy, and any request to a non-file URL is
recorded (there must be none). Without Chromium the browser tests skip, except under
``CI=true`` where they fail (``.ci/run`` installs ``chromium``).
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import html
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from despro.config.settings import load_config
from despro.errors import DesproError
from despro.grid import cells as grid
from despro.mapsite import analysis as mapanalysis
from despro.mapsite import data as mapdata
from despro.mapsite import pages as mappages
from despro.mapsite.labels import LABELS
from despro.mapsite.site import write_map, write_site
from despro.pipeline.job import run_job
from despro.pipeline.runner import run
from despro.select.pilots import plan_pilots
from despro.transfer.rollup import group_additive

XSS = "<img src=x onerror=alert(1)>"
TEMPLATE = "{{ 7*7 }} {% raw %}"  # must not act as template syntax when the page is built
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
)


class Chromium:
    """One headless Chromium tab driven over the DevTools protocol (pipe transport)."""

    def __init__(self, binary: str, profile: Path, timeout: float = 20.0):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # move the child's ends above fd 10 so that dup2 onto 3 and 4 cannot clobber them
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)

        def pipes_on_3_and_4():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_ARGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=pipes_on_3_and_4,
        )
        for fd in (to_chrome_r, from_chrome_w, child_r, child_w):
            os.close(fd)
        self.wfd, self.rfd = to_chrome_w, from_chrome_r
        self.timeout = timeout
        self.buf = b""
        self.next_id = 0
        self.session: str | None = None
        self.events: list[dict] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _send(self, method: str, params: dict, session: str | None) -> int:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.rfd], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw)

    def _event(self, msg: dict) -> None:
        self.events.append(msg)
        method, params = msg["method"], msg.get("params", {})
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            self._send("Page.handleJavaScriptDialog", {"accept": True}, msg.get("sessionId"))
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:", "blob:")):  # blob: in memory
                self.requests.append(url)

    def call(self, method: str, **params) -> dict:
        """Send one command and return its result; events meanwhile are recorded."""
        wanted = self._send(method, params, self.session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._receive(deadline)
            if "method" in msg:
                self._event(msg)
            elif msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def pump(self, seconds: float) -> None:
        """Record events for ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                msg = self._receive(deadline)
                if "method" in msg:
                    self._event(msg)
        except TimeoutError:
            pass

    def js(self, expression: str):
        """Evaluate ``expression`` in the page and return its JSON value."""
        res = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in res:
            raise AssertionError(f"{expression!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open(self, path: Path, fragment: str = "") -> None:
        """Load a page (``#fragment`` appended when given) and wait until despro.js has
        finished setting up the map."""
        self.events.clear()
        self.dialogs.clear()
        self.requests.clear()
        self.call("Page.navigate", url=Path(path).resolve().as_uri() + fragment)
        deadline = time.monotonic() + self.timeout
        while not self.js("!!(window.despro && window.despro.map)"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not finish loading")
            self.pump(0.1)
        self.pump(0.3)

    def click(self, x: float, y: float) -> None:
        """A real left click at viewport pixel (x, y)."""
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        self.pump(0.3)

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads since the page was opened."""
        out = []
        for m in self.events:
            p = m.get("params", {})
            if m["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p["exceptionDetails"])[:500])
            elif m["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append(json.dumps(p["args"])[:500])
            elif m["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(p["entry"]["text"])
        return out

    def screenshot(self) -> Image.Image:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def close(self) -> None:
        try:
            self._send("Browser.close", {}, None)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.wfd)
        os.close(self.rfd)


def _chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        msg = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Chromium(_chromium_binary(), tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    """The demo's run (tables and pilots as ``despro demo`` writes them) drawn as the
    folium / Leaflet pages (``write_map(kind="pages")``, the site for notebooks and small
    runs; ``despro demo`` itself writes the national map, tested in test_national_map)."""
    from tests.conftest import SAMPLE

    out = tmp_path_factory.mktemp("demo")
    job = run_job(SAMPLE / "despro.toml", out / "output", select=True, maps=False)
    write_map(
        job.result, out / "maps", "id", analysis=mapanalysis.from_plan(job.plan), kind="pages"
    )
    return out / "maps"


@pytest.fixture(scope="module")
def xss_site(tmp_path_factory) -> tuple[Path, str]:
    """A run whose first village is named like an HTML injection (the second like template
    syntax); the province page and the first village's code."""
    from tests.conftest import SAMPLE

    data = tmp_path_factory.mktemp("xss") / "sample"
    shutil.copytree(SAMPLE, data)
    v = gpd.read_file(data / "villages.gpkg", layer="villages")
    v.loc[0, "village_name"] = XSS
    v.loc[1, "village_name"] = TEMPLATE
    v.to_file(data / "villages.gpkg", layer="villages", driver="GPKG")
    result = run(load_config(data / "despro.toml"))
    code = result.villages.index[result.villages["village_name"] == XSS][0]
    site = write_site(result, data.parent / "maps", "en")
    return site.pages[1].path, code


def _pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def _open_popup_by_click(browser: Chromium, code: str) -> str:
    """Zoom to a village, click its marker with the mouse, return the popup's HTML."""
    browser.js(
        f"despro.map.setView(despro.markers[{json.dumps(code)}].getLatLng(), 15, "
        "{animate: false}); true"
    )
    browser.pump(0.3)
    x, y = browser.js(
        f"(function () {{ var p = despro.map.latLngToContainerPoint("
        f"despro.markers[{json.dumps(code)}].getLatLng());"
        "var r = despro.map.getContainer().getBoundingClientRect();"
        "return [r.left + p.x, r.top + p.y]; })()"
    )
    browser.click(x, y)
    return browser.js("(document.querySelector('.leaflet-popup-content') || {}).innerHTML || ''")


# --- without a browser ------------------------------------------------------------------


def test_demo_site_links_only_local_files(demo_site):
    assert [p.name for p in _pages(demo_site)] == ["index.html", "province-34.html"]
    for page in _pages(demo_site):
        text = page.read_text(encoding="utf-8")
        for tag, attr in (("script", "src"), ("link", "href")):
            for url in _attributes(text, tag, attr):
                assert not url.startswith(("http:", "https:", "//")), url
                assert (demo_site / url).is_file(), url
        assert (demo_site / f"{page.stem}_summary.png").stat().st_size > 5000
        assert page.stat().st_size <= 15e6


def _attributes(text: str, tag: str, attr: str) -> list[str]:
    return re.findall(rf"<{tag}[^>]*\s{attr}=\"([^\"]+)\"", text)


def test_size_budget_rolls_cells_up_exactly(sample_result, tmp_path):
    full = write_site(sample_result, tmp_path / "full", "en")
    small = write_site(sample_result, tmp_path / "small", "en", budget_mb=0.3)
    province = next(p for p in small.pages if p.slug == "province-34")  # split, rolled up
    assert full.pages[1].res == 8 and province.res < 8
    text = full.pages[1].path.read_text(encoding="utf-8")
    assert "Readiness score (0-100)" in text and "Skor kesiapan" not in text  # --lang en
    assert province.size_bytes <= 0.3e6 < full.pages[1].size_bytes
    # the rolled-up rate is the ratio of the summed numerators and denominators
    add, variables = mapdata.cell_additive(sample_result)
    ids = sample_result.cells["h3_int"].to_numpy(np.uint64)
    table = mapdata.page_cells(add, ids, variables, province.res)
    sums = group_additive(add, grid.parent_cells(ids, province.res), variables)
    var = "pct_households_internet"
    expected = 100 * sums[f"{var}__num"] / sums[f"{var}__den"]
    assert np.allclose(table[var], expected, equal_nan=True)
    assert table["courier_outlets"].sum() == pytest.approx(
        sample_result.cells.filter(like="courier_outlets__").to_numpy().sum()
    )
    with pytest.raises(DesproError, match="budget"):
        write_site(sample_result, tmp_path / "tiny", "en", budget_mb=0.01)


def test_xss_name_is_escaped_in_the_html(xss_site):
    page, _ = xss_site
    text = page.read_text(encoding="utf-8")
    assert XSS not in text and "onerror=alert" in text.replace("\\u003c", "<")


# --- in Chromium ------------------------------------------------------------------------


@pytest.mark.browser
def test_every_demo_page_loads_offline_without_console_errors(browser, demo_site):
    for page in _pages(demo_site):
        browser.open(page)
        assert browser.console_errors() == [], page.name
        assert browser.requests == [], page.name
        assert browser.js("document.querySelectorAll('path.despro-village').length") > 0


@pytest.mark.browser
def test_layer_control_lists_every_layer(browser, demo_site):
    t = LABELS["id"]
    expected = [
        t["osm"],
        t["no_basemap"],
        t["outlines"],
        *(t[c.key] for c in mapdata.choropleths()),
        t["backbone_routes"],
        t["backbone_nodes"],
        t["outlets"],
        t["clusters"],
        t["agents"],
        t["villages"],
        t["shortlist"],
        t["pilots"],
    ]
    for page in _pages(demo_site)[::-1]:
        browser.open(page)
        labels = browser.js(
            "Array.from(document.querySelectorAll("
            "'.leaflet-control-layers label')).map(l => l.textContent.trim())"
        )
        assert labels == expected, page.name
    # every colour scale has a legend, shown with its layer (overview: fewest cells)
    browser.js(
        "document.querySelectorAll('.leaflet-control-layers-overlays input')"
        ".forEach(i => { if (!i.checked) i.click(); }); true"
    )
    legend = browser.js("document.querySelector('.despro-legend').textContent")
    for c in mapdata.choropleths():
        assert t[c.key] in legend
    assert browser.console_errors() == []


@pytest.mark.browser
def test_pages_open_on_the_tiers_and_hatch_scores_from_incomplete_data(
    browser, demo_site, sample_result
):
    t = LABELS["id"]
    checked = (
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".filter(l => l.querySelector('input').checked).map(l => l.textContent.trim())"
    )
    for page in _pages(demo_site):
        browser.open(page)
        shown = browser.js(checked)
        assert t["tier_cells"] in shown and t["villages"] in shown, page.name
        assert t["score"] not in shown, page.name
    # the demo has undetermined villages: turning the score on hatches their cells
    v = sample_result.villages
    assert (v["score_known_share"] < 1).any()
    browser.open(demo_site / "province-34.html")
    browser.js(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        f".find(l => l.textContent.trim() === {json.dumps(t['score'])})"
        ".querySelector('input').click(); true"
    )
    browser.pump(0.3)
    assert browser.js("despro.incompleteCells.score") > 0
    legend = browser.js("document.querySelector('.despro-legend').textContent")
    assert t["score_incomplete"] in legend
    assert browser.console_errors() == []
    # a village with missing data shows its score with the range it could reach
    code = v.index[v["tier"] == "undetermined"][0]
    popup = _open_popup_by_click(browser, code)
    assert "jika data lengkap" in popup and "bobot diketahui" in popup


@pytest.mark.browser
def test_clicking_a_village_opens_its_criteria_popup(browser, demo_site, sample_result):
    v = sample_result.villages
    code = v.index[v["tier"] == "not ready"][0]
    browser.open(demo_site / "province-34.html")
    popup = _open_popup_by_click(browser, code)
    assert code in popup and "Kriteria" in popup and "Ambang" in popup
    for rule in sample_result.config.criteria.rules:
        assert f">{rule.id} " in popup
    text = browser.js("document.querySelector('.leaflet-popup-content').textContent")
    assert "perlu +" in text  # a failed rule says how far it is from its threshold
    assert f"Peringkat: {int(v.loc[code, 'rank'])}" in text
    assert "Daftar pendek: tidak" in text


@pytest.mark.browser
def test_screenshot_is_not_blank(browser, demo_site):
    browser.open(demo_site / "index.html")
    img = browser.screenshot()
    counts = [n for n, _ in img.getcolors(maxcolors=img.width * img.height)]
    assert len(counts) > 30
    assert max(counts) / sum(counts) < 0.8  # the background covers less than 80 %


@pytest.mark.browser
def test_village_named_like_html_shows_as_text_and_fires_nothing(browser, xss_site):
    page, code = xss_site
    browser.open(page)
    popup = _open_popup_by_click(browser, code)
    assert "&lt;img src=x onerror=alert(1)&gt;" in popup
    assert browser.js("document.querySelector('.despro-name').textContent") == XSS
    assert browser.js("document.querySelectorAll('.leaflet-popup-content img').length") == 0
    browser.js(
        "var i = document.querySelector('.despro-search input'); i.value = '<img';"
        "i.dispatchEvent(new Event('input')); true"
    )
    hits = browser.js(
        "Array.from(document.querySelectorAll('.despro-hit')).map(li => li.textContent)"
    )
    assert hits and hits[0].startswith(XSS)
    assert browser.js("document.querySelectorAll('.despro-search img').length") == 0
    names = browser.js("despro_data.villages.map(v => v[3])")
    assert html.escape(TEMPLATE) in names
    browser.pump(0.5)
    assert browser.dialogs == []
    assert browser.console_errors() == []


# --- province split into regency pages ---------------------------------------------------

SPLIT_BUDGET_MB = 0.5  # the sample's province page is about 0.8 MB: over it, so split


@pytest.fixture(scope="module")
def split_site(tmp_path_factory, sample_result):
    """The sample with a budget its province page exceeds, regency names like HTML, and
    overviews limited to 40 villages (so the search must link to other pages)."""
    v = sample_result.villages.copy()
    v["regency_name"] = [f"{XSS} {c}" for c in v["regency_code"]]
    result = dataclasses.replace(sample_result, villages=v)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mappages, "OVERVIEW_MAX_VILLAGES", 40)
        return write_site(
            result, tmp_path_factory.mktemp("split") / "maps", "en", budget_mb=SPLIT_BUDGET_MB
        )


def test_oversized_province_links_full_resolution_regency_pages(split_site, sample_result):
    v = sample_result.villages
    slugs = [p.slug for p in split_site.pages]
    regencies = sorted(v["regency_code"].unique())
    assert slugs == ["index", *(f"regency-{c}" for c in regencies), "province-34"]
    pages = {p.slug: p for p in split_site.pages}
    res = sample_result.config.run.resolution
    province = pages["province-34"]
    assert province.res < res and province.links == ["index", *slugs[1:-1]]
    for c in regencies:
        page = pages[f"regency-{c}"]
        assert page.res == res and page.links == ["province-34"]
        assert sorted(page.village_codes) == sorted(v.index[v["regency_code"] == c])
        text = page.path.read_text(encoding="utf-8")
        assert XSS not in text and html.escape(f"{XSS} {c}").replace("&", "\\u0026") in text
    for p in split_site.pages:
        assert p.size_bytes == p.path.stat().st_size <= split_site.budget_bytes
        assert (split_site.maps_dir / f"{p.slug}_summary.png").is_file()
    # every village is on exactly one full-resolution page; overviews draw the notable ones
    full = [c for p in split_site.pages if p.res == res for c in p.village_codes]
    assert sorted(full) == sorted(v.index)
    assert len(pages["index"].village_codes) < len(v)


def test_a_site_written_again_drops_pages_it_no_longer_has(split_site, sample_result, tmp_path):
    maps = tmp_path / "maps"
    shutil.copytree(split_site.maps_dir, maps)
    site = write_site(sample_result, maps, "en")  # the province fits the default budget
    assert sorted(p.name for p in maps.glob("*.html")) == ["index.html", "province-34.html"]
    assert sorted(p.name for p in maps.glob("*.png")) == sorted(p.png.name for p in site.pages)


@pytest.mark.browser
def test_split_pages_load_and_search_links_to_the_regency_page(browser, split_site, sample_result):
    for page in _pages(split_site.maps_dir):
        browser.open(page)
        assert browser.console_errors() == [] and browser.requests == [], page.name
        assert browser.dialogs == [], page.name  # regency names like HTML stay text
    pages = {p.slug: p for p in split_site.pages}
    shown = set(pages["province-34"].village_codes)
    v = sample_result.villages
    code = next(c for c in v.index if c not in shown)
    name, regency = v.loc[code, "village_name"], v.loc[code, "regency_code"]
    browser.open(pages["province-34"].path)
    links = browser.js(
        "Array.from(document.querySelectorAll('.despro-nav a')).map(a => a.getAttribute('href'))"
    )
    assert links == ["index.html", *(f"{s}.html" for s in pages if s.startswith("regency-"))]
    assert XSS in browser.js("document.querySelector('.despro-nav').textContent")
    assert browser.js("document.querySelectorAll('.despro-nav img').length") == 0
    browser.js(
        f"var i = document.querySelector('.despro-search input'); "
        f"i.value = {json.dumps(name)}; i.dispatchEvent(new Event('input')); true"
    )
    hrefs = browser.js(
        "Array.from(document.querySelectorAll('.despro-far a')).map(a => a.getAttribute('href'))"
    )
    target = f"regency-{regency}.html#v={code}"
    assert target in hrefs
    browser.open(split_site.maps_dir / f"regency-{regency}.html", f"#v={code}")
    popup = browser.js("(document.querySelector('.leaflet-popup-content') || {}).innerHTML")
    assert popup and f"({code})" in popup
    assert browser.console_errors() == []


# --- pilot analysis layers: clusters, agents, imputed values -----------------------------


@pytest.fixture(scope="module")
def analysis_site(tmp_path_factory, sample_result):
    """The sample's map site with the pilot plan of ``despro select --use-imputed``."""
    sel = sample_result.config.selection.model_copy(update={"use_imputed": True})
    plan = plan_pilots(sample_result, sel, marginal=False)
    site = write_site(
        sample_result,
        tmp_path_factory.mktemp("plan") / "maps",
        "id",
        analysis=mapanalysis.from_plan(plan),
    )
    return site, plan


def _click_at(browser: Chromium, latlng_js: str) -> str:
    """Click the map at a LatLng (a JS expression) and return the open popup's HTML."""
    x, y = browser.js(
        f"(function () {{ var ll = {latlng_js}; despro.map.setView(ll, 14, {{animate: false}});"
        "var p = despro.map.latLngToContainerPoint(ll);"
        "var r = despro.map.getContainer().getBoundingClientRect();"
        "return [r.left + p.x, r.top + p.y]; })()"
    )
    browser.pump(0.3)
    browser.click(x, y)
    return browser.js("(document.querySelector('.leaflet-popup-content') || {}).innerHTML || ''")


def _hide(browser: Chromium, *layers: str) -> None:
    browser.js(
        "despro.map.closePopup(); "
        + " ".join(
            f"despro.map.eachLayer(function (l) {{ if ({x}) despro.map.removeLayer(l); }});"
            for x in layers
        )
        + " true"
    )


@pytest.mark.browser
def test_analysis_layers_are_listed_and_their_popups_open(browser, analysis_site):
    site, plan = analysis_site
    t = LABELS["id"]
    browser.open(site.pages[1].path)
    assert browser.console_errors() == [] and browser.requests == []
    labels = browser.js(
        "Array.from(document.querySelectorAll("
        "'.leaflet-control-layers label')).map(l => l.textContent.trim())"
    )
    assert labels[-5:] == [t["clusters"], t["agents"], t["villages"], t["shortlist"], t["pilots"]]
    village_layers = "l.options && /despro-village/.test(l.options.className || '')"
    _hide(browser, village_layers, "l.options && l.options.className === 'despro-agent'")
    first = plan.clusters.iloc[0]
    popup = _click_at(browser, "despro.clusters.getLayers()[0].getCenter()")
    assert f"Klaster {first['cluster_id']}" in popup
    assert f"{int(first['n_villages'])} desa" in popup
    assert html.escape(str(first["products"]).split(";")[0]) in popup
    browser.open(site.pages[1].path)
    _hide(browser, village_layers, "l.options && l.options.className === 'despro-cluster'")
    agent = plan.agents.agents.iloc[0]
    popup = _click_at(browser, "despro.agents.getLayers()[1].getLatLng()")
    assert f"Agen {agent['agent_id']}" in popup
    names = plan.agents.agents  # every covered village is listed by code
    for code in str(agent["villages_covered"]).split(";"):
        assert f"({code})" in popup
    assert len(names) >= 1 and browser.console_errors() == []


@pytest.mark.browser
def test_demo_draws_the_chosen_pilots_in_pick_order(browser, demo_site):
    """`despro demo` chooses the pilots: one numbered marker per pick, its popup explains it."""
    picks = pd.read_csv(
        demo_site.parent / "output" / "selection" / "shortlist_optimised.csv",
        dtype={"village_code": str},
    )
    assert len(picks) == 10
    browser.open(demo_site / "province-34.html")
    numbers = browser.js(
        "Array.from(document.querySelectorAll('.despro-pilot')).map(m => m.textContent)"
    )
    assert sorted(numbers, key=int) == [str(i) for i in range(1, 11)]
    _hide(
        browser,
        "l.options && /despro-village|despro-agent|despro-cluster/.test(l.options.className || '')",
    )
    first = picks.sort_values("pick").iloc[0]
    popup = _click_at(
        browser, "despro.pilots.getLayers().find(m => m.options.title === '1').getLatLng()"
    )
    assert "Pilot 1</b>" in popup and f"({first['village_code']})" in popup
    assert html.escape(first["village_name"]) in popup
    share = f"{100 * first['weight_share']:.0f} %"
    assert share in popup and "skenario bobot" in popup
    assert f"Agen {first['agent_id']}" in popup
    assert browser.console_errors() == []


@pytest.mark.browser
def test_imputed_village_popup_flags_the_imputed_value(browser, analysis_site, sample_result):
    site, plan = analysis_site
    t = LABELS["id"]
    imputed = plan.imputed[plan.imputed["imputed"]]
    code = imputed.index[imputed["imputed_rules"].str.contains("=pass")][0]
    rule = imputed.loc[code, "imputed_rules"].split(";")[0].split("=")[0]
    browser.open(site.pages[1].path)
    assert (
        browser.js(f"despro.markers[{json.dumps(code)}].options.className")
        == "despro-village despro-imputed-marker"
    )
    popup = _open_popup_by_click(browser, code)
    assert t["imputed_note"] in popup and t["imputed"] in popup
    row = browser.js(
        "Array.from(document.querySelectorAll('.despro-criteria tr')).map(r => r.textContent)"
        f".find(x => x.startsWith({json.dumps(rule + ' ')}))"
    )
    # the run's state stays unknown; the imputed pass is shown as imputed, beside it
    assert sample_result.villages.loc[code, f"{rule}_state"] == "unknown"
    assert t["unknown"] in row and f"{t['imputed']}:" in row
    assert row.index(t["unknown"]) < row.index(t["imputed"])
    # a village without imputation has no flag
    other = sample_result.villages.index.difference(imputed.index)[0]
    popup = _open_popup_by_click(browser, other)
    assert t["imputed"] not in popup and browser.console_errors() == []
