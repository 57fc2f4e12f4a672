"""Deployments: the queue (one running and at most one queued per app), their
steps and log lines, and recovery of deployments whose process died."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from rxpanel import db
from rxpanel.models import (
    DEPLOY_STATES_FINAL,
    App,
    Deployment,
    DeploymentLog,
    DeploymentStep,
    utcnow,
)
from rxpanel.services import NotFound

RUNNER_ID = f"{socket.gethostname()}:{os.getpid()}"
LOG_LIMIT = 2000  # lines a page keeps; the rest stays in the database
STALE_AFTER = timedelta(seconds=90)  # a running deployment without heartbeat this long is dead


def trigger(
    app_id: int, *, kind: str = "deploy", ref: str | None = None, trigger: str = "cli", by: str = ""
) -> Deployment:
    """Queue a deployment. A queued one for the same app is replaced (coalescing),
    and says so in its own record. Two requests at the same moment on a database
    that does not serialize writers meet at the one-queued-per-app index: the
    loser tries again and replaces the winner's."""
    for attempt in range(5):
        try:
            return _trigger(app_id, kind, ref, trigger, by)
        except IntegrityError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _trigger(app_id: int, kind: str, ref: str | None, trigger: str, by: str) -> Deployment:
    with db.session() as s:
        queued = s.exec(
            select(Deployment)
            .where(Deployment.app_id == app_id, Deployment.status == "queued")
            .with_for_update()
        ).first()
        if queued is not None:
            queued.status, queued.finished_at = "superseded", utcnow()
            s.add(queued)
            s.flush()
        new = Deployment(app_id=app_id, kind=kind, ref=ref, trigger=trigger, triggered_by=by)
        s.add(new)
        s.flush()
        if queued is not None:
            queued.superseded_by = new.id
            queued.reason = f"replaced by a newer request (deployment #{new.id})"
            s.add(queued)
            s.add(DeploymentLog(deployment_id=queued.id, line=queued.reason))
        s.add(DeploymentLog(deployment_id=new.id, line=f"queued by {by or trigger} ({trigger})"))
    return new


def claim(app_id: int, runner: str = RUNNER_ID) -> Deployment | None:
    """Take the app's queued deployment if none is running. Atomic across processes:
    the row changes only if it is still queued, and the unique index allows one
    running deployment per app."""
    try:
        with db.session() as s:
            running = s.exec(
                select(Deployment.id).where(
                    Deployment.app_id == app_id, Deployment.status == "running"
                )
            ).first()
            if running is not None:
                return None
            dep_id = s.exec(
                select(Deployment.id).where(
                    Deployment.app_id == app_id, Deployment.status == "queued"
                )
            ).first()
            if dep_id is None:
                return None
            now = utcnow()
            taken = s.exec(
                update(Deployment)
                .where(Deployment.id == dep_id, Deployment.status == "queued")
                .values(status="running", started_at=now, heartbeat_at=now, runner=runner)
            ).rowcount
            if taken != 1:
                return None  # superseded or claimed between our two statements
        return get(dep_id)
    except IntegrityError:  # another process claimed it first (the unique index)
        return None


def apps_with_queued() -> list[int]:
    with db.session() as s:
        return list(s.exec(select(Deployment.app_id).where(Deployment.status == "queued")).all())


def heartbeat(dep_id: int) -> None:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        if dep is not None and dep.status == "running":
            dep.heartbeat_at = utcnow()
            s.add(dep)


def set_fields(dep_id: int, **fields) -> None:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        for key, value in fields.items():
            setattr(dep, key, value)
        s.add(dep)


def finish(dep_id: int, status: str, reason: str | None = None) -> Deployment:
    assert status in DEPLOY_STATES_FINAL
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        dep.status, dep.reason, dep.finished_at = status, reason, utcnow()
        s.add(dep)
    return dep


def cancel_queued(dep_id: int, reason: str) -> bool:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        if dep is None or dep.status != "queued":
            return False
        dep.status, dep.reason, dep.finished_at = "cancelled", reason, utcnow()
        s.add(dep)
        s.add(DeploymentLog(deployment_id=dep_id, line=reason))
    return True


def get(dep_id: int) -> Deployment:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        if dep is None:
            raise NotFound(f"no deployment #{dep_id}")
        return dep


def for_app(app_id: int, limit: int = 50) -> list[Deployment]:
    with db.session() as s:
        q = select(Deployment).where(Deployment.app_id == app_id)
        return list(s.exec(q.order_by(col(Deployment.id).desc()).limit(limit)).all())


def add_log(dep_id: int, line: str, *, step: str = "", level: str = "info") -> None:
    with db.session() as s:
        s.add(DeploymentLog(deployment_id=dep_id, step=step, level=level, line=line))


@dataclass(frozen=True)
class LogLine:
    id: int
    created_at: datetime
    level: str  # info | output | error
    step: str
    line: str


def logs_after(dep_id: int, after_id: int = 0, limit: int = 1000) -> list[LogLine]:
    with db.session() as s:
        q = select(DeploymentLog).where(
            DeploymentLog.deployment_id == dep_id, DeploymentLog.id > after_id
        )
        found = s.exec(q.order_by(DeploymentLog.id).limit(limit)).all()
        return [LogLine(r.id, r.created_at, r.level, r.step, r.line) for r in found]


def start_step(dep_id: int, name: str) -> int:
    with db.session() as s:
        step = DeploymentStep(deployment_id=dep_id, name=name)
        s.add(step)
        s.flush()
        return step.id


def end_step(step_id: int, status: str, duration: float) -> None:
    with db.session() as s:
        step = s.get(DeploymentStep, step_id)
        step.status, step.duration = status, round(duration, 3)
        s.add(step)


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    duration: float | None  # seconds; None while it runs


def steps(dep_id: int) -> list[Step]:
    with db.session() as s:
        q = select(DeploymentStep).where(DeploymentStep.deployment_id == dep_id)
        return [Step(r.name, r.status, r.duration) for r in s.exec(q.order_by(DeploymentStep.id))]


@dataclass(frozen=True)
class Record:
    """A deployment as the dashboard, the CLI and the API show it."""

    id: int
    app: str
    kind: str
    status: str
    trigger: str
    by: str
    ref: str | None
    commit: str | None
    release: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    reason: str | None

    @property
    def duration(self) -> float | None:
        """Seconds it ran (so far, while it runs)."""
        if self.started is None:
            return None
        return ((self.finished or utcnow()) - self.started).total_seconds()


def _record(dep: Deployment, app_name: str) -> Record:
    return Record(
        dep.id,
        app_name,
        dep.kind,
        dep.status,
        dep.trigger,
        dep.triggered_by,
        dep.ref,
        dep.commit,
        dep.release_id,
        dep.created_at,
        dep.started_at,
        dep.finished_at,
        dep.reason,
    )


def detail(dep_id: int) -> Record:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        if dep is None:
            raise NotFound(f"no deployment #{dep_id}")
        return _record(dep, s.get(App, dep.app_id).name)


def history(app: App, limit: int = 30) -> list[Record]:
    """The app's deployments, newest first."""
    return [_record(d, app.name) for d in for_app(app.id, limit)]


def _process_alive(runner: str | None) -> bool:
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: judge by heartbeat only
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def interrupt_dead() -> list[Deployment]:
    """Mark running deployments whose process is gone (or silent) as interrupted."""
    dead = []
    now = utcnow()
    with db.session() as s:
        for dep in s.exec(select(Deployment).where(Deployment.status == "running")).all():
            if dep.runner == RUNNER_ID:
                continue  # ours, and we are alive
            silent = dep.heartbeat_at is None or now - dep.heartbeat_at > STALE_AFTER
            if not silent and _process_alive(dep.runner):
                continue
            dep.status, dep.finished_at = "interrupted", now
            dep.reason = f"the process running it ({dep.runner}) stopped before it finished"
            s.add(dep)
            s.add(DeploymentLog(deployment_id=dep.id, level="error", line=dep.reason))
            dead.append(dep)
    return dead


def in_progress(app_id: int) -> int | None:
    """The id of the app's queued or running deployment, if any."""
    with db.session() as s:
        return s.exec(
            select(Deployment.id).where(
                Deployment.app_id == app_id, col(Deployment.status).in_(("queued", "running"))
            )
        ).first()


def is_final(dep_id: int) -> bool:
    return get(dep_id).status in DEPLOY_STATES_FINAL


def add_logs(dep_id: int, lines: list[tuple[str, str, str]]) -> None:
    """Several log lines (line, step, level) in one transaction, in order."""
    if not lines:
        return
    with db.session() as s:
        s.add_all(
            DeploymentLog(deployment_id=dep_id, line=line, step=step, level=level)
            for line, step, level in lines
        )
