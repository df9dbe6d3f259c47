"""The monitor's command line: call, attempts, plan, and help with an example on every command."""
import json
from datetime import timedelta

import pytest

from monitor import attempts
from monitor.attempts.outcomes import OUTCOMES
from registry.clock import iso, utcnow

from .conftest import change_settings

FAST = {"SIMULATOR_SPEED": 2000.0, "MIN_GAP_MINUTES": 0, "CALLS_PER_LINE_PER_HOUR": 0, "CALLS_PER_LINE_PER_DAY": 0}


@pytest.fixture
def fast(app):
    change_settings(app, **FAST)
    return app


def invoke(runner, *args):
    return runner.invoke(args=["monitor", *args])


def test_call_json_prints_exactly_one_object_with_the_outcome_and_its_evidence(fast, runner, db, units):
    result = invoke(runner, "call", "SYT", "--json", "--timeout", "20")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    for key in ("attempt", "unit", "number", "outcome", "answer_seconds", "sip_code", "transcript",
                "state", "detail", "band", "started_at", "ended_at"):
        assert key in data
    assert data["unit"] == "SYT" and data["number"] == "+842773851234"
    assert data["state"] == "ended" and data["outcome"] in OUTCOMES
    row = attempts.get_attempt(db, data["attempt"])
    assert row["purpose"] == "manual" and row["outcome"] == data["outcome"] and row["call_sid"]
    sids = {json.loads(e["payload"]).get("CallSid") for e in db.execute_returning_dicts(
        "SELECT payload FROM call_events WHERE attempt_id = ?", [data["attempt"]])}
    assert sids == {row["call_sid"]}


def test_call_prints_the_outcome_in_vietnamese(fast, runner, units):
    result = invoke(runner, "call", "XMA", "--timeout", "20")
    assert result.exit_code == 0, result.output
    assert "UBND xã Mỹ An (XMA)" in result.output and "Kết quả:" in result.output and "Khung giờ:" in result.output


def test_call_for_an_unknown_unit_says_so_and_exits_1(fast, runner, db, units):
    result = invoke(runner, "call", "KHONGCO", "--json")
    assert result.exit_code == 1 and "Không có đơn vị mã “KHONGCO”" in result.output
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0


def test_call_for_a_unit_without_a_hotline_says_so_and_exits_1(fast, runner, db):
    db.execute("INSERT INTO units (code, name, group_code, created_at) VALUES ('NOLINE', 'Xã chưa có số', 'C', ?)",
               [iso(utcnow())])
    result = invoke(runner, "call", "NOLINE")
    assert result.exit_code == 1 and "chưa có số đường dây nóng" in result.output


def test_call_that_times_out_prints_the_state_so_far_and_exits_2(fast, runner, db, units):
    change_settings(fast, SIMULATOR_SPEED=0.01)  # the simulated call takes hours
    result = invoke(runner, "call", "SYT", "--json", "--timeout", "0.5")
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["state"] in ("placed", "ringing") and data["outcome"] is None and data["final"] is False


def test_call_waits_for_room_and_times_out_when_the_lines_stay_busy(fast, runner, db, units):
    change_settings(fast, MAX_CONCURRENT_CALLS=1)
    busy = attempts.create_attempt(db, unit_id=units["XMA"], number="+84912345678", planned_at=utcnow(), band="office",
                                   now=utcnow())
    db.execute("UPDATE attempts SET state = 'ringing', state_rank = 4 WHERE id = ?", [busy])
    result = invoke(runner, "call", "SYT", "--timeout", "0.5")
    assert result.exit_code == 2 and "planned" in result.output


def test_attempts_lists_a_table_and_json_filtered_by_unit_and_state(fast, runner, db, units):
    now = utcnow()
    for unit, number in ((units["SYT"], "+842773851234"), (units["XMA"], "+84912345678")):
        attempts.create_attempt(db, unit_id=unit, number=number, planned_at=now + timedelta(hours=1), band="office", now=now)
    ended = attempts.create_attempt(db, unit_id=units["SYT"], number="+842773851234", planned_at=now - timedelta(hours=1),
                                    band="office", now=now)
    attempts.finish(db, ended, "answered", "ok", now, transcript="Alo, Sở Y tế xin nghe ạ. " * 5)
    table = invoke(runner, "attempts")
    assert table.exit_code == 0
    assert "Trạng thái" in table.output and "Nghe được" in table.output and "Alo, Sở Y tế xin nghe" in table.output
    assert "…" in table.output  # long transcripts are cut to an excerpt
    listed = json.loads(invoke(runner, "attempts", "--json", "--unit", "SYT").output)
    assert {row["unit"] for row in listed} == {"SYT"} and len(listed) == 2
    ended_only = json.loads(invoke(runner, "attempts", "--json", "--state", "ended").output)
    assert [row["attempt"] for row in ended_only] == [ended] and ended_only[0]["outcome"] == "answered"
    assert len(json.loads(invoke(runner, "attempts", "--json", "--limit", "1").output)) == 1


def test_attempts_for_an_unknown_unit_exits_1(runner, units):
    result = invoke(runner, "attempts", "--unit", "KHONGCO")
    assert result.exit_code == 1 and "KHONGCO" in result.output


def test_attempts_with_nothing_to_show_says_so(runner, db):
    result = invoke(runner, "attempts")
    assert result.exit_code == 0 and "Không có lần gọi nào" in result.output


def test_plan_a_given_week_then_again_creates_nothing_new(runner, db, units):
    first = invoke(runner, "plan", "--week", "2030-01-09")
    assert first.exit_code == 0 and "Tuần bắt đầu 2030-01-07: đã lập 5 lần gọi mới." in first.output
    again = invoke(runner, "plan", "--week", "2030-01-07")
    assert "đã lập 0 lần gọi mới" in again.output
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 5


def test_plan_without_a_week_plans_this_week_and_next(runner, db, units):
    result = invoke(runner, "plan")
    assert result.exit_code == 0 and result.output.count("Tuần bắt đầu") == 2
    assert db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] >= 5


def test_plan_with_a_bad_date_explains_the_format(runner):
    result = invoke(runner, "plan", "--week", "9/3/2026")
    assert result.exit_code == 1 and "NNNN-TT-NN" in result.output


@pytest.mark.parametrize("command", ["run", "plan", "call", "attempts"])
def test_every_command_has_help_with_an_example(runner, command):
    result = invoke(runner, command, "--help")
    assert result.exit_code == 0 and f"Example: flask --app wsgi monitor {command}" in result.output
