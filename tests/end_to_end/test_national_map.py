"""The national map (despro.mapsite.national) in a real browser: Debian's headless Chromium
over the DevTools pipe, network closed, pages opened from ``file://`` (see
test_maps_browser for the driver)."""

from __future__ import annotations

import base64
import html
import io
import re
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from despro.cli.main import main
from despro.config.settings import load_config
from despro.config.vocab import TIERS
from despro.mapsite.gl_labels import GL_LABELS
from despro.mapsite.labels import LABELS
from despro.mapsite.national import write_national
from despro.pipeline.runner import run
from tests.end_to_end.test_maps_browser import XSS, Chromium, _chromium_binary

BIDI = "\u202egnp.exe"
FORMULA = '=HYPERLINK("http://x","y")'


class Browser(Chromium):
    def ready(self, path: Path, fragment: str = "") -> None:
        """Open ``path`` and wait until the map is set up and its first cells are drawn."""
        self.events.clear()
        self.dialogs.clear()
        self.requests.clear()
        self.call("Page.navigate", url=Path(path).resolve().as_uri() + fragment)
        self.wait("!!(window.despro && despro.ready && despro.state.cellsDrawn > 0)")

    def wait(self, expression: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.js(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            self.pump(0.1)

    def network(self) -> list[str]:
        """Requests to anything but files, data: and blob: URLs (MapLibre's worker)."""
        return self.requests


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(_chromium_binary(), tmp_path_factory.mktemp("profile"), timeout=60)
    yield b
    b.close()


@pytest.fixture(scope="module")
def national_demo(tmp_path_factory) -> Path:
    """The map exactly as ``despro demo`` writes it."""
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(
        main,
        ["demo", "--output-dir", str(out / "output"), "--maps-dir", str(out / "maps"), "--quiet"],
    )
    assert res.exit_code == 0, res.output
    return out / "maps"


@pytest.fixture(scope="module")
def villages(national_demo) -> pd.DataFrame:
    return pd.read_parquet(national_demo.parent / "output" / "villages.parquet")


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The sample with villages named like HTML, a right-to-left override and a formula."""
    import shutil

    from tests.conftest import SAMPLE

    data = tmp_path_factory.mktemp("adv") / "sample"
    shutil.copytree(SAMPLE, data)
    v = gpd.read_file(data / "villages.gpkg", layer="villages")
    v.loc[0, "village_name"] = XSS
    v.loc[1, "village_name"] = BIDI
    v.loc[2, "village_name"] = FORMULA
    v.to_file(data / "villages.gpkg", layer="villages", driver="GPKG")
    # kecamatan names for the search (the sample's code list has none): PP.RR.DD
    codes = sorted({c.replace(".", "")[:6] for c in v["village_code"].astype(str)})
    with (data / "admin_codes.csv").open("a", encoding="utf-8") as f:
        for k, c in enumerate(codes):
            f.write(f"{c[:2]}.{c[2:4]}.{c[4:6]},Kecamatan Uji {k}\n")
    result = run(load_config(data / "despro.toml"))
    return write_national(result, data.parent / "maps", "en"), result.villages


@pytest.fixture(scope="module")
def max_rule_site(tmp_path_factory) -> tuple[Path, pd.DataFrame, dict]:
    """The sample with X2 (distance to the backbone, a ``<=`` rule) made a gate rule of
    3 km: many villages are bound by a distance that must fall."""
    from tests.conftest import SAMPLE

    cfg = load_config(SAMPLE / "despro.toml")
    rules = [
        r.model_copy(update={"role": "gate", "criterion": "I1", "threshold": 3000.0})
        if r.id == "X2"
        else r
        for r in cfg.criteria.rules
    ]
    cfg = cfg.model_copy(update={"criteria": cfg.criteria.model_copy(update={"rules": rules})})
    result = run(cfg)
    index = write_national(result, tmp_path_factory.mktemp("maxrule") / "maps", "id")
    return index, result.villages, {r.id: r for r in rules}


def _wait_popup(browser: Browser, code: str) -> None:
    browser.wait(
        "!!document.querySelector('.dg-popup') && document.querySelector("
        f"'.dg-popup .dg-name').textContent.indexOf('{code}') >= 0"
    )


def _int(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_the_demo_site_is_small_and_links_only_local_files(national_demo):
    index = (national_demo / "index.html").read_text(encoding="utf-8")
    assert '<html lang="id">' in index
    for url in re.findall(r'(?:src|href)="([^"]+)"', index):
        assert not url.startswith(("http:", "https:", "//")), url
        assert (national_demo / url).is_file(), url
    size = sum(f.stat().st_size for f in national_demo.rglob("*") if f.is_file())
    assert size <= 5e6
    assert not list(national_demo.glob("province-*.html"))


@pytest.mark.browser
def test_opens_from_file_with_no_console_error_and_no_network(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    assert browser.console_errors() == []
    assert browser.network() == []
    assert browser.dialogs == []
    drawn = browser.js("despro.shownVillages().length")
    assert drawn == len(villages)
    assert browser.js("document.documentElement.lang") == "id"


@pytest.mark.browser
def test_panel_counts_equal_the_villages_table(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    expected = villages["tier"].value_counts().reindex(list(TIERS), fill_value=0).tolist()
    shown = browser.js(
        "Array.from(document.querySelectorAll('#dg-all .dg-n')).map(e => e.textContent)"
    )
    assert [_int(x) for x in shown] == expected
    by_province = browser.js(
        "Array.from(document.querySelectorAll('#dg-places tr.dg-place')).map(r => "
        "Array.from(r.querySelectorAll('.dg-n')).map(e => e.textContent))"
    )
    per = villages.groupby("province_code")["tier"].value_counts().unstack(fill_value=0)
    per = per.reindex(columns=list(TIERS), fill_value=0)
    assert [[_int(x) for x in row] for row in by_province] == per.to_numpy().tolist()
    # what binds most often: the binding rule's counts (despro.rules.explain)
    ids = browser.js("despro.site.rules.map(r => r.id)")
    binds = browser.js("despro.counts(false).bind")
    got = {ids[int(k)]: n for k, n in binds.items()}
    assert got == villages["binding_rule"].dropna().value_counts().to_dict()
    assert browser.js("document.querySelectorAll('#dg-binding tr').length") == len(got)


@pytest.mark.browser
def test_a_filter_hides_what_it_should_and_export_has_its_rows(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    keep = TIERS.index("not ready")
    for k in range(len(TIERS)):
        if k != keep:
            browser.js(f"document.querySelector('.dg-f-tier[value=\"{k}\"]').click()")
    rule = "I3"
    index = browser.js(f"despro.site.rules.findIndex(r => r.id === '{rule}')")
    browser.js(
        f"var s = document.getElementById('dg-f-rule'); s.value = '{index}';"
        "s.dispatchEvent(new Event('change', {bubbles: true}))"
    )
    want = villages[(villages["tier"] == "not ready") & (villages[f"{rule}_state"] == "fail")]
    assert 0 < len(want) < len(villages)
    shown = browser.js("despro.shownVillages()")
    codes = browser.js("despro.villages.code")
    assert sorted(html.unescape(codes[i]) for i in shown) == sorted(want["village_code"])
    browser.js("despro.exportSelection('csv')")
    lines = browser.js("despro.lastExport").strip().split("\n")
    assert len(lines) - 1 == len(want)
    assert {ln.split(",")[0] for ln in lines[1:]} == set(want["village_code"])
    assert browser.console_errors() == []


@pytest.mark.browser
def test_a_table_row_flies_to_its_village_and_opens_its_popup(browser, national_demo):
    browser.ready(national_demo / "index.html")
    code = browser.js("document.querySelector('.dg-list tr[data-i]').getAttribute('data-i')")
    browser.js("document.querySelector('.dg-list tr[data-i] td:nth-child(2)').click()")
    browser.wait("!!document.querySelector('.dg-popup')")
    i = int(code)
    name = browser.js(f"despro.villages.name[{i}]")
    assert name in browser.js("document.querySelector('.dg-popup .dg-name').innerHTML")
    browser.wait("!despro.map.isMoving()")
    at = browser.js(
        f"(() => {{ var p = despro.map.project([despro.villages.x[{i}], despro.villages.y[{i}]]);"
        " var c = despro.map.getContainer();"
        " return [p.x / c.clientWidth, p.y / c.clientHeight]; })()"
    )
    assert 0.4 < at[0] < 0.6 and 0.5 < at[1] < 1  # centred, low in the view under its popup
    assert browser.js("despro.map.getZoom()") >= 12


@pytest.mark.browser
def test_popup_headline_puts_the_binding_rule_first(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    failing = villages[(villages["binding_kind"] == "fail")]
    waiting = failing[failing["data_needed"].fillna("") != ""]
    failing = pd.concat([failing.iloc[:4], waiting.iloc[:2]])
    assert len(failing)
    for _, v in failing.iterrows():
        i = browser.js(f"despro.villages.code.indexOf('{v['village_code']}')")
        browser.js(f"despro.openPopup({i})")
        _wait_popup(browser, v["village_code"])
        head = browser.js("document.querySelector('.dg-popup .dg-head').textContent")
        n_gate = browser.js("despro.site.rules.filter(r => !r.info).length")
        assert f"Gagal {int(v['n_fail'])} dari {n_gate} kriteria" in head
        first = browser.js("document.querySelector('.dg-popup tr.dg-fail b').textContent")
        assert first == v["binding_rule"]
        info = browser.js(
            "Array.from(document.querySelectorAll('.dg-popup tr.dg-info:not(.dg-src)'))"
            ".map(r => r.textContent)"
        )
        assert all("gagal" not in row for row in info)
        # the binding rule's gap after "terjauh", the data still needed apart
        far = head.split(f"terjauh {v['binding_rule']}: ")[1]
        assert not far.startswith("perlu data")
        if isinstance(v["data_needed_text"], str) and v["data_needed_text"]:
            assert head.endswith(" \u00b7 " + v["data_needed_text"])
    assert browser.console_errors() == []


@pytest.mark.browser
def test_search_finds_villages_by_code_and_by_regency(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    v = villages.iloc[7]

    def search(q: str) -> list[str]:
        browser.js(
            f"var s = document.getElementById('dg-search'); s.value = {q!r};"
            "s.dispatchEvent(new Event('input'))"
        )
        return browser.js(
            "Array.from(document.querySelectorAll('.dg-hit')).map(h => h.textContent)"
        )

    hits = search(v["village_code"])
    assert hits and v["village_code"] in hits[0]
    regency = v["regency_name"]
    hits = search(regency)
    assert hits and all(regency in h for h in hits)
    assert browser.js("!!document.querySelector('.dg-more')") == (
        (villages["regency_name"] == regency).sum() > 10
    )


def _english_words() -> set[str]:
    english = {w for k, w in GL_LABELS["en"].items() if w != GL_LABELS["id"][k]}
    english |= {LABELS["en"][k] for k in ("criterion", "threshold", "margin", "source", "rank")}
    english |= {"near-ready", "not ready", "undetermined", "Readiness score", "(country)"}
    english |= {"Sumber: smartphone", "Sumber: broadband", "Sumber: courier"}  # layer keys
    english |= {"needs", "to spare", "Food and beverage", "food_beverage"}
    return english


def _english_on_page(browser: Browser) -> list[str]:
    text = browser.js("document.body.innerText + ' ' + document.title")
    return [w for w in _english_words() if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


@pytest.mark.browser
def test_no_english_words_on_an_indonesian_page(browser, national_demo):
    browser.ready(national_demo / "index.html")
    browser.js("despro.openPopup(0)")
    browser.wait("!!document.querySelector('.dg-popup')")
    assert _english_on_page(browser) == []


@pytest.mark.browser
def test_language_switch_changes_every_word_and_html_lang(browser, national_demo, villages):
    """Both languages written (a small run): the switch shows English everywhere, the
    popup included, and back in Indonesian no English key is left."""
    browser.ready(national_demo / "index.html")
    assert browser.js("despro.site.langs") == ["id", "en"]
    failing = villages[villages["binding_kind"] == "fail"].iloc[0]
    i = browser.js(f"despro.villages.code.indexOf('{failing['village_code']}')")
    browser.js(f"despro.openPopup({i})")
    _wait_popup(browser, failing["village_code"])
    browser.js("document.querySelector('.dg-lang[data-lang=\"en\"]').click()")
    browser.wait("document.documentElement.lang === 'en'")
    browser.wait("document.querySelector('.dg-popup .dg-head').textContent.indexOf('Fails') >= 0")
    text = browser.js("document.body.innerText")
    en, id_ = GL_LABELS["en"], GL_LABELS["id"]
    for key in ("in_view", "filters", "filter_category", "export_xlsx", "table"):
        assert en[key] in text and id_[key] not in text, key
    assert "farthest " + failing["binding_rule"] in text and "needs" in text
    assert "Food and beverage" in browser.js(
        "Array.from(document.querySelectorAll('#dg-f-cat option')).map(o => o.text).join('|')"
    )
    assert browser.js("document.title") == LABELS["en"]["title"]
    browser.js("document.querySelector('.dg-lang[data-lang=\"id\"]').click()")
    browser.wait("document.documentElement.lang === 'id'")
    browser.wait("document.querySelector('.dg-popup .dg-head').textContent.indexOf('Gagal') >= 0")
    assert _english_on_page(browser) == []
    assert browser.console_errors() == [] and browser.network() == []


@pytest.mark.browser
def test_adversarial_names_show_as_text(browser, adversarial):
    index, villages = adversarial
    browser.ready(index)
    for code, name in villages["village_name"].iloc[:3].items():
        i = browser.js(f"despro.villages.code.indexOf('{code}')")
        browser.js(f"despro.openPopup({i})")
        _wait_popup(browser, code)
        shown = browser.js("document.querySelector('.dg-popup .dg-name b').textContent")
        assert shown == name
    assert browser.js("document.querySelectorAll('.dg-popup img, #despro-panel img').length") == 0
    browser.js("despro.exportSelection('csv')")
    assert "'" + FORMULA.replace('"', '""') in browser.js("despro.lastExport")
    assert browser.dialogs == []
    assert browser.console_errors() == []


@pytest.mark.browser
def test_a_phone_shows_the_popup_as_a_bottom_sheet(browser, national_demo):
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        width=390,
        height=844,
        deviceScaleFactor=2,
        mobile=True,
    )
    try:
        browser.ready(national_demo / "index.html")
        browser.js("despro.openPopup(0)")
        browser.wait("!!document.querySelector('.dg-popup')")
        box = browser.js(
            "(() => { var r = document.querySelector('.maplibregl-popup').getBoundingClientRect();"
            " return [r.left, r.right, r.bottom, r.width]; })()"
        )
        assert box[0] <= 1 and box[1] >= 389 and abs(box[2] - 844) <= 2
        viewport = browser.js("document.querySelector('meta[name=viewport]').content")
        assert "user-scalable=no" not in viewport
    finally:
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=800,
            deviceScaleFactor=1,
            mobile=False,
        )


@pytest.mark.browser
def test_single_file_opens_alone(browser, sample_result, tmp_path):
    from despro.mapsite.site import write_map

    page = write_map(sample_result, tmp_path / "maps", "en", single_file=True)
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["index.html"]
    alone = tmp_path / "sent" / "despro.html"  # as received by chat, renamed, no folder
    alone.parent.mkdir()
    alone.write_bytes(page.read_bytes())
    browser.ready(alone)
    assert browser.console_errors() == [] and browser.network() == []
    assert browser.js("despro.counts(false).total.reduce((a, b) => a + b)") == len(
        sample_result.villages
    )
    browser.js("despro.openPopup(0)")
    browser.wait("!!document.querySelector('.dg-popup .dg-rules')")
    assert browser.js("document.documentElement.lang") == "en"


@pytest.mark.browser
def test_the_table_sorts_by_a_clicked_column(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")

    def ranks() -> list[int]:
        return browser.js(
            "Array.from(document.querySelectorAll('.dg-list tr[data-i]'))"
            ".map(r => despro.villages.rank[+r.getAttribute('data-i')])"
        )

    browser.js("document.querySelector('.dg-sort[data-col=\"4\"]').click()")
    up = ranks()
    assert len(up) > 1 and up == sorted(up)
    browser.js("document.querySelector('.dg-sort[data-col=\"4\"]').click()")
    assert ranks() == sorted(up, reverse=True)


@pytest.mark.browser
def test_print_shows_the_map_legend_and_counts_without_controls(browser, national_demo):
    browser.ready(national_demo / "index.html")
    browser.call("Emulation.setEmulatedMedia", media="print")
    try:

        def shown(selector: str) -> bool:
            return browser.js(
                f"getComputedStyle(document.querySelector({selector!r})).display !== 'none'"
            )

        assert shown("#despro-map") and shown("#despro-legend") and shown("#dg-counts")
        assert not shown("#dg-search") and not shown("#dg-csv")
        assert not shown(".maplibregl-ctrl")
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")


@pytest.mark.browser
def test_backbone_and_outlets_are_drawn_and_toggled(browser, national_demo):
    browser.ready(national_demo / "index.html")
    assert browser.js("despro.map.getSource('routes')._data.features.length") > 0
    assert browser.js("despro.map.getLayoutProperty('outlets', 'visibility')") == "none"
    browser.js("document.querySelector('.dg-feature[data-layers^=\"outlets\"]').click()")
    assert browser.js("despro.map.getLayoutProperty('outlets', 'visibility')") == "visible"
    browser.js("document.querySelector('.dg-feature[data-layers^=\"routes\"]').click()")
    assert browser.js("despro.map.getLayoutProperty('routes', 'visibility')") == "none"
    assert browser.console_errors() == []


def _id_amount(text: str, pattern: str) -> float:
    """The number matched by ``pattern``'s group in Indonesian notation (1.234,5)."""
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return float(m.group(1).replace(".", "").replace(",", "."))


@pytest.mark.browser
def test_popup_headline_names_the_binding_rule_and_its_gap_in_words(browser, max_rule_site):
    """A ``<=`` rule reads "perlu turun 5,9 km", a ``>=`` one "perlu +7,0 pp", a count
    the village has none of "perlu ... (belum ada)"; the margin column says the same."""
    index, villages, rules = max_rule_site
    browser.ready(index)
    failing = villages[villages["binding_kind"] == "fail"]
    cases = {
        "max": failing[failing["binding_rule"] == "X2"].iloc[0],
        "min": failing[failing["binding_unit"].str.startswith("percent")].iloc[0],
    }
    presence = failing[(failing["binding_rule"] == "I3") & (failing["courier_companies"] == 0)]
    if len(presence):
        cases["presence"] = presence.iloc[0]
    assert {"max", "min"} <= set(cases)
    num = r"(\d[\d.]*(?:,\d+)?)"
    for kind, v in cases.items():
        rule = rules[v["binding_rule"]]
        gap = rule.threshold - v[rule.variable]  # + must rise, - must fall
        i = browser.js(f"despro.villages.code.indexOf('{v['village_code']}')")
        browser.js(f"despro.openPopup({i})")
        _wait_popup(browser, v["village_code"])
        head = browser.js("document.querySelector('.dg-popup .dg-head').textContent")
        first = browser.js(
            "Array.from(document.querySelector("
            "'.dg-popup tr.dg-fail:not(.dg-group):not(.dg-src)').cells).map(c => c.textContent)"
        )
        assert first[0].startswith(rule.id), (kind, first)
        why = head.split(f"terjauh {rule.id}: ")[1]
        if kind == "max":
            assert gap < 0 and why.startswith(f"{rule.label_id} perlu turun "), why
            for text in (why, first[3]):
                assert _id_amount(text, rf"perlu turun {num} km") == pytest.approx(
                    -gap / 1000, abs=0.5
                )
            assert first[3].startswith("perlu turun ")
        elif kind == "min":
            assert gap > 0 and why.startswith("perlu +") and why.endswith(rule.label_id), why
            for text in (why, first[3]):
                assert _id_amount(text, rf"perlu \+{num} pp") == pytest.approx(gap, abs=0.05)
        else:
            assert why == f"perlu {rule.label_id} (belum ada)" and first[3] == "belum ada"
        if kind != "min":  # no sign where the words say the direction
            assert not re.search(r"[+-]\d", why + first[3]), (why, first)
    assert browser.console_errors() == []


@pytest.mark.browser
def test_product_category_filter_in_the_page_language(browser, national_demo, villages):
    browser.ready(national_demo / "index.html")
    options = browser.js(
        "Array.from(document.querySelectorAll('#dg-f-cat option')).map(o => [o.value, o.text])"
    )[1:]
    labels = {
        text.rsplit(" (", 1)[0]: (value, _int(text.rsplit(" (", 1)[1])) for value, text in options
    }
    cats = villages.groupby("flagship_category_label_id")["village_code"].count().to_dict()
    cats[LABELS["id"]["unknown"]] = int(villages["flagship_category"].isna().sum())
    assert {k: n for k, (_, n) in labels.items()} == cats  # Indonesian labels, counts
    assert "Makanan dan minuman" in labels and "food_beverage" not in str(options)

    def pick(label: str) -> list[str]:
        browser.js(
            f"var s = document.getElementById('dg-f-cat'); s.value = '{labels[label][0]}';"
            "s.dispatchEvent(new Event('change', {bubbles: true}))"
        )
        shown = browser.js("despro.shownVillages()")
        codes = browser.js("despro.villages.code")
        return sorted(html.unescape(codes[i]) for i in shown)

    food = villages["flagship_category_label_id"] == "Makanan dan minuman"
    assert pick("Makanan dan minuman") == sorted(villages.loc[food, "village_code"])
    unknown = villages["flagship_category"].isna()
    assert pick(LABELS["id"]["unknown"]) == sorted(villages.loc[unknown, "village_code"])
    browser.js("despro.exportSelection('csv')")
    rows = browser.js("despro.lastExport").strip().split("\n")
    assert len(rows) - 1 == unknown.sum()
    browser.js("document.getElementById('dg-clear').click()")
    assert browser.js("despro.shownVillages().length") == len(villages)


@pytest.mark.browser
def test_search_finds_villages_by_district_with_more_results(browser, adversarial):
    index, villages = adversarial
    browser.ready(index)
    district = "Kecamatan Uji 0"
    first = sorted({c[:6] for c in villages.index.astype(str)})[0]
    members = villages[villages.index.astype(str).str.startswith(first)]
    assert len(members) > 10  # enough for a second page of results

    def hits() -> list[str]:
        return browser.js(
            "Array.from(document.querySelectorAll('.dg-hit')).map(h => h.textContent)"
        )

    browser.js(
        f"var s = document.getElementById('dg-search'); s.value = '{district}';"
        "s.dispatchEvent(new Event('input'))"
    )
    shown = hits()
    assert len(shown) == 10 and all(district in h for h in shown)
    regency = members["regency_name"].iloc[0]
    assert all(regency in h for h in shown)  # each result names its regency and tier
    tiers = {LABELS["en"][t] for t in TIERS}
    assert all(any(t in h for t in tiers) for h in shown)
    browser.js("document.querySelector('.dg-more').click()")
    assert len(hits()) == min(len(members), 30)


@pytest.mark.browser
def test_xlsx_download_opens_with_openpyxl_and_holds_the_filtered_villages(
    browser, adversarial, tmp_path
):
    """The XLSX written in the page (a store-only ZIP, no library): clicked, downloaded,
    opened by openpyxl; its rows are the filtered villages, names as text (no formula)."""
    import openpyxl  # a dependency of despro

    index, villages = adversarial
    browser.ready(index)
    keep = TIERS.index("not ready")
    for k in range(len(TIERS)):
        if k != keep:
            browser.js(f"document.querySelector('.dg-f-tier[value=\"{k}\"]').click()")
    browser.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(tmp_path))
    browser.js("document.getElementById('dg-xlsx').click()")
    target = tmp_path / "despro-selection.xlsx"
    deadline = time.monotonic() + 30
    while not (target.is_file() and target.stat().st_size > 0):
        assert time.monotonic() < deadline, list(tmp_path.iterdir())
        browser.pump(0.1)
    browser.pump(0.3)  # the download finishes writing
    book = openpyxl.load_workbook(target)
    rows = list(book.active.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    want = villages[villages["tier"] == "not ready"]
    assert header[:2] == ("village_code", "village_name")
    got = {r[0]: r for r in body}
    assert sorted(got) == sorted(want.index)
    col = {name: k for k, name in enumerate(header)}
    for code, v in want.iterrows():
        row = got[code]
        assert row[col["village_name"]] == v["village_name"]  # XSS, bidi, formula: text
        assert row[col["rank"]] == v["rank"] and row[col["tier"]] == "not ready"
        assert row[col["regency_name"]] == v["regency_name"]
    cells = [c for r in book.active.iter_rows() for c in r]
    assert all(c.data_type != "f" for c in cells)
    assert browser.console_errors() == []


@pytest.mark.browser
def test_courier_clusters_show_counts_in_black_and_white(browser, national_demo):
    """Outlet clusters are badges with their count, drawn in black, white and greys only:
    never a tier colour; the legend names them when they are on."""
    browser.ready(national_demo / "index.html")
    browser.js("document.querySelector('.dg-feature[data-layers^=\"outlets\"]').click()")
    browser.js("despro.map.jumpTo({center: despro.map.getCenter(), zoom: 9}); 0")
    browser.wait("despro.map.loaded() && !despro.map.isMoving()")
    browser.wait("despro.map.queryRenderedFeatures({layers: ['outlets-cluster']}).length > 0")
    counts = browser.js(
        "despro.map.queryRenderedFeatures({layers: ['outlets-cluster']})"
        ".map(f => f.properties.point_count)"
    )
    assert counts and all(n >= 2 for n in counts)
    assert browser.js(f"despro.map.hasImage('oc-{counts[0]}')")
    assert browser.js("despro.map.getLayer('outlets-cluster').type") == "symbol"
    # every drawn pixel of a badge, and of a single outlet, is grey (r = g = b)
    for n in (counts[0], 0, 12345):
        coloured = browser.js(
            f"(() => {{ var d = despro.outletImage({n}).data, bad = 0;"
            " for (var k = 0; k < d.length; k += 4) if (d[k + 3] > 200 &&"
            " (d[k] !== d[k + 1] || d[k + 1] !== d[k + 2])) bad += 1; return bad; })()"
        )
        assert coloured == 0
    tiers = {t["colour"].lower() for t in browser.js("despro.site.tiers")}
    assert not tiers & {"#ffffff", "#111111"}
    legend = browser.js("document.getElementById('despro-legend').textContent")
    assert GL_LABELS["id"]["outlet_clusters"] in legend
    assert browser.console_errors() == []


#: the map's background (despro-gl.js) and a numeric cell layer's opacity (despro-gl-cells.js)
BACKGROUND, OPACITY = (0xF2, 0xEF, 0xE9), 0.65


@pytest.mark.browser
def test_cells_are_painted_in_their_class_colour_and_removed_with_the_layer(browser, national_demo):
    """The cells' own WebGL layer: at the centre of cells with a known, complete value the
    canvas shows the class colour over the background; with no cell layer, the background."""
    browser.ready(national_demo / "index.html")
    k = browser.js("despro.site.layers.findIndex(l => l.key === 'score')")
    browser.js(
        "despro.toggle(despro.map.getStyle().layers.map(l => l.id)"
        ".filter(id => id !== 'bg' && id !== 'cells'), false);"
        "despro.state.idleAt = 0; despro.state.drawnAt = performance.now();"
        f" despro.setLayer({k}); despro.map.triggerRepaint(); 0"
    )
    browser.wait("despro.state.idleAt > despro.state.drawnAt")
    # cell centres of known, complete values, in page pixels
    centres = """(() => {
      var map = despro.map, spec = despro.site.layers[LAYER], lvl = despro.state.level;
      var m = map.getCanvas(), r = m.getBoundingClientRect(), out = [];
      Object.keys(despro.data).filter(key => key.startsWith('c' + lvl + '/')).forEach(key => {
        var ch = despro.data[key], v = ch.v[spec.key] || '', lat = 0, lon = 0;
        for (var i = 0; i < ch.n; i++) {
          lat += ch.c[2 * i]; lon += ch.c[2 * i + 1];
          var code = v.charCodeAt(i), p = map.project([lon / 1e5, lat / 1e5]);
          if (!(code >= 97) || Math.min(p.x, p.y, r.width - p.x, r.height - p.y) < 5) continue;
          out.push([spec.colours[code - 97], Math.round(r.left + p.x), Math.round(r.top + p.y)]);
        }
      });
      return out.slice(0, 200);
    })()""".replace("LAYER", str(k))

    def sample() -> list[tuple[str, tuple[int, ...]]]:
        shot = browser.call("Page.captureScreenshot", format="png")["data"]
        image = Image.open(io.BytesIO(base64.b64decode(shot))).convert("RGB")
        return [(c, image.getpixel((x, y))) for c, x, y in browser.js(centres)]

    cells = sample()
    assert len(cells) >= 20

    def blend(colour: str) -> tuple[float, ...]:
        rgb = [int(colour[j : j + 2], 16) for j in (1, 3, 5)]
        return tuple(OPACITY * c + (1 - OPACITY) * b for c, b in zip(rgb, BACKGROUND, strict=True))

    close = [max(abs(a - b) for a, b in zip(blend(c), px, strict=True)) <= 3 for c, px in cells]
    assert sum(close) >= 0.9 * len(cells)  # a few centres sit on a neighbour's edge
    browser.js(
        "despro.state.idleAt = 0; despro.state.drawnAt = performance.now();"
        " despro.setLayer(-1); despro.map.triggerRepaint(); 0"
    )
    browser.wait("despro.state.idleAt > despro.state.drawnAt && despro.state.cellsDrawn === 0")
    empty = sample()
    assert len(empty) == len(cells) and all(px == BACKGROUND for _, px in empty)
    browser.js("despro.setLayer(0); 0")
    assert browser.console_errors() == []
