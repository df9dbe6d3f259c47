"""Registry pages: public directory and API, agency self-service, inspectors' registry management."""
from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for

from .auth import inspector_required, login_required
from .units import list_groups, list_units
from .web import get_db

bp = Blueprint("registry", __name__)


@bp.route("/")
def directory():
    """Public directory: every current unit with its hotline, grouped, searchable, printable."""
    db = get_db()
    query = request.args.get("q", "")[:100]
    group = request.args.get("group", "")[:16]
    units = list_units(db, query=query, group=group, current_only=True)
    return render_template(
        "registry/directory.html", units=units, groups=list_groups(db), query=query, group=group
    )


@bp.route("/my")
@login_required
def my_unit():
    if g.user["role"] == "inspector":
        return redirect(url_for("registry.units"))
    unit = get_db().execute("SELECT code FROM units WHERE id = ?", [g.user["unit_id"]]).fetchone()
    if not unit:
        abort(404)
    return redirect(url_for("registry.unit", code=unit[0]))


@bp.route("/units")
@inspector_required
def units():
    db = get_db()
    query = request.args.get("q", "")[:100]
    group = request.args.get("group", "")[:16]
    return render_template(
        "registry/units.html", units=list_units(db, query=query, group=group), groups=list_groups(db),
        query=query, group=group,
    )


@bp.route("/units/<code>")
@login_required
def unit(code):
    abort(501)


@bp.route("/changes")
@inspector_required
def changes():
    abort(501)
