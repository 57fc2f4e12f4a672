"""One app: deploy, follow the running deployment's log live, history, releases
and rollback. The log comes from the stored rows, so a deploy started from the
CLI or a webhook shows up here the same way, and a closed tab loses nothing."""

from __future__ import annotations

import asyncio

import reflex as rx

from rxpanel import actions, present, routes, validate
from rxpanel.models import DEPLOY_STATES_FINAL
from rxpanel.services import (
    NotFound,
    ServiceError,
    app_records,
    apps,
    deployments,
    health,
    hooks,
    releases,
)
from rxpanel.state.auth import AuthState, authorized, current_actor, record
from rxpanel.state.live import LiveState

HEALTH_EVERY = 10  # watch ticks: every 5 s is plenty for the health panel


class AppDetailState(LiveState, AuthState):
    app: dict[str, str] = {}
    history: list[dict[str, str]] = []
    releases: list[dict[str, str]] = []
    follow: dict[str, str] = {}  # the deployment shown live: the active one, else the latest
    steps: list[dict[str, str]] = []
    lines: list[dict[str, str]] = []
    confirm_release: str = ""  # a release id while the rollback dialog is open
    confirm_schema: str = ""  # its schema note, shown in the dialog ("" when none)
    health: dict[str, str] = {}
    latency: list[dict[str, str | float]] = []
    incidents: list[dict[str, str]] = []
    deliveries: list[dict[str, str]] = []
    checking: bool = False
    doctor: list[dict[str, str]] = []  # the doctor's findings: check, level, message
    doctor_summary: str = ""
    doctoring: bool = False
    missing: str = ""
    _name: str = ""
    _follow_id: int = 0
    _last_line: int = 0
    _ticks: int = 0

    def _route(self) -> str:
        return routes.APP

    def _interval(self) -> float:
        return 0.5

    def _refresh(self):
        """The watch loop's tick: the page, the health panel now and then, and a
        toast when the followed deployment just ended."""
        toast = self._toast(self._reload())
        self._ticks += 1
        if self._ticks % HEALTH_EVERY == 0 and not self.missing:
            self._refresh_health()
        return toast

    def _refresh_health(self) -> None:
        app = apps.get(self._name)
        self.health = present.health_summary(health.summary(app))
        self.latency = health.latency_series(app.id)
        self.incidents = [present.incident_row(i) for i in health.incident_records(app.id)]
        self.deliveries = [present.delivery_row(d) for d in hooks.deliveries(self._name, 20)]

    def _reload(self) -> str | None:
        """Reload everything; returns the outcome when the followed deployment just ended."""
        try:
            self.app = present.app_detail(app_records.detail(self._name))
            app = apps.get(self._name)
        except NotFound as e:
            self.missing, self.app = str(e), {}
            return None
        self.missing = ""
        history = deployments.history(app)
        self.history = [present.deployment_row(d) for d in history]
        self.releases = [present.release_row(r) for r in releases.records(app)]
        active = [d for d in history if d.status in ("running", "queued")]
        newest = (active[-1] if active else history[0]).id if history else 0
        before = self.follow.get("status", "")
        if newest != self._follow_id:
            self._follow_id, self._last_line, self.lines, before = newest, 0, [], ""
        if not newest:
            self.follow, self.steps = {}, []
            return None
        self.follow = present.deployment_detail(deployments.detail(newest))
        self.steps = [present.step_row(s) for s in deployments.steps(newest)]
        fresh = deployments.logs_after(newest, self._last_line, deployments.LOG_LIMIT)
        if fresh:
            self._last_line = fresh[-1].id
            lines = self.lines + [present.log_row(r) for r in fresh]
            self.lines = lines[-deployments.LOG_LIMIT :]
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
        self.doctor, self.doctor_summary = [], ""
        self._reload()
        if not self.missing:
            self._refresh_health()
        return self._start_watching()

    @rx.event
    @authorized("deployer")
    def deploy(self, form: dict):
        ref = (form.get("ref") or "").strip() or None
        try:
            asked = actions.request_deploy(self._name, current_actor(), ref)
        except ServiceError as e:
            return rx.toast.error(str(e))
        self._reload()
        dep, app = asked.deployment, asked.app
        return rx.toast.info(f"Deployment #{dep.id} queued ({ref or app.branch}).")

    @rx.event
    @authorized("deployer")
    def ask_rollback(self, release_id: str):
        self.confirm_release = release_id
        row = next((r for r in self.releases if r["id"] == release_id), {})
        self.confirm_schema = row.get("schema_note", "")

    @rx.event
    @authorized("viewer")
    def close_rollback(self, _open: bool = False):
        self.confirm_release, self.confirm_schema = "", ""

    @rx.event
    @authorized("deployer")
    def rollback(self):
        release_id, self.confirm_release = self.confirm_release, ""
        seen, self.confirm_schema = self.confirm_schema, ""
        try:  # an empty id is refused, not taken as "the previous good one"
            asked = actions.request_rollback(  # the dialog showed a schema note: confirmed
                self._name, current_actor(), validate.release_id(release_id), force=bool(seen)
            )
        except ServiceError as e:
            return rx.toast.error(str(e))
        self._reload()
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
                self._reload()
                self._refresh_health()
        yield rx.toast.info(f"{name}: {self.health.get('last_result', '')}")

    @rx.event(background=True)
    @authorized("viewer")
    async def run_doctor(self):
        """`rxpanel doctor` on the app's last checkout, and its health path if deployed."""
        async with self:
            if self.doctoring:
                return
            self.doctoring = True
            name = self._name
        try:
            report = await asyncio.to_thread(actions.doctor_app, name, current_actor())
        except ServiceError as e:
            yield rx.toast.error(str(e))
            return
        finally:
            async with self:
                self.doctoring = False
        async with self:
            self.doctor = [f.as_dict() for f in report.findings]
            self.doctor_summary = report.as_dict()["summary"]
