"""The correction of a logbook entry ("Sửa phiếu"): its details prefilled, a reason required, saved together with
its history event (who, when, what changed old→new, why) by registry/logbook/entries.update.

Only the unit's own editors correct its entries. Inspectors read every book but write none, here as on the entry
page: a correction is the unit's own statement in its own book. Open, waiting and answered entries can be
corrected (answered ones keep their received time and field, which decide whether the answer came in time);
closed and transferred ones cannot (finished, or held by the unit they went to). A page shown before the entry
changed is refused and shown again with the entry as it is now, so nobody overwrites a change they never saw.
"""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from registry import clock
from registry.errors import RegistryError
from registry.logbook import entries
from registry.logbook.entry_rules import CHANNELS, STATES
from registry.web import get_db
from registry.web.auth import login_required
from registry.web.blueprint import bp, form_errors
from registry.web.errors import form_error
from registry.web.logbook import _field_choices, _is_editor_of
from registry.web.logbook_forms import EditForm

FIELDS = ("content", "reporter_name", "reporter_phone", "field_code", "channel", "received_at", "dossier_code",
          "received_by")


def shown_values(entry: dict) -> dict:
    """The entry's editable values as the form shows them (the received time in local minutes)."""
    values = {name: entry[name] or "" for name in FIELDS}
    values["received_at"] = clock.to_local(clock.parse_iso(entry["received_at"])).strftime("%Y-%m-%dT%H:%M")
    return values


def editable_fields(entry: dict) -> tuple[str, ...]:
    """The fields this entry's form offers (the domain refuses the others again)."""
    fixed = set()
    if entry["state"] == "answered":
        fixed |= set(entries.FROZEN_WHEN_ANSWERED)
    if entry["from_entry_id"]:
        fixed.add("received_at")
    if entry["phone_erased_at"]:
        fixed |= set(entries.PERSONAL)
    return tuple(name for name in FIELDS if name not in fixed)


def _fill(form: EditForm, db, entry: dict) -> None:
    for name, value in shown_values(entry).items():
        getattr(form, name).data = value
    form.version.data = str(entries.version(db, entry["id"]))


def _version(text: str | None) -> int:
    """The version the page was shown with; -1 (never current) for anything that is not one."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 18 else -1


@bp.route("/logbook/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def logbook_edit(entry_id):
    """Correct an entry's details for a reason (the unit's own editors)."""
    db = get_db()
    entry = entries.get(db, entry_id)
    if entry is None:
        abort(404)
    if not _is_editor_of(entry["unit_id"]):
        abort(403)
    if entry["state"] not in entries.EDITABLE_STATES:
        flash(_("Phiếu đã đóng hoặc đã chuyển đi: không sửa được nữa."), "error")
        return redirect(url_for("registry.logbook_entry", entry_id=entry_id))
    form = EditForm()
    form.field_code.choices = [("", _("— Chưa xác định —"))] + _field_choices(db)
    names, status = editable_fields(entry), 200
    if request.method == "GET":
        _fill(form, db, entry)
    elif form.validate_on_submit():
        shown = shown_values(entry)
        # Only what the editor changed is sent: an untouched time shown in minutes is not a correction.
        data = {name: getattr(form, name).data or "" for name in names
                if (getattr(form, name).data or "").strip() != str(shown[name]).strip()}
        try:
            entries.update(db, entry_id, data, user_id=g.user["id"], now=clock.utcnow(),
                           reason=form.edit_reason.data, version_seen=_version(form.version.data))
        except RegistryError as exc:
            status = exc.status if exc.status in (400, 404, 409) else 400
            if exc.field == "version":  # changed meanwhile: the form again, with the entry as it is now
                entry = entries.get(db, entry_id)
                names = editable_fields(entry)
                _fill(form, db, entry)
            # next to the field it names; above the form when it names none of them (a state, the version)
            form_error(form, exc, {"reason": "edit_reason", "version": ""})
        else:
            flash(_("Đã lưu phần sửa của phiếu; lịch sử ghi lại nội dung cũ, mới và lý do."), "ok")
            return redirect(url_for("registry.logbook_entry", entry_id=entry_id))
    else:
        status = 400
    return render_template("logbook/edit.html", entry=entry, form=form, names=names, states=STATES,
                           channels=CHANNELS, fields=dict(_field_choices(db)), errors=form_errors(form)), status
