"""Number changes that need an inspector's approval: the rules, the proposals, approving and rejecting them.

Inspectors choose, for the whole province (scope "*") or one group, whether an agency editor's new number
needs their approval (default: no). Where it does, the editor's number is stored apart (`number_proposals`);
the unit's hotline, hence the public directory, the API and the scheduler, keep the old number until an
inspector approves it. Proposal, approval and rejection each go into the unit's history with who and why.
"""
from datetime import datetime

from flask_babel import gettext

from registry.clock import iso, utcnow
from registry.db import write_transaction
from registry.errors import NotFound, NumberTaken, RegistryError
from registry.groups import group_exists
from registry.history import log_change
from registry.hotlines import HOURS, parse_number, set_hotline

PROVINCE = "*"


def approval_rules(db) -> dict[str, bool]:
    """Whether approval is required, by scope ("*" for the province, else a group code); absent means no."""
    return {scope: bool(required) for scope, required in db.execute("SELECT scope, required FROM approval_rules")}


def set_approval_rule(db, scope: str, required: bool, *, actor: dict, now: datetime | None = None) -> None:
    """Inspector turns approval on or off for the province ("*") or one group."""
    if scope != PROVINCE and not group_exists(db, scope):
        raise RegistryError(gettext("Không có nhóm “%(group_code)s”.", group_code=scope[:16]), field="scope")
    db.execute(
        "INSERT INTO approval_rules (scope, required, updated_at, updated_by) VALUES (?,?,?,?) "
        "ON CONFLICT(scope) DO UPDATE SET required = excluded.required, updated_at = excluded.updated_at, "
        "updated_by = excluded.updated_by",
        [scope, int(required), iso(now or utcnow()), actor["id"] if actor else None],
    )


def approval_required(db, unit_id: int) -> bool:
    """Whether an editor's new number for this unit waits for an inspector (province or the unit's group says so)."""
    row = db.execute(
        "SELECT max(r.required) FROM approval_rules r JOIN units u ON u.id = ? "
        "WHERE r.scope = ? OR r.scope = u.group_code", [unit_id, PROVINCE],
    ).fetchone()
    return bool(row and row[0])


def _holder(db, number: str, unit_id: int) -> str | None:
    """The name of another unit holding this number privately (it cannot be proposed), or None."""
    row = db.execute(
        "SELECT u.name FROM hotlines h JOIN units u ON u.id = h.unit_id WHERE h.number = ? AND h.unit_id != ?",
        [number, unit_id],
    ).fetchone()
    return row[0] if row else None


def propose_number(db, unit_id: int, raw: str, *, actor: dict, reason: str, hours: str | None = None,
                   now: datetime | None = None) -> dict:
    """An editor's new number, kept apart until an inspector decides; replaces the unit's earlier pending one."""
    parsed = parse_number(raw, hours)
    holder = _holder(db, parsed.number, unit_id)
    if holder:
        raise NumberTaken(gettext("Số %(number)s đã được đăng ký cho “%(unit)s”. Mỗi số chỉ thuộc một đơn vị, trừ khi "
                                  "Văn phòng UBND xác nhận đây là số dùng chung.", number=parsed.display, unit=holder))
    now = now or utcnow()
    current = db.execute("SELECT display, hours FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()
    row = {
        "unit_id": unit_id, "number": parsed.number, "kind": parsed.kind, "display": parsed.display,
        "raw": parsed.raw, "extension": parsed.extension, "hours": hours or (current[1] if current else "24/7"),
        "reason": reason or "", "proposed_at": iso(now), "proposed_by": actor["id"] if actor else None,
    }
    with write_transaction(db):
        db.execute("UPDATE number_proposals SET status = 'superseded', decided_at = ? "
                   "WHERE unit_id = ? AND status = 'pending'", [iso(now), unit_id])
        row["id"] = db.table("number_proposals").insert(row).last_pk
        log_change(db, unit_id, "number_proposed", current[0] if current else None, parsed.display, reason, actor, now)
    return row


def pending_for_unit(db, unit_id: int) -> dict | None:
    """The unit's number waiting for approval, with who proposed it, or None."""
    rows = db.execute_returning_dicts(
        "SELECT p.*, us.email AS proposed_by_email FROM number_proposals p LEFT JOIN users us ON us.id = p.proposed_by "
        "WHERE p.unit_id = ? AND p.status = 'pending'", [unit_id])
    return rows[0] if rows else None


def last_rejection(db, unit_id: int) -> dict | None:
    """The unit's latest proposal if it was rejected (the editor sees why), or None."""
    rows = db.execute_returning_dicts(
        "SELECT * FROM number_proposals WHERE unit_id = ? AND status != 'superseded' ORDER BY id DESC LIMIT 1",
        [unit_id])
    return rows[0] if rows and rows[0]["status"] == "rejected" else None


def pending_proposals(db) -> list[dict]:
    """Every number waiting for approval, oldest first, with its unit and the number in force now."""
    return db.execute_returning_dicts(
        "SELECT p.*, u.code AS unit_code, u.name AS unit_name, h.display AS current_display, "
        "h.extension AS current_extension, us.email AS proposed_by_email "
        "FROM number_proposals p JOIN units u ON u.id = p.unit_id LEFT JOIN hotlines h ON h.unit_id = p.unit_id "
        "LEFT JOIN users us ON us.id = p.proposed_by WHERE p.status = 'pending' ORDER BY p.proposed_at, p.id")


def pending_count(db) -> int:
    """How many numbers wait for an inspector's approval (the menu's count)."""
    return db.execute("SELECT count(*) FROM number_proposals WHERE status = 'pending'").fetchone()[0]


def _pending(db, proposal_id: int) -> dict:
    rows = db.execute_returning_dicts("SELECT * FROM number_proposals WHERE id = ?", [proposal_id])
    if not rows or rows[0]["status"] != "pending":
        raise NotFound(gettext("Đề nghị đổi số này không còn chờ duyệt (đã được xử lý hoặc thay bằng đề nghị mới)."))
    return rows[0]


def approve(db, proposal_id: int, *, actor: dict, reason: str = "", now: datetime | None = None) -> dict:
    """Inspector approves: the number becomes the unit's hotline (history: the change and the approval)."""
    now = now or utcnow()
    proposal = _pending(db, proposal_id)
    written = proposal["raw"] or proposal["display"]
    with write_transaction(db):
        set_hotline(db, proposal["unit_id"], written, actor=actor, reason=proposal["reason"],
                    hours=proposal["hours"] if proposal["hours"] in HOURS else None, now=now)
        db.execute("UPDATE number_proposals SET status = 'approved', decided_at = ?, decided_by = ?, "
                   "decision_reason = ? WHERE id = ?", [iso(now), actor["id"], reason.strip(), proposal_id])
        log_change(db, proposal["unit_id"], "number_approved", None, proposal["display"], reason.strip(), actor, now)
    return proposal


def reject(db, proposal_id: int, *, actor: dict, reason: str, now: datetime | None = None) -> dict:
    """Inspector rejects, saying why; the unit keeps its number and the editor sees the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise RegistryError(gettext("Hãy ghi lý do từ chối để đơn vị biết cần sửa gì."), field="reason")
    now = now or utcnow()
    proposal = _pending(db, proposal_id)
    with write_transaction(db):
        db.execute("UPDATE number_proposals SET status = 'rejected', decided_at = ?, decided_by = ?, "
                   "decision_reason = ? WHERE id = ?", [iso(now), actor["id"], reason, proposal_id])
        log_change(db, proposal["unit_id"], "number_rejected", proposal["display"], None, reason, actor, now)
    return proposal
