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
]
