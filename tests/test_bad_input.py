"""No 500 on bad input: a crawler walks every URL rule of the app with hostile values for each path argument,
query parameter and form field, as each kind of visitor, and a server error is never the answer.

Which query parameters and form fields a route reads is learnt, not listed: the request's argument and form
dictionaries record every key a view asks for, and each key asked for is then tried with every hostile value.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from monitor.alerts import check_alerts
from monitor.attempts import create_attempt, get_attempt
from monitor.settings import Settings

from . import test_security_matrix as matrix
from .conftest import change_settings, csrf_from
from .report_fixtures import failure_with_retest
from .test_security_matrix import ANON, EDITOR_X, INSPECTOR, NOW, OPERATOR
from .twilio_double import callback_script, signed_post

# The security matrix's world (units X and Y, their editors, an inspector, an ended call each, a dispute) and
# its signed-in clients per role, reused as fixtures.
world, as_role = matrix.world, matrix.as_role

ROLES = (ANON, EDITOR_X, INSPECTOR, OPERATOR)
RAW = "raw:"  # a value written into the URL as it is (already percent-encoded)
HOSTILE = [
    "99999999999999999999", "-99999999999999999999", "-1", "0", "1e30", "NaN",
    "0001-01-01", "9999-12-31", "0001-01", "9999-12", "0001-Q1", "9999-Q4",
    "a\r\nb", "x" * 10_240, RAW + "%ff%fe%C0%AF", RAW + "%00",
]
# A few values for the quick run, all keys at once (the slow run tries every value on every key alone too).
QUICK = ["99999999999999999999", "-1", "0001-01-01", "9999-12-31", "a\r\nb", "x" * 10_240, RAW + "%ff%fe"]
SKIP = {"static"}
# Keys tried on every route besides those it is seen to read: views that pass the whole query string on read
# none of them by name.
ALWAYS = {"code", "page", "from", "to", "month", "next", "_external"}


class Recording(ImmutableMultiDict):
    """Request arguments (or form) that remember every key a view asked for."""

    asked: set[str] = set()

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's name)
        Recording.asked.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        Recording.asked.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002
        Recording.asked.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        Recording.asked.add(key)
        return super().__contains__(key)


def _encode(value: str) -> str:
    return value[len(RAW):] if value.startswith(RAW) else quote(value, safe="")


def _path(rule, world, override: dict | None = None) -> str:
    """The rule's path with valid values (unit X, its ended attempt, Y's dispute), some overridden (encoded)."""
    valid = {"code": "SYT", "attempt_id": str(world["ids"]["ax"]), "dispute_id": str(world["ids"]["dy"]),
             "fmt": "csv", "token": "khong-hop-le", "filename": "app.css"}
    values = {arg: quote(valid.get(arg, "x"), safe="") for arg in rule.arguments}
    values.update(override or {})
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)


_TOKENS: dict[int, str] = {}


def _send(client, method, url, form=None):
    if method == "GET":
        return client.get(url)
    body = dict(form or {})
    if id(client) not in _TOKENS:  # one token per signed-in session (fetched before any recording starts)
        _TOKENS[id(client)] = csrf_from(client.get("/login").get_data(as_text=True))
    body["csrf_token"] = _TOKENS[id(client)]
    return client.open(url, method=method, data=body)


ACTIONS = ("number", "contact", "details", "shared", "flag", "invite")  # the unit page's forms, by `action`


def _learn(attempt, role, method, url):
    """The query keys a GET reads; for a POST also the form fields it reads, per `action` when it asks for one."""
    Recording.asked = set()
    attempt(role, method, url, form={} if method != "GET" else None)
    keys = Recording.asked - {"csrf_token"}
    if method == "GET":
        return keys, {}
    form_keys = {"": keys}
    if "action" in keys:
        for action in ACTIONS:
            Recording.asked = set()
            attempt(role, method, url, form={"action": action})
            form_keys[action] = Recording.asked - {"csrf_token", "action"}
    return keys, form_keys


def _crawl(app, as_role, world, values, *, each_key: bool = True) -> list:
    """Every (role, method, url, field) that answered 5xx or raised, with what happened.

    each_key: each query key and form field on its own too (the slow run), not only all of them at once.
    """
    for role in ROLES:
        _send(as_role(role), "POST", "/lang/vi")  # fetches each session's CSRF token before any recording
    app.request_class.parameter_storage_class = Recording
    failures = []

    def attempt(role, method, url, form=None, field=None):
        try:
            response = _send(as_role(role), method, url, form)
        except Exception as exc:  # noqa: BLE001 (the crawler reports every crash)
            failures.append((role, method, url[:120], field, repr(exc)[:300]))
            return None
        if response.status_code >= 500:
            failures.append((role, method, url[:120], field, response.status_code))
        return response

    try:
        for rule in app.url_map.iter_rules():
            if rule.endpoint in SKIP:
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for role in ROLES:
                    if rule.endpoint == "auth.logout" and role != ANON:
                        continue  # it would end the session the rest of the crawl needs
                    # each path argument with each hostile value
                    for arg in rule.arguments:
                        for value in values:
                            attempt(role, method, _path(rule, world, {arg: _encode(value)}), field=arg)
                    # learn which query keys (and form fields) the view reads, then try each with each value
                    url = _path(rule, world)
                    keys, form_keys = _learn(attempt, role, method, url)
                    for value in values:
                        for key in sorted(keys | ALWAYS) if each_key else ():
                            attempt(role, method, url + "?" + quote(key) + "=" + _encode(value), field=key)
                        # every key at once (a page of a filtered list), and a date range: from=…&to=…
                        query = "&".join(quote(key) + "=" + _encode(value) for key in sorted(keys | ALWAYS))
                        attempt(role, method, url + "?" + query, field="*")
                        attempt(role, method, url + f"?from={_encode(value)}&to={_encode(value)}", field="from+to")
                    for action, fields in form_keys.items():
                        base = {"action": action} if action else {}
                        for value in values:
                            text = value[len(RAW):] if value.startswith(RAW) else value
                            attempt(role, method, url, form={**base, **{f: text for f in fields}}, field=f"{action}:*")
                            for field in sorted(fields) if each_key else ():
                                attempt(role, method, url, form={**base, field: text}, field=f"{action}:{field}")
    finally:
        app.request_class.parameter_storage_class = ImmutableMultiDict
    return failures


def test_the_crawler_sees_every_rule_and_learns_the_keys_a_view_reads(app, as_role, world):
    """Self-check: the recording dictionaries do see what the views ask for."""
    app.request_class.parameter_storage_class = Recording
    try:
        Recording.asked = set()
        as_role(INSPECTOR).get("/reports/attempts")
        assert {"month", "page", "unit"} <= Recording.asked
    finally:
        app.request_class.parameter_storage_class = ImmutableMultiDict
    assert isinstance(app.url_map.converters["int"](app.url_map), IntegerConverter)


def test_no_route_answers_a_server_error_to_hostile_values_quick(app, as_role, world):
    failures = _crawl(app, as_role, world, QUICK, each_key=False)
    assert not failures, "\n".join(map(str, failures[:60]))


@pytest.mark.slow
def test_no_route_answers_a_server_error_to_hostile_values(app, as_role, world):
    failures = _crawl(app, as_role, world, HOSTILE)
    assert not failures, "\n".join(map(str, failures[:60]))


# ------------------------------------------------------------------ each 500 the crawler found, by name


@pytest.mark.parametrize("url", ["/monitor/attempts/99999999999999999999", "/reports/disputes/99999999999999999999",
                                 "/reports/attempts/99999999999999999999/dispute"])
def test_an_id_beyond_64_bits_is_not_found(as_role, url):
    assert as_role(INSPECTOR).get(url).status_code == 404


def test_a_page_beyond_64_bits_is_an_empty_page_and_a_page_that_is_no_number_is_refused(as_role):
    client = as_role(INSPECTOR)
    assert client.get("/reports/attempts?month=2025-06&page=99999999999999999999").status_code == 200
    for page in ("1e30", "-1", "0", "x"):
        response = client.get(f"/reports/attempts?month=2025-06&page={page}")
        assert response.status_code == 400 and "Số trang" in response.get_data(as_text=True)
    assert client.get("/?page=99999999999999999999").status_code == 200
    assert client.get("/units?page=-1").status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("page", ["/reports/", "/reports/attempts", "/reports/units/SYT", "/reports/units/SYT/evidence.pdf",
                                  "/reports/export"])
def test_years_0001_and_9999_are_refused_with_a_message(as_role, page, day):
    response = as_role(INSPECTOR).get(f"{page}?from={day}&to={day}&format=csv")
    assert response.status_code == 400
    assert "Năm phải từ 2000 đến 2100" in response.get_data(as_text=True)


def test_my_results_pass_the_period_on_and_nothing_else(as_role):
    client = as_role(EDITOR_X)
    response = client.get("/reports/my?code=XMA&month=2025-06&_external=1&_anchor=x")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/units/SYT?month=2025-06"


# ------------------------------------------------------------------ alert e-mails: headers stay one line


def test_a_unit_name_with_a_line_break_neither_breaks_its_alert_nor_blocks_the_later_ones(db, units):
    sent = []
    settings = Settings.load({}, {"INSPECTOR_EMAILS": "thanhtra@vpubnd.test.vn", "ALERT_AFTER_FAILURES": 3,
                                  "ALERTS_PER_UNIT_PER_DAY": 5, "MAIL_FROM": "duongdaynong@vpubnd.test.vn"})
    db.execute("UPDATE units SET name = ? WHERE code = 'XMA'", ["UBND xã\r\nMỹ An\nBcc: ke-gian@evil.example"])
    for unit in ("XMA", "SYT"):
        for day in (16, 17, 18):
            failure_with_retest(db, units[unit], f"2025-06-{day} 09:00", "no_answer", "no_answer")
    # an alert stored earlier with a line break in its subject, waiting for its retry
    db.execute("INSERT INTO alerts (unit_id, kind, created_at, recipients, subject, body, status) VALUES "
               "(?, 'confirmed_failures', '2025-06-20T02:00:00.000Z', 'thanhtra@vpubnd.test.vn', ?, 'x', 'failed')",
               [units["XMA"], "Cũ\r\nBcc: ke-gian@evil.example"])
    counts = check_alerts(db, settings, now=NOW.replace(day=20), send=sent.append)
    assert counts["sent"] == 3 and counts["failed"] == 0
    subjects = [message["Subject"] for message in sent]
    assert not [s for s in subjects if "\r" in s or "\n" in s]
    assert subjects[0] == "Cũ Bcc: ke-gian@evil.example"  # the stored one, retried first, one line now
    assert any("Sở Y tế" in s for s in subjects) and any("UBND xã Mỹ An Bcc: ke-gian@evil.example" in s for s in subjects)
    assert all(message["Bcc"] is None for message in sent)


def test_a_message_the_mail_library_refuses_is_recorded_as_failed_and_the_next_alert_still_goes(db, units):
    sent = []
    for subject in ("first", "second"):
        db.execute("INSERT INTO alerts (unit_id, kind, created_at, recipients, subject, body, status) VALUES "
                   "(?, 'confirmed_failures', '2025-06-20T02:00:00.000Z', 'thanhtra@vpubnd.test.vn', ?, 'x', 'failed')",
                   [units["SYT"], subject])

    def send(message):
        if message["Subject"] == "first":
            raise ValueError("header refused")
        sent.append(message)

    counts = check_alerts(db, Settings.load({}, {"ALERT_AFTER_FAILURES": 0}), now=NOW.replace(day=20), send=send)
    assert (counts["failed"], counts["sent"]) == (1, 1) and [m["Subject"] for m in sent] == ["second"]
    statuses = db.execute("SELECT subject, status, error FROM alerts ORDER BY id").fetchall()
    assert [tuple(r)[:2] for r in statuses] == [("first", "failed"), ("second", "sent")] and statuses[0][2]


# ------------------------------------------------------------------ recording links: the provider's only


@pytest.mark.parametrize("url,kept", [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1", True),
    ("http://127.0.0.1:8999/2010-04-01/Accounts/AC1/Recordings/RE1", True),  # the configured API base
    ("https://evil.example/phish", False),
    ("https://api.twilio.com@evil.example/x", False),
    ("https://api.twilio.com.evil.example/x", False),
    ("javascript:alert(1)", False),
    ("http://api.twilio.com/2010-04-01/x", False),
    ("http://127.0.0.1:9000/x", False),
])
def test_only_the_providers_recording_links_are_stored(app, client, db, units, url, kept):
    change_settings(app, TWILIO_API_BASE_URL="http://127.0.0.1:8999")
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
    attempt_id = create_attempt(db, unit_id=units["SYT"], number=number, planned_at=NOW, band="office", now=NOW)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = 1 WHERE id = ?", [attempt_id])
    for kind, params, query in callback_script("answered_recorded", "CA" + "7" * 32, start=NOW):
        if "RecordingUrl" in params:
            params = {**params, "RecordingUrl": url}
        path = f"/hooks/twilio/{kind}/{attempt_id}" + (f"?{query}" if query else "")
        assert signed_post(client, path, params).status_code < 300
    assert get_attempt(db, attempt_id)["recording_url"] == (url if kept else None)
    payloads = " ".join(r[0] for r in db.execute("SELECT payload FROM call_events WHERE attempt_id = ?", [attempt_id]))
    assert ("RecordingUrlRefused" in payloads) is not kept  # noted with the event, never a link
    page = client.get(f"/monitor/attempts/{attempt_id}").get_data(as_text=True)
    assert f'href="{url}"' not in page or kept


# ------------------------------------------------------------------ text lengths: forms and domain alike


def test_a_too_long_unit_name_is_refused_with_a_message_and_changes_nothing(as_role, db):
    client = as_role(INSPECTOR)
    token = csrf_from(client.get("/units/SYT").get_data(as_text=True))
    response = client.post("/units/SYT", data={"action": "details", "name": "Sở " * 100, "kind": "department",
                                               "group_code": "A", "csrf_token": token})
    assert response.status_code == 400 and "Tối đa 200 ký tự." in response.get_data(as_text=True)
    assert db.execute("SELECT name FROM units WHERE code = 'SYT'").fetchone()[0] == "Sở Y tế"


@pytest.mark.parametrize("field,limit", [("name", 200), ("contact_name", 200), ("contact_email", 200), ("address", 300)])
def test_the_domain_refuses_text_longer_than_its_limit_whoever_calls_it(db, units, inspector, field, limit):
    from registry.errors import RegistryError
    from registry.units import update_unit

    value = ("a" * (limit - 9) + "@test.vn.x") if field == "contact_email" else "a" * (limit + 1)
    with pytest.raises(RegistryError) as refused:
        update_unit(db, units["SYT"], {field: value}, actor=inspector)
    assert refused.value.field == field and str(limit) in refused.value.message


def test_a_review_reason_over_2000_characters_is_refused_and_nothing_is_recorded(as_role, db, world):
    client = as_role(INSPECTOR)
    url = f"/monitor/attempts/{world['ids']['ay']}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"outcome": "answered", "reason": "x" * 2001, "csrf_token": token})
    assert response.status_code == 400 and "Tối đa 2000 ký tự." in response.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM outcome_reviews").fetchone()[0] == 0
