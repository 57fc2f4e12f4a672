"""Apps read as typed records: the detail page (and the API's app), the list, the
edit form. Servers and ports come through apps.targets (the primary first), so
every reader sees a fleet the same way. Env values never leave the services."""

from __future__ import annotations

from dataclasses import dataclass

from rxpanel.models import App
from rxpanel.services import apps, deploy_keys, deployments, releases
from rxpanel.services.overview import status


@dataclass(frozen=True)
class Detail:
    name: str
    url: str
    server: str  # the primary
    servers: tuple[str, ...]
    source: str
    branch: str
    status: str  # live | deploying | failed | unhealthy | new
    health: str
    release: str | None
    commit: str | None
    color: str | None
    port_blue: int  # on the primary server
    port_green: int
    standby_minutes: float
    keep: int
    deploy_key: str  # its public half, for the git host (never the private one)


def detail(name: str) -> Detail:
    app = apps.get(name)
    places = apps.targets(app)
    last = deployments.for_app(app.id, 1)
    busy = deployments.in_progress(app.id) is not None
    current = releases.get(app.current_release_id) if app.current_release_id else None
    ports = places[0][1] if places else {"blue": 0, "green": 0}
    return Detail(
        name=app.name,
        url=app.url,
        server=places[0][0].name if places else "",
        servers=tuple(server.name for server, _ in places),
        source=app.source,
        branch=app.branch,
        status=status(app, last[0] if last else None, busy),
        health=app.health_state or "unknown",
        release=app.current_release_id,
        commit=current.commit if current else None,
        color=app.live_color,
        port_blue=ports["blue"],
        port_green=ports["green"],
        standby_minutes=app.standby_minutes,
        keep=app.keep_releases,
        deploy_key=deploy_keys.public(app),
    )


@dataclass(frozen=True)
class Row:
    name: str
    servers: tuple[str, ...]
    source: str
    branch: str
    url: str
    release: str | None
    env_count: int


def rows() -> list[Row]:
    return [
        Row(
            app.name,
            tuple(server.name for server, _ in apps.targets(app)),
            app.source,
            app.branch,
            app.url,
            app.current_release_id,
            len(apps.env_of(app)),
        )
        for app in apps.list_all()
    ]


def public(app: App) -> dict:
    """What the API and the edit form show of an app (apps.public: env keys, never values)."""
    return apps.public(app)


def settings(name: str) -> tuple[dict, list[str]]:
    """An app's stored settings for its edit form, and its env keys (values stay secret)."""
    data = public(apps.get(name))
    return data, data.pop("env_keys")
