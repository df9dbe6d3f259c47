"""Command line: `flask --app wsgi init-db`, `users …`, `registry import|export|demo`."""
import click
from flask import current_app
from flask.cli import AppGroup

from registry import accounts
from registry.db import connect, migrate
from registry.errors import RegistryError
from registry.units import get_unit

users_cli = AppGroup("users", help="Tài khoản: tạo thanh tra viên, mời biên tập viên của đơn vị.")
registry_cli = AppGroup("registry", help="Danh bạ đường dây nóng: nhập, xuất, dữ liệu mẫu.")


def open_db():
    return connect(current_app.config["DATABASE"])


def register(app, *, migration_sets):
    """Attach the registry's commands to the app."""

    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the database (safe to run twice).

        Example: flask --app wsgi init-db
        """
        db = open_db()
        applied = migrate(db, migration_sets)
        click.echo(
            f"Đã nâng cấp cơ sở dữ liệu: {', '.join(applied)}" if applied else "Cơ sở dữ liệu đã ở phiên bản mới nhất."
        )

    app.cli.add_command(users_cli)
    app.cli.add_command(registry_cli)


@users_cli.command("create-inspector")
@click.argument("email")
@click.option("--name", default="", help="Họ tên.")
@click.password_option("--password", envvar="INSPECTOR_PASSWORD", help="Mật khẩu (≥ 10 ký tự); hỏi nếu không nhập.")
def create_inspector(email, name, password):
    """Create an inspector account (Văn phòng UBND).

    Example: flask --app wsgi users create-inspector thanhtra@vpubnd.dongthap.gov.vn --name "Nguyễn Văn A"
    """
    try:
        accounts.create_inspector(open_db(), email, password, name)
    except RegistryError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"Đã tạo tài khoản thanh tra viên {email}.")


@users_cli.command("invite")
@click.argument("email")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị mà biên tập viên được sửa.")
@click.option("--name", default="", help="Họ tên.")
def invite(email, unit_code, name):
    """Invite an agency editor for one unit; prints the one-time link to set a password.

    Example: flask --app wsgi users invite vanthu@soyte.dongthap.gov.vn --unit SYT
    """
    db = open_db()
    try:
        unit = get_unit(db, unit_code)
        token = accounts.invite_editor(db, email, unit["id"], name)
    except RegistryError as exc:
        raise click.ClickException(exc.message)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(f"Đã mời {email} làm biên tập viên của “{unit['name']}”.")
    click.echo(f"Liên kết đặt mật khẩu (dùng một lần, hết hạn sau {accounts.INVITE_DAYS} ngày): {base}/invite/{token}")


# The actor written in the history for changes made from the command line.
CLI_ACTOR = {"id": None, "email": "dòng lệnh", "role": "inspector"}


@registry_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Chỉ kiểm tra tệp, không ghi gì.")
def import_command(file, dry_run):
    """Import the appendix template (XLSX or CSV), all or nothing.

    Every bad row is listed with its row number and the file changes nothing; the exit status is then 1.

    Example: flask --app wsgi registry import danh-sach-duong-day-nong.xlsx
    """
    from registry.appendix import ImportRejected, TemplateError, import_file

    db = open_db()
    try:
        result = import_file(db, file, actor=CLI_ACTOR, dry_run=dry_run)
    except ImportRejected as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise click.ClickException(exc.message)
    except TemplateError as exc:
        raise click.ClickException(exc.message)
    click.echo(result.summary)
    for line in result.created:
        click.echo(f"  + {line}")
    for line in result.changed:
        click.echo(f"  ~ {line}")


@registry_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--all", "include_historical", is_flag=True, help="Kể cả các đơn vị đã hết hiệu lực.")
def export_command(file, include_historical):
    """Export the appendix template; the format comes from the extension (.xlsx or .csv).

    Example: flask --app wsgi registry export danh-sach-duong-day-nong.xlsx
    """
    from registry.appendix import TemplateError, export_file

    try:
        export_file(open_db(), file, include_historical=include_historical)
    except TemplateError as exc:
        raise click.ClickException(exc.message)
    except OSError as exc:
        raise click.ClickException(f"Không ghi được tệp “{file}”: {exc.strerror}.")
    click.echo(f"Đã xuất danh sách ra {file}.")


@registry_cli.command("demo")
def demo_command():
    """Load the demo data (real unit names, fictional numbers marked as demo, two demo accounts).

    Does nothing when the registry already has units, so it is safe to run at every start.

    Example: flask --app wsgi registry demo
    """
    from registry.demo import EDITOR, INSPECTOR, load_demo

    if not load_demo(open_db()):
        click.echo("Danh bạ đã có đơn vị: không thêm dữ liệu mẫu.")
        return
    click.echo("Đã nạp dữ liệu mẫu (số điện thoại giả định, đánh dấu là số mẫu).")
    click.echo(f"  Thanh tra viên: {INSPECTOR[0]} / {INSPECTOR[1]}")
    click.echo(f"  Biên tập viên Sở Y tế: {EDITOR[0]} / {EDITOR[1]}")
