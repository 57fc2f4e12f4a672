"""The base of the dashboard's live pages: one watch loop that calls the page's
`_refresh()` at an interval while the tab is connected, still on the page's
route and signed in. A page's state mixes it in beside AuthState and starts the
loop from its load handler (`return self._start_watching()`).

The app root attaches how to see who is connected (`attach`); this module never
imports the app, so the states import without it (and without a cycle)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import reflex as rx

from rxpanel.services import users
from rxpanel.state.auth import AuthState, authorized

_namespace: Callable[[], Any] = lambda: None  # noqa: E731 - until the root attaches


def attach(namespace: Callable[[], Any]) -> None:
    """Called by the app root: how to find its event namespace (the connected tabs)."""
    global _namespace
    _namespace = namespace


class LiveState(rx.State, mixin=True):
    _watching: bool = False

    def _route(self) -> str:
        """The route pattern this state's page is on (e.g. /apps/[name])."""
        raise NotImplementedError

    def _interval(self) -> float:
        return 1.0

    def _refresh(self) -> Any:
        """Reload the page's data; may return an event (a toast) to send."""
        raise NotImplementedError

    def _finished(self) -> bool:
        """True when there is nothing more to follow (a finished deployment)."""
        return False

    def _still_watching(self) -> bool:
        namespace = _namespace()
        token = self.router.session.client_token
        connected = namespace is None or token in namespace.token_to_sid
        return connected and matches(self.router.url.path, self._route()) and self.signed_in

    def _start_watching(self):
        if self._watching:
            return None
        self._watching = True
        return type(self).watch

    @rx.event(background=True)
    @authorized("viewer")
    async def watch(self):
        """Keep the page current (a deploy from the CLI or a webhook shows up within
        an interval) until the tab closes or leaves the page, or the session ends
        (logged out elsewhere, a new password, the user disabled): then the page
        stops at once and shows the login form."""
        try:
            while True:
                await asyncio.sleep(self._interval())
                async with self:
                    if not self._still_watching():
                        return
                    token = self.session_token
                if not await asyncio.to_thread(users.session_alive, token):
                    yield AuthState.session_ended
                    return
                async with self:
                    if not self._still_watching() or self.session_token != token:
                        return
                    event = self._refresh()
                    finished = self._finished()
                if event is not None:
                    yield event
                if finished:
                    return
        finally:
            async with self:
                self._watching = False


def matches(path: str, route: str) -> bool:
    """Does a concrete path fit a route pattern such as /apps/[name]?"""
    parts, pattern = path.rstrip("/").split("/"), route.rstrip("/").split("/")
    return len(parts) == len(pattern) and all(
        p == q or (q.startswith("[") and q.endswith("]"))
        for p, q in zip(parts, pattern, strict=True)
    )
