"""Command line: `flask --app wsgi init-db`, `users …`, `registry import|export|demo`."""
import click
from flask import current_app
from flask.cli import AppGroup

from . import accounts
from .db import connect, migrate
from .errors import RegistryError
from .units import get_unit

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
