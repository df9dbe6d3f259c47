"""The sample frame's import page, for inspectors: upload the one-stop system's export of completed dossiers
(XLSX or CSV), check it (counts per unit, late, without a phone) and import it, all or nothing."""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional

from monitor.surveys import dossiers
from monitor.surveys.frame import FrameRejected
from monitor.surveys.frame_headings import FIELDS, parse_mapping
from monitor.surveys.results import LEVELS
from registry.appendix.limits import megabytes
from registry.clock import utcnow
from registry.errors import UserError
from registry.web import get_db
from registry.web.auth import inspector_required
from registry.web.blueprint import form_errors
from registry.web.errors import form_error
from registry.web.forms import TOO_LONG

bp = Blueprint("survey_import", __name__, url_prefix="/surveys")
HISTORY_SHOWN = 10


class DossierImportForm(FlaskForm):
    """The export to import, whether only to check it, and the headings of columns named unusually."""

    file = FileField(_l("Tệp danh sách hồ sơ đã trả kết quả (XLSX hoặc CSV)"),
                     validators=[FileRequired(message=_l("Hãy chọn một tệp."))], render_kw={"accept": ".xlsx,.csv"})
    dry_run = BooleanField(_l("Chỉ kiểm tra, không ghi gì"), default=True)


for _field, _label in FIELDS.items():  # one optional heading per field: map_code, map_phone…
    setattr(DossierImportForm, f"map_{_field}", StringField(
        _label, validators=[Optional(), Length(max=200, message=TOO_LONG)]))


def _mapping(form: DossierImportForm) -> dict[str, str]:
    return parse_mapping((field, getattr(form, f"map_{field}").data or "") for field in FIELDS)


@bp.route("/import", methods=["GET", "POST"])
@inspector_required
def import_page():
    """Upload an export: a dry run shows what would be imported; an import writes it, every bad row listed."""
    form = DossierImportForm()
    db = get_db()
    result, rejected, status = None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = dossiers.import_bytes(db, upload.read(), upload.filename or "", mapping=_mapping(form),
                                           user_id=g.user["id"], now=utcnow(), dry_run=bool(form.dry_run.data))
        except FrameRejected as exc:
            rejected, status = exc, 400
        except UserError as exc:  # the file as a whole cannot be read, or a mapping names no field
            form_error(form, exc, default="file")
            status = 400
    elif form.is_submitted():
        status = 400
    return render_template(
        "surveys/import.html", form=form, result=result, rejected=rejected, levels=LEVELS,
        map_fields=[getattr(form, f"map_{field}") for field in FIELDS], history=dossiers.import_history(db, HISTORY_SHOWN),
        upload_limit=megabytes(current_app.config["MAX_CONTENT_LENGTH"] - 64 * 1024),
        fields=FIELDS, errors=form_errors(form) if status == 400 and not rejected else [],
    ), status

