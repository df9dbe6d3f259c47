"""WSGI entry point: `flask --app wsgi …` and `gunicorn wsgi:app`.

A setting the system cannot run with stops every process started from here (the web app, the scheduler,
any CLI command) with one line naming the variable, before anything is served or dialled.
"""
import sys

from monitor.app import create_app
from monitor.settings import SettingsError

# gunicorn's "app failed to load": its master stops instead of restarting the worker forever. (Not 3:
# Werkzeug's reloader reads 3 as "restart me".)
BAD_SETTINGS_EXIT = 4

try:
    app = create_app()
except SettingsError as exc:
    print(f"Cấu hình sai: {exc.message}", file=sys.stderr)
    sys.exit(BAD_SETTINGS_EXIT)
