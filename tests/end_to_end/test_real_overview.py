"""The national example's overview page, in a real browser, on real data.

``examples/indonesia.toml`` (every real source: BPS rates split by urban / rural, the
national computer figure, Podes censuses, towers and BAKTI sites, the model) is run on
one province, Jambi (code prefix ``15``: 1,568 villages, observed I1b for 96 % of
them), written as ``despro run`` writes it, and its overview page is opened in headless
Chromium from ``file://`` with the network closed. A planner opening it must see the
tiers and the planner summary, and no country painted in the ready colour: not one
village is ready.
"""

from __future__ import annotations

import re

import matplotlib.colors
import numpy as np
import pandas as pd
import pytest

from despro.config.settings import load_config
from despro.mapsite.gl_labels import TIER_MARKERS
from despro.mapsite.labels import LABELS
from despro.numbertext import fmt_number
from despro.pipeline.job import run_job
from tests.end_to_end.test_maps_browser import Chromium, _chromium_binary
from tests.end_to_end.test_real_data import EXAMPLES

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Several features with id:RuntimeWarning"),
]
PROVINCE = "15"  # Jambi


@pytest.fixture(scope="module")
def jambi(shared_data, tmp_path_factory):
    cfg = load_config(EXAMPLES / "indonesia.toml")
    cfg = cfg.model_copy(
        update={"villages": cfg.villages.model_copy(update={"code_prefix": PROVINCE})}
    )
    out = tmp_path_factory.mktemp("jambi")
    run_job(cfg, out / "output", out / "maps", lang="id")
    villages = pd.read_parquet(out / "output" / "villages.parquet")
    return out, villages


@pytest.fixture(scope="module")
def page(jambi, tmp_path_factory):
    out, _ = jambi
    b = Chromium(_chromium_binary(), tmp_path_factory.mktemp("chromium-profile"))
    b.open(out / "maps" / "index.html")
    for _ in range(600):  # the national map: until its first cells are drawn and it is idle
        if b.js("despro.ready && despro.state.cellsDrawn > 0 && despro.map.loaded()"):
            break
        b.pump(0.1)
    b.pump(1.0)
    yield b
    b.close()


def _hue_shares(img, colours: dict[str, str]) -> tuple[dict[str, float], int]:
    """Share of the painted pixels (coloured: not white, black or a grey) whose hue is
    within 12 degrees of each named colour's hue (cells are drawn half transparent, so
    hue, not the exact colour, tells a tier's pixels)."""
    a = np.asarray(img, dtype=float) / 255.0
    hue = np.asarray(matplotlib.colors.rgb_to_hsv(a))[..., 0] * 360.0
    spread = a.max(axis=2) - a.min(axis=2)
    painted = spread > 0.15
    out = {}
    for name, colour in colours.items():
        h = matplotlib.colors.rgb_to_hsv(matplotlib.colors.to_rgb(colour))[0] * 360.0
        near = np.minimum(np.abs(hue - h), 360.0 - np.abs(hue - h)) <= 12.0
        out[name] = float((painted & near).sum()) / max(int(painted.sum()), 1)
    return out, int(painted.sum())


def test_real_run_has_no_ready_village_and_decides_the_tier_of_a_third(jambi):
    _, v = jambi
    assert len(v) > 1500 and v["village_code"].str.startswith(PROVINCE).all()
    assert (v["tier"] == "ready").sum() == 0
    # observed Podes 2019 signal decides I1b for almost every village of Jambi
    assert (v["I1b_state"] != "unknown").mean() > 0.9
    assert 0.2 < (v["tier"] != "undetermined").mean() < 0.6


def test_overview_opens_offline_without_errors(page):
    assert page.console_errors() == []
    assert page.requests == []


def test_overview_shows_the_planner_summary_with_the_runs_tier_counts(page, jambi):
    _, v = jambi
    t = LABELS["id"]
    text = page.js("document.body.innerText")
    assert t["planner_summary"] in text
    counts = v["tier"].value_counts()
    row = next(line for line in text.splitlines() if re.match(rf"\s*{PROVINCE}\s+Jambi", line))
    for tier in ("undetermined", "not ready"):
        assert fmt_number(counts[tier], "id", 0) in row, (tier, row)
    decided = 100 * (v["tier"] != "undetermined").mean()
    assert f"{fmt_number(decided, 'id', 1)} %" in row


def test_overview_is_not_painted_in_the_ready_colour(page):
    # the page's own tier colours (colour-blind safe); no village of Jambi is ready, so
    # the "good" colour must be (almost) absent while the not-ready colour is drawn
    colours = {t: TIER_MARKERS[t]["colour"] for t in ("ready", "not ready")}
    shares, painted = _hue_shares(page.screenshot(), colours)
    assert painted > 10_000  # the map is drawn
    assert shares["ready"] < 0.02, f"{shares['ready']:.1%} painted in the ready colour"
    assert shares["not ready"] > 0.10, shares
