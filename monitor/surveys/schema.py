"""The surveys' tables, as two migrations of the monitor's schema (monitor/schema.py keeps the ordered list)."""

# 12: the 1022 customer-care calls (monitor/surveys/): completed dossiers imported from the one-stop system
# (the sample frame), the samples drawn from them, each sampled citizen's case with its contacts and
# answers, the versioned questionnaires, the do-not-call list and the log of who opened a citizen's number.
# Dates of a dossier are local dates (YYYY-MM-DD); every other time is UTC text as everywhere else.
SURVEY_TABLES = """
CREATE TABLE dossier_imports (
    id INTEGER PRIMARY KEY,
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,                -- dossier rows in the file
    added INTEGER NOT NULL,               -- of them new (a dossier already known is not added twice)
    imported_at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id)
);
CREATE TABLE dossiers (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,            -- Mã hồ sơ, as the one-stop system writes it
    procedure TEXT NOT NULL DEFAULT '',   -- Tên thủ tục hành chính
    applicant TEXT NOT NULL DEFAULT '',   -- Chủ hồ sơ: personal data, erased with the phone
    phone TEXT,                           -- national digits (0…); NULL once erased or when the export has none
    phone_invalid INTEGER NOT NULL DEFAULT 0 CHECK (phone_invalid IN (0, 1)),  -- the export's phone was no
                                          -- Vietnamese landline or mobile: kept without it, a finding for the unit
    unit_id INTEGER NOT NULL REFERENCES units(id),   -- the handling unit
    level TEXT NOT NULL CHECK (level IN ('province','locality')),
    channel TEXT NOT NULL DEFAULT '',     -- Kênh nộp: in person, online, postal… as exported
    received_on TEXT,
    due_on TEXT,                          -- Ngày hẹn trả
    returned_on TEXT NOT NULL,            -- Ngày trả kết quả: the period a dossier belongs to
    late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),   -- returned after its due date
    import_id INTEGER REFERENCES dossier_imports(id),
    erased_at TEXT,                       -- when the applicant's name and phone were erased (retention)
    CHECK (erased_at IS NULL OR (phone IS NULL AND applicant = ''))
);
CREATE INDEX dossiers_returned ON dossiers(returned_on, unit_id);
CREATE INDEX dossiers_phone ON dossiers(phone) WHERE phone IS NOT NULL;
CREATE INDEX dossiers_unerased ON dossiers(returned_on) WHERE erased_at IS NULL;
-- A citizen who asked not to be called again. phone_key is a keyed hash of the national digits, so the
-- list keeps working after the numbers themselves are erased, without keeping them.
CREATE TABLE do_not_call (
    phone_key TEXT PRIMARY KEY,
    added_at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    reason TEXT NOT NULL DEFAULT ''
);
-- Who opened which citizen's number, when and why. Append-only.
CREATE TABLE phone_views (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
    purpose TEXT NOT NULL
);
CREATE INDEX phone_views_dossier ON phone_views(dossier_id, at);
CREATE TRIGGER phone_views_no_update BEFORE UPDATE ON phone_views
BEGIN SELECT RAISE(ABORT, 'phone views are append-only'); END;
CREATE TRIGGER phone_views_no_delete BEFORE DELETE ON phone_views
BEGIN SELECT RAISE(ABORT, 'phone views are append-only'); END;
-- The questionnaire, versioned: a case is asked the version it was opened with; a new version is a new row.
CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL UNIQUE,
    title TEXT NOT NULL,
    questions TEXT NOT NULL,              -- JSON: monitor/surveys/questionnaire.py
    created_at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
);
CREATE UNIQUE INDEX questionnaires_one_active ON questionnaires(active) WHERE active = 1;
-- A drawn sample: what it was drawn from and how, so that the same seed on the same frame draws it again.
CREATE TABLE survey_samples (
    id INTEGER PRIMARY KEY,
    period_from TEXT NOT NULL,            -- local dates: dossiers returned in [from, to]
    period_to TEXT NOT NULL,
    seed INTEGER NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('yamane', 'cochran')),
    margin REAL NOT NULL,                 -- the margin of error asked for (0.05 = ±5 %)
    daily_budget INTEGER,                 -- calls a day the sample may take (NULL: no cap)
    oversample_late REAL NOT NULL DEFAULT 1,   -- late dossiers drawn this many times as often (weights undo it)
    frame_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',    -- JSON: the strata and their sizes, as drawn
    created_at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id)
);
-- One sampled dossier's citizen: the case an operator (or an automated call) works until a final disposition.
CREATE TABLE survey_cases (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES survey_samples(id),
    dossier_id INTEGER NOT NULL REFERENCES dossiers(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    stratum TEXT NOT NULL,                -- e.g. "12:late": the unit and whether the dossier was late
    weight REAL NOT NULL CHECK (weight > 0),   -- dossiers of the frame each case stands for
    mode TEXT NOT NULL DEFAULT 'operator' CHECK (mode IN ('operator', 'automated')),
    questionnaire_id INTEGER REFERENCES questionnaires(id),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    disposition TEXT,                     -- the last disposition (monitor/surveys/dispositions.py)
    tries INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,                         -- not to be called before (retry delay); NULL: at once
    appointment_at TEXT,                  -- the citizen's chosen time to be called back
    claimed_by INTEGER REFERENCES users(id),
    claimed_until TEXT,
    closed_at TEXT,
    UNIQUE (sample_id, dossier_id)
);
CREATE INDEX survey_cases_queue ON survey_cases(state, next_at);
CREATE INDEX survey_cases_unit ON survey_cases(unit_id, sample_id);
CREATE INDEX survey_cases_dossier ON survey_cases(dossier_id);
-- Every call of a case and its disposition (the case keeps the last). Append-only.
CREATE TABLE survey_contacts (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES survey_cases(id),
    at TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id),
    mode TEXT NOT NULL CHECK (mode IN ('operator', 'automated')),
    disposition TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX survey_contacts_case ON survey_contacts(case_id, at);
CREATE TRIGGER survey_contacts_no_update BEFORE UPDATE ON survey_contacts
BEGIN SELECT RAISE(ABORT, 'survey contacts are append-only'); END;
-- The answers of a case, one per question (a partial interview keeps what was answered). Anonymous in every
-- result: they are read by case, never with the dossier's applicant or phone.
CREATE TABLE survey_answers (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES survey_cases(id),
    question_key TEXT NOT NULL,
    rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    yes INTEGER CHECK (yes IS NULL OR yes IN (0, 1)),
    text TEXT,
    answered_at TEXT NOT NULL,
    UNIQUE (case_id, question_key)
);
"""

# The columns of attempts up to migration 12, copied as they are when migration 13 rebuilds the table.
_V12_COLUMNS = (
    "id, unit_id, number, planned_at, band, purpose, retest_of, plan_key, state, state_rank, lease_owner, "
    "lease_expires_at, provider, call_sid, dial_requested_at, placed_at, ringing_at, answered_at, ended_at, "
    "answer_seconds, duration_seconds, call_status, answered_by, sip_code, q850_cause, forwarded_from, "
    "transcript, speech_confidence, recording_url, outcome, outcome_detail, original_outcome, confirmed, error, "
    "created_at, dial_tries, outcome_basis, outcome_certain"
)

# 13: automated survey calls go through the same engine as the test calls: an attempt of purpose 'survey',
# dialling the sampled citizen (attempts.number, erased with the dossier's phone), tied to its case. SQLite
# cannot change a CHECK in place, so the table is rebuilt (new table, copy, drop, rename) with its indexes.
# Every reader of test calls leaves purpose 'survey' out (tests/test_survey_calls_apart.py).
SURVEY_CALLS = f"""-- foreign_keys: off
CREATE TABLE attempts_new (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    number TEXT NOT NULL,                 -- the number dialled: the unit's hotline, or a sampled citizen's
    planned_at TEXT NOT NULL,
    band TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'scheduled' CHECK (purpose IN ('scheduled','retest','manual','survey')),
    retest_of INTEGER REFERENCES attempts(id),
    plan_key TEXT UNIQUE,
    state TEXT NOT NULL DEFAULT 'planned'
        CHECK (state IN ('planned','dialing','unknown','placed','ringing','answered','ended')),
    state_rank INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at TEXT,
    provider TEXT,
    call_sid TEXT UNIQUE,
    dial_requested_at TEXT,
    placed_at TEXT,
    ringing_at TEXT,
    answered_at TEXT,
    ended_at TEXT,
    answer_seconds REAL,
    duration_seconds INTEGER,
    call_status TEXT,
    answered_by TEXT,
    sip_code INTEGER,
    q850_cause INTEGER,
    forwarded_from TEXT,
    transcript TEXT,
    speech_confidence REAL,
    recording_url TEXT,
    outcome TEXT CHECK (outcome IS NULL OR outcome IN
        ('answered','machine','no_answer','busy','unreachable','redirected','provider_error')),
    outcome_detail TEXT NOT NULL DEFAULT '',
    original_outcome TEXT,
    confirmed INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    dial_tries INTEGER NOT NULL DEFAULT 0,
    outcome_basis TEXT,
    outcome_certain INTEGER,
    survey_case_id INTEGER REFERENCES survey_cases(id),   -- purpose 'survey': the case this call works
    CHECK ((outcome IS NULL) = (state != 'ended')),
    CHECK ((purpose = 'survey') = (survey_case_id IS NOT NULL))
);
INSERT INTO attempts_new ({_V12_COLUMNS}) SELECT {_V12_COLUMNS} FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_new RENAME TO attempts;
CREATE INDEX attempts_due ON attempts(state, planned_at);
CREATE INDEX attempts_unit ON attempts(unit_id, planned_at);
CREATE INDEX attempts_dialled ON attempts(dial_requested_at) WHERE dial_requested_at IS NOT NULL;
CREATE INDEX attempts_number_dialled ON attempts(number, dial_requested_at) WHERE dial_requested_at IS NOT NULL;
CREATE INDEX attempts_retest_of ON attempts(retest_of) WHERE retest_of IS NOT NULL;
CREATE INDEX attempts_ended ON attempts(ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX attempts_held ON attempts(ended_at, id) WHERE state = 'ended' AND outcome_certain = 0;
CREATE INDEX attempts_report
    ON attempts(unit_id, planned_at, outcome, band, purpose, confirmed, answer_seconds, outcome_certain)
    WHERE state = 'ended';
CREATE INDEX attempts_simulated ON attempts(planned_at) WHERE provider = 'simulator';
CREATE INDEX attempts_survey_case ON attempts(survey_case_id) WHERE survey_case_id IS NOT NULL;
-- The contact an automated call made, tied to the call's evidence.
ALTER TABLE survey_contacts ADD COLUMN attempt_id INTEGER REFERENCES attempts(id);
CREATE UNIQUE INDEX survey_contacts_attempt ON survey_contacts(attempt_id) WHERE attempt_id IS NOT NULL;
"""
