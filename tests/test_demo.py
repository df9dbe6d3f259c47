"""Demo data: real names, fictional numbers all marked as demo, the two demo accounts, loaded once."""
from datetime import datetime, timezone

import pytest

from registry import demo
from registry.demo import load_demo
from registry.numbers import parse_hotline

from .conftest import login

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


pytestmark = pytest.mark.usefixtures("quick_password_hashing")  # see conftest.py


def test_demo_loads_once_and_a_second_run_changes_nothing(db):
    assert load_demo(db, now=NOW) is True
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("units", "hotlines", "changes", "users")}
    assert load_demo(db, now=NOW) is False
    assert {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts} == counts
    assert counts["units"] == len(demo.AGENCIES) + len(demo.DISTRICTS) + len(demo.COMMUNES)


def test_demo_does_nothing_when_the_registry_already_has_units(db, units):
    assert load_demo(db) is False
    assert db.execute("SELECT count(*) FROM units").fetchone()[0] == 2


def test_every_demo_number_is_marked_as_demo_and_looks_fictional(db):
    load_demo(db, now=NOW)
    rows = db.execute_returning_dicts("SELECT number, display, is_demo FROM hotlines")
    assert rows and all(r["is_demo"] == 1 for r in rows)
    for r in rows:
        assert r["display"].startswith(("0277 390", "0900 000", "0277 1022")), r["display"]
        assert parse_hotline(r["display"]).number == r["number"]


def test_demo_has_the_cases_the_pages_must_show(db):
    load_demo(db, now=NOW)
    by_code = {u["code"]: u for u in db.execute_returning_dicts(
        "SELECT u.code, u.name, u.group_code, u.valid_from, u.valid_to, h.display, h.kind, h.hours, h.shared, "
        "h.shared_note FROM units u LEFT JOIN hotlines h ON h.unit_id = u.id")}
    assert (by_code["TTPVHCC"]["display"], by_code["TTPVHCC"]["kind"]) == ("0277 1022", "short")
    shared = [c for c, u in by_code.items() if u["shared"]]
    assert sorted(shared) == ["TTT", "VPUBND"] and by_code["TTT"]["display"] == by_code["VPUBND"]["display"]
    assert all(by_code[c]["shared_note"] for c in shared)
    assert [c for c, u in by_code.items() if u["hours"] == "office"] == ["SKHCN"]
    districts = [u for u in by_code.values() if u["group_code"] == "B"]
    assert len(districts) == 12 and all(u["valid_to"] == "2025-06-30" for u in districts)
    communes = [u for u in by_code.values() if u["group_code"] == "C"]
    assert len(communes) >= 20 and all(u["valid_from"] == "2025-07-01" for u in communes)
    names = {u["name"] for u in by_code.values()}
    for department in ("Sở Nội vụ", "Sở Tư pháp", "Sở Tài chính", "Sở Công Thương", "Sở Nông nghiệp và Môi trường",
                       "Sở Xây dựng", "Sở Khoa học và Công nghệ", "Sở Văn hóa, Thể thao và Du lịch",
                       "Sở Giáo dục và Đào tạo", "Sở Y tế", "Thanh tra tỉnh", "Văn phòng Ủy ban nhân dân tỉnh"):
        assert department in names


def test_demo_history_shows_an_earlier_number_with_its_reason(db):
    load_demo(db, now=NOW)
    change = db.execute(
        "SELECT c.old, c.new, c.reason FROM changes c JOIN units u ON u.id = c.unit_id "
        "WHERE u.code = 'SYT' AND c.field = 'number' AND c.old IS NOT NULL").fetchone()
    assert change == ("0277 3900 190", "0277 3900 110", "Chuyển sang tổng đài mới của Sở")


def test_demo_directory_shows_current_units_only_and_the_demo_notice(client, db):
    load_demo(db)
    html = client.get("/").get_data(as_text=True)
    assert "Sở Y tế" in html and "UBND phường Mỹ Tho" in html and "0277 1022" in html
    assert "UBND huyện Lai Vung" not in html  # ended on 30 June 2025
    assert "số mẫu, không có thật" in html


def test_demo_accounts_sign_in_with_their_roles(app, db):
    load_demo(db)
    inspector = app.test_client()
    assert login(inspector, *demo.INSPECTOR[:2]).headers["Location"].endswith("/units")
    assert inspector.get("/units").status_code == 200
    editor = app.test_client()
    assert login(editor, *demo.EDITOR[:2]).headers["Location"].endswith("/my")
    assert editor.get("/units/SYT").status_code == 200
    assert editor.get("/units/SNV").status_code == 403
    assert editor.get("/units").status_code == 403


def test_demo_command_is_idempotent_and_prints_the_accounts(runner, db):
    first = runner.invoke(args=["registry", "demo"])
    assert first.exit_code == 0 and demo.INSPECTOR[0] in first.output and demo.EDITOR[1] in first.output
    second = runner.invoke(args=["registry", "demo"])
    assert second.exit_code == 0 and "không thêm" in second.output
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2
