"""Citizens' numbers handled as personal data (issue 12): masked, opened only with a line in the log, a do-not-call
list that keeps no number, and erasure after the retention period — after which no number survives anywhere in
the database file."""
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.scheduling import scheduler
from monitor.settings import Settings, SettingsError
from monitor.surveys import dossiers, privacy, samples
from registry.errors import NotFound

from .test_survey_sampling import add_dossiers

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("written, masked", [
    ("0912345678", "0912 ••• 678"),
    ("0912 345 678", "0912 ••• 678"),
    ("+84 912 345 678", "0912 ••• 678"),
    ("02773851234", "0277 ••• 234"),
    ("12345", "•••"),
    ("", ""),
    (None, ""),
])
def test_numbers_are_masked(written, masked):
    assert privacy.mask_phone(written) == masked


def test_the_phone_key_is_keyed_and_ignores_how_the_number_is_written():
    key = privacy.phone_key("0912345678", "secret-a")
    assert key == privacy.phone_key("+84 912 345 678", "secret-a")
    assert key != privacy.phone_key("0912345678", "secret-b")   # a copy of the database alone cannot test numbers
    assert "0912345678" not in key and len(key) == 64
    with pytest.raises(ValueError):
        privacy.phone_key("0912345678", "")


def test_reveal_returns_the_number_and_logs_who_opened_it(db, units, inspector):
    add_dossiers(db, units["SYT"], 1)
    dossier_id = db.execute("SELECT id FROM dossiers").fetchone()[0]
    assert privacy.reveal(db, dossier_id, inspector, "gọi khảo sát", NOW) == "0901000000"
    assert privacy.reveal(db, dossier_id, None, "cuộc gọi tự động", NOW + timedelta(minutes=1)) == "0901000000"
    assert privacy.views(db, dossier_id) == [
        {"at": "2026-12-01T03:00:00.000Z", "user_id": inspector["id"], "purpose": "gọi khảo sát"},
        {"at": "2026-12-01T03:01:00.000Z", "user_id": None, "purpose": "cuộc gọi tự động"}]
    with pytest.raises(sqlite3.IntegrityError):  # the log is append-only
        db.conn.execute("DELETE FROM phone_views")


def test_reveal_is_refused_without_a_purpose_an_unknown_dossier_or_an_erased_number(db, units, inspector):
    add_dossiers(db, units["SYT"], 1)
    dossier_id = db.execute("SELECT id FROM dossiers").fetchone()[0]
    with pytest.raises(privacy.PrivacyError) as refused:
        privacy.reveal(db, dossier_id, inspector, "  ", NOW)
    assert refused.value.field == "purpose"
    with pytest.raises(NotFound):
        privacy.reveal(db, dossier_id + 99, inspector, "gọi", NOW)
    with db.conn:
        db.conn.execute("UPDATE dossiers SET phone = NULL, applicant = '', erased_at = ?", ["2026-11-30T00:00:00Z"])
    with pytest.raises(privacy.PrivacyError) as refused:
        privacy.reveal(db, dossier_id, inspector, "gọi", NOW)
    assert refused.value.status == 410
    assert privacy.views(db, dossier_id) == []  # nothing shown, nothing logged


def test_the_do_not_call_list_keeps_a_key_not_the_number(db, inspector):
    assert privacy.add_do_not_call(db, "0912 345 678", secret_key="k", now=NOW, user=inspector, reason="xin thôi")
    assert not privacy.add_do_not_call(db, "+84912345678", secret_key="k", now=NOW)  # already there
    assert privacy.on_do_not_call(db, "0912345678", secret_key="k")
    assert not privacy.on_do_not_call(db, "0912345679", secret_key="k")
    rows = db.execute("SELECT * FROM do_not_call").fetchall()
    assert len(rows) == 1 and not any("912345678" in str(value) for value in rows[0])
    with pytest.raises(privacy.PrivacyError):
        privacy.add_do_not_call(db, "12", secret_key="k", now=NOW)


# ------------------------------------------------------------------------------------------------ erasure


def text_values(path) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value of every table of the database file."""
    conn = sqlite3.connect(path)
    try:
        found = []
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''):
                    found.append((table, column, value))
        return found
    finally:
        conn.close()


def test_after_the_retention_period_no_number_survives_anywhere(app, db, units, inspector):
    settings = app.extensions["settings"]
    add_dossiers(db, units["SYT"], 30, returned_on="2026-05-20")            # returned 195 days before NOW
    add_dossiers(db, units["XMA"], 5, level="locality", returned_on="2026-11-10", start=100)   # 21 days: kept
    old_phones = [p for (p,) in db.execute("SELECT phone FROM dossiers WHERE returned_on = '2026-05-20'")]
    kept_phones = [p for (p,) in db.execute("SELECT phone FROM dossiers WHERE returned_on = '2026-11-10'")]
    drawn = samples.draw_sample(db, samples.parse_options("2026-05-01", "2026-05-31", seed="1"),
                                now=datetime(2026, 6, 2, tzinfo=timezone.utc), settings=settings)
    case_id, dossier_id = db.execute("SELECT id, dossier_id FROM survey_cases WHERE sample_id = ?",
                                     [drawn["sample_id"]]).fetchone()
    privacy.reveal(db, dossier_id, inspector, "gọi khảo sát", datetime(2026, 6, 3, tzinfo=timezone.utc))
    privacy.add_do_not_call(db, old_phones[1], secret_key=settings.secret_key, now=NOW)
    with db.conn:  # what the calls left: a contact with its note, an answer
        db.conn.execute("INSERT INTO survey_contacts (case_id, at, mode, disposition, note) VALUES "
                        "(?, '2026-06-03T02:00:00Z', 'operator', 'complete', 'khách hàng hài lòng')", [case_id])
        db.conn.execute("INSERT INTO survey_answers (case_id, question_key, rating, answered_at) VALUES "
                        "(?, 'civil_servant', 4, '2026-06-03T02:05:00Z')", [case_id])

    assert privacy.erase_expired(db, NOW, settings) == 30
    assert privacy.erase_expired(db, NOW, settings) == 0  # once is enough

    path = app.config["DATABASE"]
    values = text_values(path)
    for phone in old_phones:
        digits = phone[1:]  # national digits without the leading 0: "+84…" forms would contain them too
        assert not [(t, c) for t, c, v in values if digits in v], phone
    assert all(any(p in v for _, _, v in values) for p in kept_phones)  # within the period: still there
    names = {v for t, c, v in values if (t, c) == ("dossiers", "applicant") and v}
    assert names == {f"Công dân {i}" for i in range(100, 105)}  # the erased dossiers' applicants are gone
    erased = db.execute("SELECT COUNT(*) FROM dossiers WHERE returned_on = '2026-05-20' AND phone IS NULL "
                        "AND applicant = '' AND erased_at IS NOT NULL").fetchone()[0]
    assert erased == 30
    # The answers and the calls stay, anonymous; the dossier keeps its code, unit and dates.
    assert db.execute("SELECT rating FROM survey_answers WHERE case_id = ?", [case_id]).fetchone() == (4,)
    assert db.execute("SELECT COUNT(*) FROM survey_contacts WHERE case_id = ?", [case_id]).fetchone() == (1,)
    assert db.execute("SELECT code FROM dossiers WHERE id = ?", [dossier_id]).fetchone()[0].startswith("000.00.12")
    assert privacy.on_do_not_call(db, old_phones[1], secret_key=settings.secret_key)  # the list still works

    # Not even in the file's free space: secure_delete zeroed the old rows and index entries.
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = Path(path).read_bytes()
    assert not [p for p in old_phones if p.encode() in raw]
    assert any(p.encode() in raw for p in kept_phones)


def test_the_scheduler_erases_once_a_day(app, db, units):
    add_dossiers(db, units["SYT"], 3, returned_on="2026-05-01")
    settings = app.extensions["settings"]
    assert scheduler.survey_erasure_job(settings, NOW) == 3
    assert scheduler.ERASE_EVERY_HOURS == 24
    assert db.execute("SELECT COUNT(*) FROM dossiers WHERE phone IS NOT NULL").fetchone() == (0,)


def test_the_retention_period_is_a_setting(app, db, units):
    add_dossiers(db, units["SYT"], 2, returned_on="2026-11-20")
    shorter = app.extensions["settings"].with_values(survey_retention_days=10)
    assert privacy.retention_cutoff(NOW, shorter) == "2026-11-21"
    assert privacy.erase_expired(db, NOW, shorter) == 2


def test_survey_settings_have_their_defaults_and_refuse_bad_values():
    settings = Settings.load({})
    assert (settings.survey_retention_days, settings.survey_no_repeat_days) == (180, 90)
    assert settings.survey_call_windows() == [("08:00", "11:30"), ("13:30", "20:00")]
    for name, value in (("FLASK_SURVEY_CALL_HOURS", "8h-11h"), ("FLASK_SURVEY_CALL_HOURS", "20:00-08:00"),
                        ("FLASK_SURVEY_RETENTION_DAYS", "0"), ("FLASK_SURVEY_NO_REPEAT_DAYS", "-1")):
        with pytest.raises(SettingsError) as refused:
            Settings.load({name: value})
        assert name in refused.value.message


def test_a_long_backlog_is_erased_in_several_short_transactions(app, db, units, monkeypatch):
    add_dossiers(db, units["SYT"], 7, returned_on="2026-01-15")
    monkeypatch.setattr(privacy, "ERASE_BATCH", 3)
    calls = []
    real = dossiers.erase_personal_data
    monkeypatch.setattr("monitor.surveys.dossiers.erase_personal_data",
                        lambda db, ids, now: calls.append(len(ids)) or real(db, ids, now))
    assert privacy.erase_expired(db, NOW, app.extensions["settings"]) == 7
    assert calls == [3, 3, 1]
    assert db.execute("SELECT COUNT(*) FROM dossiers WHERE phone IS NOT NULL").fetchone() == (0,)
