"""Command line: `flask --app wsgi init-db`, `users …`, `registry import|export|demo`.

Every command of the project is a UserErrorCommand (the groups below and monitor's are UserErrorGroups):
a UserError raised anywhere inside becomes one line "Error: <message>" and exit status 1.
"""
import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from registry import accounts
from registry.db import connect, migrate
from registry.errors import UserError
from registry.units import get_unit


class UserErrorCommand(click.Command):
    """A command that answers a UserError as click does any usage error: "Error: <message>", exit 1.

    The error's detail lines (each bad row of a rejected import) go to stderr first.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            for line in exc.details:
                click.echo(line, err=True)
            raise click.ClickException(str(exc)) from None


class UserErrorGroup(AppGroup):
    """A Flask command group whose commands are UserErrorCommands."""

    command_class = UserErrorCommand


users_cli = UserErrorGroup("users", help="Tài khoản: tạo thanh tra viên, mời biên tập viên của đơn vị.")
registry_cli = UserErrorGroup("registry", help="Danh bạ đường dây nóng: nhập, xuất, dữ liệu mẫu.")
logbook_cli = UserErrorGroup("logbook", help="Sổ theo dõi phản ánh: phiếu quá hạn, nhập, xuất.")


def open_db():
    return connect(current_app.config["DATABASE"])


def register(app, *, migration_sets):
    """Attach the registry's commands to the app."""

    @app.cli.command("init-db", cls=UserErrorCommand)
    def init_db_command():
        """Create or upgrade the database (safe to run twice).

        Example: flask --app wsgi init-db
        """
        db = open_db()
        applied = migrate(db, migration_sets)
        click.echo(
            _("Đã nâng cấp cơ sở dữ liệu: %(migrations)s", migrations=", ".join(applied)) if applied
            else _("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
        )

    app.cli.add_command(users_cli)
    app.cli.add_command(registry_cli)
    app.cli.add_command(logbook_cli)


@users_cli.command("create-inspector")
@click.argument("email")
@click.option("--name", default="", help="Họ tên.")
@click.password_option("--password", envvar="INSPECTOR_PASSWORD", help="Mật khẩu (≥ 10 ký tự); hỏi nếu không nhập.")
def create_inspector(email, name, password):
    """Create an inspector account (Văn phòng UBND).

    Example: flask --app wsgi users create-inspector thanhtra@vpubnd.dongthap.gov.vn --name "Nguyễn Văn A"
    """
    accounts.create_inspector(open_db(), email, password, name)
    click.echo(_("Đã tạo tài khoản thanh tra viên %(email)s.", email=email))


@users_cli.command("invite")
@click.argument("email")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị mà biên tập viên được sửa.")
@click.option("--name", default="", help="Họ tên.")
def invite(email, unit_code, name):
    """Invite an agency editor for one unit; prints the one-time link to set a password.

    Example: flask --app wsgi users invite vanthu@soyte.dongthap.gov.vn --unit SYT
    """
    db = open_db()
    unit = get_unit(db, unit_code)
    token = accounts.invite_editor(db, email, unit["id"], name)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(_("Đã mời %(email)s làm biên tập viên của “%(unit)s”.", email=email, unit=unit["name"]))
    click.echo(_("Liên kết đặt mật khẩu (dùng một lần, hết hạn sau %(days)s ngày): %(link)s",
                 days=accounts.INVITE_DAYS, link=f"{base}/invite/{token}"))


# The actor written in the history for changes made from the command line.
CLI_ACTOR = {"id": None, "email": "dòng lệnh", "role": "inspector"}


@registry_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra tệp, không ghi gì.")
@click.option("--group", "default_group", default=None, metavar="MÃ_NHÓM",
              help="Nhóm của các dòng trước dòng mục đầu tiên (khi tệp không chia mục A, B, C).")
def import_command(file, dry_run, default_group):
    """Import the appendix template (XLSX or CSV), all or nothing.

    Units not in the registry are created (codes made from their names); known units are found by code or by
    name within their group. Every bad row is listed with its row number and the file changes nothing; the
    exit status is then 1. --dry-run prints the plan: new (+), changed (~), and the count of unchanged rows.

    Example: flask --app wsgi registry import danh-sach-duong-day-nong.xlsx
    """
    from registry.appendix import import_file

    # ImportRejected: UserErrorCommand prints every bad row (its details), then the message, and exits 1.
    result = import_file(open_db(), file, actor=CLI_ACTOR, dry_run=dry_run, default_group=default_group)
    click.echo(result.summary)
    for line in result.of("new"):
        click.echo(_("  + dòng %(row)s: %(code)s – %(name)s (nhóm %(group)s)", row=line.row, code=line.code,
                     name=line.name, group=line.group))
    for line in result.of("changed"):
        click.echo(_("  ~ dòng %(row)s: %(code)s: %(what)s", row=line.row, code=line.code, what=line.what))


@registry_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--all", "include_historical", is_flag=True, help="Kể cả các đơn vị đã hết hiệu lực.")
def export_command(file, include_historical):
    """Export the appendix template; the format comes from the extension (.xlsx or .csv).

    Example: flask --app wsgi registry export danh-sach-duong-day-nong.xlsx
    """
    from registry.appendix import export_file

    try:
        export_file(open_db(), file, include_historical=include_historical)
    except OSError as exc:
        raise click.ClickException(_("Không ghi được tệp “%(file)s”: %(reason)s.", file=file, reason=exc.strerror)) from None
    click.echo(_("Đã xuất danh sách ra %(file)s.", file=file))


@registry_cli.command("demo")
def demo_command():
    """Load the demo data (real unit names, fictional numbers marked as demo, two demo accounts).

    Does nothing when the registry already has units, so it is safe to run at every start.

    Example: flask --app wsgi registry demo
    """
    from registry.demo import EDITOR, INSPECTOR, load_demo

    if not load_demo(open_db()):
        click.echo(_("Danh bạ đã có đơn vị: không thêm dữ liệu mẫu."))
        return
    click.echo(_("Đã nạp dữ liệu mẫu (số điện thoại giả định, đánh dấu là số mẫu)."))
    click.echo("  " + _("Thanh tra viên: %(email)s / %(password)s", email=INSPECTOR[0], password=INSPECTOR[1]))
    click.echo("  " + _("Biên tập viên Sở Y tế: %(email)s / %(password)s", email=EDITOR[0], password=EDITOR[1]))


@logbook_cli.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="In JSON (cho script) thay vì bảng.")
@click.option("--unit", "unit_code", default=None, metavar="MÃ_ĐƠN_VỊ", help="Chỉ một đơn vị.")
def overdue_command(as_json, unit_code):
    """List the logbook entries past their deadline today (working days), most overdue first, and those due soon.

    Example: flask --app wsgi logbook overdue --json
    """
    from registry.logbook.overdue import overdue_report

    click.echo(overdue_report(open_db(), unit_code=unit_code, as_json=as_json))


@logbook_cli.command("erase-phones")
@click.option("--dry-run", is_flag=True, help="Chỉ đếm các phiếu sẽ bị xoá thông tin, không ghi gì.")
def erase_phones_command(dry_run):
    """Erase reporters' names and phone numbers from logbook entries answered more than
    FLASK_LOGBOOK_PHONE_RETENTION_DAYS days ago (the scheduler does it daily; running it again erases nothing
    more). Receipt codes and their 4 lookup digits keep working; entries still being handled are not touched.

    Example: flask --app wsgi logbook erase-phones --dry-run
    """
    from registry.clock import utcnow
    from registry.logbook import retention

    days = current_app.config["LOGBOOK_PHONE_RETENTION_DAYS"]
    result = retention.erase_expired(open_db(), now=utcnow(), days=days, dry_run=dry_run)
    message = (_("Sẽ xoá họ tên và số điện thoại người phản ánh ở %(n)d phiếu (trả lời trước %(cutoff)s, quá "
                 "%(days)d ngày).", n=result.entries, cutoff=result.cutoff, days=days) if dry_run
               else _("Đã xoá họ tên và số điện thoại người phản ánh ở %(n)d phiếu (trả lời trước %(cutoff)s, quá "
                      "%(days)d ngày).", n=result.entries, cutoff=result.cutoff, days=days))
    click.echo(message)
    for code in result.receipt_codes:
        click.echo("  " + code)


@logbook_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--unit", "unit_code", required=True, metavar="MÃ_ĐƠN_VỊ", help="Đơn vị có sổ được xuất.")
@click.option("--from", "start", required=True, metavar="NGÀY", help="Từ ngày (YYYY-MM-DD hoặc ngày/tháng/năm).")
@click.option("--to", "end", required=True, metavar="NGÀY", help="Đến ngày, tính cả ngày này.")
def logbook_export_command(file, unit_code, start, end):
    """Export a unit's logbook for a period in the official paper form; the format comes from the extension
    (.xlsx to fill in and import back, .pdf to print and sign). Reporters' phones are masked.

    Example: flask --app wsgi logbook export so-theo-doi-SYT-11-2026.xlsx --unit SYT --from 2026-11-01 --to 2026-11-30
    """
    from registry.clock import utcnow
    from registry.logbook.paper import export_file
    from registry.logbook.paper.book import parse_day

    db = open_db()
    unit = get_unit(db, unit_code)
    first, last = parse_day(start, "from"), parse_day(end, "to")
    try:
        export_file(db, file, unit, first, last, now=utcnow())
    except OSError as exc:
        raise click.ClickException(_("Không ghi được tệp “%(file)s”: %(reason)s.", file=file, reason=exc.strerror)) from None
    click.echo(_("Đã xuất sổ theo dõi của %(unit)s ra %(file)s.", unit=unit["name"], file=file))


@logbook_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra tệp, không ghi gì.")
def logbook_import_command(file, dry_run):
    """Import a filled logbook (the XLSX of `logbook export`), all or nothing. The unit is the one written above
    the table ("Mã đơn vị: …"); rows without a Mã phiếu are new entries, rows with one are already in the book.
    Every bad row is listed with its row number and column, nothing is written, and the exit status is 1.

    Example: flask --app wsgi logbook import so-theo-doi-SYT-11-2026.xlsx --dry-run
    """
    from registry.clock import utcnow
    from registry.logbook.paper import import_file

    result = import_file(open_db(), file, user_id=None, now=utcnow(), dry_run=dry_run)
    click.echo(result.summary)
    for code in result.codes:
        click.echo("  + " + code)


@logbook_cli.command("summary")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--month", required=True, metavar="NNNN-TT", help="Tháng tổng hợp, ví dụ 2026-11.")
def logbook_summary_command(file, month):
    """Write the monthly province-wide summary of the logbooks (per unit: received, answered on time and late,
    overdue open, transferred more than once, by field); the format comes from the extension (.pdf, .xlsx, .csv,
    .json).

    Example: flask --app wsgi logbook summary tong-hop-so-theo-doi-2026-11.xlsx --month 2026-11
    """
    from pathlib import Path

    from registry.clock import utcnow
    from registry.logbook import summary
    from registry.logbook.paper.layout import format_for

    fmt = format_for(file, summary.FORMATS)
    year, number = summary.parse_month(month)
    data = summary.render(summary.monthly(open_db(), year, number, now=utcnow()), fmt)
    try:
        Path(file).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(_("Không ghi được tệp “%(file)s”: %(reason)s.", file=file, reason=exc.strerror)) from None
    click.echo(_("Đã ghi bản tổng hợp sổ theo dõi tháng %(month)s ra %(file)s.", month=f"{number:02d}/{year}", file=file))
