"""Diversion / History-Info: a hotline that forwards our call to another line, seen in SIP signalling.

The headers (on a 181 or the final response) are kept on the call's final event; the line that diverted the
call becomes the attempt's forwarded_from, and a diverted call nobody answered is `redirected` (the hotline sends
callers elsewhere), while one answered on the other line stays answered, its forwarding shown on the page.
"""
from __future__ import annotations

import pytest

from monitor.attempts.outcomes import classify
from monitor.providers import sip_signalling as sig

from .conftest import login
from .test_sip_provider import call_through

DIALLED = "+842773851234"  # SYT's hotline in the units fixture


def test_diverted_then_busy_is_redirected(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "diverted_486.xml")
    assert exit_code == 0, errors
    assert (row["outcome"], row["sip_code"], row["outcome_certain"]) == ("redirected", 486, 1)
    assert row["forwarded_from"] == "02773851234" and "chuyển tiếp" in row["outcome_detail"]


def test_forwarded_to_a_mobile_nobody_answers_is_redirected(app, db, units, client, inspector):
    row, final, exit_code, errors = call_through(app, db, units, "history_info_480.xml")
    assert exit_code == 0, errors
    assert "0912000111" in final["Diversion"]
    assert (row["outcome"], row["sip_code"], row["forwarded_from"]) == ("redirected", 480, "02773851234")
    login(client, inspector["email"], inspector["password"])
    page = client.get(f"/monitor/attempts/{row['id']}").get_data(as_text=True)
    assert "02773851234" in page and "480" in page


def test_forwarded_and_answered_stays_answered(app, db, units):
    row, final, exit_code, errors = call_through(app, db, units, "diverted_answer.xml")
    assert exit_code == 0, errors
    assert (row["outcome"], row["sip_code"]) == ("answered", 200)
    assert row["forwarded_from"] == "02773851234"  # shown on the evidence page as "Chuyển tiếp từ"


@pytest.mark.parametrize("evidence, expected", [
    ("", None),
    ("History-Info: <sip:02773851234@10.0.0.1>;index=1", None),  # the dialled line only: not diverted
    ("History-Info: <sip:02773851234@h>;index=1, <sip:0912000111@h>;index=1.1", "02773851234"),
    ("Diversion: <sip:02773851234@h>;reason=unconditional;counter=1", "02773851234"),
    # Most recent first (RFC 5806): the last Diversion entry is where the diverting began.
    ("Diversion: <tel:+84912000111>;reason=user-busy, <sip:+842773851234@h>;reason=no-answer", "02773851234"),
    ("Diversion: <sip:0912000111@h>;reason=user-busy | History-Info: <sip:0277@h>;index=1", "0912000111"),
])
def test_which_line_diverted_the_call(evidence, expected):
    assert sig.diverted_from(evidence, DIALLED) == expected


@pytest.mark.parametrize("status, sip, outcome", [
    ("busy", 486, "redirected"), ("no-answer", 487, "redirected"), ("failed", 404, "redirected"),
    ("failed", 503, "provider_error"),  # our trunk's failure stays ours, diverted or not
    ("failed", None, "provider_error"),  # no code from the far end: nothing says where the call went
    ("completed", 200, "answered"),
])
def test_a_diversion_changes_the_outcome_only_of_an_unanswered_call(status, sip, outcome):
    attempt = {"call_status": status, "sip_code": sip, "provider": "sip", "forwarded_from": "02773851234",
               "duration_seconds": 5 if status == "completed" else 0}
    assert classify(attempt, DIALLED).outcome == outcome
    # The same evidence from another provider is ForwardedFrom, which outbound calls never count.
    assert classify({**attempt, "provider": "twilio"}, DIALLED).outcome != "redirected"
