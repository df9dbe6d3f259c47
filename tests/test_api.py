"""The read-only JSON API and its OpenAPI document: shapes, filters, JSON errors, and the document telling the truth."""
import copy
import json
import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from registry.demo import load_demo
from registry.hotlines import set_hotline
from registry.units import create_unit

FIELDS = {"code", "name", "group", "group_name", "unit_kind", "parent_code", "number", "display", "extension", "kind",
          "hours", "shared", "is_demo", "updated_at", "valid_from", "valid_to", "current"}


def to_json_schema(node, components):
    """An OpenAPI 3.0 schema as plain JSON Schema: $refs inlined, `nullable` turned into a null type."""
    if isinstance(node, list):
        return [to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {k: to_json_schema(v, components) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
    return out


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").get_json()


def response_schema(document, path, status):
    content = document["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]
    return to_json_schema(copy.deepcopy(content["schema"]), document["components"]["schemas"])


def check(document, path, response):
    """The response is JSON, its status is declared for the path, and its body matches the declared schema."""
    assert response.headers["Content-Type"].startswith("application/json")
    declared = document["paths"][path]["get"]["responses"]
    assert str(response.status_code) in declared, (path, response.status_code)
    errors = [e.message for e in jsonschema_rs.validator_for(response_schema(document, path, response.status_code))
              .iter_errors(response.get_json())]
    assert not errors, errors


# ---------------------------------------------------------------- shape and filters


def test_list_gives_each_current_unit_with_its_number_in_e164(client, units):
    body = client.get("/api/hotlines").get_json()
    assert body["count"] == 2 and len(body["hotlines"]) == 2
    syt = next(h for h in body["hotlines"] if h["code"] == "SYT")
    assert set(syt) == FIELDS
    assert {k: syt[k] for k in ("name", "group", "group_name", "number", "display", "kind", "hours", "shared",
                                "is_demo", "unit_kind", "current")} == {
        "name": "Sở Y tế", "group": "A", "group_name": "Cơ quan, đơn vị", "number": "+842773851234",
        "display": "0277 3851 234", "kind": "landline", "hours": "24/7", "shared": False, "is_demo": False,
        "unit_kind": "department", "current": True}
    assert syt["updated_at"].endswith("Z")


def test_short_numbers_are_given_as_dialled_digits_and_missing_numbers_as_null(client, db):
    set_hotline(db, create_unit(db, {"code": "TTPVHCC", "name": "Trung tâm Phục vụ hành chính công tỉnh"}),
                "0277 1022", actor=None)
    create_unit(db, {"code": "STC", "name": "Sở Tài chính"})
    by_code = {h["code"]: h for h in client.get("/api/hotlines").get_json()["hotlines"]}
    assert (by_code["TTPVHCC"]["number"], by_code["TTPVHCC"]["display"], by_code["TTPVHCC"]["kind"]) == (
        "02771022", "0277 1022", "short")
    assert {k: by_code["STC"][k] for k in ("number", "display", "kind", "hours", "updated_at")} == dict.fromkeys(
        ("number", "display", "kind", "hours", "updated_at"))


@pytest.mark.parametrize("params,codes", [
    ({"group": "C"}, ["XMA"]),
    ({"group": "B"}, []),
    ({"q": "so y te"}, ["SYT"]),
    ({"q": "MỸ AN"}, ["XMA"]),
    ({"q": "syt"}, ["SYT"]),
    ({"q": "345 678"}, ["XMA"]),
    ({"q": "y te", "group": "C"}, []),
    ({"q": ""}, ["SYT", "XMA"]),
])
def test_list_filters_by_group_and_by_search(client, units, params, codes):
    body = client.get("/api/hotlines", query_string=params).get_json()
    assert [h["code"] for h in body["hotlines"]] == codes and body["count"] == len(codes)


def test_a_unit_no_longer_current_is_left_out_of_the_list_but_can_be_read_by_code(client, db, units):
    create_unit(db, {"code": "H-LAIVUNG", "name": "UBND huyện Lai Vung", "group_code": "B", "valid_to": "2025-06-30"})
    assert "H-LAIVUNG" not in [h["code"] for h in client.get("/api/hotlines").get_json()["hotlines"]]
    one = client.get("/api/hotlines/H-LAIVUNG").get_json()
    assert (one["current"], one["valid_to"], one["number"]) == (False, "2025-06-30", None)


def test_one_unit_by_code(client, units):
    response = client.get("/api/hotlines/XMA")
    assert response.status_code == 200
    assert response.get_json()["display"] == "0912 345 678"
    assert "Mỹ An" in response.get_data(as_text=True)  # Vietnamese kept readable, not \\u-escaped


@pytest.mark.parametrize("path,status,parameter", [
    ("/api/hotlines?group=Z", 400, "group"),
    ("/api/hotlines?group=", 400, "group"),
    ("/api/hotlines?q=" + "x" * 101, 400, "q"),
    ("/api/hotlines/m%C3%A3%20sai", 400, "code"),
    ("/api/hotlines/a/b", 400, "code"),
    ("/api/hotlines/NOPE", 404, None),
])
def test_bad_parameters_and_unknown_codes_get_json_errors(client, units, path, status, parameter):
    response = client.get(path)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] and body.get("parameter") == parameter


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_api_is_read_only(client, units, method):
    response = getattr(client, method)("/api/hotlines")
    assert response.status_code in (400, 405)  # 400: the CSRF guard answers first for unsigned form posts
    assert response.get_json()["error"]


# ---------------------------------------------------------------- the OpenAPI document


def test_openapi_document_describes_exactly_the_api_routes(app, document):
    assert document["openapi"] == "3.0.3" and document["info"]["title"]
    api_rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
                 if rule.rule.startswith("/api/")}
    assert set(document["paths"]) == api_rules
    for item in document["paths"].values():
        assert set(item) == {"get"}
        for response in item["get"]["responses"].values():
            assert response["description"]


def test_openapi_lists_the_group_codes_as_they_are(client, db):
    from registry.groups import create_group

    create_group(db, {"code": "D", "name": "Ngành dọc"})
    document = client.get("/api/openapi.json").get_json()
    group = document["paths"]["/api/hotlines"]["get"]["parameters"][0]
    assert group["name"] == "group" and group["schema"]["enum"] == ["A", "B", "C", "D"]


@pytest.mark.slow
def test_openapi_document_loads_in_schemathesis_without_errors(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the document's own path; the others are what it fuzzes
    assert sorted(op.path for op in operations) == ["/api/hotlines", "/api/hotlines/{code}", "/api/v1/requests.json",
                                                    "/api/v1/requests/{receipt_code}.json"]


@pytest.mark.parametrize("url,path", [
    ("/api/hotlines", "/api/hotlines"),
    ("/api/hotlines?group=A&q=y", "/api/hotlines"),
    ("/api/hotlines?group=nope", "/api/hotlines"),
    ("/api/hotlines/SYT", "/api/hotlines/{code}"),
    ("/api/hotlines/TTPVHCC", "/api/hotlines/{code}"),
    ("/api/hotlines/H-LAIVUNG", "/api/hotlines/{code}"),
    ("/api/hotlines/KHONG-CO", "/api/hotlines/{code}"),
    ("/api/hotlines/bad%20code", "/api/hotlines/{code}"),
    ("/api/openapi.json", "/api/openapi.json"),
])
def test_responses_match_the_schema_the_document_declares(client, db, document, url, path):
    load_demo(db)
    check(document, path, client.get(url))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_no_response_that_breaks_the_document(app, db, mode):
    load_demo(db)  # shared numbers, short numbers, office hours, units no longer current
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def conforms(case):
            case.call_and_validate()

        conforms()


def test_example_values_in_the_document_are_valid_against_their_own_schemas(document):
    schemas = document["components"]["schemas"]
    for name, prop in schemas["Hotline"]["properties"].items():
        if "example" in prop:
            plain = to_json_schema(copy.deepcopy(prop), schemas)
            assert jsonschema_rs.is_valid(plain, prop["example"]), name
    assert json.dumps(document, ensure_ascii=False)  # serialisable as is
