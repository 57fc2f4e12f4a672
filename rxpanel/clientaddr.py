"""Where a request comes from: the socket's peer, unless that peer is a reverse
proxy the admin trusts (RXPANEL_TRUSTED_PROXIES); then the right-most entry of
X-Forwarded-For that is not itself a trusted proxy. Entries left of it were
written by the client and are never believed. The answer is never empty: the
login limits count per address, and an empty address must not escape them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

UNKNOWN = "unknown"


def _ip(value: str):
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.partition(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(ip, networks: Iterable) -> bool:
    return ip is not None and any(ip in net for net in networks)


def resolve(peer: str, forwarded_for: str, trusted: Iterable) -> str:
    """The client's address, from the peer and the X-Forwarded-For header."""
    trusted = tuple(trusted)
    here = _ip(peer or "")
    if here is None:
        return (peer or "").strip()[:64] or UNKNOWN
    if not _trusted(here, trusted):
        return str(here)
    for entry in reversed((forwarded_for or "").split(",")):
        ip = _ip(entry)
        if ip is None:
            # a malformed hop: whatever is further left cannot be trusted; the
            # nearest proxy we know stands for the client (stricter, never looser)
            return str(here)
        if not _trusted(ip, trusted):
            return str(ip)
        here = ip
    return str(here)


def _settings_proxies() -> tuple:
    from rxpanel import settings

    return settings.get().trusted_proxies


def of_router(router: Any, trusted: Iterable | None = None) -> str:
    """A Reflex event's client: Reflex 0.10 computes the peer from the ASGI scope
    on the server (`asgi-scope-client`, `session.client_ip` while its own
    `trusted_proxy_hops` stays 0); the headers are the websocket handshake's."""
    headers: Mapping[str, str] = getattr(getattr(router, "headers", None), "raw_headers", {}) or {}
    peer = headers.get("asgi-scope-client") or router.session.client_ip
    trusted = _settings_proxies() if trusted is None else trusted
    return resolve(peer, headers.get("x-forwarded-for", ""), trusted)


def of_request(request: Any, trusted: Iterable | None = None) -> str:
    """A Starlette request's client."""
    peer = request.client.host if request.client else ""
    trusted = _settings_proxies() if trusted is None else trusted
    return resolve(peer, request.headers.get("x-forwarded-for", ""), trusted)
