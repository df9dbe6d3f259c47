"""Command line: `flask --app wsgi report --from YYYY-MM-DD --to YYYY-MM-DD --format pdf|xlsx|csv|json -o FILE`,
and a unit's evidence file: `... --unit CODE --format evidence-pdf -o FILE`; the logbook cross-check of the
test calls, `flask --app wsgi logbook match --from YYYY-MM-DD --to YYYY-MM-DD [--json]` (added to the registry's
`logbook` group)."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from monitor import labels
from monitor.logbook.match import STATUSES, match_calls
from monitor.reports.periods import parse_range
from monitor.reports.render import FORMATS, render, render_unit_file
from monitor.reports.report import build_report
from monitor.reports.unit_file import build_unit_file
from registry.cli import UserErrorCommand
from registry.clock import utcnow
from registry.db import connect
from registry.files import write_atomically

EVIDENCE_FORMAT = "evidence-pdf"  # one unit's evidence file, not a format of the report


@click.command("report", cls=UserErrorCommand)
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="Ngày đầu kỳ báo cáo (giờ Việt Nam).")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Ngày cuối kỳ báo cáo (tính cả ngày này).")
@click.option("--format", "fmt", required=True,
              help="Định dạng: pdf, xlsx, csv hoặc json; evidence-pdf: tệp bằng chứng của một đơn vị (cần --unit).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Tệp sẽ ghi ra (ghi đè nếu đã có).")
@click.option("--group", default="", help="Chỉ một nhóm (ví dụ A); mặc định tất cả các nhóm.")
@click.option("--unit", default="", help="Mã đơn vị, cho tệp bằng chứng (--format evidence-pdf).")
@with_appcontext
def report_command(start, end, fmt, output, group, unit):
    """Write the official report for a period to a file (PDF, XLSX, CSV league table, or JSON), or one
    unit's evidence file (its calls, their evidence and how to contest) with --unit and --format evidence-pdf.

    Example: flask --app wsgi report --from 2025-06-01 --to 2025-06-30 --format pdf -o bao-cao-thang-6.pdf
    """
    fmt, unit = fmt.strip().lower(), unit.strip()
    if fmt not in FORMATS + (EVIDENCE_FORMAT,):
        raise click.ClickException(f"Định dạng “{fmt}” không hỗ trợ: chọn một trong "
                                   f"{', '.join(FORMATS + (EVIDENCE_FORMAT,))}.")
    if (fmt == EVIDENCE_FORMAT) != bool(unit):
        raise click.ClickException(f"Tệp bằng chứng của một đơn vị cần cả --unit MÃ và --format {EVIDENCE_FORMAT}.")
    period = parse_range(start, end)
    target = Path(output)
    if not target.parent.is_dir():
        raise click.ClickException(f"Thư mục “{target.parent}” không tồn tại: không ghi được tệp {target.name}.")
    settings = current_app.extensions["settings"]
    db = connect(settings.database)
    try:
        if unit:
            unit_file = build_unit_file(db, period, unit, now=utcnow(), settings=settings)
            body = render_unit_file(unit_file)
        else:
            report = build_report(db, period, group=group.strip() or None, now=utcnow(), settings=settings)
            body = render(report, fmt)
    finally:
        db.conn.close()
    write_atomically(target, body, prefix=".report-")
    if unit:
        click.echo(f"Đã ghi {target} ({len(body):,} byte): bằng chứng của {unit_file.unit['name']}, "
                   f"{unit_file.period.label}, {len(unit_file.row['evidence'])} cuộc gọi.")
        return
    click.echo(f"Đã ghi {target} ({len(body):,} byte): {report.title}, {len(report.metrics.units)} đơn vị, "
               f"{report.total.counted} cuộc gọi được tính, {len(report.failing)} đơn vị chưa đạt.")


@click.command("match", cls=UserErrorCommand)
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="Ngày đầu kỳ (giờ Việt Nam).")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Ngày cuối kỳ (tính cả ngày này).")
@click.option("--json", "as_json", is_flag=True, help="In JSON (cho script) thay vì bảng.")
@with_appcontext
def match_command(start, end, as_json):
    """List every answered test call of the period with its attempt id, unit code and whether the unit wrote
    it in its logbook: logged, late or not_logged.

    Example: flask --app wsgi logbook match --from 2025-06-01 --to 2025-06-30 --json
    """
    period = parse_range(start, end)
    settings = current_app.extensions["settings"]
    db = connect(settings.database)
    try:
        matches = match_calls(db, period, settings=settings)
    finally:
        db.conn.close()
    if as_json:
        click.echo(json.dumps({"from": period.start.isoformat(), "to": period.end.isoformat(),
                               "window_minutes": settings.logbook_match_window_minutes,
                               "late_hours": settings.logbook_late_hours,
                               "calls": [m.as_dict() for m in matches]}, ensure_ascii=False, indent=2))
        return
    for m in matches:
        click.echo(f"#{m.attempt_id}\t{m.unit_code}\t{m.status}\t{labels.logbook_match(m.status)}"
                   + (f"\t{m.receipt_code}" if m.receipt_code else ""))
    counts = {status: sum(1 for m in matches if m.status == status) for status in STATUSES}
    click.echo(f"{len(matches)} cuộc gọi có người nghe: " + ", ".join(
        f"{labels.logbook_match(status).lower()} {count}" for status, count in counts.items()))


def register(app) -> None:
    app.cli.add_command(report_command)
    # `logbook match` joins the registry's `logbook` group (registry/cli.py) when the app has it.
    book = app.cli.commands.get("logbook")
    if isinstance(book, click.Group):
        book.add_command(match_command)
    else:
        app.cli.add_command(click.Group("logbook", commands=[match_command]))
