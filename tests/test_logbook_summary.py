"""The monthly province-wide summary of the logbooks: the figures per unit, and the same table as JSON, CSV, XLSX,
PDF and from the command line."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest

from registry.errors import RegistryError
from registry.logbook import entries, summary, transfers
from registry.units import create_unit

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)  # Tuesday 1 December 2026, 09:00 local
CALL = {"channel": "hotline", "reporter_name": "Nguyễn Văn A", "reporter_phone": "0912345678", "field_code": "tthc",
        "content": "Hỏi thủ tục", "received_by": "Chị Lan"}


@pytest.fixture
def month(db, units):
    """November at SYT: on time, late, overdue and open, moved twice; a formula-like unit name."""
    third = create_unit(db, {"code": "STC", "name": "=Sở Tài chính", "kind": "department", "group_code": "A"})
    on_spot = {**CALL, "level": "on_spot", "answer": "Đã hướng dẫn", "received_at": "2026-11-03 08:00"}
    entries.create(db, units["SYT"], on_spot, user_id=None, now=NOW)
    late = entries.create(db, units["SYT"], {**CALL, "received_at": "2026-11-02 08:00"}, user_id=None, now=NOW)
    entries.answer(db, late["id"], "Đã trả lời", user_id=None, now=NOW)  # deadline 16/11, answered 01/12
    entries.create(db, units["SYT"], {**CALL, "received_at": "2026-11-04 08:00", "field_code": "dat-dai"},
                   user_id=None, now=NOW)  # open, due 25/11
    moved = entries.create(db, units["SYT"], {**CALL, "received_at": "2026-11-30 08:00"}, user_id=None, now=NOW)
    there = transfers.transfer(db, moved["id"], units["XMA"], "Thuộc thẩm quyền xã", user_id=None, now=NOW)
    transfers.transfer(db, there["id"], third, "Thuộc thẩm quyền Sở Tài chính", user_id=None, now=NOW)
    entries.create(db, units["SYT"], {**CALL, "received_at": "2026-10-31 08:00"}, user_id=None, now=NOW)  # October
    return summary.monthly(db, 2026, 11, now=NOW)


def test_the_figures_per_unit(month):
    rows = {r["code"]: r for r in month.rows}
    syt = rows["SYT"]
    assert syt["received"] == 4 and syt["answered_on_time"] == 1 and syt["answered_late"] == 1
    assert syt["overdue_open"] == 2  # the open one due 25/11 and October's, both past their deadline
    assert syt["transferred_twice"] == 1
    assert syt["by_field"] == {"tthc": 3, "dat-dai": 1}
    assert rows["XMA"]["received"] == 1 and rows["STC"]["received"] == 1
    assert month.totals["received"] == 6 and month.totals["by_field"]["tthc"] == 5


def test_every_format_carries_the_table(app, month):
    data = json.loads(summary.render(month, "json"))
    assert data["month"] == 11 and {u["code"] for u in data["units"]} >= {"SYT", "XMA", "STC"}
    assert any(u["name"] == "=Sở Tài chính" for u in data["units"])  # JSON keeps the raw text
    table = list(csv.reader(io.StringIO(summary.render(month, "csv").decode("utf-8-sig"))))
    assert table[0][:7] == ["Mã đơn vị", "Tên đơn vị", "Tiếp nhận", "Trả lời đúng hạn", "Trả lời quá hạn",
                            "Quá hạn chưa trả lời", "Chuyển quá một lần"]
    assert ["STC", "'=Sở Tài chính"] in [row[:2] for row in table]
    assert table[-1][1] == "Toàn tỉnh" and table[-1][2] == "6"
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(summary.render(month, "xlsx"))).active
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert "'=Sở Tài chính" in cells and summary.TITLE in cells
    from pypdf import PdfReader

    with app.app_context():
        pdf = summary.render(month, "pdf")
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Tháng 11/2026" in text and "Sở Y tế" in text and "Toàn tỉnh" in text
    with pytest.raises(RegistryError):
        summary.render(month, "doc")


def test_the_command_line_writes_the_summary(runner, month, tmp_path):
    path = tmp_path / "tong-hop.json"
    result = runner.invoke(args=["logbook", "summary", str(path), "--month", "2026-11"])
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_bytes())["totals"]["received"] == 6
    for month_text in ("11-2026", "2026-13", "9999-01"):
        bad = runner.invoke(args=["logbook", "summary", str(path), "--month", month_text])
        assert bad.exit_code == 1 and "Error:" in bad.output
    assert runner.invoke(args=["logbook", "summary", "--help"]).output.count("Example:") == 1
