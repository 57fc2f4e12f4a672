"""One app: deploy, follow the running deployment's log live, history, releases
and rollback. The log comes from the stored rows, so a deploy started from the
CLI or a webhook shows up here the same way, and a closed tab loses nothing."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import actions, routes, validate
from rxpanel.models import DEPLOY_STATES_FINAL
from rxpanel.services import NotFound, ServiceError, apps, views
from rxpanel.state.auth import AuthState, authorized, current_actor, record
from rxpanel.state.live import still_watching

REFRESH_SECONDS = 0.5


class AppDetailState(AuthState):
    app: dict[str, str] = {}
    history: list[dict[str, str]] = []
    releases: list[dict[str, str]] = []
    follow: dict[str, str] = {}  # the deployment shown live: the active one, else the latest
    steps: list[dict[str, str]] = []
    lines: list[dict[str, str]] = []
    confirm_release: str = ""  # a release id while the rollback dialog is open
    health: dict[str, str] = {}
    latency: list[dict[str, str | float]] = []
    incidents: list[dict[str, str]] = []
    deliveries: list[dict[str, str]] = []
    checking: bool = False
    missing: str = ""
    _name: str = ""
    _follow_id: int = 0
    _last_line: int = 0
    _watching: bool = False
    _ticks: int = 0

    def _refresh_health(self) -> None:
        self.health = views.health_summary(self._name)
        self.latency = views.latency_points(self._name)
        self.incidents = views.incident_rows(self._name)
        self.deliveries = views.delivery_rows(self._name)

    def _refresh(self) -> str | None:
        """Reload everything; returns the outcome when the followed deployment just ended."""
        try:
            self.app = views.app_detail(self._name)
        except NotFound as e:
            self.missing, self.app = str(e), {}
            return None
        self.missing = ""
        self.history = views.deployment_rows(self._name)
        self.releases = views.release_rows(self._name)
        active = [d for d in self.history if d["status"] in ("running", "queued")]
        newest = int((active[-1] if active else self.history[0])["id"]) if self.history else 0
        before = self.follow.get("status", "")
        if newest != self._follow_id:
            self._follow_id, self._last_line, self.lines, before = newest, 0, [], ""
        if not newest:
            self.follow, self.steps = {}, []
            return None
        self.follow = views.deployment_detail(newest)
        self.steps = views.step_rows(newest)
        fresh = views.log_rows(newest, self._last_line)
        if fresh:
            self._last_line = int(fresh[-1]["id"])
            self.lines = (self.lines + fresh)[-views.LOG_LIMIT :]
        now = self.follow["status"]
        if before and before not in DEPLOY_STATES_FINAL and now in DEPLOY_STATES_FINAL:
            return now
        return None

    def _toast(self, outcome: str | None):
        if outcome is None:
            return None
        dep = self.follow
        if outcome == "success":
            return rx.toast.success(f"Deployment #{dep['id']} succeeded: {dep['reason']}")
        return rx.toast.error(f"Deployment #{dep['id']} {outcome}: {dep['reason']}")

    @rx.event
    @authorized("viewer")
    def load(self):
        self._name = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.follow, self.lines, self._follow_id, self.confirm_release = {}, [], 0, ""
        self._refresh()
        if not self.missing:
            self._refresh_health()
        if not self._watching:
            self._watching = True
            return AppDetailState.watch

    @rx.event(background=True)
    @authorized("viewer")
    async def watch(self):
        try:
            while True:
                await asyncio.sleep(REFRESH_SECONDS)
                async with self:
                    if not still_watching(self, routes.APP):
                        return
                    toast = self._toast(self._refresh())
                    self._ticks += 1
                    if self._ticks % 10 == 0 and not self.missing:  # every 5 s is plenty
                        self._refresh_health()
                if toast is not None:
                    yield toast
        finally:
            async with self:
                self._watching = False

    @rx.event
    @authorized("deployer")
    def deploy(self, form: dict):
        ref = (form.get("ref") or "").strip() or None
        try:
            asked = actions.request_deploy(self._name, current_actor(), ref)
        except ServiceError as e:
            return rx.toast.error(str(e))
        self._refresh()
        dep, app = asked.deployment, asked.app
        return rx.toast.info(f"Deployment #{dep.id} queued ({ref or app.branch}).")

    @rx.event
    @authorized("deployer")
    def ask_rollback(self, release_id: str):
        self.confirm_release = release_id

    @rx.event
    @authorized("viewer")
    def close_rollback(self, _open: bool = False):
        self.confirm_release = ""

    @rx.event
    @authorized("deployer")
    def rollback(self):
        release_id, self.confirm_release = self.confirm_release, ""
        try:  # an empty id is refused, not taken as "the previous good one"
            asked = actions.request_rollback(
                self._name, current_actor(), validate.release_id(release_id)
            )
        except ServiceError as e:
            return rx.toast.error(str(e))
        self._refresh()
        dep = asked.deployment
        return rx.toast.info(f"Rollback to {release_id} queued (deployment #{dep.id}).")

    @rx.event(background=True)
    @authorized("viewer")
    async def check_now(self):
        """Probe the app's public URL + health path now, like the scheduler does."""
        from rxpanel.health.watch import check_now

        async with self:
            if self.checking:
                return
            self.checking = True
            name = self._name
        record("health.check", f"app:{name}")
        try:
            app = await asyncio.to_thread(apps.get, name)
            await asyncio.to_thread(check_now, app.id)
        finally:
            async with self:
                self.checking = False
                self._refresh()
                self._refresh_health()
        yield rx.toast.info(f"{name}: {self.health.get('last_result', '')}")
