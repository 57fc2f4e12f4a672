"""The overview: every app's live status, refreshed while the page is open."""

from __future__ import annotations

import reflex as rx

from rxpanel.services import overview
from rxpanel.state.auth import AuthState, authorized
from rxpanel.state.live import LiveState


class OverviewState(LiveState, AuthState):
    rows: list[dict[str, str]] = []
    servers: int = 0
    loaded: bool = False

    def _route(self) -> str:
        return "/"

    def _refresh(self) -> None:
        self.rows = overview.rows()
        self.servers = overview.counts()["servers"]
        self.loaded = True

    @rx.event
    @authorized("viewer")
    def load(self):
        self._refresh()
        return self._start_watching()
