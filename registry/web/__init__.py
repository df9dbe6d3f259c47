"""Per-request plumbing shared by every blueprint: the database connection on flask.g."""
from flask import current_app, g

from registry.db import connect


def get_db():
    """The request's database connection, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
