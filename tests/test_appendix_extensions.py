"""An extension ("máy lẻ 12") goes through the appendix both ways (issue 14, item 8).

An import compares the extension as well as the number: a file giving a unit's number with a new extension
changes the unit (shown so in the dry run, written to the history); an export writes the extension after the
number, so exporting and importing the file again changes nothing.
"""
import io

import openpyxl

from registry.appendix import export_bytes, import_bytes
from registry.hotlines import set_hotline

from .conftest import csrf_from, login

HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ", "MÃ ĐƠN VỊ"]


def appendix(*rows):
    """A CSV of the template: group A with the given (name, number, code) rows."""
    lines = [HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""]]
    lines += [[str(i), name, number, "", code] for i, (name, number, code) in enumerate(rows, start=1)]
    return ("\ufeff" + "\n".join(",".join(f'"{c}"' for c in line) for line in lines) + "\n").encode("utf-8")


def hotline(db, code):
    return tuple(db.execute("SELECT h.display, h.extension FROM hotlines h JOIN units u ON u.id = h.unit_id "
                            "WHERE u.code = ?", [code]).fetchone())


def history(db, code, field):
    return [tuple(r) for r in db.execute("SELECT c.old, c.new FROM changes c JOIN units u ON u.id = c.unit_id "
                                         "WHERE u.code = ? AND c.field = ? ORDER BY c.id", [code, field])]


def test_an_extension_added_to_the_number_a_unit_has_is_a_change_shown_in_the_dry_run_and_written(db, units):
    data = appendix(("Sở Y tế", "0277 3851 234 máy lẻ 12", "SYT"))
    plan = import_bytes(db, data, "ds.csv", actor=None, dry_run=True)
    assert (len(plan.changed), plan.unchanged) == (1, 0)
    (line,) = plan.of("changed")
    assert line.code == "SYT" and "máy lẻ" in line.what and "12" in line.what
    assert hotline(db, "SYT") == ("0277 3851 234", "")  # a dry run writes nothing

    result = import_bytes(db, data, "ds.csv", actor=None)
    assert (len(result.changed), result.unchanged) == (1, 0)
    assert hotline(db, "SYT") == ("0277 3851 234", "12")
    assert history(db, "SYT", "extension") == [(None, "12")]
    assert history(db, "SYT", "number") == [(None, "0277 3851 234")]  # the number itself did not change

    again = import_bytes(db, data, "ds.csv", actor=None)
    assert (len(again.changed), again.unchanged) == (0, 1)


def test_another_extension_and_no_extension_are_changes_too(db, units):
    set_hotline(db, units["SYT"], "0277 3851 234 máy lẻ 12", actor=None)
    result = import_bytes(db, appendix(("Sở Y tế", "0277 3851 234 - 13", "SYT")), "ds.csv", actor=None)
    assert len(result.changed) == 1 and hotline(db, "SYT") == ("0277 3851 234", "13")
    plan = import_bytes(db, appendix(("Sở Y tế", "0277 3851 234", "SYT")), "ds.csv", actor=None, dry_run=True)
    assert len(plan.changed) == 1 and "13" in plan.changed[0]
    import_bytes(db, appendix(("Sở Y tế", "0277 3851 234", "SYT")), "ds.csv", actor=None)
    assert hotline(db, "SYT") == ("0277 3851 234", "")
    assert history(db, "SYT", "extension")[-2:] == [("12", "13"), ("13", None)]


def test_a_new_unit_and_a_new_number_keep_their_extension_and_the_plan_says_it(db, units):
    data = appendix(("Sở Nội vụ", "0277 3851 555 máy lẻ 7", "SNV"), ("Sở Y tế", "0277 3851 999 nhánh 8", "SYT"))
    plan = import_bytes(db, data, "ds.csv", actor=None, dry_run=True)
    assert plan.of("new")[0].what == "0277 3851 555 máy lẻ 7"
    assert "0277 3851 999 máy lẻ 8" in plan.of("changed")[0].what
    import_bytes(db, data, "ds.csv", actor=None)
    assert hotline(db, "SNV") == ("0277 3851 555", "7")
    assert hotline(db, "SYT") == ("0277 3851 999", "8")


def test_an_export_writes_the_extension_and_imports_back_unchanged_in_both_formats(db, units):
    set_hotline(db, units["SYT"], "0277 3851 234 máy lẻ 12", actor=None)
    csv_bytes = export_bytes(db, "csv")
    assert "0277 3851 234 máy lẻ 12" in csv_bytes.decode("utf-8-sig")
    xlsx_bytes = export_bytes(db, "xlsx")
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(xlsx_bytes)).active.iter_rows(values_only=True) for c in row]
    assert "0277 3851 234 máy lẻ 12" in cells
    before = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    for data, name in ((csv_bytes, "ds.csv"), (xlsx_bytes, "ds.xlsx")):
        result = import_bytes(db, data, name, actor=None)
        assert (len(result.created), len(result.changed), result.unchanged) == (0, 0, 2), result.changed
    assert hotline(db, "SYT") == ("0277 3851 234", "12")
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == before


def test_the_import_page_dry_run_shows_the_extension_change(app, db, units, inspector):
    client = app.test_client()
    assert login(client, inspector["email"], inspector["password"]).status_code == 302
    page = client.get("/registry/import").get_data(as_text=True)
    response = client.post("/registry/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_from(page), "dry_run": "y",
        "file": (io.BytesIO(appendix(("Sở Y tế", "0277 3851 234 máy lẻ 12", "SYT"))), "ds.csv")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "máy lẻ (không có) → 12" in html
    assert hotline(db, "SYT") == ("0277 3851 234", "")
