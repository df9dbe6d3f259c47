"""A bad answer on a survey call alerts the inspectors at once, and can open a logbook entry for the unit.

A "yes" to the problem question (asked for money or favours, harassed, treated rudely: questionnaire.PROBLEM_KEY)
or a rating of 1 on the civil servant (questionnaire.OFFICER_KEY) is a bad answer. The operator's form (and the
automated call) calls on_answers() when the answers are recorded:

- One e-mail to the inspectors (FLASK_INSPECTOR_EMAILS) naming the dossier code and the unit, recorded in the
  alerts table by monitor/alerts.py (kind SURVEY_ANSWER), capped like the other alerts: at most
  ALERTS_PER_UNIT_PER_DAY of this kind per unit and local day, the rest recorded 'suppressed'. Never the
  citizen's name or phone.
- When FLASK_SURVEY_OPEN_LOGBOOK_ENTRY is on, an entry in the unit's logbook (channel 1022), anonymous: no
  reporter, no phone and no dossier code, so the unit that handled the dossier cannot tell who spoke.
A case is told about once: calling again for the same case adds nothing.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale, gettext

from monitor import alerts
from monitor.settings import Settings
from monitor.surveys import questionnaire
from monitor.surveys.results import anonymise
from registry.clock import local_day_bounds, local_today
from registry.logbook import entries

CONTENT_PREFIX = "Phản ánh qua khảo sát 1022: "


def normalise(answers) -> dict[str, dict]:
    """question key → {"rating", "yes", "text"} from either a list of answer dicts (with question_key) or a
    mapping key → value (an int is a rating, a bool a yes/no, a str a text) or key → answer dict."""
    items = ([(a.get("question_key"), a) for a in answers] if isinstance(answers, list | tuple)
             else list(dict(answers or {}).items()))
    out = {}
    for key, value in items:
        if isinstance(value, dict):
            answer = {"rating": value.get("rating"), "yes": value.get("yes"), "text": value.get("text")}
        elif isinstance(value, bool):
            answer = {"rating": None, "yes": value, "text": None}
        elif isinstance(value, int):
            answer = {"rating": value, "yes": None, "text": None}
        else:
            answer = {"rating": None, "yes": None, "text": None if value is None else str(value)}
        out[str(key)] = answer
    return out


def problems(answers) -> list[str]:
    """What in these answers calls for an alert, in Vietnamese (empty: nothing)."""
    given = normalise(answers)
    found = []
    if given.get(questionnaire.PROBLEM_KEY, {}).get("yes") in (True, 1):
        found.append(gettext("người dân cho biết bị đòi tiền, quà, gây khó khăn, nhũng nhiễu hoặc đối xử thiếu "
                             "tôn trọng"))
    if given.get(questionnaire.OFFICER_KEY, {}).get("rating") == 1:
        found.append(gettext("người dân đánh giá “rất không hài lòng” về công chức tiếp nhận, giải quyết hồ sơ"))
    return found


def _comment(answers) -> str:
    texts = [a["text"].strip() for a in normalise(answers).values() if a["text"] and a["text"].strip()]
    return anonymise(" / ".join(texts))


def _marker(case_id: int) -> str:
    return f"(phiếu khảo sát #{case_id})"


def on_answers(db, case_id: int, answers, now: datetime, settings: Settings, *, send=None) -> dict:
    """Alert the inspectors (and open a logbook entry) when the case's answers hold a bad answer.

    Returns {"alert": status or None, "entry": receipt code or None}. `send` replaces the SMTP sender (tests).
    """
    with force_locale("vi"):  # the inspectors' mail and the unit's book are Vietnamese, whatever the operator reads
        return _on_answers(db, case_id, answers, now, settings, send)


def _on_answers(db, case_id: int, answers, now: datetime, settings: Settings, send) -> dict:
    found = problems(answers)
    case = db.execute_returning_dicts(
        "SELECT c.id, c.unit_id, d.code AS dossier_code, d.procedure, u.name AS unit_name FROM survey_cases c "
        "JOIN dossiers d ON d.id = c.dossier_id JOIN units u ON u.id = c.unit_id WHERE c.id = ?", [case_id])
    if not found or not case:
        return {"alert": None, "entry": None}
    case = case[0]
    marker = _marker(case_id)
    if db.execute("SELECT 1 FROM alerts WHERE kind = ? AND subject LIKE ?",
                  [alerts.SURVEY_ANSWER, f"%{marker}"]).fetchone():
        return {"alert": None, "entry": None}  # told already
    comment = _comment(answers)
    unit = alerts.one_line(case["unit_name"])
    subject = gettext("[Khảo sát 1022] Phản ánh về %(unit)s %(marker)s", unit=unit, marker=marker)
    body = "\n".join([
        gettext("Khảo sát mức độ hài lòng qua tổng đài 1022: %(what)s.", what="; ".join(found)),
        "",
        "  " + gettext("Đơn vị xử lý: %(unit)s", unit=unit),
        "  " + gettext("Mã hồ sơ: %(code)s", code=case["dossier_code"]),
        "  " + gettext("Thủ tục: %(procedure)s", procedure=case["procedure"] or "—"),
        "  " + gettext("Ý kiến của người dân: %(comment)s", comment=comment or "—"),
        "",
        gettext("Đề nghị thanh tra viên xem xét, xác minh. Thông tin người dân được bảo mật; số điện thoại chỉ "
                "xem được trên hệ thống (có ghi nhật ký)."),
        "",
        gettext("Thư này do hệ thống gửi tự động, vui lòng không trả lời thư này."),
    ])
    recipients = settings.inspector_addresses()
    start, end = local_day_bounds(local_today(now))
    today = db.execute("SELECT count(*) FROM alerts WHERE unit_id = ? AND kind = ? AND status != 'suppressed' "
                       "AND created_at >= ? AND created_at < ?",
                       [case["unit_id"], alerts.SURVEY_ANSWER, start, end]).fetchone()[0]
    suppressed = None
    if not recipients:
        suppressed = gettext("Chưa có địa chỉ thư của thanh tra viên (FLASK_INSPECTOR_EMAILS).")
    elif today >= settings.alerts_per_unit_per_day:
        suppressed = gettext("Vượt giới hạn %(count)s thư mỗi ngày cho một đơn vị.",
                             count=settings.alerts_per_unit_per_day)
    counts = {"sent": 0, "failed": 0, "suppressed": 0}
    alerts.record_and_deliver(db, {
        "unit_id": case["unit_id"], "kind": alerts.SURVEY_ANSWER, "recipients": ", ".join(recipients),
        "subject": subject, "body": body,
    }, settings, now=now, send=send if send is not None else alerts.smtp_sender(settings), counts=counts,
        budget=max(settings.alerts_per_run, 1), suppressed=suppressed)
    status = next(k for k, v in counts.items() if v)
    entry = None
    if settings.survey_open_logbook_entry:
        content = CONTENT_PREFIX + "; ".join(found) + (f". {gettext('Ý kiến')}: {comment}" if comment else ".")
        entry = entries.create(db, case["unit_id"], {
            "channel": "1022", "content": content[:entries.LIMITS["content"]], "level": "unit",
            "reporter_name": "", "reporter_phone": "", "dossier_code": "", "received_at": now,
        }, user_id=None, now=now)["receipt_code"]
    return {"alert": status, "entry": entry}
