"""Settings: every value parsed once from text, wrong ones refused with one line naming the variable.

The last tests start the real entry points (`import wsgi`, `flask --app wsgi routes`, `flask --app wsgi
monitor run`) with a wrong value in the environment: each must stop at once, exit non-zero and say so in
one line on stderr, without a traceback.
"""
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from monitor.settings import PREFIX, ROOT, Settings, SettingsError, describe

# One text value per setting, as it would come from the environment, and what it must parse to.
SAMPLES = {
    "database": ("/srv/hotline/hotline.db", "/srv/hotline/hotline.db"),
    "secret_key": ("  s3cret  ", "s3cret"),
    "public_base_url": ("https://hotline.example.vn", "https://hotline.example.vn"),
    "trusted_proxies": (" 1 ", "1"),
    "call_provider": ("Twilio", "twilio"),
    "twilio_api_base_url": ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    "twilio_account_sid": ("AC" + "1" * 32, "AC" + "1" * 32),
    "twilio_auth_token": ("token", "token"),
    "twilio_from_number": ("+15005550006", "+15005550006"),
    "twilio_voice": ("Polly.Joanna", "Polly.Joanna"),
    "twilio_record": ("true", True),
    "twilio_http_timeout": ("2.5", 2.5),
    "twilio_webhook_shared_keys": ("webhooks_sharedkey_a=s3cret, webhooks_sharedkey_b=n3w",
                                   "webhooks_sharedkey_a=s3cret, webhooks_sharedkey_b=n3w"),
    "sip_target": ("10.0.0.5:5060", "10.0.0.5:5060"),
    "sip_username": ("hotline", "hotline"),
    "sip_password": ("s3cret", "s3cret"),
    "sip_register": ("1", True),
    "sip_caller_id": ("02773851000", "02773851000"),
    "sip_transport": ("TCP", "tcp"),
    "sip_tls_ca_file": ("/etc/hotline/trunk-ca.pem", "/etc/hotline/trunk-ca.pem"),
    "sip_listen_seconds": ("4", 4.0),
    "sip_transcribe_command": ("whisper-cli -nt -l vi -m /srv/ggml-base.bin -f", "whisper-cli -nt -l vi -m /srv/ggml-base.bin -f"),
    "sip_response_timeout": ("2.5", 2.5),
    "sip_prompt_wav": ("/srv/hotline/cau-hoi.wav", "/srv/hotline/cau-hoi.wav"),
    "simulator_speed": ("0.001", 0.001),
    "simulator_fail_rate": ("0.2", 0.2),
    "ring_timeout": ("25", 25),
    "call_time_limit_seconds": ("90", 90),
    "retest_delay_minutes": ("-2", -2.0),
    "replace_delay_minutes": ("7.5", 7.5),
    "max_replacements": ("0", 0),
    "calls_per_second": ("15", 15.0),
    "max_concurrent_calls": ("0", 0),
    "calls_per_line_per_hour": ("10", 10),
    "calls_per_line_per_day": ("100", 100),
    "min_gap_minutes": ("30", 30.0),
    "tests_per_week": ('{"A": 2, "C": 1}', {"A": 2, "C": 1}),
    "demo_mode": ("yes", True),
    "demo_time_scale": ("5", 5.0),
    "adaptive_planning": ("off", False),
    "min_tests_per_week": ("3", 3),
    "mean_tests_clear": ("1.5", 1.5),
    "max_tests_per_week": ("8", 8),
    "lease_seconds": ("2", 2.0),
    "recover_seconds": ("1", 1.0),
    "reconcile_after_seconds": ("1", 1.0),
    "stale_call_seconds": ("3", 3.0),
    "provider_retry_limit": ("3", 3),
    "provider_retry_backoff_seconds": ("0.05", 0.05),
    "dispatch_workers": ("8", 8),
    "alert_after_failures": ("2", 2),
    "alerts_per_unit_per_day": ("4", 4),
    "alert_check_minutes": ("1", 1.0),
    "alerts_per_run": ("50", 50),
    "smtp_host": ("mail.example.vn", "mail.example.vn"),
    "smtp_port": ("587", 587),
    "smtp_user": ("alerts", "alerts"),
    "smtp_password": ("pw", "pw"),
    "smtp_starttls": ("on", True),
    "mail_from": ("duongdaynong@example.vn", "duongdaynong@example.vn"),
    "inspector_emails": ("a@x.vn, b@x.vn", "a@x.vn, b@x.vn"),
    "mail_catcher_dir": ("/tmp/mail", "/tmp/mail"),
    "report_min_answer_rate": ("0.8", 0.8),
    "report_trend_periods": ("12", 12),
    "report_signer_name": ("Nguyễn Văn An", "Nguyễn Văn An"),
    "report_dispute_days": ("10", 10),
    "logbook_match_window_minutes": ("45", 45.0),
    "logbook_late_hours": ("48", 48.0),
    "logbook_caller_lines": (" +842776000001 ", "+842776000001"),
    "logbook_phone_retention_days": ("730", 730),
    "survey_min_completes": ("5", 5),
    "survey_open_logbook_entry": ("false", False),
    "survey_retention_days": ("365", 365),
    "survey_no_repeat_days": ("30", 30),
    "survey_call_hours": (" 07:30-11:00, 14:00-19:30 ", "07:30-11:00, 14:00-19:30"),
    "province_area_code": ("0273", "0273"),
}


def variable(name: str) -> str:
    return PREFIX + name.upper()


def test_every_setting_has_a_sample_here():
    assert set(SAMPLES) == {spec.name for spec in fields(Settings)}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_setting_parses_from_the_text_of_its_environment_variable(name):
    text, expected = SAMPLES[name]
    settings = Settings.load({variable(name): text})
    assert getattr(settings, name) == expected
    assert type(getattr(settings, name)) is type(expected)


def test_all_settings_parse_together_from_one_environment():
    settings = Settings.load({variable(name): text for name, (text, _) in SAMPLES.items()})
    assert {name: getattr(settings, name) for name in SAMPLES} == {name: value for name, (_, value) in SAMPLES.items()}


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("calls_per_second", "abc", "phải là số"),
        ("calls_per_second", "-1", "không được nhỏ hơn 0"),
        ("calls_per_second", "nan", "phải là số"),
        ("min_gap_minutes", "inf", "phải là số"),
        ("max_concurrent_calls", "-1", "không được nhỏ hơn 0"),
        ("max_concurrent_calls", "2.5", "phải là số nguyên"),
        ("calls_per_line_per_hour", "many", "phải là số nguyên"),
        ("ring_timeout", "0", "không được nhỏ hơn 1"),
        ("ring_timeout", "1e999", "phải là số nguyên"),
        ("simulator_speed", "0", "phải lớn hơn 0"),
        ("simulator_fail_rate", "1.5", "phải từ 0 đến 1"),
        ("report_min_answer_rate", "90", "phải từ 0 đến 1"),
        ("twilio_record", "maybe", "phải là true hoặc false"),
        ("demo_mode", "2", "phải là true hoặc false"),
        ("call_provider", "foo", "phải là một trong simulator, twilio"),
        ("tests_per_week", "-1", "phải là số nguyên hoặc JSON"),
        ("tests_per_week", '{"A": "x"}', "phải là số nguyên hoặc JSON"),
        ("tests_per_week", "[1, 2]", "phải là số nguyên hoặc JSON"),
    ],
)
def test_a_wrong_value_is_refused_with_one_line_naming_the_variable(name, text, says):
    with pytest.raises(SettingsError) as exc:
        Settings.load({variable(name): text})
    message = exc.value.message
    assert message.startswith(variable(name) + "=") and says in message
    assert "\n" not in message
    assert exc.value.field == name.upper()


def test_a_wrong_value_in_a_mapping_is_refused_the_same_way():
    with pytest.raises(SettingsError) as exc:
        Settings.load({}, {"MAX_CONCURRENT_CALLS": -3})
    assert exc.value.message == "FLASK_MAX_CONCURRENT_CALLS=-3: không được nhỏ hơn 0."


def test_the_mapping_beats_the_environment_and_the_environment_beats_the_default():
    environ = {"FLASK_RING_TIMEOUT": "25", "FLASK_CALLS_PER_SECOND": "4"}
    settings = Settings.load(environ, {"RING_TIMEOUT": 40})
    assert settings.ring_timeout == 40 and settings.calls_per_second == 4.0
    assert settings.retest_delay_minutes == Settings().retest_delay_minutes


def test_keys_that_are_not_settings_are_left_to_flask():
    settings = Settings.load({"FLASK_APP": "wsgi", "FLASK_SESSION_COOKIE_SECURE": "false"}, {"TESTING": True})
    assert settings == Settings()


def test_an_empty_value_means_the_default_and_an_empty_limit_means_no_limit():
    environ = {variable(name): "" for name in SAMPLES}
    settings = Settings.load(environ)
    limits = {"calls_per_second", "max_concurrent_calls", "calls_per_line_per_hour", "calls_per_line_per_day",
              "min_gap_minutes"}
    for name in SAMPLES:
        if name in limits:
            assert getattr(settings, name) == 0, name
        elif name == "public_base_url":
            assert settings.public_base_url == ""  # twilio then refuses to start: no callback address
        else:
            assert getattr(settings, name) == getattr(Settings(), name), name


def test_with_values_checks_like_load():
    settings = Settings().with_values(ring_timeout="45", demo_mode="true")
    assert settings.ring_timeout == 45 and settings.demo_mode is True
    with pytest.raises(SettingsError):
        Settings().with_values(calls_per_second=-1)
    with pytest.raises(TypeError):
        Settings().with_values(no_such_setting=1)


def test_derived_values():
    assert Settings().demo_active is False
    assert Settings(demo_mode=True).demo_active is True
    assert Settings(demo_mode=True, call_provider="twilio").demo_active is False  # never speed up real calls
    assert Settings(tests_per_week={"A": 5}).tests_per_week_for("A", 3) == 5
    assert Settings(tests_per_week={"A": 5}).tests_per_week_for("C", 2) == 2
    assert Settings(tests_per_week=0).tests_per_week_for("C", 2) == 0
    assert Settings().tests_per_week_for("C", 2) == 2
    assert Settings(inspector_emails="a@x.vn; b@x.vn,c@x.vn  d@x.vn").inspector_addresses() == [
        "a@x.vn", "b@x.vn", "c@x.vn", "d@x.vn"]
    assert Settings().simulator_from_number == "+842776000000"
    assert Settings(twilio_from_number="+15005550006").simulator_from_number == "+15005550006"


# ------------------------------------------------------------------------------------- the documentation


def _readme_rows() -> list[tuple[list[str], list[str]]]:
    """(variables, defaults) of each row of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`FLASK_"):
            rows.append((re.findall(r"`(FLASK_\w+)`", cells[0]), [d.strip() for d in cells[1].split(",")]))
    return rows


def _as_written(value) -> str:
    if isinstance(value, bool):
        return "false" if not value else "true"
    if isinstance(value, float):
        return f"{value:g}"
    if value in ("", None):
        return "—"
    return str(value)


FLASK_OWN = {"FLASK_SESSION_COOKIE_SECURE"}  # Flask's own configuration, not one of the settings


def test_every_variable_in_the_readme_is_a_setting_with_the_default_it_states():
    rows = _readme_rows()
    assert len(rows) >= 10
    defaults = {name: default for name, default, _ in describe()}
    for names, written in rows:
        for name in names:
            assert name in defaults or name in FLASK_OWN, name
        if len(written) != len(names):
            written = written * len(names) if len(written) == 1 else None
        for name, text in zip(names, written or []):
            if name in FLASK_OWN or not text.startswith(("`", "—")):
                continue  # prose (the generated secret key)
            expected = _as_written(defaults[name])
            if name == "FLASK_DATABASE":
                expected = str(Path(defaults[name]).relative_to(ROOT))
            assert text.strip("`") == expected, name


# ------------------------------------------------------------------------ the real entry points refuse to start

BAD = [
    ("FLASK_CALLS_PER_SECOND", "abc"),
    ("FLASK_MAX_CONCURRENT_CALLS", "-1"),
    ("FLASK_CALL_PROVIDER", "foo"),
]


def _flask() -> list[str]:
    script = Path(sys.executable).with_name("flask")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flask"]


def _start(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {key: value for key, value in os.environ.items() if not key.startswith(PREFIX)}
    environ.update(FLASK_DATABASE=str(tmp_path / "start.db"), FLASK_SECRET_KEY="start-test", **env)
    return subprocess.run(args, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)


def _refused(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Cấu hình sai: " + name + "=")
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("name, value", BAD)
def test_the_web_app_does_not_start_with_a_wrong_setting(tmp_path, name, value):
    _refused(_start([sys.executable, "-c", "import wsgi"], tmp_path, **{name: value}), name)


@pytest.mark.slow
@pytest.mark.parametrize("name, value", BAD)
def test_a_flask_command_does_not_start_with_a_wrong_setting(tmp_path, name, value):
    _refused(_start(_flask() + ["--app", "wsgi", "routes"], tmp_path, **{name: value}), name)


@pytest.mark.slow
@pytest.mark.parametrize("name, value", BAD)
def test_the_scheduler_does_not_start_with_a_wrong_setting(tmp_path, name, value):
    result = _start(_flask() + ["--app", "wsgi", "monitor", "run"], tmp_path, **{name: value})
    _refused(result, name)
    assert not (tmp_path / "start.db").exists()  # stopped before touching anything


@pytest.mark.slow
def test_the_same_command_starts_with_good_settings(tmp_path):
    result = _start(_flask() + ["--app", "wsgi", "routes"], tmp_path, FLASK_CALLS_PER_SECOND="2.5")
    assert result.returncode == 0, result.stderr
    assert "/hooks/" in result.stdout


def test_webhook_shared_keys_are_read_as_key_id_to_secret_and_a_malformed_list_is_refused():
    settings = Settings.load({}, {"TWILIO_WEBHOOK_SHARED_KEYS": "k1=a, k2=b=c"})
    assert settings.webhook_shared_keys() == {"k1": "a", "k2": "b=c"}
    with pytest.raises(SettingsError) as exc:
        Settings.load({}, {"TWILIO_WEBHOOK_SHARED_KEYS": "k1"})
    assert "FLASK_TWILIO_WEBHOOK_SHARED_KEYS" in exc.value.message
