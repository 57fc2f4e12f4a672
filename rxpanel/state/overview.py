"""The overview: every app's live status, refreshed while the page is open."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel.services import overview
from rxpanel.state.auth import AuthState, authorized
from rxpanel.state.live import still_watching

REFRESH_SECONDS = 1.0


class OverviewState(AuthState):
    rows: list[dict[str, str]] = []
    servers: int = 0
    loaded: bool = False
    _watching: bool = False

    def _refresh(self) -> None:
        self.rows = overview.rows()
        counts = overview.counts()
        self.servers = counts["servers"]
        self.loaded = True

    @rx.event
    @authorized("viewer")
    def load(self):
        self._refresh()
        if not self._watching:
            self._watching = True
            return OverviewState.watch

    @rx.event(background=True)
    @authorized("viewer")
    async def watch(self):
        """Keep the rows current (a deploy from the CLI or a webhook shows up
        within a second) until the tab closes or leaves the page."""
        try:
            while True:
                await asyncio.sleep(REFRESH_SECONDS)
                async with self:
                    if not still_watching(self, "/"):
                        return
                    self._refresh()
        finally:
            async with self:
                self._watching = False
