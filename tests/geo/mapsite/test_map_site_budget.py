"""The 15 MB page budget on a national-scale synthetic run (no browser needed).

The run is built directly (:mod:`tests.synthetic_national`): 24,010 villages on
168,070 cells in four provinces, one of which is far too large for one page.
"""

from __future__ import annotations

import json
from collections import deque
from urllib.parse import unquote

import pytest

from despro.mapsite.site import DEFAULT_BUDGET_MB, write_site
from tests.synthetic_national import national_result


def page_data(path) -> dict:
    """The ``despro_data`` object embedded in a page."""
    text = path.read_text(encoding="utf-8")
    start = text.index("var despro_data = ") + len("var despro_data = ")
    return json.JSONDecoder().raw_decode(text, start)[0]


@pytest.fixture(scope="module")
def national_site(tmp_path_factory, sample_config):
    result = national_result(sample_config)
    return result, write_site(result, tmp_path_factory.mktemp("national") / "maps", "id")


def test_every_page_is_within_the_budget(national_site):
    result, site = national_site
    assert site.budget_bytes == DEFAULT_BUDGET_MB * 1e6 == 15e6
    assert len(result.cells) > 150_000 and len(result.villages) > 20_000
    for p in site.pages:
        assert p.size_bytes == p.path.stat().st_size <= site.budget_bytes, p.slug
    pages = {p.slug: p for p in site.pages}
    res = result.config.run.resolution
    # the large province did not fit: an overview linking full-resolution regency pages
    regencies = sorted(
        result.villages.loc[result.villages["province_code"] == "31", "regency_code"].unique()
    )
    assert pages["province-31"].res < res
    assert pages["province-31"].links == ["index", *(f"regency-{c}" for c in regencies)]
    assert all(pages[f"regency-{c}"].res == res for c in regencies)
    # the ordinary provinces fit whole
    for code in ("32", "33", "34"):
        assert pages[f"province-{code}"].res == res
        assert not any(s.startswith(f"regency-{code}") for s in pages)


def test_every_village_is_reachable(national_site):
    result, site = national_site
    pages = {p.slug: p for p in site.pages}
    seen, queue = {"index"}, deque(["index"])
    while queue:
        for nxt in pages[queue.popleft()].links:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(pages)  # every page is linked from the index, directly or not
    res = result.config.run.resolution
    full = [c for p in site.pages if p.res == res for c in p.village_codes]
    assert sorted(full) == sorted(result.villages.index)  # each on one full page
    # the index draws the notable villages and its search finds every other one,
    # linking to the page that draws it
    data = page_data(pages["index"].path)
    drawn = {v[2] for v in data["villages"]}
    assert 0 < len(drawn) < len(result.villages)
    far = data["elsewhere"]
    found = set()
    for name, code, k in far["v"]:
        code = unquote(code)
        slug = far["pages"][k][0]
        assert code in pages[slug].village_codes
        assert name == result.villages.loc[code, "village_name"]
        found.add(code)
    assert drawn | found == set(result.villages.index) and not drawn & found
