"""The monitor's versioned schema: attempts, provider events, reviews, disputes, alerts (the surveys' tables in
monitor/surveys/schema.py, applied in this one ordered list)."""

from monitor.surveys.schema import SURVEY_CALLS, SURVEY_TABLES

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
    SURVEY_TABLES,  # 12: the 1022 customer-care calls (monitor/surveys/schema.py)
    SURVEY_CALLS,  # 13: automated survey calls are attempts of purpose 'survey'
    # 14: a month's sample is drawn from counts per returned day, unit, level and lateness, and only the drawn
    # dossiers' ids are read (monitor/surveys/samples.py): both from this index alone, never the table's rows.
    # Partial: the dossiers that can be called (not erased, with a number); samples.IN_FRAME repeats its terms.
    """
    CREATE INDEX dossiers_frame ON dossiers(returned_on, unit_id, level, late)
        WHERE erased_at IS NULL AND phone IS NOT NULL AND phone != '';
    """,
    # 15: the calls that are not tests (survey calls) by state, so that the test-call pages count planned, in
    # flight and held tests as two index counts (all, minus these), however many tests a week plans
    # (monitor/attempts/queries.py). Partial: test calls never enter it; its terms are store.NOT_TESTS.
    """
    CREATE INDEX attempts_not_tests ON attempts(state, outcome_certain, purpose)
        WHERE purpose NOT IN ('scheduled', 'retest', 'manual');
    """,
]
