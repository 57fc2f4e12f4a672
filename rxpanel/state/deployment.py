"""One deployment: its full log, trigger, steps and outcome (live while it runs)."""

from __future__ import annotations

import reflex as rx

from rxpanel import present, routes
from rxpanel.models import DEPLOY_STATES_FINAL
from rxpanel.services import NotFound, deployments
from rxpanel.state.auth import AuthState, authorized
from rxpanel.state.live import LiveState


class DeploymentState(LiveState, AuthState):
    dep: dict[str, str] = {}
    steps: list[dict[str, str]] = []
    lines: list[dict[str, str]] = []
    missing: str = ""
    _id: int = 0
    _last_line: int = 0

    def _route(self) -> str:
        return routes.DEPLOYMENT

    def _interval(self) -> float:
        return 0.5

    def _finished(self) -> bool:
        return not self.dep or self.dep["status"] in DEPLOY_STATES_FINAL

    def _refresh(self) -> None:
        try:
            self.dep = present.deployment_detail(deployments.detail(self._id))
        except NotFound as e:
            self.missing, self.dep = str(e), {}
            return
        self.missing = ""
        self.steps = [present.step_row(s) for s in deployments.steps(self._id)]
        fresh = deployments.logs_after(self._id, self._last_line, limit=100_000)
        if fresh:
            self._last_line = fresh[-1].id
            self.lines = self.lines + [present.log_row(r) for r in fresh]

    @rx.event
    @authorized("viewer")
    def load(self):
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self._id = int(raw) if str(raw).isdigit() else 0
        self.lines, self._last_line = [], 0
        self._refresh()
        if not self._finished():
            return self._start_watching()
