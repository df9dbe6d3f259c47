"""Reconcile: settle an attempt whose fate is unknown by asking the provider. Never dials."""
from __future__ import annotations

import logging

from monitor.attempts import follow_ups, lifecycle
from monitor.attempts.ingest import ingest_event
from monitor.attempts.store import get_attempt, sid_free
from monitor.attempts.store import row as _row
from monitor.providers.base import ProviderTimeout, ProviderUnavailable

log = logging.getLogger(__name__)

LOST_BEFORE_DIALLING = "Mất trước khi quay số (nhà cung cấp không có cuộc gọi này): không tính cho đơn vị, sẽ gọi thay thế."
NO_FINAL_STATUS = "Nhà cung cấp không báo kết quả cuối cùng của cuộc gọi: không tính cho đơn vị, sẽ gọi thay thế."


def reconcile(db, attempt: dict, provider, now, settings: follow_ups.SettingsLike = None, *,
              config: follow_ups.SettingsLike = None) -> str:
    """Settle an attempt whose fate is unknown by asking the provider; returns the new state.

    For attempts stuck in dialing (expired lease) or unknown (create timed out), and for placed/ringing/answered
    ones that never got a final status. Found → placed (and its final status folded in, if any); not found →
    provider_error, never charged to the unit, with a replacement planned. Never dials.
    `config` is the former name of `settings` (a config mapping is still read, see follow_ups.settings_of).
    """
    settings = follow_ups.settings_of(settings, config)
    row = get_attempt(db, attempt["id"])
    if row["state"] in ("ended", "planned"):
        return row["state"]
    try:
        found = provider.find_call({**attempt, **row})
    except (ProviderTimeout, ProviderUnavailable) as exc:
        log.warning("reconcile of attempt %s postponed: %s", row["id"], exc)
        return row["state"]
    if found and found.get("sid") and not sid_free(db, found["sid"], row["id"]):
        found = None  # that call belongs to another attempt
    if found and found.get("sid"):
        lifecycle.mark_placed(db, row["id"], found["sid"], provider.name, now)
        status = found.get("status")
        if status:
            params = {"CallSid": found["sid"], "CallStatus": status}
            for key, name in (("duration", "CallDuration"), ("sip_code", "SipResponseCode"),
                              ("answered_by", "AnsweredBy"), ("timestamp", "Timestamp")):
                if found.get(key) not in (None, ""):
                    params[name] = str(found[key])
            ingest_event(db, row["id"], params, kind="reconcile", dedupe_key=f"reconcile:{found['sid']}:{status}",
                         now=now, settings=settings)
    elif row["state"] in ("dialing", "unknown"):
        lifecycle.finish(db, row["id"], "provider_error", LOST_BEFORE_DIALLING, now, settings=settings,
                         error=row["error"] or "reconcile: not found")
    else:
        lifecycle.finish(db, row["id"], "provider_error", NO_FINAL_STATUS, now, settings=settings,
                         error="reconcile: no final status")
    return _row(db, row["id"])["state"]


def explain_failure(db, attempt: dict, provider, now, settings: follow_ups.SettingsLike = None) -> str:
    """Ask the provider why a call that ended `failed` without a carrier SIP code failed, and fold its answer in.

    A `failed` status callback without SipResponseCode does not say whose failure it was: until the provider's
    record says a carrier answered 404/410/484/604, the call is our side (provider_error) and the registry is
    not flagged. The answer is stored as a reconcile event (SipResponseCode, ErrorCode, ErrorMessage; none when
    the provider recorded nothing), which re-classifies the call. Never dials.
    Returns 'explained', 'postponed' (the provider cannot be asked now) or 'skipped' (nothing to ask).
    """
    settings = follow_ups.settings_of(settings)
    row = get_attempt(db, attempt["id"])
    lookup = getattr(provider, "call_error", None)
    if lookup is None or not row["call_sid"] or row["call_status"] != "failed" or row["sip_code"] is not None:
        return "skipped"
    try:
        found = lookup(row["call_sid"]) or {}
    except (ProviderTimeout, ProviderUnavailable) as exc:
        log.warning("the error of failed call %s could not be fetched yet: %s", row["call_sid"], exc)
        return "postponed"
    params = {"CallSid": row["call_sid"], "CallStatus": "failed"}
    if found.get("sip_code"):
        params["SipResponseCode"] = str(found["sip_code"])
    if found.get("error_code"):
        params.update(ErrorCode=str(found["error_code"]), ErrorMessage=found.get("error_message") or "")
    ingest_event(db, row["id"], params, kind="reconcile", dedupe_key=f"error:{row['call_sid']}", now=now,
                 settings=settings)
    return "explained"
