"""What a call's stored provider events show: times, status, AMD, transcript, SIP code… (a pure function).

Why any order of duplicated events gives the same final row: every event is stored once (UNIQUE dedupe_key),
and each new event re-derives the call's evidence from the whole set of stored events — never from the order
they came in. Later evidence (an AMD result or a transcript arriving after 'completed') therefore
re-classifies the call.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from monitor.attempts.outcomes import FINAL_STATUSES
from monitor.attempts.store import RANK
from monitor.providers.sip_signalling import diverted_from
from registry.clock import iso, parse_iso

STATUS_RANK = {"queued": 3, "initiated": 3, "ringing": 4, "in-progress": 5, "answered": 5}
STATUS_RANK.update({status: 6 for status in FINAL_STATUSES})
GATHER_STEPS = {"greeting": 0, "answer": 1}


def _provider_time(event: dict) -> datetime | None:
    """The event's own Timestamp (RFC 2822, whole seconds) as the provider stamped it, None if absent or unreadable."""
    stamp = event["params"].get("Timestamp")
    if stamp:
        try:
            return parse_iso(iso(parsedate_to_datetime(stamp)))
        except (TypeError, ValueError, IndexError):
            pass
    return None


def _event_time(event: dict) -> datetime:
    """When the event happened: its Twilio Timestamp (RFC 2822) if readable, else when we received it."""
    return _provider_time(event) or parse_iso(event["received_at"])


def _inbound(params: dict) -> bool:
    """True for a call that came in to us: ForwardedFrom is documented for incoming calls only."""
    return params.get("Direction", "").startswith("inbound")


def _status_order(event: dict):
    """Deterministic order of status evidence: provider callbacks before our own reconcile reads."""
    seq = event["sequence"] if event["sequence"] is not None else -1
    return (event["kind"] != "status", -seq, event["dedupe_key"])


def fold_events(row: dict, events: list[dict]) -> dict:
    """The attempt's evidence columns derived from its stored events (a pure function of the set).

    Besides columns, the result holds "_final": whether a final call status is among the events.
    """
    for event in events:
        if "params" not in event:
            event["params"] = json.loads(event["payload"])
    status_events = sorted((e for e in events if e["kind"] in ("status", "reconcile", "sim") and e["call_status"]),
                           key=_status_order)
    rank = row["state_rank"]
    first, stamped = {}, {}  # stamped: the same, from the provider's own Timestamps only
    for event in status_events:
        status = event["call_status"]
        rank = max(rank, STATUS_RANK.get(status, 0))
        when = _event_time(event)
        key = "answered" if status in ("in-progress", "answered") else status
        if key not in first or when < first[key]:
            first[key] = when
        own = _provider_time(event)
        if own is not None and (key not in stamped or own < stamped[key]):
            stamped[key] = own
    amd = sorted((e for e in events if e["kind"] == "amd"), key=lambda e: e["dedupe_key"])
    gathers = sorted((e for e in events if e["kind"] == "gather"),
                     key=lambda e: (GATHER_STEPS.get(e["params"].get("GatherStep", ""), 2), e["dedupe_key"]))
    recordings = sorted((e for e in events if e["kind"] == "recording"), key=lambda e: e["dedupe_key"])
    if amd or gathers or recordings:
        rank = max(rank, RANK["answered"])  # these only exist for a call that was picked up

    out = {"state_rank": rank}
    if row["call_sid"] is None:
        sids = [e["params"].get("CallSid") for e in status_events + amd + gathers if e["params"].get("CallSid")]
        out["call_sid"] = sids[0] if sids else None
    placed = first.get("initiated") or first.get("queued")
    out["placed_at"] = row["placed_at"] or (iso(placed) if placed else None)
    out["ringing_at"] = iso(first["ringing"]) if "ringing" in first else None
    answered_at = first.get("answered")

    finals = [e for e in status_events if e["call_status"] in FINAL_STATUSES]
    final = finals[0] if finals else None
    signalled = [e["params"] for e in status_events]
    sip = next((p["SipResponseCode"] for p in ([final["params"]] if final else []) + signalled
                if p.get("SipResponseCode", "").isdigit()), None)
    q850 = next((p["Q850Cause"] for p in signalled if p.get("Q850Cause", "").isdigit()), None)
    out["sip_code"] = int(sip) if sip else row["sip_code"]
    out["q850_cause"] = int(q850) if q850 else row["q850_cause"]
    # On our outbound test calls ForwardedFrom is no evidence of a redirect (Twilio documents it for incoming calls);
    # a SIP call's Diversion / History-Info headers are: the line that diverted it (sip_signalling.diverted_from).
    forwarded = [p["ForwardedFrom"] for p in signalled if p.get("ForwardedFrom") and _inbound(p)]
    forwarded += [diverted_from(p["Diversion"], p.get("To", "")) for p in signalled
                  if p.get("CallbackSource") == "sip" and p.get("Diversion")]
    out["forwarded_from"] = next((number for number in forwarded if number), row["forwarded_from"])
    errors = [p for p in signalled if p.get("ErrorCode")]
    if errors:  # why the provider says the call failed (reconcile.explain_failure asks it)
        out["error"] = f"{errors[0]['ErrorCode']}: {errors[0].get('ErrorMessage', '')}".strip()
    if final:
        ended_at = _event_time(final)
        duration = final["params"].get("CallDuration", "")
        out["call_status"] = final["call_status"]
        out["ended_at"] = iso(ended_at)
        out["duration_seconds"] = int(duration) if duration.isdigit() else None
        if answered_at is None and final["call_status"] == "completed" and duration.isdigit():
            answered_at = ended_at - timedelta(seconds=int(duration))
    out["answered_at"] = iso(answered_at) if answered_at else None
    answered_by = [e["params"].get("AnsweredBy") for e in amd] + [p.get("AnsweredBy") for p in signalled]
    out["answered_by"] = next((a for a in answered_by if a), row["answered_by"])
    heard = [e["params"].get("SpeechResult", "").strip() for e in gathers]
    heard = [text for text in heard if text]
    out["transcript"] = " | ".join(heard) if heard else row["transcript"]
    confidences = [float(e["params"]["Confidence"]) for e in gathers
                   if re.fullmatch(r"\d+(\.\d+)?", e["params"].get("Confidence", ""))]
    out["speech_confidence"] = min(confidences) if confidences else row["speech_confidence"]
    urls = [e["params"].get("RecordingUrl") for e in recordings
            if e["params"].get("RecordingStatus", "completed") == "completed"]
    urls += [p.get("RecordingUrl") for p in signalled]
    out["recording_url"] = next((u for u in urls if u), row["recording_url"])
    # Seconds to answer: whole seconds between the provider's own ringing and answer Timestamps (they have
    # one-second resolution); empty when no ringing was reported, as there is then no honest figure.
    answered_own = stamped.get("answered")
    if answered_own is None and final and final["call_status"] == "completed" and _provider_time(final):
        duration = final["params"].get("CallDuration", "")
        if duration.isdigit():
            answered_own = _provider_time(final) - timedelta(seconds=int(duration))
    ringing_own = stamped.get("ringing")
    if ringing_own is not None and answered_own is not None:
        out["answer_seconds"] = max(0, round((answered_own - ringing_own).total_seconds()))
    else:
        out["answer_seconds"] = None
    out["_final"] = final is not None
    return out
