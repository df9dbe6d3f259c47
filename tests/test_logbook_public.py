"""The citizen's side of the logbook: the public lookup page, the rating, the Open311-style JSON API.

No personal data (name, phone, content) ever leaves in HTML or JSON; a wrong code and wrong digits get the same
answer; tries are throttled per receipt code and per address with a growing wait, never a lockout.
"""
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from registry import login_throttle
from registry.logbook import entries, public, transfers
from registry.web.access_log import redact

from .conftest import csrf_from

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in Đồng Tháp
NAME = "Nguyễn Văn Bí Mật"
PHONE = "0912 345 678"
CONTENT = "Nhà số 12 hẻm 5, con tôi bị từ chối hồ sơ; gọi lại cho tôi số 0987 654 321"
ANSWER = "Hồ sơ đã được tiếp nhận lại, đề nghị ông đến bộ phận một cửa ngày 15/3."
SECRETS = (NAME, "0912", "345 678", "345678", CONTENT[:20], "0987", "hẻm 5", "Cán bộ Trực")


@pytest.fixture
def entry(db, units):
    """An answered entry of SYT with every personal field filled."""
    row = entries.create(db, units["SYT"], {
        "received_at": NOW - timedelta(hours=1), "channel": "hotline", "reporter_name": NAME, "reporter_phone": PHONE,
        "field_code": "tthc", "content": CONTENT, "dossier_code": "HS-BI-MAT-01", "received_by": "Cán bộ Trực",
    }, user_id=None, now=NOW - timedelta(hours=1))
    entries.answer(db, row["id"], ANSWER, user_id=None, now=NOW)
    return row


def page_post(client, path, data):
    token = csrf_from(client.get("/lookup").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def lookup(client, code, digits):
    return page_post(client, "/lookup", {"receipt_code": code, "digits": digits})


def assert_no_personal_data(text: str):
    for secret in SECRETS + ("HS-BI-MAT-01",):
        assert secret not in text, secret


# ---------------------------------------------------------------------------------------------- the page


def test_the_directory_links_to_the_lookup(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/lookup"' in html


def test_the_right_keys_show_state_unit_field_deadline_and_answer_and_nothing_personal(client, entry):
    response = lookup(client, entry["receipt_code"].lower(), "5678")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert entry["receipt_code"] in html and "Sở Y tế" in html and "Thủ tục hành chính" in html
    assert "Đã trả lời" in html and ANSWER in html
    assert_no_personal_data(html)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_wrong_code_and_wrong_digits_get_the_same_neutral_answer(client, entry):
    wrong_digits = lookup(client, entry["receipt_code"], "1111")
    wrong_code = lookup(client, "SYT-990101-001", "5678")
    assert wrong_digits.status_code == wrong_code.status_code == 404

    def message(response):
        html = response.get_data(as_text=True)
        return html[html.index('class="errors-summary"'):html.index("</div>", html.index('class="errors-summary"'))]

    assert message(wrong_digits) == message(wrong_code)
    assert ANSWER not in wrong_digits.get_data(as_text=True)


def test_malformed_keys_are_told_by_field_and_cost_no_try(client, db, entry):
    response = lookup(client, "<script>", "12")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "4 chữ số" in html or "Mã phiếu" in html
    assert db.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 0


def test_the_entry_shows_the_chain_of_units_after_a_transfer_and_the_unit_handling_it_now(client, db, units):
    row = entries.create(db, units["SYT"], {"received_at": NOW, "channel": "hotline", "reporter_phone": PHONE,
                                            "field_code": "dat-dai", "content": CONTENT}, user_id=None, now=NOW)
    transfers.transfer(db, row["id"], units["XMA"], "Thuộc thẩm quyền của xã", user_id=None, now=NOW)
    html = lookup(client, row["receipt_code"], "5678").get_data(as_text=True)
    assert "UBND xã Mỹ An" in html and "Sở Y tế" in html and "Thuộc thẩm quyền" not in html
    view = public.view(row["receipt_code"], public.copies(db, row["receipt_code"]))
    assert view["unit_code"] == "XMA" and view["chain"] == ["Sở Y tế", "UBND xã Mỹ An"] and view["status"] == "open"


def test_an_anonymous_reporter_looks_up_with_the_code_given_to_them(client, db, units):
    row = entries.create(db, units["SYT"], {"received_at": NOW, "channel": "walk_in", "field_code": "khac",
                                            "content": "Không để lại số"}, user_id=None, now=NOW)
    assert len(row["lookup_digits"]) == 4
    assert lookup(client, row["receipt_code"], row["lookup_digits"]).status_code == 200


# ---------------------------------------------------------------------------------------------- throttle


def test_wrong_tries_at_one_code_make_every_further_try_wait_but_the_wait_is_bounded(db, entry):
    code = entry["receipt_code"]
    for k in range(public.CODE_FREE_TRIES):
        with pytest.raises(public.NotFound):
            public.find(db, code, f"{k:04d}", client=f"10.0.0.{k}", now=NOW)
    # from another address, even with the right digits: the code waits (no oracle, no brute force)
    with pytest.raises(public.LookupThrottled) as waited:
        public.find(db, code, "5678", client="10.9.9.9", now=NOW)
    assert 1 <= waited.value.retry_after <= login_throttle.MAX_DELAY.total_seconds()
    # the citizen is never locked out: once the wait has passed, the right digits work and clear the count
    later = NOW + login_throttle.MAX_DELAY
    assert public.find(db, code, "5678", client="10.9.9.9", now=later)["receipt_code"] == code
    assert public.find(db, code, "5678", client="10.9.9.9", now=later)["state"] == "answered"


def test_one_address_guessing_at_many_codes_is_slowed(db, entry):
    for k in range(public.CLIENT_FREE_TRIES):
        with pytest.raises(public.NotFound):
            public.find(db, f"SYT-990101-{k:03d}", "0000", client="10.1.1.1", now=NOW)
    with pytest.raises(public.LookupThrottled):
        public.find(db, entry["receipt_code"], "5678", client="10.1.1.1", now=NOW)
    assert public.find(db, entry["receipt_code"], "5678", client="10.2.2.2", now=NOW)  # others are not held


def test_a_throttled_page_answers_429_with_retry_after(client, entry, monkeypatch):
    monkeypatch.setattr(public, "CODE_FREE_TRIES", 1)
    lookup(client, entry["receipt_code"], "0000")
    response = lookup(client, entry["receipt_code"], "5678")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert ANSWER not in response.get_data(as_text=True)


def test_the_throttle_counts_the_address_behind_a_trusted_proxy_not_the_proxy(app, entry, monkeypatch):
    from monitor.app import create_app  # the proxy setting is read when the app is built

    monkeypatch.setattr(public, "CLIENT_FREE_TRIES", 2)
    rebuilt = create_app({**{k: app.config[k] for k in ("DATABASE", "SECRET_KEY")}, "TESTING": True,
                          "SESSION_COOKIE_SECURE": False, "TRUSTED_PROXIES": "127.0.0.1/32"})
    client = rebuilt.test_client()
    for k in range(2):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        assert lookup(client, f"SYT-990101-00{k}", "0000").status_code == 404
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    assert lookup(client, entry["receipt_code"], "5678").status_code == 429
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.9"  # another citizen behind the same proxy
    assert lookup(client, entry["receipt_code"], "5678").status_code == 200


# ---------------------------------------------------------------------------------------------- rating


def test_the_citizen_rates_the_answer_once_on_the_same_page(client, db, entry):
    html = lookup(client, entry["receipt_code"], "5678").get_data(as_text=True)
    assert 'action="/lookup/rate"' in html
    response = page_post(client, "/lookup/rate", {"code": entry["receipt_code"], "key": "5678", "rating": "4"})
    assert response.status_code == 200 and "4/5" in response.get_data(as_text=True)
    again = page_post(client, "/lookup/rate", {"code": entry["receipt_code"], "key": "5678", "rating": "1"})
    assert again.status_code == 409
    assert db.execute("SELECT rating FROM logbook_entries WHERE id = ?", [entry["id"]]).fetchone()[0] == 4
    assert 'action="/lookup/rate"' not in lookup(client, entry["receipt_code"], "5678").get_data(as_text=True)


def test_rating_needs_the_keys_and_an_answer(client, db, units, entry):
    wrong = page_post(client, "/lookup/rate", {"code": entry["receipt_code"], "key": "0000", "rating": "0"})
    assert wrong.status_code == 404 and ANSWER not in wrong.get_data(as_text=True)
    bad = page_post(client, "/lookup/rate", {"code": entry["receipt_code"], "key": "5678", "rating": "9"})
    assert bad.status_code == 400 and 'action="/lookup/rate"' in bad.get_data(as_text=True)  # choose again
    open_entry = entries.create(db, units["SYT"], {"received_at": NOW, "channel": "hotline", "reporter_phone": PHONE,
                                                   "field_code": "khac", "content": "x"}, user_id=None, now=NOW)
    early = page_post(client, "/lookup/rate", {"code": open_entry["receipt_code"], "key": "5678", "rating": "5"})
    assert early.status_code == 409
    assert db.execute("SELECT count(*) FROM logbook_entries WHERE rating IS NOT NULL").fetchone()[0] == 0


def test_two_ratings_at_once_store_one(app, db, entry):
    from registry.db import connect

    results = []

    def rate(stars):
        conn = connect(app.config["DATABASE"])
        try:
            public.rate(conn, entry["receipt_code"], "5678", stars, client="10.0.0.1", now=NOW)
            results.append("ok")
        except public.UserError as exc:
            results.append(exc.code)
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=rate, args=(s,)) for s in (2, 3, 4, 5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["already_rated"] * 3 + ["ok"]


# ---------------------------------------------------------------------------------------------- the API


def test_the_single_request_has_open311_fields_and_no_personal_data(client, entry):
    response = client.get(f"/api/v1/requests/{entry['receipt_code']}.json?lookup_digits=5678")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    (body,) = response.get_json()
    assert body["service_request_id"] == entry["receipt_code"]
    assert body["status"] == "closed" and body["detailed_status"] == "answered"
    assert body["status_notes"] == ANSWER and body["service_code"] == "tthc"
    assert body["agency_responsible"] == "Sở Y tế" and body["agency_chain"] == ["Sở Y tế"]
    assert body["expected_datetime"].startswith(entry["deadline"]) and body["expected_datetime"].endswith("+07:00")
    assert body["requested_datetime"].endswith("Z")
    assert_no_personal_data(response.get_data(as_text=True))


def test_the_single_request_refuses_wrong_keys_with_one_answer(client, entry):
    code = entry["receipt_code"]
    wrong_digits = client.get(f"/api/v1/requests/{code}.json?lookup_digits=1111")
    wrong_code = client.get("/api/v1/requests/SYT-990101-001.json?lookup_digits=5678")
    assert wrong_digits.status_code == wrong_code.status_code == 404
    assert wrong_digits.get_json() == wrong_code.get_json()
    missing = client.get(f"/api/v1/requests/{code}.json")
    assert missing.status_code == 400 and missing.get_json()["parameter"] == "lookup_digits"


def test_the_list_is_anonymous_filtered_and_bounded(client, db, units, entry):
    entries.create(db, units["XMA"], {"received_at": NOW, "channel": "hotline", "reporter_phone": PHONE,
                                      "field_code": "an-ninh", "content": CONTENT}, user_id=None, now=NOW)
    body = client.get("/api/v1/requests.json?start_date=2026-03-01&end_date=2026-03-31")
    assert body.status_code == 200
    rows = body.get_json()
    assert {r["agency_code"] for r in rows} == {"SYT", "XMA"}
    assert all("service_request_id" not in r and "status_notes" not in r for r in rows)
    assert_no_personal_data(body.get_data(as_text=True))
    assert entry["receipt_code"] not in body.get_data(as_text=True)
    closed = client.get("/api/v1/requests.json?start_date=2026-03-01&end_date=2026-03-31&status=closed").get_json()
    assert [r["agency_code"] for r in closed] == ["SYT"]
    assert client.get("/api/v1/requests.json?start_date=2026-04-01&end_date=2026-04-30").get_json() == []
    for query, parameter in (("start_date=2026-13-01", "start_date"), ("status=lost", "status"),
                             ("start_date=9999-12-31&end_date=2026-03-31", "start_date"),
                             ("end_date=1999-12-31", "end_date")):
        refused = client.get(f"/api/v1/requests.json?{query}")
        assert refused.status_code == 400 and refused.get_json()["parameter"] == parameter, query
    # a range wider than MAX_LIST_DAYS is cut to the days ending at end_date; a reversed range is empty
    assert client.get("/api/v1/requests.json?start_date=2025-01-01&end_date=2026-03-31").get_json() == rows
    assert client.get("/api/v1/requests.json?start_date=2025-01-01&end_date=2025-12-31").get_json() == []
    assert client.get("/api/v1/requests.json?start_date=2026-03-31&end_date=2026-03-01").get_json() == []


def test_the_list_is_throttled_per_address(client, entry, monkeypatch):
    monkeypatch.setattr(public, "LIST_FREE_CALLS", 3)
    statuses = [client.get("/api/v1/requests.json").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429


def test_the_openapi_document_describes_the_logbook_calls(client):
    doc = client.get("/api/openapi.json").get_json()
    assert {"/api/v1/requests.json", "/api/v1/requests/{receipt_code}.json"} <= set(doc["paths"])
    schema = doc["components"]["schemas"]["ServiceRequest"]
    assert {"service_request_id", "status", "status_notes", "service_code", "agency_responsible",
            "expected_datetime"} <= set(schema["properties"])
    # every $ref points at a schema that exists
    refs = {part.split("/")[-1] for part in json.dumps(doc).split('"$ref": "')[1:] for part in [part.split('"')[0]]}
    assert refs <= set(doc["components"]["schemas"])


def test_the_access_log_hides_the_lookup_digits():
    line = '"GET /api/v1/requests/SYT-260310-001.json?lookup_digits=5678 HTTP/1.1" 200'
    assert "5678" not in redact(line)


# ---------------------------------------------------------------------------------------------- in a browser


@pytest.mark.slow
def test_a_citizen_looks_up_the_entry_from_the_directory_and_rates_the_answer(app, db, entry):
    """Real Chromium: the directory's link, a wrong try (the neutral message), the right keys, the rating; the
    result page passes axe-core's WCAG 2.1 AA rules and shows no personal data."""
    playwright = pytest.importorskip("playwright.sync_api")
    from .live import CHROMIUM_ARGS, LiveServer, chromium_path, watch_problems
    from .test_accessibility import RUN_AXE, WCAG_TAGS, axe_source

    with LiveServer(app) as live, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="vi-VN")
            context.set_default_timeout(15_000)
            context.add_init_script(script=axe_source())
            page = context.new_page()
            problems = watch_problems(page)
            page.goto(live.url + "/")
            page.get_by_role("link", name="Tra cứu phiếu phản ánh").click()
            page.fill("#receipt_code", entry["receipt_code"])
            page.fill("#digits", "1234")
            page.get_by_role("button", name="Tra cứu", exact=True).click()
            assert "Không tìm thấy phiếu" in page.inner_text(".errors-summary")
            page.fill("#receipt_code", entry["receipt_code"].lower())
            page.fill("#digits", "5678")
            page.get_by_role("button", name="Tra cứu", exact=True).click()
            assert page.inner_text("#entry-state") == "Đã trả lời"
            assert page.inner_text("#entry-unit") == "Sở Y tế"
            assert ANSWER in page.inner_text("#entry-answer")
            assert_no_personal_data(page.content())
            assert page.evaluate(RUN_AXE, WCAG_TAGS) == []
            page.get_by_label("4 — Hài lòng").check()
            page.get_by_role("button", name="Gửi đánh giá").click()
            assert "Cảm ơn bạn đã đánh giá." in page.inner_text("main")
            assert page.inner_text("#entry-rating") == "4/5"
            assert page.get_by_role("button", name="Gửi đánh giá").count() == 0
            assert page.evaluate(RUN_AXE, WCAG_TAGS) == []
            assert problems == []
        finally:
            browser.close()
    assert db.execute("SELECT rating FROM logbook_entries WHERE id = ?", [entry["id"]]).fetchone()[0] == 4
