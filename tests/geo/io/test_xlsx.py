"""The planners' workbook: sheets, frozen headers, titles, CSV numbers, text never a formula."""

from __future__ import annotations

import dataclasses

import openpyxl
import pandas as pd
import pytest

import despro
from despro.io import xlsx
from despro.io.outputs import write_outputs

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def plan(sample_result):
    return despro.plan_pilots(sample_result, marginal=False)


@pytest.fixture(scope="module")
def written(sample_result, plan, tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx")
    return write_outputs(sample_result, out, plan=plan, lang="id")


def _frame(ws) -> pd.DataFrame:
    rows = list(ws.values)
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_one_sheet_per_table_with_frozen_titled_headers(written):
    book = openpyxl.load_workbook(written["despro.xlsx"])
    assert book.sheetnames == [
        "catatan",
        "desa",
        "daftar_pendek",
        "pilot",
        "agen",
        "klaster",
        "kabupaten",
        "provinsi",
        "satu_langkah",
        "data_dibutuhkan",
    ]
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref, ws.title
    titles = [c.value for c in book["desa"][1]]
    assert titles[:3] == ["Peringkat", "Kode desa", "Nama desa"]
    assert "Skor (0-100)" in titles
    assert book["desa"].column_dimensions["C"].width > 8  # fitted to the names


def test_numbers_are_numbers_equal_to_the_csv_with_matching_formats(written):
    book = openpyxl.load_workbook(written["despro.xlsx"])
    csv = pd.read_csv(written["shortlist.csv"], dtype={"village_code": str})
    ws = book["daftar_pendek"]
    titles = [c.value for c in ws[1]]
    score = ws.cell(2, titles.index("Skor (0-100)") + 1)
    assert isinstance(score.value, float) and score.value == csv.loc[0, "score"]
    assert score.number_format == "#,##0.0"
    lat = ws.cell(2, titles.index("Lintang (derajat)") + 1)
    assert lat.value == csv.loc[0, "lat"] and lat.number_format == "#,##0.000000"
    code = ws.cell(2, titles.index("Kode desa") + 1)
    assert code.value == csv.loc[0, "village_code"] and code.data_type == "s"
    reg = _frame(book["kabupaten"])
    reg_csv = pd.read_csv(written["summary_regency.csv"])
    assert reg["Jumlah desa"].tolist() == reg_csv["villages"].tolist()
    assert ws.cell(2, titles.index("Peringkat") + 1).number_format == "0"


def test_the_notes_sheet_lists_every_sheet_and_its_rows(written):
    book = openpyxl.load_workbook(written["despro.xlsx"])
    notes = _frame(book["catatan"]).set_index("Lembar")
    assert notes.loc["desa", "Baris"] == book["desa"].max_row - 1
    assert notes.loc["pilot", "Baris"] == book["pilot"].max_row - 1


def test_english_titles_and_sheet_names(sample_result, tmp_path):
    counts = xlsx.write_workbook(sample_result, tmp_path / "w.xlsx", lang="en")
    book = openpyxl.load_workbook(tmp_path / "w.xlsx")
    assert book.sheetnames == list(counts) and "villages" in book.sheetnames
    assert "pilots" not in book.sheetnames  # no plan, no pilot sheets
    assert [c.value for c in book["villages"][1]][:2] == ["Rank", "Village code"]


def test_a_village_named_like_a_formula_stays_text(sample_result, tmp_path):
    v = sample_result.villages.copy()
    first = v["rank"].idxmin()
    v.loc[first, "village_name"] = FORMULA
    hostile = dataclasses.replace(sample_result, villages=v)
    xlsx.write_workbook(hostile, tmp_path / "w.xlsx", lang="en")
    book = openpyxl.load_workbook(tmp_path / "w.xlsx")
    for sheet in ("villages", "shortlist"):
        ws = book[sheet]
        col = [c.value for c in ws[1]].index("Village") + 1
        cell = ws.cell(2, col)
        assert cell.value == FORMULA and cell.data_type == "s", sheet


def test_a_national_run_leaves_the_village_sheet_out_and_says_so(sample_result, tmp_path):
    counts = xlsx.write_workbook(sample_result, tmp_path / "w.xlsx", lang="id", village_limit=100)
    book = openpyxl.load_workbook(tmp_path / "w.xlsx")
    assert "desa" not in counts and "desa" not in book.sheetnames
    assert "daftar_pendek" in book.sheetnames and "kabupaten" in book.sheetnames
    notes = _frame(book["catatan"]).set_index("Lembar")
    assert notes.loc["desa", "Isi"].startswith("tidak ditulis: 300 desa")


def test_a_failing_workbook_leaves_the_previous_outputs_untouched(
    sample_result, written, monkeypatch
):
    out = written["despro.xlsx"].parent
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xlsx, "write_workbook", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(sample_result, out, lang="en")
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".staging")] == []
