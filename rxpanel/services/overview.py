"""The overview's read model: one row per app, in a fixed number of queries."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select

from rxpanel import db
from rxpanel.models import App, Deployment, Release, Server, utcnow
from rxpanel.services import placements


def age(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    seconds = int(((now or utcnow()) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def status(app: App, last: Deployment | None, active: bool) -> str:
    """live | deploying | failed | unhealthy | new"""
    if active:
        return "deploying"
    if last is not None and last.status in ("failed", "interrupted"):
        return "failed"
    if app.health_state in ("degraded", "down"):
        return "unhealthy"
    return "live" if app.current_release_id else "new"


def rows() -> list[dict[str, str]]:
    now = utcnow()
    with db.session() as s:
        found = s.exec(select(App).order_by(App.name)).all()
        on = placements.server_names(s)
        newest = select(func.max(Deployment.id)).group_by(Deployment.app_id)
        last = {
            d.app_id: d for d in s.exec(select(Deployment).where(col(Deployment.id).in_(newest)))
        }
        active = set(
            s.exec(
                select(Deployment.app_id).where(col(Deployment.status).in_(("queued", "running")))
            ).all()
        )
        current_ids = [a.current_release_id for a in found if a.current_release_id]
        commits = (
            dict(
                s.exec(
                    select(Release.id, Release.commit).where(col(Release.id).in_(current_ids))
                ).all()
            )
            if current_ids
            else {}
        )
    out = []
    for app in found:
        dep = last.get(app.id)
        out.append(
            {
                "name": app.name,
                "url": app.url,
                "server": ", ".join(on.get(app.id, [])),  # a fleet app: all its servers
                "status": status(app, dep, app.id in active),
                "health": app.health_state or "unknown",
                "release": app.current_release_id or "",
                "commit": (commits.get(app.current_release_id) or "")[:10],
                "color": app.live_color or "",
                "last_outcome": dep.status if dep else "",
                "last_age": age(dep.finished_at or dep.created_at, now) if dep else "",
                "last_id": str(dep.id) if dep else "",
            }
        )
    return out


def counts() -> dict[str, int]:
    with db.session() as s:
        return {
            "servers": s.exec(select(func.count()).select_from(Server)).one(),
            "apps": s.exec(select(func.count()).select_from(App)).one(),
        }
