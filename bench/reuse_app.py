"""Experiment for the webhook benchmark (not the shipped code): the same app, but each server thread keeps its
SQLite connection between requests instead of opening one per request (registry/web.py does the latter)."""
import threading

import registry.web as web
from registry.db import connect

_local = threading.local()


def get_db():
    from flask import current_app, g

    if "db" not in g:
        path = current_app.config["DATABASE"]
        cached = getattr(_local, "db", None)
        if cached is None or cached[0] != path:
            cached = _local.db = (path, connect(path))
        g.db = cached[1]
    return g.db


def close_db(_exc=None):
    from flask import g

    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.rollback()


web.get_db, web.close_db = get_db, close_db

from monitor.app import create_app  # noqa: E402  (after the patch: the blueprints import get_db by name)

app = create_app()
