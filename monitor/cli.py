"""Command line: `flask --app wsgi monitor run|call|attempts`."""
from flask.cli import AppGroup

monitor_cli = AppGroup("monitor", help="Cuộc gọi kiểm tra: chạy bộ lập lịch, gọi ngay, xem các lần gọi.")


def register(app):
    app.cli.add_command(monitor_cli)
