"""The logbook's pages: a unit's book (filters, paged, newest first), a new entry, one entry (details, the whole
transfer chain's history, answer, pause/resume, transfer, attachments) and an attachment's download.

A unit's agency editors write its book; inspectors read every book. The reporter's phone is shown whole only to
the unit's own editors on the entry page, masked everywhere else.
"""
from datetime import date
from urllib.parse import quote

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from registry import clock
from registry.errors import RegistryError
from registry.logbook import attachments, entries, history, transfers
from registry.logbook.entry_rules import CHANNELS, LEVELS, STATES, mask_phone
from registry.units import get_unit, unit_code_for_id, unit_names
from registry.web import get_db
from registry.web.auth import login_required
from registry.web.blueprint import bp, form_errors, page_number
from registry.web.errors import form_error
from registry.web.logbook_forms import AnswerForm, AttachForm, EntryForm, PauseForm, TransferForm

BOOK_PAGE = 50
ACTIONS = ("answer", "pause", "resume", "close", "transfer", "attach")
# The history's actions as people read them.
ACTION_LABELS = {
    "created": _l("Ghi vào sổ"), "updated": _l("Sửa"), "answered": _l("Trả lời"), "paused": _l("Tạm dừng thời hạn"),
    "resumed": _l("Thời hạn chạy lại"), "closed": _l("Đóng phiếu"), "transferred": _l("Chuyển đi"),
    "received_transfer": _l("Nhận chuyển đến"), "attached": _l("Đính kèm tệp"), "rated": _l("Công dân đánh giá"),
    "erased": _l("Xoá họ tên, số điện thoại (hết thời hạn lưu)"),
}


def _is_editor_of(unit_id: int) -> bool:
    return g.user["role"] == "agency" and g.user["unit_id"] == unit_id


def _readable_unit(code: str) -> dict:
    """The unit of the book asked for, when the reader may read it (its editors, inspectors); else 403/404."""
    unit = get_unit(get_db(), code)
    if g.user["role"] != "inspector" and not _is_editor_of(unit["id"]):
        abort(403)
    return unit


def _field_choices(db) -> list[tuple[str, str]]:
    english = str(get_locale()) == "en"
    return [(code, (name_en or name) if english else name) for code, name, name_en in entries.field_names(db)]


def _day(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None
    return day if date(1900, 1, 1) <= day <= date(9000, 12, 31) else None  # far dates: no filter, never a 500


@bp.route("/logbook")
@login_required
def logbook():
    """The menu's "Sổ theo dõi": an editor's own book; for inspectors, the choice of a unit's book."""
    db = get_db()
    if g.user["role"] != "inspector":
        code = unit_code_for_id(db, g.user["unit_id"]) if g.user["unit_id"] else None
        if not code:
            abort(404)
        return redirect(url_for("registry.unit_book", code=code))
    code = request.args.get("code", "")[:40].strip()
    if code:
        return redirect(url_for("registry.unit_book", code=code))
    return render_template("logbook/units.html", units=unit_names(db))


@bp.route("/units/<code>/logbook")
@login_required
def unit_book(code):
    """A unit's book: its entries newest first, filtered by period, state and field, paged."""
    db = get_db()
    unit = _readable_unit(code)
    start, end = _day("from"), _day("to")
    state = request.args.get("state", "")
    state = state if state in STATES else ""
    fields = _field_choices(db)
    field_code = request.args.get("field", "")
    field_code = field_code if field_code in dict(fields) else ""
    filters = {"start": start, "end": end, "state": state or None, "field_code": field_code or None}
    total = entries.count_book(db, unit["id"], **filters)
    page, pages = page_number(total, BOOK_PAGE)
    rows = entries.book(db, unit["id"], **filters, limit=BOOK_PAGE, offset=(page - 1) * BOOK_PAGE)
    return render_template(
        "logbook/book.html", unit=unit, rows=[dict(r, phone=mask_phone(r["reporter_phone"])) for r in rows],
        total=total, page=page, pages=pages, states=STATES, channels=CHANNELS, fields=fields,
        args={"from": start.isoformat() if start else "", "to": end.isoformat() if end else "", "state": state,
              "field": field_code},
        can_write=_is_editor_of(unit["id"]),
    )


@bp.route("/units/<code>/logbook/new", methods=["GET", "POST"])
@login_required
def new_entry(code):
    """Log a report during the call: the form first on the page, channel "hotline" and time "now" by default."""
    db = get_db()
    unit = _readable_unit(code)
    if not _is_editor_of(unit["id"]):
        abort(403)
    form = EntryForm()
    form.field_code.choices = [("", _("— Chưa xác định —"))] + _field_choices(db)
    if request.method == "GET":
        form.received_at.data = clock.to_local(clock.utcnow()).strftime("%Y-%m-%dT%H:%M")
        form.received_by.data = g.user.get("name") or ""
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in ("content", "reporter_name", "reporter_phone",
                                                            "field_code", "channel", "received_at", "dossier_code",
                                                            "received_by", "level", "answer")}
        try:
            entry = entries.create(db, unit["id"], data, user_id=g.user["id"], now=clock.utcnow())
        except RegistryError as exc:
            form_error(form, exc, default="content")
        else:
            flash(_("Đã ghi sổ. Mã phiếu: %(code)s — mã tra cứu: %(digits)s. Hãy đọc cho công dân.",
                    code=entry["receipt_code"], digits=entry["lookup_digits"]), "ok")
            return redirect(url_for("registry.logbook_entry", entry_id=entry["id"]))
    return render_template("logbook/new.html", unit=unit, form=form, errors=form_errors(form)), \
        400 if form.errors or form.form_errors else 200


def _readable_entry(entry_id: int) -> dict:
    entry = entries.get(get_db(), entry_id)
    if entry is None:
        abort(404)
    if g.user["role"] != "inspector" and not _is_editor_of(entry["unit_id"]):
        abort(403)
    return entry


def _forms(db, entry: dict) -> dict:
    transfer = TransferForm(prefix="t")
    transfer.to_unit.choices = [("", _("— Chọn đơn vị —"))] + [
        (c, f"{name} ({c})") for c, name in unit_names(db) if c != entry["unit_code"]]
    return {"answer": AnswerForm(prefix="a"), "pause": PauseForm(prefix="p"), "transfer": transfer,
            "attach": AttachForm(prefix="f")}


def _act(db, entry: dict, action: str, forms: dict) -> str | None:
    """Carry out one action of the entry page; its flash message, or None when a form shows errors."""
    now, user_id = clock.utcnow(), g.user["id"]
    form = forms.get(action)
    if form is not None and not form.validate_on_submit():
        return None
    try:
        if action == "answer":
            entries.answer(db, entry["id"], form.answer.data, user_id=user_id, now=now)
            return _("Đã ghi câu trả lời.")
        if action == "pause":
            entries.pause(db, entry["id"], form.pause_reason.data, user_id=user_id, now=now)
            return _("Đã tạm dừng thời hạn trong khi chờ công dân.")
        if action == "resume":
            entries.resume(db, entry["id"], user_id=user_id, now=now)
            return _("Thời hạn đã chạy lại.")
        if action == "close":
            entries.close(db, entry["id"], user_id=user_id, now=now)
            return _("Đã đóng phiếu.")
        if action == "transfer":
            target = get_unit(db, form.to_unit.data) if form.to_unit.data else None
            if target is None:
                raise RegistryError(_("Hãy chọn đơn vị nhận."), field="to_unit")
            transfers.transfer(db, entry["id"], target["id"], form.transfer_reason.data, user_id=user_id, now=now)
            return _("Đã chuyển phiếu cho %(unit)s.", unit=target["name"])
        upload = form.file.data
        attachments.add(db, entry["id"], upload.filename or "", upload.read(attachments.MAX_BYTES + 1),
                        user_id=user_id, now=now)
        return _("Đã đính kèm tệp.")
    except RegistryError as exc:
        if form is None:
            raise
        form_error(form, exc, {"reason": "pause_reason" if action == "pause" else "transfer_reason"},
                   default=next(f.name for f in form if f.type != "CSRFTokenField"))
        return None


@bp.route("/logbook/entries/<int:entry_id>", methods=["GET", "POST"])
@login_required
def logbook_entry(entry_id):
    """One entry: details, the chain of units it went through and their history, attachments, and (for the
    unit's editors) its answer, pause/resume, transfer, close and new attachments."""
    db = get_db()
    entry = _readable_entry(entry_id)
    forms = _forms(db, entry)
    status = 200
    if request.method == "POST":
        if not _is_editor_of(entry["unit_id"]):
            abort(403)
        action = request.form.get("action", "")
        if action not in ACTIONS:
            abort(400)
        message = _act(db, entry, action, forms)
        if message:
            flash(message, "ok")
            return redirect(url_for("registry.logbook_entry", entry_id=entry_id))
        status = 400
    chain = transfers.chain(db, entry)
    own = _is_editor_of(entry["unit_id"])
    return render_template(
        "logbook/entry.html", entry=entry, own=own, phone=entry["reporter_phone"] if own
        else mask_phone(entry["reporter_phone"]), chain=chain, events=history.events(db, [c["id"] for c in chain]),
        files=attachments.for_entries(db, [entry["id"]]), forms=forms, states=STATES, channels=CHANNELS,
        levels=LEVELS, actions=ACTION_LABELS, fields=dict(_field_choices(db)), errors=form_errors(*forms.values()),
        readable_ids={c["id"] for c in chain if g.user["role"] == "inspector" or _is_editor_of(c["unit_id"])},
    ), status


@bp.route("/logbook/attachments/<int:attachment_id>")
@login_required
def logbook_attachment(attachment_id):
    """An attachment, as a download only (never shown inline: a file from outside is not trusted)."""
    db = get_db()
    item = attachments.get(db, attachment_id)
    if item is None:
        abort(404)
    _readable_entry(item["entry_id"])
    response = Response(item["data"], mimetype=item["content_type"])
    ascii_name = item["filename"].encode("ascii", "ignore").decode() or "tep"
    response.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                               f"filename*=UTF-8''{quote(item['filename'])}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

