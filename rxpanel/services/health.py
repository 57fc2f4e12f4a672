"""Health state of apps: stored checks, the healthy/degraded/down machine,
incidents, auto-rollback inside the watch window, and bounded retention
(raw checks 7 days, hourly rollups 90 days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case
from sqlmodel import col, delete, func, select

from rxpanel import db
from rxpanel.health.prober import Result, Target
from rxpanel.models import (
    App,
    Deployment,
    HealthCheck,
    HealthRollup,
    Incident,
    Notification,
    Release,
    WebhookDelivery,
    utcnow,
)

RECOVERY_STREAK = 2  # successes in a row that end a "down"
RAW_DAYS, ROLLUP_DAYS, NOTIFICATION_DAYS, DELIVERY_DAYS = 7, 90, 30, 90
PASSED = case((col(HealthCheck.ok), 1), else_=0)  # portable: booleans do not sum everywhere


@dataclass(frozen=True)
class Change:
    """A state change worth telling someone about."""

    app_id: int
    app: str
    before: str | None
    after: str
    cause: str
    rollback: bool = False  # an auto-rollback was decided


def next_state(
    state: str | None, failures: int, successes: int, ok: bool, threshold: int
) -> tuple[str, int, int]:
    """(state, failure streak, success streak) after one check. Pure."""
    if ok:
        successes, failures = successes + 1, 0
        if state == "down" and successes < RECOVERY_STREAK:
            return "down", failures, successes
        return "healthy", failures, successes
    failures, successes = failures + 1, 0
    down = failures >= threshold or state == "down"  # down stays down until it recovers
    return ("down" if down else "degraded"), failures, successes


def targets(interval: int | None = None, app_id: int | None = None) -> list[Target]:
    """What to probe: deployed apps (all, or those on one interval, or one app)."""
    with db.session() as s:
        q = select(App).where(col(App.current_release_id).is_not(None))
        if interval is not None:
            q = q.where(App.check_interval == interval)
        if app_id is not None:
            q = q.where(App.id == app_id)
        found = s.exec(q).all()
    return [
        Target(a.id, a.url.rstrip("/") + a.health_path, a.check_timeout, a.health_path == "/ping")
        for a in found
    ]


def intervals() -> list[int]:
    with db.session() as s:
        return sorted(
            set(
                s.exec(
                    select(App.check_interval).where(col(App.current_release_id).is_not(None))
                ).all()
            )
        )


def record(results: list[Result]) -> list[Change]:
    """Store a sweep's results and move each app's state, in one transaction.

    Returns the changes; auto-rollbacks are only decided here (see roll_back)."""
    changes: list[Change] = []
    if not results:
        return changes
    by_app = {r.app_id: r for r in results}
    now = utcnow()
    with db.session() as s:
        s.add_all(
            [
                HealthCheck(
                    app_id=r.app_id,
                    checked_at=r.checked_at,
                    ok=r.ok,
                    status_code=r.status_code,
                    latency_ms=r.latency_ms,
                    error=r.error,
                )
                for r in results
            ]
        )
        apps = s.exec(select(App).where(col(App.id).in_(list(by_app)))).all()
        open_incidents = {
            i.app_id: i
            for i in s.exec(
                select(Incident).where(
                    col(Incident.app_id).in_(list(by_app)), col(Incident.ended_at).is_(None)
                )
            )
        }
        busy = set(
            s.exec(
                select(Deployment.app_id).where(col(Deployment.status).in_(("queued", "running")))
            ).all()
        )
        for app in apps:
            r = by_app[app.id]
            before = app.health_state
            app.health_state, app.failure_streak, app.success_streak = next_state(
                before, app.failure_streak, app.success_streak, r.ok, app.failure_threshold
            )
            s.add(app)
            after, incident = app.health_state, open_incidents.get(app.id)
            if after == before or (before is None and after == "healthy"):
                continue  # a first passing check is not news (nor a recovery)
            cause = r.error or "checks pass again"
            if after in ("degraded", "down"):
                if incident is None:
                    s.add(
                        Incident(app_id=app.id, state=after, cause=cause, started_at=r.checked_at)
                    )
                elif after == "down":
                    incident.state = "down"
                    s.add(incident)
            elif incident is not None:
                incident.ended_at = now
                s.add(incident)
            rollback = after == "down" and app.id not in busy and _in_watch_window(s, app, now)
            if rollback and incident is not None:
                incident.rolled_back = True
            changes.append(Change(app.id, app.name, before, after, cause, rollback))
    return changes


def _in_watch_window(s, app: App, now: datetime) -> bool:
    if not (app.auto_rollback and app.current_release_id):
        return False
    live = s.get(Release, app.current_release_id)
    return bool(
        live and live.live_at and now - live.live_at <= timedelta(minutes=app.watch_minutes)
    )


def mark_rolled_back(app_id: int) -> None:
    with db.session() as s:
        incident = s.exec(
            select(Incident).where(Incident.app_id == app_id, col(Incident.ended_at).is_(None))
        ).first()
        if incident is not None:
            incident.rolled_back = True
            s.add(incident)


# -- reading -------------------------------------------------------------------


def uptime(app_id: int, hours: int, now: datetime | None = None) -> float | None:
    """Share of passing checks over the last `hours` (None when never checked)."""
    since = (now or utcnow()) - timedelta(hours=hours)
    with db.session() as s:
        total, good = s.exec(
            select(func.count(), func.sum(PASSED)).where(
                HealthCheck.app_id == app_id, HealthCheck.checked_at >= since
            )
        ).one()
        if since < utcnow() - timedelta(days=RAW_DAYS):  # older than the raw rows: rollups
            r_total, r_fail = s.exec(
                select(func.sum(HealthRollup.checks), func.sum(HealthRollup.failures)).where(
                    HealthRollup.app_id == app_id,
                    HealthRollup.hour >= since,
                    HealthRollup.hour < utcnow() - timedelta(days=RAW_DAYS),
                )
            ).one()
            total, good = total + (r_total or 0), (good or 0) + (r_total or 0) - (r_fail or 0)
    return None if not total else 100.0 * (good or 0) / total


def latency_series(app_id: int, hours: int = 24) -> list[dict[str, str | float]]:
    """Per-hour average and max latency of passing checks, oldest first."""
    since = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    with db.session() as s:
        rows = s.exec(
            select(HealthCheck.checked_at, HealthCheck.latency_ms).where(
                HealthCheck.app_id == app_id,
                HealthCheck.checked_at >= since,
                col(HealthCheck.latency_ms).is_not(None),
            )
        ).all()
    buckets: dict[datetime, list[float]] = {}
    for when, latency in rows:
        buckets.setdefault(when.replace(minute=0, second=0, microsecond=0), []).append(latency)
    return [
        {"hour": h.strftime("%H:00"), "avg": round(sum(v) / len(v), 1), "max": max(v)}
        for h, v in sorted(buckets.items())
    ]


def incidents(app_id: int, limit: int = 20) -> list[Incident]:
    with db.session() as s:
        return list(
            s.exec(
                select(Incident)
                .where(Incident.app_id == app_id)
                .order_by(col(Incident.id).desc())
                .limit(limit)
            ).all()
        )


def recent_checks(app_id: int, limit: int = 20) -> list[HealthCheck]:
    with db.session() as s:
        return list(
            s.exec(
                select(HealthCheck)
                .where(HealthCheck.app_id == app_id)
                .order_by(col(HealthCheck.id).desc())
                .limit(limit)
            ).all()
        )


# -- keeping the database bounded ------------------------------------------------


def rollup(now: datetime | None = None) -> int:
    """Aggregate every finished hour of raw checks into HealthRollup (idempotent);
    returns how many rollup rows were written."""
    now = now or utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    with db.session() as s:
        last = s.exec(select(func.max(HealthRollup.hour))).one()
        first_raw = s.exec(select(func.min(HealthCheck.checked_at))).one()
    if first_raw is None:
        return 0
    hour = (
        (last + timedelta(hours=1))
        if last
        else first_raw.replace(minute=0, second=0, microsecond=0)
    )
    hour = max(hour, this_hour - timedelta(days=RAW_DAYS))
    done = 0
    while hour < this_hour:
        end = hour + timedelta(hours=1)
        with db.session() as s:
            rows = s.exec(
                select(
                    HealthCheck.app_id,
                    func.count(),
                    func.sum(1 - PASSED),
                    func.avg(HealthCheck.latency_ms),
                    func.max(HealthCheck.latency_ms),
                )
                .where(HealthCheck.checked_at >= hour, HealthCheck.checked_at < end)
                .group_by(HealthCheck.app_id)
            ).all()
            s.exec(delete(HealthRollup).where(HealthRollup.hour == hour))
            s.add_all(
                [
                    HealthRollup(
                        app_id=a,
                        hour=hour,
                        checks=n,
                        failures=f or 0,
                        latency_avg_ms=avg,
                        latency_max_ms=mx,
                    )
                    for a, n, f, avg, mx in rows
                ]
            )
        hour, done = end, done + len(rows)
    return done


def prune(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    cuts = {
        "checks": (HealthCheck, HealthCheck.checked_at, RAW_DAYS),
        "rollups": (HealthRollup, HealthRollup.hour, ROLLUP_DAYS),
        "notifications": (Notification, Notification.created_at, NOTIFICATION_DAYS),
        "webhook deliveries": (WebhookDelivery, WebhookDelivery.created_at, DELIVERY_DAYS),
    }
    removed = {}
    with db.session() as s:
        for label, (model, column, days) in cuts.items():
            removed[label] = s.exec(
                delete(model).where(column < now - timedelta(days=days))
            ).rowcount
    return removed


# -- reads for the dashboard, the CLI and the API ----------------------------------


@dataclass(frozen=True)
class Summary:
    state: str
    uptime_24h: float | None  # percent; None without checks
    uptime_7d: float | None
    last_at: datetime | None
    last_status: int | None
    last_latency_ms: float | None
    last_error: str | None
    check_interval: int
    failure_threshold: int
    auto_rollback: bool
    watch_minutes: float
    hook: str  # the deploy webhook's path


def summary(app: App) -> Summary:
    last = recent_checks(app.id, 1)
    check = last[0] if last else None
    return Summary(
        state=app.health_state or "unknown",
        uptime_24h=uptime(app.id, 24),
        uptime_7d=uptime(app.id, 24 * 7),
        last_at=check.checked_at if check else None,
        last_status=check.status_code if check else None,
        last_latency_ms=check.latency_ms if check else None,
        last_error=(check.error or None) if check else None,
        check_interval=app.check_interval,
        failure_threshold=app.failure_threshold,
        auto_rollback=app.auto_rollback,
        watch_minutes=app.watch_minutes,
        hook=f"/api/hooks/{app.name}",
    )


@dataclass(frozen=True)
class IncidentRecord:
    state: str
    cause: str
    started: datetime
    ended: datetime | None  # None while it lasts
    rolled_back: bool


def incident_records(app_id: int, limit: int = 20) -> list[IncidentRecord]:
    return [
        IncidentRecord(i.state, i.cause, i.started_at, i.ended_at, bool(i.rolled_back))
        for i in incidents(app_id, limit)
    ]
