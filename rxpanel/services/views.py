"""Read models for the dashboard: rows as dicts of strings (easy to render),
with nothing secret in them: env values and keys never leave the services."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from rxpanel import db
from rxpanel.models import App, Deployment, DeploymentLog, DeploymentStep, Release, Server, utcnow
from rxpanel.services import NotFound, apps, placements, servers
from rxpanel.services.overview import age, status

LOG_LIMIT = 2000  # lines kept in a page's state; the rest stays in the database


def _time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else ""


def _duration(dep: Deployment) -> str:
    if not dep.started_at:
        return ""
    end = dep.finished_at or utcnow()
    return f"{(end - dep.started_at).total_seconds():.1f} s"


def server_rows() -> list[dict[str, str]]:
    with db.session() as s:
        used = placements.app_counts(s)
        found = s.exec(select(Server).order_by(Server.name)).all()
    rows = []
    for server in found:
        row = {k: str(v if v is not None else "") for k, v in servers.public(server).items()}
        row["sudo"] = "yes" if server.sudo else "no"
        row["apps"] = str(used.get(server.id, 0))
        row["host_key"] = row["host_key"] or "not connected yet"
        rows.append(row)
    return rows


def server_form(name: str) -> dict[str, str]:
    """The stored fields of a server for its edit form: never the key."""
    server = servers.get(name)
    data = {k: str(v) for k, v in servers.public(server).items() if k != "host_key"}
    data["sudo"] = "on" if server.sudo else ""
    return data


def app_rows() -> list[dict[str, str]]:
    out = []
    for app in apps.list_all():
        public = apps.public(app)
        out.append(
            {
                "name": app.name,
                "server": ", ".join(public["servers"]),
                "source": app.source,
                "branch": app.branch,
                "url": app.url,
                "release": app.current_release_id or "",
                "env_count": str(len(public["env_keys"])),
            }
        )
    return out


def app_form(name: str) -> tuple[dict[str, str], list[str]]:
    """An app's settings for its edit form, and its env keys (values stay secret)."""
    app = apps.get(name)
    public = apps.public(app)
    keys = public.pop("env_keys")
    return {k: str(v if v is not None else "") for k, v in public.items()}, keys


def app_detail(name: str) -> dict[str, str]:
    app = apps.get(name)
    primary = apps.placements(app.id)[0]
    server = primary.server
    with db.session() as s:
        last = s.exec(
            select(Deployment)
            .where(Deployment.app_id == app.id)
            .order_by(col(Deployment.id).desc())
        ).first()
        active = s.exec(
            select(Deployment.id).where(
                Deployment.app_id == app.id, col(Deployment.status).in_(("queued", "running"))
            )
        ).first()
        current = s.get(Release, app.current_release_id) if app.current_release_id else None
    return {
        "name": app.name,
        "url": app.url,
        "server": server.name,
        "source": app.source,
        "branch": app.branch,
        "status": status(app, last, active is not None),
        "health": app.health_state or "unknown",
        "release": app.current_release_id or "",
        "commit": current.commit[:12] if current else "",
        "color": app.live_color or "",
        "port_blue": str(primary.ports["blue"]),
        "port_green": str(primary.ports["green"]),
        "standby_minutes": f"{app.standby_minutes:g}",
        "keep": str(app.keep_releases),
    }


def deployment_row(dep: Deployment) -> dict[str, str]:
    return {
        "id": str(dep.id),
        "kind": dep.kind,
        "status": dep.status,
        "trigger": dep.trigger,
        "by": dep.triggered_by,
        "ref": dep.ref or "",
        "commit": (dep.commit or "")[:12],
        "release": dep.release_id or "",
        "created": _time(dep.created_at),
        "age": age(dep.created_at),
        "duration": _duration(dep),
        "reason": dep.reason or "",
    }


def deployment_rows(app_name: str, limit: int = 30) -> list[dict[str, str]]:
    with db.session() as s:
        app = s.exec(select(App).where(App.name == app_name)).first()
        if app is None:
            raise NotFound(f"no app named {app_name!r}")
        deps = s.exec(
            select(Deployment)
            .where(Deployment.app_id == app.id)
            .order_by(col(Deployment.id).desc())
            .limit(limit)
        ).all()
    return [deployment_row(d) for d in deps]


def release_rows(app_name: str) -> list[dict[str, str]]:
    app = apps.get(app_name)
    with db.session() as s:
        rels = s.exec(
            select(Release)
            .where(Release.app_id == app.id, col(Release.removed_at).is_(None))
            .order_by(col(Release.id).desc())
        ).all()
    return [
        {
            "id": r.id,
            "status": r.status,
            "commit": r.commit[:12],
            "created": _time(r.created_at),
            "live_at": _time(r.live_at),
            "reason": r.reason or "",
            "current": "yes" if r.id == app.current_release_id else "",
            "can_rollback": "yes" if r.status == "good" and r.id != app.current_release_id else "",
        }
        for r in rels
    ]


def deployment_detail(dep_id: int) -> dict[str, str]:
    with db.session() as s:
        dep = s.get(Deployment, dep_id)
        if dep is None:
            raise NotFound(f"no deployment #{dep_id}")
        app = s.get(App, dep.app_id)
    row = deployment_row(dep)
    row.update(app=app.name, started=_time(dep.started_at), finished=_time(dep.finished_at))
    return row


def step_rows(dep_id: int) -> list[dict[str, str]]:
    with db.session() as s:
        found = s.exec(
            select(DeploymentStep)
            .where(DeploymentStep.deployment_id == dep_id)
            .order_by(DeploymentStep.id)
        ).all()
    return [
        {
            "name": st.name,
            "status": st.status,
            "duration": f"{st.duration:.2f} s" if st.duration is not None else "…",
        }
        for st in found
    ]


def log_rows(dep_id: int, after_id: int = 0, limit: int = LOG_LIMIT) -> list[dict[str, str]]:
    with db.session() as s:
        found = s.exec(
            select(DeploymentLog)
            .where(DeploymentLog.deployment_id == dep_id, DeploymentLog.id > after_id)
            .order_by(DeploymentLog.id)
            .limit(limit)
        ).all()
    return [
        {
            "id": str(r.id),
            "time": r.created_at.strftime("%H:%M:%S"),
            "level": r.level,
            "step": r.step,
            "line": r.line,
        }
        for r in found
    ]


def latest_deployment_id(app_name: str) -> int:
    with db.session() as s:
        app = s.exec(select(App).where(App.name == app_name)).first()
        if app is None:
            return 0
        dep_id = s.exec(
            select(Deployment.id)
            .where(Deployment.app_id == app.id)
            .order_by(col(Deployment.id).desc())
        ).first()
    return dep_id or 0


def health_summary(app_name: str) -> dict[str, str]:
    from rxpanel.services import health

    app = apps.get(app_name)
    last = health.recent_checks(app.id, 1)
    pct = lambda v: "—" if v is None else f"{v:.2f}%"  # noqa: E731
    return {
        "state": app.health_state or "unknown",
        "uptime_24h": pct(health.uptime(app.id, 24)),
        "uptime_7d": pct(health.uptime(app.id, 24 * 7)),
        "last": _time(last[0].checked_at) if last else "never",
        "last_result": (
            f"{last[0].status_code or '-'} · {last[0].latency_ms or '-'} ms"
            + (f" · {last[0].error}" if last[0].error else "")
        )
        if last
        else "",
        "every": f"every {app.check_interval} s, {app.failure_threshold} failures = down",
        "auto_rollback": (
            f"auto-rollback within {app.watch_minutes:g} min of a deploy"
            if app.auto_rollback
            else "auto-rollback off"
        ),
        "hook": f"/api/hooks/{app.name}",
    }


def latency_points(app_name: str) -> list[dict[str, str | float]]:
    from rxpanel.services import health

    return health.latency_series(apps.get(app_name).id)


def incident_rows(app_name: str) -> list[dict[str, str]]:
    from rxpanel.services import health

    return [
        {
            "state": i.state,
            "cause": i.cause,
            "started": _time(i.started_at),
            "ended": _time(i.ended_at) if i.ended_at else "ongoing",
            "rolled_back": "rolled back" if i.rolled_back else "",
        }
        for i in health.incidents(apps.get(app_name).id)
    ]


def delivery_rows(app_name: str) -> list[dict[str, str]]:
    from rxpanel.services import hooks

    return [
        {
            "id": str(d.id),
            "at": _time(d.created_at),
            "provider": d.provider or "?",
            "event": d.event,
            "ref": d.ref.removeprefix("refs/heads/"),
            "commit": d.commit[:12],
            "outcome": d.outcome,
            "status": str(d.status_code),
            "detail": d.detail,
            "deployment": str(d.deployment_id or ""),
        }
        for d in hooks.recent(app_name, 20)
    ]


# -- the team: users, API tokens, the audit log --------------------------------------


def user_rows() -> list[dict[str, str]]:
    """Every user, by name: never a password hash."""
    from rxpanel.services import users

    return [
        {
            "id": str(u.id),
            "name": u.username,
            "role": u.role,
            "status": "disabled" if u.disabled else "enabled",
            "created": _time(u.created_at),
            "last_login": _time(u.last_login_at) or "never",
        }
        for u in users.list_all()
    ]


def token_rows(user_id: int | None = None) -> list[dict[str, str]]:
    """A user's API tokens (everyone's for None), newest first: the prefix, never
    the token or its hash."""
    from rxpanel.services import tokens, users

    names = {u.id: u.username for u in users.list_all()}
    now = utcnow()
    rows = []
    for t in tokens.for_user(user_id):
        if t.revoked_at:
            state = "revoked"
        elif t.expires_at and t.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        rows.append(
            {
                "id": str(t.id),
                "owner": names.get(t.user_id, "?"),
                "name": t.name,
                "prefix": t.prefix,
                "scope": t.scope,
                "created": _time(t.created_at),
                "expires": _time(t.expires_at) or "never",
                "last_used": _time(t.last_used_at) or "never",
                "revoked": _time(t.revoked_at),
                "state": state,
            }
        )
    return rows


def audit_rows(
    *, actor: str = "", action: str = "", target: str = "", outcome: str = "", limit: int = 100
) -> list[dict[str, str]]:
    """The audit log, newest first, filtered as `audit.query` does."""
    from rxpanel.services import audit

    return [
        {
            "id": str(e.id),
            "at": _time(e.at),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "address": e.address,
            "detail": e.detail,
        }
        for e in audit.query(
            actor=actor, action=action, target=target, outcome=outcome, limit=limit
        )
    ]
