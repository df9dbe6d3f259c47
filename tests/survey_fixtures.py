"""Survey cases for the operator's tests: dossiers and a sample written straight into the tables (the import and
the draw have their own tests), cases through cases.insert_cases as the draw makes them."""
from datetime import datetime, timezone

from monitor.surveys import cases
from registry.db import write_transaction

# Tuesday 3 March 2026, 09:00 in Đồng Tháp: a working day, inside the default calling hours.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)


def make_cases(db, unit_id: int, phones: list[str | None], *, late: bool = False) -> list[int]:
    """One sample with one dossier and case per phone; returns the case ids in order."""
    with write_transaction(db):
        sample_id = db.execute(
            "INSERT INTO survey_samples (period_from, period_to, seed, method, margin, frame_size, size, created_at) "
            "VALUES ('2026-02-01', '2026-02-28', 7, 'yamane', 0.05, ?, ?, '2026-03-01T00:00:00Z')",
            [len(phones), len(phones)]).lastrowid
        first = db.execute("SELECT coalesce(max(id), 0) FROM dossiers").fetchone()[0] + 1
        rows = []
        for n, phone in enumerate(phones):
            dossier_id = db.execute(
                "INSERT INTO dossiers (code, procedure, applicant, phone, unit_id, level, returned_on, due_on, late) "
                "VALUES (?, 'Cấp giấy phép xây dựng', 'Nguyễn Văn An', ?, ?, 'province', '2026-02-20', '2026-02-18', ?)",
                [f"000.00.12.H19-260220-{first + n:04d}", phone, unit_id, int(late)]).lastrowid
            rows.append({"sample_id": sample_id, "dossier_id": dossier_id, "unit_id": unit_id,
                         "stratum": f"{unit_id}:{'late' if late else 'on_time'}", "weight": 1.0})
        cases.insert_cases(db, rows)
    return [row[0] for row in db.execute("SELECT id FROM survey_cases WHERE sample_id = ? ORDER BY id", [sample_id])]


def case_row(db, case_id: int) -> dict:
    return db.execute_returning_dicts("SELECT * FROM survey_cases WHERE id = ?", [case_id])[0]
