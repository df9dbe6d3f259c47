"""monitor/attempts/lifecycle.py's moves of an attempt's state, and the settings its follow-ups are decided with."""
from datetime import datetime, timedelta, timezone

import pytest

from monitor.attempts import follow_ups, lifecycle
from monitor.attempts.store import get_attempt, write_transaction
from monitor.settings import Settings
from registry.clock import iso

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)


def planned(db, unit_id, **kwargs) -> int:
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    return lifecycle.create_attempt(db, unit_id=unit_id, number=number, planned_at=NOW, band="office", now=NOW, **kwargs)


def claimed(db, unit_id, owner="me") -> int:
    attempt_id = planned(db, unit_id)
    with write_transaction(db):
        assert lifecycle.claim(db, attempt_id, owner=owner, lease_until=iso(NOW + timedelta(minutes=2)), requested_at=iso(NOW))
    return attempt_id


def test_claim_moves_a_planned_attempt_to_dialing_with_a_lease_and_the_number_to_dial(db, units):
    attempt_id = planned(db, units["SYT"])
    with write_transaction(db):
        assert lifecycle.claim(db, attempt_id, owner="me", lease_until=iso(NOW + timedelta(minutes=2)),
                               requested_at=iso(NOW), number="+842773999999")
        assert not lifecycle.claim(db, attempt_id, owner="other", lease_until=iso(NOW), requested_at=iso(NOW))
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["state_rank"], row["lease_owner"]) == ("dialing", 1, "me")
    assert row["lease_expires_at"] == iso(NOW + timedelta(minutes=2)) and row["dial_requested_at"] == iso(NOW)
    assert row["number"] == "+842773999999"


def test_claim_without_a_number_keeps_the_planned_one(db, units):
    attempt_id = planned(db, units["SYT"])
    before = get_attempt(db, attempt_id)["number"]
    with write_transaction(db):
        lifecycle.claim(db, attempt_id, owner="me", lease_until=iso(NOW), requested_at=iso(NOW))
    assert get_attempt(db, attempt_id)["number"] == before


def test_release_gives_back_only_the_owners_claim(db, units):
    attempt_id = claimed(db, units["SYT"], owner="me")
    assert lifecycle.release(db, attempt_id, "someone else") is False
    assert lifecycle.release(db, attempt_id, "me") is True
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["state_rank"], row["lease_owner"], row["dial_requested_at"]) == ("planned", 0, None, None)


def test_an_unavailable_provider_is_counted_and_the_attempt_goes_back_to_planned_later(db, units):
    attempt_id = claimed(db, units["SYT"])
    with write_transaction(db):
        assert lifecycle.note_unavailable(db, attempt_id, "503") == ("dialing", 1)
        lifecycle.back_to_planned(db, attempt_id, NOW + timedelta(seconds=30))
    row = get_attempt(db, attempt_id)
    assert (row["state"], row["dial_tries"], row["error"]) == ("planned", 1, "503")
    assert row["planned_at"] == iso(NOW + timedelta(seconds=30)) and row["lease_owner"] is None
    with write_transaction(db):  # a planned attempt is not counted
        assert lifecycle.note_unavailable(db, attempt_id, "503") == ("planned", 1)
        assert lifecycle.note_unavailable(db, 999_999, "503") == (None, 0)


def test_push_planned_moves_only_a_planned_attempt(db, units):
    attempt_id = planned(db, units["SYT"])
    later = NOW + timedelta(hours=3)
    with write_transaction(db):
        lifecycle.push_planned(db, attempt_id, later, "evening")
    row = get_attempt(db, attempt_id)
    assert (row["planned_at"], row["band"]) == (iso(later), "evening")
    busy = claimed(db, units["XMA"])
    with write_transaction(db):
        lifecycle.push_planned(db, busy, later, "evening")
    assert get_attempt(db, busy)["planned_at"] == iso(NOW)


def test_insert_planned_skips_plan_keys_already_there(db, units):
    rows = [(units["SYT"], "+842773851234", iso(NOW), "office", f"plan:test:{k}", iso(NOW)) for k in range(3)]
    assert lifecycle.insert_planned(db, rows[:2]) == 2
    assert lifecycle.insert_planned(db, rows) == 1


def replacement(db, attempt_id):
    rows = db.execute_returning_dicts("SELECT * FROM attempts WHERE plan_key = ?", [f"replace:{attempt_id}"])
    return rows[0] if rows else None


@pytest.mark.parametrize("given", ["settings", "config_settings", "config_mapping"])
def test_follow_ups_are_planned_with_the_settings_given_under_either_name(db, units, given):
    attempt_id = claimed(db, units["SYT"])
    settings = Settings(replace_delay_minutes=5)
    kwargs = {"settings": {"settings": settings}, "config_settings": {"config": settings},
              "config_mapping": {"config": {"REPLACE_DELAY_MINUTES": 5}}}[given]
    assert lifecycle.finish(db, attempt_id, "provider_error", "lỗi", NOW, **kwargs)
    assert replacement(db, attempt_id)["planned_at"] == iso(NOW + timedelta(minutes=5))


def test_without_settings_follow_ups_use_the_defaults(db, units):
    attempt_id = claimed(db, units["SYT"])
    lifecycle.finish(db, attempt_id, "provider_error", "lỗi", NOW)
    delay = timedelta(minutes=Settings().replace_delay_minutes)
    assert replacement(db, attempt_id)["planned_at"] == iso(NOW + delay)


def test_no_replacements_when_the_settings_allow_none(db, units):
    attempt_id = claimed(db, units["SYT"])
    lifecycle.finish(db, attempt_id, "provider_error", "lỗi", NOW, settings=Settings(max_replacements=0))
    assert replacement(db, attempt_id) is None


@pytest.mark.parametrize("config,expected", [
    (None, Settings()),
    ({}, Settings()),
    ({"RETEST_DELAY_MINUTES": "30", "MAX_REPLACEMENTS": "2", "REPLACE_DELAY_MINUTES": ""},
     Settings(retest_delay_minutes=30.0, max_replacements=2)),
    (Settings(retest_delay_minutes=7), Settings(retest_delay_minutes=7)),
])
def test_settings_of_reads_a_settings_object_or_a_config_mapping(config, expected):
    assert follow_ups.settings_of(config=config) == expected
    assert follow_ups.settings_of(config) == expected


def test_an_ended_call_keeps_its_basis_and_certainty_and_an_inspector_decision_becomes_the_basis(db, units, inspector):
    from monitor.attempts import ingest_event, review_outcome

    attempt_id = claimed(db, units["SYT"])
    lifecycle.mark_placed(db, attempt_id, "CA1", "simulator", NOW)
    ingest_event(db, attempt_id, {"CallSid": "CA1", "CallStatus": "busy", "SipResponseCode": "486"}, kind="status",
                 dedupe_key="CA1:busy", now=NOW)
    row = get_attempt(db, attempt_id)
    assert (row["outcome"], row["outcome_basis"], row["outcome_certain"]) == ("busy", "signalling", 1)
    review_outcome(db, attempt_id, "answered", "Nghe lại ghi âm: có người trả lời.", user_id=inspector["id"], now=NOW)
    row = get_attempt(db, attempt_id)
    assert (row["outcome"], row["outcome_basis"], row["outcome_certain"]) == ("answered", "inspector", 1)


def test_a_call_ended_on_our_side_rests_on_our_side(db, units):
    attempt_id = claimed(db, units["SYT"])
    lifecycle.finish(db, attempt_id, "provider_error", "test", NOW)
    row = get_attempt(db, attempt_id)
    assert (row["outcome_basis"], row["outcome_certain"]) == ("our_side", 1)
