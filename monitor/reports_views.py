"""Accountability reports for inspectors: metrics, league table, charts, exports, disputes."""
from flask import Blueprint, abort

from registry.auth import inspector_required

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/")
@inspector_required
def index():
    abort(501)
