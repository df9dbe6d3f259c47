"""The public JSON API of the logbook, after Open311 GeoReport v2: the anonymous list of entries and one entry by
its receipt code and lookup digits. What may be shown and the throttle are registry/logbook/public.py's; the
OpenAPI fragment below is merged into registry/web/api.py's document.
"""
import json
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, request
from flask_babel import gettext as _

from registry import clock
from registry.errors import UserError
from registry.logbook import public
from registry.web import get_db

bp = Blueprint("api_logbook", __name__, url_prefix="/api/v1")

MIN_YEAR, MAX_YEAR = 2000, 2099
DATE_PATTERN = r"^20[0-9]{2}-"  # the years answered (MIN_YEAR..MAX_YEAR), said in the document
DEADLINE_TIME = time(23, 59, 59)  # a deadline is a local date: it runs to the end of that day


def _json(body, status: int = 200, headers: dict | None = None, cache: str = "no-store") -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = cache if status == 200 else "no-store"
    response.headers.update(headers or {})
    return response


def _error(exc: UserError, parameter: str | None = None) -> Response:
    body = {"error": str(exc.message), "code": "invalid_parameter" if exc.code == "invalid" else exc.code}
    if parameter or exc.field:
        body["parameter"] = parameter or exc.field
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, public.LookupThrottled) else None
    return _json(body, exc.status, headers)


def _expected(deadline: str | None) -> str | None:
    if not deadline:
        return None
    return datetime.combine(date.fromisoformat(deadline), DEADLINE_TIME, tzinfo=clock.LOCAL).isoformat()


def _common(row: dict) -> dict:
    """The Open311 fields shared by the list and the single entry."""
    return {
        "status": row["status"],
        "detailed_status": row["state"],
        "service_code": row["field_code"],
        "service_name": row["field_name"],
        "agency_responsible": row["unit_name"],
        "agency_code": row["unit_code"],
        "requested_datetime": row["received_at"],
        "updated_datetime": row["updated_at"],
        "expected_datetime": _expected(row["deadline"]),
        "transfers": row["transfers"],
    }


def request_row(entry: dict) -> dict:
    """One entry as GET /api/v1/requests/{code}.json shows it (public.view's dict in)."""
    return {
        "service_request_id": entry["receipt_code"],
        **_common(entry),
        "status_notes": entry["answer"] or None,
        "answered_datetime": entry["answered_at"],
        "agency_chain": entry["chain"],
        "rating": entry["rating"],
    }


def _day(name: str) -> date | None:
    text = request.args.get(name)
    if text is None:  # absent; present but empty is refused below, as the document says
        return None
    try:
        day = date.fromisoformat(text.strip()[:10])  # Open311 sends a datetime; its date is what counts here
    except ValueError:
        day = None
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:  # far years would overflow the local-midnight arithmetic
        raise UserError(_("Ngày viết theo dạng YYYY-MM-DD, ví dụ 2026-12-01."), field=name)
    return day


@bp.route("/requests.json")
def requests_list():
    """Public: anonymous rows of the entries received between start_date and end_date (local dates), by status."""
    db = get_db()
    now = clock.utcnow()
    try:
        public.throttle_listing(db, client=request.remote_addr or "?", now=now)
        end = _day("end_date") or clock.local_today(now)
        start = _day("start_date") or end - timedelta(days=public.MAX_LIST_DAYS - 1)
        # A wider range is cut to the MAX_LIST_DAYS days ending at end_date (as Open311 servers do); the document
        # says so. start_date after end_date is an empty range, not an error.
        start = max(start, end - timedelta(days=public.MAX_LIST_DAYS - 1))
        status = request.args.get("status")
        if status is not None and status not in ("open", "closed", *public.STATES):
            raise UserError(_("status là open, closed hoặc một trạng thái chi tiết: %(states)s.",
                              states=", ".join(public.STATES)), field="status")
    except UserError as exc:
        return _error(exc)
    rows = public.listing(db, start=start, end=end, state=status)
    return _json([_common(row) for row in rows], cache="public, max-age=60")


@bp.route("/requests/<receipt_code>.json")
def request_detail(receipt_code):
    """Public with the keys: one entry by its receipt code and ?lookup_digits= (a list of one, as in Open311)."""
    try:
        code = public.receipt_code(receipt_code)
        digits = public.lookup_digits(request.args.get("lookup_digits"))
        entry = public.find(get_db(), code, digits, client=request.remote_addr or "?", now=clock.utcnow())
    except UserError as exc:
        return _error(exc, "lookup_digits" if exc.field == "digits" else None)
    return _json([request_row(entry)])


def openapi_paths() -> dict:
    """The OpenAPI 3.0 paths of the two calls above (merged into registry/web/api.py's document)."""
    def error(description):
        return {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    throttled = error("Quá nhiều lần gọi; thử lại sau số giây ở tiêu đề Retry-After.")
    throttled["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
    date_param = lambda name, text: {"name": name, "in": "query", "required": False, "description": text,  # noqa: E731
                                     "schema": {"type": "string", "format": "date", "pattern": DATE_PATTERN}}
    return {
        "/api/v1/requests.json": {"get": {
            "operationId": "listServiceRequests",
            "summary": "Các phiếu phản ánh đã tiếp nhận, ẩn danh (theo Open311 GeoReport v2)",
            "description": "Mỗi mã phiếu một dòng (đơn vị đang xử lý), mới nhất trước, tối đa "
                           f"{public.MAX_LIST_ROWS} dòng; khoảng ngày dài hơn {public.MAX_LIST_DAYS} ngày được cắt "
                           "còn bấy nhiêu ngày tính đến end_date. Không có mã phiếu, nội dung, câu trả lời hay thông "
                           "tin cá nhân.",
            "parameters": [
                date_param("start_date", "Từ ngày tiếp nhận (giờ Việt Nam); mặc định 90 ngày trước end_date."),
                date_param("end_date", "Đến ngày tiếp nhận (gồm cả ngày này); mặc định hôm nay."),
                {"name": "status", "in": "query", "required": False,
                 "description": "open, closed (đã trả lời hoặc đã đóng) hoặc một trạng thái chi tiết.",
                 "schema": {"type": "string", "enum": ["open", "closed", *public.STATES]}},
            ],
            "responses": {
                "200": {"description": "Danh sách ẩn danh.", "content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/ServiceRequestSummary"}}}}},
                "400": error("Tham số không hợp lệ."),
                "429": throttled,
            },
        }},
        "/api/v1/requests/{receipt_code}.json": {"get": {
            "operationId": "getServiceRequest",
            "summary": "Một phiếu theo mã phiếu và 4 chữ số tra cứu",
            "description": "Mã sai hay chữ số sai đều được trả lời cùng một thông báo 404.",
            "parameters": [
                {"name": "receipt_code", "in": "path", "required": True, "description": "Mã phiếu (service_request_id).",
                 "schema": {"type": "string", "pattern": public.RECEIPT_RE.pattern}},
                {"name": "lookup_digits", "in": "query", "required": True,
                 "description": "4 số cuối của số điện thoại đã báo, hoặc mã tra cứu được cấp.",
                 "schema": {"type": "string", "pattern": public.DIGITS_RE.pattern}},
            ],
            "responses": {
                "200": {"description": "Danh sách một phần tử, như Open311.", "content": {"application/json": {
                    "schema": {"type": "array", "minItems": 1, "maxItems": 1,
                               "items": {"$ref": "#/components/schemas/ServiceRequest"}}}}},
                "400": error("Mã phiếu hoặc chữ số tra cứu không đúng dạng."),
                "404": error("Không có phiếu với mã và chữ số này."),
                "429": throttled,
            },
        }},
    }


def openapi_schemas() -> dict:
    """The schemas the paths above refer to."""
    text = {"type": "string", "nullable": True}
    summary = {
        "status": {"type": "string", "enum": ["open", "closed"]},
        "detailed_status": {"type": "string", "enum": list(public.STATES)},
        "service_code": {**text, "description": "Mã lĩnh vực."},
        "service_name": {**text, "description": "Tên lĩnh vực."},
        "agency_responsible": {"type": "string", "description": "Đơn vị đang xử lý."},
        "agency_code": {"type": "string"},
        "requested_datetime": {"type": "string", "format": "date-time", "description": "Lúc tiếp nhận (UTC)."},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": {**text, "format": "date-time", "description": "Hạn xử lý: hết ngày, giờ Việt Nam."},
        "transfers": {"type": "integer", "minimum": 0, "description": "Số lần chuyển đơn vị."},
    }
    full = {
        "service_request_id": {"type": "string", "description": "Mã phiếu."},
        **summary,
        "status_notes": {**text, "description": "Câu trả lời của đơn vị, khi đã trả lời."},
        "answered_datetime": {**text, "format": "date-time"},
        "agency_chain": {"type": "array", "items": {"type": "string"},
                         "description": "Các đơn vị phiếu đã qua, đơn vị đầu tiên trước."},
        "rating": {"type": "integer", "nullable": True, "minimum": 1, "maximum": 5},
    }
    return {
        "ServiceRequestSummary": {"type": "object", "additionalProperties": False, "required": list(summary),
                                  "properties": summary},
        "ServiceRequest": {"type": "object", "additionalProperties": False, "required": list(full), "properties": full},
    }
