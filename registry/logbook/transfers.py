"""A transfer is a hand-over, not a brush-off: the entry is created at the competent unit under the same receipt
code, and both units see it and its whole history. transfer_counts() finds the receipt codes passed on more than
once (the paper trail of "gọi lòng vòng") for the report."""
from datetime import date, datetime

from flask_babel import gettext

from registry.clock import iso, local_midnight_utc
from registry.db import write_transaction
from registry.errors import NotFound, RegistryError
from registry.logbook import entries

REASON_MAX = 2000


def transfer(db, entry_id: int, to_unit_id: int, reason: str, *, user_id: int | None, now: datetime) -> dict:
    """Hand the entry to another unit; the new copy there (with its own deadline, counted from today)."""
    reason = (reason or "").strip()
    if not reason:
        raise RegistryError(gettext("Hãy ghi lý do chuyển (vì sao đơn vị kia có thẩm quyền)."), field="reason")
    if len(reason) > REASON_MAX:
        raise RegistryError(gettext("Tối đa %(max)d ký tự.", max=REASON_MAX), field="reason")
    with write_transaction(db):
        entry = entries.get(db, entry_id)
        if entry is None:
            raise NotFound(gettext("Không có phiếu này."))
        if entry["state"] not in ("open", "waiting"):
            raise RegistryError(gettext("Chỉ chuyển được phiếu đang xử lý."), field="state", status=409)
        if db.execute("SELECT 1 FROM units WHERE id = ?", [to_unit_id]).fetchone() is None:
            raise RegistryError(gettext("Không có đơn vị nhận này."), field="to_unit")
        if to_unit_id == entry["unit_id"]:
            raise RegistryError(gettext("Hãy chọn một đơn vị khác."), field="to_unit")
        if any(copy["unit_id"] == to_unit_id for copy in entries.by_receipt(db, entry["receipt_code"])):
            raise RegistryError(gettext("Đơn vị này đã nhận phiếu này trước đây; không chuyển vòng lại."),
                                field="to_unit")
        return entries.hand_over(db, entry, to_unit_id, reason, user_id=user_id, now=now)


def chain(db, entry: dict) -> list[dict]:
    """Every unit's copy of the entry's receipt code, in order (the chain both units see)."""
    return entries.by_receipt(db, entry["receipt_code"])


def transfer_counts(db, start: date, end: date) -> dict[int, int]:
    """Per unit that first received it: how many of its entries received in [start, end] (local dates) were
    transferred more than once."""
    rows = db.execute(
        "SELECT first.unit_id, count(*) FROM logbook_entries first "
        "JOIN (SELECT receipt_code FROM logbook_entries WHERE transferred_to IS NOT NULL "
        "      GROUP BY receipt_code HAVING count(*) > 1) moved ON moved.receipt_code = first.receipt_code "
        "WHERE first.from_entry_id IS NULL AND first.received_at >= ? AND first.received_at < ? "
        "GROUP BY first.unit_id",
        [iso(local_midnight_utc(start)), iso(local_midnight_utc(date.fromordinal(end.toordinal() + 1)))],
    ).fetchall()
    return {unit_id: count for unit_id, count in rows}
