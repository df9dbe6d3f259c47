"""The client's address behind trusted reverse proxies: X-Forwarded-For is believed only from them.

Login throttling counts failures per client address, so the address must be the client's, not the TLS
proxy's (everyone's), and must not be whatever a client writes into X-Forwarded-For itself.
"""
import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


def trust_proxies(wsgi_app, hops):
    """Wrap a WSGI app so REMOTE_ADDR is the client's, given settings.trusted_proxy_hops().

    0: trust no one (the connecting address is the client's); a number N: the last N proxies add one
    X-Forwarded-For entry each (werkzeug's ProxyFix); networks: walk X-Forwarded-For from the right while
    the hop is one of these proxies.
    """
    if not hops:
        return wsgi_app
    if isinstance(hops, int):
        return ProxyFix(wsgi_app, x_for=hops)
    return _TrustedNetworks(wsgi_app, tuple(hops))


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(remote_addr: str, forwarded_for: str, networks) -> str:
    """The first address, from the right, that is not one of the trusted proxies."""
    hop = remote_addr
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    while True:
        address = _address(hop)
        if address is None or not any(address in network for network in networks) or not chain:
            return hop
        hop = chain.pop()


class _TrustedNetworks:
    def __init__(self, wsgi_app, networks):
        self.wsgi_app = wsgi_app
        self.networks = networks

    def __call__(self, environ, start_response):
        remote = environ.get("REMOTE_ADDR", "")
        client = client_address(remote, environ.get("HTTP_X_FORWARDED_FOR", ""), self.networks)
        if client != remote:
            environ = {**environ, "REMOTE_ADDR": client, "werkzeug.proxy_fix.orig_remote_addr": remote}
        return self.wsgi_app(environ, start_response)
