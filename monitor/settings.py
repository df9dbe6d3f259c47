"""Settings: every configurable value, its type, default and meaning, parsed once into one typed object.

Values come from FLASK_-prefixed environment variables (FLASK_CALLS_PER_SECOND=2), then from the mapping a
caller passes (tests, create_app(test_config)). A wrong value stops start-up with one line that names the
variable and says what it must be; nothing downstream re-checks or restates a default.

Domain functions take the Settings object (`settings.retest_delay_minutes`); the web app keeps it in
`app.extensions["settings"]` and mirrors it into `app.config` under the upper-case names for Flask.
"""
from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from registry.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ("simulator", "twilio", "sip")
SIP_TRANSPORTS = ("udp", "tcp", "tls")
PREFIX = "FLASK_"
SIMULATED_CALLER = "+842776000000"  # fictional (0277 is Đồng Tháp's area code): nobody is dialled from it


class SettingsError(UserError):
    """A setting with a value the system cannot run with; .message names the variable."""


_AS_DEFAULT = object()


def _spec(default, doc: str, *, kind: str = "", minimum: float | None = None, above: float | None = None,
          choices: tuple = (), empty=_AS_DEFAULT):
    """One setting's default and meaning; minimum (inclusive) or above (exclusive) bound a number;
    `empty` is what an empty value stands for (the default unless said otherwise)."""
    return field(default=default, metadata={"doc": doc, "kind": kind, "minimum": minimum, "above": above,
                                            "choices": choices, "empty": empty})


@dataclass(frozen=True)
class Settings:
    # --- storage and identity
    database: str = _spec(str(ROOT / "instance" / "hotline.db"), "the SQLite file both processes share")
    secret_key: str = _spec("", "signs sessions and salts the plan; generated into instance/ for the demo only")
    public_base_url: str = _spec("http://127.0.0.1:5000", "the public URL providers call back; signatures are checked against it",
                                 empty="")  # set but empty: twilio refuses to start rather than call back to localhost
    trusted_proxies: str = _spec("", "the reverse proxies in front of the web app whose X-Forwarded-For is believed: "
                                     "a number of hops (1: the TLS proxy of the deployment guide) or their addresses "
                                     "or networks separated by commas; empty: none, the connecting address is the "
                                     "client's (login throttling counts per address)")
    # --- which provider places the calls
    call_provider: str = _spec("simulator", "simulator (nothing is dialled), twilio, or sip (the province's "
                                            "own trunk or PBX, docs/SIP.md)", choices=PROVIDERS)
    twilio_api_base_url: str = _spec("https://api.twilio.com", "any Twilio-compatible API")
    twilio_account_sid: str = _spec("", "Twilio account SID (secret: from the environment only)")
    twilio_auth_token: str = _spec("", "Twilio auth token; also checks the webhooks' signatures")
    twilio_from_number: str = _spec("", "the caller number test calls come from (E.164)")
    twilio_voice: str = _spec("Google.vi-VN-Standard-A", "the text-to-speech voice of the spoken prompts")
    twilio_record: bool = _spec(False, "record calls, through Twilio or SIP (a spoken Vietnamese notice is played first)")
    twilio_http_timeout: float = _spec(10.0, "seconds before a request to the provider's API counts as timed out", minimum=0.1)
    twilio_webhook_shared_keys: str = _spec("", "webhook signing keys used instead of the auth token where a Twilio "
                                                "Webhook Rule says so: key_id=secret pairs separated by commas "
                                                "(two during a rotation; secret: from the environment only)")
    sip_target: str = _spec("", "sip: the trunk or PBX that takes our calls, host:port (the number goes in the "
                                "request URI as dialled domestically: 0277…, 1022)")
    sip_username: str = _spec("", "sip: digest-authentication user, when the trunk challenges our calls")
    sip_password: str = _spec("", "sip: digest-authentication password (secret: from the environment only)")
    sip_register: bool = _spec(False, "sip: register SIP_USERNAME at SIP_TARGET before calling (a trunk that only "
                                      "challenges our calls needs no registration); a refused registration ends "
                                      "the calls provider_error, our side")
    sip_caller_id: str = _spec("", "sip: the caller number our calls show (the trunk's own line, as dialled "
                                   "domestically, e.g. 02773851000)")
    sip_transport: str = _spec("udp", "sip: udp, tcp or tls towards the trunk", choices=SIP_TRANSPORTS)
    sip_tls_ca_file: str = _spec("", "sip over tls: PEM file of the CA(s) that signed the trunk's certificate (empty: "
                                     "the system's bundle, /etc/ssl/certs/ca-certificates.crt); a trunk whose "
                                     "certificate does not chain to it or name SIP_TARGET's host gets no call")
    sip_listen_seconds: float = _spec(10.0, "sip: how long an answered test call listens once our question has been "
                                            "said (CALL_TIME_LIMIT_SECONDS still caps the call)", minimum=0)
    sip_transcribe_command: str = _spec("", "sip: a command run after each answered test call with the far end's 8 kHz "
                                            "WAV as last argument, whose output is the transcript (empty: none)")
    sip_response_timeout: float = _spec(8.0, "sip: a trunk that has not answered our INVITE at all within this many "
                                             "seconds is down (our side, provider_error)", above=0)
    sip_prompt_wav: str = _spec("", "sip: a WAV the province recorded, played as the test call's question instead of "
                                    "the question spoken by espeak-ng's Vietnamese voice (any PCM WAV; converted to "
                                    "8 kHz mono)")
    simulator_speed: float = _spec(1.0, "simulated calls' waiting compressed by this factor (the demo uses 5)", above=0)
    simulator_fail_rate: float = _spec(0.0, "fraction of simulated create requests refused as unavailable (fault tests)", minimum=0)
    # --- one test call
    ring_timeout: int = _spec(30, "seconds of ringing before a call counts as not answered", minimum=1)
    call_time_limit_seconds: int = _spec(120, "a test call is hung up by the provider after this many seconds (cost)",
                                         minimum=10)
    # The two delays may be negative: a follow-up is then due at once however late the call's events came
    # (the process tests use that); there is no other reading of a negative delay to protect.
    retest_delay_minutes: float = _spec(60.0, "a failure is confirmed by a retest this many minutes later")
    replace_delay_minutes: float = _spec(15.0, "a test lost on our side (provider_error) is replaced this much later")
    max_replacements: int = _spec(3, "... at most this many times in a row", minimum=0)
    # --- dialling limits (0, or set but empty, means no limit)
    calls_per_second: float = _spec(1.0, "create requests per second to the provider (0: no limit)", minimum=0, empty=0)
    max_concurrent_calls: int = _spec(2, "calls in progress at once (0: no limit)", minimum=0, empty=0)
    calls_per_line_per_hour: int = _spec(20, "calls from our caller line per hour (0: no limit)", minimum=0, empty=0)
    calls_per_line_per_day: int = _spec(200, "calls from our caller line per day (0: no limit)", minimum=0, empty=0)
    min_gap_minutes: float = _spec(120.0, "least time between two calls to one number (0: no gap)", minimum=0, empty=0)
    # --- planning
    tests_per_week: Any = _spec(None, "overrides groups.tests_per_week: a number, or JSON mapping group code → number", kind="tests")
    demo_mode: bool = _spec(False, "with the simulator: faster calls and one test per unit in the first minute; with "
                                   "CALL_PROVIDER=sip and no SIP_TARGET, the same against SIPp playing a province "
                                   "on this machine (sipp/province.xml)")
    demo_time_scale: float = _spec(1.0, "demo mode: its story (rounds of tests, retests, alert checks) runs this many "
                                        "times faster; at 1 all of it is on screen within about 10 minutes", above=0)
    adaptive_planning: bool = _spec(True, "spend the week's tests where they can change a verdict: fewer for units "
                                          "whose answer-rate interval lies clearly above or below the standard, "
                                          "more for uncertain ones, never more than the groups' total")
    min_tests_per_week: int = _spec(0, "adaptive planning: the fewest tests a week for a unit whose verdict is "
                                       "settled (never above its group's number)", minimum=0, empty=0)
    mean_tests_clear: float = _spec(1.0, "adaptive planning: a settled unit gets a random number of tests each week, "
                                         "from MIN_TESTS_PER_WEEK to 2 × this − MIN_TESTS_PER_WEEK (0, 1 or 2 by "
                                         "default), so it never knows its week is done; each calendar month it "
                                         "still gets its group's min_tests", minimum=0)
    max_tests_per_week: int = _spec(0, "adaptive planning plans at most this many tests a week for a unit "
                                       "(0: twice its group's number)", minimum=0, empty=0)
    # --- the scheduler's own housekeeping
    lease_seconds: float = _spec(120.0, "a claimed attempt not placed within this is reconciled (its dispatcher died)", minimum=1)
    recover_seconds: float = _spec(30.0, "how often the scheduler settles expired leases, unknown creates and stale calls", minimum=1)
    reconcile_after_seconds: float = _spec(60.0, "a create that timed out is looked up at the provider after this long", minimum=0)
    stale_call_seconds: float = _spec(900.0, "a placed call with no final status after this long is looked up", minimum=1)
    provider_retry_limit: int = _spec(5, "create requests refused as unavailable before the test ends as provider_error", minimum=0)
    provider_retry_backoff_seconds: float = _spec(30.0, "first back-off after an unavailable provider, doubling each time", minimum=0)
    dispatch_workers: int = _spec(4, "create requests in flight at once to a network provider (0: one at a time, "
                                     "in the dispatch loop)", minimum=0)
    # --- alerts
    alert_after_failures: int = _spec(3, "confirmed failures in a row before the inspectors are alerted (0: never; "
                                         "failed alerts are still retried)", minimum=0)
    alerts_per_unit_per_day: int = _spec(1, "alert e-mails per unit per day at most", minimum=0)
    alert_check_minutes: float = _spec(5.0, "how often the scheduler looks for runs of confirmed failures", minimum=0.1)
    alerts_per_run: int = _spec(20, "alert e-mails per check, all units together (the rest are recorded suppressed)", minimum=0)
    smtp_host: str = _spec("", "the mail relay; empty: alerts are recorded, not sent")
    smtp_port: int = _spec(25, "the mail relay's port", minimum=1)
    smtp_user: str = _spec("", "login at the mail relay, when it needs one")
    smtp_password: str = _spec("", "password at the mail relay (secret: from the environment only)")
    smtp_starttls: bool = _spec(False, "upgrade the mail connection with STARTTLS")
    mail_from: str = _spec("duongdaynong@localhost", "the sender of alert e-mails")
    inspector_emails: str = _spec("", "who receives alerts: addresses separated by commas or spaces")
    mail_catcher_dir: str = _spec("", "where the demo's local mail catcher (`monitor mail-catcher`) keeps what it "
                                      "receives; empty: a demo-mail folder beside the database")
    # --- the province
    province_area_code: str = _spec("277", "the province's landline area code without its 0 (Đồng Tháp: 277); a "
                                           "hotline under another area code is saved with a warning")
    # --- reports
    report_min_answer_rate: float = _spec(0.9, "below this answer rate a unit has not met the requirement", minimum=0)
    report_trend_periods: int = _spec(6, "periods in the report's trend chart", minimum=1)
    report_signer_name: str = _spec("", "printed under the signature block of the official report")
    report_dispute_days: int = _spec(15, "days a unit is given to contest its calls, stated in its evidence file", minimum=1)
    # --- the logbook cross-check (monitor/logbook/): was each answered test call written in the unit's book?
    logbook_match_window_minutes: float = _spec(30.0, "an entry matches a test call when it was received within this "
                                                      "many minutes before or after the call", minimum=0)
    logbook_late_hours: float = _spec(24.0, "an entry written more than this many hours after its test call counts "
                                            "as logged late", minimum=0)
    logbook_caller_lines: str = _spec("", "other caller numbers test calls came or come from (rotated or former "
                                          "lines), separated by commas; TWILIO_FROM_NUMBER and the simulator's line "
                                          "always count")
    logbook_phone_retention_days: int = _spec(365, "a reporter's name and phone are erased from the logbook this many "
                                                   "days after the report was answered (registry/logbook/retention.py)",
                                              minimum=1)
    # --- the customer-care calls (monitor/surveys/): citizens' numbers are personal data
    survey_retention_days: int = _spec(180, "a dossier's applicant name and phone number are erased this many days "
                                            "after it was returned (the daily erasure job); answers stay, anonymous",
                                       minimum=1)
    survey_no_repeat_days: int = _spec(90, "a citizen called within this many days (or still waiting in an open case) "
                                           "is left out of a new sample", minimum=0)
    survey_call_hours: str = _spec("08:00-11:30,13:30-20:00", "local hours citizens may be called: HH:MM-HH:MM "
                                                              "ranges separated by commas")
    # --- the 1022 survey's results and alerts (monitor/surveys/results.py, answer_alerts.py)
    survey_min_completes: int = _spec(10, "completed interviews a unit needs in the period to be ranked in the "
                                          "surveys' league table (fewer: \"chưa đủ dữ liệu\")", minimum=1)
    survey_open_logbook_entry: bool = _spec(True, "a survey answer reporting a problem (or a rating of 1 on the civil "
                                                  "servant) also opens an anonymous entry in the unit's logbook")

    # ------------------------------------------------------------------------------------------ reading

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Settings from FLASK_* variables of `environ` (os.environ by default), then `overrides` on top.

        Both may name a setting in upper case (RING_TIMEOUT); keys that are not settings are ignored (Flask's
        own configuration shares the prefix). Raises SettingsError naming the first wrong variable.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            key = spec.name.upper()
            if PREFIX + key in environ:
                values[spec.name] = _parse(spec, environ[PREFIX + key], PREFIX + key)
        for key, raw in (overrides or {}).items():
            name = str(key).lower()
            spec = _FIELDS.get(name)
            if spec is not None:
                values[name] = _parse(spec, raw, PREFIX + name.upper())
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Rules that involve more than one value."""
        if any(not key or not secret for key, secret in self._shared_key_pairs()):
            raise SettingsError(f"{PREFIX}TWILIO_WEBHOOK_SHARED_KEYS: phải là các cặp mã_khóa=bí_mật, cách nhau bởi dấu phẩy.",
                                field="TWILIO_WEBHOOK_SHARED_KEYS")
        self.trusted_proxy_hops()  # raises SettingsError naming TRUSTED_PROXIES
        if self.simulator_fail_rate > 1:
            raise SettingsError(f"{PREFIX}SIMULATOR_FAIL_RATE={self.simulator_fail_rate}: phải từ 0 đến 1.",
                                field="SIMULATOR_FAIL_RATE")
        if self.report_min_answer_rate > 1:
            raise SettingsError(f"{PREFIX}REPORT_MIN_ANSWER_RATE={self.report_min_answer_rate}: phải từ 0 đến 1.",
                                field="REPORT_MIN_ANSWER_RATE")
        self.survey_call_windows()  # raises SettingsError naming SURVEY_CALL_HOURS
        if not re.fullmatch(r"0?2\d{1,2}", self.province_area_code):
            raise SettingsError(f"{PREFIX}PROVINCE_AREA_CODE={self.province_area_code!r}: phải là mã vùng điện thoại cố "
                                "định, ví dụ 277.", field="PROVINCE_AREA_CODE")

    def with_values(self, **changes) -> Settings:
        """A copy with some values changed (the scheduler's demo speed-up, tests), checked like load()'s."""
        values = {}
        for name, raw in changes.items():
            spec = _FIELDS.get(name)
            if spec is None:
                raise TypeError(f"Settings has no field {name!r}")
            values[name] = _parse(spec, raw, PREFIX + name.upper())
        settings = replace(self, **values)
        settings.check()
        return settings

    def as_config(self) -> dict[str, Any]:
        """The settings under their upper-case names, for Flask's app.config."""
        return {spec.name.upper(): getattr(self, spec.name) for spec in fields(self)}

    @property
    def simulated(self) -> bool:
        return self.call_provider == "simulator"

    @property
    def simulator_from_number(self) -> str:
        """The caller number simulated calls show: TWILIO_FROM_NUMBER, or a fictional one of the province."""
        return self.twilio_from_number or SIMULATED_CALLER

    @property
    def mail_catcher_folder(self) -> Path:
        """The folder the demo's mail catcher writes to and its page reads."""
        return Path(self.mail_catcher_dir) if self.mail_catcher_dir else Path(self.database).parent / "demo-mail"

    @property
    def sip_demo_province(self) -> bool:
        """Demo mode over SIP: no trunk given, so the scheduler dials SIPp's province on this machine."""
        return self.demo_mode and self.call_provider == "sip" and not self.sip_target

    @property
    def demo_active(self) -> bool:
        """Demo mode applies only with the simulator or the SIP demo's own province: a real provider or trunk is
        never sped up or seeded."""
        return self.demo_mode and (self.simulated or self.sip_demo_province)

    def tests_per_week_for(self, group_code: str, group_default: int) -> int:
        """N for a group: TESTS_PER_WEEK (a number, or a mapping group → number) wins over the group's own."""
        override = self.tests_per_week
        if isinstance(override, dict):
            return int(override.get(group_code, group_default))
        return group_default if override is None else int(override)

    def trusted_proxy_hops(self) -> int | tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """TRUSTED_PROXIES as a number of hops (0: trust none) or as the proxies' networks."""
        text = self.trusted_proxies.strip()
        if not text:
            return 0
        if text.isdigit():
            return int(text)
        try:
            return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
        except ValueError:
            raise SettingsError(f"{PREFIX}TRUSTED_PROXIES={text!r}: phải là số proxy (ví dụ 1) hoặc các địa chỉ IP "
                                "của proxy, cách nhau bởi dấu phẩy.", field="TRUSTED_PROXIES") from None

    def survey_call_windows(self) -> list[tuple[str, str]]:
        """SURVEY_CALL_HOURS as ("08:00", "11:30") pairs, each start before its end."""
        windows = []
        for part in self.survey_call_hours.split(","):
            match = re.fullmatch(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*", part)
            start, end = (f"{match[1]}:{match[2]}", f"{match[3]}:{match[4]}") if match else ("", "")
            if not match or not start < end <= "24:00":
                raise SettingsError(f"{PREFIX}SURVEY_CALL_HOURS={self.survey_call_hours!r}: phải là các khoảng giờ "
                                    "GG:PP-GG:PP cách nhau bởi dấu phẩy, ví dụ 08:00-11:30,13:30-20:00.",
                                    field="SURVEY_CALL_HOURS")
            windows.append((start, end))
        return windows

    def _shared_key_pairs(self) -> list[tuple[str, str]]:
        pairs = [part.strip().partition("=") for part in self.twilio_webhook_shared_keys.split(",") if part.strip()]
        return [(key.strip(), secret.strip()) for key, _, secret in pairs]

    def webhook_shared_keys(self) -> dict[str, str]:
        """Twilio webhook signing keys: key id (as in X-Twilio-Webhooks-Signature-Settings) → secret."""
        return dict(self._shared_key_pairs())

    def inspector_addresses(self) -> list[str]:
        return [a for a in self.inspector_emails.replace(";", ",").replace(",", " ").split() if a]


_FIELDS = {spec.name: spec for spec in fields(Settings)}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _parse(spec, raw, variable: str):
    """One value, from text (the environment) or already typed (a test's mapping, with_values).

    An empty value (unset in a .env file, None in a mapping) stands for the default, or for the field's
    `empty` value where it has one (a limit: no limit).
    """
    meta = spec.metadata
    kind = meta.get("kind") or spec.type
    if raw is None or (isinstance(raw, str) and not raw.strip()):  # a switch that is on by default stays on
        return spec.default if meta.get("empty", _AS_DEFAULT) is _AS_DEFAULT else meta["empty"]
    try:
        if kind == "tests":
            value = _tests_per_week(raw)
        elif kind == "bool":
            value = _boolean(raw)
        elif kind in ("int", "float"):
            if isinstance(raw, bool):
                raise ValueError(raw)
            number = float(raw)
            if not math.isfinite(number) or (kind == "int" and number != int(number)):
                raise ValueError(raw)
            value = int(number) if kind == "int" else number
        else:
            value = str(raw).strip()
    except (TypeError, ValueError, OverflowError):
        raise SettingsError(f"{variable}={raw!r}: {_expected(kind)}.", field=spec.name.upper()) from None
    if meta.get("minimum") is not None and value < meta["minimum"]:
        raise SettingsError(f"{variable}={raw!r}: không được nhỏ hơn {meta['minimum']:g}.", field=spec.name.upper())
    if meta.get("above") is not None and value <= meta["above"]:
        raise SettingsError(f"{variable}={raw!r}: phải lớn hơn {meta['above']:g}.", field=spec.name.upper())
    if meta.get("choices"):
        value = value.lower()
        if value not in meta["choices"]:
            raise SettingsError(f"{variable}={raw!r}: phải là một trong {', '.join(meta['choices'])}.",
                                field=spec.name.upper())
    return value


def _expected(kind: str) -> str:
    return {
        "int": "phải là số nguyên (ví dụ 3)",
        "float": "phải là số (ví dụ 1.5)",
        "bool": "phải là true hoặc false",
        "tests": "phải là số nguyên hoặc JSON {\"mã nhóm\": số}",
    }.get(kind, "giá trị không hợp lệ")


def _boolean(raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(raw)


def _tests_per_week(raw):
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        mapping = raw
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        mapping = int(raw)
    else:
        parsed = json.loads(str(raw))
        mapping = parsed
    if isinstance(mapping, dict):
        out = {str(k): int(v) for k, v in mapping.items()}
        if any(v < 0 for v in out.values()):
            raise ValueError(raw)
        return out
    if isinstance(mapping, bool) or not isinstance(mapping, (int, float)) or mapping < 0 or mapping != int(mapping):
        raise ValueError(raw)
    return int(mapping)


def describe() -> list[tuple[str, Any, str]]:
    """(variable, default, meaning) for every setting: the README's configuration table is made from this."""
    return [(PREFIX + spec.name.upper(), spec.default, spec.metadata["doc"]) for spec in fields(Settings)]
