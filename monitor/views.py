"""Inspector pages for test calls: recent attempts, a unit's evidence, reviews, call now."""
from flask import Blueprint, abort

from registry.auth import inspector_required

bp = Blueprint("monitor", __name__, url_prefix="/monitor")


@bp.route("/attempts")
@inspector_required
def attempts():
    abort(501)
