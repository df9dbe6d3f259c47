"""URL converters: an `<int:…>` in a route is a row id, so it stops where SQLite's integers stop.

Werkzeug's own int converter takes any number of digits, and an id beyond 64 bits then crashed the query
(OverflowError, a 500); with this one such a URL simply matches no route (404), like any other unknown id.
"""
from werkzeug.routing import IntegerConverter

SQLITE_MAX_INTEGER = 2**63 - 1


class RowId(IntegerConverter):
    """A non-negative integer no larger than SQLite's largest INTEGER."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", SQLITE_MAX_INTEGER)
        super().__init__(map, *args, **kwargs)
