"""Generated input: Hypothesis fills the forms (login, the number field, the unit forms) and builds import files
(CSV and XLSX with random rows, and random bytes); schemathesis drives the JSON API from its OpenAPI document.

Whatever comes in: a clear answer (a redirect after saving, or 400/401 with the reason shown), never a 500,
and a refused input changes nothing (the database is compared before and after).
"""
import csv
import io
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from registry.numbers import NumberError, parse_hotline

from .conftest import csrf_from, login, make_editor

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ERROR_SHOWN = re.compile(r'class="(field-error|errors-summary)"')

# Text as people type it, with Vietnamese letters, digits, punctuation, markup, control characters and
# surrogate-free Unicode; and text shaped like phone numbers.
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
vietnamese = st.text(st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạếềểễệốồổỗộớờởỡợúùủũụứừửữự ")
                                     + list("0123456789 .,-()/+;:\"'<>&")), max_size=80)
digits = st.text(st.sampled_from(list("0123456789 .-()+/,;xX")), min_size=0, max_size=30)
numberish = st.one_of(
    digits,
    st.builds(lambda a, b: f"0{a} {b}", st.sampled_from(["277", "67", "912", "2773", "1800", "1900", "28", "24"]),
              st.integers(0, 10**9).map(str)),
    st.sampled_from(["0277 3851 234", "0277 1022", "1022", "113", "0912 345 678", "067 3851 234", "01234 567 890",
                     "0277 3851 234 - 0277 3851 235", "+84 277 3851 234", "", " ", "0", "0277 3851 23"]),
    text,
)


def snapshot(db):
    tables = {}
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                               "('login_failures', 'sessions', 'users', 'sqlite_sequence', 'sqlite_stat1')").fetchall():
        tables[table] = db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    tables["users"] = db.execute("SELECT id, email, role, unit_id, password_hash, active FROM users ORDER BY id").fetchall()
    return tables


pytestmark = [pytest.mark.slow,  # Hypothesis drives every form and import hundreds of times
              pytest.mark.usefixtures("quick_password_hashing")]  # see conftest.py


@pytest.fixture
def clients(app, db, units, inspector):
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    out = {}
    for role, account in (("editor", editor), ("inspector", inspector)):
        client = app.test_client()
        assert login(client, account["email"], account["password"]).status_code == 302
        out[role] = client
    return out


def post(client, url, data, page=None, **kwargs):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def assert_answered_cleanly(response, db, before, *, saved=(302,)):
    """Saved (a redirect) or refused with a visible reason and nothing written; never a server error."""
    assert response.status_code < 500, response.status_code
    if response.status_code in saved:
        return True
    assert response.status_code in (400, 401, 413, 429), response.status_code
    if "text/html" in response.headers.get("Content-Type", "") and response.status_code == 400:
        assert ERROR_SHOWN.search(response.get_data(as_text=True)), "refused without saying why"
    assert snapshot(db) == before, "refused input changed the database"
    return False


# --------------------------------------------------------------------------------------------- forms


@FUZZ
@given(email=st.one_of(text, st.emails().map(str)), password=text)
def test_login_with_any_input_answers_cleanly_and_signs_nobody_in(app, db, units, inspector, email, password):
    client = app.test_client()
    before = snapshot(db)
    response = post(client, "/login", {"email": email, "password": password})
    assert response.status_code in (400, 401, 429)
    assert snapshot(db) == before
    assert client.get("/units").status_code == 302  # still signed out


@FUZZ
@given(raw=numberish, hours=st.sampled_from(["24/7", "office", "", "cả ngày"]), reason=st.one_of(vietnamese, text))
def test_the_number_field_with_any_input_saves_a_valid_number_or_says_why_and_writes_nothing(clients, db, units, raw,
                                                                                            hours, reason):
    before = snapshot(db)
    response = post(clients["editor"], "/units/SYT", {"action": "number", "number": raw, "hours": hours, "reason": reason})
    if assert_answered_cleanly(response, db, before):
        stored = db.execute("SELECT number, hours FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()
        assert stored[0] == parse_hotline(raw).number and stored[1] == hours
    elif response.status_code == 400:
        html = response.get_data(as_text=True)
        if hours not in ("24/7", "office"):
            assert "Hãy chọn thời gian trực" in html
            return
        try:
            parse_hotline(raw)
        except NumberError as exc:
            assert exc.message.replace("<", "&lt;").split("«")[0] in html  # the number's own reason, in Vietnamese


@FUZZ
@given(name=st.one_of(vietnamese, text), email=st.one_of(st.emails().map(str), text), address=text, reason=text)
def test_the_contact_form_with_any_input_saves_or_says_why_and_writes_nothing(clients, db, units, name, email, address,
                                                                               reason):
    before = snapshot(db)
    response = post(clients["editor"], "/units/SYT", {"action": "contact", "contact_name": name, "contact_email": email,
                                                      "address": address, "contact_reason": reason})
    if assert_answered_cleanly(response, db, before):
        row = db.execute("SELECT contact_name, contact_email FROM units WHERE id = ?", [units["SYT"]]).fetchone()
        assert row[0] == name.strip() and row[1] == email.strip()


dates = st.one_of(st.dates().map(str), st.sampled_from(["", "2025-02-30", "30/06/2025", "2025-6-1", "ngày mai"]), text)


@FUZZ
@given(name=st.one_of(vietnamese, text), kind=st.sampled_from(["commune", "ward", "agency", "khác", ""]),
       group=st.sampled_from(["A", "B", "C", "Z", ""]), parent=st.sampled_from(["", "XMA", "SYT", "KHONGCO"]),
       valid_from=dates, valid_to=dates, reason=text)
def test_the_inspectors_unit_form_with_any_input_saves_or_says_why_and_writes_nothing(clients, db, units, name, kind,
                                                                                      group, parent, valid_from,
                                                                                      valid_to, reason):
    before = snapshot(db)
    response = post(clients["inspector"], "/units/SYT", {
        "action": "details", "name": name, "kind": kind, "group_code": group, "parent_code": parent,
        "valid_from": valid_from, "valid_to": valid_to, "details_reason": reason})
    if assert_answered_cleanly(response, db, before):
        row = db.execute("SELECT name, group_code, valid_from, valid_to FROM units WHERE id = ?", [units["SYT"]]).fetchone()
        assert row[0] == name.strip() and row[1] == group
        assert not (row[2] and row[3]) or row[2] <= row[3]


@FUZZ
@given(code=st.one_of(st.from_regex(r"\A[A-Z][A-Z0-9-]{0,12}\Z"), text), name=st.one_of(vietnamese, text),
       number=numberish)
def test_creating_a_unit_with_any_input_creates_it_whole_or_nothing(clients, db, units, code, name, number):
    before = snapshot(db)
    response = post(clients["inspector"], "/units/new", {"code": code, "name": name, "kind": "commune",
                                                         "group_code": "C", "number": number, "hours": "24/7"})
    if assert_answered_cleanly(response, db, before):
        unit = db.execute("SELECT id FROM units WHERE code = ?", [code.strip()]).fetchone()
        assert unit is not None
        if number.strip():  # the unit and its number together, or neither
            assert db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit[0]]).fetchone()[0] == \
                parse_hotline(number).number


# ------------------------------------------------------------------------------------------ import files

cell = st.one_of(vietnamese, numberish, st.sampled_from(["A", "B", "C", "I", "II", "1", "", "24/24 giờ", "Giờ hành chính",
                                                         "=HYPERLINK(\"x\")", "+84", "-", "SYT", "XMA"]))
row = st.lists(cell, min_size=0, max_size=6)
HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ", "MÃ ĐƠN VỊ"]


def csv_bytes(rows, with_header: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if with_header:
        writer.writerow(["DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG"])
        writer.writerow([])
        writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows, with_header: bool) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if with_header:
        sheet.append(["DANH SÁCH SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG"])
        sheet.append([])
        sheet.append(HEADER)
    for values in rows:
        sheet.append([re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v) for v in values])  # what Excel can hold
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str, dry_run=False):
    form = {"file": (io.BytesIO(data), name)}
    if dry_run:
        form["dry_run"] = "y"
    return post(client, "/registry/import", form, content_type="multipart/form-data")


def assert_import_answered(response, db, before, dry_run):
    assert response.status_code in (200, 400), response.status_code
    html = response.get_data(as_text=True)
    if response.status_code == 400:
        assert ERROR_SHOWN.search(html), "refused file without a reason"
        rows = re.findall(r'<td data-label="Dòng" class="num">(\d+)</td>', html)
        assert rows or 'class="field-error"' in html  # every bad row named by its number, or the file's problem
        assert snapshot(db) == before
    elif dry_run:
        assert snapshot(db) == before


@FUZZ
@given(rows=st.lists(row, max_size=12), with_header=st.booleans(), fmt=st.sampled_from(["csv", "xlsx"]),
       dry_run=st.booleans())
def test_an_import_file_with_random_rows_is_applied_whole_or_refused_with_row_numbers_and_nothing_written(
        clients, db, units, rows, with_header, fmt, dry_run):
    data = csv_bytes(rows, with_header) if fmt == "csv" else xlsx_bytes(rows, with_header)
    before = snapshot(db)
    response = upload(clients["inspector"], data, f"tep.{fmt}", dry_run)
    assert_import_answered(response, db, before, dry_run)


@FUZZ
@given(data=st.binary(max_size=3000), name=st.sampled_from(["a.csv", "a.xlsx", "a.CSV", "a", "a.xls", "a.pdf"]))
def test_random_bytes_as_an_import_file_are_refused_cleanly(clients, db, units, data, name):
    assume(data.strip())
    before = snapshot(db)
    response = upload(clients["inspector"], data, name)
    assert_import_answered(response, db, before, dry_run=False)
    assert response.status_code == 400 or name.lower().endswith(".csv")


def test_a_valid_export_with_one_corrupted_row_lists_that_row_and_writes_nothing(clients, db, units):
    from registry.appendix import export_csv

    lines = export_csv(db).decode("utf-8-sig").splitlines()
    lines.append('9,"Xã Mới",0277 3851 234 / 0277 3851 235,,XMOI')
    before = snapshot(db)
    response = upload(clients["inspector"], "\n".join(lines).encode("utf-8-sig"), "sua.csv")
    assert response.status_code == 400
    assert re.findall(r'<td data-label="Dòng" class="num">(\d+)</td>', response.get_data(as_text=True)) == [str(len(lines))]
    assert snapshot(db) == before


# --------------------------------------------------------------------------------------------- the API


def test_the_json_api_conforms_to_its_openapi_document_for_generated_requests(app, db, units):
    from registry.hotlines import set_hotline
    from registry.units import create_unit

    for i in range(5):
        set_hotline(db, create_unit(db, {"code": f"X-{i}", "name": f"UBND xã Thử {i}", "group_code": "C"}),
                    f"0277 3852 {100 + i}", actor=None)
    before = snapshot(db)
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /api/hotlines", "GET /api/hotlines/{code}"}
    seen = set()
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in [(op, mode) for op in operations for mode in modes]:

        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode))
        def check(case):
            # every schemathesis check: no server error, status codes and content types as documented,
            # responses valid against the document's schemas; invalid requests (negative mode) refused
            response = case.call_and_validate()
            seen.add((case.operation.label, response.status_code))
            assert response.headers["content-type"][0].startswith("application/json")

        check()
    assert snapshot(db) == before  # a read-only API writes nothing
    assert {status for _, status in seen} >= {200, 400}
