"""Command line: `flask --app wsgi report --from YYYY-MM-DD --to YYYY-MM-DD --format pdf|xlsx|csv|json -o FILE`,
and a unit's evidence file: `... --unit CODE --format evidence-pdf -o FILE`."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from monitor.reports.periods import parse_range
from monitor.reports.render import FORMATS, render, render_unit_file
from monitor.reports.report import build_report
from monitor.reports.unit_file import build_unit_file
from registry.cli import UserErrorCommand
from registry.clock import utcnow
from registry.db import connect

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
    # Written beside the target and renamed, so a failure never leaves half a file under the final name.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".report-", suffix=f".{fmt}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if unit:
        click.echo(f"Đã ghi {target} ({len(body):,} byte): bằng chứng của {unit_file.unit['name']}, "
                   f"{unit_file.period.label}, {len(unit_file.row['evidence'])} cuộc gọi.")
        return
    click.echo(f"Đã ghi {target} ({len(body):,} byte): {report.title}, {len(report.metrics.units)} đơn vị, "
               f"{report.total.counted} cuộc gọi được tính, {len(report.failing)} đơn vị chưa đạt.")


def register(app) -> None:
    app.cli.add_command(report_command)
