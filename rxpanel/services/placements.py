"""Where apps run: one AppServer row per server of an app, exactly one of them primary
(the first server given; migrations run there). Backend ports are per server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import col, func, select

from rxpanel import db, validate
from rxpanel.models import App, AppServer, Server
from rxpanel.services import Conflict, NotFound

FIRST_BACKEND_PORT = 8100
COLORS = ("blue", "green")


@dataclass(frozen=True)
class Placement:
    """One server of an app, with the app's backend port per colour there."""

    server: Server
    ports: dict[str, int]
    primary: bool
    db_revision: str | None = None  # the alembic revision(s) its database is at, if known


def _ordered(query):
    # primary first, then further servers by name: deploy order and display order
    return query.order_by(col(AppServer.primary).desc(), Server.name)


def _placement(row: AppServer, server: Server) -> Placement:
    ports = {"blue": row.port_blue, "green": row.port_green}
    return Placement(server, ports, row.primary, row.db_revision)


def of_app(s, app_id: int) -> list[Placement]:
    rows = s.exec(
        _ordered(
            select(AppServer, Server)
            .join(Server, AppServer.server_id == Server.id)
            .where(AppServer.app_id == app_id)
        )
    ).all()
    return [_placement(row, server) for row, server in rows]


def server_names(s, app_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """app id -> its servers' names, primary first: for lists of many apps in one query."""
    query = select(AppServer.app_id, Server.name).join(Server, AppServer.server_id == Server.id)
    if app_ids is not None:
        query = query.where(col(AppServer.app_id).in_(list(app_ids)))
    found: dict[int, list[str]] = {}
    for app_id, name in s.exec(_ordered(query)).all():
        found.setdefault(app_id, []).append(name)
    return found


def apps_on(s, server_id: int) -> list[str]:
    """Names of the apps deployed to the server, as primary or further server."""
    return list(
        s.exec(
            select(App.name)
            .join(AppServer, AppServer.app_id == App.id)
            .where(AppServer.server_id == server_id)
            .order_by(App.name)
        ).all()
    )


def app_counts(s) -> dict[int, int]:
    """server id -> how many apps deploy to it (a fleet app counts on each server)."""
    return dict(
        s.exec(select(AppServer.server_id, func.count()).group_by(AppServer.server_id)).all()
    )


def row(s, app_id: int, server_id: int) -> AppServer | None:
    return s.exec(
        select(AppServer).where(AppServer.app_id == app_id, AppServer.server_id == server_id)
    ).first()


def primary_row(s, app_id: int) -> AppServer:
    return s.exec(select(AppServer).where(AppServer.app_id == app_id, col(AppServer.primary))).one()


def used_ports(s, server_id: int) -> set[int]:
    """Backend ports of every app on the server."""
    used: set[int] = set()
    for pair in s.exec(
        select(AppServer.port_blue, AppServer.port_green).where(AppServer.server_id == server_id)
    ):
        used |= set(pair)
    return used


def free_ports(s, server_id: int) -> tuple[int, int]:
    """The first pair of adjacent ports from FIRST_BACKEND_PORT that no app here uses."""
    used = used_ports(s, server_id)
    port = FIRST_BACKEND_PORT
    while port in used or port + 1 in used:
        port += 2
    return port, port + 1


def place(s, app_id: int, server_id: int, primary: bool = False) -> AppServer:
    """Put the app on the server too, with a free port pair of that server."""
    blue, green = free_ports(s, server_id)
    placed = AppServer(
        app_id=app_id, server_id=server_id, port_blue=blue, port_green=green, primary=primary
    )
    s.add(placed)
    s.flush()  # the next free_ports() in this transaction must see these ports
    return placed


def check_url_free(s, url: str, except_app: int | None = None) -> None:
    """A public URL belongs to one app, whatever servers each runs on (DNS sends
    the name to one place; nginx on a shared server could route it to one app
    only). Compared by the nginx sites they make: normalised URLs, and an https
    URL's port-80 redirect too. Rows stored before normalisation compare normalised."""
    mine = validate.url_claims(url)
    query = select(App.id, App.name, App.url).order_by(App.name)
    for app_id, other, theirs in s.exec(query).all():
        if app_id == except_app:
            continue
        try:
            theirs = validate.public_url(theirs)
        except validate.ValidationError:
            pass  # an old row compares as it is
        shared = sorted(mine & validate.url_claims(theirs))
        if shared:
            name, port = shared[0]
            also = "" if theirs == url else f" (its nginx site answers {name} on port {port} too)"
            raise Conflict(
                f"app {other!r} already uses {theirs}{also}: a URL belongs to one app, "
                "on every server; choose another host name or port"
            )


# -- reads and writes in their own transaction -------------------------------------


def placements(app_id: int) -> list[Placement]:
    """Every server the app deploys to, the primary first, with its ports there."""
    with db.session() as s:
        return of_app(s, app_id)


def targets(app: App) -> list[tuple[Server, dict[str, int]]]:
    """Every server the app deploys to, the primary first, with its ports per colour."""
    return [(p.server, p.ports) for p in placements(app.id)]


def primary_server(app: App) -> Server:
    return placements(app.id)[0].server


def spare_ports(server_id: int, low: int = FIRST_BACKEND_PORT, high: int = 9999) -> list[int]:
    """Ports in the backend range that no app of this server uses."""
    with db.session() as s:
        used = used_ports(s, server_id)
    return [p for p in range(low, high + 1) if p not in used][:400]


def set_port(app_id: int, color: str, port: int, server_id: int | None = None) -> None:
    """Record a colour's new port on one server of the app (None: the primary)."""
    port = validate.port(port, "backend port")
    if color not in COLORS:
        raise ValueError(f"no colour {color!r}")
    with db.session() as s:
        found = primary_row(s, app_id) if server_id is None else row(s, app_id, server_id)
        if found is None:
            raise NotFound(f"app {app_id} does not deploy to server {server_id}")
        setattr(found, f"port_{color}", port)
        s.add(found)


def set_db_revision(app_id: int, server_id: int | None, revision: str) -> None:
    """After a migration or a restore there: the revision(s) the app's database is at."""
    with db.session() as s:
        found = primary_row(s, app_id) if server_id is None else row(s, app_id, server_id)
        if found is not None:  # a server detached meanwhile keeps no record
            found.db_revision = revision
            s.add(found)


def db_revision(app_id: int) -> str | None:
    """Where the database of the app's primary (where migrations run) is, if known."""
    with db.session() as s:
        q = select(AppServer).where(AppServer.app_id == app_id, col(AppServer.primary))
        found = s.exec(q).first()
    return found.db_revision if found else None
