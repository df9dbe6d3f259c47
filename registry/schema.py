"""The registry's versioned schema. Rules that matter live here, not only in forms."""

MIGRATIONS = [
    # 1: groups, units, the single hotline, append-only history, accounts, login throttling.
    """
    CREATE TABLE groups (
        code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 16),
        name TEXT NOT NULL,
        name_en TEXT NOT NULL DEFAULT '',
        sort_order INTEGER NOT NULL DEFAULT 0,
        tests_per_week INTEGER NOT NULL DEFAULT 3 CHECK (tests_per_week BETWEEN 0 AND 100)
    );
    CREATE TABLE units (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 40),
        name TEXT NOT NULL CHECK (length(trim(name)) > 0),
        kind TEXT NOT NULL DEFAULT 'agency'
            CHECK (kind IN ('agency','department','district','commune','ward','vertical','other')),
        group_code TEXT NOT NULL REFERENCES groups(code) ON UPDATE CASCADE,
        parent_id INTEGER REFERENCES units(id),
        valid_from TEXT,
        valid_to TEXT,
        contact_name TEXT NOT NULL DEFAULT '',
        contact_email TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from),
        CHECK (parent_id IS NULL OR parent_id != id)
    );
    CREATE INDEX units_group ON units(group_code);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('inspector','agency')),
        unit_id INTEGER REFERENCES units(id),
        password_hash TEXT,
        invite_token_hash TEXT,
        invite_expires_at TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        last_login_at TEXT,
        -- an agency editor always belongs to exactly one unit; an inspector to none
        CHECK ((role = 'agency' AND unit_id IS NOT NULL) OR (role = 'inspector' AND unit_id IS NULL))
    );
    -- Exactly one current hotline per unit: unit_id is UNIQUE, so a second row for a unit is refused.
    CREATE TABLE hotlines (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL UNIQUE REFERENCES units(id) ON DELETE CASCADE,
        number TEXT NOT NULL CHECK (number GLOB '+84[0-9]*' OR number GLOB '[0-9]*'),
        kind TEXT NOT NULL CHECK (kind IN ('landline','mobile','short','tollfree','premium')),
        display TEXT NOT NULL,
        raw TEXT NOT NULL DEFAULT '',
        hours TEXT NOT NULL DEFAULT '24/7' CHECK (hours IN ('24/7','office')),
        shared INTEGER NOT NULL DEFAULT 0 CHECK (shared IN (0,1)),
        shared_note TEXT NOT NULL DEFAULT '',
        is_demo INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0,1)),
        flagged_at TEXT,
        flag_reason TEXT,
        updated_at TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id)
    );
    CREATE INDEX hotlines_number ON hotlines(number);
    -- A number belongs to one unit unless every holder is marked as deliberately shared.
    CREATE TRIGGER hotlines_unique_number_insert BEFORE INSERT ON hotlines
    WHEN EXISTS (SELECT 1 FROM hotlines h WHERE h.number = NEW.number AND (h.shared = 0 OR NEW.shared = 0))
    BEGIN SELECT RAISE(ABORT, 'number_taken'); END;
    CREATE TRIGGER hotlines_unique_number_update BEFORE UPDATE OF number, shared ON hotlines
    WHEN EXISTS (SELECT 1 FROM hotlines h WHERE h.number = NEW.number AND h.id != NEW.id
                 AND (h.shared = 0 OR NEW.shared = 0))
    BEGIN SELECT RAISE(ABORT, 'number_taken'); END;
    -- Append-only change history: who, when, what, old, new, why.
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id),
        at TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id),
        actor TEXT NOT NULL DEFAULT '',
        field TEXT NOT NULL,
        old TEXT,
        new TEXT,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX changes_unit ON changes(unit_id, at);
    CREATE INDEX changes_at ON changes(at);
    CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
    BEGIN SELECT RAISE(ABORT, 'changes are append-only'); END;
    CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
    BEGIN SELECT RAISE(ABORT, 'changes are append-only'); END;
    CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX login_failures_key ON login_failures(key, at);
    INSERT INTO groups (code, name, name_en, sort_order, tests_per_week) VALUES
        ('A', 'Cơ quan, đơn vị', 'Agencies and units', 1, 3),
        ('B', 'Cấp huyện', 'District level', 2, 3),
        ('C', 'Cấp xã', 'Commune level', 3, 2);
    """,
    # 2: an accent-folded copy of each unit's name, kept by triggers, so search never calls Python per row.
    # vi_fold is registered on every connection by registry.db.connect.
    """
    ALTER TABLE units ADD COLUMN name_fold TEXT NOT NULL DEFAULT '';
    UPDATE units SET name_fold = vi_fold(name);
    CREATE TRIGGER units_name_fold_insert AFTER INSERT ON units
    BEGIN UPDATE units SET name_fold = vi_fold(NEW.name) WHERE id = NEW.id; END;
    CREATE TRIGGER units_name_fold_update AFTER UPDATE OF name ON units
    BEGIN UPDATE units SET name_fold = vi_fold(NEW.name) WHERE id = NEW.id; END;
    """,
    # 3: how many counted tests a unit of the group needs in a period before the report gives it a verdict
    # (fewer: "not enough data"); editable per group.
    """
    ALTER TABLE groups ADD COLUMN min_tests INTEGER NOT NULL DEFAULT 4 CHECK (min_tests BETWEEN 1 AND 100);
    """,
    # 4: the extension written after a hotline number ("máy lẻ 102"), keyed in after the call connects.
    """
    ALTER TABLE hotlines ADD COLUMN extension TEXT NOT NULL DEFAULT '';
    """,
    # 5: sign-ins kept on the server (logout and a new password end them, a copied cookie stops working),
    # and the login failures looked up per key and time.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE INDEX login_failures_at ON login_failures(at);
    """,
    # 6: agencies' number changes seen by inspectors: a number proposed by an editor, kept apart until an inspector
    # approves it where approval is required (per group, or '*' for the whole province); and the flags of a unit's
    # former numbers, so that changing back to a flagged number brings its flag back.
    """
    CREATE TABLE number_proposals (
        id INTEGER PRIMARY KEY,
        unit_id INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
        number TEXT NOT NULL CHECK (number GLOB '+84[0-9]*' OR number GLOB '[0-9]*'),
        kind TEXT NOT NULL,
        display TEXT NOT NULL,
        raw TEXT NOT NULL DEFAULT '',
        extension TEXT NOT NULL DEFAULT '',
        hours TEXT NOT NULL DEFAULT '24/7' CHECK (hours IN ('24/7','office')),
        reason TEXT NOT NULL DEFAULT '',
        proposed_at TEXT NOT NULL,
        proposed_by INTEGER REFERENCES users(id),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','rejected','superseded')),
        decided_at TEXT,
        decided_by INTEGER REFERENCES users(id),
        decision_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX number_proposals_one_pending ON number_proposals(unit_id) WHERE status = 'pending';
    CREATE TABLE approval_rules (
        scope TEXT PRIMARY KEY,
        required INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0,1)),
        updated_at TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id)
    );
    CREATE TABLE number_flags (
        unit_id INTEGER NOT NULL REFERENCES units(id) ON DELETE CASCADE,
        number TEXT NOT NULL,
        flagged_at TEXT NOT NULL,
        flag_reason TEXT,
        PRIMARY KEY (unit_id, number)
    );
    """,
    # 7: the logbook (Sổ theo dõi, registry/logbook/): every citizen's report a unit receives, its deadline in working
    # days, its handling and answer, transfers between units (a copy per unit under the same receipt code), an
    # append-only history, attachments; the fields with their deadlines, and the declared calendar exceptions.
    """
    CREATE TABLE logbook_fields (
        code TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 32),
        name TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
        name_en TEXT NOT NULL DEFAULT '',
        deadline_days INTEGER NOT NULL DEFAULT 10 CHECK (deadline_days BETWEEN 0 AND 365),  -- working days
        sort_order INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id)
    );
    -- Days that break the usual rule (weekends off, public holidays off): a make-up working Saturday, an extra
    -- day off declared by the Government. Public holidays and Tết themselves come from the holidays package.
    CREATE TABLE calendar_days (
        day TEXT PRIMARY KEY,                     -- local date YYYY-MM-DD
        working INTEGER NOT NULL CHECK (working IN (0,1)),
        note TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id)
    );
    CREATE TABLE logbook_entries (
        id INTEGER PRIMARY KEY,
        receipt_code TEXT NOT NULL,               -- the same on every unit's copy after a transfer
        unit_id INTEGER NOT NULL REFERENCES units(id),
        received_at TEXT NOT NULL,                -- UTC ISO
        channel TEXT NOT NULL CHECK (channel IN ('hotline','1022','walk_in','web','zalo','letter','other')),
        reporter_name TEXT NOT NULL DEFAULT '' CHECK (length(reporter_name) <= 200),
        reporter_phone TEXT NOT NULL DEFAULT '',  -- personal data: masked on pages, erased after retention
        lookup_digits TEXT NOT NULL DEFAULT '',   -- the phone's last 4 digits (or a code given to an anonymous
                                                  -- reporter): the public lookup's second key, kept after erasure
        field_code TEXT REFERENCES logbook_fields(code) ON UPDATE CASCADE,
        content TEXT NOT NULL CHECK (length(trim(content)) BETWEEN 1 AND 5000),
        dossier_code TEXT NOT NULL DEFAULT '' CHECK (length(dossier_code) <= 64),
        received_by TEXT NOT NULL DEFAULT '' CHECK (length(received_by) <= 200),
        level TEXT NOT NULL DEFAULT 'unit' CHECK (level IN ('on_spot','unit','transferred')),
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','waiting','answered','transferred','closed')),
        deadline TEXT,                            -- local date YYYY-MM-DD (working days from the field's rule)
        paused_at TEXT,                           -- waiting for the citizen since (UTC ISO); the clock stops
        paused_days INTEGER NOT NULL DEFAULT 0,   -- working days already spent waiting for the citizen
        answer TEXT NOT NULL DEFAULT '' CHECK (length(answer) <= 5000),
        answered_at TEXT,
        from_entry_id INTEGER REFERENCES logbook_entries(id),   -- the copy this one was transferred from
        transferred_to INTEGER REFERENCES units(id),
        transferred_at TEXT,
        transfer_reason TEXT NOT NULL DEFAULT '' CHECK (length(transfer_reason) <= 2000),
        rating INTEGER CHECK (rating BETWEEN 1 AND 5),
        rated_at TEXT,
        phone_erased_at TEXT,
        created_at TEXT NOT NULL,
        created_by INTEGER REFERENCES users(id),
        updated_at TEXT NOT NULL,
        UNIQUE (receipt_code, unit_id)
    );
    CREATE INDEX logbook_unit_received ON logbook_entries(unit_id, received_at);
    CREATE INDEX logbook_receipt ON logbook_entries(receipt_code);
    CREATE INDEX logbook_received ON logbook_entries(received_at);  -- the public list, by period across units
    -- state and paused_at in the index: the overdue test reads them, so counting never visits the table.
    CREATE INDEX logbook_pending_deadline ON logbook_entries(deadline, unit_id, state, paused_at)
        WHERE state IN ('open','waiting');
    -- The last sequence number given per receipt prefix and local day (receipt codes unique under concurrency).
    CREATE TABLE logbook_sequences (
        prefix TEXT NOT NULL,
        day TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (prefix, day)
    ) WITHOUT ROWID;
    CREATE TABLE logbook_events (
        id INTEGER PRIMARY KEY,
        entry_id INTEGER NOT NULL REFERENCES logbook_entries(id),
        at TEXT NOT NULL,
        user_id INTEGER REFERENCES users(id),
        action TEXT NOT NULL,                     -- created, updated, answered, paused, resumed, transferred, …
        detail TEXT NOT NULL DEFAULT '{}',        -- JSON: the fields changed, old and new
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX logbook_events_entry ON logbook_events(entry_id, id);
    CREATE TRIGGER logbook_events_no_update BEFORE UPDATE ON logbook_events
    BEGIN SELECT RAISE(ABORT, 'logbook history is append-only'); END;
    CREATE TRIGGER logbook_events_no_delete BEFORE DELETE ON logbook_events
    BEGIN SELECT RAISE(ABORT, 'logbook history is append-only'); END;
    CREATE TABLE logbook_attachments (
        id INTEGER PRIMARY KEY,
        entry_id INTEGER NOT NULL REFERENCES logbook_entries(id),
        filename TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL,
        uploaded_at TEXT NOT NULL,
        uploaded_by INTEGER REFERENCES users(id)
    );
    CREATE INDEX logbook_attachments_entry ON logbook_attachments(entry_id);
    INSERT INTO logbook_fields (code, name, name_en, deadline_days, sort_order, updated_at) VALUES
        ('tthc', 'Thủ tục hành chính', 'Administrative procedures', 10, 1, '2026-01-01T00:00:00Z'),
        ('dat-dai', 'Đất đai, xây dựng', 'Land and construction', 15, 2, '2026-01-01T00:00:00Z'),
        ('moi-truong', 'Môi trường, vệ sinh', 'Environment and sanitation', 10, 3, '2026-01-01T00:00:00Z'),
        ('an-ninh', 'An ninh, trật tự', 'Security and public order', 3, 4, '2026-01-01T00:00:00Z'),
        ('y-te', 'Y tế, an sinh xã hội', 'Health and social welfare', 10, 5, '2026-01-01T00:00:00Z'),
        ('ha-tang', 'Giao thông, hạ tầng, điện nước', 'Roads, infrastructure, power and water', 10, 6, '2026-01-01T00:00:00Z'),
        ('can-bo', 'Thái độ, trách nhiệm cán bộ', 'Officials'' conduct', 5, 7, '2026-01-01T00:00:00Z'),
        ('khac', 'Khác', 'Other', 10, 9, '2026-01-01T00:00:00Z');
    """,
    # 8: operators of the 1022 switchboard (điện thoại viên, monitor/surveys/): a third role, belonging to no unit.
    # SQLite cannot change a CHECK in place: the users table is rebuilt (new table, copy, drop, rename) with foreign
    # keys off, since every other table references users(id); registry.db.migrate checks them before committing.
    """
    -- foreign_keys: off
    CREATE TABLE users_new (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        role TEXT NOT NULL CHECK (role IN ('inspector','agency','operator')),
        unit_id INTEGER REFERENCES units(id),
        password_hash TEXT,
        invite_token_hash TEXT,
        invite_expires_at TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        last_login_at TEXT,
        -- an agency editor always belongs to exactly one unit; an inspector or an operator to none
        CHECK ((role = 'agency' AND unit_id IS NOT NULL) OR (role IN ('inspector','operator') AND unit_id IS NULL))
    );
    INSERT INTO users_new (id, email, name, role, unit_id, password_hash, invite_token_hash, invite_expires_at,
                           active, created_at, last_login_at)
    SELECT id, email, name, role, unit_id, password_hash, invite_token_hash, invite_expires_at,
           active, created_at, last_login_at FROM users;
    DROP TABLE users;
    ALTER TABLE users_new RENAME TO users;
    """,
]
