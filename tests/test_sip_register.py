"""Registration (FLASK_SIP_REGISTER): our line registers at the trunk before calling, against SIPp registrars.

A registrar that accepts our digest credentials lets the call through; one that refuses them makes every call
end provider_error (our side, never the agency's) without any INVITE sent; without the setting, credentials
only answer the trunk's challenges and nothing registers.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from monitor import attempts
from monitor.attempts.outcomes import COUNTS_AGAINST
from monitor.providers import ProviderConfigError, make_provider
from monitor.providers import sip_signalling as sig
from monitor.scheduling import dispatch
from monitor.settings import Settings
from registry.clock import utcnow

from .fakes import ingesting_sink
from .sip_peer import SipPeer
from .test_sip_provider import sip_settings, wait_for

CREDENTIALS = {"SIP_USERNAME": "hotline", "SIP_PASSWORD": "mat-khau-trung-ke"}


def dial(app, db, units, peer, **extra) -> tuple[dict, str, list]:
    """One test call of SYT through a provider pointed at `peer`: (attempt row, what dispatch said, calls placed)."""
    settings = sip_settings(app, peer.target, PROVIDER_RETRY_LIMIT=0, **extra)
    provider = make_provider(settings, ingesting_sink(settings.database, now=utcnow, config=settings))
    try:
        now = utcnow()
        number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [units["SYT"]]).fetchone()[0]
        attempt_id = attempts.create_attempt(db, unit_id=units["SYT"], number=number, planned_at=now, band="office",
                                             now=now)
        [row] = dispatch.claim_due(db, now=now, owner="test", limit=1, lease_seconds=60, settings=settings,
                                   real_provider=True)
        said = dispatch.dial(db, provider, row, settings=settings)
        return wait_for(db, attempt_id), said, list(provider.placed)
    finally:
        provider.close()


def test_a_registered_line_calls_through(app, db, units):
    # The scenario's INVITE is busy only from a line registered with our user; unregistered it is refused (403).
    with SipPeer("registrar_accepts.xml", calls=2) as peer:
        row, said, placed = dial(app, db, units, peer, SIP_REGISTER=True, **CREDENTIALS)
    assert said == "placed" and len(placed) == 1
    assert (row["outcome"], row["sip_code"]) == ("busy", 486), row


def test_a_trunk_that_wants_registration_refuses_an_unregistered_line_as_our_side(app, db, units):
    with SipPeer("registrar_accepts.xml", calls=1) as peer:
        row, said, placed = dial(app, db, units, peer, **CREDENTIALS)  # SIP_REGISTER left off
    assert said == "placed" and (row["outcome"], row["sip_code"]) == ("provider_error", 403)


def test_a_refused_registration_is_our_side_and_nothing_is_dialled(app, db, units):
    with SipPeer("registrar_refuses.xml", calls=2) as peer:
        row, said, placed = dial(app, db, units, peer, SIP_REGISTER=True, **CREDENTIALS)
    assert said == "failed" and placed == []  # no INVITE: the scenario would have answered it busy
    assert row["state"] == "ended" and row["outcome"] == "provider_error"
    assert not COUNTS_AGAINST[row["outcome"]]
    assert "403" in row["error"] and "FLASK_SIP_USERNAME" in row["error"]
    assert row["sip_code"] is None  # the registrar's code is no carrier's answer about the hotline


def test_credentials_alone_register_nothing(app, db, units):
    # busy_486.xml answers an INVITE at once: a REGISTER first would be an unexpected message and fail it.
    with SipPeer("busy_486.xml") as peer:
        row, said, placed = dial(app, db, units, peer, **CREDENTIALS)
        assert peer.wait(timeout=5) == 0, peer.errors()
    assert (row["outcome"], row["sip_code"]) == ("busy", 486)


def _info(status=0, text="", configured=True, error=0):
    return SimpleNamespace(regIsConfigured=configured, regStatus=status, regStatusText=text, regLastErr=error)


@pytest.mark.parametrize("info, pending, refused", [
    (_info(configured=False), False, None),  # SIP_REGISTER off
    (_info(0), True, None),  # asked, no answer yet
    (_info(100, "Trying"), True, None),
    (_info(200, "OK"), False, None),
    (_info(403, "Forbidden"), False, "403 Forbidden"),
    (_info(401, "Unauthorized"), False, "401 Unauthorized"),
    (_info(408, "Request Timeout", error=70008), False, "408"),  # the registrar never answered
    (_info(0, "Transport error", error=120111), False, "Transport error"),
])
def test_what_a_registration_state_means(info, pending, refused):
    assert sig.registration_pending(info) is pending
    why = sig.registration_refusal(info)
    assert (why is None) == (refused is None)
    if refused:
        assert refused in why and "phía hệ thống" in why


def test_the_registrar_is_the_trunk():
    assert sig.registrar_uri("10.0.0.5", 5060, "udp") == "sip:10.0.0.5:5060"
    assert sig.registrar_uri("10.0.0.5", 5060, "tcp") == "sip:10.0.0.5:5060;transport=tcp"
    assert sig.registrar_uri("trunk.vn", 5061, "tls") == "sips:trunk.vn:5061;transport=tls"


def test_registering_without_a_user_name_is_refused_with_the_setting_named():
    settings = Settings.load({}, {"CALL_PROVIDER": "sip", "SIP_TARGET": "127.0.0.1:5060", "SIP_REGISTER": "1",
                                   "DATABASE": ":memory:"})
    with pytest.raises(ProviderConfigError) as refused:
        make_provider(settings, lambda *args: None)
    assert refused.value.field == "SIP_USERNAME" and "FLASK_SIP_USERNAME" in refused.value.message
