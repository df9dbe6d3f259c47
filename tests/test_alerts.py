"""Alert e-mails against a real local SMTP server (aiosmtpd): who gets them, what they say, and the caps."""
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import check_alerts, current_run
from monitor.settings import Settings
from registry.hotlines import set_hotline
from registry.units import create_unit

from .fakes import MailSink, free_port
from .report_fixtures import add_attempt, failure_with_retest

NOW = datetime(2025, 6, 20, 3, 0, tzinfo=timezone.utc)  # 10:00 local, Friday 20 June


@pytest.fixture
def smtp():
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


def settings(port, **overrides):
    values = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "MAIL_FROM": "duongdaynong@vpubnd.test.vn",
              "INSPECTOR_EMAILS": "thanhtra1@vpubnd.test.vn, thanhtra2@vpubnd.test.vn",
              "ALERT_AFTER_FAILURES": 3, "ALERTS_PER_UNIT_PER_DAY": 1, "ALERTS_PER_RUN": 20,
              "PUBLIC_BASE_URL": "https://hotline.example.vn"}
    values.update(overrides)
    return Settings.load({}, values)


def three_confirmed_failures(db, unit_id, day=16):
    """Three tests in a row, each failed and confirmed by its retest (16, 17, 18 June by default)."""
    return [
        failure_with_retest(db, unit_id, f"2025-06-{day:02d} 09:00", "no_answer", "no_answer")[0],
        failure_with_retest(db, unit_id, f"2025-06-{day + 1:02d} 20:00", "busy", "busy")[0],
        failure_with_retest(db, unit_id, f"2025-06-{day + 2:02d} 02:00", "unreachable", "unreachable", sip_code=480)[0],
    ]


def alerts(db):
    return db.execute_returning_dicts("SELECT * FROM alerts ORDER BY id")


def test_three_confirmed_failures_in_a_row_email_the_unit_and_the_inspectors(db, units, smtp):
    sink, port = smtp
    add_attempt(db, units["SYT"], "2025-06-13 09:00", "answered", answer_seconds=6.0)
    failures = three_confirmed_failures(db, units["SYT"])
    counts = check_alerts(db, settings(port), now=NOW)
    assert counts["sent"] == 1
    assert len(sink.envelopes) == 1
    envelope = sink.envelopes[0]
    assert envelope.mail_from == "duongdaynong@vpubnd.test.vn"
    assert sorted(envelope.rcpt_tos) == ["soyte@test.vn", "thanhtra1@vpubnd.test.vn", "thanhtra2@vpubnd.test.vn"]
    message = sink.messages[0]
    assert message["Subject"] == "[Đường dây nóng] Sở Y tế: 3 lần gọi kiểm tra liên tiếp không đạt (đã xác nhận)"
    body = message.get_content()
    assert "0277 3851 234" in body
    # each failure with its local time and outcome, oldest first
    assert body.index("09:00 ngày 16/06/2025") < body.index("20:00 ngày 17/06/2025") < body.index("02:00 ngày 18/06/2025")
    assert "Không nghe máy" in body and "Máy bận" in body and "Không liên lạc được, mã SIP 480" in body
    assert f"#{failures[0]}" in body
    assert "04/9/2021" in body and "24/24 giờ" in body
    assert "https://hotline.example.vn/reports/my" in body
    row = alerts(db)[0]
    assert (row["status"], row["unit_id"], row["trigger_attempt_id"]) == ("sent", units["SYT"], failures[-1])
    assert row["sent_at"] and row["kind"] == "confirmed_failures"


def test_one_alert_per_run_even_when_the_run_goes_on(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["SYT"])
    check_alerts(db, settings(port), now=NOW)
    failure_with_retest(db, units["SYT"], "2025-06-19 09:00", "no_answer", "no_answer")  # a fourth in a row
    assert check_alerts(db, settings(port), now=NOW + timedelta(days=1))["sent"] == 0
    assert len(sink.envelopes) == 1 and len(alerts(db)) == 1


@pytest.mark.parametrize("breaker, kwargs", [
    ("answered", {"answer_seconds": 7.0}),  # a person answered in between
    ("busy", {"confirmed": 0}),  # a failure whose retest was answered is not a confirmed failure
])
def test_a_passed_test_in_between_breaks_the_run(db, units, smtp, breaker, kwargs):
    sink, port = smtp
    failure_with_retest(db, units["SYT"], "2025-06-16 09:00", "no_answer", "no_answer")
    failure_with_retest(db, units["SYT"], "2025-06-17 09:00", "no_answer", "no_answer")
    add_attempt(db, units["SYT"], "2025-06-17 15:00", breaker, **kwargs)
    failure_with_retest(db, units["SYT"], "2025-06-18 09:00", "no_answer", "no_answer")
    assert check_alerts(db, settings(port), now=NOW) == {"sent": 0, "failed": 0, "suppressed": 0, "retried": 0}
    assert sink.envelopes == [] and alerts(db) == []


def test_pending_failures_provider_errors_and_retests_neither_count_nor_break(db, units, smtp):
    sink, port = smtp
    failure_with_retest(db, units["SYT"], "2025-06-16 09:00", "no_answer", "no_answer")
    add_attempt(db, units["SYT"], "2025-06-16 15:00", "provider_error")
    failure_with_retest(db, units["SYT"], "2025-06-17 09:00", "busy", "busy")
    add_attempt(db, units["SYT"], "2025-06-17 15:00", "no_answer")  # waiting for its retest: decides nothing yet
    assert len(current_run(db, units["SYT"])) == 2
    assert check_alerts(db, settings(port), now=NOW)["sent"] == 0
    # the pending one's retest comes back failed (confirmed), then a machine answer is confirmed too
    db.execute("UPDATE attempts SET confirmed = 1 WHERE planned_at LIKE '2025-06-17T08:00%'")
    failure_with_retest(db, units["SYT"], "2025-06-20 11:00", "machine", "machine")  # ends after the first check
    assert len(current_run(db, units["SYT"])) == 4
    assert check_alerts(db, settings(port), now=NOW + timedelta(hours=3))["sent"] == 1


def test_an_accepted_dispute_takes_a_failure_out_of_the_run(db, units, smtp):
    sink, port = smtp
    failures = three_confirmed_failures(db, units["SYT"])
    db.execute("INSERT INTO disputes (attempt_id, unit_id, opened_at, explanation, status) "
               "VALUES (?, ?, '2025-06-19T00:00:00.000Z', 'Sự cố nhà mạng', 'accepted')", [failures[1], units["SYT"]])
    assert check_alerts(db, settings(port), now=NOW)["sent"] == 0


def test_the_threshold_is_configurable(db, units, smtp):
    sink, port = smtp
    failure_with_retest(db, units["SYT"], "2025-06-17 09:00", "no_answer", "no_answer")
    failure_with_retest(db, units["SYT"], "2025-06-18 09:00", "no_answer", "no_answer")
    assert len(current_run(db, units["SYT"])) == 2  # fewer than the default 3
    assert check_alerts(db, settings(port, ALERT_AFTER_FAILURES=2), now=NOW)["sent"] == 1
    assert "2 lần gọi kiểm tra liên tiếp" in sink.messages[0]["Subject"]


def test_per_unit_daily_cap_suppresses_and_records_the_second_alert_of_the_day(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["SYT"], day=16)
    check_alerts(db, settings(port), now=NOW)  # 10:00 local on 20 June: first alert of the day, sent
    add_attempt(db, units["SYT"], "2025-06-20 10:30", "answered", answer_seconds=5.0)  # that run is over
    for when in ("2025-06-20 11:00", "2025-06-20 13:00", "2025-06-20 15:00"):  # a new run the same local day
        failure_with_retest(db, units["SYT"], when, "no_answer", "no_answer")
    evening = datetime(2025, 6, 20, 10, 0, tzinfo=timezone.utc)  # 17:00 local
    assert check_alerts(db, settings(port), now=evening)["suppressed"] == 1
    rows = alerts(db)
    assert [r["status"] for r in rows] == ["sent", "suppressed"]
    assert "1 thư mỗi ngày" in rows[1]["error"] and rows[1]["subject"] and rows[1]["body"]
    assert len(sink.envelopes) == 1
    # a run the next local day is sent again
    add_attempt(db, units["SYT"], "2025-06-21 08:00", "answered", answer_seconds=5.0)
    for when in ("2025-06-21 09:00", "2025-06-21 10:00", "2025-06-21 11:00"):
        failure_with_retest(db, units["SYT"], when, "no_answer", "no_answer")
    assert check_alerts(db, settings(port), now=datetime(2025, 6, 21, 6, 0, tzinfo=timezone.utc))["sent"] == 1
    assert len(sink.envelopes) == 2


def test_per_run_cap_limits_the_mail_of_one_check(db, units, smtp):
    sink, port = smtp
    third = create_unit(db, {"code": "STC", "name": "Sở Tài chính", "group_code": "A", "contact_email": "stc@test.vn"})
    set_hotline(db, third, "0277 3866 999", actor=None)
    for unit_id in (units["SYT"], units["XMA"], third):
        three_confirmed_failures(db, unit_id)
    counts = check_alerts(db, settings(port, ALERTS_PER_RUN=2), now=NOW)
    assert (counts["sent"], counts["suppressed"]) == (2, 1)
    assert len(sink.envelopes) == 2
    suppressed = [r for r in alerts(db) if r["status"] == "suppressed"]
    assert len(suppressed) == 1 and "2 thư mỗi lần" in suppressed[0]["error"]


def test_smtp_failure_is_recorded_and_retried_on_the_next_run(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["SYT"])
    counts = check_alerts(db, settings(free_port()), now=NOW)  # nothing listens there
    assert counts["failed"] == 1
    row = alerts(db)[0]
    assert row["status"] == "failed" and row["error"] and row["sent_at"] is None
    counts = check_alerts(db, settings(port), now=NOW + timedelta(minutes=5))
    assert (counts["retried"], counts["sent"]) == (1, 1)
    assert [r["status"] for r in alerts(db)] == ["sent"]  # the same alert, not a second one
    assert len(sink.envelopes) == 1 and sink.messages[0]["Subject"] == row["subject"]


def test_without_smtp_settings_alerts_wait_as_failed_with_a_clear_reason(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["SYT"])
    assert check_alerts(db, settings(port, SMTP_HOST=""), now=NOW)["failed"] == 1
    assert "FLASK_SMTP_HOST" in alerts(db)[0]["error"]
    assert check_alerts(db, settings(port), now=NOW + timedelta(minutes=1))["sent"] == 1


def test_no_recipient_at_all_is_recorded_as_suppressed(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["XMA"])  # XMA has no contact e-mail
    assert check_alerts(db, settings(port, INSPECTOR_EMAILS=""), now=NOW)["suppressed"] == 1
    assert alerts(db)[0]["status"] == "suppressed" and sink.envelopes == []


def test_unit_without_contact_email_still_alerts_the_inspectors(db, units, smtp):
    sink, port = smtp
    three_confirmed_failures(db, units["XMA"])
    check_alerts(db, settings(port), now=NOW)
    assert sorted(sink.envelopes[0].rcpt_tos) == ["thanhtra1@vpubnd.test.vn", "thanhtra2@vpubnd.test.vn"]


def test_office_hours_hotline_runs_count_only_office_hours_tests(db, units, smtp):
    sink, port = smtp
    set_hotline(db, units["SYT"], "0277 3851 234", actor=None, hours="office")
    three_confirmed_failures(db, units["SYT"])  # 09:00 office, 20:00 evening, 02:00 night
    assert len(current_run(db, units["SYT"])) == 1
    assert check_alerts(db, settings(port), now=NOW)["sent"] == 0


def test_later_runs_only_look_at_tests_that_ended_since_the_last_check(db, units, smtp):
    sink, port = smtp
    check_alerts(db, settings(port), now=NOW)
    stamp = db.execute("SELECT value FROM scheduler_state WHERE key = 'alerts:checked_at'").fetchone()[0]
    assert stamp.startswith("2025-06-20T03:00")
    # failures that ended long before the last check are not looked at again
    three_confirmed_failures(db, units["SYT"], day=2)
    assert check_alerts(db, settings(port), now=NOW + timedelta(minutes=5))["sent"] == 0


def test_the_scheduler_alert_job_sends_through_its_own_connection(app, db, units, smtp):
    from monitor.scheduling.scheduler import alerts_job

    sink, port = smtp
    three_confirmed_failures(db, units["SYT"])
    with_smtp = settings(port).with_values(database=app.extensions["settings"].database)
    assert alerts_job(with_smtp, NOW)["sent"] == 1
    assert alerts_job(with_smtp, NOW)["sent"] == 0  # the same run is never alerted twice
    assert len(sink.envelopes) == 1
