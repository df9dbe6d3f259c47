"""A new unit registered with its hotline in one step: the unit and its number are stored together, or neither."""
from datetime import datetime

from registry.db import write_transaction
from registry.hotlines import HOURS, set_hotline
from registry.units import create_unit

REASON = "Đăng ký khi tạo đơn vị"  # stored in the history, in the registry's language


def register_unit(db, data: dict, number: str = "", hours: str | None = None, *, actor: dict | None,
                  now: datetime | None = None) -> int:
    """Create the unit (create_unit's fields) and, when a number is given, its hotline; returns the unit's id.

    One write transaction: a number refused (invalid, or another unit's) leaves no unit behind either.
    """
    with write_transaction(db):
        unit_id = create_unit(db, data, actor=actor, now=now)
        if (number or "").strip():
            set_hotline(db, unit_id, number, actor=actor, reason=REASON, hours=hours if hours in HOURS else None,
                        now=now)
    return unit_id
