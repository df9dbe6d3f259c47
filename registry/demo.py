"""Demo data: Đồng Tháp's real bodies and communes with obviously fictional numbers, all marked as demo.

The names are real (the 12 standard departments since March 2025, the provincial service centre, vertical
agencies, the 12 former district-level units that ended on 30 June 2025, and wards and communes of the
new Đồng Tháp under Resolution 1663/NQ-UBTVQH15); every number is invented (0277 3900 xxx, 0900 000 xxx) and
stored with is_demo = 1, so the monitor never places a real call to them.
"""
from datetime import datetime, timedelta

from registry import accounts
from registry.clock import utcnow
from registry.db import write_transaction
from registry.hotlines import set_hotline, set_hotline_shared, set_shared
from registry.units import create_unit

INSPECTOR = ("thanhtra@demo.dongthap.gov.vn", "thanhtra-demo-2026", "Thanh tra viên (demo)")
EDITOR = ("soyte@demo.dongthap.gov.vn", "soyte-demo-2026", "Văn thư Sở Y tế (demo)")
EDITOR_UNIT = "SYT"
REASON = "Dữ liệu mẫu"
DISTRICTS_END = "2025-06-30"
COMMUNES_START = "2025-07-01"

# (code, name, kind, number as an official would write it, hours)
AGENCIES = [
    ("SNV", "Sở Nội vụ", "department", "0277 3900 101", "24/7"),
    ("STP", "Sở Tư pháp", "department", "0277 3900 102", "24/7"),
    ("STC", "Sở Tài chính", "department", "0277 3900 103", "24/7"),
    ("SCT", "Sở Công Thương", "department", "0277.3900.104", "24/7"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường", "department", "(0277) 3 900 105", "24/7"),
    ("SXD", "Sở Xây dựng", "department", "0277 3900 106", "24/7"),
    ("SKHCN", "Sở Khoa học và Công nghệ", "department", "0277 3900 107", "office"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "department", "0277 3900 108", "24/7"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "department", "0900 000 109", "24/7"),
    ("SYT", "Sở Y tế", "department", "0277 3900 110", "24/7"),
    ("TTT", "Thanh tra tỉnh", "department", "0277 3900 111", "24/7"),
    ("VPUBND", "Văn phòng Ủy ban nhân dân tỉnh", "department", "0277 3900 111", "24/7"),
    ("TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh", "agency", "0277 1022", "24/7"),
    ("CAT", "Công an tỉnh", "vertical", "0277 3900 113", "24/7"),
    ("THUE", "Thuế tỉnh Đồng Tháp", "vertical", "0277 3900 114", "24/7"),
    ("BHXH", "Bảo hiểm xã hội tỉnh", "vertical", "0277 3900 115", "24/7"),
]
# Thanh tra tỉnh and Văn phòng UBND tỉnh share one switchboard in the demo, marked as deliberately shared.
SHARED = ("TTT", "VPUBND", "Tổng đài chung của Văn phòng UBND tỉnh và Thanh tra tỉnh (cùng trụ sở)")

DISTRICTS = [
    ("H-TPCAOLANH", "UBND thành phố Cao Lãnh"),
    ("H-TPSADEC", "UBND thành phố Sa Đéc"),
    ("H-TPHONGNGU", "UBND thành phố Hồng Ngự"),
    ("H-TANHONG", "UBND huyện Tân Hồng"),
    ("H-HONGNGU", "UBND huyện Hồng Ngự"),
    ("H-TAMNONG", "UBND huyện Tam Nông"),
    ("H-THAPMUOI", "UBND huyện Tháp Mười"),
    ("H-CAOLANH", "UBND huyện Cao Lãnh"),
    ("H-THANHBINH", "UBND huyện Thanh Bình"),
    ("H-LAPVO", "UBND huyện Lấp Vò"),
    ("H-LAIVUNG", "UBND huyện Lai Vung"),
    ("H-CHAUTHANH", "UBND huyện Châu Thành"),
]

# (code, name, kind) — wards and communes of the new province (from 1 July 2025).
COMMUNES = [
    ("P-CAOLANH", "UBND phường Cao Lãnh", "ward"),
    ("P-MYNGAI", "UBND phường Mỹ Ngãi", "ward"),
    ("P-MYTRA", "UBND phường Mỹ Trà", "ward"),
    ("P-SADEC", "UBND phường Sa Đéc", "ward"),
    ("P-HONGNGU", "UBND phường Hồng Ngự", "ward"),
    ("P-ANBINH", "UBND phường An Bình", "ward"),
    ("P-THUONGLAC", "UBND phường Thường Lạc", "ward"),
    ("P-MYTHO", "UBND phường Mỹ Tho", "ward"),
    ("P-DAOTHANH", "UBND phường Đạo Thạnh", "ward"),
    ("P-TRUNGAN", "UBND phường Trung An", "ward"),
    ("P-THOISON", "UBND phường Thới Sơn", "ward"),
    ("P-GOCONG", "UBND phường Gò Công", "ward"),
    ("P-CAILAY", "UBND phường Cai Lậy", "ward"),
    ("X-TANHONG", "UBND xã Tân Hồng", "commune"),
    ("X-TANTHANH", "UBND xã Tân Thành", "commune"),
    ("X-TAMNONG", "UBND xã Tam Nông", "commune"),
    ("X-TRAMCHIM", "UBND xã Tràm Chim", "commune"),
    ("X-THANHBINH", "UBND xã Thanh Bình", "commune"),
    ("X-THAPMUOI", "UBND xã Tháp Mười", "commune"),
    ("X-MYHIEP", "UBND xã Mỹ Hiệp", "commune"),
    ("X-LAPVO", "UBND xã Lấp Vò", "commune"),
    ("X-LAIVUNG", "UBND xã Lai Vung", "commune"),
    ("X-CHAUTHANH", "UBND xã Châu Thành", "commune"),
    ("X-CAIBE", "UBND xã Cái Bè", "commune"),
    ("X-CHOGAO", "UBND xã Chợ Gạo", "commune"),
]
# One earlier number per unit of this list, so the history and the changes feed show real-looking edits.
EARLIER = {"SYT": ("0277 3900 190", "Chuyển sang tổng đài mới của Sở"), "X-TAMNONG": ("0900 000 290", "Đổi người trực")}


def load_demo(db, *, now: datetime | None = None) -> bool:
    """Fill an empty registry with the demo units, numbers and the two demo accounts; False if units exist."""
    if db.execute("SELECT 1 FROM units LIMIT 1").fetchone():
        return False
    now = now or utcnow()
    earlier = now - timedelta(days=30)
    with write_transaction(db):
        ids = {}
        for code, name, kind, _number, _hours in AGENCIES:
            ids[code] = create_unit(db, {"code": code, "name": name, "kind": kind, "group_code": "A"}, now=earlier)
        for code, name in DISTRICTS:
            ids[code] = create_unit(db, {"code": code, "name": name, "kind": "district", "group_code": "B",
                                         "valid_to": DISTRICTS_END}, now=earlier)
        for code, name, kind in COMMUNES:
            ids[code] = create_unit(db, {"code": code, "name": name, "kind": kind, "group_code": "C",
                                         "valid_from": COMMUNES_START}, now=earlier)
        for code, (number, _reason) in EARLIER.items():
            set_hotline(db, ids[code], number, actor=None, reason=REASON, is_demo=True, now=earlier)
        for code, _name, _kind, number, hours in AGENCIES:
            if code == SHARED[1]:
                continue
            set_hotline(db, ids[code], number, actor=None, reason=EARLIER.get(code, (None, REASON))[1],
                        hours=hours, is_demo=True, now=now)
        first, second, note = SHARED
        set_shared(db, ids[first], True, note, actor=None, now=now)
        number = next(n for c, _name, _kind, n, _hours in AGENCIES if c == second)
        set_hotline_shared(db, ids[second], number, note, actor=None, reason=REASON, is_demo=True, now=now)
        for index, (code, _name) in enumerate(DISTRICTS, start=1):
            set_hotline(db, ids[code], f"0277 3901 {index:03d}", actor=None, reason=REASON, is_demo=True, now=earlier)
        for index, (code, _name, _kind) in enumerate(COMMUNES, start=1):
            number = f"0277 3902 {index:03d}" if index % 3 else f"0900 000 {200 + index:03d}"
            reason = EARLIER.get(code, (None, REASON))[1]
            set_hotline(db, ids[code], number, actor=None, reason=reason, is_demo=True, now=now)
        accounts.create_inspector(db, INSPECTOR[0], INSPECTOR[1], INSPECTOR[2], now=now)
        token = accounts.invite_editor(db, EDITOR[0], ids[EDITOR_UNIT], EDITOR[2], now=now)
        accounts.accept_invite(db, token, EDITOR[1], now=now)
    return True
