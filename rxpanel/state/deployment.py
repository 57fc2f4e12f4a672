"""One deployment: its full log, trigger, steps and outcome (live while it runs)."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import routes
from rxpanel.models import DEPLOY_STATES_FINAL
from rxpanel.services import NotFound, views
from rxpanel.state.auth import AuthState, authorized
from rxpanel.state.live import still_watching


class DeploymentState(AuthState):
    dep: dict[str, str] = {}
    steps: list[dict[str, str]] = []
    lines: list[dict[str, str]] = []
    missing: str = ""
    _id: int = 0
    _last_line: int = 0
    _watching: bool = False

    def _refresh(self) -> None:
        try:
            self.dep = views.deployment_detail(self._id)
        except NotFound as e:
            self.missing, self.dep = str(e), {}
            return
        self.missing = ""
        self.steps = views.step_rows(self._id)
        fresh = views.log_rows(self._id, self._last_line, limit=100_000)
        if fresh:
            self._last_line = int(fresh[-1]["id"])
            self.lines = self.lines + fresh

    @rx.event
    @authorized("viewer")
    def load(self):
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self._id = int(raw) if str(raw).isdigit() else 0
        self.lines, self._last_line = [], 0
        self._refresh()
        if self.dep and self.dep["status"] not in DEPLOY_STATES_FINAL and not self._watching:
            self._watching = True
            return DeploymentState.watch

    @rx.event(background=True)
    @authorized("viewer")
    async def watch(self):
        try:
            while True:
                await asyncio.sleep(0.5)
                async with self:
                    if not still_watching(self, routes.DEPLOYMENT):
                        return
                    self._refresh()
                    if not self.dep or self.dep["status"] in DEPLOY_STATES_FINAL:
                        return
        finally:
            async with self:
                self._watching = False
