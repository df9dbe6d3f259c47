"""Provider callbacks (Twilio-compatible), authenticated by X-Twilio-Signature.

The signature is checked against the PUBLIC URL Twilio called (PUBLIC_BASE_URL + path + exact query), not
request.url, so it works behind a TLS-terminating proxy. Every way an account can sign is accepted (auth token,
a Webhook Rule's SharedKey with HMAC-SHA1/SHA256, a JSON body with bodySHA256; see
twilio_provider.valid_signature). Unsigned or forged → 403 and nothing stored; unknown attempt → 404. Each callback is one short transaction: store once by its dedupe key, fold, reply.
"""
import threading
from functools import wraps

from flask import Blueprint, Response, abort, request

from monitor.attempts import AttemptError, ingest_event
from monitor.attempts.store import exists as attempt_exists
from monitor.providers import gather_twiml, survey_twiml, valid_signature, voice_twiml
from monitor.surveys import calls as survey_calls
from monitor.surveys import keypad
from monitor.web import settings
from registry.clock import utcnow
from registry.db import connect

bp = Blueprint("webhooks", __name__, url_prefix="/hooks")
_local = threading.local()


def callback_db():
    """This thread's database connection, kept from one callback to the next.

    An exception to one-connection-per-request, for the busiest path only: opening the SQLite file costs more
    than the callback's whole write. Every write here is a complete transaction, so nothing leaks between
    requests; a changed DATABASE (tests) closes the old connection.
    """
    path = settings().database
    cached = getattr(_local, "db", None)
    if cached is not None and cached[0] == path:
        return cached[1]
    if cached is not None:
        cached[1].conn.close()
    db = connect(path)
    _local.db = (path, db)
    return db


def public_url() -> str:
    """The URL Twilio signed: the configured public base plus the path and query exactly as received."""
    path = request.full_path
    if path.endswith("?") and not request.query_string:
        path = path[:-1]
    return settings().public_base_url.rstrip("/") + path


def _json_body() -> bool:
    return request.mimetype == "application/json"


def callback_params() -> dict:
    """The callback's parameters: the form, or a JSON body's top-level fields (as text, like a form's)."""
    if not _json_body():
        return request.form.to_dict()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return {str(k): "" if v is None else str(v) for k, v in body.items()}


def signed(view):
    """Refuse (403) any request whose X-Twilio-Signature does not match."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        ok = valid_signature(
            settings().twilio_auth_token,
            public_url(),
            request.get_data(as_text=True) if _json_body() else request.form,
            request.headers.get("X-Twilio-Signature", ""),
            request.headers.get("X-Twilio-Webhooks-Signature-Settings"),
            settings().webhook_shared_keys(),
        )
        if not ok:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _ingest(attempt_id: int, kind: str, fallback_key: str | None, extra: dict | None = None) -> bool:
    params = callback_params()
    if not params.get("CallSid"):
        abort(400)
    params.update(extra or {})
    key = request.headers.get("I-Twilio-Idempotency-Token") or fallback_key
    try:
        return ingest_event(callback_db(), attempt_id, params, kind=kind, dedupe_key=key, now=utcnow(),
                            settings=settings())
    except AttemptError:
        abort(404)


def _twiml(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


@bp.post("/twilio/status/<int:attempt_id>")
@signed
def status(attempt_id):
    form = callback_params()
    sequence = form.get("SequenceNumber")
    key = f"{form.get('CallSid')}:{sequence}" if sequence not in (None, "") else f"{form.get('CallSid')}:{form.get('CallStatus')}"
    _ingest(attempt_id, "status", key)
    return "", 204


@bp.post("/twilio/amd/<int:attempt_id>")
@signed
def amd(attempt_id):
    _ingest(attempt_id, "amd", f"amd:{callback_params().get('CallSid')}")
    return "", 204


@bp.post("/twilio/recording/<int:attempt_id>")
@signed
def recording(attempt_id):
    form = callback_params()
    _ingest(attempt_id, "recording", f"rec:{form.get('CallSid')}:{form.get('RecordingSid', '')}")
    return "", 204


@bp.post("/twilio/gather/<int:attempt_id>")
@signed
def gather(attempt_id):
    if request.args.get("survey"):
        return _survey_step(attempt_id, request.args.get("step", ""))
    step = "greeting" if request.args.get("step") == "greeting" else "answer"
    _ingest(attempt_id, "gather", f"gather:{callback_params().get('CallSid')}:{step}", {"GatherStep": step})
    return _twiml(gather_twiml(settings(), attempt_id, step))


@bp.post("/twilio/voice/<int:attempt_id>")
@signed
def voice(attempt_id):
    if not attempt_exists(callback_db(), attempt_id):
        abort(404)
    script = survey_calls.script(callback_db(), attempt_id)
    if script is not None:  # an automated survey call: the introduction, then the consent
        first = keypad.next_question(script["questions"], None)
        return _twiml(survey_twiml(settings(), attempt_id, [keypad.intro(script["unit_name"])], _ask(first, True)))
    return _twiml(voice_twiml(settings(), attempt_id))


def _ask(question, first: bool = False) -> dict | None:
    if question is None:
        return None
    return {"step": question["key"], "kind": question["kind"], "prompt": keypad.prompt(question), "first": first}


def _survey_step(attempt_id: int, step: str) -> Response:
    """One answer of an automated survey call: stored once (keyed by call and question), then the next question,
    or the closing words. A step that is not a question of this call's questionnaire is refused (404)."""
    script = survey_calls.script(callback_db(), attempt_id)
    if script is None or step not in {q["key"] for q in keypad.asked(script["questions"])}:
        abort(404)
    _ingest(attempt_id, "gather", f"survey:{callback_params().get('CallSid')}:{step}", {"SurveyStep": step})
    digits = (callback_params().get("Digits") or "").strip()
    following = keypad.next_question(script["questions"], step, digits)
    if following is not None:
        return _twiml(survey_twiml(settings(), attempt_id, [], _ask(following)))
    return _twiml(survey_twiml(settings(), attempt_id, [keypad.closing(step, digits)], None))
