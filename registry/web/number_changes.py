"""The inspectors' page of agencies' number changes: numbers waiting for approval (approve, or reject with a
reason), whether approval is required (province or group), and the latest changes made by agency editors.
The menu shows how many numbers wait."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry.errors import UserError
from registry.groups import list_groups
from registry.history import agency_number_changes
from registry.number_approval import (
    PROVINCE,
    approval_rules,
    approve,
    pending_count,
    pending_proposals,
    reject,
    set_approval_rule,
)
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import bp
from registry.web.history import FIELD_LABELS, readable

MAX_REASON = 500
RECENT = 100


@bp.app_context_processor
def number_changes_count() -> dict:
    """How many numbers wait for approval, for the inspectors' menu only."""
    user = g.get("user")
    if not user or user["role"] != "inspector":
        return {}
    return {"pending_numbers": pending_count(get_db())}


def _proposal_id() -> int:
    raw = request.form.get("proposal", "")
    if not raw.isdigit() or len(raw) > 18:
        abort(400)
    return int(raw)


def _decide(db, action: str) -> str:
    """Approve or reject one proposal; the message to flash."""
    reason = request.form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise UserError(_("Lý do dài quá %(max)s ký tự.", max=MAX_REASON), field="reason")
    if action == "approve":
        proposal = approve(db, _proposal_id(), actor=g.user, reason=reason)
        return _("Đã duyệt số %(number)s: danh bạ và lịch gọi kiểm tra dùng số mới từ bây giờ.",
                 number=proposal["display"])
    proposal = reject(db, _proposal_id(), actor=g.user, reason=reason)
    return _("Đã từ chối số %(number)s; đơn vị giữ số cũ và thấy lý do từ chối.", number=proposal["display"])


def _save_rules(db) -> str:
    """Approval on or off for the province and each group, from the checkboxes."""
    wanted = set(request.form.getlist("required"))
    for scope in [PROVINCE] + [gr["code"] for gr in list_groups(db)]:
        set_approval_rule(db, scope, scope in wanted, actor=g.user)
    return _("Đã lưu cài đặt duyệt số mới.")


@bp.route("/number-changes", methods=["GET", "POST"])
@inspector_required
def number_changes():
    """Numbers waiting for approval, the approval settings, the agencies' latest number changes."""
    db = get_db()
    status, error = 200, None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ("approve", "reject", "rules"):
            abort(400)
        try:
            message = _save_rules(db) if action == "rules" else _decide(db, action)
        except UserError as exc:
            status, error = exc.status if exc.status >= 400 else 400, exc.message
        else:
            flash(message, "ok")
            return redirect(url_for("registry.number_changes"))
    return render_template(
        "registry/number_changes.html", pending=pending_proposals(db), rules=approval_rules(db),
        groups=list_groups(db), province=PROVINCE, error=error, labels=FIELD_LABELS,
        changes=readable(db, agency_number_changes(db, RECENT)),
    ), status
