"""A case's answers, one row per question: the only module that writes survey_answers.

parse() turns what an operator typed (or a keypad gave) into rows, checked against the case's questionnaire;
save() stores them in the caller's transaction, replacing an earlier answer to the same question (a citizen
called back to finish a partial interview keeps what was said before and completes it). Answers are anonymous
in every result: they are read by case, never with the applicant's name or phone.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask_babel import gettext

from registry import lengths
from registry.clock import iso
from registry.db import write_transaction
from registry.errors import UserError

YES, NO = "yes", "no"


class AnswerError(UserError):
    """An answer that does not fit its question; .field names the form's field."""


def parse(questions: list[dict], given: Mapping[str, str], field_of=lambda n, q: f"q{n}") -> list[dict]:
    """Rows {question_key, rating, yes, text} for the questions answered in `given` (field name → text; blank:
    not answered). field_of(n, question) is the form's name for the n-th question (0-based)."""
    rows = []
    for n, question in enumerate(questions):
        field = field_of(n, question)
        raw = (given.get(field) or "").strip()
        if not raw:
            continue
        row = {"question_key": question["key"], "rating": None, "yes": None, "text": None}
        if question["kind"] == "rating":
            if raw not in ("1", "2", "3", "4", "5"):
                raise AnswerError(gettext("Câu %(n)s: mức đánh giá phải từ 1 đến 5.", n=n + 1), field=field)
            row["rating"] = int(raw)
        elif question["kind"] == "yes_no":
            if raw not in (YES, NO):
                raise AnswerError(gettext("Câu %(n)s: hãy chọn Có hoặc Không.", n=n + 1), field=field)
            row["yes"] = 1 if raw == YES else 0
        else:
            if len(raw) > lengths.NOTE:
                raise AnswerError(gettext("Câu %(n)s: ý kiến dài quá %(max)s ký tự.", n=n + 1, max=lengths.NOTE),
                                  field=field)
            row["text"] = raw
        rows.append(row)
    return rows


def save(db, case_id: int, rows: list[dict], now: datetime) -> int:
    """Store a case's answers (in the caller's transaction when there is one); returns how many were given."""
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO survey_answers (case_id, question_key, rating, yes, text, answered_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (case_id, question_key) DO UPDATE SET rating = excluded.rating, yes = excluded.yes, "
            "text = excluded.text, answered_at = excluded.answered_at",
            [(case_id, r["question_key"], r["rating"], r["yes"], r["text"], iso(now)) for r in rows])
    return len(rows)


def for_case(db, case_id: int) -> dict[str, dict]:
    """question key → {"rating", "yes", "text"} of a case's answers so far."""
    rows = db.execute("SELECT question_key, rating, yes, text FROM survey_answers WHERE case_id = ?", [case_id])
    return {key: {"rating": rating, "yes": yes, "text": text} for key, rating, yes, text in rows.fetchall()}


def as_form_values(questions: list[dict], stored: dict[str, dict], field_of=lambda n, q: f"q{n}") -> dict[str, str]:
    """The stored answers as the form's field values (a partial interview's earlier answers, shown again)."""
    values = {}
    for n, question in enumerate(questions):
        answer = stored.get(question["key"])
        if not answer:
            continue
        if answer["rating"] is not None:
            values[field_of(n, question)] = str(answer["rating"])
        elif answer["yes"] is not None:
            values[field_of(n, question)] = YES if answer["yes"] else NO
        elif answer["text"]:
            values[field_of(n, question)] = answer["text"]
    return values
