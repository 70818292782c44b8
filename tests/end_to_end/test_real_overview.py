"""The national example's overview page, in a real browser, on real data.

``examples/indonesia.toml`` (every real source: BPS rates split by urban / rural, the
national computer figure, Podes censuses, towers and BAKTI sites, the model) is run on
one province, Jambi (code prefix ``15``: 1,568 villages, observed I1b for 96 % of
them), written as ``despro run`` writes it, and its overview page is opened in headless
Chromium from ``file://`` with the network closed. A planner opening it must see the
tiers and the planner summary, and no green country: not one village is ready.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from despro.config.settings import load_config
from despro.mapsite.labels import LABELS, fmt_number
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


def _green_share(img) -> tuple[float, int]:
    """Share of the painted pixels (not white / grey background or text) that are green."""
    a = np.asarray(img, dtype=np.int16)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    spread = a.max(axis=2) - a.min(axis=2)
    painted = spread > 40  # coloured, not white, black or a grey
    green = painted & (g > r + 40) & (g > b + 20)
    return float(green.sum()) / max(int(painted.sum()), 1), int(painted.sum())


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


def test_overview_is_not_a_green_province(page):
    share, painted = _green_share(page.screenshot())
    assert painted > 10_000  # the map is drawn
    assert share < 0.02, f"{share:.1%} of the painted pixels are green, no village is ready"
