"""Hostile and huge appendix files: each is refused within seconds, with bounded memory, a Vietnamese message
naming what is wrong, and nothing written, on the import page and on the command line.

Every file is built here, small: a sheet with two cells a million rows apart (5 KB), a 1 MB zip bomb that
inflates to 1 GB (its deflate stream repeated, never compressed for real), entity expansion, files that
are not what their name says. The limits themselves are registry/appendix/limits.py.
"""
import functools
import io
import os
import re
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

import registry.appendix.read as read_module
from monitor.app import create_app, init_db
from registry.appendix import TemplateError, import_bytes, read_sheet
from registry.appendix.limits import LIMITS, LimitExceeded, Limits
from registry.db import connect

from .conftest import csrf_from

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["STT", "TÊN CƠ QUAN, ĐƠN VỊ, ĐỊA PHƯƠNG", "SỐ ĐIỆN THOẠI ĐƯỜNG DÂY NÓNG", "GHI CHÚ", "MÃ ĐƠN VỊ"]
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


# ------------------------------------------------------------------------------------------ building files


def workbook_bytes(rows=(), **cells) -> bytes:
    """A real workbook (openpyxl) with rows appended and single cells set (A1="x")."""
    book = Workbook()
    sheet = book.active
    for values in rows:
        sheet.append(values)
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_sheet_xml(xml: str, data: bytes | None = None) -> bytes:
    """A real workbook whose first sheet's XML is replaced by xml."""
    parts = parts_of(data or workbook_bytes([["x"]]))
    parts[SHEET] = xml.encode()
    return zipped(parts)


def sheet_xml(rows: str, dimension: str | None = None, prolog: str = "") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet {NS}>{dim}<sheetData>{rows}</sheetData></worksheet>'


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


CSV_HEADER = ",".join(f'"{title}"' for title in HEADER)
HEADER_ROW = "".join(inline(f"{col}1", title) for col, title in zip("ABCDE", HEADER))


@functools.cache
def zip_bomb(inflated: int = 1024 ** 3) -> bytes:
    """A real workbook whose sheet part inflates to `inflated` bytes of spaces from about a thousandth of that.

    The deflate stream of 1 MB of spaces, ended by a full flush, is self-contained: repeated, it is the
    stream of N MB. The zip is written by hand around it, so building a 1 GB bomb takes no compressing.
    """
    chunk = 1024 * 1024
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = block.compress(b" " * chunk) + block.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    count = inflated // chunk
    crc = 0
    spaces = b" " * chunk
    for _ in range(count):
        crc = zlib.crc32(spaces, crc)
    entries = [(name, zlib.compress(content, 9)[2:-4], zlib.crc32(content), len(content))
               for name, content in parts_of(workbook_bytes([HEADER])).items() if name != SHEET]
    entries.append((SHEET, piece * count + end, crc, count * chunk))
    out, central = io.BytesIO(), io.BytesIO()
    for name, body, crc32, size in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc32, len(body), size, len(encoded), 0))
        out.write(encoded + body)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc32, len(body), size,
                                  len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central.getvalue()), start, 0))
    return out.getvalue()


def far_apart(dimension: bool = True) -> bytes:
    """Two cells, A1 and XFD1048576: 5 KB that made openpyxl's padded rows take gigabytes."""
    data = workbook_bytes(A1="STT", XFD1048576="x")
    if dimension:
        return data
    parts = parts_of(data)
    parts[SHEET] = re.sub(rb"<dimension[^>]*/>", b"", parts[SHEET])  # a file may lie or say nothing
    return zipped(parts)


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
    + "]>"
)


def laughing_sheet() -> bytes:
    return with_sheet_xml(sheet_xml(f'<row r="1">{inline("A1", "&lol9;")}</row>', prolog=BILLION_LAUGHS))


def ods_renamed() -> bytes:
    return zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<office/>"})


# (file, its name, what the message must say): each refused before anything is parsed or written.
HOSTILE = {
    "two far-apart cells": (far_apart, "xa.xlsx", "vượt giới hạn 200000 dòng × 200 cột"),
    "far-apart cells, no dimension": (lambda: far_apart(dimension=False), "xa.xlsx", "có hơn 200000 dòng"),
    "zip bomb": (zip_bomb, "bom.xlsx", "giải nén ra gấp"),
    "billion laughs": (laughing_sheet, "cuoi.xlsx", "khai báo thực thể XML"),
    "not a zip": (lambda: b"<html>not a workbook</html>", "gia.xlsx", "không phải là bảng tính XLSX"),
    "password-protected or .xls renamed": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "mat-khau.xlsx",
                                           "đặt mật khẩu"),
    ".ods renamed": (ods_renamed, "ods.xlsx", "OpenDocument"),
    ".xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "cu.xls", ".xls"),
    ".ods": (ods_renamed, "bang.ods", "Chỉ hỗ trợ tệp .xlsx hoặc .csv"),
    "a zip without a workbook": (lambda: zipped({"hello.txt": b"hi"}), "zip.xlsx", "thiếu phần “[Content_Types].xml”"),
    ".xlsb renamed": (lambda: zipped({**parts_of(workbook_bytes()), "xl/workbook.bin": b"\0"}), "b.xlsx", ".xlsb"),
    "too many parts": (lambda: zipped({f"p{i}.xml": b"" for i in range(1001)}), "nhieu.xlsx", "1001 thành phần"),
    "too wide": (lambda: with_sheet_xml(sheet_xml(f'<row r="1">{HEADER_ROW}{inline("HZ1", "x")}</row>', "A1:HZ1")),
                 "rong.xlsx", "234 cột"),
    "a filled cell past the columns": (lambda: with_sheet_xml(sheet_xml(f'<row r="1">{HEADER_ROW}</row>'
                                                                        f'<row r="2">{inline("ZZ2", "x")}</row>')),
                                       "o.xlsx", "Ô ZZ2"),
    "too large": (lambda: b"STT,x\n" * (LIMITS.file_bytes // 6 + 1), "lon.csv", "Tệp quá lớn"),
    "too many CSV rows": (lambda: (CSV_HEADER + "\n" * LIMITS.rows + ",x\n").encode(), "dai.csv",
                          "có hơn 200000 dòng"),
    "a CSV too wide": (lambda: (CSV_HEADER + "\n" + "," * 250 + "x\n").encode(), "rong.csv",
                       "cột thứ 251"),
}


# ------------------------------------------------------------------------------------------ the reader

# over a second each (200,000 rows read before the refusal; a gigabyte's checksum): in the full run only
SLOW = {"too many CSV rows", "zip bomb"}


@pytest.mark.parametrize("kind", [pytest.param(kind, marks=[pytest.mark.slow] if kind in SLOW else [])
                                  for kind in HOSTILE])
def test_a_hostile_file_is_refused_quickly_with_little_memory_and_a_message_naming_the_problem(kind):
    build, name, message = HOSTILE[kind]
    data = build()
    assert len(data) < 6 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        read_sheet(data, name)
    assert time.monotonic() - started < 5
    assert message in caught.value.message
    tracemalloc.start()  # a second time, measured (tracing slows every allocation down)
    try:
        with pytest.raises(TemplateError):
            read_sheet(data, name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"{peak / 2**20:.0f} MB"


@pytest.mark.slow
def test_the_zip_bomb_is_small_and_really_inflates_to_a_gigabyte():
    data = zip_bomb()
    assert len(data) < 1.2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(SHEET)
        assert info.file_size == 1024 ** 3
        with archive.open(SHEET) as part:
            assert part.read(4096) == b" " * 4096  # a real deflate stream, not a lie about sizes


def test_openpyxl_parses_through_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML, "defusedxml is not installed or OPENPYXL_DEFUSEDXML is off"


def test_entities_in_the_workbook_part_are_refused_too():
    parts = parts_of(workbook_bytes([HEADER]))
    workbook = re.sub(rb"^<\?xml[^>]*\?>", b"", parts["xl/workbook.xml"])
    parts["xl/workbook.xml"] = BILLION_LAUGHS.encode() + workbook.replace(b"<sheets>", b"<!-- &lol9; --><sheets>", 1)
    with pytest.raises(TemplateError, match="khai báo thực thể XML"):
        read_sheet(zipped(parts), "cuoi.xlsx")


def test_total_unpacked_size_and_ratio_have_their_own_limits(monkeypatch):
    data = workbook_bytes([HEADER, ["1", "Sở Y tế", "0277 3851 234", "", "SYT"]])
    monkeypatch.setattr(read_module, "LIMITS", Limits(unpacked_bytes=1000))
    with pytest.raises(LimitExceeded, match="nội dung giải nén"):
        read_sheet(data, "a.xlsx")
    monkeypatch.setattr(read_module, "LIMITS", Limits(ratio=2, ratio_from_bytes=100))
    with pytest.raises(LimitExceeded, match="giải nén ra gấp"):
        read_sheet(data, "a.xlsx")


def test_rows_past_the_limit_are_refused_and_empty_rows_before_it_cost_nothing(monkeypatch):
    monkeypatch.setattr(read_module, "LIMITS", Limits(rows=10))
    rows = [HEADER, ["1", "Sở Y tế", "0277 3851 234", "", "SYT"]]
    assert len(read_sheet(workbook_bytes(rows + [[]] * 8), "a.xlsx").rows) == 1
    with pytest.raises(LimitExceeded, match="vượt giới hạn 10 dòng"):  # as its dimension says
        read_sheet(workbook_bytes(rows + [[]] * 8 + [["2", "Sở Tư pháp"]]), "a.xlsx")
    with pytest.raises(LimitExceeded, match="có hơn 10 dòng"):  # as its rows say, when it says nothing
        read_sheet(with_sheet_xml(sheet_xml(f'<row r="1">{HEADER_ROW}</row><row r="11"/>')), "a.xlsx")
    with pytest.raises(LimitExceeded, match="có hơn 10 dòng"):
        read_sheet((CSV_HEADER + "\n" + ",Sở Y tế,0277 3851 234\n" * 10).encode(), "a.csv")


def test_trailing_empty_rows_and_columns_are_ignored_cheaply():
    # 30,000 formatted empty rows after the table, a row of 16,000 empty fields: skipped, never padded or kept.
    empty_rows = "".join(f'<row r="{n}" ht="20" customHeight="1"/>' for n in range(3, 30_003))
    data = with_sheet_xml(sheet_xml(f'<row r="1">{HEADER_ROW}</row><row r="2">{inline("B2", "Sở Y tế")}'
                                    f'{inline("C2", "0277 3851 234")}</row>{empty_rows}', "A1:E30002"))
    started = time.monotonic()
    sheet = read_sheet(data, "duoi.xlsx")
    assert time.monotonic() - started < 5
    assert sheet.rows == [(2, {"stt": "", "name": "Sở Y tế", "number": "0277 3851 234", "note": "", "code": ""})]
    csv_data = (CSV_HEADER + "," * 16_000 + "\n,Sở Y tế,0277 3851 234" + "," * 16_000 + "\n").encode()
    assert read_sheet(csv_data, "rong.csv").rows == sheet.rows


def test_a_formula_gives_its_stored_value_and_is_never_evaluated():
    rows = (f'<row r="1">{HEADER_ROW}</row>'
            '<row r="2"><c r="B2" t="str"><f>CONCAT("Sở ","Y tế")</f><v>Sở Y tế</v></c>'
            '<c r="C2" t="str"><f>"0277 3851 "&amp;"999"</f><v>0277 3851 999</v></c></row>'
            '<row r="3"><c r="B3" t="str"><f>WEBSERVICE("http://example.invalid/")</f></c>'
            '<c r="C3"><f>1+1</f></c></row>')
    sheet = read_sheet(with_sheet_xml(sheet_xml(rows)), "cong-thuc.xlsx")
    assert sheet.rows == [(2, {"stt": "", "name": "Sở Y tế", "number": "0277 3851 999", "note": "", "code": ""})]


def test_a_header_below_empty_rows_keeps_the_row_numbers_the_spreadsheet_shows():
    rows = f'<row r="7">{"".join(inline(f"{c}7", t) for c, t in zip("ABCDE", HEADER))}</row>' \
           f'<row r="9">{inline("B9", "Sở Y tế")}{inline("C9", "0277 3851 234")}</row>'
    assert [number for number, _ in read_sheet(with_sheet_xml(sheet_xml(rows)), "a.xlsx").rows] == [9]


# ------------------------------------------------------------------------------------------ the import page


def snapshot(db):
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
                                       "('sqlite_sequence', 'sqlite_stat1', 'login_failures')").fetchall()}


def upload(client, data: bytes, name: str):
    token = csrf_from(client.get("/registry/import").get_data(as_text=True))
    return client.post("/registry/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.slow
@pytest.mark.parametrize("kind", HOSTILE)
def test_the_import_page_refuses_a_hostile_file_with_its_message_and_writes_nothing(inspector_client, db, units, kind):
    build, name, message = HOSTILE[kind]
    data = build()
    before = snapshot(db)
    started = time.monotonic()
    response = upload(inspector_client, data, name)
    assert time.monotonic() - started < 5
    html = response.get_data(as_text=True)
    assert response.status_code in (400, 413)
    if response.status_code == 413:  # past the upload limit: Flask's own refusal, before the view
        assert "Tệp quá lớn" in html
    else:
        assert 'class="field-error"' in html and message in html.replace("&#34;", '"')
    assert snapshot(db) == before


def test_an_upload_past_the_limit_gets_the_size_message_on_the_import_page(inspector_client, db, units):
    before = snapshot(db)
    response = upload(inspector_client, b"STT,x\n" * (LIMITS.file_bytes // 6 + 1), "lon.csv")
    assert response.status_code == 400 and "Tệp quá lớn" in response.get_data(as_text=True)
    response = upload(inspector_client, b"x" * (LIMITS.file_bytes + 200_000), "rat-lon.csv")
    assert response.status_code == 413 and "Tệp quá lớn" in response.get_data(as_text=True)
    assert snapshot(db) == before


def test_a_huge_file_on_disk_is_refused_from_its_size_without_being_read(tmp_path, db, units):
    from registry.appendix import import_file

    huge = tmp_path / "lon.csv"
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1024 ** 3)  # sparse: 2 GB that take no room
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="Tệp quá lớn: 2 048 MB, tối đa 5 MB"):
            import_file(db, huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    with pytest.raises(LimitExceeded, match="Tệp quá lớn"):  # a device has no size: the read itself is bounded
        import_file(db, "/dev/zero")


# ------------------------------------------------------------------------------------------ the command line

MEASURED_RUN = """
import atexit, sys
# VmHWM: the peak of this process image only. getrusage's ru_maxrss keeps, across exec, the peak of the process
# that started it (pytest, several hundred MB late in a whole run).
def _peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"peak-rss-kb={kb}\\n")
atexit.register(_peak)
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "registry", "import", sys.argv[1]]
main()
"""


@pytest.fixture
def cli_database(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "cli.db"), "SECRET_KEY": "cli-test"})
    init_db(app)
    return tmp_path / "cli.db"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["two far-apart cells", "far-apart cells, no dimension", "zip bomb",
                                  "billion laughs", "too large", "too many CSV rows"])
def test_the_command_line_refuses_a_hostile_file_in_seconds_with_bounded_memory(tmp_path, cli_database, kind):
    build, name, message = HOSTILE[kind]
    path = tmp_path / name
    path.write_bytes(build())
    environ = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    environ.update(FLASK_DATABASE=str(cli_database), FLASK_SECRET_KEY="cli-test")
    db = connect(str(cli_database))
    before = snapshot(db)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", MEASURED_RUN, str(path)], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Error: " in result.stderr and message in result.stderr, result.stderr
    peak_mb = int(re.search(r"peak-rss-kb=(\d+)", result.stderr).group(1)) / 1024
    assert peak_mb < 300, f"{peak_mb:.0f} MB"
    assert elapsed < 15  # the process starts the whole app (about 2 s) before it reads the file
    assert snapshot(db) == before
    db.conn.close()


# ------------------------------------------------------------------------------------------ generated shapes

cell_ref = st.tuples(st.integers(1, 20_000), st.integers(1, 16_384))
texts = st.sampled_from(["STT", HEADER[1], HEADER[2], "Sở Y tế", "0277 3851 234", "", " ", "=1+1", "x" * 300])


@pytest.mark.slow
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(st.tuples(cell_ref, texts), max_size=12), declared=st.one_of(st.none(), cell_ref),
       lie_rows=st.booleans())
def test_any_shape_of_sparse_cells_is_read_or_refused_cleanly_and_quickly(cells, declared, lie_rows):
    """Cells anywhere in the sheet (up to XFD), a declared dimension that may be false: a Sheet or a
    TemplateError, in well under a second, never a crash or a padded grid."""
    by_row: dict[int, list[str]] = {}
    for (row, column), value in sorted(set(cells)):
        by_row.setdefault(row, []).append(inline(f"{_letters(column)}{row}", value))
    rows = "".join(f'<row r="{row}">{"".join(c)}</row>' for row, c in sorted(by_row.items()))
    if lie_rows:  # a row far below whatever the dimension says
        rows += f'<row r="1048576">{inline("A1048576", "x")}</row>'
    dimension = f"A1:{_letters(declared[1])}{declared[0]}" if declared else None
    data = with_sheet_xml(sheet_xml(rows, dimension))
    started = time.monotonic()
    try:
        sheet = read_sheet(data, "hinh.xlsx")
    except TemplateError as exc:
        assert exc.message
    else:
        assert all(1 <= number <= LIMITS.rows for number, _ in sheet.rows)
    assert time.monotonic() - started < 1


def _letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def test_an_import_of_a_realistic_file_still_works(db, units):
    rows = [["DANH SÁCH"], [], HEADER, ["A", "CƠ QUAN, ĐƠN VỊ", "", "", ""], ["1", "Sở Y tế", "0277 3851 999", "", "SYT"]]
    result = import_bytes(db, workbook_bytes(rows), "that.xlsx", actor=None, dry_run=True)
    assert result.rows == 1 and result.changed
