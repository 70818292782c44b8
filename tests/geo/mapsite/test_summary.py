"""The planners' summary on the overview page: tiers, binding criterion, data needed."""

from __future__ import annotations

from despro.config.vocab import FAIL, PASS
from despro.mapsite.pages import plan_pages
from despro.mapsite.site import _nav_html, write_site
from despro.mapsite.summary import findings, gate_labels, summary_html, why_texts


def test_summary_in_both_languages_with_the_tier_counts(sample_result):
    v = sample_result.villages
    html_id = summary_html(v, "id")
    html_en = summary_html(v, "en")
    assert "Ringkasan untuk perencana" in html_id
    assert "Summary for planners" in html_en
    assert "Data that would decide most villages, in order" in html_en
    n = len(v)
    assert f"<td>{n}</td>" in html_en  # the villages of the (one) sample province
    counts = v["tier"].value_counts()
    for tier in ("ready", "not ready"):
        assert f"<td>{counts[tier]}</td>" in html_en


def test_summary_escapes_names(sample_result):
    v = sample_result.villages.copy()
    v["province_name"] = "<script>alert(1)</script>"
    v["regency_name"] = "<b>Kab</b>"
    html = summary_html(v, "en")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Kab</b>" not in html


def test_summary_only_on_the_overview(sample_result):
    index, provinces = plan_pages(sample_result, "en")
    assert "despro-summary" in _nav_html(sample_result, index, 8, "en")
    assert "despro-summary" not in _nav_html(sample_result, provinces[0], 8, "en")


def test_popups_say_what_it_would_take_in_the_pages_language(sample_result):
    v = sample_result.villages
    en, id_ = why_texts(sample_result, "en"), why_texts(sample_result, "id")
    not_ready = v.loc[v["tier"] != "ready", "village_code"]
    assert set(en) == set(not_ready)  # every village that is not ready, none that is
    und = v.loc[v["tier"] == "undetermined", "village_code"]
    assert all(en[c].startswith("needs ") and en[c].endswith(" data") for c in und)
    assert all(id_[c].startswith("perlu data ") for c in und)
    near = v.loc[v["tier"] == "near-ready"].iloc[0]
    assert id_[near["village_code"]].startswith("perlu +")


def test_pages_carry_the_lines_of_their_villages(sample_result, tmp_path):
    site = write_site(sample_result, tmp_path, "en")
    page = next(p for p in site.pages if p.slug != "index")
    html = page.path.read_text(encoding="utf-8")
    v = sample_result.villages.set_index("village_code")
    code = next(c for c in page.village_codes if v.loc[c, "tier"] != "ready")
    assert f'"{code}":"needs ' in html
    assert '"why":"What it would take"' in html


def test_findings_name_the_rule_that_fails_everywhere_and_the_data_wanted(sample_result):
    v = sample_result.villages
    labels = gate_labels(sample_result.config.criteria.rules, "id")
    assert "X1" not in labels and "I2b" in labels  # informative rules are not findings
    counts = v["tier"].value_counts()
    first = findings(v, labels, "id")[0]
    assert first.startswith(f"{len(v)} desa: siap {counts['ready']},")
    # the sample has ready villages and no rule failing everywhere
    assert not any(
        "Tidak ada desa yang siap" in x or "semua desa" in x for x in findings(v, labels)
    )
    # the national case: one rule failing in every village means none can be ready
    worse = v.assign(I2b_state=FAIL, tier=v["tier"].replace({"ready": "not ready"}))
    lines = findings(worse, labels, "id")
    assert "Tidak ada desa yang siap." in lines
    assert f"I2b ({labels['I2b']}) gagal di semua desa" in " ".join(lines)
    # a rule failing in under a quarter of the villages is not a finding
    rare = v.assign(I2b_state=PASS)
    rare.iloc[: len(v) // 5, rare.columns.get_loc("I2b_state")] = FAIL
    assert not any(x.startswith("I2b") for x in findings(rare, labels, "id"))
    undetermined = int((v["tier"] == "undetermined").sum())
    if undetermined:
        assert findings(v, labels, "en")[-1].startswith("The undetermined villages wait for data:")
