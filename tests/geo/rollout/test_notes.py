"""A plan's notes: English where they always were, Indonesian on an Indonesian page."""

from __future__ import annotations

import json
import pickle

from despro.rollout.notes import Note, count_id, note_text


def test_a_note_is_its_english_text_and_knows_its_indonesian():
    n = Note("the budget makes no village ready", "anggaran tidak menyiapkan satu desa pun")
    assert n == "the budget makes no village ready" and n.startswith("the budget")
    assert json.dumps([n]) == '["the budget makes no village ready"]'
    assert n.text("id") == "anggaran tidak menyiapkan satu desa pun"
    assert n.text("en") == str(n)
    back = pickle.loads(pickle.dumps(n))
    assert back == n and back.text("id") == n.text("id")
    assert note_text("plain text", "id") == "plain text"  # other notes as they are


def test_indonesian_counts_use_thousands_dots():
    assert count_id(535020) == "535.020" and count_id(7) == "7"


def test_the_demo_plan_panel_speaks_the_page_language(sample_result):
    from despro.mapsite.rollout import panel_html
    from despro.rollout.api import plan

    p = plan(sample_result, curve=False, explain=False)  # the sample's [plan]
    notes = [n for n in p.notes if isinstance(n, Note)]
    assert notes  # the demo's plan thins site candidates at least
    html_id, html_en = panel_html(p, "id"), panel_html(p, "en")
    for n in notes:
        assert n.id_text.split(":")[0] in html_id and str(n).split(":")[0] not in html_id
        assert str(n).split(":")[0] in html_en
