"""Inspector reviews: override an attempt's outcome with a reason; the automatic outcome stays visible."""
from datetime import datetime

from registry.clock import iso, utcnow
from registry.errors import NotFound, RegistryError

from .outcomes import OUTCOMES



def override_outcome(db, attempt_id: int, new_outcome: str, reason: str, *, user: dict,
                     now: datetime | None = None) -> None:
    """Set an ended attempt's outcome, keeping the automatic one in original_outcome and the review in history."""
    if new_outcome not in OUTCOMES:
        raise RegistryError("Kết quả không hợp lệ.", field="outcome")
    if not (reason or "").strip():
        raise RegistryError("Hãy ghi lý do thay đổi kết quả.", field="reason")
    rows = db.execute_returning_dicts("SELECT id, state, outcome, original_outcome FROM attempts WHERE id = ?", [attempt_id])
    if not rows:
        raise NotFound("Không tìm thấy lần gọi.")
    attempt = rows[0]
    if attempt["state"] != "ended":
        raise RegistryError("Lần gọi chưa kết thúc: chỉ xem xét được khi đã có kết quả.")
    if attempt["outcome"] == new_outcome:
        raise RegistryError("Kết quả mới trùng với kết quả hiện tại.", field="outcome")
    now = now or utcnow()
    with db.atomic():
        db.execute(
            "INSERT INTO outcome_reviews (attempt_id, at, user_id, old_outcome, new_outcome, reason) VALUES (?,?,?,?,?,?)",
            [attempt_id, iso(now), user["id"], attempt["outcome"], new_outcome, reason.strip()],
        )
        db.execute(
            "UPDATE attempts SET outcome = ?, original_outcome = COALESCE(original_outcome, ?) WHERE id = ?",
            [new_outcome, attempt["outcome"], attempt_id],
        )


def reviews_for(db, attempt_id: int) -> list[dict]:
    return db.execute_returning_dicts(
        "SELECT r.*, u.email AS user_email FROM outcome_reviews r LEFT JOIN users u ON u.id = r.user_id "
        "WHERE r.attempt_id = ? ORDER BY r.at, r.id",
        [attempt_id],
    )
