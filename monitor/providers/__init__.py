"""Telephony providers behind one small interface (see base.Provider), chosen by CALL_PROVIDER."""
from __future__ import annotations

from collections.abc import Callable

from monitor.providers.base import (
    Provider,
    ProviderConfigError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    callback_urls,
)
from monitor.settings import PROVIDERS, Settings


def make_provider(settings: Settings, sink: Callable[[int, dict, str, str], None], **options) -> Provider:
    """The provider named by CALL_PROVIDER; sink(attempt_id, params, kind, dedupe_key) receives the events
    of the providers that deliver them in-process (simulator, sip).

    options go to the provider's constructor (e.g. synchronous=True for the simulator in tests).
    """
    name = settings.call_provider
    if name == "simulator":
        from monitor.providers.simulator import SimulatorProvider

        return SimulatorProvider(settings, sink, **options)
    if name == "twilio":
        missing = [key for key in ("twilio_account_sid", "twilio_auth_token", "twilio_from_number", "public_base_url")
                   if not getattr(settings, key)]
        if missing:
            raise ProviderConfigError(
                "Nhà cung cấp twilio cần cấu hình: " + ", ".join("FLASK_" + key.upper() for key in missing) + "."
            )
        from monitor.providers.twilio_provider import TwilioProvider

        return TwilioProvider(settings, **options)
    if name == "sip":
        if not settings.sip_target:
            raise ProviderConfigError("Nhà cung cấp sip cần cấu hình: FLASK_SIP_TARGET (tổng đài hoặc trung kế, máy:cổng).",
                                      field="SIP_TARGET")
        if settings.sip_register and not settings.sip_username:
            raise ProviderConfigError("FLASK_SIP_REGISTER=1 cần FLASK_SIP_USERNAME (và FLASK_SIP_PASSWORD) để đăng ký "
                                      "với tổng đài.", field="SIP_USERNAME")
        from monitor.providers.sip_endpoint import ca_file
        from monitor.providers.sip_provider import MAX_CALLS, SipProvider

        ca_file(settings)  # over TLS: a CA list that cannot be read stops start-up here, naming the setting

        if not 0 < settings.max_concurrent_calls <= MAX_CALLS:
            raise ProviderConfigError(f"Nhà cung cấp sip gọi tối đa {MAX_CALLS} cuộc cùng lúc: đặt "
                                      f"FLASK_MAX_CONCURRENT_CALLS từ 1 đến {MAX_CALLS}.", field="MAX_CONCURRENT_CALLS")

        return SipProvider(settings, sink, **options)
    raise ProviderConfigError(f"FLASK_CALL_PROVIDER “{name}” không hợp lệ: dùng simulator, twilio hoặc sip.")


# Webhook helpers, so the web layer never imports twilio itself (loaded on first use).
def valid_signature(token: str, url: str, params, signature: str, settings_header: str | None = None,
                    shared_keys=None) -> bool:
    from monitor.providers.twilio_provider import valid_signature as check

    return check(token, url, params, signature, settings_header, shared_keys)


def voice_twiml(settings: Settings, attempt_id: int) -> str:
    from monitor.providers.twilio_provider import voice_twiml as build

    return build(settings, attempt_id)


def gather_twiml(settings: Settings, attempt_id: int, step: str) -> str:
    from monitor.providers.twilio_provider import gather_twiml as build

    return build(settings, attempt_id, step)


def survey_twiml(settings: Settings, attempt_id: int, say: list[str], ask: dict | None) -> str:
    from monitor.providers.twilio_provider import survey_twiml as build

    return build(settings, attempt_id, say, ask)


__all__ = [
    "make_provider", "Provider", "ProviderConfigError", "ProviderRejected", "ProviderTimeout", "ProviderUnavailable",
    "callback_urls", "valid_signature", "voice_twiml", "gather_twiml", "survey_twiml", "PROVIDERS",
]
