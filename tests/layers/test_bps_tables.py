"""Statistics tables as BPS publishes them: a title line, a merged title over a year row,
'Kab.' / UPPERCASE names, comma decimals as text, a total row and a footnote; and rates
given as counts (numerator / denominator) with 'more online than households' refused."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from despro.errors import InputError
from despro.layer import Notes
from despro.layers.smartphone import SmartphoneSource, read_source

from ..conftest import SAMPLE

COL = "Persentase rumah tangga yang mengakses internet 2024"


def _bps_xlsx(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tabel 5.1 Persentase Rumah Tangga yang Mengakses Internet (Susenas)"])
    ws.append(["Kabupaten/Kota", "Persentase rumah tangga yang mengakses internet", None])
    ws.merge_cells("B2:C2")
    ws.append([None, "2023", "2024"])
    for r in rows:
        ws.append(r)
    ws.append(["DAERAH CONTOH (SINTETIS)", "60,0", "66,0"])  # the province's own row
    ws.append(["Jumlah", "60,0", "66,0"])
    ws.append(["Sumber: BPS, Susenas Maret 2024 (sintetis)", None, None])
    wb.save(path)


def _source(path, **kw):
    return SmartphoneSource(
        table=path,
        name_column="Kabupaten/Kota",
        names=SAMPLE / "admin_codes.csv",
        skip_rows=1,
        header_rows=2,
        columns={"pct_households_internet": COL},
        **kw,
    )


def test_bps_table_with_two_header_rows_reads_like_the_csv(tmp_path, sample_config):
    ict = pd.read_csv(SAMPLE / "ict_regency.csv", dtype={"regency_code": str})
    rows = [
        [name.upper() if i % 2 else name, "50,0", f"{v:.1f}".replace(".", ",")]
        for i, (name, v) in enumerate(
            zip(ict["regency_name"], ict["pct_households_internet"], strict=True)
        )
    ]
    _bps_xlsx(tmp_path / "bps.xlsx", rows)
    notes = Notes()
    got = read_source(_source(tmp_path / "bps.xlsx"), sample_config, notes)
    want = ict.set_index("regency_code")["pct_households_internet"]
    assert got["pct_households_internet"].sort_index().to_dict() == want.sort_index().to_dict()
    dropped = {n["message"]: n["rows"] for n in notes.items if n["action"] == "dropped"}
    assert any("total rows" in m for m in dropped)  # row 'Jumlah', reported, not read
    assert any("without values" in m for m in dropped)  # the footnote
    total_rows = next(r for m, r in dropped.items() if "total rows" in m)
    assert total_rows == [str(4 + len(rows) + 1)]  # the line a spreadsheet shows


def test_rates_from_counts_and_more_online_than_households_refused(tmp_path, sample_config):
    t = pd.DataFrame(
        {
            "regency_code": ["3401", "3402", "3403"],
            "online": [580, 715, 900],
            "households": [1000, 1000, 800],
        }
    )
    t.to_csv(tmp_path / "counts.csv", index=False)
    src = SmartphoneSource(
        table=tmp_path / "counts.csv",
        counts={"pct_households_internet": ("online", "households")},
        columns={"pct_households_internet": "pct_households_internet"},
    )
    with pytest.raises(InputError, match=r"row 4: .*'online' \(900\) is larger than 'households'"):
        read_source(src, sample_config, Notes())
    t.loc[2, "online"] = 400
    t.to_csv(tmp_path / "counts.csv", index=False)
    got = read_source(src, sample_config, Notes())["pct_households_internet"]
    assert got.to_dict() == {"3401": 58.0, "3402": 71.5, "3403": 50.0}
