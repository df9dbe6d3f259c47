"""Each sampled citizen's case and its calls: the only module that writes survey_cases and survey_contacts.

A case is created with its sample (samples.py calls insert_cases), then moves through the queue (queue.py
decides which case comes next; the writes are here): claimed by an operator for a few minutes, given a
disposition for each call (kept in survey_contacts, append-only), offered again after the disposition's retry
delay, and closed by a final disposition or after dispositions.MAX_TRIES calls.
"""
from __future__ import annotations

CASE_COLUMNS = ("sample_id", "dossier_id", "unit_id", "stratum", "weight", "mode", "questionnaire_id")


def insert_cases(db, rows: list[dict]) -> int:
    """Insert drawn cases (dicts with CASE_COLUMNS) in the caller's transaction; returns how many."""
    db.conn.executemany(
        f"INSERT INTO survey_cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})",
        [[row.get(c, "operator" if c == "mode" else None) for c in CASE_COLUMNS] for row in rows])
    return len(rows)
