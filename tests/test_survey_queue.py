"""The operator's queue (monitor/surveys/queue.py, cases.py, operator.py): retry rules of every disposition,
calling hours and days, appointments first, claims two operators never share, answers kept or refused."""
import threading
from datetime import datetime, timedelta, timezone

import pytest

from monitor import alerts
from monitor.surveys import answers, calling_hours, cases, dispositions, operator, privacy, queue
from registry import accounts
from registry.db import connect
from registry.errors import UserError
from registry.logbook import calendar

from .survey_fixtures import NOW, case_row, make_cases

pytestmark = pytest.mark.usefixtures("quick_password_hashing")

ALL_ANSWERS = {"q0": "yes", "q1": "5", "q2": "4", "q3": "2", "q4": "4", "q5": "3", "q6": "no", "q7": "Nhanh gọn"}


@pytest.fixture
def settings(app):
    return app.extensions["settings"]


@pytest.fixture
def operators(db):
    return [{"id": accounts.create_operator(db, f"dtv{n}@1022.test.vn", "mat-khau-dien-thoai", f"Điện thoại viên {n}"),
             "role": "operator"} for n in (1, 2)]


def local(year, month, day, hour, minute=0):
    """A local (Asia/Ho_Chi_Minh) wall-clock time as aware UTC."""
    return datetime(year, month, day, hour - 7, minute, tzinfo=timezone.utc) if hour >= 7 else \
        datetime(year, month, day, hour, minute, tzinfo=timezone.utc) - timedelta(hours=7)


# --------------------------------------------------------------------------------------- dispositions' rules


@pytest.mark.parametrize("code", list(dispositions.DISPOSITIONS))
def test_every_disposition_closes_or_retries_by_its_rule(code):
    rule = dispositions.get(code)
    appointment = NOW + timedelta(days=1)
    change = queue.after_call(code, 0, NOW, appointment)
    assert change["tries"] == 1
    if rule.final:
        assert change == {"tries": 1, "state": "closed", "next_at": None, "appointment_at": None,
                          "closed_at": "2026-03-03T02:00:00.000Z"}
    elif code == "appointment":
        assert change["state"] == "open" and change["next_at"] == change["appointment_at"] == "2026-03-04T02:00:00.000Z"
    else:
        assert change["state"] == "open" and change["appointment_at"] is None
        assert change["next_at"] == queue.iso(NOW + rule.retry)


@pytest.mark.parametrize("code,delay", [("no_answer", timedelta(hours=3)), ("busy", timedelta(minutes=30)),
                                        ("soft_refusal", timedelta(days=7)), ("break_off", timedelta(days=1))])
def test_retry_delays_are_those_of_the_survey_practice(code, delay):
    assert queue.after_call(code, 0, NOW)["next_at"] == queue.iso(NOW + delay)


@pytest.mark.parametrize("code", ["complete", "partial", "refusal", "wrong_number", "disconnected", "not_applicant",
                                  "do_not_call", "language"])
def test_final_dispositions_close_the_case(code):
    assert queue.after_call(code, 0, NOW)["state"] == "closed"


def test_the_last_of_max_tries_closes_the_case_on_its_disposition(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000001"])
    now = NOW
    for n in range(1, dispositions.MAX_TRIES + 1):
        case, why = operator.next_case(db, operators[0]["id"], now, settings)
        assert case["id"] == case_id, (n, why)
        operator.record_call(db, case_id, operators[0], disposition="busy", note="", given={}, appointment_at=None,
                             now=now, settings=settings)
        row = case_row(db, case_id)
        assert row["tries"] == n
        assert row["state"] == ("closed" if n == dispositions.MAX_TRIES else "open")
        now += timedelta(minutes=31)
    assert row["disposition"] == "busy" and row["closed_at"]
    assert db.execute("SELECT count(*) FROM survey_contacts WHERE case_id = ?", [case_id]).fetchone()[0] == 5
    assert operator.next_case(db, operators[0]["id"], NOW + timedelta(days=1), settings) == (None, "empty")


def test_a_case_comes_back_only_after_its_retry_delay(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000002"])
    me, start = operators[0], local(2026, 3, 3, 14)
    assert operator.next_case(db, me["id"], start, settings)[0]["id"] == case_id
    operator.record_call(db, case_id, me, disposition="no_answer", note="Đổ chuông không ai nghe", given={},
                         appointment_at=None, now=start, settings=settings)
    assert operator.next_case(db, me["id"], start + timedelta(hours=2, minutes=59), settings) == (None, "empty")
    assert operator.next_case(db, me["id"], start + timedelta(hours=3), settings)[0]["id"] == case_id
    contact = db.execute_returning_dicts("SELECT * FROM survey_contacts WHERE case_id = ?", [case_id])[0]
    assert (contact["disposition"], contact["note"], contact["user_id"], contact["mode"]) == (
        "no_answer", "Đổ chuông không ai nghe", me["id"], "operator")


# ------------------------------------------------------------------------------------- calling hours and days


@pytest.mark.parametrize("when,is_open", [
    (local(2026, 3, 3, 7, 59), False), (local(2026, 3, 3, 8, 0), True), (local(2026, 3, 3, 11, 29), True),
    (local(2026, 3, 3, 11, 30), False), (local(2026, 3, 3, 12, 15), False), (local(2026, 3, 3, 13, 30), True),
    (local(2026, 3, 3, 19, 59), True), (local(2026, 3, 3, 20, 0), False), (local(2026, 3, 3, 22, 0), False),
    (local(2026, 3, 7, 9, 0), True),     # a Saturday: open
    (local(2026, 3, 8, 9, 0), False),    # a Sunday
    (local(2026, 2, 13, 9, 0), True),    # the Friday before Tết
    (local(2026, 2, 16, 9, 0), False),   # Tết: the eve…
    (local(2026, 2, 17, 9, 0), False),   # …the first day…
    (local(2026, 2, 20, 9, 0), False),   # …to the fourth day
    (local(2026, 2, 23, 9, 0), True),    # the Monday after
    (local(2026, 9, 1, 9, 0), False),    # National Day (1 and 2 September)
    (local(2026, 9, 2, 9, 0), False),
    (local(2026, 9, 3, 9, 0), True),
])
def test_calling_windows_around_holidays_and_hours(db, when, is_open):
    windows = [("08:00", "11:30"), ("13:30", "20:00")]
    assert calling_hours.is_open(when, windows, calling_hours.load_calendar(db, when)) is is_open


def test_a_declared_day_off_closes_and_a_declared_working_day_opens(db):
    calendar.declare(db, datetime(2026, 3, 4).date(), False, "Nghỉ bù", user_id=None, now=NOW)
    calendar.declare(db, datetime(2026, 3, 8).date(), True, "Làm bù Chủ nhật", user_id=None, now=NOW)
    windows = [("08:00", "20:00")]
    assert not calling_hours.is_open(local(2026, 3, 4, 9), windows, calling_hours.load_calendar(db, NOW))
    assert calling_hours.is_open(local(2026, 3, 8, 9), windows, calling_hours.load_calendar(db, NOW))


def test_no_case_is_offered_on_a_holiday_or_outside_hours(app, db, units, operators, settings):
    make_cases(db, units["SYT"], ["0912000003"])
    me = operators[0]["id"]
    assert operator.next_case(db, me, local(2026, 9, 2, 9), settings) == (None, "day_closed")
    assert operator.next_case(db, me, local(2026, 2, 17, 9), settings) == (None, "day_closed")
    assert operator.next_case(db, me, local(2026, 3, 3, 21), settings) == (None, "outside_hours")
    assert db.execute("SELECT count(*) FROM survey_cases WHERE claimed_by IS NOT NULL").fetchone()[0] == 0
    assert operator.next_case(db, me, local(2026, 3, 3, 9), settings)[1] == "offered"


# ------------------------------------------------------------------------------------------ order and claims


def test_a_due_appointment_comes_before_older_cases(app, db, units, operators, settings):
    first, second, third = make_cases(db, units["SYT"], ["0912000011", "0912000012", "0912000013"])
    me = operators[0]
    assert operator.next_case(db, me["id"], NOW, settings)[0]["id"] == first
    at = local(2026, 3, 3, 15)
    operator.record_call(db, first, me, disposition="appointment", note="Hẹn chiều", given={}, appointment_at=at,
                         now=NOW, settings=settings)
    assert case_row(db, first)["appointment_at"] == queue.iso(at)
    assert operator.next_case(db, me["id"], NOW + timedelta(minutes=1), settings)[0]["id"] == second
    operator.record_call(db, second, me, disposition="busy", note="", given={}, appointment_at=None,
                         now=NOW + timedelta(minutes=1), settings=settings)
    # at 15:00 the appointment is due: it comes before the third case, never tried yet
    assert operator.next_case(db, me["id"], at, settings)[0]["id"] == first
    assert third


def test_a_claim_is_the_operators_own_until_it_expires(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000021"])
    one, two = operators
    assert operator.next_case(db, one["id"], NOW, settings)[0]["id"] == case_id
    assert operator.next_case(db, one["id"], NOW + timedelta(minutes=5), settings)[1] == "held"
    assert operator.next_case(db, two["id"], NOW + timedelta(minutes=9), settings) == (None, "empty")
    with pytest.raises(cases.CaseError) as refused:
        operator.record_call(db, case_id, two, disposition="complete", note="", given=ALL_ANSWERS, appointment_at=None,
                             now=NOW + timedelta(minutes=9), settings=settings)
    assert refused.value.status == 409
    assert operator.next_case(db, two["id"], NOW + timedelta(minutes=10), settings)[0]["id"] == case_id


def test_two_operators_claiming_at_once_never_get_the_same_case(app, db, units, settings):
    ids = make_cases(db, units["SYT"], [f"09120001{n:02d}" for n in range(12)])
    users = [accounts.create_operator(db, f"song{n}@1022.test.vn", "mat-khau-dien-thoai") for n in range(6)]
    got, errors, barrier = {}, [], threading.Barrier(len(users))

    def work(user_id):
        conn = connect(app.config["DATABASE"])
        try:
            barrier.wait()
            mine = []
            for _ in range(2):
                case = cases.claim_next(conn, user_id, NOW, operator.callable_case(conn, settings))
                if case:
                    mine.append(case["id"])
                    cases.record_contact(conn, case["id"], user_id=user_id, disposition="busy", note="", now=NOW)
            got[user_id] = mine
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    claimed = [c for mine in got.values() for c in mine]
    assert sorted(claimed) == sorted(ids)  # 6 operators × 2 = 12 cases, each exactly once


# ------------------------------------------------------------------------------------------------- answers


def test_a_complete_interview_stores_one_row_per_question(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000031"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, case_id, operators[0], disposition="complete", note="", given=ALL_ANSWERS,
                         appointment_at=None, now=NOW, settings=settings)
    stored = answers.for_case(db, case_id)
    assert len(stored) == 8
    assert stored["consent"]["yes"] == 1 and stored["element_1"]["rating"] == 5 and stored["problem"]["yes"] == 0
    assert stored["comment"]["text"] == "Nhanh gọn"
    assert case_row(db, case_id)["state"] == "closed"


def test_complete_needs_consent_and_every_rating_and_writes_nothing_otherwise(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000032"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    for given in ({**ALL_ANSWERS, "q3": ""}, {**ALL_ANSWERS, "q0": "no"}):
        with pytest.raises(cases.CaseError) as refused:
            operator.record_call(db, case_id, operators[0], disposition="complete", note="", given=given,
                                 appointment_at=None, now=NOW, settings=settings)
        assert refused.value.field == "disposition"
    assert answers.for_case(db, case_id) == {}
    assert case_row(db, case_id)["tries"] == 0
    assert db.execute("SELECT count(*) FROM survey_contacts").fetchone()[0] == 0


@pytest.mark.parametrize("given,field", [({"q1": "7"}, "q1"), ({"q0": "maybe"}, "q0"), ({"q7": "x" * 2001}, "q7")])
def test_a_bad_answer_is_named_and_changes_nothing(app, db, units, operators, settings, given, field):
    (case_id,) = make_cases(db, units["SYT"], ["0912000033"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    with pytest.raises(answers.AnswerError) as refused:
        operator.record_call(db, case_id, operators[0], disposition="partial", note="", given=given,
                             appointment_at=None, now=NOW, settings=settings)
    assert refused.value.field == field
    assert case_row(db, case_id)["tries"] == 0 and answers.for_case(db, case_id) == {}


def test_a_break_off_keeps_its_answers_and_the_call_back_completes_them(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000034"])
    me = operators[0]
    operator.next_case(db, me["id"], NOW, settings)
    operator.record_call(db, case_id, me, disposition="break_off", note="Mất sóng", given={"q0": "yes", "q1": "4"},
                         appointment_at=None, now=NOW, settings=settings)
    assert set(answers.for_case(db, case_id)) == {"consent", "element_1"}
    later = NOW + timedelta(days=1)
    assert operator.next_case(db, me["id"], later, settings)[0]["id"] == case_id
    operator.record_call(db, case_id, me, disposition="complete", note="", given={**ALL_ANSWERS, "q1": "3"},
                         appointment_at=None, now=later, settings=settings)
    stored = answers.for_case(db, case_id)
    assert len(stored) == 8 and stored["element_1"]["rating"] == 3  # the later answer replaces the earlier one


def test_a_partial_interview_keeps_what_was_answered(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000035"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, case_id, operators[0], disposition="partial", note="", given={"q0": "yes", "q1": "2"},
                         appointment_at=None, now=NOW, settings=settings)
    assert answers.for_case(db, case_id)["element_1"]["rating"] == 2
    assert case_row(db, case_id)["state"] == "closed"


def test_answers_typed_on_a_call_nobody_took_are_not_kept(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000036"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, case_id, operators[0], disposition="no_answer", note="", given={"q1": "5"},
                         appointment_at=None, now=NOW, settings=settings)
    assert answers.for_case(db, case_id) == {}


# ------------------------------------------------------------------------------------ do not call, bad input


def test_do_not_call_puts_the_number_on_the_list_and_its_other_cases_are_skipped(app, db, units, operators, settings):
    first, other = make_cases(db, units["SYT"], ["0912000041", "0912000041"])
    me = operators[0]
    assert operator.next_case(db, me["id"], NOW, settings)[0]["id"] == first
    operator.record_call(db, first, me, disposition="do_not_call", note="", given={}, appointment_at=None, now=NOW,
                         settings=settings)
    assert privacy.on_do_not_call(db, "0912000041", secret_key=settings.secret_key)
    assert case_row(db, first)["state"] == "closed"
    assert operator.next_case(db, me["id"], NOW, settings) == (None, "empty")
    assert case_row(db, other)["state"] == "open"


def test_cases_without_a_phone_are_not_offered(app, db, units, operators, settings):
    make_cases(db, units["SYT"], [None])
    assert operator.next_case(db, operators[0]["id"], NOW, settings) == (None, "empty")


@pytest.mark.parametrize("disposition,appointment,field", [
    ("", None, "disposition"), ("khong-co", None, "disposition"), ("appointment", None, "appointment"),
    ("appointment", NOW - timedelta(hours=1), "appointment"),
    ("appointment", NOW + timedelta(days=61), "appointment"),
    ("appointment", datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc), "appointment"),   # 22:00 local
    ("appointment", datetime(2026, 9, 2, 2, 0, tzinfo=timezone.utc), "appointment"),    # a holiday
])
def test_a_bad_disposition_or_appointment_is_refused_and_changes_nothing(app, db, units, operators, settings,
                                                                         disposition, appointment, field):
    (case_id,) = make_cases(db, units["SYT"], ["0912000051"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    before = case_row(db, case_id)
    with pytest.raises(UserError) as refused:
        operator.record_call(db, case_id, operators[0], disposition=disposition, note="", given={},
                             appointment_at=appointment, now=NOW, settings=settings)
    assert refused.value.field == field and refused.value.message
    assert case_row(db, case_id) == before
    assert db.execute("SELECT count(*) FROM survey_contacts").fetchone()[0] == 0


def test_a_closed_case_takes_no_more_calls(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000061"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, case_id, operators[0], disposition="refusal", note="", given={}, appointment_at=None,
                         now=NOW, settings=settings)
    with pytest.raises(cases.CaseError) as refused:
        operator.record_call(db, case_id, operators[0], disposition="complete", note="", given=ALL_ANSWERS,
                             appointment_at=None, now=NOW, settings=settings)
    assert refused.value.status == 409


def test_the_queue_state_for_inspectors_counts_without_personal_data(app, db, units, operators, settings):
    ids = make_cases(db, units["SYT"], ["0912000071", "0912000072", "0912000073"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, ids[0], operators[0], disposition="wrong_number", note="", given={}, appointment_at=None,
                         now=NOW, settings=settings)
    operator.next_case(db, operators[0]["id"], NOW, settings)
    state = cases.queue_state(db, NOW)
    assert (state["open"], state["due"], state["contacts_today"]) == (2, 2, 1)
    assert state["closed"] == [{"disposition": "wrong_number", "count": 1}]
    assert [h["operator"] for h in state["held"]] == ["dtv1@1022.test.vn"]
    assert "0912" not in repr(state)


def test_a_reported_problem_alerts_the_inspectors_once_the_call_is_recorded(app, db, units, operators, settings):
    (case_id,) = make_cases(db, units["SYT"], ["0912000081"])
    operator.next_case(db, operators[0]["id"], NOW, settings)
    operator.record_call(db, case_id, operators[0], disposition="complete", note="", given={**ALL_ANSWERS, "q6": "yes"},
                         appointment_at=None, now=NOW, settings=settings)
    alert = db.execute_returning_dicts("SELECT unit_id, subject, body FROM alerts WHERE kind = ?",
                                       [alerts.SURVEY_ANSWER])
    assert len(alert) == 1 and alert[0]["unit_id"] == units["SYT"]
    assert "0912000081" not in alert[0]["body"] and "Nguyễn Văn An" not in alert[0]["body"]
