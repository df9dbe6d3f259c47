"""Files attached to a logbook entry: PDF, PNG/JPEG images, office documents (DOCX, XLSX, ODT).

The only writer of logbook_attachments. The type is decided by the file's first bytes, never by its name alone:
a renamed program is refused. Size and count are bounded; the web serves them as downloads only.
"""
import hashlib
import io
import re
import zipfile
from datetime import datetime

from flask_babel import gettext

from registry.clock import iso
from registry.db import write_transaction
from registry.errors import NotFound, RegistryError
from registry.logbook import history

MAX_BYTES = 5 * 1024 * 1024
MAX_PER_ENTRY = 10
# extension → (content type, what its first bytes must be)
TYPES = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpg": ("image/jpeg", "jpeg"),
    "jpeg": ("image/jpeg", "jpeg"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"),
    "odt": ("application/vnd.oasis.opendocument.text", "odt"),
}
MAGIC = {"pdf": b"%PDF-", "png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}
ODT_MIME = b"application/vnd.oasis.opendocument.text"


def _content_matches(kind: str, data: bytes) -> bool:
    if kind in MAGIC:
        return data.startswith(MAGIC[kind])
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if kind == "odt":
                return "mimetype" in names and archive.read("mimetype").strip() == ODT_MIME
            return "[Content_Types].xml" in names and any(n.startswith(kind) for n in names)
    except (zipfile.BadZipFile, KeyError, RuntimeError, ValueError):
        return False


def safe_name(filename: str) -> str:
    """The file's name without any folder, control characters or quotes (it goes into a header)."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = re.sub(r'[\x00-\x1f\x7f"<>:|?*;]', "", name).strip(" .")
    return name[-200:] or "tep"


def add(db, entry_id: int, filename: str, data: bytes, *, user_id: int | None, now: datetime) -> int:
    """Attach a file to the entry after checking its type (by content), size and the entry's count."""
    name = safe_name(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in TYPES:
        raise RegistryError(gettext("Chỉ nhận tệp PDF, ảnh PNG/JPEG, DOCX, XLSX hoặc ODT."), field="file")
    if not data:
        raise RegistryError(gettext("Tệp rỗng."), field="file")
    if len(data) > MAX_BYTES:
        raise RegistryError(gettext("Tệp quá lớn: tối đa %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)), field="file")
    content_type, kind = TYPES[extension]
    if not _content_matches(kind, data):
        raise RegistryError(gettext("Nội dung tệp không đúng loại %(ext)s.", ext=extension.upper()), field="file")
    with write_transaction(db):
        if db.execute("SELECT 1 FROM logbook_entries WHERE id = ?", [entry_id]).fetchone() is None:
            raise NotFound(gettext("Không có phiếu này."))
        count = db.execute("SELECT count(*) FROM logbook_attachments WHERE entry_id = ?", [entry_id]).fetchone()[0]
        if count >= MAX_PER_ENTRY:
            raise RegistryError(gettext("Mỗi phiếu tối đa %(n)d tệp.", n=MAX_PER_ENTRY), field="file")
        attachment_id = db.execute(
            "INSERT INTO logbook_attachments (entry_id, filename, content_type, size, sha256, data, uploaded_at, "
            "uploaded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [entry_id, name, content_type, len(data), hashlib.sha256(data).hexdigest(), data, iso(now), user_id],
        ).lastrowid
        history.record(db, entry_id, "attached", user_id=user_id, now=now, changes={"file": name})
    return attachment_id


def for_entries(db, entry_ids: list[int]) -> list[dict]:
    """The attachments (without their bytes) of these entries, oldest first."""
    if not entry_ids:
        return []
    rows = db.execute(
        f"SELECT id, entry_id, filename, content_type, size, uploaded_at FROM logbook_attachments "
        f"WHERE entry_id IN ({','.join('?' * len(entry_ids))}) ORDER BY id", list(entry_ids)).fetchall()
    return [dict(zip(("id", "entry_id", "filename", "content_type", "size", "uploaded_at"), r)) for r in rows]


def get(db, attachment_id: int) -> dict | None:
    """One attachment with its bytes."""
    row = db.execute("SELECT id, entry_id, filename, content_type, data FROM logbook_attachments WHERE id = ?",
                     [attachment_id]).fetchone()
    return dict(zip(("id", "entry_id", "filename", "content_type", "data"), row)) if row else None
