"""Command line of the customer-care surveys: `flask --app wsgi surveys import|sample|results`."""
import json

import click
from flask import current_app
from flask_babel import gettext as _

from registry.cli import UserErrorGroup
from registry.db import connect
from registry.files import write_atomically

surveys_cli = UserErrorGroup("surveys", help="Khảo sát mức độ hài lòng qua điện thoại: nhập hồ sơ, chọn mẫu, kết quả.")


def register(app):
    app.cli.add_command(surveys_cli)


def open_db():
    return connect(current_app.config["DATABASE"])


@surveys_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra tệp và đếm (theo đơn vị, trễ hạn, không có số điện "
              "thoại), không ghi gì.")
@click.option("--map", "mapping", multiple=True, metavar="TRƯỜNG=TIÊU_ĐỀ",
              help="Cột có tiêu đề khác thường: trường nào ở cột nào (nhắc lại cho mỗi trường). Trường: code, "
                   "procedure, applicant, phone, received, due, returned, unit, channel.")
def import_command(file, dry_run, mapping):
    """Import the one-stop system's export of completed dossiers (XLSX or CSV), all or nothing: the sample frame.

    The usual headings are recognised as they come (Mã hồ sơ, Tên thủ tục hành chính, Chủ hồ sơ, Số điện thoại,
    Ngày tiếp nhận, Ngày hẹn trả, Ngày trả kết quả, Đơn vị xử lý, Kênh nộp…); others are named with --map.
    Only those columns are kept. Every bad row is listed (row, column, reason), nothing is written and the exit
    status is 1. A dossier already imported (same Mã hồ sơ) is not added twice.

    Example: flask --app wsgi surveys import ho-so-11-2026.xlsx --dry-run --map phone="ĐT liên hệ"
    """
    from monitor.surveys.dossiers import import_file
    from monitor.surveys.frame_headings import parse_mapping
    from registry.clock import utcnow

    fields = parse_mapping(mapping)
    try:
        result = import_file(open_db(), file, mapping=fields, now=utcnow(), dry_run=dry_run)
    except OSError as exc:
        raise click.ClickException(_("Không đọc được tệp “%(file)s”: %(reason)s.", file=file,
                                     reason=exc.strerror or exc)) from None
    click.echo(result.summary)
    for unit in result.units:
        click.echo("  " + _("%(code)s %(name)s: %(rows)s hồ sơ, %(late)s trễ hạn, %(without)s không có số điện thoại "
                            "(%(invalid)s số sai)", code=unit.code, name=unit.name, rows=unit.rows, late=unit.late,
                            without=unit.without_phone, invalid=unit.invalid_phone))


@surveys_cli.command("sample")
@click.option("--from", "period_from", required=True, metavar="NGÀY", help="Hồ sơ trả kết quả từ ngày (YYYY-MM-DD).")
@click.option("--to", "period_to", required=True, metavar="NGÀY", help="Đến ngày, tính cả ngày này.")
@click.option("--seed", default=None, metavar="SỐ", help="Hạt giống: cùng hạt giống trên cùng dữ liệu chọn lại đúng "
              "mẫu đó (không nêu: chọn ngẫu nhiên và ghi lại).")
@click.option("--margin", default="0.05", show_default=True, metavar="SỐ", help="Sai số mong muốn (0.05 = ±5 %).")
@click.option("--method", default="yamane", show_default=True, metavar="yamane|cochran",
              help="Công thức cỡ mẫu: Yamane (như SIPAS) hoặc Cochran có hiệu chỉnh tổng thể hữu hạn.")
@click.option("--budget", default=None, metavar="SỐ", help="Số cuộc gọi tối đa mỗi ngày (không nêu: không giới hạn).")
@click.option("--days", default=None, metavar="SỐ", help="Số ngày dành cho các cuộc gọi (mặc định 20).")
@click.option("--oversample-late", default="1", show_default=True, metavar="HỆ_SỐ",
              help="Chọn hồ sơ trễ hạn nhiều gấp bấy nhiêu lần (trọng số bù lại).")
@click.option("--automated", default="0", show_default=True, metavar="TỶ_LỆ",
              help="Phần mẫu gọi tự động qua tổng đài (0–1, ví dụ 0.5); phần còn lại do điện thoại viên gọi.")
@click.option("--dry-run", is_flag=True, help="Chỉ tính, không ghi gì.")
@click.option("--json", "as_json", is_flag=True, help="In JSON (cho script) thay vì văn bản.")
def sample_command(period_from, period_to, seed, margin, method, budget, days, oversample_late, automated, dry_run,
                   as_json):
    """Draw a period's stratified random sample of returned dossiers whose citizens will be called back.

    One stratum per unit and level, sized by Yamane's formula (or Cochran's) for the margin; late dossiers can be
    over-sampled (weights undo it); the total can be capped by calls a day × days. Citizens on the do-not-call
    list or called within FLASK_SURVEY_NO_REPEAT_DAYS are left out. The seed is recorded: the same seed on the
    same data draws the same sample.

    --automated hands that share of the sample (drawn at random with the same seed) to automated calls placed by
    the scheduler through the call provider (keypad answers); the operators call the rest.

    Example: flask --app wsgi surveys sample --from 2026-11-01 --to 2026-11-30 --seed 42 --budget 150 --automated 0.5
    """
    from monitor.surveys import calls, samples
    from registry.clock import utcnow

    try:
        share = float(automated)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise click.BadParameter(_("phải là một số từ 0 đến 1 (ví dụ 0.5)."), param_hint="--automated")

    options = samples.parse_options(period_from, period_to, seed=seed, method=method, margin=margin, budget=budget,
                                    days=days, oversample_late=oversample_late)
    db = open_db()
    result = samples.draw_sample(db, options, now=utcnow(), settings=current_app.extensions["settings"],
                                 dry_run=dry_run)
    if result["sample_id"] and share:
        result["automated"] = calls.automate_share(db, result["sample_id"], share, result["seed"])
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(samples.summary_lines(db, result)))


@surveys_cli.command("results")
@click.option("--from", "start", required=True, metavar="YYYY-MM-DD", help="Hồ sơ trả kết quả từ ngày (giờ Việt Nam).")
@click.option("--to", "end", required=True, metavar="YYYY-MM-DD", help="Đến ngày, tính cả ngày này.")
@click.option("--format", "fmt", required=True, metavar="pdf|xlsx|csv|json", help="Định dạng tệp kết quả.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Tệp sẽ ghi ra (ghi đè nếu đã có).")
def results_command(start, end, fmt, output):
    """Write the surveys' results for the dossiers returned in a period: AAPOR response rates, satisfaction per
    SIPAS element with 95 % intervals, the units' league table, anonymous comments and the trend.

    Example: flask --app wsgi surveys results --from 2026-11-01 --to 2026-11-30 --format pdf -o khao-sat-11.pdf
    """
    from pathlib import Path

    from monitor.reports.periods import parse_range
    from monitor.surveys import render, results
    from registry.clock import utcnow

    fmt = fmt.strip().lower()
    if fmt not in render.FORMATS:
        raise click.ClickException(f"Định dạng “{fmt}” không hỗ trợ: chọn một trong {', '.join(render.FORMATS)}.")
    period = parse_range(start, end)
    target = Path(output)
    if not target.parent.is_dir():
        raise click.ClickException(f"Thư mục “{target.parent}” không tồn tại: không ghi được tệp {target.name}.")
    db = open_db()
    try:
        found = results.build(db, period.start, period.end,
                              min_completes=current_app.extensions["settings"].survey_min_completes)
        body = render.render(found, fmt, generated_at=utcnow())
    finally:
        db.conn.close()
    write_atomically(target, body, prefix=".surveys-")
    click.echo(f"Đã ghi {target} ({len(body):,} byte): {found.province.cases} phiếu, {found.province.completes} "
               f"phỏng vấn hoàn thành, {len(found.units)} đơn vị.")
