"""The provider interface: place a call, find a call again, and the three ways placing can fail.

The three failures (ProviderRejected, ProviderTimeout, ProviderUnavailable) are not UserErrors: nobody reads
them. The dispatcher turns each into the attempt's state and outcome (provider_error, a retry, a lookup).
Only ProviderConfigError, a setting the operator must fix, is meant for a person.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from registry.errors import UserError
from registry.numbers import is_emergency, national_kind, number_kind

# What each refusal of the dial policy says on the attempt (never counted, never replaced: it would recur).
EMERGENCY_REFUSED = ("Số khẩn cấp (112, 113, 114, 115): không bao giờ gọi kiểm tra, để không chiếm đường dây "
                     "của người đang cần cứu giúp.")
KIND_REFUSED = {
    "short": "Số ngắn (như 1022) chỉ gọi được từ mạng điện thoại trong nước; nhà cung cấp {provider} không gọi tới "
             "được. Cần gọi kiểm tra số này qua một đường gọi trong nước.",
    "tollfree": "Số 1800 thường không gọi được từ nước ngoài; nhà cung cấp {provider} không gọi tới được. Cần gọi "
                "kiểm tra số này qua một đường gọi trong nước.",
    "premium": "Số 1900 thường không gọi được từ nước ngoài và tính cước cao; nhà cung cấp {provider} không gọi số "
               "này. Cần gọi kiểm tra số này qua một đường gọi trong nước.",
    None: "Không xác định được loại số {number}; nhà cung cấp {provider} không gọi số không rõ loại.",
}
# Error codes of dial-policy refusals (the prefix of attempts.error).
POLICY_CODES = ("emergency_number", "dial_policy")


class ProviderRejected(Exception):
    """The provider refused the call for good; nothing was dialled.

    our_side=True: our account or configuration (geo permission, credentials, blocked, demo number…);
    our_side=False: the number itself (invalid, unreachable per the provider) — a registry problem, but still
    not the agency failing to answer. Both end as provider_error, never counted against the agency.
    Not a UserError: .message is the provider's own text, kept as evidence on the attempt, not shown as a refusal.
    """

    def __init__(self, code, message: str, *, our_side: bool = True):
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message
        self.our_side = our_side


class ProviderTimeout(Exception):
    """The create request's outcome is unknown (no answer in time, or a 5xx): the call may exist. Never retry blindly.

    Not a UserError: the dispatcher settles it by looking the call up at the provider later.
    """


class ProviderUnavailable(Exception):
    """The provider stayed unavailable (429, a connection never made) after its own retries: nothing was created.

    Not a UserError: the dispatcher backs off and retries, and ends the test as provider_error in the end.
    """


@runtime_checkable
class Provider(Protocol):
    """What the dispatcher and reconcile need from a telephony provider."""

    name: str
    dials_real_numbers: bool
    # Optional: dialable_kinds, the kinds of number (registry.numbers.number_kind) it may dial (absent: any
    # kind but emergency numbers); call_error(sid), why a failed call failed ({'sip_code', 'error_code', …}).
    # survey_calls: True when it can hold the automated survey's keypad conversation (monitor/surveys/calls.py).

    def place_call(self, attempt: dict) -> str:
        """Ask for the call; returns its sid. May raise ProviderRejected, ProviderTimeout, ProviderUnavailable."""

    def find_call(self, attempt: dict) -> dict | None:
        """The call placed for this attempt ({'sid', 'status', …}) or None when there is none."""

    def close(self) -> None:
        """Release resources (threads, HTTP sessions)."""


def dial_refusal(provider, number: str) -> ProviderRejected | None:
    """Why this provider may not dial this number (a ProviderRejected to record), None when it may.

    Emergency numbers are refused for every provider; other kinds by the provider's dialable_kinds.
    """
    if is_emergency(number):
        return ProviderRejected("emergency_number", EMERGENCY_REFUSED, our_side=True)
    allowed = getattr(provider, "dialable_kinds", None)
    # A survey call's citizen number is stored as national digits ('0912345678'), a hotline's in E.164.
    kind = number_kind(number) or (national_kind(number) if number.startswith("0") else None)
    if allowed is not None and kind not in allowed:
        reason = KIND_REFUSED.get(kind, KIND_REFUSED[None])
        return ProviderRejected("dial_policy", reason.format(provider=getattr(provider, "name", "?"), number=number),
                                our_side=True)
    return None


def callback_urls(public_base_url: str, attempt_id: int) -> dict:
    """The webhook URLs for one attempt; the attempt id is in every path, so callbacks find their row."""
    base = public_base_url.rstrip("/") + "/hooks/twilio"
    return {
        "voice": f"{base}/voice/{attempt_id}",
        "status": f"{base}/status/{attempt_id}",
        "amd": f"{base}/amd/{attempt_id}",
        "gather": f"{base}/gather/{attempt_id}",
        "recording": f"{base}/recording/{attempt_id}",
    }


class ProviderConfigError(UserError):
    """The chosen provider cannot work with this configuration; .message says which setting, in Vietnamese."""
