"""The questionnaire, versioned: the default follows SIPAS's five elements on a five-level scale, then asks
whether the citizen was asked for money or favours or treated rudely, then an open comment.

A questionnaire is a title and a list of questions, each a dict:
    key      stable identifier, kept across versions when the question means the same ("element_1")
    text     what the operator reads (or the automated call says), Vietnamese
    kind     "rating" (1–5, 5 = rất hài lòng), "yes_no" or "text"
    element  the SIPAS element it measures (1–5), or "" for the others
Stored versions are never changed: editing makes a new version, and a case keeps the version it opened with.
"""
from __future__ import annotations

import json
import re

from flask_babel import gettext

from registry.clock import iso
from registry.db import write_transaction

RATING_LABELS = {5: "Rất hài lòng", 4: "Hài lòng", 3: "Bình thường", 2: "Không hài lòng", 1: "Rất không hài lòng"}
KINDS = ("rating", "yes_no", "text")
# A "yes" to this question, or a 1 on the civil servant, alerts inspectors at once.
PROBLEM_KEY = "problem"
OFFICER_KEY = "element_3"
ELEMENTS = (1, 2, 3, 4, 5)  # SIPAS's elements
MAX_TITLE, MAX_TEXT, MAX_QUESTIONS = 300, 1000, 40
KEY_SHAPE = re.compile(r"[a-z0-9_]{1,40}")

DEFAULT_TITLE = "Khảo sát sự hài lòng về giải quyết thủ tục hành chính (mô hình chăm sóc khách hàng 1022)"
DEFAULT_QUESTIONS = [
    {"key": "consent", "kind": "yes_no", "element": "",
     "text": "Ông/bà có đồng ý dành khoảng 3 phút trả lời vài câu hỏi về hồ sơ vừa giải quyết không?"},
    {"key": "element_1", "kind": "rating", "element": 1,
     "text": "Ông/bà đánh giá thế nào về việc tiếp cận dịch vụ (nơi nộp hồ sơ, cổng dịch vụ công, hướng dẫn)?"},
    {"key": "element_2", "kind": "rating", "element": 2,
     "text": "Ông/bà đánh giá thế nào về thủ tục hành chính (giấy tờ phải nộp, phí, thời hạn giải quyết)?"},
    {"key": "element_3", "kind": "rating", "element": 3,
     "text": "Ông/bà đánh giá thế nào về công chức trực tiếp tiếp nhận, giải quyết hồ sơ (thái độ, hướng dẫn)?"},
    {"key": "element_4", "kind": "rating", "element": 4,
     "text": "Ông/bà đánh giá thế nào về kết quả giải quyết (đúng hẹn, đúng quy định, thông tin chính xác)?"},
    {"key": "element_5", "kind": "rating", "element": 5,
     "text": "Ông/bà đánh giá thế nào về việc tiếp nhận, xử lý góp ý, phản ánh, kiến nghị?"},
    {"key": "problem", "kind": "yes_no", "element": "",
     "text": "Trong quá trình giải quyết, ông/bà có bị đòi tiền, quà, gây khó khăn, nhũng nhiễu hay đối xử thiếu "
             "tôn trọng không?"},
    {"key": "comment", "kind": "text", "element": "",
     "text": "Ông/bà có góp ý gì để cơ quan phục vụ tốt hơn không?"},
]


def default() -> dict:
    """The built-in questionnaire (version 0: in use until an inspector saves one)."""
    return {"id": None, "version": 0, "title": DEFAULT_TITLE, "questions": [dict(q) for q in DEFAULT_QUESTIONS]}


def _row(row: dict) -> dict:
    return {"id": row["id"], "version": row["version"], "title": row["title"], "questions": json.loads(row["questions"])}


def active(db) -> dict:
    """The questionnaire new cases are asked: the active stored version, or the built-in default."""
    row = db.execute("SELECT id, version, title, questions FROM questionnaires WHERE active = 1").fetchone()
    return _row(dict(zip(("id", "version", "title", "questions"), row))) if row else default()


def by_id(db, questionnaire_id: int | None) -> dict:
    """A stored version (None: the built-in default)."""
    if questionnaire_id is None:
        return default()
    row = db.execute("SELECT id, version, title, questions FROM questionnaires WHERE id = ?",
                     [questionnaire_id]).fetchone()
    return _row(dict(zip(("id", "version", "title", "questions"), row))) if row else default()


def versions(db) -> list[dict]:
    """Every stored version, newest first."""
    rows = db.execute("SELECT id, version, title, questions, created_at, active FROM questionnaires "
                      "ORDER BY version DESC").fetchall()
    return [dict(_row(dict(zip(("id", "version", "title", "questions"), r[:4]))), created_at=r[4], active=bool(r[5]))
            for r in rows]


class QuestionnaireError(ValueError):
    """A questionnaire that cannot be saved, with a Vietnamese message."""


def check(title: str, questions: list[dict]) -> None:
    """QuestionnaireError when the questionnaire is not usable."""
    if not title.strip():
        raise QuestionnaireError(gettext("Bộ câu hỏi cần có tiêu đề."))
    if not questions:
        raise QuestionnaireError(gettext("Bộ câu hỏi cần ít nhất một câu hỏi."))
    if len(title.strip()) > MAX_TITLE:
        raise QuestionnaireError(gettext("Tiêu đề tối đa %(max)s ký tự.", max=MAX_TITLE))
    if len(questions) > MAX_QUESTIONS:
        raise QuestionnaireError(gettext("Bộ câu hỏi có tối đa %(max)s câu.", max=MAX_QUESTIONS))
    keys = set()
    for n, q in enumerate(questions, start=1):
        if q.get("kind") not in KINDS:
            raise QuestionnaireError(gettext("Câu %(n)s: loại câu hỏi không hợp lệ.", n=n))
        if not str(q.get("text", "")).strip():
            raise QuestionnaireError(gettext("Câu %(n)s: chưa có nội dung.", n=n))
        if len(str(q.get("text", ""))) > MAX_TEXT:
            raise QuestionnaireError(gettext("Câu %(n)s: nội dung tối đa %(max)s ký tự.", n=n, max=MAX_TEXT))
        key = str(q.get("key", "")).strip()
        if not key or key in keys:
            raise QuestionnaireError(gettext("Câu %(n)s: mã câu hỏi trống hoặc trùng.", n=n))
        if not KEY_SHAPE.fullmatch(key):
            raise QuestionnaireError(gettext("Câu %(n)s: mã câu hỏi chỉ gồm chữ thường không dấu, chữ số và dấu gạch "
                                             "dưới, tối đa 40 ký tự (ví dụ element_1).", n=n))
        if q.get("element", "") not in ("", *ELEMENTS) or (q.get("element", "") != "" and q["kind"] != "rating"):
            raise QuestionnaireError(gettext("Câu %(n)s: yếu tố SIPAS là 1 đến 5, và chỉ cho câu hỏi chấm điểm.", n=n))
        # The alerts read these two questions: they must keep their kind.
        if (key, q["kind"]) in ((PROBLEM_KEY, "rating"), (PROBLEM_KEY, "text"), (OFFICER_KEY, "yes_no"),
                                (OFFICER_KEY, "text")):
            raise QuestionnaireError(gettext("Câu %(n)s: câu “%(key)s” phải giữ loại %(kind)s (cảnh báo dựa vào nó).",
                                             n=n, key=key, kind="yes_no" if key == PROBLEM_KEY else "rating"))
        keys.add(key)


def save_version(db, title: str, questions: list[dict], *, user_id: int | None, now) -> dict:
    """Store a new version and make it the active one; the old versions stay for the cases that used them."""
    check(title, questions)
    with write_transaction(db):
        version = (db.execute("SELECT max(version) FROM questionnaires").fetchone()[0] or 0) + 1
        db.execute("UPDATE questionnaires SET active = 0 WHERE active = 1")
        cursor = db.execute(
            "INSERT INTO questionnaires (version, title, questions, created_at, user_id, active) VALUES (?, ?, ?, ?, ?, 1)",
            [version, title.strip(), json.dumps(questions, ensure_ascii=False), iso(now), user_id])
        new_id = cursor.lastrowid
    return by_id(db, new_id)
