"""Read-only JSON API of the public directory, and its OpenAPI 3.0 document (no sign-in, GET only)."""
import json

from flask import Blueprint, Response, request
from flask_babel import gettext as _

from registry import clock
from registry.errors import NotFound
from registry.groups import list_groups
from registry.hotlines import HOURS
from registry.units import CODE_RE, KINDS, get_unit, is_current, list_units
from registry.web import api_logbook, get_db

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_QUERY = 100
NUMBER_KINDS = ["landline", "mobile", "short", "tollfree", "premium"]


def _json(body: dict, status: int = 200) -> Response:
    # ensure_ascii=False: Vietnamese names stay readable in the raw response.
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=60" if status == 200 else "no-store"
    return response


def _error(status: int, code: str, message: str, parameter: str | None = None) -> Response:
    body = {"error": message, "code": code}
    if parameter:
        body["parameter"] = parameter
    return _json(body, status)


def entry(unit: dict, today: str) -> dict:
    """One unit and its hotline as the API shows it; `current` on the local date `today` (YYYY-MM-DD)."""
    return {
        "code": unit["code"],
        "name": unit["name"],
        "group": unit["group_code"],
        "group_name": unit["group_name"],
        "unit_kind": unit["kind"],
        "parent_code": unit["parent_code"],
        "number": unit["number"],
        "display": unit["display"],
        "extension": unit["extension"] or None,
        "kind": unit["number_kind"],
        "hours": unit["hours"],
        "shared": bool(unit["shared"]),
        "is_demo": bool(unit["is_demo"]),
        "updated_at": unit["number_updated_at"],
        "valid_from": unit["valid_from"],
        "valid_to": unit["valid_to"],
        "current": is_current(unit, today),
    }


@bp.route("/hotlines")
def hotlines():
    """Every current unit with its hotline; ?group= filters by group code, ?q= by name, code or digits."""
    db = get_db()
    group = request.args.get("group")
    query = request.args.get("q", "")
    codes = [g["code"] for g in list_groups(db)]
    if group is not None and group not in codes:
        return _error(400, "invalid_parameter", _("Không có nhóm “%(group)s”; các nhóm: %(groups)s.", group=group[:40], groups=", ".join(codes)), "group")
    if len(query) > MAX_QUERY:
        return _error(400, "invalid_parameter", _("Chuỗi tìm kiếm dài quá %(max)s ký tự.", max=MAX_QUERY), "q")
    today = clock.local_today_iso(clock.utcnow())
    units = list_units(db, query=query, group=group or "", current_only=True, on=today)
    return _json({"count": len(units), "hotlines": [entry(u, today) for u in units]})


@bp.route("/hotlines/<path:code>")
def hotline(code):
    """One unit by its code (current or historical)."""
    if not CODE_RE.match(code):
        return _error(400, "invalid_parameter", _("Mã đơn vị chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang (tối đa 40 ký tự)."), "code")
    try:
        unit = get_unit(get_db(), code)
    except NotFound:
        return _error(404, "not_found", _("Không có đơn vị mã “%(code)s”.", code=code))
    return _json(entry(unit, clock.local_today_iso(clock.utcnow())))


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.0 document of this API (group codes listed as they are now)."""
    return _json(openapi_document([g["code"] for g in list_groups(get_db())]))


def openapi_document(group_codes: list[str]) -> dict:
    """OpenAPI 3.0.3 description of exactly the endpoints above."""
    nullable_string = {"type": "string", "nullable": True}
    hotline_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["code", "name", "group", "group_name", "unit_kind", "parent_code", "number", "display", "extension",
                     "kind", "hours", "shared", "is_demo", "updated_at", "valid_from", "valid_to", "current"],
        "properties": {
            "code": {"type": "string", "pattern": CODE_RE.pattern, "description": "Mã đơn vị chính thức.", "example": "SYT"},
            "name": {"type": "string", "minLength": 1, "description": "Tên cơ quan, đơn vị, địa phương.", "example": "Sở Y tế"},
            "group": {"type": "string", "description": "Mã nhóm (mục A, B, C… của phụ lục).", "example": "A"},
            "group_name": {"type": "string", "example": "Cơ quan, đơn vị"},
            "unit_kind": {"type": "string", "enum": list(KINDS), "description": "Loại đơn vị."},
            "parent_code": {**nullable_string, "description": "Mã đơn vị cấp trên, nếu có."},
            "number": {
                **nullable_string, "pattern": r"^(\+84[0-9]{8,10}|[0-9]{3,8})$",
                "description": "Số để gọi: E.164 (+84…) hoặc các chữ số của số ngắn (1022, 02771022); null nếu chưa đăng ký.",
                "example": "+842773851234",
            },
            "display": {**nullable_string, "description": "Số viết theo cách thông thường ở Việt Nam.", "example": "0277 3851 234"},
            "extension": {**nullable_string, "pattern": r"^[0-9]{1,6}$", "example": "102",
                          "description": "Máy lẻ, bấm sau khi cuộc gọi được kết nối; null nếu không có."},
            "kind": {"type": "string", "nullable": True, "enum": NUMBER_KINDS + [None],
                     "description": "Loại số: cố định, di động, số ngắn, 1800, 1900."},
            "hours": {"type": "string", "nullable": True, "enum": list(HOURS) + [None],
                      "description": "Thời gian trực: 24/7 hoặc giờ hành chính (office)."},
            "shared": {"type": "boolean", "description": "Số được Văn phòng UBND xác nhận dùng chung với đơn vị khác."},
            "is_demo": {"type": "boolean", "description": "Số mẫu, không có thật (dữ liệu trình diễn)."},
            "updated_at": {**nullable_string, "format": "date-time", "description": "Lần cập nhật số gần nhất (UTC)."},
            "valid_from": {**nullable_string, "format": "date"},
            "valid_to": {**nullable_string, "format": "date"},
            "current": {"type": "boolean", "description": "Đơn vị đang còn hiệu lực hôm nay."},
        },
    }
    error_schema = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "Thông báo lỗi (tiếng Việt)."},
            "code": {"type": "string", "enum": ["invalid_parameter", "not_found", "throttled"]},
            "parameter": {"type": "string"},
        },
    }

    def error(description):
        return {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Đường dây nóng tỉnh Đồng Tháp",
            "version": "1.0.0",
            "description": "Danh bạ công khai: mỗi cơ quan, đơn vị, địa phương có duy nhất một số điện thoại đường dây "
                           "nóng. Chỉ đọc, không cần đăng nhập. / Public, read-only directory of the hotlines of "
                           "Đồng Tháp province's agencies and communes.",
        },
        "paths": {
            "/api/hotlines": {
                "get": {
                    "operationId": "listHotlines",
                    "summary": "Các đơn vị đang hoạt động và số đường dây nóng",
                    "parameters": [
                        {"name": "group", "in": "query", "required": False,
                         "description": "Chỉ các đơn vị của nhóm này.",
                         # The codes as they are when the document is served: inspectors can add groups.
                         "schema": {"type": "string", "enum": group_codes} if group_codes else {"type": "string"}},
                        {"name": "q", "in": "query", "required": False,
                         "description": "Tìm theo tên (không phân biệt dấu), mã đơn vị hoặc các chữ số của số điện thoại.",
                         "schema": {"type": "string", "maxLength": MAX_QUERY}},
                    ],
                    "responses": {
                        "200": {"description": "Danh sách, xếp theo nhóm rồi theo tên.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HotlineList"}}}},
                        "400": error("Tham số không hợp lệ (nhóm không có, chuỗi tìm kiếm quá dài)."),
                    },
                }
            },
            "/api/hotlines/{code}": {
                "get": {
                    "operationId": "getHotline",
                    "summary": "Một đơn vị theo mã (kể cả đơn vị đã hết hiệu lực)",
                    "parameters": [
                        {"name": "code", "in": "path", "required": True, "description": "Mã đơn vị.",
                         "schema": {"type": "string", "pattern": CODE_RE.pattern}},
                    ],
                    "responses": {
                        "200": {"description": "Đơn vị và số đường dây nóng.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hotline"}}}},
                        "400": error("Mã đơn vị không đúng dạng."),
                        "404": error("Không có đơn vị với mã này."),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "Tài liệu OpenAPI này",
                    "responses": {
                        "200": {"description": "Tài liệu OpenAPI 3.0.",
                                "content": {"application/json": {"schema": {"type": "object"}}}},
                    },
                }
            },
            **api_logbook.openapi_paths(),  # the logbook's public entries (Open311 GeoReport v2)
        },
        "components": {
            "schemas": {
                "Hotline": hotline_schema,
                "HotlineList": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["count", "hotlines"],
                    "properties": {
                        "count": {"type": "integer", "minimum": 0},
                        "hotlines": {"type": "array", "items": {"$ref": "#/components/schemas/Hotline"}},
                    },
                },
                "Error": error_schema,
                **api_logbook.openapi_schemas(),
            }
        },
    }

