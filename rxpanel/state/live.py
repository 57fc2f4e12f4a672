"""Helpers for background tasks that keep a page current."""

from __future__ import annotations

import reflex as rx


def still_watching(state: rx.State, route: str) -> bool:
    """Is the client still connected and still on this route?"""
    from rxpanel.rxpanel import app

    namespace = app.event_namespace
    connected = namespace is None or state.router.session.client_token in namespace.token_to_sid
    return connected and _matches(state.router.url.path, route) and state.signed_in


def _matches(path: str, route: str) -> bool:
    """Does a concrete path fit a route pattern such as /apps/[name]?"""
    parts, pattern = path.rstrip("/").split("/"), route.rstrip("/").split("/")
    return len(parts) == len(pattern) and all(
        p == q or (q.startswith("[") and q.endswith("]"))
        for p, q in zip(parts, pattern, strict=True)
    )
