"""English translation: the catalog compiles, covers every string the code marks, and the language button switches it."""
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from .conftest import csrf_from, login

ROOT = Path(__file__).resolve().parent.parent
PO_PATH = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# The same keywords as the documented command: pybabel extract -F babel.cfg -k _l -k lazy_gettext
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdf]|\{[a-z_]*\}")


def _catalog():
    with PO_PATH.open("rb") as fh:
        return read_po(fh)


def _extracted() -> dict[str, list[str]]:
    """Every msgid a fresh extraction finds (as pybabel extract would), with where it was found."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _switch(client, code, next_url="/"):
    page = client.get(next_url).get_data(as_text=True)
    return client.post(f"/lang/{code}", data={"csrf_token": csrf_from(page), "next": next_url})


@pytest.mark.slow
def test_fresh_extraction_finds_the_strings_of_templates_and_python_forms():
    found = _extracted()
    assert len(found) > 300
    sources = {where.split(":")[0] for places in found.values() for where in places}
    assert {"templates/base.html", "registry/web/forms.py", "monitor/labels.py"} <= sources
    # views (flash messages), domain errors and the CLI are extracted too, not only forms and templates
    assert any(s.startswith("registry/web/") and s != "registry/web/forms.py" for s in sources)
    assert {"registry/numbers.py", "monitor/disputes.py", "monitor/cli.py", "registry/cli.py"} <= sources


@pytest.mark.slow
def test_every_extracted_string_has_an_english_translation():
    catalog = _catalog()
    untranslated = [
        f"{msgid!r} ({', '.join(places[:2])})"
        for msgid, places in sorted(_extracted().items())
        if catalog.get(msgid) is None or not catalog.get(msgid).string
    ]
    assert not untranslated, (
        "Strings without English: run `pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/messages.pot . && "
        "pybabel update -i /tmp/messages.pot -d translations -l en` and translate:\n  " + "\n  ".join(untranslated)
    )


def test_catalog_has_no_fuzzy_or_empty_entries():
    catalog = _catalog()
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    empty = [m.id for m in catalog if m.id and not m.string]
    assert not fuzzy, f"fuzzy entries (check the English, then drop the flag): {fuzzy}"
    assert not empty, f"entries without English: {empty}"


def test_translations_keep_every_placeholder_of_their_msgid():
    catalog = _catalog()
    broken = [
        (m.id, m.string) for m in catalog
        if m.id and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert not broken
    # Babel's own checker too (python-format messages)
    assert [(m.id, errors) for m, errors in catalog.check()] == []


def test_catalog_compiles_to_a_mo_file_that_reads_back_every_translation():
    catalog = _catalog()
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = read_mo(buffer)
    translated = [m for m in catalog if m.id]
    assert len(translated) > 300
    assert all(compiled.get(m.id).string == m.string for m in translated)


def test_app_start_compiles_the_catalog_next_to_the_po_file(app):
    mo_path = PO_PATH.with_suffix(".mo")
    assert mo_path.exists() and mo_path.stat().st_mtime >= PO_PATH.stat().st_mtime


def test_directory_is_vietnamese_by_default(client, units):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Danh bạ đường dây nóng các cơ quan, đơn vị, địa phương" in html
    assert ">English</button>" in html


def test_language_button_switches_the_directory_to_english_and_back(client, units):
    response = _switch(client, "en")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>Hotline directory of agencies, units and localities</h1>" in html
    assert ">Hotline number</th>" in html and ">Directory</a>" in html
    assert "Danh bạ đường dây nóng" not in html
    assert ">Tiếng Việt</button>" in html
    assert "Sở Y tế" in html  # data stays as entered

    _switch(client, "vi")
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "Danh bạ đường dây nóng các cơ quan, đơn vị, địa phương" in html
    assert "Hotline directory" not in html


def test_language_switch_returns_to_the_page_it_was_pressed_on(client, units):
    response = _switch(client, "en", next_url="/?q=so+y+te")
    assert response.status_code == 302 and response.headers["Location"].endswith("/?q=so+y+te")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Units matching the search: 1." in html


def test_language_switch_without_csrf_token_is_refused_and_changes_nothing(client, units):
    assert client.post("/lang/en", data={"next": "/"}).status_code == 400
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("code", ["fr", "EN", "xx"])
def test_unknown_language_code_keeps_the_current_language(client, units, code):
    _switch(client, "en")
    _switch(client, code)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path, vietnamese_heading", [
    ("/units", "Đơn vị và số đường dây nóng"),
    ("/units/SYT", "Lịch sử thay đổi"),
    ("/changes", "Thay đổi gần đây"),
    ("/groups", "Nhóm đơn vị"),
    ("/monitor/attempts", "Cuộc gọi kiểm tra gần đây"),
    ("/monitor/units/SYT", "Lịch sử gọi kiểm tra"),
    ("/reports/", "Báo cáo kết quả kiểm tra đường dây nóng"),
    ("/reports/units/SYT", "Kết quả kiểm tra đường dây nóng"),
    ("/reports/disputes", "Giải trình của các đơn vị"),
    ("/reports/alerts", "Thư cảnh báo đã gửi"),
])
def test_inspector_pages_show_their_headings_in_english(inspector_client, units, path, vietnamese_heading):
    english = _catalog().get(vietnamese_heading).string
    _switch(inspector_client, "en", next_url=path)
    response = inspector_client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert english in html and vietnamese_heading not in html


def test_sign_in_page_is_english_after_switching(client):
    _switch(client, "en", next_url="/login")
    html = client.get("/login").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in html and "Đăng nhập" not in html
    assert 'for="email"' in html


def test_chosen_language_survives_signing_in(client, inspector):
    _switch(client, "en", next_url="/login")
    response = login(client, inspector["email"], inspector["password"])
    assert response.status_code == 302
    assert ("ok", "Signed in.") in _flashes(client)
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def _flashes(client):
    with client.session_transaction() as session:
        return session.get("_flashes", [])
