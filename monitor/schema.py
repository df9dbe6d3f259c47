"""The monitor's versioned schema: attempts, provider events, reviews, disputes, alerts."""

MIGRATIONS = [
    # 1: attempts and their events.
    """
    -- One row per planned test call. It exists (and its id goes into every callback URL) before any
    -- provider is asked to dial. state only moves forward (state_rank), see monitor/attempts.py.
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id),
        number TEXT NOT NULL,                 -- the number dialled, as stored in hotlines.number then
        planned_at TEXT NOT NULL,             -- when it is due
        band TEXT NOT NULL,                   -- office | lunch | evening | night | weekend | holiday
        purpose TEXT NOT NULL DEFAULT 'scheduled' CHECK (purpose IN ('scheduled','retest','manual')),
        retest_of INTEGER REFERENCES attempts(id),
        plan_key TEXT UNIQUE,                 -- idempotent planning: one attempt per planned slot
        state TEXT NOT NULL DEFAULT 'planned'
            CHECK (state IN ('planned','dialing','unknown','placed','ringing','answered','ended')),
        state_rank INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_expires_at TEXT,
        provider TEXT,
        call_sid TEXT UNIQUE,
        dial_requested_at TEXT,               -- set once, in the same transaction as state=dialing
        placed_at TEXT,
        ringing_at TEXT,
        answered_at TEXT,
        ended_at TEXT,
        answer_seconds REAL,
        duration_seconds INTEGER,
        call_status TEXT,                     -- provider's final CallStatus
        answered_by TEXT,                     -- AMD result
        sip_code INTEGER,
        q850_cause INTEGER,
        forwarded_from TEXT,
        transcript TEXT,
        speech_confidence REAL,
        recording_url TEXT,
        outcome TEXT CHECK (outcome IS NULL OR outcome IN
            ('answered','machine','no_answer','busy','unreachable','redirected','provider_error')),
        outcome_detail TEXT NOT NULL DEFAULT '',
        original_outcome TEXT,                -- the automatic outcome, kept when an inspector overrides
        confirmed INTEGER,                    -- failures: 1 retest failed too, 0 retest passed, NULL pending
        error TEXT,
        created_at TEXT NOT NULL,
        CHECK ((outcome IS NULL) = (state != 'ended'))
    );
    CREATE INDEX attempts_due ON attempts(state, planned_at);
    CREATE INDEX attempts_unit ON attempts(unit_id, planned_at);
    CREATE INDEX attempts_number ON attempts(number, planned_at);
    CREATE INDEX attempts_ended ON attempts(ended_at);
    -- Every provider event, stored once. dedupe_key: the idempotency token, else CallSid:SequenceNumber.
    CREATE TABLE call_events (
        id INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        dedupe_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,                   -- status | amd | gather | recording | reconcile | sim
        call_status TEXT,
        sequence INTEGER,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL                 -- JSON of the form fields
    );
    CREATE INDEX call_events_attempt ON call_events(attempt_id);
    -- Inspector reviews: the outcome an inspector set, why, and what it was before. Append-only.
    CREATE TABLE outcome_reviews (
        id INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        at TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id),
        old_outcome TEXT,
        new_outcome TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (length(trim(reason)) > 0)
    );
    CREATE TRIGGER outcome_reviews_no_update BEFORE UPDATE ON outcome_reviews
    BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
    CREATE TRIGGER outcome_reviews_no_delete BEFORE DELETE ON outcome_reviews
    BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
    -- Scheduler heartbeat and per-week planning marks (so a restart does not plan twice).
    CREATE TABLE scheduler_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 2: disputes and alerts (accountability).
    """
    CREATE TABLE disputes (
        id INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL REFERENCES attempts(id),
        unit_id INTEGER NOT NULL REFERENCES units(id),
        opened_by INTEGER REFERENCES users(id),
        opened_at TEXT NOT NULL,
        explanation TEXT NOT NULL CHECK (length(trim(explanation)) > 0),
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','accepted','rejected')),
        decided_by INTEGER REFERENCES users(id),
        decided_at TEXT,
        decision_reason TEXT
    );
    -- at most one open-or-accepted dispute per attempt; a rejected one may be followed by a new one
    CREATE UNIQUE INDEX disputes_one_live ON disputes(attempt_id) WHERE status != 'rejected';
    CREATE INDEX disputes_unit ON disputes(unit_id, status);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER REFERENCES units(id),
        kind TEXT NOT NULL,
        created_at TEXT NOT NULL,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','failed','suppressed')),
        sent_at TEXT,
        error TEXT,
        trigger_attempt_id INTEGER REFERENCES attempts(id)
    );
    CREATE INDEX alerts_unit ON alerts(unit_id, created_at);
    """,
    # 3: dispatch. dial_tries counts create requests the provider could not take (429/5xx, nothing created),
    # after which the attempt went back to planned with a back-off. The partial indexes serve the limits
    # (calls per line per hour/day, last call to a number) without touching the many planned rows.
    """
    ALTER TABLE attempts ADD COLUMN dial_tries INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX attempts_dialled ON attempts(dial_requested_at) WHERE dial_requested_at IS NOT NULL;
    CREATE INDEX attempts_number_dialled ON attempts(number, dial_requested_at) WHERE dial_requested_at IS NOT NULL;
    """,
    # 4: reports. A covering index for the period metrics (monitor/reports/tally.py): per unit, the ended
    # attempts in time order with every column the metrics read, so a month for 10,000 units is one index
    # range scan per unit and never touches the wide attempt rows (transcripts, evidence).
    """
    CREATE INDEX attempts_report ON attempts(unit_id, planned_at, outcome, band, purpose, confirmed, answer_seconds)
        WHERE state = 'ended';
    """,
    # 5: a failure's retest, found from the failure (the report's evidence, the attempt pages, confirmation).
    # Without it every lookup by retest_of scans the whole table; partial, as most attempts are not retests.
    """
    CREATE INDEX attempts_retest_of ON attempts(retest_of) WHERE retest_of IS NOT NULL;
    """,
    # 6: closed periods' light summaries, kept with the stamp they were computed under, so a report's trend
    # after a restart costs a count per month instead of a scan (see monitor/reports/summaries.closed_summary).
    """
    CREATE TABLE report_summaries (
        period_key TEXT NOT NULL,
        grp TEXT NOT NULL,
        stamp TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (period_key, grp)
    );
    """,
    # 7: fewer indexes on the planning path. Every planned row went into seven b-trees; attempts_number is
    # served better by attempts_number_dialled (3), and ended_at only matters once a call ends.
    """
    DROP INDEX attempts_number;
    DROP INDEX attempts_ended;
    CREATE INDEX attempts_ended ON attempts(ended_at) WHERE ended_at IS NOT NULL;
    """,
    # 8: every outcome with what it rests on (outcomes.BASES) and whether it is certain. An uncertain call
    # (outcome_certain = 0) is held for review and counts for nobody until an inspector decides. Calls
    # classified before this migration keep their outcome as certain, with no basis recorded. The report's
    # covering index (4) gains the certainty, so excluding held calls costs no row lookups.
    """
    ALTER TABLE attempts ADD COLUMN outcome_basis TEXT;
    ALTER TABLE attempts ADD COLUMN outcome_certain INTEGER;
    UPDATE attempts SET outcome_certain = 1 WHERE state = 'ended';
    UPDATE attempts SET outcome_basis = 'inspector' WHERE state = 'ended' AND original_outcome IS NOT NULL;
    CREATE INDEX attempts_held ON attempts(ended_at, id) WHERE state = 'ended' AND outcome_certain = 0;
    DROP INDEX attempts_report;
    CREATE INDEX attempts_report
        ON attempts(unit_id, planned_at, outcome, band, purpose, confirmed, answer_seconds, outcome_certain)
        WHERE state = 'ended';
    """,
    # 9: why the weekly planner gave a unit the number of tests it did (monitor/scheduling/allocation.py).
    # For inspectors only; the first plan of a week fixes it, so replanning the week keeps the same numbers.
    """
    CREATE TABLE plan_allocations (
        week TEXT NOT NULL,                   -- the Monday of the planned week (local)
        unit_id INTEGER NOT NULL REFERENCES units(id),
        tests INTEGER NOT NULL,               -- tests planned for the week
        base INTEGER NOT NULL,                -- the group's fixed number
        reason TEXT NOT NULL,                 -- allocation.REASONS
        counted INTEGER NOT NULL,             -- counted tests in the evidence window
        answered INTEGER NOT NULL,
        low REAL,                             -- the 95 % interval of the answer rate (NULL: no evidence)
        high REAL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (week, unit_id)
    ) WITHOUT ROWID;
    CREATE INDEX plan_allocations_unit ON plan_allocations(unit_id, week);
    """,
    # 10: "were any of this period's calls simulated?" (every report format says so) answered by a seek. Partial:
    # the rows get in when the simulator places them, so a deployment that dials for real keeps it empty.
    """
    CREATE INDEX attempts_simulated ON attempts(planned_at) WHERE provider = 'simulator';
    """,
    # 11: agencies' number changes seen by inspectors: an alert names the history entry it tells about (one each).
    """
    ALTER TABLE alerts ADD COLUMN trigger_change_id INTEGER REFERENCES changes(id);
    CREATE UNIQUE INDEX alerts_change ON alerts(trigger_change_id) WHERE trigger_change_id IS NOT NULL;
    """,
    # 12: the 1022 customer-care calls (monitor/surveys/): completed dossiers imported from the one-stop system
    # (the sample frame), the samples drawn from them, each sampled citizen's case with its contacts and
    # answers, the versioned questionnaires, the do-not-call list and the log of who opened a citizen's number.
    # Dates of a dossier are local dates (YYYY-MM-DD); every other time is UTC text as everywhere else.
    """
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
    """,
]
