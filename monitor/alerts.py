"""E-mail alerts: after N confirmed failures in a row, tell the unit's contact and the inspectors.

check_alerts() is a plain job for the scheduler to call every few minutes:

    from monitor.alerts import check_alerts
    check_alerts(db, settings, now=utcnow())

Rules:
- A unit's run is its latest *decided* tests that count (see monitor/reports/scopes.py: no retests, no
  provider errors, no accepted disputes, office-hours hotlines judged in office hours). A failure still
  waiting for its retest decides nothing and is skipped; an answered test or a failure whose retest was
  answered ends the run. N = ALERT_AFTER_FAILURES confirmed failures in a row trigger one alert per run.
- A call held for review (outcome_certain = 0) is no evidence either way: it is skipped like a failure
  waiting for its retest, so it neither lengthens a run nor ends one. A held retest confirms nothing, so its
  original is skipped too until the retest is decided. An inspector's decision (outcome_reviews) makes its
  unit a candidate on the next check, however long ago the call ended.
- Caps so nobody is flooded: ALERTS_PER_UNIT_PER_DAY (local day) and ALERTS_PER_RUN (all units, one call).
  An alert over a cap is still recorded, with status 'suppressed' and the cap in `error`.
- Every alert row is written (status 'pending') before the SMTP conversation; a send that fails is
  recorded 'failed' and retried on the next call, so an SMTP outage loses nothing.
"""
from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask_babel import gettext, lazy_gettext

from monitor import labels
from monitor.attempts.store import TESTS_ONLY
from monitor.reports.scopes import SCOPE_SQL
from monitor.scheduling.state import get_state, set_state
from monitor.settings import Settings
from registry.clock import LOCAL, iso, local_day_bounds, local_today, parse_iso
from registry.errors import UserError
from registry.history import AGENCY_NUMBER_FIELDS

KIND = "confirmed_failures"
NUMBER_CHANGE = "number_change"  # an agency changed, or asked to change, its number
SURVEY_ANSWER = "survey_answer"  # a citizen reported a problem on a 1022 survey call (monitor/surveys/answer_alerts.py)
STATE_KEY = "alerts:checked_at"
FIRST_LOOKBACK = timedelta(days=7)  # the first run looks this far back for tests that ended
OVERLAP = timedelta(minutes=10)  # each run re-reads a little of the previous one's window: cheap, never misses
RETRY_FOR = timedelta(days=7)  # a failed send is retried on every run for this long
RULE = lazy_gettext(
    "Theo Công văn ngày 04/9/2021 của Chủ tịch Ủy ban nhân dân Tỉnh về chấn chỉnh, củng cố hoạt động các "
    "đường dây nóng trên địa bàn tỉnh Đồng Tháp: mỗi cơ quan, đơn vị, địa phương chỉ có duy nhất một số "
    "đường dây nóng, bố trí nhân sự trực 24/24 giờ, tuyệt đối không để người dân phải liên hệ qua nhiều số "
    "điện thoại; Thủ trưởng cơ quan, đơn vị chịu trách nhiệm trước Chủ tịch Ủy ban nhân dân Tỉnh nếu để xảy "
    "ra việc người dân phản ánh nhưng không có người tiếp nhận thông tin hoặc bị hướng dẫn lòng vòng."
)

Sender = Callable[[EmailMessage], None]


class AlertError(UserError):
    """Mail could not be handed to the SMTP server; .message says which setting is missing, in Vietnamese."""


def smtp_sender(settings: Settings) -> Sender:
    """A sender using the SMTP_* settings (STARTTLS and login when configured)."""

    def send(message: EmailMessage) -> None:
        if not settings.smtp_host:
            raise AlertError(gettext("Chưa cấu hình máy chủ thư (FLASK_SMTP_HOST)."))
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)

    return send


def _local(ts: str) -> str:
    moment = parse_iso(ts).astimezone(LOCAL)
    return gettext("%(time)s ngày %(date)s", time=f"{moment:%H:%M}", date=f"{moment:%d/%m/%Y}")


def _decided_tests(db, unit_id: int, limit: int) -> list[dict]:
    """The unit's latest counted tests whose result is decided, newest first."""
    return db.execute_returning_dicts(
        f"""SELECT a.id, a.planned_at, a.ended_at, a.outcome, a.confirmed, a.band, a.number, a.sip_code
            FROM attempts a LEFT JOIN hotlines h ON h.unit_id = a.unit_id
            WHERE a.unit_id = ? AND a.state = 'ended' AND {SCOPE_SQL['counted']}
              AND (a.outcome = 'answered' OR a.confirmed IS NOT NULL) AND a.outcome_certain IS NOT 0
            ORDER BY a.planned_at DESC, a.id DESC LIMIT ?""",
        [unit_id, limit],
    )


def current_run(db, unit_id: int, *, limit: int = 200) -> list[dict]:
    """The unit's current run of confirmed failures, newest first (empty when its latest decided test passed)."""
    run = []
    for test in _decided_tests(db, unit_id, limit):
        if test["outcome"] == "answered" or test["confirmed"] != 1:
            break
        run.append(test)
    return run


def compose(unit: dict, run: list[dict], settings: Settings) -> tuple[str, str]:
    """Vietnamese subject and body naming the unit, its number, each failure with time and outcome, and the rule."""
    count = len(run)
    subject = gettext("[Đường dây nóng] %(unit)s: %(count)s lần gọi kiểm tra liên tiếp không đạt (đã xác nhận)",
                      unit=one_line(unit["name"]), count=count)
    lines = [
        gettext("Kính gửi: %(recipient)s – %(unit)s", recipient=unit["contact_name"] or gettext("Thủ trưởng"),
                unit=unit["name"]),
        "",
        gettext("Hệ thống giám sát đường dây nóng của Văn phòng Ủy ban nhân dân tỉnh Đồng Tháp đã gọi kiểm tra số đường "
                "dây nóng %(number)s của %(unit)s và ghi nhận %(count)s lần liên tiếp không đạt. Mỗi lần đều đã được "
                "xác nhận bằng một cuộc gọi lại sau đó:", number=unit["display"] or run[0]["number"], unit=unit["name"],
                count=count),
        "",
    ]
    for i, test in enumerate(reversed(run), start=1):
        sip = gettext(", mã SIP %(code)s", code=test["sip_code"]) if test["sip_code"] else ""
        lines.append(
            f"  {i}. {_local(test['ended_at'] or test['planned_at'])} ({labels.band(test['band'])}): "
            f"{labels.outcome(test['outcome'])}{sip} – " + gettext("mã cuộc gọi #%(id)s", id=test["id"])
        )
    base = settings.public_base_url.rstrip("/")
    lines += [
        "",
        str(RULE),
        "",
        (gettext("Đề nghị đơn vị kiểm tra ngay tình trạng số máy và việc bố trí người trực. Nếu kết quả kiểm tra chưa "
                 "chính xác, đơn vị gửi giải trình cho từng cuộc gọi trên hệ thống: %(link)s.", link=f"{base}/reports/my")
         if base else
         gettext("Đề nghị đơn vị kiểm tra ngay tình trạng số máy và việc bố trí người trực. Nếu kết quả kiểm tra chưa "
                 "chính xác, đơn vị gửi giải trình cho từng cuộc gọi trên hệ thống.")),
        "",
        gettext("Thư này do hệ thống gửi tự động, vui lòng không trả lời thư này."),
        gettext("Văn phòng Ủy ban nhân dân tỉnh Đồng Tháp"),
    ]
    return subject, "\n".join(lines)


def one_line(text) -> str:
    """Text fit for a mail header: every run of whitespace, line breaks included, one space.

    A header may never carry CR or LF (the mail library refuses it, and a header split in two is an injected
    header); a unit's name is typed by people and may hold a line break.
    """
    return " ".join(str(text or "").split())


def _message(settings: Settings, alert: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = one_line(settings.mail_from)
    message["To"] = one_line(alert["recipients"])
    message["Subject"] = one_line(alert["subject"])  # also for alerts stored before subjects were made one line
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="duongdaynong")
    message.set_content(alert["body"])
    return message


def _sent_today(db, unit_id: int, now: datetime) -> int:
    start, end = local_day_bounds(local_today(now))
    return db.execute(
        "SELECT count(*) FROM alerts WHERE unit_id = ? AND kind = ? AND status != 'suppressed' "
        "AND created_at >= ? AND created_at < ?",
        [unit_id, KIND, start, end],
    ).fetchone()[0]


def _deliver(db, alert: dict, settings: Settings, send: Sender, now: datetime) -> bool:
    """Hand one recorded alert to the sender; record sent or failed. True when sent."""
    try:
        send(_message(settings, alert))
    # ValueError: a message the mail library cannot build (a header it refuses). Recorded as failed like an
    # SMTP refusal, so that one bad alert never stops the alerts after it.
    except (OSError, smtplib.SMTPException, AlertError, ValueError) as exc:
        db.execute("UPDATE alerts SET status = 'failed', error = ? WHERE id = ?", [str(exc)[:500] or repr(exc), alert["id"]])
        return False
    db.execute("UPDATE alerts SET status = 'sent', sent_at = ?, error = NULL WHERE id = ?", [iso(now), alert["id"]])
    return True


def record_and_deliver(db, row: dict, settings: Settings, *, now: datetime, send: Sender, counts: dict, budget: int,
                       suppressed: str | None = None) -> int:
    """Record one alert and, unless held back, send it at once; returns the run's budget left.

    `row` holds the alert's columns but its status: unit_id, kind, recipients, subject, body and the trigger
    column of its kind. `suppressed` is why it must not be sent (no recipient, a cap); an alert over the run's
    budget is suppressed here. Either way the row is written first (so an SMTP outage loses nothing: a failed
    send is retried by check_alerts), and `counts` gets one more of 'sent', 'failed' or 'suppressed'.
    """
    if suppressed is None and budget <= 0:
        suppressed = gettext("Vượt giới hạn %(count)s thư mỗi lần kiểm tra.", count=settings.alerts_per_run)
    alert_id = db.table("alerts").insert({
        **row, "created_at": iso(now), "status": "suppressed" if suppressed else "pending", "error": suppressed,
    }).last_pk
    if suppressed:
        counts["suppressed"] += 1
        return budget
    alert = db.execute_returning_dicts("SELECT * FROM alerts WHERE id = ?", [alert_id])[0]
    counts["sent" if _deliver(db, alert, settings, send, now) else "failed"] += 1
    return budget - 1


def _candidates(db, since: str) -> list[int]:
    """Units with a test that ended or was decided by an inspector since `since` (only these can lengthen a run;
    a survey call ending makes no unit a candidate)."""
    return [r[0] for r in db.execute(
        f"SELECT unit_id FROM attempts a WHERE ended_at >= ? AND {TESTS_ONLY} UNION "
        f"SELECT a.unit_id FROM outcome_reviews r JOIN attempts a ON a.id = r.attempt_id WHERE r.at >= ? AND {TESTS_ONLY} "
        "ORDER BY 1", [since, since]
    ).fetchall()]


def check_alerts(db, settings: Settings, *, now: datetime, send: Sender | None = None) -> dict:
    """Retry failed alerts, then alert on every new run of N confirmed failures; returns counts by status."""
    send = send or smtp_sender(settings)
    threshold = settings.alert_after_failures
    per_unit_day = settings.alerts_per_unit_per_day
    per_run = settings.alerts_per_run
    counts = {"sent": 0, "failed": 0, "suppressed": 0, "retried": 0}
    budget = per_run

    # 1. What an SMTP outage left behind (and anything a crash left pending) goes first.
    for alert in db.execute_returning_dicts(
        "SELECT * FROM alerts WHERE status IN ('pending', 'failed') AND created_at >= ? ORDER BY id",
        [iso(now - RETRY_FOR)],
    ):
        if budget <= 0:
            break
        budget -= 1
        counts["retried"] += 1
        counts["sent" if _deliver(db, alert, settings, send, now) else "failed"] += 1

    # 2. Number changes by agencies (told whatever the failure threshold is).
    budget = notify_number_changes(db, settings, now=now, send=send, counts=counts, budget=budget)

    if threshold <= 0:
        return counts
    checked = get_state(db, STATE_KEY)
    since = iso((parse_iso(checked[0]) - OVERLAP) if checked else now - FIRST_LOOKBACK)
    recipients_all = settings.inspector_addresses()

    # 3. New runs.
    for unit_id in _candidates(db, since):
        run = current_run(db, unit_id)
        if len(run) < threshold:
            continue
        run_ids = [t["id"] for t in run]
        already = db.execute(
            f"SELECT 1 FROM alerts WHERE unit_id = ? AND kind = ? AND trigger_attempt_id IN ({', '.join('?' * len(run_ids))})",
            [unit_id, KIND, *run_ids],
        ).fetchone()
        if already:
            continue  # one alert per run, whatever became of it
        unit = db.execute_returning_dicts(
            "SELECT u.id, u.name, u.code, u.contact_name, u.contact_email, h.display FROM units u "
            "LEFT JOIN hotlines h ON h.unit_id = u.id WHERE u.id = ?", [unit_id]
        )[0]
        subject, body = compose(unit, run, settings)
        recipients = list(dict.fromkeys(([unit["contact_email"]] if unit["contact_email"] else []) + recipients_all))
        suppressed = None
        if not recipients:
            suppressed = gettext("Không có địa chỉ nhận thư (đơn vị và thanh tra viên đều chưa có).")
        elif _sent_today(db, unit_id, now) >= per_unit_day:
            suppressed = gettext("Vượt giới hạn %(count)s thư mỗi ngày cho một đơn vị.", count=per_unit_day)
        budget = record_and_deliver(db, {
            "unit_id": unit_id, "kind": KIND, "recipients": ", ".join(recipients), "subject": subject, "body": body,
            "trigger_attempt_id": run_ids[0],
        }, settings, now=now, send=send, counts=counts, budget=budget, suppressed=suppressed)

    set_state(db, STATE_KEY, iso(now), now)
    return counts


def compose_number_change(change: dict, settings: Settings) -> tuple[str, str]:
    """Vietnamese subject and body telling inspectors an agency changed (or asked to change) its number."""
    unit = " ".join((change["unit_name"] or "").split())  # a line break in a name must not reach a header
    proposed = change["field"] == "number_proposed"
    what = gettext("Máy lẻ") if change["field"] == "extension" else gettext("Số đường dây nóng")
    subject = (gettext("[Đường dây nóng] %(unit)s đề nghị đổi số, chờ duyệt", unit=unit) if proposed
               else gettext("[Đường dây nóng] %(unit)s đã đổi số đường dây nóng", unit=unit))
    base = settings.public_base_url.rstrip("/")
    lines = [
        gettext("Biên tập viên %(who)s của %(unit)s (mã %(code)s) lúc %(when)s:", who=change["actor"], unit=unit,
                code=change["unit_code"], when=_local(change["at"])),
        "",
        "  " + gettext("%(what)s: %(old)s → %(new)s", what=what, old=change["old"] or gettext("(chưa có)"),
                       new=change["new"] or gettext("(không có)")),
        "  " + gettext("Lý do: %(reason)s", reason=change["reason"] or "—"),
        "",
        (gettext("Số mới chưa được áp dụng: danh bạ và lịch gọi kiểm tra vẫn dùng số cũ cho tới khi thanh tra viên "
                 "duyệt.") if proposed else
         gettext("Số mới đã được áp dụng cho danh bạ và lịch gọi kiểm tra.")),
    ]
    if base:
        lines.append(gettext("Xem và duyệt: %(link)s", link=f"{base}/number-changes"))
    lines += ["", gettext("Thư này do hệ thống gửi tự động, vui lòng không trả lời thư này.")]
    return subject, "\n".join(lines)


def notify_number_changes(db, settings: Settings, *, now: datetime, send: Sender, counts: dict, budget: int) -> int:
    """One e-mail to the inspectors for each number change or proposal an agency editor made in the last days
    (each recorded in `alerts` with the history entry it tells about, so it is told once); returns the budget left."""
    marks = ",".join("?" * len(AGENCY_NUMBER_FIELDS))
    changes = db.execute_returning_dicts(
        f"""SELECT c.id, c.unit_id, c.at, c.actor, c.field, c.old, c.new, c.reason, un.code AS unit_code,
                   un.name AS unit_name
            FROM changes c JOIN users us ON us.id = c.user_id JOIN units un ON un.id = c.unit_id
            WHERE us.role = 'agency' AND c.field IN ({marks}) AND c.at >= ?
              AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.trigger_change_id = c.id)
            ORDER BY c.id""",
        [*AGENCY_NUMBER_FIELDS, iso(now - RETRY_FOR)],
    )
    recipients = settings.inspector_addresses()
    for change in changes:
        subject, body = compose_number_change(change, settings)
        suppressed = (gettext("Chưa có địa chỉ thư của thanh tra viên (FLASK_INSPECTOR_EMAILS).") if not recipients
                      else None)
        budget = record_and_deliver(db, {
            "unit_id": change["unit_id"], "kind": NUMBER_CHANGE, "recipients": ", ".join(recipients),
            "subject": subject, "body": body, "trigger_change_id": change["id"],
        }, settings, now=now, send=send, counts=counts, budget=budget, suppressed=suppressed)
    return budget


def list_alerts(db, *, limit: int = 200) -> list[dict]:
    return db.execute_returning_dicts(
        "SELECT al.*, u.code AS unit_code, u.name AS unit_name FROM alerts al LEFT JOIN units u ON u.id = al.unit_id "
        "ORDER BY al.id DESC LIMIT ?", [limit]
    )
