"""Groups: the sections A, B, C… of the appendix, their order, how often their hotlines are tested and how
many counted tests a unit needs in a period before the report gives it a verdict."""
import re

from flask_babel import gettext

from registry.errors import NotFound, RegistryError

GROUP_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
GROUP_FIELDS = ("name", "name_en", "sort_order", "tests_per_week", "min_tests")


def list_groups(db) -> list[dict]:
    """Every group in the appendix's order."""
    return db.execute_returning_dicts("SELECT * FROM groups ORDER BY sort_order, code")


def group_exists(db, code: str) -> bool:
    return db.execute("SELECT 1 FROM groups WHERE code = ?", [code]).fetchone() is not None


def unit_counts(db) -> dict[str, int]:
    """How many units (current or not) each group holds, by group code."""
    return dict(db.execute("SELECT group_code, count(*) FROM units GROUP BY group_code").fetchall())


def _clean_group_fields(data: dict) -> dict:
    """Validate group fields; raise RegistryError naming the field, in Vietnamese."""
    out = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if out.get("min_tests") == "":
        del out["min_tests"]  # left blank: the default for a new group, unchanged for an existing one
    if "name" in out and not out["name"]:
        raise RegistryError(gettext("Tên nhóm không được để trống."), field="name")
    for key, low, high, label in (("sort_order", -1000, 1000, gettext("Thứ tự")),
                                  ("tests_per_week", 0, 100, gettext("Số lần gọi kiểm tra mỗi tuần")),
                                  ("min_tests", 1, 100, gettext("Số cuộc gọi tối thiểu để kết luận"))):
        if key in out:
            try:
                out[key] = int(str(out[key]).strip())
            except ValueError:
                raise RegistryError(gettext("%(label)s phải là một số nguyên.", label=label), field=key) from None
            if not low <= out[key] <= high:
                raise RegistryError(gettext("%(label)s phải từ %(low)s đến %(high)s.", label=label, low=low, high=high), field=key)
    return out


def create_group(db, data: dict) -> str:
    """Add a group (a section of the appendix, e.g. A / B / C); returns its code."""
    code = (data.get("code") or "").strip()
    if not GROUP_CODE_RE.match(code):
        raise RegistryError(
            gettext("Mã nhóm “%(code)s” không hợp lệ: dùng chữ không dấu, số, dấu chấm, gạch ngang (tối đa 16 ký tự).",
                    code=code),
            field="code",
        )
    if db.execute("SELECT 1 FROM groups WHERE code = ? COLLATE NOCASE", [code]).fetchone():
        raise RegistryError(gettext("Mã nhóm “%(code)s” đã có.", code=code), field="code")
    fields = _clean_group_fields({k: v for k, v in data.items() if k in GROUP_FIELDS})
    if not fields.get("name"):
        raise RegistryError(gettext("Tên nhóm không được để trống."), field="name")
    if "sort_order" not in fields:  # a new group goes last unless told otherwise
        fields["sort_order"] = db.execute("SELECT coalesce(max(sort_order), 0) + 1 FROM groups").fetchone()[0]
    db.table("groups").insert({"code": code, **fields})
    return code


def update_group(db, code: str, data: dict) -> dict:
    """Rename a group or change its order, weekly test count or minimum for a verdict; returns what changed."""
    rows = db.execute_returning_dicts("SELECT * FROM groups WHERE code = ?", [code])
    if not rows:
        raise NotFound(gettext("Không có nhóm “%(code)s”.", code=code))
    fields = _clean_group_fields({k: v for k, v in data.items() if k in GROUP_FIELDS})
    changed = {k: v for k, v in fields.items() if rows[0][k] != v}
    if changed:
        db.table("groups").update(code, changed)
    return changed
