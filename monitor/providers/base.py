"""The provider interface: place a call, find a call again, and the three ways placing can fail.

The three failures (ProviderRejected, ProviderTimeout, ProviderUnavailable) are not UserErrors: nobody reads
them. The dispatcher turns each into the attempt's state and outcome (provider_error, a retry, a lookup).
Only ProviderConfigError, a setting the operator must fix, is meant for a person.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from registry.errors import UserError


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
    """The create request's outcome is unknown (no answer in time): the call may exist. Never retry blindly.

    Not a UserError: the dispatcher settles it by looking the call up at the provider later.
    """


class ProviderUnavailable(Exception):
    """The provider stayed unavailable (429/5xx, refused connection) after its own retries: nothing was created.

    Not a UserError: the dispatcher backs off and retries, and ends the test as provider_error in the end.
    """


@runtime_checkable
class Provider(Protocol):
    """What the dispatcher and reconcile need from a telephony provider."""

    name: str
    dials_real_numbers: bool

    def place_call(self, attempt: dict) -> str:
        """Ask for the call; returns its sid. May raise ProviderRejected, ProviderTimeout, ProviderUnavailable."""

    def find_call(self, attempt: dict) -> dict | None:
        """The call placed for this attempt ({'sid', 'status', …}) or None when there is none."""

    def close(self) -> None:
        """Release resources (threads, HTTP sessions)."""


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
