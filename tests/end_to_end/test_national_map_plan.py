"""The rollout plan on the national map (issue 21): ``despro run`` / ``demo`` with a
``[plan]`` section plans, writes ``output/plan/`` and draws the plan; in a real browser
(headless Chromium, network closed, ``file://``) the plan layer, each village's
"siap di gelombang k berkat ..." popup line and the cost curve in the panel appear."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from despro.pipeline.job import run_job
from tests.end_to_end.test_national_map import Browser, _chromium_binary, _wait_popup

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "data" / "sample" / "despro.toml"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """``run_job`` on the sample, whose config has a ``[plan]`` section (as ``despro demo``)."""
    out = tmp_path_factory.mktemp("planned")
    job = run_job(SAMPLE_CONFIG, output_dir=out / "output", maps_dir=out / "maps")
    return job, out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(_chromium_binary(), tmp_path_factory.mktemp("profile"), timeout=60)
    yield b
    b.close()


def _site(maps: Path) -> dict:
    text = (maps / "data" / "site.js").read_text(encoding="utf-8")
    return json.loads(re.search(r"despro\.load\(\"site\",\s*(.*)\);\s*$", text, re.S).group(1))


def test_a_config_with_a_plan_section_plans_and_writes_the_plan(planned):
    job, out = planned
    assert job.rollout is not None
    plan_dir = out / "output" / "plan"
    items = pd.read_csv(plan_dir / "plan.csv")
    assert len(items) == len(job.rollout.items) > 0
    assert (plan_dir / "waves.csv").is_file() and (plan_dir / "plan.gpkg").is_file()
    site = _site(out / "maps")
    r = site["rollout"]
    assert len(r["items"]) == len(items)
    newly = job.rollout.villages[job.rollout.villages["ready_wave"] > 0]
    assert set(r["ready"]) == set(newly.index)
    assert len(re.findall("<tr><td", r["panel"])) == len(job.rollout.curve)


def test_without_a_plan_section_the_map_has_no_plan(sample_result, tmp_path):
    from despro.mapsite.national import write_national

    write_national(sample_result, tmp_path / "maps", "id")
    assert "rollout" not in _site(tmp_path / "maps")


@pytest.mark.browser
def test_plan_layer_popup_line_and_cost_curve_in_the_browser(browser, planned):
    job, out = planned
    browser.ready(out / "maps" / "index.html")
    assert browser.console_errors() == []
    assert browser.network() == []
    n = browser.js("despro.map.getSource('rollout')._data.features.length")
    assert n == len(job.rollout.items)
    assert browser.js("despro.map.getLayoutProperty('rollout', 'visibility')") != "none"
    # the cost curve, chart and table, in the panel
    assert browser.js("!!document.querySelector('#dg-rollout svg.dg-curve')")
    rows = browser.js("document.querySelectorAll('#dg-curve-table tr').length")
    assert rows == len(job.rollout.curve) + 1
    # a village the plan makes ready: its popup says in which wave and thanks to what
    v = job.rollout.villages
    code = v.index[v["ready_wave"] == v["ready_wave"].max()][0]
    wave = int(v.loc[code, "ready_wave"])
    i = browser.js(f"despro.villages.code.indexOf('{code}')")
    browser.js(f"despro.openPopup({i})")
    _wait_popup(browser, code)
    line = browser.js("document.querySelector('.dg-popup .dg-rollout-line').textContent")
    assert f"siap di gelombang {wave} berkat" in line
    for item in v.loc[code, "thanks_to"].split(";"):
        assert item in line
    # a village the plan does not touch has no such line
    other = v.index[v["ready_wave"].isna()][0]
    browser.js(f"despro.openPopup(despro.villages.code.indexOf('{other}'))")
    _wait_popup(browser, other)
    assert browser.js("document.querySelector('.dg-popup .dg-rollout-line')") is None
    # the layer toggles off
    browser.js("document.getElementById('dg-rollout-toggle').click()")
    assert browser.js("despro.map.getLayoutProperty('rollout', 'visibility')") == "none"
    # in English (the panel is rebuilt): the section comes back, in English, still off
    if "en" in (browser.js("despro.site.langs") or []):
        browser.js("despro.setLang('en')")
        browser.wait(
            "document.documentElement.lang === 'en' && !!document.getElementById('dg-rollout')"
        )
        assert "Investment plan" in browser.js("document.getElementById('dg-rollout').textContent")
        assert not browser.js("document.getElementById('dg-rollout-toggle').checked")
        browser.js(f"despro.openPopup({i})")
        _wait_popup(browser, code)
        line = browser.js("document.querySelector('.dg-popup .dg-rollout-line').textContent")
        assert f"ready in wave {wave} thanks to" in line
    assert browser.console_errors() == []
