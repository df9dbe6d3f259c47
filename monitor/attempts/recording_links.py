"""Recording links: a callback's RecordingUrl becomes a link inspectors click, so only the provider's is kept.

Anyone who can get a callback signed (or a provider fault) could otherwise put any address there. Twilio's
recordings live under https://api.twilio.com/; a Twilio-compatible API configured in TWILIO_API_BASE_URL (the
test double, a regional edge) is the provider's too. A SIP call's recording is a file of ours, linked to our own
route (monitor.providers.sip_recordings.link), which checks who reads it. Any other link is taken out of the
event before it is stored, kept beside it as plain text under RecordingUrlRefused (so the record shows what
came), and logged.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from monitor.providers import sip_recordings

TWILIO_API = "https://api.twilio.com/"
REFUSED = "RecordingUrlRefused"
log = logging.getLogger(__name__)


def provider_bases(api_base_url: str | None) -> tuple[str, ...]:
    """The address prefixes a recording of ours may have: Twilio's API and the configured API base."""
    bases = [TWILIO_API]
    if api_base_url:
        configured = api_base_url.rstrip("/") + "/"
        if configured not in bases:
            bases.append(configured)
    return tuple(bases)


def is_provider_link(url: str, api_base_url: str | None) -> bool:
    """Whether the link is under one of provider_bases: same scheme, same host (and port) exactly, same path prefix."""
    if not url or any(ch.isspace() for ch in url):
        return False
    try:
        link = urlsplit(url)
    except ValueError:
        return False
    for base in provider_bases(api_base_url):
        allowed = urlsplit(base)
        # netloc compared whole: "api.twilio.com@evil.example" and "api.twilio.com.evil.example" are other hosts
        if (link.scheme.lower(), link.netloc.lower()) == (allowed.scheme, allowed.netloc.lower()) \
                and link.path.startswith(allowed.path or "/"):
            return True
    return False


def keep_provider_links(params: dict, api_base_url: str | None) -> dict:
    """The event's parameters with a RecordingUrl that is not the provider's moved to RecordingUrlRefused."""
    url = params.get("RecordingUrl")
    if not url or is_provider_link(url, api_base_url) or sip_recordings.is_link(url):
        return params
    log.warning("recording link not from the provider ignored: %r", url[:200])
    kept = {key: value for key, value in params.items() if key != "RecordingUrl"}
    kept[REFUSED] = url[:500]
    return kept
