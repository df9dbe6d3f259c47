"""The public directory: current units with their hotline, grouped as in the appendix, searchable, printable."""
from flask import render_template, request

from registry import clock
from registry.groups import list_groups
from registry.units import count_units, list_units
from registry.web import get_db
from registry.web.blueprint import MAX_QUERY, bp, page_number

DIRECTORY_PAGE = 200


@bp.route("/")
def directory():
    """Public directory: current units with their hotline, grouped as in the appendix, searchable, printable.

    Paged (DIRECTORY_PAGE rows) so a province-wide registry stays fast; ?all=1 gives the whole list to print.
    "Current" means current on today's local date, the date the printed page shows.
    """
    db = get_db()
    now = clock.utcnow()
    today = clock.local_today_iso(now)
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    group = request.args.get("group", "")[:16]
    groups = list_groups(db)
    if group not in {gr["code"] for gr in groups}:
        group = ""
    show_all = request.args.get("all") == "1"
    total = count_units(db, query=query, group=group, state="current", on=today)
    page, pages = page_number(total, DIRECTORY_PAGE)
    units = list_units(
        db, query=query, group=group, current_only=True, on=today,
        limit=None if show_all else DIRECTORY_PAGE, offset=0 if show_all else (page - 1) * DIRECTORY_PAGE,
    )
    sections = [(gr, [u for u in units if u["group_code"] == gr["code"]]) for gr in groups]
    return render_template(
        "registry/directory.html", sections=[s for s in sections if s[1]], units=units, groups=groups,
        query=query, group=group, has_demo=any(u["is_demo"] for u in units), today=now, total=total,
        page=page, pages=1 if show_all else pages, show_all=show_all,
    )
